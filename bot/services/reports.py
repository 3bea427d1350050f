"""Reports for organizers: periods in the campaign's time zone, scope checks, exports.

Organizers see their teams' volunteers; admins everything, one team or one area. Other
modules add report sections (rapid-response times, …) with `register_section`.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import IO, Any
from zoneinfo import ZoneInfo

from bot.clock import Clock, from_iso
from bot.config import Settings
from bot.domain.errors import Invalid
from bot.domain.reports import EXPORTS
from bot.services.people import ORGANIZER, Actor, NotAllowed
from bot.spreadsheet import SafeWriter
from bot.storage.audit import AuditLog
from bot.storage.backend import Backend
from bot.storage.reports import DigestRecipient, Figures, ReportRepository, Scope, Window


class UnknownChoice(ValueError):
    """A period, team, area or export kind that does not exist; nothing was done."""


@dataclass(frozen=True, slots=True)
class ExtraSection:
    """A section another module adds to reports: a title and (label, value) lines,
    already in the reader's language (providers run inside its `use_language`)."""

    key: str
    title: str
    lines: tuple[tuple[str, str], ...]


# (db, scope, window) → a section, or None when there is nothing to show.
SectionProvider = Callable[[Backend, Scope, Window], Awaitable[ExtraSection | None]]
_SECTIONS: dict[str, SectionProvider] = {}
# The hook the rapid-response module fills in (issue 6): median time to acknowledge, etc.
RAPID_RESPONSE_TIMES = "rapid_response_times"


def register_section(key: str, provider: SectionProvider) -> None:
    """Add a section to every report (e.g. RAPID_RESPONSE_TIMES from the alerts module)."""
    _SECTIONS[key] = provider


def unregister_section(key: str) -> None:
    _SECTIONS.pop(key, None)


@dataclass(frozen=True, slots=True)
class Report:
    """One report: what period, whose activity, the figures, and any extra sections."""

    period: str
    window: Window
    scope: Scope
    scope_name: str  # a team's name or an area code; '' for "everything" / "your teams"
    figures: Figures
    extras: tuple[ExtraSection, ...] = ()


@dataclass(frozen=True, slots=True)
class ReportPage:
    """What /report shows: the report, the teams its reader may switch to, and (for the
    activity chart) the tasks done per local day."""

    report: Report
    teams: tuple[tuple[int, str], ...] = ()
    days: tuple[tuple[date, dict[str, int]], ...] = ()
    team_id: int | None = None  # the team shown, if one was picked


def period_window(period: str, now: datetime, zone: ZoneInfo) -> Window:
    """[start, now) for today, this week (from Monday), this month, or the whole campaign."""
    local = now.astimezone(zone)
    if period == "today":
        start: date | None = local.date()
    elif period == "week":
        start = local.date() - timedelta(days=local.weekday())
    elif period == "month":
        start = local.date().replace(day=1)
    elif period == "campaign":
        start = None
    else:
        raise UnknownChoice(period)
    return Window(None if start is None else local_midnight(start, zone), now)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def proof_cell(proof: str | None) -> str:
    """A share's proof as an organizer reads it: the link, or "screenshot (telegram)" when a
    screenshot was sent (outcomes.proof keeps only the messenger's file reference)."""
    if not proof:
        return ""
    head, _, _rest = proof.partition(":")
    channel, _, kind = head.partition("-")
    if kind in ("photo", "document") and not head.startswith("http"):
        return f"screenshot ({channel})"
    return proof


def pseudonym_key(settings: Settings) -> str:
    """RELAIS_PSEUDONYM_KEY, or else a random key kept in a file beside the database.

    Without a secret key, references would be a plain hash of small ids, reversed by
    trying them all. The file is not in the database, so database backups do not carry it.
    """
    if settings.pseudonym_key:
        return settings.pseudonym_key.value
    path = settings.database_path.with_name(settings.database_path.name + ".pseudonym-key")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as key_file:
            key_file.write(secrets.token_hex(32))
    return path.read_text().strip()


