"""Tasks, who they are for (targets), their translations, and the queue's matching reads.

Writes that span several owners (a claim takes a slot and writes an assignment; closing a
task expires its assignments, offers and queued messages) run here in one transaction,
each table's statements staying in its owner's module.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from bot.clock import from_iso, to_iso
from bot.domain.tasks import (
    TARGET_KINDS,
    Assignment,
    Claimed,
    ClaimRefused,
    Fit,
    NextTask,
    Outcome,
    Progress,
    Recipient,
    Refusal,
    Task,
    TaskDraft,
    TaskKind,
    TaskStatus,
    TaskView,
)
from bot.storage import assignments as assignment_rows
from bot.storage import offers as offer_rows
from bot.storage.assignments import assignment_of, selected
from bot.storage.backend import Backend, Row, Tx, in_list
from bot.storage.calls import calls_made, erase_caller, export_calls, release_held
from bot.storage.outbox import OutboxRepository
from bot.storage.personal_data import register_personal_data
from bot.storage.volunteers import UNSOLICITED_SQL

KM_PER_DEGREE = 111.2


class Reader(Protocol):
    """Where a read runs: committed data (the database) or inside a write transaction."""

    async def fetch_one(self, sql: str, params: Any = None) -> Row | None: ...
    async def fetch_value(self, sql: str, params: Any = None) -> Any: ...


# What an import file may change in a task it already created (its key — kind, team,
# title — and its progress stay).
IMPORTED_COLUMNS = (
    "instructions",
    "points",
    "priority",
    "closes_at",
    "quota",
    "per_volunteer_cap",
    "link",
    "suggested_message",
    "proof_wanted",
    "place",
    "latitude",
    "longitude",
    "area",
    "doors",
    "starts_at",
    "radius_km",
)


def draft_content(draft: TaskDraft) -> dict[str, Any]:
    """A draft's content as `TaskRepository.content` reads it back."""
    values = {column: getattr(draft, column) for column in IMPORTED_COLUMNS}
    for column in ("closes_at", "starts_at"):
        values[column] = to_iso(values[column]) if values[column] else None
    values["proof_wanted"] = int(values["proof_wanted"])
    values["targets"] = {k: tuple(sorted(v)) for k, v in draft.targets.items() if v}
    values["translations"] = dict(draft.translations)
    return values


def _at(text: str | None) -> datetime | None:
    return from_iso(text) if text else None


def task_of(row: Row) -> Task:
    """A task from its row (`SELECT t.*`)."""
    return Task(
        id=row["id"],
        kind=TaskKind(row["kind"]),
        title=row["title"],
        instructions=row["instructions"],
        status=TaskStatus(row["status"]),
        points=row["points"],
        priority=row["priority"],
        opens_at=from_iso(row["opens_at"]),
        closes_at=_at(row["closes_at"]),
        quota=row["quota"],
        per_volunteer_cap=row["per_volunteer_cap"],
        slots_taken=row["slots_taken"],
        link=row["link"],
        suggested_message=row["suggested_message"],
        proof_wanted=bool(row["proof_wanted"]),
        place=row["place"],
        latitude=row["latitude"],
        longitude=row["longitude"],
        area=row["area"],
        doors=row["doors"],
        starts_at=_at(row["starts_at"]),
        starts_slots=row["starts_slots"],
        radius_km=row["radius_km"],
        team_id=row["team_id"],
        created_by=row["created_by"],
        created_at=from_iso(row["created_at"]),
        updated_at=from_iso(row["updated_at"]),
        closed_at=_at(row["closed_at"]),
        reminders_done_at=_at(row["reminders_done_at"]),
    )


def _view(row: Row) -> TaskView:
    """A task read with `_TRANSLATED` beside it."""
    task = task_of(row)
    return TaskView(task, row["translated"] or task.instructions)


# The instructions in the reader's language, read beside the task (NULL if not written).
_TRANSLATED = (
    "(SELECT tr.instructions FROM task_translations tr WHERE tr.task_id = t.id"
    " AND tr.language = :language) AS translated"
)


# -- targeting in SQL ----------------------------------------------------------------------

# A volunteer fits when, for each kind the task targets, one of its values matches.
_TARGET_SQL = {
    "team": "x.value IN (SELECT CAST(m.team_id AS TEXT) FROM team_members m"
    " WHERE m.volunteer_id = :volunteer)",
    "postcode": "x.value = :postcode",
    "department": "x.value = :department",
    "skill": "x.value IN ({skills})",
    "language": "x.value = :language",
    "availability": "x.value IN ({availability})",
}

SLOTS = ("evenings", "weekends", "daytime")


def slot_names(fit: Fit) -> list[str]:
    """The volunteer's slots among the known ones (safe to put in SQL text)."""
    return [slot for slot in SLOTS if slot in fit.availability] or ["none"]


