"""Reporting queries: figures for a scope and a window, chart series, export rows, digests.

Rules every figure follows (the README's "Reports" section says the same to organizers):
- A scope is a set of people: everyone, the members of some teams, or one area
  (volunteers.department). Figures count what those volunteers did, whatever team owns
  the task; campaign-wide tasks count for an organizer only through their members.
- Task, outcome and call figures come from `report_rollup` (migration 0007), kept by
  triggers per UTC hour, so a period starts on a whole hour (true of every whole-hour time
  zone) and a report reads thousands of rows, not millions. Team and area figures are
  filed under the volunteer's teams and département at the time of the act. An organizer
  of several teams sees the sum of their teams: a member of two of them counts twice.
- Active: used Relais in the window (volunteers.last_active_at, which the router keeps).
- Counted once: of a volunteer's done rows (outcomes) for one task, only the first
  `per_volunteer_cap` count, so a double tap on Done adds nothing.
- Erased volunteers keep their row with status 'erased': they count in every aggregate,
  and exports never show anything that identifies them.
- New volunteers: those who finished joining in the period (volunteers.joined_at, which
  erasure keeps); only they are members of a team or an area in the breakdowns.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.clock import to_iso
from bot.domain.calls import CallResult
from bot.storage.backend import Backend, in_list

TASK_KINDS = ("share", "canvass", "call", "text", "event", "custom")
CALL_RESULTS = tuple(result.value for result in CallResult)
DELIVERY_STATUSES = ("sent", "pending", "sending", "failed", "blocked", "uncertain", "cancelled")


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose activity a report covers. Nothing set: the whole campaign."""

    teams: frozenset[int] | None = None
    department: str | None = None

    @property
    def everything(self) -> bool:
        return self.teams is None and self.department is None

    def where(self, column: str) -> tuple[str, dict[str, Any]]:
        """An ` AND column IN (…)` clause restricting `column` (a volunteer id) to the scope;
        its parameters are named `scope_…`, the same whichever column it restricts."""
        if self.teams is not None:
            teams, params = in_list("scope_team", sorted(self.teams))
            return (
                f" AND {column} IN (SELECT volunteer_id FROM team_members"
                f" WHERE team_id IN ({teams}))",
                params,
            )
        if self.department is not None:
            return (
                f" AND {column} IN (SELECT id FROM volunteers WHERE department = :scope_area)",
                {"scope_area": self.department},
            )
        return "", {}


@dataclass(frozen=True, slots=True)
class Window:
    """[since, until) in UTC; `since` None means since the campaign began."""

    since: datetime | None
    until: datetime

    def bounds(self) -> tuple[str, str]:
        return ("" if self.since is None else to_iso(self.since)), to_iso(self.until)


@dataclass(frozen=True, slots=True)
class PeopleFigures:
    """Volunteers in the scope: how many, how active, who joined, who stepped back."""

    total: int = 0
    active_1d: int = 0
    active_7d: int = 0
    active_30d: int = 0
    new: int = 0
    onboarding: int = 0
    active_status: int = 0
    paused: int = 0
    stopped: int = 0
    erased: int = 0


@dataclass(frozen=True, slots=True)
class FunnelStep:
    """Tasks of one kind: offered → accepted → done in the window."""

    kind: str
    offered: int = 0
    accepted: int = 0
    done: int = 0


@dataclass(frozen=True, slots=True)
class WorkFigures:
    """What came of the tasks done in the window (counted once)."""

    done: int = 0
    doors_knocked: int = 0
    conversations: int = 0
    supporters: int = 0
    people_reached: int = 0
    shares: int = 0
    events_attended: int = 0


@dataclass(frozen=True, slots=True)
class CallFigures:
    """Calls logged in the window and how they went."""

    made: int = 0
    results: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class DeliveryFigures:
    """Broadcast messages to the scope's volunteers queued in the window, by status."""

    broadcasts: int = 0
    messages: int = 0
    statuses: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Breakdown:
    """One team or area: members, who was active, what got done."""

    key: str
    members: int = 0
    active: int = 0
    done: int = 0
    doors_knocked: int = 0
    conversations: int = 0
    calls: int = 0


