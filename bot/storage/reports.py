"""Reporting queries: figures for a scope and a window, chart series, export rows, digests.

Rules every figure follows (the README's "Reports" section says the same to organizers):
- A scope is a set of people: everyone, the members of some teams, or one area
  (volunteers.department). Every figure counts what those volunteers did, whatever team
  owns the task; campaign-wide tasks count for an organizer only through their members.
- Active: took a task, recorded an outcome or logged a call in the window.
- Counted once: of a volunteer's 'done' rows for one task, only the first
  `per_volunteer_cap` count (a double tap on Done adds nothing); outcome numbers follow.
- Erased volunteers keep their row with status 'erased': they count in every aggregate,
  and exports never show anything that identifies them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.clock import to_iso
from bot.storage.db import Database, placeholders

TASK_KINDS = ("share", "canvass", "call", "text", "event", "custom")
CALL_RESULTS = (
    "supporter",
    "undecided",
    "opposed",
    "no_answer",
    "wrong_number",
    "callback",
    "do_not_call",
)
DELIVERY_STATUSES = ("sent", "pending", "sending", "failed", "blocked", "uncertain", "cancelled")


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose activity a report covers. Nothing set: the whole campaign."""

    teams: frozenset[int] | None = None
    department: str | None = None

    @property
    def everything(self) -> bool:
        return self.teams is None and self.department is None

    def where(self, column: str) -> tuple[str, list[Any]]:
        """An ` AND column IN (…)` clause restricting `column` (a volunteer id) to the scope."""
        if self.teams is not None:
            if not self.teams:
                return " AND 0", []
            teams = sorted(self.teams)
            return (
                f" AND {column} IN (SELECT volunteer_id FROM team_members"
                f" WHERE team_id IN ({placeholders(teams)}))",
                list(teams),
            )
        if self.department is not None:
            return f" AND {column} IN (SELECT id FROM volunteers WHERE department = ?)", [
                self.department
            ]
        return "", []


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


@dataclass(frozen=True, slots=True)
class ExportTable:
    """A CSV export: its header and its rows, streamed."""

    header: tuple[str, ...]
    rows: AsyncIterator[Sequence[Any]] = field(repr=False)


def _done_sql(scope: Scope, since: str, until: str) -> tuple[str, list[Any]]:
    """A `counted` CTE: done assignments in the window that count (first per cap), with kind.

    The correlated count uses assignments_done (state, volunteer_id, task_id, id): one index
    range per row, so short windows stay cheap and no sort of the whole table is needed.
    """
    where, params = scope.where("a.volunteer_id")
    sql = (
        "counted AS MATERIALIZED (SELECT a.id, a.volunteer_id, a.finished_at, t.kind"
        " FROM assignments a JOIN tasks t ON t.id = a.task_id"
        " WHERE a.state = 'done' AND a.finished_at >= ? AND a.finished_at < ?" + where + ""
        " AND (SELECT COUNT(*) FROM assignments b WHERE b.state = 'done'"
        " AND b.volunteer_id = a.volunteer_id AND b.task_id = a.task_id AND b.id < a.id)"
        " < t.per_volunteer_cap)"
    )
    return sql, [since, until, *params]