def _fit_clause(fit: Fit, now: datetime) -> tuple[str, dict[str, Any]]:
    """WHERE conditions (over tasks t) for open tasks this volunteer fits."""
    skills, skill_params = in_list("skill", sorted(fit.skills))
    slots, slot_params = in_list("avail", sorted(fit.availability))
    params: dict[str, Any] = {
        "now": to_iso(now),
        "volunteer": fit.volunteer_id,
        "postcode": fit.postcode or None,
        "department": fit.department or None,
        "language": fit.language,
        **skill_params,
        **slot_params,
    }
    clauses = [
        "t.status = 'open'",
        "t.opens_at <= :now",
        "(t.closes_at IS NULL OR t.closes_at > :now)",
        "(t.quota IS NULL OR t.slots_taken < t.quota)",
    ]
    for kind, test in _TARGET_SQL.items():
        test = test.format(skills=skills, availability=slots)
        clauses.append(
            f"(t.target_kinds NOT LIKE '%,{kind},%' OR EXISTS (SELECT 1 FROM task_targets x"
            f" WHERE x.task_id = t.id AND x.kind = '{kind}' AND {test}))"
        )
    if fit.availability:
        # The task's start must fall in one of the slots the volunteer said they are free.
        tests = " OR ".join(f"t.starts_slots LIKE '%,{slot},%'" for slot in slot_names(fit))
        clauses.append(f"(t.starts_slots IS NULL OR {tests})")
    if fit.latitude is None or fit.longitude is None:
        clauses.append("t.radius_km IS NULL")
    else:
        params.update(_distance_params(fit.latitude, fit.longitude))
        clauses.append(f"(t.radius_km IS NULL OR {_DISTANCE2} <= t.radius_km * t.radius_km)")
    # Not skipped, not in hand, not put off, and under the per-volunteer cap.
    clauses.append(
        "NOT EXISTS (SELECT 1 FROM assignments a WHERE a.volunteer_id = :volunteer"
        " AND a.task_id = t.id AND (a.state IN ('skipped', 'accepted')"
        " OR (a.state = 'later' AND a.later_until > :now)))"
    )
    clauses.append(
        "(SELECT COUNT(*) FROM assignments a WHERE a.volunteer_id = :volunteer"
        " AND a.task_id = t.id AND a.state = 'done') < t.per_volunteer_cap"
    )
    return " AND ".join(clauses), params


# Squared distance in km² on an equirectangular projection: plain arithmetic, portable,
# accurate enough within a campaign's area. cos(latitude) comes in as a parameter.
_DISTANCE2 = (
    "(((t.latitude - :lat) * :km) * ((t.latitude - :lat) * :km)"
    " + ((t.longitude - :lon) * :kmlon) * ((t.longitude - :lon) * :kmlon))"
)


def _distance_params(latitude: float, longitude: float) -> dict[str, float]:
    return {
        "lat": latitude,
        "lon": longitude,
        "km": KM_PER_DEGREE,
        "kmlon": KM_PER_DEGREE * math.cos(math.radians(latitude)),
    }


def _skippable(fits: str) -> str:
    """Conditions (over tasks t) for a task the volunteer may set aside: not in their hands,
    and either one that `fits` them now or one shown to them already (offered, set aside)."""
    return (
        "NOT EXISTS (SELECT 1 FROM assignments a WHERE a.task_id = t.id"
        " AND a.volunteer_id = :volunteer AND a.state = 'accepted')"
        f" AND (({fits}) OR EXISTS (SELECT 1 FROM offers o WHERE o.task_id = t.id"
        " AND o.volunteer_id = :volunteer) OR EXISTS (SELECT 1 FROM assignments a"
        " WHERE a.task_id = t.id AND a.volunteer_id = :volunteer"
        " AND a.state IN ('later', 'skipped')))"
    )


async def _comes_back_at(reader: Reader, volunteer_id: int, now: datetime) -> datetime | None:
    """When something may fit again: a task opening, or one put off coming back."""
    value = await reader.fetch_value(
        "SELECT MIN(at) FROM (SELECT MIN(opens_at) AS at FROM tasks WHERE status = 'open'"
        " AND opens_at > :now UNION ALL SELECT MIN(later_until) FROM assignments"
        " WHERE volunteer_id = :volunteer AND state = 'later' AND later_until > :now) AS x",
        {"now": to_iso(now), "volunteer": volunteer_id},
    )
    return from_iso(str(value)) if value else None


class _NothingToSetAside(Exception):
    """Raised inside a transaction to roll it back: the card was stale."""


def _target_kinds(draft: TaskDraft) -> str:
    return "," + "".join(f"{k}," for k in TARGET_KINDS if draft.targets.get(k))


