"""The organizers' dashboard: who is signed in, and what its pages read.

A browser is signed in as one messenger identity, exactly as that person is in the chat:
the same `Actor`, the same roles and team scope, the same audit entries. Telegram proves
the identity with a Mini App's `initData` (signed with the bot token); Signal and the
console with a one-time link shown in the chat.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import parse_qsl

from bot.clock import Clock
from bot.config import Identity, Settings, pick_language
from bot.domain.tasks import Progress
from bot.services.people import ORGANIZER, Actor, PeopleService
from bot.services.tasks import TaskService
from bot.storage.audit import AuditLog
from bot.storage.dashboard import (
    MEMBER_STATUSES,
    DashboardRepository,
    LinkOwner,
    VolunteerQuery,
)
from bot.storage.volunteers import Volunteer

LINK_LIFETIME = timedelta(minutes=10)
SESSION_LIFETIME = timedelta(hours=12)
# Telegram signs initData when the Mini App opens; older than this, it is refused.
INIT_DATA_MAX_AGE = timedelta(hours=1)
PAGE_SIZE = 50

__all__ = [
    "MEMBER_STATUSES",
    "DashboardService",
    "SignedIn",
    "VolunteerQuery",
    "validate_init_data",
]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def validate_init_data(
    init_data: str, bot_token: str, now: datetime, max_age: timedelta = INIT_DATA_MAX_AGE
) -> dict[str, object] | None:
    """The fields of a Mini App's initData if Telegram signed it lately; None otherwise.

    As Telegram documents it: the sorted `key=value` lines (all but `hash`) signed with
    HMAC-SHA256 under the key HMAC-SHA256("WebAppData", bot token).
    """
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return None
    fields = dict(pairs)
    if len(fields) != len(pairs) or not bot_token:
        return None
    given = fields.pop("hash", "")
    check = "\n".join(f"{key}={fields[key]}" for key in sorted(fields))
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    expected = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    if not given or not hmac.compare_digest(expected, given):
        return None
    try:
        signed_at = datetime.fromtimestamp(int(fields.get("auth_date", "")), tz=now.tzinfo)
    except (ValueError, OverflowError, OSError):
        return None
    if not now - max_age <= signed_at <= now + timedelta(minutes=5):
        return None
    try:
        user = json.loads(fields.get("user", ""))
    except ValueError:
        return None
    if not isinstance(user, dict) or not isinstance(user.get("id"), int):
        return None
    return {**fields, "user": user}


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A browser's session: the person as the chat knows them."""

    actor: Actor
    csrf: str
    language: str


@dataclass(frozen=True, slots=True)
class VolunteerPage:
    """One page of the volunteers table, the teams its filter offers and the filters as
    applied (a team outside the reader's teams is dropped)."""

    total: int
    people: list[Volunteer]
    offset: int
    teams: tuple[tuple[int, str], ...] = ()
    query: VolunteerQuery = VolunteerQuery()


@dataclass(frozen=True, slots=True)
class AreaCounts:
    """The map: volunteers per département, the teams its filter offers, the filters."""

    counts: dict[str, int]
    teams: tuple[tuple[int, str], ...]
    query: VolunteerQuery


@dataclass(frozen=True, slots=True)
class TaskBoard:
    """The tasks page: every task in the reader's teams with its progress, and the teams a
    new task may be for."""

    progress: list[Progress]
    teams: tuple[tuple[int, str], ...]