class ReportRepository:
    """Reads the figures behind /report, charts, exports and digests."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- figures ---------------------------------------------------------------------------

    async def figures(self, scope: Scope, window: Window, breakdown: bool = True) -> Figures:
        """Every figure of a report for `scope` over `window`."""
        since, until = window.bounds()
        people = await self._people(scope, window)
        done_cte, done_params = _done_sql(scope, since, until)
        rows = await self.db.fetch_all(
            "WITH " + done_cte + " SELECT c.kind, COUNT(*) AS done,"
            " COALESCE(SUM(o.doors_knocked), 0) AS doors,"
            " COALESCE(SUM(o.conversations), 0) AS conv, COALESCE(SUM(o.supporters), 0) AS sup,"
            " COALESCE(SUM(o.people_reached), 0) AS reached,"
            " COALESCE(SUM(o.attended), 0) AS attended"
            " FROM counted c LEFT JOIN outcomes o ON o.assignment_id = c.id GROUP BY c.kind",
            done_params,
        )
        done = {r["kind"]: r for r in rows}
        where, params = scope.where("x.volunteer_id")
        offered = await self._by_kind(
            "SELECT t.kind, COUNT(*) AS n FROM offers x JOIN tasks t ON t.id = x.task_id"
            " WHERE x.offered_at >= ? AND x.offered_at < ?" + where + " GROUP BY t.kind",
            [since, until, *params],
        )
        accepted = await self._by_kind(
            "SELECT t.kind, COUNT(*) AS n FROM assignments x JOIN tasks t ON t.id = x.task_id"
            " WHERE x.accepted_at >= ? AND x.accepted_at < ?" + where + " GROUP BY t.kind",
            [since, until, *params],
        )
        funnel = tuple(
            FunnelStep(
                kind,
                offered.get(kind, 0),
                accepted.get(kind, 0),
                int(done[kind]["done"]) if kind in done else 0,
            )
            for kind in TASK_KINDS
        )
        work = WorkFigures(
            done=sum(int(r["done"]) for r in rows),
            doors_knocked=sum(int(r["doors"]) for r in rows),
            conversations=sum(int(r["conv"]) for r in rows),
            supporters=sum(int(r["sup"]) for r in rows),
            people_reached=sum(int(r["reached"]) for r in rows),
            shares=int(done["share"]["done"]) if "share" in done else 0,
            events_attended=int(done["event"]["attended"]) if "event" in done else 0,
        )
        calls = await self._calls(scope, since, until)
        deliveries = await self._deliveries(scope, since, until)
        teams: tuple[Breakdown, ...] = ()
        areas: tuple[Breakdown, ...] = ()
        if breakdown:
            teams, areas = await self._breakdowns(scope, since, until)
        return Figures(people, funnel, work, calls, deliveries, teams, areas)

    async def _by_kind(self, sql: str, params: list[Any]) -> dict[str, int]:
        return {r["kind"]: int(r["n"]) for r in await self.db.fetch_all(sql, params)}

    async def _people(self, scope: Scope, window: Window) -> PeopleFigures:
        since, until = window.bounds()
        where, params = scope.where("v.id")
        row = await self.db.fetch_one(
            "SELECT COUNT(*) AS total, COALESCE(SUM(created_at >= ? AND created_at < ?), 0) AS new,"
            " COALESCE(SUM(status = 'onboarding'), 0) AS onboarding,"
            " COALESCE(SUM(status = 'active'), 0) AS active,"
            " COALESCE(SUM(status = 'paused'), 0) AS paused,"
            " COALESCE(SUM(status = 'stopped'), 0) AS stopped,"
            " COALESCE(SUM(status = 'erased'), 0) AS erased"
            " FROM volunteers v WHERE 1 = 1" + where,
            [since, until, *params],
        )
        assert row is not None
        end = window.until
        d1, d7, d30 = (to_iso(end - timedelta(days=n)) for n in (1, 7, 30))
        activity, activity_params = self._activity_sql(scope, d30, until)
        active = await self.db.fetch_one(
            "SELECT COALESCE(SUM(last >= ?), 0) AS d1, COALESCE(SUM(last >= ?), 0) AS d7,"
            " COUNT(*) AS d30 FROM (SELECT volunteer_id, MAX(at) AS last FROM ("
            + activity
            + ") GROUP BY volunteer_id)",
            [d1, d7, *activity_params],
        )
        assert active is not None
        return PeopleFigures(
            total=int(row["total"]),
            active_1d=int(active["d1"]),
            active_7d=int(active["d7"]),
            active_30d=int(active["d30"]),
            new=int(row["new"]),
            onboarding=int(row["onboarding"]),
            active_status=int(row["active"]),
            paused=int(row["paused"]),
            stopped=int(row["stopped"]),
            erased=int(row["erased"]),
        )

    @staticmethod
    def _activity_sql(scope: Scope, since: str, until: str) -> tuple[str, list[Any]]:
        """(volunteer_id, at) for every act in the window: accepted, recorded, called."""
        parts, params = [], []
        for table, column in (
            ("assignments", "accepted_at"),
            ("outcomes", "recorded_at"),
            ("call_results", "called_at"),
        ):
            where, extra = scope.where("volunteer_id")
            parts.append(
                f"SELECT volunteer_id, {column} AS at FROM {table}"
                f" WHERE {column} >= ? AND {column} < ? AND volunteer_id IS NOT NULL" + where
            )
            params += [since, until, *extra]
        return " UNION ALL ".join(parts), params

    async def _calls(self, scope: Scope, since: str, until: str) -> CallFigures:
        where, params = scope.where("volunteer_id")
        rows = await self.db.fetch_all(
            "SELECT result, COUNT(*) AS n FROM call_results WHERE called_at >= ? AND called_at < ?"
            + where
            + " GROUP BY result",
            [since, until, *params],
        )
        found = {r["result"]: int(r["n"]) for r in rows}
        results = tuple((result, found[result]) for result in CALL_RESULTS if found.get(result))
        return CallFigures(sum(found.values()), results)

    async def _deliveries(self, scope: Scope, since: str, until: str) -> DeliveryFigures:
        where, params = scope.where("volunteer_id")
        rows = await self.db.fetch_all(
            "SELECT status, COUNT(*) AS n, COUNT(DISTINCT ref_id) AS refs FROM outbox"
            " WHERE kind = 'broadcast' AND created_at >= ? AND created_at < ?"
            + where
            + " GROUP BY status",
            [since, until, *params],
        )
        found = {r["status"]: int(r["n"]) for r in rows}
        broadcasts = 0
        if rows:
            broadcasts = int(
                await self.db.fetch_value(
                    "SELECT COUNT(DISTINCT ref_id) FROM outbox WHERE kind = 'broadcast'"
                    " AND created_at >= ? AND created_at < ?" + where,
                    [since, until, *params],
                )
                or 0
            )
        statuses = tuple((s, found[s]) for s in DELIVERY_STATUSES if found.get(s))
        return DeliveryFigures(broadcasts, sum(found.values()), statuses)

    async def _breakdowns(
        self, scope: Scope, since: str, until: str
    ) -> tuple[tuple[Breakdown, ...], tuple[Breakdown, ...]]:
        """Per team (scope's teams, or every team) and per area (département)."""
        done_cte, done_params = _done_sql(scope, since, until)
        activity, activity_params = self._activity_sql(scope, since, until)
        calls_where, calls_params = scope.where("volunteer_id")
        scope_where, scope_params = scope.where("v.id")
        team_filter, team_params = "", []
        if scope.teams is not None:
            team_filter = f" AND tm.team_id IN ({placeholders(scope.teams) or 'NULL'})"
            team_params = sorted(scope.teams)
        rows = await self.db.fetch_all(
            "WITH " + done_cte + ", per AS MATERIALIZED (SELECT v.id AS volunteer_id, v.department,"
            " COALESCE(d.done, 0) AS done, COALESCE(d.doors, 0) AS doors,"
            " COALESCE(d.conv, 0) AS conv, COALESCE(k.calls, 0) AS calls,"
            " (act.volunteer_id IS NOT NULL) AS active"
            " FROM volunteers v"
            " LEFT JOIN (SELECT c.volunteer_id, COUNT(*) AS done,"
            " SUM(o.doors_knocked) AS doors, SUM(o.conversations) AS conv"
            " FROM counted c LEFT JOIN outcomes o ON o.assignment_id = c.id"
            " GROUP BY c.volunteer_id) d ON d.volunteer_id = v.id"
            " LEFT JOIN (SELECT volunteer_id, COUNT(*) AS calls FROM call_results"
            " WHERE called_at >= ? AND called_at < ?"
            + calls_where
            + " GROUP BY volunteer_id) k ON k.volunteer_id = v.id"
            " LEFT JOIN (SELECT DISTINCT volunteer_id FROM ("
            + activity
            + ")) act ON act.volunteer_id = v.id"
            " WHERE 1 = 1" + scope_where + ")"
            " SELECT 'team' AS axis, t.name AS key, COUNT(*) AS members, SUM(p.active) AS active,"
            " SUM(p.done) AS done, SUM(p.doors) AS doors, SUM(p.conv) AS conv,"
            " SUM(p.calls) AS calls FROM per p JOIN team_members tm ON tm.volunteer_id ="
            " p.volunteer_id JOIN teams t ON t.id = tm.team_id WHERE 1 = 1"
            + team_filter
            + " GROUP BY t.id"
            " UNION ALL SELECT 'area', COALESCE(p.department, ''), COUNT(*), SUM(p.active),"
            " SUM(p.done), SUM(p.doors), SUM(p.conv), SUM(p.calls) FROM per p"
            " GROUP BY p.department",
            [
                *done_params,
                since,
                until,
                *calls_params,
                *activity_params,
                *scope_params,
                *team_params,
            ],
        )
        teams: list[Breakdown] = []
        areas: list[Breakdown] = []
        for r in rows:
            item = Breakdown(
                str(r["key"]),
                int(r["members"]),
                int(r["active"] or 0),
                int(r["done"] or 0),
                int(r["doors"] or 0),
                int(r["conv"] or 0),
                int(r["calls"] or 0),
            )
            (teams if r["axis"] == "team" else areas).append(item)

        def order(b: Breakdown) -> tuple[int, str]:
            return (-b.done, b.key.casefold())

        return tuple(sorted(teams, key=order)), tuple(sorted(areas, key=order))

    async def activity(self, scope: Scope, window: Window) -> list[tuple[str, str, int]]:
        """(UTC hour 'YYYY-MM-DDTHH', kind, tasks done) — callers fold hours into local days."""
        since, until = window.bounds()
        done_cte, params = _done_sql(scope, since, until)
        rows = await self.db.fetch_all(
            "WITH " + done_cte + " SELECT substr(finished_at, 1, 13) AS hour, kind, COUNT(*) AS n"
            " FROM counted GROUP BY hour, kind ORDER BY hour",
            params,
        )
        return [(r["hour"], r["kind"], int(r["n"])) for r in rows]

    async def first_activity(self) -> str | None:
        """When the campaign's first volunteer joined (the start of 'the campaign')."""
        value = await self.db.fetch_value("SELECT MIN(created_at) FROM volunteers")
        return str(value) if value else None

    # -- scope helpers ---------------------------------------------------------------------

    async def teams(self, team_ids: frozenset[int] | None = None) -> list[tuple[int, str]]:
        """(id, name) of every team, or of these teams, by name."""
        if team_ids is None:
            rows = await self.db.fetch_all("SELECT id, name FROM teams ORDER BY name")
        else:
            ids = sorted(team_ids)
            if not ids:
                return []
            rows = await self.db.fetch_all(
                f"SELECT id, name FROM teams WHERE id IN ({placeholders(ids)}) ORDER BY name",
                ids,
            )
        return [(int(r["id"]), str(r["name"])) for r in rows]

    async def team_by_name(self, name: str) -> tuple[int, str] | None:
        row = await self.db.fetch_one("SELECT id, name FROM teams WHERE name = ?", (name,))
        return (int(row["id"]), str(row["name"])) if row else None

    async def department_known(self, department: str) -> bool:
        return bool(
            await self.db.fetch_value(
                "SELECT 1 FROM volunteers WHERE department = ? LIMIT 1", (department,)
            )
        )

    # -- exports ---------------------------------------------------------------------------

    def volunteers_rows(self, scope: Scope) -> AsyncIterator[Any]:
        """Volunteers of the scope, erased ones left out; teams as 'name|name'."""
        where, params = scope.where("v.id")
        return self.db.iterate(
            "SELECT v.id, v.first_name, v.postcode, v.department, v.skills, v.availability,"
            " v.status, v.language, v.created_at, v.last_active_at,"
            " (SELECT group_concat(name, '|') FROM (SELECT t.name FROM team_members tm"
            " JOIN teams t ON t.id = tm.team_id WHERE tm.volunteer_id = v.id ORDER BY t.name))"
            " AS teams FROM volunteers v WHERE v.status <> 'erased'" + where + " ORDER BY v.id",
            params,
        )

    def tasks_rows(self, scope: Scope, task_teams: frozenset[int] | None) -> AsyncIterator[Any]:
        """Tasks of these teams plus campaign-wide ones (None: all), with the scope's counts."""
        where_a, params_a = scope.where("a.volunteer_id")
        where_o, params_o = scope.where("o.volunteer_id")
        task_where, task_params = "", []
        if task_teams is not None:
            ids = sorted(task_teams)
            task_where = " WHERE (t.team_id IS NULL"
            if ids:
                task_where += f" OR t.team_id IN ({placeholders(ids)})"
            task_where += ")"
            task_params = ids
        return self.db.iterate(
            "SELECT t.id, t.kind, t.title, t.status, tm.name AS team, t.opens_at, t.closes_at,"
            " t.quota,"
            " (SELECT COUNT(*) FROM offers o WHERE o.task_id = t.id" + where_o + ") AS offered,"
            " (SELECT COUNT(*) FROM assignments a WHERE a.task_id = t.id"
            " AND a.accepted_at IS NOT NULL" + where_a + ") AS accepted,"
            " (SELECT COUNT(DISTINCT a.volunteer_id) FROM assignments a WHERE a.task_id = t.id"
            " AND a.state = 'done'" + where_a + ") AS done_by"
            " FROM tasks t LEFT JOIN teams tm ON tm.id = t.team_id" + task_where + " ORDER BY t.id",
            [*params_o, *params_a, *params_a, *task_params],
        )

    def outcomes_rows(self, scope: Scope) -> AsyncIterator[Any]:
        """Outcomes of the scope's volunteers; erased volunteers' rows are kept, unnamed."""
        where, params = scope.where("o.volunteer_id")
        return self.db.iterate(
            "SELECT o.assignment_id, o.task_id, t.title, o.kind, o.volunteer_id, v.status,"
            " v.first_name, o.doors_knocked, o.conversations, o.supporters, o.people_reached,"
            " o.calls_made, o.attended, o.proof, o.comment, o.points, o.recorded_at"
            " FROM outcomes o JOIN tasks t ON t.id = o.task_id"
            " JOIN volunteers v ON v.id = o.volunteer_id WHERE 1 = 1" + where + " ORDER BY o.rowid",
            params,
        )

    def calls_rows(self, scope: Scope, contact_teams: frozenset[int] | None) -> AsyncIterator[Any]:
        """Calls by the scope's volunteers; `contact_visible` says whether the contact's list
        belongs to the reader (None: every list)."""
        where, params = scope.where("r.volunteer_id")
        if contact_teams is None:
            visible, visible_params = "1", []
        elif contact_teams:
            ids = sorted(contact_teams)
            visible, visible_params = f"(t.team_id IN ({placeholders(ids)}))", ids
        else:
            visible, visible_params = "0", []
        return self.db.iterate(
            "SELECT r.id, r.called_at, r.task_id, t.title, r.result, r.callback_at,"
            " r.volunteer_id, v.status, v.first_name, c.name AS contact, c.phone, "
            + visible
            + " AS contact_visible FROM call_results r JOIN tasks t ON t.id = r.task_id"
            " JOIN call_contacts c ON c.id = r.contact_id"
            " LEFT JOIN volunteers v ON v.id = r.volunteer_id WHERE 1 = 1"
            + where
            + " ORDER BY r.id",
            [*visible_params, *params],
        )

    # -- digests ---------------------------------------------------------------------------

    async def digest_recipients(self, admins: Sequence[tuple[str, str]]) -> list[DigestRecipient]:
        """Organizers and admins who want digests, at their preferred reachable identity."""
        admin_clause, admin_params = "", []
        if admins:
            pairs = " OR ".join("(j.channel = ? AND j.user_id = ?)" for _ in admins)
            admin_clause = f" OR v.id IN (SELECT j.volunteer_id FROM identities j WHERE {pairs})"
            admin_params = [value for pair in admins for value in pair]
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
                "SELECT 1 FROM digests_sent WHERE volunteer_id = ? AND kind = ? AND period_key = ?",
                (volunteer_id, kind, period_key),
            )
        )

    async def mark_digest_sent(
        self, volunteer_id: int, kind: str, period_key: str, now: datetime
    ) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO digests_sent (volunteer_id, kind, period_key, sent_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (volunteer_id, kind, period_key, to_iso(now)),
            )

    async def set_digest(self, volunteer_id: int, on: bool) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE volunteers SET digest = ? WHERE id = ?", (int(on), volunteer_id)
            )