class TaskRepository:
    """Reads and writes tasks, their targets and translations; runs claims and closings."""

    def __init__(self, db: Backend) -> None:
        self.db = db
        self.outbox = OutboxRepository(db)

    # -- tasks ---------------------------------------------------------------------------

    async def create(self, draft: TaskDraft, now: datetime) -> Task:
        """Store a task with its targets and translations, all or nothing."""
        (task,) = await self.create_many([draft], now)
        return task

    async def create_many(self, drafts: Sequence[TaskDraft], now: datetime) -> list[Task]:
        """Store several tasks in one transaction: all of them or none."""
        async with self.db.transaction() as tx:
            ids = [await _insert(tx, draft, now) for draft in drafts]
        return await self.get_many(ids)

    async def get_many(self, task_ids: Sequence[int]) -> list[Task]:
        """These tasks, in the order asked (missing ones left out)."""
        names, params = in_list("id", task_ids)
        rows = await self.db.fetch_all(f"SELECT * FROM tasks WHERE id IN ({names})", params)
        found = {row["id"]: task_of(row) for row in rows}
        return [found[task_id] for task_id in task_ids if task_id in found]

    async def imported(self, kind: str, team_id: int | None, title: str) -> Task | None:
        """The task not yet closed that has this key (kind, team, title), titles compared
        without regard to case; the newest if several."""
        team = "team_id IS NULL" if team_id is None else "team_id = :team"
        row = await self.db.fetch_one(
            f"SELECT * FROM tasks WHERE kind = :kind AND {team}"
            " AND lower(title) = lower(:title) AND status != 'closed' ORDER BY id DESC LIMIT 1",
            {"kind": kind, "team": team_id, "title": title},
        )
        return task_of(row) if row else None

    async def content(self, task_id: int) -> dict[str, Any]:
        """What an import file says about a task, as stored: to tell a change from a
        repeat."""
        row = await self.db.fetch_one("SELECT * FROM tasks WHERE id = :id", {"id": task_id})
        assert row is not None
        translations = await self.db.fetch_all(
            "SELECT language, instructions FROM task_translations WHERE task_id = :id",
            {"id": task_id},
        )
        return {
            **{column: row[column] for column in IMPORTED_COLUMNS},
            "targets": await self.targets(task_id),
            "translations": {r["language"]: r["instructions"] for r in translations},
        }

    async def import_all(
        self, new: Sequence[TaskDraft], changed: Sequence[tuple[int, TaskDraft]], now: datetime
    ) -> list[int]:
        """Create the new tasks and rewrite the changed ones, in one transaction; return
        the new tasks' ids."""
        async with self.db.transaction() as tx:
            ids = [await _insert(tx, draft, now) for draft in new]
            for task_id, draft in changed:
                values = draft_content(draft)
                sets = ", ".join(f"{column} = :{column}" for column in IMPORTED_COLUMNS)
                await tx.execute(
                    f"UPDATE tasks SET {sets}, starts_slots = :slots, target_kinds = :kinds,"
                    " updated_at = :now WHERE id = :id",
                    {
                        **{c: values[c] for c in IMPORTED_COLUMNS},
                        "slots": draft.starts_slots,
                        "kinds": _target_kinds(draft),
                        "now": to_iso(now),
                        "id": task_id,
                    },
                )
                await tx.execute("DELETE FROM task_targets WHERE task_id = :id", {"id": task_id})
                await tx.execute(
                    "DELETE FROM task_translations WHERE task_id = :id", {"id": task_id}
                )
                await _insert_details(tx, task_id, draft)
        return ids

    async def get(self, task_id: int) -> Task | None:
        row = await self.db.fetch_one("SELECT * FROM tasks WHERE id = :id", {"id": task_id})
        return task_of(row) if row else None

    async def view(self, task_id: int, language: str) -> TaskView | None:
        """The task with its instructions in this language, in one read."""
        row = await self.db.fetch_one(
            f"SELECT t.*, {_TRANSLATED} FROM tasks t WHERE t.id = :id",
            {"id": task_id, "language": language},
        )
        return _view(row) if row else None

    async def targets(self, task_id: int) -> dict[str, tuple[str, ...]]:
        rows = await self.db.fetch_all(
            "SELECT kind, value FROM task_targets WHERE task_id = :id ORDER BY kind, value",
            {"id": task_id},
        )
        found: dict[str, list[str]] = {}
        for row in rows:
            found.setdefault(row["kind"], []).append(row["value"])
        return {k: tuple(v) for k, v in found.items()}

    async def instructions(self, task: Task, language: str) -> str:
        """The task's instructions in this language if written, else the default."""
        text = await self.db.fetch_value(
            "SELECT instructions FROM task_translations WHERE task_id = :id"
            " AND language = :language",
            {"id": task.id, "language": language},
        )
        return str(text) if text else task.instructions

    async def set_status(self, task_id: int, status: str, now: datetime) -> bool:
        """Pause, resume or close; False when the task is already closed or missing.

        A paused task's offers still waiting in the outbox are withdrawn with it."""
        stamp = to_iso(now)
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE tasks SET status = :status, updated_at = :now,"
                " closed_at = CASE WHEN :status = 'closed' THEN :now ELSE closed_at END"
                " WHERE id = :id AND status != 'closed'",
                {"status": status, "now": stamp, "id": task_id},
            )
            if changed and status == TaskStatus.PAUSED:
                await self.outbox.cancel("offer", task_id, tx=tx)
            return changed == 1

    async def edit(self, task_id: int, now: datetime, **changes: Any) -> bool:
        """Change plain fields (title, instructions, quota, closes_at, priority, points)."""
        allowed = {"title", "instructions", "quota", "closes_at", "priority", "points"}
        if not changes or set(changes) - allowed:
            raise ValueError(f"cannot edit {set(changes) - allowed}")
        values = {k: to_iso(v) if isinstance(v, datetime) else v for k, v in changes.items()}
        sets = ", ".join(f"{k} = :{k}" for k in values)
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                f"UPDATE tasks SET {sets}, updated_at = :now WHERE id = :id AND status != 'closed'",
                {**values, "now": to_iso(now), "id": task_id},
            )
            return changed == 1

    async def progress(
        self, scope: frozenset[int] | None, *, include_closed: bool = False
    ) -> list[Progress]:
        """Tasks in these teams (None: all) with done / accepted / skipped counts."""
        where = ["1 = 1"] if include_closed else ["t.status != 'closed'"]
        params: dict[str, Any] = {}
        if scope is not None:
            names, params = in_list("team", sorted(scope))
            where.append(f"t.team_id IN ({names})")
        rows = await self.db.fetch_all(
            "SELECT t.*,"
            " (SELECT COUNT(*) FROM assignments a WHERE a.task_id = t.id AND a.state = 'done')"
            " AS n_done,"
            " (SELECT COUNT(*) FROM assignments a WHERE a.task_id = t.id"
            " AND a.state = 'accepted') AS n_accepted,"
            " (SELECT COUNT(*) FROM assignments a WHERE a.task_id = t.id"
            " AND a.state = 'skipped') AS n_skipped"
            f" FROM tasks t WHERE {' AND '.join(where)}"
            " ORDER BY CASE WHEN t.status = 'closed' THEN 1 ELSE 0 END, t.priority DESC,"
            " t.id DESC LIMIT 50",
            params,
        )
        return [Progress(task_of(r), r["n_done"], r["n_accepted"], r["n_skipped"]) for r in rows]

    async def teams(self, scope: frozenset[int] | None) -> list[tuple[int, str]]:
        """Teams (id, name) within a scope (None: all), by name."""
        rows = await self.db.fetch_all("SELECT id, name FROM teams ORDER BY lower(name), id")
        return [(r["id"], r["name"]) for r in rows if scope is None or r["id"] in scope]

    # -- the queue -----------------------------------------------------------------------

    async def fit(self, volunteer_id: int) -> Fit | None:
        """What targeting needs to know about a volunteer."""
        row = await self.db.fetch_one(
            "SELECT id, postcode, department, skills, language, availability, latitude,"
            " longitude FROM volunteers WHERE id = :id",
            {"id": volunteer_id},
        )
        if row is None:
            return None
        return Fit(
            volunteer_id=row["id"],
            postcode=row["postcode"] or "",
            department=row["department"] or "",
            skills=frozenset(filter(None, (row["skills"] or "").split(","))),
            language=row["language"],
            availability=frozenset(filter(None, (row["availability"] or "").split(","))),
            latitude=row["latitude"],
            longitude=row["longitude"],
        )

    async def next_for(self, fit: Fit, now: datetime) -> TaskView | None:
        """The best open task for this volunteer, with its instructions in their language:
        highest priority, then nearest field task."""
        return await self._next(self.db, fit, now)

    async def _next(self, reader: Reader, fit: Fit, now: datetime) -> TaskView | None:
        """`next_for`, on the committed data or inside a transaction.

        Two steps keep it fast with thousands of open tasks: the first walks the queue index
        in priority order and stops at the first fit; the second only looks at fits of that
        same priority to pick the nearest.
        """
        where, params = _fit_clause(fit, now)
        first = await reader.fetch_one(self._first_fit(where), params)
        if first is None:
            return None
        best = _view(first)
        if fit.latitude is None or fit.longitude is None:
            return best
        if "lat" not in params:
            params.update(_distance_params(fit.latitude, fit.longitude))
        params["priority"] = best.task.priority
        nearest = await reader.fetch_one(
            f"SELECT t.*, {_TRANSLATED} FROM tasks t{self._hint('tasks_located')} WHERE {where}"
            " AND t.priority = :priority AND t.latitude IS NOT NULL"
            f" ORDER BY {_DISTANCE2}, t.id LIMIT 1",
            params,
        )
        return _view(nearest) if nearest else best

    async def set_aside(
        self, fit: Fit, task_id: int, state: str, now: datetime, until: datetime | None
    ) -> NextTask | None:
        """Skip a task for good or put it off ('later'), then read what /task shows next,
        in one transaction; None, and nothing written, if the task was not this
        volunteer's to set aside (see `skippable`).

        A tap on Later costs one conditional INSERT and the next task's read on top of the
        transaction itself: the check, the write and the read no longer take a round trip
        each to a different connection."""
        where, params = _fit_clause(fit, now)
        try:
            async with self.db.transaction() as tx:
                offered = await assignment_rows.set_aside_if(
                    tx, task_id, fit.volunteer_id, state, until, _skippable(where), params
                )
                if offered is None:
                    raise _NothingToSetAside  # rolls back the update's key with it
                if offered:
                    await offer_rows.answer_offer(tx, task_id, fit.volunteer_id, state, now)
                view = await self._next(tx, fit, now)
                back = None if view else await _comes_back_at(tx, fit.volunteer_id, now)
        except _NothingToSetAside:
            return None
        return NextTask(view, back)

    def _hint(self, index: str) -> str:
        """SQLite walks the queue in priority order only when told which index to use;
        other databases plan it themselves (the dialect says so)."""
        hint = self.db.dialect.indexed_by(index)
        return f" {hint}" if hint else ""

    def _first_fit(self, where: str) -> str:
        """The next task's first query: the queue walked in priority order to the first fit."""
        return (
            f"SELECT t.*, {_TRANSLATED} FROM tasks t{self._hint('tasks_queue')} WHERE {where}"
            " ORDER BY t.priority DESC, t.id LIMIT 1"
        )

    async def next_task_plan(self, fit: Fit, now: datetime) -> list[str]:
        """The database's plan for the next task's first query, as `next_for` runs it (a
        guard for its indexes), one step a line."""
        where, params = _fit_clause(fit, now)
        rows = await self.db.fetch_all(self.db.dialect.explain(self._first_fit(where)), params)
        return [str(row[-1]) for row in rows]

    async def comes_back_at(self, volunteer_id: int, now: datetime) -> datetime | None:
        """When something may fit again: a task opening, or one put off coming back."""
        return await _comes_back_at(self.db, volunteer_id, now)

    async def skippable(self, fit: Fit, task_id: int, now: datetime) -> bool:
        """Whether the volunteer may set this task aside: not in their hands, and either
        one they could take now or one shown to them already (offered, set aside)."""
        where, params = _fit_clause(fit, now)
        params["task"] = task_id
        found = await self.db.fetch_value(
            f"SELECT 1 FROM tasks t WHERE t.id = :task AND {_skippable(where)}", params
        )
        return found is not None

    async def reach(
        self,
        targets: Mapping[str, Sequence[str]],
        *,
        latitude: float | None = None,
        longitude: float | None = None,
        radius_km: float | None = None,
        now: datetime,
    ) -> int:
        """How many active, reachable volunteers a targeting would reach."""
        where, params = _volunteer_filter(targets, latitude, longitude, radius_km, now)
        return int(
            await self.db.fetch_value(f"SELECT COUNT(*) FROM volunteers v WHERE {where}", params)
            or 0
        )

    async def offer_candidates(self, task: Task, now: datetime, limit: int) -> list[Recipient]:
        """Volunteers the task fits who were never offered it and have no assignment on it."""
        targets = await self.targets(task.id)
        where, params = _volunteer_filter(
            targets, task.latitude, task.longitude, task.radius_km, now
        )
        params.update({"task": task.id, "limit": limit})
        # One row per volunteer: their preferred reachable identity.
        rows = await self.db.fetch_all(
            "SELECT v.id, v.language, v.timezone, v.quiet_hours, v.availability, i.channel,"
            " i.chat_id FROM volunteers v JOIN identities i ON i.volunteer_id = v.id"
            " AND i.unreachable_at IS NULL AND i.preferred = 1 AND NOT EXISTS (SELECT 1"
            " FROM identities i3 WHERE i3.volunteer_id = v.id AND i3.unreachable_at IS NULL"
            " AND i3.preferred = 1 AND (i3.channel < i.channel OR (i3.channel = i.channel"
            f" AND i3.user_id < i.user_id))) WHERE {where}"
            " AND NOT EXISTS (SELECT 1 FROM offers o WHERE o.task_id = :task"
            " AND o.volunteer_id = v.id)"
            " AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.volunteer_id = v.id"
            " AND a.task_id = :task)"
            " ORDER BY v.id LIMIT :limit",
            params,
        )
        return [
            Recipient(
                r["id"],
                r["language"],
                r["timezone"] or "",
                r["quiet_hours"],
                frozenset(filter(None, (r["availability"] or "").split(","))),
                r["channel"],
                r["chat_id"],
            )
            for r in rows
        ]

    async def offerable(self, now: datetime, limit: int) -> list[Task]:
        """Open tasks with room left, highest priority first."""
        rows = await self.db.fetch_all(
            "SELECT * FROM tasks WHERE status = 'open' AND opens_at <= :now"
            " AND (closes_at IS NULL OR closes_at > :now)"
            " AND (quota IS NULL OR slots_taken < quota) ORDER BY priority DESC, id LIMIT :limit",
            {"now": to_iso(now), "limit": limit},
        )
        return [task_of(r) for r in rows]

    # -- claims --------------------------------------------------------------------------

    async def claim(self, task_id: int, fit: Fit, now: datetime, source: str = "asked") -> Claimed:
        """Take a slot of the task if it fits the volunteer; ClaimRefused if not.

        The slot is taken by one conditional UPDATE that also checks the targeting, the
        volunteer's cap and that they do not hold it already, and returns the task (with
        its instructions in their language): a granted claim costs four statements.
        """
        where, params = _fit_clause(fit, now)
        params["task"] = task_id
        volunteer = fit.volunteer_id
        async with self.db.transaction() as tx:
            row = await tx.fetch_one(
                "UPDATE tasks AS t SET slots_taken = slots_taken + 1"
                f" WHERE t.id = :task AND {where} RETURNING *,"
                # RETURNING sees the row, not the alias: its reads name the task by :task.
                " (SELECT tr.instructions FROM task_translations tr WHERE tr.task_id = :task"
                " AND tr.language = :language) AS translated,"
                " EXISTS (SELECT 1 FROM assignments a WHERE a.task_id = :task"
                " AND a.volunteer_id = :volunteer AND a.state IN ('later', 'skipped'))"
                " AS set_aside, EXISTS (SELECT 1 FROM offers o WHERE o.task_id = :task"
                " AND o.volunteer_id = :volunteer AND o.state IN ('sent', 'later')) AS offered",
                params,
            )
            if row is None:
                raise ClaimRefused(await _refusal(tx, task_id, volunteer))
            view = _view(row)
            if row["set_aside"]:
                await assignment_rows.drop_set_aside(tx, task_id, volunteer)
            # Accepting an event is the RSVP; reports count who said they are going.
            rsvp = "going" if view.task.kind == TaskKind.EVENT else None
            assignment = await assignment_rows.take(tx, task_id, volunteer, source, rsvp, now)
            if row["offered"]:
                await offer_rows.answer_offer(tx, task_id, volunteer, "accepted", now)
        return Claimed(assignment, view.task, view.instructions)

    async def put_aside(
        self, task_id: int, volunteer_id: int, state: str, now: datetime, until: datetime | None
    ) -> None:
        """Skip a task for good, or put it off until a moment ('later')."""
        async with self.db.transaction() as tx:
            await assignment_rows.set_aside(tx, task_id, volunteer_id, state, now, until)
            await offer_rows.answer_offer(tx, task_id, volunteer_id, state, now)

    async def in_hand(self, volunteer_id: int, language: str = "") -> list[Claimed]:
        """Accepted, not yet done assignments with their tasks, oldest first."""
        rows = await self.db.fetch_all(
            f"SELECT t.*, {_TRANSLATED}, {selected('a', 'a_')} FROM assignments a"
            " JOIN tasks t ON t.id = a.task_id WHERE a.volunteer_id = :volunteer"
            " AND a.state = 'accepted' ORDER BY a.accepted_at, a.id",
            {"volunteer": volunteer_id, "language": language},
        )
        found = []
        for row in rows:
            view = _view(row)
            found.append(Claimed(assignment_of(row, "a_"), view.task, view.instructions))
        return found

    async def held(self, assignment_id: int, language: str = "") -> Claimed | None:
        """An assignment with its task, in one read."""
        row = await self.db.fetch_one(
            f"SELECT t.*, {_TRANSLATED}, {selected('a', 'a_')} FROM assignments a"
            " JOIN tasks t ON t.id = a.task_id WHERE a.id = :id",
            {"id": assignment_id, "language": language},
        )
        if row is None:
            return None
        view = _view(row)
        return Claimed(assignment_of(row, "a_"), view.task, view.instructions)

    async def give_up(self, assignment_id: int, volunteer_id: int, now: datetime) -> bool:
        """The volunteer can't do it after all: the slot goes back to the quota, and on a
        phone bank the people they held go back to the list, in one transaction."""
        async with self.db.transaction() as tx:
            given = await assignment_rows.give_back(tx, assignment_id, volunteer_id, now)
            if given is None:
                return False
            task_id, kind = given
            await _release_slots(tx, [task_id])
            if kind == TaskKind.CALL:
                await release_held(tx, volunteer_id, now)
            return True

    async def finish_calls(self, held: Claimed, now: datetime) -> int | None:
        """Finished calling: what the caller holds goes back to the list, and the task is
        recorded done with the calls they made since they took it, in one transaction; the
        points, or None if the assignment was no longer in their hands."""
        assignment = held.assignment
        volunteer = assignment.volunteer_id
        since = assignment.accepted_at or assignment.created_at
        async with self.db.transaction() as tx:
            # Read before writing: on PostgreSQL a reading writer holds the schema's lock from
            # its first read, and rows written before it could deadlock with another caller.
            made = await calls_made(tx, held.task.id, volunteer, since)
            await release_held(tx, volunteer, now)
            outcome = Outcome(calls_made=made)
            return await assignment_rows.record_outcome(tx, assignment.id, volunteer, outcome, now)

    # -- closing, reminders --------------------------------------------------------------

    async def due_to_close(self, now: datetime) -> list[int]:
        """Open or paused tasks whose closing time has passed."""
        rows = await self.db.fetch_all(
            "SELECT id FROM tasks WHERE status IN ('open', 'paused', 'draft')"
            " AND closes_at IS NOT NULL AND closes_at <= :now",
            {"now": to_iso(now)},
        )
        return [r["id"] for r in rows]

    async def expire(self, task_id: int, now: datetime) -> int:
        """Close a task and expire what is still pending on it; how many assignments expired."""
        stamp = to_iso(now)
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE tasks SET status = 'closed', closed_at = COALESCE(closed_at, :now),"
                " updated_at = :now WHERE id = :id",
                {"now": stamp, "id": task_id},
            )
            expired = await assignment_rows.expire_on_task(tx, task_id, now)
            await offer_rows.expire_offers(tx, task_id, now)
            await self.outbox.cancel("offer", task_id, tx=tx)
            await self.outbox.cancel("reminder", task_id, tx=tx)
            return expired

    async def needing_reminder(
        self, closing_before: datetime, now: datetime
    ) -> list[tuple[Assignment, Task]]:
        """Accepted, unreminded assignments of tasks closing before a moment."""
        rows = await self.db.fetch_all(
            f"SELECT t.*, {selected('a', 'a_')} FROM assignments a"
            " JOIN tasks t ON t.id = a.task_id"
            " WHERE a.state = 'accepted' AND a.reminded_at IS NULL AND t.status = 'open'"
            " AND t.closes_at IS NOT NULL AND t.closes_at > :now AND t.closes_at <= :before"
            " ORDER BY t.closes_at",
            {"now": to_iso(now), "before": to_iso(closing_before)},
        )
        return [(assignment_of(row, "a_"), task_of(row)) for row in rows]

    async def forget_volunteer(self, volunteer_id: int, now: datetime) -> None:
        """Erasure of the task part alone (/forget runs `erase_tasks` in its transaction)."""
        async with self.db.transaction() as tx:
            await erase_tasks(tx, volunteer_id, now)


