"""Teams, invite links and roles: who may organize whom, checked for every change and
written to the audit log."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta

from bot.clock import Clock
from bot.domain.volunteers import (
    Address,
    AuditEntry,
    Directory,
    DirectoryFilter,
    Role,
    Volunteer,
)
from bot.messaging import Outbound, RolesChanged
from bot.services.areas import department_of
from bot.services.notifier import Notifier
from bot.services.people import ADMIN, ORGANIZER, Actor, NotAllowed, roles_changed
from bot.services.volunteers import AVAILABILITY, SKILLS, Invalid
from bot.storage.audit import AuditLog
from bot.storage.teams import Invite, NameTaken, Team, TeamRepository
from bot.storage.volunteers import VolunteerRepository
from bot.text import clean_name
from bot.vocabulary import availability_code, skill_code

# The message telling someone about their new role, in their language (chosen by the flow).
RoleNotice = Callable[[Volunteer, Team | None], Outbound]

MAX_TEAM_NAME = 60
# How many people the volunteer directory lists.
DIRECTORY_SIZE = 20
# Telegram's start parameter allows 64 characters of [A-Za-z0-9_-]; 24 random bytes
# make 32 characters and 192 bits, far beyond guessing.
CODE_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
# How long and how often each kind of link works.
INVITE_TERMS = {
    "recruit": (timedelta(days=365), 1000),
    "team": (timedelta(days=30), 500),
    "organizer": (timedelta(days=7), 1),
}


class InviteProblem(Exception):
    """A deep-link code that cannot be used: `reason` is 'unknown', 'expired' or 'used'
    (the onboarding flow says it in words)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Membership:
    """A volunteer's teams and roles, as their profile shows them."""

    teams: tuple[Team, ...]
    roles: tuple[Role, ...]
    team_names: dict[int, str]  # the name of every team a role is about
    recruits: int  # how many joined through their personal link


@dataclass(frozen=True, slots=True)
class AuditTrail:
    """The latest organizer actions, with the names an admin reads them by."""

    entries: tuple[AuditEntry, ...]
    people: dict[int, str]  # actor id -> first name (those who still have one)
    team_names: dict[int, str]


@dataclass(frozen=True, slots=True)
class RoleChoice:
    """A member an admin gives a role to or takes one from: who, the roles they hold (for
    /demote), and the teams an organizer role may be about."""

    volunteer: Volunteer
    roles: tuple[Role, ...]
    teams: tuple[Team, ...]


@dataclass(frozen=True, slots=True)
class Redeemed:
    """What a code did for the person who used it."""

    kind: str
    team: Team | None
    changed: bool  # False when they already were a member / organizer


def team_name(text: str) -> str:
    """A team name as stored; raises Invalid if empty or too long."""
    name = clean_name(text)
    if not name or len(name) > MAX_TEAM_NAME:
        raise Invalid("team.name_length", limit=MAX_TEAM_NAME)
    return name


def new_code() -> str:
    return secrets.token_urlsafe(24)


def read_filter(words: str, teams: list[Team]) -> DirectoryFilter:
    """'75 canvass evenings' → a directory filter: a team name (one of `teams`), a
    département, a skill, an availability."""
    which = DirectoryFilter()
    rest = words.lower()
    for team in teams:
        name = team.name.lower()
        if name and name in rest:
            which = DirectoryFilter(team_id=team.id)
            rest = rest.replace(name, " ")
            break
    for word in rest.split():
        if skill := skill_code(word):
            which = replace(which, skill=skill)
        elif availability := availability_code(word):
            which = replace(which, availability=availability)
        elif department := _department(word):
            which = replace(which, department=department)
        else:
            raise Invalid("directory.filter", word=word)
    return which


def _department(word: str) -> str:
    word = word.upper()
    if word in ("2A", "2B") or (word.isdigit() and len(word) == 3 and department_of(word + "00")):
        return word
    if word.isdigit() and len(word) == 2 and department_of(word + "000"):
        return word
    return ""