@dataclass(frozen=True, slots=True)
class Figures:
    """Everything /report shows for one scope and window."""

    people: PeopleFigures
    funnel: tuple[FunnelStep, ...]
    work: WorkFigures
    calls: CallFigures
    deliveries: DeliveryFigures
    teams: tuple[Breakdown, ...] = ()
    areas: tuple[Breakdown, ...] = ()


@dataclass(frozen=True, slots=True)
class DigestRecipient:
    """An organizer or admin who gets digests, and where."""

    volunteer_id: int
    language: str
    channel: str
    user_id: str
    chat_id: str


def _rollup_where(scope: Scope) -> tuple[str, dict[str, Any]]:
    """Which roll-up rows hold the scope's figures (see migration 0007)."""
    if scope.teams is not None:
        units, params = in_list("unit", [str(t) for t in sorted(scope.teams)])
        return f"axis = 'team' AND unit IN ({units})", params
    if scope.department is not None:
        return "axis = 'area' AND unit = :unit", {"unit": scope.department}
    return "axis = 'all' AND unit = ''", {}


def _period(window: Window) -> tuple[str, dict[str, Any]]:
    """Roll-up rows covering the window: whole UTC days from day rows, the ends from hours."""
    since, _until = window.bounds()
    until = _last_moment(window)
    ends = {"until_day": until[:10], "until_hour": until[:13]}
    if not since:
        return (
            "((span = 'd' AND hour < :until_day)"
            " OR (span = 'h' AND hour >= :until_day AND hour <= :until_hour))",
            ends,
        )
    ends |= {"since_day": since[:10], "since_hour": since[:13]}
    if since[:10] == until[:10]:
        return "(span = 'h' AND hour >= :since_hour AND hour <= :until_hour)", ends
    # Hour keys of a day sort between 'YYYY-MM-DD' and 'YYYY-MM-DDU' ('T' < 'U').
    return (
        "((span = 'd' AND hour > :since_day AND hour < :until_day) OR (span = 'h'"
        " AND ((hour >= :since_hour AND hour < :since_day_end)"
        " OR (hour >= :until_day AND hour <= :until_hour))))",
        ends | {"since_day_end": since[:10] + "U"},
    )


def _hours(window: Window) -> tuple[str, str]:
    """The hour keys at both ends of the window."""
    since, _until = window.bounds()
    return since[:13], _last_moment(window)[:13]


def _last_moment(window: Window) -> str:
    """The window's last instant: a window ending at 23:00 sharp leaves out the 23:00 hour."""
    return to_iso(window.until - timedelta(microseconds=1))


_SUMS = ", ".join(
    f"SUM({column}) AS {column}"
    for column in (
        "offered",
        "accepted",
        "done",
        "doors_knocked",
        "conversations",
        "supporters",
        "people_reached",
        "attended",
        "calls",
        *CALL_RESULTS,
    )
)


