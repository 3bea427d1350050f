"""People in the campaign: volunteers, their messenger accounts, consents, roles and teams.

Frozen values with UTC-aware datetimes and enums; storage builds them from its rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum, StrEnum


class VolunteerStatus(StrEnum):
    """Where a volunteer stands; a StrEnum, so it compares equal to its stored word."""

    ONBOARDING = "onboarding"  # consented, answering the first questions
    ACTIVE = "active"
    PAUSED = "paused"  # on a break until `paused_until`
    STOPPED = "stopped"  # /stop: no message they did not ask for
    ERASED = "erased"  # /forget or retention: an anonymous row reports still count


MEMBER_STATUSES = frozenset(
    {VolunteerStatus.ACTIVE, VolunteerStatus.PAUSED, VolunteerStatus.STOPPED}
)


@dataclass(frozen=True, slots=True)
class Volunteer:
    """A person who joined Relais (or is joining)."""

    id: int
    status: VolunteerStatus
    first_name: str
    language: str
    postcode: str
    department: str
    place: str
    latitude: float | None
    longitude: float | None
    skills: frozenset[str]
    availability: frozenset[str]
    timezone: str
    quiet_hours: str | None
    rapid_response: bool
    leaderboard: bool
    digest: bool
    paused_until: datetime | None
    recruited_by: int | None
    created_at: datetime
    last_active_at: datetime
    commune: str = ""  # INSEE code of the French commune they are in, "" abroad or unknown

    @property
    def is_member(self) -> bool:
        """Joined (consented and finished onboarding), not erased."""
        return self.status in MEMBER_STATUSES

    def accepts_unsolicited(self, now: datetime) -> bool:
        """Whether Relais may message this person without being asked: active, or paused
        with the pause over (the same rule as `bot.storage.volunteers.unsolicited`)."""
        if self.status == VolunteerStatus.ACTIVE:
            return True
        return (
            self.status == VolunteerStatus.PAUSED
            and self.paused_until is not None
            and self.paused_until <= now
        )

    @property
    def has_place(self) -> bool:
        return bool(self.postcode or self.place or self.latitude is not None)


@dataclass(frozen=True, slots=True)
class Role:
    """A role held by a volunteer; `team_id` None means everywhere."""

    role: str
    team_id: int | None


@dataclass(frozen=True, slots=True)
class Consent:
    """What a volunteer agreed to, when, and through which update."""

    id: int
    text_version: str
    text_sha256: str
    channel: str
    update_key: str
    given_at: datetime
    withdrawn_at: datetime | None


@dataclass(frozen=True, slots=True)
class Address:
    """Where to send a volunteer a message."""

    channel: str
    chat_id: str
    volunteer_id: int


@dataclass(frozen=True, slots=True)
class Identity:
    """One of a volunteer's messenger accounts."""

    channel: str
    user_id: str
    chat_id: str
    preferred: bool
    unreachable: bool


@dataclass(frozen=True, slots=True)
class DirectoryFilter:
    """Narrows the organizer directory; empty fields match everyone."""

    team_id: int | None = None
    department: str = ""
    skill: str = ""
    availability: str = ""


@dataclass(frozen=True, slots=True)
class DirectoryCounts:
    """How many volunteers an organizer has, by status, team, département, skill and
    availability (each most numerous first where it is a top ten)."""

    status: dict[str, int]
    team: dict[str, int]
    department: dict[str, int]
    skills: dict[str, int]
    availability: dict[str, int]


@dataclass(frozen=True, slots=True)
class Directory:
    """What /volunteers shows: the counts, and the most recently active people."""

    counts: DirectoryCounts
    people: tuple[Volunteer, ...]


@dataclass(frozen=True, slots=True)
class Team:
    """A local group of volunteers."""

    id: int
    name: str
    members: int = 0


class InviteKind(StrEnum):
    """What a deep-link code does for the person who opens it."""

    TEAM = "team"  # join a team
    ORGANIZER = "organizer"  # become a team's organizer
    RECRUIT = "recruit"  # credit the volunteer who shared it


@dataclass(frozen=True, slots=True)
class Invite:
    """A deep-link code: join a team, become its organizer, or credit a recruiter."""

    code: str
    kind: InviteKind
    team_id: int | None
    created_by: int | None
    max_uses: int
    uses: int
    expires_at: datetime


class Redeemed(Enum):
    """How typing a link code ended."""

    LINKED = "linked"
    ALREADY = "already"  # this identity already belonged to that volunteer
    INVALID = "invalid"  # unknown, used or expired
    SAME_CHANNEL = "same_channel"  # typed on the messenger it was asked for
    TAKEN = "taken"  # this identity is a volunteer of its own, with data
    LOCKED = "locked"  # too many wrong codes from this identity lately


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """Who did what, to whom, when."""

    id: int
    actor_id: int | None
    action: str
    subject: str
    at: datetime
