"""Tasks and what happens to them: the queue's types, with UTC datetimes and enums.

A task is offered (Offer), claimed (Assignment), then done with an Outcome, given back or
expired. Storage turns its rows into these types; services and handlers use nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class TaskKind(StrEnum):
    """What a volunteer is asked to do."""

    SHARE = "share"
    CANVASS = "canvass"
    CALL = "call"
    TEXT = "text"
    EVENT = "event"
    CUSTOM = "custom"


class TaskStatus(StrEnum):
    """Where a task is in its life: drafts are not offered, closed tasks never reopen."""

    DRAFT = "draft"
    OPEN = "open"
    PAUSED = "paused"
    CLOSED = "closed"


class AssignmentState(StrEnum):
    """A volunteer's relation to a task: taken (accepted, then done, cant or expired) or
    set aside (skipped for good, later for a few hours)."""

    ACCEPTED = "accepted"
    DONE = "done"
    CANT = "cant"
    EXPIRED = "expired"
    SKIPPED = "skipped"
    LATER = "later"


class OfferState(StrEnum):
    """What became of a task offered unprompted."""

    SENT = "sent"
    ACCEPTED = "accepted"
    SKIPPED = "skipped"
    LATER = "later"
    EXPIRED = "expired"


class Refusal(StrEnum):
    """Why a claim was not granted."""

    CLOSED = "closed"
    FULL = "full"
    CAP = "cap"
    TAKEN = "taken"
    TARGET = "target"  # not for this volunteer (or no such task): the card is stale


KINDS = tuple(kind.value for kind in TaskKind)
TARGET_KINDS = ("team", "postcode", "department", "skill", "language", "availability")


class ClaimRefused(Exception):
    """A claim was not granted; `reason` says why."""

    def __init__(self, reason: Refusal | str) -> None:
        super().__init__(str(reason))
        self.reason = Refusal(reason)


class NotStarted(ValueError):
    """An outcome reported before the task's start time: nothing is recorded."""

    def __init__(self, starts_at: datetime) -> None:
        super().__init__(starts_at.isoformat())
        self.starts_at = starts_at


@dataclass(frozen=True, slots=True)
class TaskDraft:
    """What an organizer (or an import file) says a new task is."""

    kind: str
    title: str
    instructions: str = ""
    points: int = 1
    priority: int = 0
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    quota: int | None = None
    per_volunteer_cap: int = 1
    link: str | None = None
    suggested_message: str | None = None
    proof_wanted: bool = False
    place: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    area: str | None = None
    doors: int | None = None
    starts_at: datetime | None = None
    starts_slots: str | None = None
    radius_km: float | None = None
    team_id: int | None = None
    created_by: int | None = None
    status: str = "open"
    targets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    translations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Task:
    """A micro-task in the queue."""

    id: int
    kind: TaskKind
    title: str
    instructions: str
    status: TaskStatus
    points: int
    priority: int
    opens_at: datetime
    closes_at: datetime | None
    quota: int | None
    per_volunteer_cap: int
    slots_taken: int
    link: str | None
    suggested_message: str | None
    proof_wanted: bool
    place: str | None
    latitude: float | None
    longitude: float | None
    area: str | None
    doors: int | None
    starts_at: datetime | None
    starts_slots: str | None
    radius_km: float | None
    team_id: int | None
    created_by: int | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    reminders_done_at: datetime | None

    @property
    def full(self) -> bool:
        return self.quota is not None and self.slots_taken >= self.quota


def preview_of(draft: TaskDraft, now: datetime) -> Task:
    """How a draft will look once stored (for the preview before publishing)."""
    return Task(
        id=0,
        kind=TaskKind(draft.kind),
        title=draft.title,
        instructions=draft.instructions,
        status=TaskStatus.DRAFT,
        points=draft.points,
        priority=draft.priority,
        opens_at=draft.opens_at or now,
        closes_at=draft.closes_at,
        quota=draft.quota,
        per_volunteer_cap=draft.per_volunteer_cap,
        slots_taken=0,
        link=draft.link,
        suggested_message=draft.suggested_message,
        proof_wanted=draft.proof_wanted,
        place=draft.place,
        latitude=draft.latitude,
        longitude=draft.longitude,
        area=draft.area,
        doors=draft.doors,
        starts_at=draft.starts_at,
        starts_slots=draft.starts_slots,
        radius_km=draft.radius_km,
        team_id=draft.team_id,
        created_by=draft.created_by,
        created_at=now,
        updated_at=now,
        closed_at=None,
        reminders_done_at=None,
    )


@dataclass(frozen=True, slots=True)
class Assignment:
    """A volunteer's claim on a task (or their choice to set it aside)."""

    id: int
    task_id: int
    volunteer_id: int
    state: AssignmentState
    source: str
    rsvp: str | None
    later_until: datetime | None
    created_at: datetime
    accepted_at: datetime | None
    finished_at: datetime | None
    reminded_at: datetime | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class TaskView:
    """A task with its instructions in the reader's language (what a card shows)."""

    task: Task
    instructions: str


@dataclass(frozen=True, slots=True)
class NextTask:
    """What /task shows: the best task now, or when something may fit again."""

    view: TaskView | None
    comes_back_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Finished:
    """A tap on Done: the task, and the points earned (None: its outcome questions come
    first, nothing recorded yet)."""

    task: Task
    points: int | None


@dataclass(frozen=True, slots=True)
class Claimed:
    """A task in a volunteer's hands: the assignment, the task as it stands, and the
    instructions in the volunteer's language (what the accepted card shows)."""

    assignment: Assignment
    task: Task
    instructions: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a volunteer reports when a task is done; numbers are None when not asked."""

    doors_knocked: int | None = None
    conversations: int | None = None
    supporters: int | None = None
    people_reached: int | None = None
    calls_made: int | None = None
    attended: bool | None = None
    proof: str | None = None
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class Fit:
    """The facts about a volunteer that targeting looks at (their teams are looked up
    where the targeting runs)."""

    volunteer_id: int
    postcode: str
    department: str
    skills: frozenset[str]
    language: str
    availability: frozenset[str]
    latitude: float | None
    longitude: float | None


@dataclass(frozen=True, slots=True)
class Progress:
    """A task with its counts, for /tasks; for a phone bank, its call list's counts too
    (by contact state, and by result as `result_<result>`)."""

    task: Task
    done: int
    accepted: int
    skipped: int
    calls: Mapping[str, int] | None = None


@dataclass(frozen=True, slots=True)
class Recipient:
    """A volunteer who may receive an unsolicited message, with what quiet hours need."""

    volunteer_id: int
    language: str
    timezone: str
    quiet_hours: str | None
    availability: frozenset[str]
    channel: str
    chat_id: str