class ReportRepository:
    """Reads the figures behind /report, charts, exports and digests."""

    def __init__(self, db: Backend) -> None:
        self.db = db

    # -- figures ---------------------------------------------------------------------------

    async def figures(self, scope: Scope, window: Window, breakdown: bool = True) -> Figures:
        """Every figure of a report for `scope` over `window`."""
        where, params = _rollup_where(scope)
        period, period_params = _period(window)
        rows = await self.db.fetch_all(
            f"SELECT kind, {_SUMS} FROM report_rollup WHERE {where} AND {period} GROUP BY kind",
            params | period_params,
        )
        by_kind = {r["kind"]: r for r in rows}

        def total(column: str) -> int:
            return sum(int(r[column]) for r in rows)

        funnel = tuple(
            FunnelStep(kind, *(int(by_kind[kind][c]) for c in ("offered", "accepted", "done")))
            if kind in by_kind
            else FunnelStep(kind)
            for kind in TASK_KINDS
        )
        work = WorkFigures(
            done=total("done"),
            doors_knocked=total("doors_knocked"),
            conversations=total("conversations"),
            supporters=total("supporters"),
            people_reached=total("people_reached"),
            shares=int(by_kind["share"]["done"]) if "share" in by_kind else 0,
            events_attended=int(by_kind["event"]["attended"]) if "event" in by_kind else 0,
        )
        calls = CallFigures(total("calls"), tuple((r, total(r)) for r in CALL_RESULTS if total(r)))
        people = await self._people(scope, window)
        deliveries = await self._deliveries(scope, window)
        teams: tuple[Breakdown, ...] = ()
        areas: tuple[Breakdown, ...] = ()
        if breakdown:
            teams = await self._team_breakdown(scope, window)
            if scope.teams is None:
                areas = await self._area_breakdown(scope, window)
        return Figures(people, funnel, work, calls, deliveries, teams, areas)

    async def _people(self, scope: Scope, window: Window) -> PeopleFigures:
        since, until = window.bounds()
        end = window.until
        d1, d7, d30 = (to_iso(end - timedelta(days=n)) for n in (1, 7, 30))
        where, params = scope.where("v.id")
        # New: finished joining in the window (joined_at, kept by erasure: someone who
        # stopped at the first questions and was erased never joined, and is not new).
        row = await self.db.fetch_one(
            "SELECT COUNT(*) AS total,"
            " COUNT(*) FILTER (WHERE joined_at >= :since AND joined_at < :until) AS new,"
            " COUNT(*) FILTER (WHERE last_active_at >= :d1) AS d1,"
            " COUNT(*) FILTER (WHERE last_active_at >= :d7) AS d7,"
            " COUNT(*) FILTER (WHERE last_active_at >= :d30) AS d30,"
            " COUNT(*) FILTER (WHERE status = 'onboarding') AS onboarding,"
            " COUNT(*) FILTER (WHERE status = 'active') AS active,"
            " COUNT(*) FILTER (WHERE status = 'paused') AS paused,"
            " COUNT(*) FILTER (WHERE status = 'stopped') AS stopped,"
            " COUNT(*) FILTER (WHERE status = 'erased') AS erased"
            " FROM volunteers v WHERE 1 = 1" + where,
            {"since": since, "until": until, "d1": d1, "d7": d7, "d30": d30} | params,
        )
        assert row is not None
        return PeopleFigures(
            total=int(row["total"]),
            active_1d=int(row["d1"]),
            active_7d=int(row["d7"]),
            active_30d=int(row["d30"]),
            new=int(row["new"]),
            onboarding=int(row["onboarding"]),
            active_status=int(row["active"]),
            paused=int(row["paused"]),
            stopped=int(row["stopped"]),
            erased=int(row["erased"]),
        )

    async def _deliveries(self, scope: Scope, window: Window) -> DeliveryFigures:
        since, until = window.bounds()
        where, params = scope.where("volunteer_id")
        rows = await self.db.fetch_all(
            "SELECT ref_id, status, COUNT(*) AS n FROM outbox"
            " WHERE kind = 'broadcast' AND created_at >= :since AND created_at < :until"
            + where
            + " GROUP BY ref_id, status",
            {"since": since, "until": until} | params,
        )
        found: dict[str, int] = {}
        for r in rows:
            found[r["status"]] = found.get(r["status"], 0) + int(r["n"])
        statuses = tuple((s, found[s]) for s in DELIVERY_STATUSES if found.get(s))
        broadcasts = len({r["ref_id"] for r in rows})
        return DeliveryFigures(broadcasts, sum(found.values()), statuses)

    async def _team_breakdown(self, scope: Scope, window: Window) -> tuple[Breakdown, ...]:
        """Each team of the scope (every team for admins): members, active in 7 days, work."""
        if scope.department is not None:
            return ()
        period, period_params = _period(window)
        recent = to_iso(window.until - timedelta(days=7))
        team_where, team_params = "", dict[str, Any]()
        if scope.teams is not None:
            teams, team_params = in_list("team", sorted(scope.teams))
            team_where = f" AND t.id IN ({teams})"
        rows = await self.db.fetch_all(
            "SELECT t.name AS key, m.members, m.active, COALESCE(w.done, 0) AS done,"
            " COALESCE(w.doors, 0) AS doors, COALESCE(w.conv, 0) AS conv,"
            " COALESCE(w.calls, 0) AS calls FROM teams t"
            " JOIN (SELECT tm.team_id, COUNT(*) AS members,"
            " COUNT(*) FILTER (WHERE v.last_active_at >= :recent) AS active"
            " FROM team_members tm JOIN volunteers v ON v.id = tm.volunteer_id"
            " WHERE v.joined_at IS NOT NULL GROUP BY tm.team_id) m ON m.team_id = t.id"
            " LEFT JOIN (SELECT unit, SUM(done) AS done, SUM(doors_knocked) AS doors,"
            " SUM(conversations) AS conv, SUM(calls) AS calls FROM report_rollup"
            " WHERE axis = 'team' AND " + period + " GROUP BY unit) w"
            " ON w.unit = CAST(t.id AS TEXT) WHERE 1 = 1" + team_where,
            {"recent": recent} | period_params | team_params,
        )
        return _ordered(rows)

    async def _area_breakdown(self, scope: Scope, window: Window) -> tuple[Breakdown, ...]:
        """Each area (département) of the scope: members, active in 7 days, work. Members
        are those who finished joining: people still joining, or who gave up and were
        erased, are in no area and no team."""
        period, period_params = _period(window)
        recent = to_iso(window.until - timedelta(days=7))
        area_where, area_params = "", dict[str, Any]()
        if scope.department is not None:
            area_where = " AND COALESCE(v.department, '') = :area"
            area_params = {"area": scope.department}
        rows = await self.db.fetch_all(
            "SELECT m.key, m.members, m.active, COALESCE(w.done, 0) AS done,"
            " COALESCE(w.doors, 0) AS doors, COALESCE(w.conv, 0) AS conv,"
            " COALESCE(w.calls, 0) AS calls"
            " FROM (SELECT COALESCE(v.department, '') AS key, COUNT(*) AS members,"
            " COUNT(*) FILTER (WHERE v.last_active_at >= :recent) AS active FROM volunteers v"
            " WHERE v.joined_at IS NOT NULL"
            + area_where
            + " GROUP BY COALESCE(v.department, '')) m"
            " LEFT JOIN (SELECT unit, SUM(done) AS done, SUM(doors_knocked) AS doors,"
            " SUM(conversations) AS conv, SUM(calls) AS calls FROM report_rollup"
            " WHERE axis = 'area' AND " + period + " GROUP BY unit) w"
            " ON w.unit = m.key",
            {"recent": recent} | area_params | period_params,
        )
        return _ordered(rows)

    async def activity(self, scope: Scope, window: Window) -> list[tuple[str, str, int]]:
        """(UTC hour 'YYYY-MM-DDTHH', kind, tasks done) — callers fold hours into local days."""
        where, params = _rollup_where(scope)
        first, last = _hours(window)
        rows = await self.db.fetch_all(
            f"SELECT hour, kind, SUM(done) AS n FROM report_rollup WHERE {where}"
            " AND span = 'h' AND hour >= :first AND hour <= :last AND done > 0"
            " GROUP BY hour, kind ORDER BY hour",
            params | {"first": first, "last": last},
        )
        return [(r["hour"], r["kind"], int(r["n"])) for r in rows]

    # -- scope helpers ---------------------------------------------------------------------

    async def teams(self, team_ids: frozenset[int] | None = None) -> list[tuple[int, str]]:
        """(id, name) of every team, or of these teams, by name."""
        if team_ids is None:
            rows = await self.db.fetch_all("SELECT id, name FROM teams ORDER BY name")
        else:
            if not team_ids:
                return []
            teams, params = in_list("team", sorted(team_ids))
            rows = await self.db.fetch_all(
                f"SELECT id, name FROM teams WHERE id IN ({teams}) ORDER BY name", params
            )
        return [(int(r["id"]), str(r["name"])) for r in rows]

    async def team_by_name(self, name: str) -> tuple[int, str] | None:
        row = await self.db.fetch_one(
            "SELECT id, name FROM teams WHERE name = :name", {"name": name}
        )
        return (int(row["id"]), str(row["name"])) if row else None

    async def department_known(self, department: str) -> bool:
        return bool(
            await self.db.fetch_value(
                "SELECT 1 FROM volunteers WHERE department = :area LIMIT 1", {"area": department}
            )
        )

    # -- exports ---------------------------------------------------------------------------

    def volunteers_rows(self, scope: Scope) -> AsyncIterator[Any]:
        """Volunteers of the scope, erased ones left out; teams as 'name|name'."""
        where, params = scope.where("v.id")
        names = self.db.dialect.joined("names.name", "|")
        return self.db.stream(
            "SELECT v.id, v.first_name, v.postcode, v.department, v.skills, v.availability,"
            " v.status, v.language, v.joined_at, v.last_active_at,"
            f" (SELECT {names} FROM (SELECT t.name FROM team_members tm"
            " JOIN teams t ON t.id = tm.team_id WHERE tm.volunteer_id = v.id ORDER BY t.name)"
            " AS names) AS teams FROM volunteers v WHERE v.status <> 'erased'"
            + where
            + " ORDER BY v.id",
            params,
        )

    def tasks_rows(self, scope: Scope, task_teams: frozenset[int] | None) -> AsyncIterator[Any]:
        """Tasks of these teams plus campaign-wide ones (None: all), with the scope's counts."""
        where_a, params_a = scope.where("a.volunteer_id")
        where_o, params_o = scope.where("o.volunteer_id")
        task_where, task_params = "", dict[str, Any]()
        if task_teams is not None:
            teams, task_params = in_list("task_team", sorted(task_teams))
            task_where = f" WHERE (t.team_id IS NULL OR t.team_id IN ({teams}))"
        return self.db.stream(
            "SELECT t.id, t.kind, t.title, t.status, tm.name AS team, t.opens_at, t.closes_at,"
            " t.quota,"
            " (SELECT COUNT(*) FROM offers o WHERE o.task_id = t.id" + where_o + ") AS offered,"
            " (SELECT COUNT(*) FROM assignments a WHERE a.task_id = t.id"
            " AND a.accepted_at IS NOT NULL" + where_a + ") AS accepted,"
            " (SELECT COUNT(DISTINCT a.volunteer_id) FROM assignments a WHERE a.task_id = t.id"
            " AND a.state = 'done'" + where_a + ") AS done_by"
            " FROM tasks t LEFT JOIN teams tm ON tm.id = t.team_id" + task_where + " ORDER BY t.id",
            params_o | params_a | task_params,
        )

    def outcomes_rows(self, scope: Scope) -> AsyncIterator[Any]:
        """Outcomes of the scope's volunteers; erased volunteers' rows are kept, unnamed."""
        where, params = scope.where("o.volunteer_id")
        return self.db.stream(
            "SELECT o.assignment_id, o.task_id, t.title, o.kind, o.volunteer_id, v.status,"
            " v.first_name, o.doors_knocked, o.conversations, o.supporters, o.people_reached,"
            " o.calls_made, o.attended, o.proof, o.comment, o.points, o.recorded_at"
            " FROM outcomes o JOIN tasks t ON t.id = o.task_id"
            " JOIN volunteers v ON v.id = o.volunteer_id WHERE 1 = 1"
            + where
            + " ORDER BY o.assignment_id",
            params,
        )

    def calls_rows(self, scope: Scope, contact_teams: frozenset[int] | None) -> AsyncIterator[Any]:
        """Calls by the scope's volunteers; `contact_visible` says whether the contact's list
        belongs to the reader (None: every list)."""
        where, params = scope.where("r.volunteer_id")
        if contact_teams is None:
            visible, visible_params = "1", dict[str, Any]()
        else:
            teams, visible_params = in_list("contact_team", sorted(contact_teams))
            visible = f"CASE WHEN t.team_id IN ({teams}) THEN 1 ELSE 0 END"
        return self.db.stream(
            "SELECT r.id, r.called_at, r.task_id, t.title, r.result, r.callback_at,"
            " r.volunteer_id, v.status, v.first_name, c.name AS contact, c.phone, "
            + visible
            + " AS contact_visible FROM call_results r JOIN tasks t ON t.id = r.task_id"
            " JOIN call_contacts c ON c.id = r.contact_id"
            " LEFT JOIN volunteers v ON v.id = r.volunteer_id WHERE 1 = 1"
            + where
            + " ORDER BY r.id",
            visible_params | params,
        )

    # -- digests ---------------------------------------------------------------------------

    async def digest_recipients(self, admins: Sequence[tuple[str, str]]) -> list[DigestRecipient]:
        """Organizers and admins who want digests, at their preferred reachable identity."""
        admin_clause, admin_params = "", dict[str, Any]()
        if admins:
            pairs = " OR ".join(
                f"(j.channel = :channel_{n} AND j.user_id = :user_{n})" for n in range(len(admins))
            )
            admin_clause = f" OR v.id IN (SELECT j.volunteer_id FROM identities j WHERE {pairs})"
            for n, (channel, user) in enumerate(admins):
                admin_params |= {f"channel_{n}": channel, f"user_{n}": user}
        rows = await self.db.fetch_all(
            "SELECT v.id, v.language, i.channel, i.user_id, i.chat_id FROM volunteers v"
            " JOIN identities i ON i.volunteer_id = v.id AND i.unreachable_at IS NULL"
            " WHERE v.digest = 1 AND v.status NOT IN ('erased', 'stopped')"
            " AND (v.id IN (SELECT volunteer_id FROM roles WHERE role IN ('organizer', 'admin'))"
            + admin_clause
            + ") ORDER BY v.id, i.preferred DESC, i.created_at",
            admin_params,
        )
        seen: set[int] = set()
        found = []
        for r in rows:
            if r["id"] in seen:
                continue
            seen.add(r["id"])
            found.append(
                DigestRecipient(r["id"], r["language"], r["channel"], r["user_id"], r["chat_id"])
            )
        return found

    async def digest_sent(self, volunteer_id: int, kind: str, period_key: str) -> bool:
        return bool(
            await self.db.fetch_value(
                "SELECT 1 FROM digests_sent WHERE volunteer_id = :volunteer AND kind = :kind"
                " AND period_key = :period",
                {"volunteer": volunteer_id, "kind": kind, "period": period_key},
            )
        )

    async def mark_digest_sent(
        self, volunteer_id: int, kind: str, period_key: str, now: datetime
    ) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO digests_sent (volunteer_id, kind, period_key, sent_at)"
                " VALUES (:volunteer, :kind, :period, :at) ON CONFLICT DO NOTHING",
                {"volunteer": volunteer_id, "kind": kind, "period": period_key, "at": to_iso(now)},
            )


def _ordered(rows: Sequence[Any]) -> tuple[Breakdown, ...]:
    """Breakdown rows, most tasks done first, then by name."""
    items = [
        Breakdown(
            str(r["key"]),
            int(r["members"]),
            int(r["active"]),
            int(r["done"]),
            int(r["doors"]),
            int(r["conv"]),
            int(r["calls"]),
        )
        for r in rows
    ]
    return tuple(sorted(items, key=lambda b: (-b.done, b.key.casefold())))