async def _insert(tx: Tx, draft: TaskDraft, now: datetime) -> int:
    stamp = to_iso(now)
    task_id = await tx.insert_returning_id(
        "INSERT INTO tasks (kind, title, instructions, status, points, priority,"
        " opens_at, closes_at, quota, per_volunteer_cap, link, suggested_message,"
        " proof_wanted, place, latitude, longitude, area, doors, starts_at, starts_slots,"
        " radius_km, target_kinds, team_id, created_by, created_at, updated_at)"
        " VALUES (:kind, :title, :instructions, :status, :points, :priority, :opens_at,"
        " :closes_at, :quota, :cap, :link, :message, :proof, :place, :latitude, :longitude,"
        " :area, :doors, :starts_at, :slots, :radius, :kinds, :team, :by, :now, :now)",
        {
            "kind": draft.kind,
            "title": draft.title,
            "instructions": draft.instructions,
            "status": draft.status,
            "points": draft.points,
            "priority": draft.priority,
            "opens_at": to_iso(draft.opens_at or now),
            "closes_at": to_iso(draft.closes_at) if draft.closes_at else None,
            "quota": draft.quota,
            "cap": draft.per_volunteer_cap,
            "link": draft.link,
            "message": draft.suggested_message,
            "proof": int(draft.proof_wanted),
            "place": draft.place,
            "latitude": draft.latitude,
            "longitude": draft.longitude,
            "area": draft.area,
            "doors": draft.doors,
            "starts_at": to_iso(draft.starts_at) if draft.starts_at else None,
            "slots": draft.starts_slots,
            "radius": draft.radius_km,
            "kinds": _target_kinds(draft),
            "team": draft.team_id,
            "by": draft.created_by,
            "now": stamp,
        },
    )
    await _insert_details(tx, task_id, draft)
    return task_id