class DashboardService:
    """Links and sessions for the dashboard, and its reads within the actor's scope."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        repo: DashboardRepository,
        people: PeopleService,
        audit: AuditLog,
        tasks: TaskService,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._repo = repo
        self.people = people
        self._audit = audit
        self.tasks = tasks
        # Where the dashboard is reached (the server sets it once it listens).
        self.base_url = settings.dashboard_url

    # -- signing in --------------------------------------------------------------------------

    async def link_code(self, actor: Actor) -> str:
        """A one-time code that opens a session as this person (10 minutes, one use)."""
        actor.require(ORGANIZER)
        code = secrets.token_urlsafe(24)
        now = self.clock.now()
        owner = LinkOwner(actor.identity.channel, actor.identity.user_id, actor.chat_id)
        await self._repo.add_link(_hash(code), owner, now + LINK_LIFETIME, now)
        await self._audit.record(actor.volunteer_id, "dashboard.link", actor.identity.channel)
        return code

    async def open_with_code(self, code: str, language: str = "") -> tuple[str, SignedIn] | None:
        """Use up a one-time code: a new session token, or None (unknown, used, expired)."""
        if not code or len(code) > 100:
            return None
        owner = await self._repo.use_link(_hash(code), self.clock.now())
        if owner is None:
            return None
        return await self._open(owner, language)

    async def open_with_init_data(self, init_data: str) -> tuple[str, SignedIn] | None:
        """Open a session for the Telegram user a Mini App's initData names, if it is genuine."""
        fields = validate_init_data(init_data, self.settings.telegram_token.value, self.clock.now())
        if fields is None:
            return None
        user = fields["user"]
        assert isinstance(user, dict)
        user_id = str(user["id"])
        owner = LinkOwner("telegram", user_id, user_id)
        return await self._open(owner, str(user.get("language_code") or ""))

    async def _open(self, owner: LinkOwner, language: str) -> tuple[str, SignedIn] | None:
        actor = await self.people.actor(Identity(owner.channel, owner.user_id), owner.chat_id)
        if actor.rank == "volunteer":
            return None
        if actor.volunteer is not None:
            language = actor.volunteer.language
        language = pick_language(language, self.settings.language)
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self.clock.now()
        await self._repo.add_session(
            _hash(token),
            owner,
            actor.volunteer_id,
            csrf,
            language,
            now + SESSION_LIFETIME,
            now,
        )
        await self._audit.record(actor.volunteer_id, "dashboard.login", owner.channel)
        return token, SignedIn(actor, csrf, language)

    async def signed_in(self, token: str) -> SignedIn | None:
        """The session behind a cookie, its person resolved again (roles may have changed)."""
        if not token or len(token) > 100:
            return None
        row = await self._repo.session(_hash(token), self.clock.now())
        if row is None:
            return None
        actor = await self.people.actor(Identity(row.channel, row.user_id), row.chat_id)
        if actor.rank == "volunteer":
            return None
        return SignedIn(actor, row.csrf, row.language)

    async def sign_out(self, token: str) -> None:
        await self._repo.end_session(_hash(token))

    # -- pages -------------------------------------------------------------------------------

    async def teams(self, actor: Actor) -> list[tuple[int, str]]:
        """The teams this person may filter on (organizers: theirs; admins: all)."""
        actor.require(ORGANIZER)
        return await self._repo.teams(actor.team_scope())

    async def _filters(
        self, actor: Actor, query: VolunteerQuery
    ) -> tuple[list[tuple[int, str]], VolunteerQuery]:
        """The teams the actor may filter on, and the query with any other team dropped."""
        teams = await self.teams(actor)
        if query.team_id is not None and query.team_id not in {t for t, _name in teams}:
            query = replace(query, team_id=None)
        return teams, query

    async def volunteers(
        self, actor: Actor, query: VolunteerQuery, offset: int = 0
    ) -> VolunteerPage:
        """Volunteers within the actor's teams matching the filters, with the teams to filter
        on; audited like /volunteers."""
        teams, query = await self._filters(actor, query)
        scope = actor.team_scope()
        total, people = await self._repo.volunteers(scope, query, PAGE_SIZE, max(0, offset))
        await self._audit.record(
            actor.volunteer_id,
            "volunteers.list",
            " ".join(
                f"{key}:{value}"
                for key, value in (
                    ("team", query.team_id),
                    ("area", query.department),
                    ("skill", query.skill),
                    ("availability", query.availability),
                    ("status", query.status),
                )
                if value
            ),
        )
        return VolunteerPage(total, people, max(0, offset), tuple(teams), query)

    async def by_department(self, actor: Actor, query: VolunteerQuery) -> AreaCounts:
        """Volunteers per département within the actor's teams (for the map), with the
        teams to filter on."""
        teams, query = await self._filters(actor, query)
        counts = await self._repo.by_department(actor.team_scope(), query)
        await self._audit.record(actor.volunteer_id, "volunteers.map", "")
        return AreaCounts(counts, tuple(teams), query)

    async def task_board(self, actor: Actor) -> TaskBoard:
        """Every task in the actor's teams with its progress, and the teams for a new one."""
        progress = await self.tasks.overview(actor)
        return TaskBoard(progress, tuple(await self.teams(actor)))

    async def call_lists(self, actor: Actor) -> list[tuple[Progress, dict[str, int]]]:
        """Each call task in the actor's teams with its list's counts (as /tasks shows)."""
        progress = await self.tasks.overview(actor)
        return [(p, dict(p.calls or {})) for p in progress if p.task.kind == "call"]