class TeamService:
    """Creates teams and invites, grants and removes roles."""

    def __init__(
        self,
        clock: Clock,
        volunteers: VolunteerRepository,
        teams: TeamRepository,
        audit: AuditLog,
        roles_changed: list[RolesChanged],
        notifier: Notifier,
    ) -> None:
        self._notifier = notifier
        self._clock = clock
        self._volunteers = volunteers
        self._teams = teams
        self._audit = audit
        self.roles_changed = roles_changed

    # -- teams ----------------------------------------------------------------------------

    async def visible(self, actor: Actor) -> list[Team]:
        """The teams this organizer acts on (admins: all)."""
        actor.require(ORGANIZER)
        return await self._teams.in_scope(actor.team_scope())

    async def create(self, actor: Actor, name: str) -> Team:
        actor.require(ADMIN)
        try:
            team = await self._teams.create(team_name(name))
        except NameTaken:
            raise Invalid("team.name_taken") from None
        await self._audit.record(actor.volunteer_id, "team.create", f"team:{team.id}")
        return team

    async def rename(self, actor: Actor, team_id: int, name: str) -> Team:
        self._require_team(actor, team_id)
        try:
            await self._teams.rename(team_id, team_name(name))
        except NameTaken:
            raise Invalid("team.name_taken") from None
        await self._audit.record(actor.volunteer_id, "team.rename", f"team:{team_id}")
        team = await self._teams.get(team_id)
        if team is None:
            raise NotAllowed(ORGANIZER)
        return team

    async def membership(self, volunteer: Volunteer) -> Membership:
        """The teams, roles and recruits a volunteer's own profile shows."""
        teams = await self._teams.of_volunteer(volunteer.id)
        roles = await self._volunteers.roles(volunteer.id)
        names = {t.id: t.name for t in await self._teams.in_scope(None)} if roles else {}
        recruits = await self._volunteers.recruits(volunteer.id)
        return Membership(tuple(teams), roles, names, recruits)

    @staticmethod
    def _require_team(actor: Actor, team_id: int) -> None:
        scope = actor.team_scope()
        actor.require(ORGANIZER)
        if scope is not None and team_id not in scope:
            raise NotAllowed(ORGANIZER)

    # -- the volunteer directory ----------------------------------------------------------

    async def directory(
        self, actor: Actor, which: DirectoryFilter | str, size: int = DIRECTORY_SIZE
    ) -> Directory:
        """What an organizer may see of their volunteers (admins: everyone): counts by
        status, team, département, skill and availability, and the most recently active.
        `which` is a filter, or the words typed after /volunteers ('75 canvass evenings',
        a team name); a word that is none of these raises Invalid("directory.filter").
        Reading it is audited."""
        actor.require(ORGANIZER)
        scope = actor.team_scope()
        if isinstance(which, str):
            which = read_filter(which, await self._teams.in_scope(scope))
        counts = await self._volunteers.directory_counts(scope, which, SKILLS, AVAILABILITY)
        people = await self._volunteers.directory(scope, which, size)
        await self._audit.record(
            actor.volunteer_id,
            "volunteers.list",
            " ".join(
                f"{key}:{value}"
                for key, value in (
                    ("team", which.team_id),
                    ("area", which.department),
                    ("skill", which.skill),
                    ("availability", which.availability),
                )
                if value
            ),
        )
        return Directory(counts, tuple(people))

    # -- invites --------------------------------------------------------------------------

    async def invite(self, actor: Actor, kind: str, team_id: int | None = None) -> Invite:
        """A new deep-link code: a recruit link (any member, reused while valid), a team
        join link (that team's organizers) or an organizer invite (admins)."""
        now = self._clock.now()
        if kind == "recruit":
            if actor.volunteer is None or not actor.volunteer.is_member:
                raise NotAllowed("volunteer")
            existing = await self._teams.recruit_invite(actor.volunteer.id, now)
            if existing is not None:
                return existing
        elif kind == "team":
            if team_id is None:
                raise NotAllowed(ORGANIZER)
            self._require_team(actor, team_id)
        elif kind == "organizer":
            actor.require(ADMIN)
        else:
            raise NotAllowed(ADMIN)
        if team_id is not None and await self._teams.get(team_id) is None:
            raise NotAllowed(ORGANIZER)
        lifetime, max_uses = INVITE_TERMS[kind]
        invite = await self._teams.add_invite(
            new_code(), kind, team_id, actor.volunteer_id, max_uses, now + lifetime
        )
        if kind != "recruit":
            await self._audit.record(actor.volunteer_id, f"invite.{kind}", f"team:{team_id}")
        return invite

    async def recruit_link(self, actor: Actor) -> tuple[Invite, int]:
        """A member's personal recruiting link, and how many joined through it so far."""
        invite = await self.invite(actor, "recruit")
        assert actor.volunteer is not None  # `invite` refused anyone else
        return invite, await self._volunteers.recruits(actor.volunteer.id)

    async def team_invite(self, actor: Actor, kind: str, team_id: int) -> tuple[Team, Invite]:
        """A new join link (kind 'team') or organizer invite ('organizer') for a team;
        NotAllowed if the team is gone or not the actor's."""
        team = await self._teams.get(team_id)
        if team is None:
            raise NotAllowed(ORGANIZER)
        return team, await self.invite(actor, kind, team.id)

    async def check(self, code: str) -> Invite:
        """The invite behind a code, or InviteProblem saying why it cannot be used."""
        if not CODE_RE.match(code):
            raise InviteProblem("unknown")
        invite = await self._teams.invite(code)
        if invite is None:
            raise InviteProblem("unknown")
        if invite.expires_at <= self._clock.now():
            raise InviteProblem("expired")
        if invite.uses >= invite.max_uses:
            raise InviteProblem("used")
        return invite

    async def redeem(self, volunteer: Volunteer, code: str, *, new_member: bool) -> Redeemed:
        """Use a code for this volunteer: join its team, become its organizer, or credit
        the recruiter (only for someone who is joining now)."""
        invite = await self.check(code)
        if invite.kind == "recruit" and (not new_member or invite.created_by == volunteer.id):
            return Redeemed("recruit", None, False)
        if invite.kind == "team" and invite.team_id in {
            t.id for t in await self._teams.of_volunteer(volunteer.id)
        }:
            return Redeemed("team", await self._teams.get(invite.team_id), False)
        used = await self._teams.redeem(code, self._clock.now())
        if used is None:  # used up or expired between the check and now
            await self.check(code)
            raise InviteProblem("used")
        team = await self._teams.get(used.team_id) if used.team_id else None
        if used.kind == "recruit":
            if used.created_by is not None:
                await self._volunteers.credit_recruiter(volunteer.id, used.created_by)
            return Redeemed("recruit", None, True)
        if team is None:
            raise InviteProblem("unknown")
        await self._teams.add_member(team.id, volunteer.id)
        if used.kind == "organizer":
            changed = await self._volunteers.grant_role(
                volunteer.id, ORGANIZER, team.id, used.created_by
            )
            await self._audit.record(
                used.created_by, "role.grant.organizer", f"volunteer:{volunteer.id}"
            )
            await self._roles_changed(volunteer.id)
            return Redeemed("organizer", team, changed)
        return Redeemed("team", team, True)

    # -- roles ----------------------------------------------------------------------------

    async def role_choice(
        self, actor: Actor, volunteer_id: int, *, removing: bool
    ) -> RoleChoice | None:
        """A member an admin wants to promote or demote (looking them up is audited), with
        the teams to name and, when `removing`, the roles they hold; None if no member has
        this number."""
        volunteer = await self._member(actor, volunteer_id)
        if volunteer is None:
            return None
        await self._audit.record(actor.volunteer_id, "volunteer.view", f"volunteer:{volunteer_id}")
        roles = await self._volunteers.roles(volunteer_id) if removing else ()
        teams = await self._teams.in_scope(actor.team_scope()) if roles or not removing else []
        return RoleChoice(volunteer, roles, tuple(teams))

    async def role_notice(
        self, volunteer_id: int, team_id: int | None
    ) -> tuple[Volunteer, Address, Team | None] | None:
        """Who to tell about a new role, where (their preferred messenger) and the team it
        is about; None if they cannot be reached."""
        volunteer = await self._volunteers.get(volunteer_id)
        addresses = await self._volunteers.addresses(volunteer_id)
        if volunteer is None or not addresses:
            return None
        team = await self._teams.get(team_id) if team_id else None
        return volunteer, addresses[0], team

    async def audit_trail(self, actor: Actor, limit: int = 30) -> AuditTrail:
        """The latest organizer actions on people's data (admins only)."""
        actor.require(ADMIN)
        entries = await self._audit.recent(limit)
        names = {t.id: t.name for t in await self._teams.in_scope(None)}
        people: dict[int, str] = {}
        for actor_id in {e.actor_id for e in entries if e.actor_id}:
            volunteer = await self._volunteers.get(actor_id)
            if volunteer is not None and volunteer.first_name:
                people[actor_id] = volunteer.first_name
        return AuditTrail(tuple(entries), people, names)

    async def _member(self, actor: Actor, volunteer_id: int) -> Volunteer | None:
        actor.require(ADMIN)
        volunteer = await self._volunteers.get(volunteer_id)
        return volunteer if volunteer and volunteer.is_member else None

    async def promote(
        self,
        actor: Actor,
        volunteer_id: int,
        role: str,
        team_id: int | None,
        *,
        notice: RoleNotice | None = None,
    ) -> bool:
        """Grant a role (audited); when it is new and `notice` is given, the person is told
        through the outbox, on their preferred messenger, in the words `notice` chooses."""
        actor.require(ADMIN)
        if role not in (ORGANIZER, ADMIN) or (role == ORGANIZER) != (team_id is not None):
            raise NotAllowed(ADMIN)
        if await self._member(actor, volunteer_id) is None:
            raise NotAllowed(ADMIN)
        if team_id is not None:
            if await self._teams.get(team_id) is None:
                raise NotAllowed(ADMIN)
            await self._teams.add_member(team_id, volunteer_id)
        changed = await self._volunteers.grant_role(volunteer_id, role, team_id, actor.volunteer_id)
        await self._audit.record(
            actor.volunteer_id, f"role.grant.{role}", f"volunteer:{volunteer_id}"
        )
        if changed:
            await self._roles_changed(volunteer_id)
            if notice is not None:
                await self._tell(volunteer_id, team_id, notice)
        return changed

    async def _tell(self, volunteer_id: int, team_id: int | None, notice: RoleNotice) -> None:
        found = await self.role_notice(volunteer_id, team_id)
        if found is None:
            return
        volunteer, address, team = found
        await self._notifier.notice(
            address.channel, address.chat_id, notice(volunteer, team), volunteer_id=volunteer_id
        )

    async def demote(
        self,
        actor: Actor,
        volunteer_id: int,
        role: str,
        team_id: int | None,
        *,
        notice: RoleNotice | None = None,
    ) -> bool:
        """Take a role away (audited); when they had it and `notice` is given, the person is
        told as a promotion tells them, in the words `notice` chooses."""
        actor.require(ADMIN)
        changed = await self._volunteers.revoke_role(volunteer_id, role, team_id)
        await self._audit.record(
            actor.volunteer_id, f"role.revoke.{role}", f"volunteer:{volunteer_id}"
        )
        if changed:
            await self._roles_changed(volunteer_id)
            if notice is not None:
                await self._tell(volunteer_id, team_id, notice)
        return changed

    async def _roles_changed(self, volunteer_id: int) -> None:
        await roles_changed(self.roles_changed, volunteer_id)