async def _insert_details(tx: Tx, task_id: int, draft: TaskDraft) -> None:
    """A task's targets and translations."""
    targets = [
        {"task": task_id, "kind": kind, "value": value}
        for kind, values in draft.targets.items()
        for value in values
    ]
    if targets:
        await tx.execute_many(
            "INSERT INTO task_targets (task_id, kind, value) VALUES (:task, :kind, :value)"
            " ON CONFLICT DO NOTHING",
            targets,
        )
    translations = [
        {"task": task_id, "language": language, "text": text}
        for language, text in draft.translations.items()
    ]
    if translations:
        await tx.execute_many(
            "INSERT INTO task_translations (task_id, language, instructions)"
            " VALUES (:task, :language, :text)",
            translations,
        )


async def _release_slots(tx: Tx, task_ids: Sequence[int]) -> None:
    """Slots given back (a volunteer gave up or was erased); never below zero."""
    names, params = in_list("id", task_ids)
    await tx.execute(
        f"UPDATE tasks SET slots_taken = slots_taken - 1 WHERE id IN ({names}) AND slots_taken > 0",
        params,
    )


async def _refusal(tx: Tx, task_id: int, volunteer_id: int) -> Refusal:
    """Why a claim that fitted nothing was refused (read only when it was)."""
    row = await tx.fetch_one(
        "SELECT status, quota, slots_taken, EXISTS (SELECT 1 FROM assignments a"
        " WHERE a.task_id = t.id AND a.volunteer_id = :volunteer AND a.state = 'accepted')"
        " AS taken FROM tasks t WHERE t.id = :task",
        {"task": task_id, "volunteer": volunteer_id},
    )
    if row is None:
        return Refusal.TARGET
    if row["status"] != TaskStatus.OPEN:
        return Refusal.CLOSED
    if row["quota"] is not None and row["slots_taken"] >= row["quota"]:
        return Refusal.FULL
    return Refusal.TAKEN if row["taken"] else Refusal.TARGET