def pseudonym(key: str, volunteer_id: int) -> str:
    """A stable reference for a volunteer in exports, meaningless outside this deployment."""
    digest = hmac.new(key.encode(), f"volunteer:{volunteer_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:12]


class ReportService:
    """Builds reports and exports for an actor, within what their role may see."""

    def __init__(self, settings: Settings, clock: Clock, db: Backend, audit: AuditLog) -> None:
        self.settings = settings
        self.clock = clock
        self._db = db
        self._repo = ReportRepository(db)
        self._audit = audit

    # -- scope -----------------------------------------------------------------------------

    async def scope_for(
        self, actor: Actor, team_id: int | None = None, department: str | None = None
    ) -> tuple[Scope, str]:
        """The scope an actor asked for, checked against their role; and its name."""
        actor.require(ORGANIZER)
        allowed = actor.team_scope()
        if department is not None:
            if allowed is not None:
                raise NotAllowed("area reports are for admins")
            if not await self._repo.department_known(department):
                raise UnknownChoice(department)
            return Scope(department=department), department
        if team_id is not None:
            if allowed is not None and team_id not in allowed:
                raise NotAllowed("not your team")
            teams = await self._repo.teams(frozenset({team_id}))
            if not teams:
                raise UnknownChoice(str(team_id))
            return Scope(teams=frozenset({team_id})), teams[0][1]
        if allowed is None:
            return Scope(), ""
        return Scope(teams=allowed), ""

    async def teams_for(self, actor: Actor) -> list[tuple[int, str]]:
        """The teams an actor may pick a report for."""
        return await self._repo.teams(actor.team_scope())

    async def _team_named(self, name: str) -> int:
        team = await self._repo.team_by_name(name)
        if team is None:
            raise Invalid("report.team_unknown", name=name)
        return team[0]

    # -- reports ---------------------------------------------------------------------------

    async def report(
        self,
        actor: Actor,
        period: str,
        team_id: int | None = None,
        department: str | None = None,
    ) -> Report:
        """The report an organizer asked for in the chat."""
        scope, name = await self.scope_for(actor, team_id, department)
        return await self.build(
            scope, period_window(period, self.clock.now(), self.zone), period, name
        )

    async def view(
        self,
        actor: Actor,
        period: str,
        team_id: int | None = None,
        department: str | None = None,
        *,
        team_name: str = "",
        chart: bool = False,
        other_team_is_all: bool = False,
    ) -> ReportPage:
        """What /report shows an organizer: the report for the period and the team (by id
        or by name: Invalid("report.team_unknown") if there is none) or area asked for,
        with the teams they may switch to; for a chart, the days' activity instead. With
        `other_team_is_all` (the dashboard's filter), a team that is not theirs gives the
        report of all they may see rather than NotAllowed."""
        if team_name:
            team_id = await self._team_named(team_name)
        teams = () if chart and not other_team_is_all else tuple(await self.teams_for(actor))
        if other_team_is_all and team_id not in {t for t, _name in teams}:
            team_id = None
        report = await self.report(actor, period, team_id, department)
        if chart:
            days = await self.activity_days(report.scope, report.window)
            return ReportPage(report, teams, tuple(days), team_id)
        return ReportPage(report, teams=teams, team_id=team_id)

    async def campaign_report(
        self, period: str, *, team_name: str = "", department: str = ""
    ) -> Report:
        """The report the command line prints: the whole campaign, one team (by name:
        Invalid("report.team_unknown")) or one area (Invalid("report.area_unknown"))."""
        team_id = await self._team_named(team_name) if team_name else None
        try:
            return await self.report(Actor.system(), period, team_id, department or None)
        except UnknownChoice as unknown:
            if department and str(unknown) == department:
                raise Invalid("report.area_unknown", code=department) from None
            raise

    async def build(
        self, scope: Scope, window: Window, period: str, scope_name: str = ""
    ) -> Report:
        """A report for an already-checked scope (digests, the command line)."""
        figures = await self._repo.figures(scope, window)
        extras = []
        for provider in list(_SECTIONS.values()):
            section = await provider(self._db, scope, window)
            if section is not None and section.lines:
                extras.append(section)
        return Report(period, window, scope, scope_name, figures, tuple(extras))

    # -- digests -----------------------------------------------------------------------------

    async def digest_recipients(self, admins: Sequence[tuple[str, str]]) -> list[DigestRecipient]:
        """Organizers and admins who receive digests (`admins`: the configured ones)."""
        return await self._repo.digest_recipients(admins)

    async def digest_sent(self, volunteer_id: int, kind: str, period_key: str) -> bool:
        return await self._repo.digest_sent(volunteer_id, kind, period_key)

    async def mark_digest_sent(
        self, volunteer_id: int, kind: str, period_key: str, now: datetime
    ) -> None:
        await self._repo.mark_digest_sent(volunteer_id, kind, period_key, now)

    @property
    def zone(self) -> ZoneInfo:
        return self.settings.timezone

    async def activity_days(
        self, scope: Scope, window: Window
    ) -> list[tuple[date, dict[str, int]]]:
        """Tasks done per local day and kind, every day of the window shown (zeros too)."""
        hours = await self._repo.activity(scope, window)
        per_day: dict[date, dict[str, int]] = {}
        for hour, kind, count in hours:
            moment = datetime.fromisoformat(hour + ":00:00+00:00").astimezone(self.zone)
            counts = per_day.setdefault(moment.date(), {})
            counts[kind] = counts.get(kind, 0) + count
        end = window.until.astimezone(self.zone).date()
        if window.since is not None:
            start = window.since.astimezone(self.zone).date()
        elif per_day:
            start = min(per_day)
        else:
            start = end
        if (end - start).days > 400:  # a very long campaign: from its first activity
            start = min(per_day, default=end)
        days = []
        day = start
        while day <= end:
            days.append((day, per_day.get(day, {})))
            day += timedelta(days=1)
        return days

    # -- exports ---------------------------------------------------------------------------

    async def export(self, actor: Actor, what: str, sink: IO[bytes]) -> int:
        """Write a CSV export (UTF-8 with BOM) of the actor's scope; audit it; return rows."""
        if what not in EXPORTS:
            raise UnknownChoice(what)
        scope, _ = await self.scope_for(actor)
        text = io.TextIOWrapper(sink, encoding="utf-8-sig", newline="", write_through=True)
        try:
            count = await self._write(actor, what, scope, SafeWriter(text))
            text.flush()
        finally:
            text.detach()
        teams = actor.team_scope()
        where = "all teams" if teams is None else "teams " + ",".join(map(str, sorted(teams)))
        await self._audit.record(actor.volunteer_id, "export", f"{what}: {count} rows, {where}")
        return count

    async def _write(self, actor: Actor, what: str, scope: Scope, out: Any) -> int:
        key = pseudonym_key(self.settings)
        teams = actor.team_scope()
        count = 0
        if what == "volunteers":
            header = [
                "volunteer",
                "first_name",
                "postcode",
                "department",
                "skills",
                "availability",
                "status",
                "teams",
                "joined",
            ]
            if actor.is_admin:
                header += ["language", "last_active"]
            out.writerow(header)
            async for r in self._repo.volunteers_rows(scope):
                row = [
                    pseudonym(key, r["id"]),
                    r["first_name"] or "",
                    r["postcode"] or "",
                    r["department"] or "",
                    r["skills"].replace(",", " "),
                    r["availability"].replace(",", " "),
                    r["status"],
                    r["teams"] or "",
                    self._day(r["joined_at"]),  # empty while still joining
                ]
                if actor.is_admin:
                    row += [r["language"], self._day(r["last_active_at"])]
                out.writerow(row)
                count += 1
        elif what == "tasks":
            out.writerow(
                [
                    "task",
                    "kind",
                    "title",
                    "status",
                    "team",
                    "opens",
                    "closes",
                    "quota",
                    "offered",
                    "accepted",
                    "done_by",
                ]
            )
            async for r in self._repo.tasks_rows(scope, teams):
                out.writerow(
                    [
                        r["id"],
                        r["kind"],
                        r["title"],
                        r["status"],
                        r["team"] or "",
                        self._moment(r["opens_at"]),
                        self._moment(r["closes_at"]),
                        "" if r["quota"] is None else r["quota"],
                        r["offered"],
                        r["accepted"],
                        r["done_by"],
                    ]
                )
                count += 1
        elif what == "outcomes":
            out.writerow(
                [
                    "assignment",
                    "task",
                    "title",
                    "kind",
                    "volunteer",
                    "first_name",
                    "doors_knocked",
                    "conversations",
                    "supporters",
                    "people_reached",
                    "calls_made",
                    "attended",
                    "proof",
                    "comment",
                    "points",
                    "recorded",
                ]
            )
            async for r in self._repo.outcomes_rows(scope):
                erased = r["status"] == "erased"
                out.writerow(
                    [
                        r["assignment_id"],
                        r["task_id"],
                        r["title"],
                        r["kind"],
                        "" if erased else pseudonym(key, r["volunteer_id"]),
                        "" if erased else r["first_name"] or "",
                        *(
                            "" if r[c] is None else r[c]
                            for c in (
                                "doors_knocked",
                                "conversations",
                                "supporters",
                                "people_reached",
                                "calls_made",
                                "attended",
                            )
                        ),
                        "" if erased else proof_cell(r["proof"]),
                        "" if erased else r["comment"] or "",
                        r["points"],
                        self._moment(r["recorded_at"]),
                    ]
                )
                count += 1
        else:
            out.writerow(
                [
                    "call",
                    "called",
                    "task",
                    "title",
                    "result",
                    "callback",
                    "volunteer",
                    "first_name",
                    "contact",
                    "phone",
                ]
            )
            async for r in self._repo.calls_rows(scope, teams):
                erased = r["volunteer_id"] is None or r["status"] == "erased"
                visible = bool(r["contact_visible"])
                out.writerow(
                    [
                        r["id"],
                        self._moment(r["called_at"]),
                        r["task_id"],
                        r["title"],
                        r["result"],
                        self._moment(r["callback_at"]),
                        "" if erased else pseudonym(key, r["volunteer_id"]),
                        "" if erased else r["first_name"] or "",
                        r["contact"] if visible else "",
                        r["phone"] if visible else "",
                    ]
                )
                count += 1
        return count

    def _moment(self, value: str | None) -> str:
        """A stored UTC time as campaign-local 'YYYY-MM-DD HH:MM' (spreadsheets sort it)."""
        if not value:
            return ""
        return from_iso(value).astimezone(self.zone).strftime("%Y-%m-%d %H:%M")

    def _day(self, value: str | None) -> str:
        return self._moment(value)[:10]