def _volunteer_filter(
    targets: Mapping[str, Sequence[str]],
    latitude: float | None,
    longitude: float | None,
    radius_km: float | None,
    now: datetime,
) -> tuple[str, dict[str, Any]]:
    """WHERE conditions (over volunteers v) for people a targeting may message now."""
    params: dict[str, Any] = {"now": to_iso(now)}
    clauses = [
        UNSOLICITED_SQL,
        "EXISTS (SELECT 1 FROM identities i2 WHERE i2.volunteer_id = v.id"
        " AND i2.unreachable_at IS NULL)",
    ]
    for kind in TARGET_KINDS:
        values = list(targets.get(kind, ()))
        if not values:
            continue
        names, named = in_list(f"t_{kind}", values)
        params.update(named)
        if kind == "team":
            clauses.append(
                "EXISTS (SELECT 1 FROM team_members m WHERE m.volunteer_id = v.id"
                f" AND CAST(m.team_id AS TEXT) IN ({names}))"
            )
        elif kind in ("skill", "availability"):
            column = "skills" if kind == "skill" else "availability"
            tests = " OR ".join(
                f"(',' || v.{column} || ',') LIKE ('%,' || :{k} || ',%')" for k in named
            )
            clauses.append(f"({tests})")
        else:
            column = {"postcode": "postcode", "department": "department", "language": "language"}[
                kind
            ]
            clauses.append(f"v.{column} IN ({names})")
    if radius_km is not None and latitude is not None and longitude is not None:
        params.update(_distance_params(latitude, longitude))
        # Squared here: PostgreSQL cannot type a product of two bare parameters.
        params["radius2"] = radius_km * radius_km
        distance = _DISTANCE2.replace("t.latitude", "v.latitude").replace(
            "t.longitude", "v.longitude"
        )
        clauses.append(f"v.latitude IS NOT NULL AND {distance} <= :radius2")
    return " AND ".join(clauses), params


async def erase_tasks(tx: Tx, volunteer_id: int, now: datetime) -> None:
    """Erasure: drop what a volunteer wrote, give back their slots and held contacts.

    Counts (doors, calls, points) stay for the campaign's totals, tied only to the
    volunteer id, which erasure leaves without a name or an address. Offers stay: they
    hold no personal data and the task funnel counts them.
    """
    held = await assignment_rows.erase_assignments(tx, volunteer_id, now)
    if held:
        await _release_slots(tx, held)
    await erase_caller(tx, volunteer_id, now)


async def export_tasks(db: Backend, volunteer_id: int) -> dict[str, object]:
    """A volunteer's tasks, outcomes and calls, for /mydata."""
    return {
        **await assignment_rows.export_assignments(db, volunteer_id),
        "calls_made": await export_calls(db, volunteer_id),
    }


register_personal_data("tasks", export_tasks, erase_tasks)
