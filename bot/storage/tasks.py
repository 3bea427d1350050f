"""Tasks, who they are for, assignments, outcomes and offers."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

import aiosqlite

from bot.clock import to_iso
from bot.storage.backend import Tx
from bot.storage.db import Database, legacy_connection, placeholders
from bot.storage.personal_data import register_personal_data

KINDS = ("share", "canvass", "call", "text", "event", "custom")
TARGET_KINDS = ("team", "postcode", "department", "skill", "language", "availability")
KM_PER_DEGREE = 111.2


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


@dataclass(frozen=True, slots=True)
class Task:
    """A micro-task in the queue."""

    id: int
    kind: str
    title: str
    instructions: str
    status: str
    points: int
    priority: int
    opens_at: str
    closes_at: str | None
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
    starts_at: str | None
    starts_slots: str | None
    radius_km: float | None
    target_kinds: str
    team_id: int | None
    created_by: int | None
    created_at: str
    updated_at: str
    closed_at: str | None
    reminders_done_at: str | None

    @classmethod
    def from_row(cls, row: aiosqlite.Row) -> Task:
        values = {f.name: row[f.name] for f in fields(cls)}
        values["proof_wanted"] = bool(values["proof_wanted"])
        return cls(**values)


def preview_of(draft: TaskDraft) -> Task:
    """How a draft will look once stored (for the preview before publishing)."""
    return Task(
        id=0,
        kind=draft.kind,
        title=draft.title,
        instructions=draft.instructions,
        status="draft",
        points=draft.points,
        priority=draft.priority,
        opens_at=to_iso(draft.opens_at) if draft.opens_at else "",
        closes_at=to_iso(draft.closes_at) if draft.closes_at else None,
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
        starts_at=to_iso(draft.starts_at) if draft.starts_at else None,
        starts_slots=draft.starts_slots,
        radius_km=draft.radius_km,
        target_kinds="",
        team_id=draft.team_id,
        created_by=draft.created_by,
        created_at="",
        updated_at="",
        closed_at=None,
        reminders_done_at=None,
    )


@dataclass(frozen=True, slots=True)
class Assignment:
    """A volunteer's claim on a task."""

    id: int
    task_id: int
    volunteer_id: int
    state: str
    source: str
    rsvp: str | None
    later_until: str | None
    created_at: str
    accepted_at: str | None
    finished_at: str | None
    reminded_at: str | None
    updated_at: str

    @classmethod
    def from_row(cls, row: aiosqlite.Row) -> Assignment:
        return cls(**{f.name: row[f.name] for f in fields(cls)})


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
    """The facts about a volunteer that targeting looks at."""

    volunteer_id: int
    teams: frozenset[int]
    postcode: str
    department: str
    skills: frozenset[str]
    language: str
    availability: frozenset[str]
    latitude: float | None
    longitude: float | None


@dataclass(frozen=True, slots=True)
class Progress:
    """A task with its counts, for /tasks."""

    task: Task
    done: int
    accepted: int
    skipped: int


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


class ClaimRefused(Exception):
    """A claim was not granted: reason is closed, full, cap or taken."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# -- targeting in SQL ----------------------------------------------------------------------

# A volunteer fits when, for each kind the task targets, one of its values matches.
_TARGET_SQL = {
    "team": "x.value IN ({teams})",
    "postcode": "x.value = :postcode",
    "department": "x.value = :department",
    "skill": "x.value IN ({skills})",
    "language": "x.value = :language",
    "availability": "x.value IN ({availability})",
}


def _in_list(name: str, values: Iterable[object]) -> tuple[str, dict[str, object]]:
    items = list(values) or [None]  # IN (NULL) matches nothing
    params = {f"{name}{i}": v for i, v in enumerate(items)}
    return ", ".join(f":{k}" for k in params), params


def _fit_clause(fit: Fit, now: datetime) -> tuple[str, dict[str, Any]]:
    """WHERE conditions (over tasks t) for open tasks this volunteer fits."""
    teams, team_params = _in_list("team", [str(t) for t in sorted(fit.teams)])
    skills, skill_params = _in_list("skill", sorted(fit.skills))
    slots, slot_params = _in_list("avail", sorted(fit.availability))
    params: dict[str, Any] = {
        "now": to_iso(now),
        "volunteer": fit.volunteer_id,
        "postcode": fit.postcode or None,
        "department": fit.department or None,
        "language": fit.language,
        **team_params,
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
        test = test.format(teams=teams, skills=skills, availability=slots)
        clauses.append(
            f"(instr(t.target_kinds, ',{kind},') = 0 OR EXISTS (SELECT 1 FROM task_targets x"
            f" WHERE x.task_id = t.id AND x.kind = '{kind}' AND {test}))"
        )
    if fit.availability:
        # The task's start must fall in one of the slots the volunteer said they are free.
        tests = " OR ".join(f"instr(t.starts_slots, ',{slot},') > 0" for slot in slot_names(fit))
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


SLOTS = ("evenings", "weekends", "daytime")


def slot_names(fit: Fit) -> list[str]:
    """The volunteer's slots among the known ones (safe to put in SQL text)."""
    return [slot for slot in SLOTS if slot in fit.availability] or ["none"]


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


class TaskRepository:
    """Reads and writes tasks, targets, assignments, outcomes and offers."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- tasks ---------------------------------------------------------------------------

    async def create(self, draft: TaskDraft, now: datetime) -> Task:
        """Store a task with its targets and translations, all or nothing."""
        (task,) = await self.create_many([draft], now)
        return task

    async def create_many(self, drafts: Sequence[TaskDraft], now: datetime) -> list[Task]:
        """Store several tasks in one transaction: all of them or none."""
        async with self.db.raw_transaction() as tx:
            ids = [await self._insert(tx, draft, now) for draft in drafts]
        found = [await self.get(task_id) for task_id in ids]
        return [t for t in found if t is not None]

    async def _insert(self, tx: aiosqlite.Connection, draft: TaskDraft, now: datetime) -> int:
        kinds = "," + "".join(f"{k}," for k in TARGET_KINDS if draft.targets.get(k))
        stamp = to_iso(now)
        cursor = await tx.execute(
            "INSERT INTO tasks (kind, title, instructions, status, points, priority,"
            " opens_at, closes_at, quota, per_volunteer_cap, link, suggested_message,"
            " proof_wanted, place, latitude, longitude, area, doors, starts_at, starts_slots,"
            " radius_km, target_kinds, team_id, created_by, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?)",
            (
                draft.kind,
                draft.title,
                draft.instructions,
                draft.status,
                draft.points,
                draft.priority,
                to_iso(draft.opens_at or now),
                to_iso(draft.closes_at) if draft.closes_at else None,
                draft.quota,
                draft.per_volunteer_cap,
                draft.link,
                draft.suggested_message,
                int(draft.proof_wanted),
                draft.place,
                draft.latitude,
                draft.longitude,
                draft.area,
                draft.doors,
                to_iso(draft.starts_at) if draft.starts_at else None,
                draft.starts_slots,
                draft.radius_km,
                kinds,
                draft.team_id,
                draft.created_by,
                stamp,
                stamp,
            ),
        )
        task_id = int(cursor.lastrowid or 0)
        await tx.executemany(
            "INSERT INTO task_targets (task_id, kind, value) VALUES (?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            [(task_id, kind, v) for kind, values in draft.targets.items() for v in values],
        )
        await tx.executemany(
            "INSERT INTO task_translations (task_id, language, instructions) VALUES (?, ?, ?)",
            [(task_id, lang, text) for lang, text in draft.translations.items()],
        )
        return task_id

    async def imported(self, kind: str, team_id: int | None, title: str) -> Task | None:
        """The task not yet closed that has this key (kind, team, title), titles compared
        without regard to case; the newest if several."""
        row = await self.db.fetch_one(
            "SELECT * FROM tasks WHERE kind = ? AND team_id IS ? AND lower(title) = lower(?)"
            " AND status != 'closed' ORDER BY id DESC LIMIT 1",
            (kind, team_id, title),
        )
        return Task.from_row(row) if row else None

    async def content(self, task_id: int) -> dict[str, Any]:
        """What an import file says about a task, as stored: to tell a change from a
        repeat."""
        row = await self.db.fetch_one("SELECT * FROM tasks WHERE id = ?", (task_id,))
        assert row is not None
        translations = await self.db.fetch_all(
            "SELECT language, instructions FROM task_translations WHERE task_id = ?",
            (task_id,),
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
        async with self.db.raw_transaction() as tx:
            ids = [await self._insert(tx, draft, now) for draft in new]
            for task_id, draft in changed:
                values = draft_content(draft)
                kinds = "," + "".join(f"{k}," for k in TARGET_KINDS if draft.targets.get(k))
                sets = ", ".join(f"{column} = :{column}" for column in IMPORTED_COLUMNS)
                await tx.execute(
                    f"UPDATE tasks SET {sets}, starts_slots = :slots, target_kinds = :kinds,"
                    " updated_at = :now WHERE id = :id",
                    {
                        **{c: values[c] for c in IMPORTED_COLUMNS},
                        "slots": draft.starts_slots,
                        "kinds": kinds,
                        "now": to_iso(now),
                        "id": task_id,
                    },
                )
                await tx.execute("DELETE FROM task_targets WHERE task_id = ?", (task_id,))
                await tx.executemany(
                    "INSERT INTO task_targets (task_id, kind, value) VALUES (?, ?, ?)"
                    " ON CONFLICT DO NOTHING",
                    [(task_id, k, v) for k, vs in draft.targets.items() for v in vs],
                )
                await tx.execute("DELETE FROM task_translations WHERE task_id = ?", (task_id,))
                await tx.executemany(
                    "INSERT INTO task_translations (task_id, language, instructions)"
                    " VALUES (?, ?, ?)",
                    [(task_id, lang, text) for lang, text in draft.translations.items()],
                )
        return ids

    async def get(self, task_id: int) -> Task | None:
        row = await self.db.fetch_one("SELECT * FROM tasks WHERE id = ?", (task_id,))
        return Task.from_row(row) if row else None

    async def targets(self, task_id: int) -> dict[str, tuple[str, ...]]:
        rows = await self.db.fetch_all(
            "SELECT kind, value FROM task_targets WHERE task_id = ? ORDER BY kind, value",
            (task_id,),
        )
        found: dict[str, list[str]] = {}
        for row in rows:
            found.setdefault(row["kind"], []).append(row["value"])
        return {k: tuple(v) for k, v in found.items()}

    async def instructions(self, task: Task, language: str) -> str:
        """The task's instructions in this language if written, else the default."""
        text = await self.db.fetch_value(
            "SELECT instructions FROM task_translations WHERE task_id = ? AND language = ?",
            (task.id, language),
        )
        return str(text) if text else task.instructions

    async def set_status(self, task_id: int, status: str, now: datetime) -> bool:
        """Pause, resume or close; False when the task is already closed or missing."""
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "UPDATE tasks SET status = ?, updated_at = ?,"
                " closed_at = CASE WHEN ? = 'closed' THEN ? ELSE closed_at END"
                " WHERE id = ? AND status != 'closed'",
                (status, to_iso(now), status, to_iso(now), task_id),
            )
            return cursor.rowcount == 1

    async def withdraw_offers(self, task_id: int) -> int:
        """Cancel offers of a task still waiting in the outbox (it was paused)."""
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "UPDATE outbox SET status = 'cancelled' WHERE kind = 'offer' AND ref_id = ?"
                " AND status = 'pending'",
                (task_id,),
            )
            return cursor.rowcount

    async def edit(self, task_id: int, now: datetime, **changes: Any) -> bool:
        """Change plain fields (title, instructions, quota, closes_at, priority, points)."""
        allowed = {"title", "instructions", "quota", "closes_at", "priority", "points"}
        if not changes or set(changes) - allowed:
            raise ValueError(f"cannot edit {set(changes) - allowed}")
        values = {k: to_iso(v) if isinstance(v, datetime) else v for k, v in changes.items()}
        sets = ", ".join(f"{k} = :{k}" for k in values)
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                f"UPDATE tasks SET {sets}, updated_at = :now WHERE id = :id AND status != 'closed'",
                {**values, "now": to_iso(now), "id": task_id},
            )
            return cursor.rowcount == 1

    async def progress(
        self, scope: frozenset[int] | None, *, include_closed: bool = False
    ) -> list[Progress]:
        """Tasks in these teams (None: all) with done / accepted / skipped counts."""
        where = ["1 = 1"] if include_closed else ["t.status != 'closed'"]
        params: list[Any] = []
        if scope is not None:
            where.append(f"t.team_id IN ({placeholders(scope) or 'NULL'})")
            params.extend(sorted(scope))
        rows = await self.db.fetch_all(
            "SELECT t.*,"
            " (SELECT COUNT(*) FROM assignments a WHERE a.task_id = t.id AND a.state = 'done')"
            " AS n_done,"
            " (SELECT COUNT(*) FROM assignments a WHERE a.task_id = t.id"
            " AND a.state = 'accepted') AS n_accepted,"
            " (SELECT COUNT(*) FROM assignments a WHERE a.task_id = t.id"
            " AND a.state = 'skipped') AS n_skipped"
            f" FROM tasks t WHERE {' AND '.join(where)}"
            " ORDER BY t.status = 'closed', t.priority DESC, t.id DESC LIMIT 50",
            params,
        )
        return [
            Progress(Task.from_row(r), r["n_done"], r["n_accepted"], r["n_skipped"]) for r in rows
        ]

    async def teams(self, scope: frozenset[int] | None) -> list[tuple[int, str]]:
        """Teams (id, name) within a scope (None: all), by name."""
        rows = await self.db.fetch_all("SELECT id, name FROM teams ORDER BY name COLLATE NOCASE")
        return [(r["id"], r["name"]) for r in rows if scope is None or r["id"] in scope]

    # -- the queue -----------------------------------------------------------------------

    async def fit(self, volunteer_id: int) -> Fit | None:
        """What targeting needs to know about a volunteer."""
        row = await self.db.fetch_one(
            "SELECT id, postcode, department, skills, language, availability, latitude,"
            " longitude, (SELECT group_concat(team_id) FROM team_members"
            " WHERE volunteer_id = v.id) AS teams FROM volunteers v WHERE id = ?",
            (volunteer_id,),
        )
        if row is None:
            return None
        return Fit(
            volunteer_id=row["id"],
            teams=frozenset(int(t) for t in (row["teams"] or "").split(",") if t),
            postcode=row["postcode"] or "",
            department=row["department"] or "",
            skills=frozenset(filter(None, (row["skills"] or "").split(","))),
            language=row["language"],
            availability=frozenset(filter(None, (row["availability"] or "").split(","))),
            latitude=row["latitude"],
            longitude=row["longitude"],
        )

    async def next_for(self, fit: Fit, now: datetime) -> Task | None:
        """The best open task for this volunteer: highest priority, then nearest field task.

        Two steps keep it fast with thousands of open tasks: the first walks the queue index
        in priority order and stops at the first fit; the second only looks at fits of that
        same priority to pick the nearest.
        """
        where, params = _fit_clause(fit, now)
        first = await self.db.fetch_one(
            f"SELECT t.* FROM tasks t INDEXED BY tasks_queue WHERE {where}"
            " ORDER BY t.priority DESC, t.id LIMIT 1",
            params,
        )
        if first is None:
            return None
        best = Task.from_row(first)
        if fit.latitude is None or fit.longitude is None:
            return best
        if "lat" not in params:
            params.update(_distance_params(fit.latitude, fit.longitude))
        params["priority"] = best.priority
        nearest = await self.db.fetch_one(
            f"SELECT t.* FROM tasks t INDEXED BY tasks_located WHERE {where}"
            " AND t.priority = :priority AND t.latitude IS NOT NULL"
            f" ORDER BY {_DISTANCE2}, t.id LIMIT 1",
            params,
        )
        return Task.from_row(nearest) if nearest else best

    async def next_task_plan(self, fit: Fit, now: datetime) -> list[str]:
        """SQLite's plan for the first next-task query (a guard for its indexes)."""
        where, params = _fit_clause(fit, now)
        rows = await self.db.fetch_all(
            f"EXPLAIN QUERY PLAN SELECT t.* FROM tasks t INDEXED BY tasks_queue WHERE {where}"
            " ORDER BY t.priority DESC, t.id LIMIT 1",
            params,
        )
        return [str(r["detail"]) for r in rows]

    async def comes_back_at(self, volunteer_id: int, now: datetime) -> str | None:
        """When something may fit again (ISO): a task opening, or one put off coming back."""
        value = await self.db.fetch_value(
            "SELECT MIN(at) FROM (SELECT MIN(opens_at) AS at FROM tasks WHERE status = 'open'"
            " AND opens_at > :now UNION ALL SELECT MIN(later_until) FROM assignments"
            " WHERE volunteer_id = :volunteer AND state = 'later' AND later_until > :now)",
            {"now": to_iso(now), "volunteer": volunteer_id},
        )
        return str(value) if value else None

    async def fits(self, fit: Fit, task_id: int, now: datetime) -> bool:
        """Whether this open task is one the volunteer could take now."""
        where, params = _fit_clause(fit, now)
        params["task"] = task_id
        found = await self.db.fetch_value(
            f"SELECT 1 FROM tasks t WHERE t.id = :task AND {where}", params
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
        rows = await self.db.fetch_all(
            "SELECT v.id, v.language, v.timezone, v.quiet_hours, v.availability, i.channel,"
            " i.chat_id FROM volunteers v JOIN identities i ON i.volunteer_id = v.id"
            f" AND i.unreachable_at IS NULL AND i.preferred = 1 WHERE {where}"
            " AND NOT EXISTS (SELECT 1 FROM offers o WHERE o.task_id = :task"
            " AND o.volunteer_id = v.id)"
            " AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.volunteer_id = v.id"
            " AND a.task_id = :task)"
            " GROUP BY v.id ORDER BY v.id LIMIT :limit",
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
            "SELECT * FROM tasks WHERE status = 'open' AND opens_at <= ?"
            " AND (closes_at IS NULL OR closes_at > ?)"
            " AND (quota IS NULL OR slots_taken < quota) ORDER BY priority DESC, id LIMIT ?",
            (to_iso(now), to_iso(now), limit),
        )
        return [Task.from_row(r) for r in rows]

    async def record_offer(self, task_id: int, volunteer_id: int, now: datetime) -> bool:
        """Remember an offer; False if this volunteer was already offered the task."""
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "INSERT INTO offers (task_id, volunteer_id, offered_at) VALUES (?, ?, ?)"
                " ON CONFLICT (task_id, volunteer_id) DO NOTHING",
                (task_id, volunteer_id, to_iso(now)),
            )
            return cursor.rowcount == 1

    async def unsolicited_since(self, volunteer_id: int, since: datetime) -> int:
        """Offers and reminders queued for a volunteer since a moment (the daily cap)."""
        return int(
            await self.db.fetch_value(
                "SELECT COUNT(*) FROM outbox WHERE volunteer_id = ?"
                " AND kind IN ('offer', 'reminder') AND created_at >= ?",
                (volunteer_id, to_iso(since)),
            )
            or 0
        )

    # -- claims --------------------------------------------------------------------------

    async def claim(
        self, task_id: int, volunteer_id: int, now: datetime, source: str = "asked"
    ) -> Assignment:
        """Take a slot of the task: one transaction, conditional writes; ClaimRefused if not."""
        stamp = to_iso(now)
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "SELECT state, COUNT(*) AS n FROM assignments WHERE volunteer_id = ?"
                " AND task_id = ? AND state IN ('accepted', 'done') GROUP BY state",
                (volunteer_id, task_id),
            )
            held = {r["state"]: r["n"] for r in await cursor.fetchall()}
            if held.get("accepted"):
                raise ClaimRefused("taken")
            cursor = await tx.execute(
                "UPDATE tasks SET slots_taken = slots_taken + 1 WHERE id = ?"
                " AND status = 'open' AND opens_at <= ? AND (closes_at IS NULL OR closes_at > ?)"
                " AND (quota IS NULL OR slots_taken < quota) AND per_volunteer_cap > ?"
                " RETURNING id",
                (task_id, stamp, stamp, held.get("done", 0)),
            )
            if await cursor.fetchone() is None:
                cursor = await tx.execute(
                    "SELECT status, quota, slots_taken, per_volunteer_cap FROM tasks WHERE id = ?",
                    (task_id,),
                )
                row = await cursor.fetchone()
                if row is None or row["status"] != "open":
                    raise ClaimRefused("closed")
                if held.get("done", 0) >= row["per_volunteer_cap"]:
                    raise ClaimRefused("cap")
                if row["quota"] is not None and row["slots_taken"] >= row["quota"]:
                    raise ClaimRefused("full")
                raise ClaimRefused("closed")
            await tx.execute(
                "DELETE FROM assignments WHERE volunteer_id = ? AND task_id = ?"
                " AND state IN ('later', 'skipped')",
                (volunteer_id, task_id),
            )
            cursor = await tx.execute(
                "INSERT INTO assignments (task_id, volunteer_id, state, source, created_at,"
                " accepted_at, updated_at) VALUES (?, ?, 'accepted', ?, ?, ?, ?) RETURNING *",
                (task_id, volunteer_id, source, stamp, stamp, stamp),
            )
            row = await cursor.fetchone()
            assert row is not None
            await tx.execute(
                "UPDATE offers SET state = 'accepted', answered_at = ? WHERE task_id = ?"
                " AND volunteer_id = ? AND state IN ('sent', 'later')",
                (stamp, task_id, volunteer_id),
            )
            return Assignment.from_row(row)

    async def was_shown(self, task_id: int, volunteer_id: int) -> bool:
        """Whether this task was offered to this volunteer or already set aside by them."""
        found = await self.db.fetch_value(
            "SELECT 1 FROM offers WHERE task_id = :task AND volunteer_id = :volunteer"
            " UNION ALL SELECT 1 FROM assignments WHERE task_id = :task"
            " AND volunteer_id = :volunteer AND state IN ('later', 'skipped') LIMIT 1",
            {"task": task_id, "volunteer": volunteer_id},
        )
        return found is not None

    async def put_aside(
        self, task_id: int, volunteer_id: int, state: str, now: datetime, until: datetime | None
    ) -> None:
        """Skip a task for good, or put it off until a moment ('later')."""
        assert state in ("skipped", "later")
        stamp = to_iso(now)
        async with self.db.raw_transaction() as tx:
            await tx.execute(
                "DELETE FROM assignments WHERE volunteer_id = ? AND task_id = ?"
                " AND state IN ('later', 'skipped')",
                (volunteer_id, task_id),
            )
            await tx.execute(
                "INSERT INTO assignments (task_id, volunteer_id, state, later_until, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                (task_id, volunteer_id, state, to_iso(until) if until else None, stamp, stamp),
            )
            await tx.execute(
                "UPDATE offers SET state = ?, answered_at = ? WHERE task_id = ?"
                " AND volunteer_id = ? AND state IN ('sent', 'later')",
                (state, stamp, task_id, volunteer_id),
            )

    async def assignment(self, assignment_id: int) -> Assignment | None:
        row = await self.db.fetch_one("SELECT * FROM assignments WHERE id = ?", (assignment_id,))
        return Assignment.from_row(row) if row else None

    async def in_hand(self, volunteer_id: int) -> list[tuple[Assignment, Task]]:
        """Accepted, not yet done assignments, oldest first."""
        rows = await self.db.fetch_all(
            "SELECT a.id AS a_id, t.* FROM assignments a JOIN tasks t ON t.id = a.task_id"
            " WHERE a.volunteer_id = ? AND a.state = 'accepted' ORDER BY a.accepted_at, a.id",
            (volunteer_id,),
        )
        found = []
        for row in rows:
            assignment = await self.assignment(row["a_id"])
            assert assignment is not None
            found.append((assignment, Task.from_row(row)))
        return found

    async def set_rsvp(self, assignment_id: int, volunteer_id: int, rsvp: str) -> bool:
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "UPDATE assignments SET rsvp = ? WHERE id = ? AND volunteer_id = ?"
                " AND state = 'accepted'",
                (rsvp, assignment_id, volunteer_id),
            )
            return cursor.rowcount == 1

    async def complete(
        self,
        assignment_id: int,
        volunteer_id: int,
        outcome: Outcome,
        now: datetime,
    ) -> int | None:
        """Mark an accepted assignment done with its outcome; the points, or None if stale."""
        stamp = to_iso(now)
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "UPDATE assignments SET state = 'done', finished_at = ?, updated_at = ?"
                " WHERE id = ? AND volunteer_id = ? AND state = 'accepted'"
                " RETURNING task_id",
                (stamp, stamp, assignment_id, volunteer_id),
            )
            row = await cursor.fetchone()
            if row is None:
                return None
            cursor = await tx.execute(
                "SELECT kind, points FROM tasks WHERE id = ?", (row["task_id"],)
            )
            task = await cursor.fetchone()
            assert task is not None
            points = task["points"] if outcome.attended is not False else 0
            await tx.execute(
                "INSERT INTO outcomes (assignment_id, task_id, volunteer_id, kind, doors_knocked,"
                " conversations, supporters, people_reached, calls_made, attended, proof,"
                " comment, points, recorded_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    assignment_id,
                    row["task_id"],
                    volunteer_id,
                    task["kind"],
                    outcome.doors_knocked,
                    outcome.conversations,
                    outcome.supporters,
                    outcome.people_reached,
                    outcome.calls_made,
                    None if outcome.attended is None else int(outcome.attended),
                    outcome.proof,
                    outcome.comment,
                    points,
                    stamp,
                ),
            )
            return int(points)

    async def give_up(self, assignment_id: int, volunteer_id: int, now: datetime) -> bool:
        """The volunteer can't do it after all: the slot goes back to the quota."""
        stamp = to_iso(now)
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "UPDATE assignments SET state = 'cant', finished_at = ?, updated_at = ?"
                " WHERE id = ? AND volunteer_id = ? AND state = 'accepted' RETURNING task_id",
                (stamp, stamp, assignment_id, volunteer_id),
            )
            row = await cursor.fetchone()
            if row is None:
                return False
            await tx.execute(
                "UPDATE tasks SET slots_taken = MAX(slots_taken - 1, 0) WHERE id = ?",
                (row["task_id"],),
            )
            return True

    # -- closing, reminders --------------------------------------------------------------

    async def due_to_close(self, now: datetime) -> list[int]:
        """Open or paused tasks whose closing time has passed."""
        rows = await self.db.fetch_all(
            "SELECT id FROM tasks WHERE status IN ('open', 'paused', 'draft')"
            " AND closes_at IS NOT NULL AND closes_at <= ?",
            (to_iso(now),),
        )
        return [r["id"] for r in rows]

    async def expire(self, task_id: int, now: datetime) -> int:
        """Close a task and expire what is still pending on it; how many assignments expired."""
        stamp = to_iso(now)
        async with self.db.raw_transaction() as tx:
            await tx.execute(
                "UPDATE tasks SET status = 'closed', closed_at = COALESCE(closed_at, ?),"
                " updated_at = ? WHERE id = ?",
                (stamp, stamp, task_id),
            )
            cursor = await tx.execute(
                "UPDATE assignments SET state = 'expired', finished_at = ?, updated_at = ?"
                " WHERE task_id = ? AND state = 'accepted'",
                (stamp, stamp, task_id),
            )
            expired = cursor.rowcount
            await tx.execute(
                "UPDATE offers SET state = 'expired', answered_at = ? WHERE task_id = ?"
                " AND state IN ('sent', 'later')",
                (stamp, task_id),
            )
            await tx.execute(
                "UPDATE outbox SET status = 'cancelled' WHERE kind IN ('offer', 'reminder')"
                " AND ref_id = ? AND status = 'pending'",
                (task_id,),
            )
            return expired

    async def needing_reminder(
        self, closing_before: datetime, now: datetime
    ) -> list[tuple[Assignment, Task]]:
        """Accepted, unreminded assignments of tasks closing before a moment."""
        rows = await self.db.fetch_all(
            "SELECT a.id AS a_id FROM assignments a JOIN tasks t ON t.id = a.task_id"
            " WHERE a.state = 'accepted' AND a.reminded_at IS NULL AND t.status = 'open'"
            " AND t.closes_at IS NOT NULL AND t.closes_at > ? AND t.closes_at <= ?"
            " ORDER BY t.closes_at",
            (to_iso(now), to_iso(closing_before)),
        )
        found = []
        for row in rows:
            assignment = await self.assignment(row["a_id"])
            if assignment is None:
                continue
            task = await self.get(assignment.task_id)
            if task is not None:
                found.append((assignment, task))
        return found

    async def mark_reminded(self, assignment_id: int, now: datetime) -> bool:
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "UPDATE assignments SET reminded_at = ? WHERE id = ? AND reminded_at IS NULL",
                (to_iso(now), assignment_id),
            )
            return cursor.rowcount == 1

    async def forget_volunteer(self, volunteer_id: int, now: datetime) -> None:
        """Erasure of the task part alone (/forget runs `erase_tasks` in its transaction)."""
        async with self.db.transaction() as tx:
            await erase_tasks(tx, volunteer_id, now)

    async def purge_call_lists(self, closed_before: datetime) -> int:
        """Blank the names, numbers and notes of call lists of tasks closed long ago.

        Results stay for reports; the do-not-call list keeps its numbers, since honouring
        it is the point.
        """
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "UPDATE call_contacts SET name = '', notes = NULL, phone = 'erased:' || id,"
                " state = 'done', held_by = NULL, held_until = NULL, callback_at = NULL"
                " WHERE phone NOT LIKE 'erased:%' AND task_id IN (SELECT id FROM tasks"
                " WHERE status = 'closed' AND closed_at <= ?)",
                (to_iso(closed_before),),
            )
            return cursor.rowcount

    # -- points ---------------------------------------------------------------------------

    async def points(self, volunteer_id: int) -> int:
        return int(
            await self.db.fetch_value(
                "SELECT COALESCE(SUM(points), 0) FROM outcomes WHERE volunteer_id = ?",
                (volunteer_id,),
            )
            or 0
        )

    async def done_since(self, volunteer_id: int, since: datetime) -> int:
        return int(
            await self.db.fetch_value(
                "SELECT COUNT(*) FROM outcomes WHERE volunteer_id = ? AND recorded_at >= ?",
                (volunteer_id, to_iso(since)),
            )
            or 0
        )

    async def outcome_times(self, volunteer_id: int, since: datetime) -> list[str]:
        """When this volunteer's outcomes were recorded, newest first (for the streak)."""
        rows = await self.db.fetch_all(
            "SELECT recorded_at FROM outcomes WHERE volunteer_id = ? AND recorded_at >= ?"
            " ORDER BY recorded_at DESC",
            (volunteer_id, to_iso(since)),
        )
        return [r["recorded_at"] for r in rows]

    async def leaderboard(self, since: datetime, limit: int = 10) -> list[tuple[str, int]]:
        """First names and points of volunteers who opted in, best first."""
        rows = await self.db.fetch_all(
            "SELECT v.first_name, SUM(o.points) AS total FROM outcomes o"
            " JOIN volunteers v ON v.id = o.volunteer_id"
            " WHERE v.leaderboard = 1 AND v.status IN ('active', 'paused')"
            " AND o.recorded_at >= ? GROUP BY v.id HAVING total > 0"
            " ORDER BY total DESC, v.id LIMIT ?",
            (to_iso(since), limit),
        )
        return [(r["first_name"] or "?", int(r["total"])) for r in rows]


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
        "(v.status = 'active' OR (v.status = 'paused' AND v.paused_until IS NOT NULL"
        " AND v.paused_until <= :now))",
        "EXISTS (SELECT 1 FROM identities i2 WHERE i2.volunteer_id = v.id"
        " AND i2.unreachable_at IS NULL)",
    ]
    for kind in TARGET_KINDS:
        values = list(targets.get(kind, ()))
        if not values:
            continue
        names, named = _in_list(f"t_{kind}", values)
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
        params["radius"] = radius_km
        distance = _DISTANCE2.replace("t.latitude", "v.latitude").replace(
            "t.longitude", "v.longitude"
        )
        clauses.append(f"v.latitude IS NOT NULL AND {distance} <= :radius * :radius")
    return " AND ".join(clauses), params


async def erase_tasks(tx: Tx, volunteer_id: int, now: datetime) -> None:
    """Erasure: drop what a volunteer wrote, give back their slots and held contacts.

    Counts (doors, calls, points) stay for the campaign's totals, tied only to the
    volunteer id, which erasure leaves without a name or an address.
    """
    conn = legacy_connection(tx)  # until this module moves to the Tx interface
    stamp = to_iso(now)
    await conn.execute(
        "UPDATE outcomes SET proof = NULL, comment = NULL WHERE volunteer_id = ?",
        (volunteer_id,),
    )
    cursor = await conn.execute(
        "UPDATE assignments SET state = 'expired', finished_at = ?, updated_at = ?"
        " WHERE volunteer_id = ? AND state = 'accepted' RETURNING task_id",
        (stamp, stamp, volunteer_id),
    )
    for row in await cursor.fetchall():
        await conn.execute(
            "UPDATE tasks SET slots_taken = MAX(slots_taken - 1, 0) WHERE id = ?",
            (row["task_id"],),
        )
    # Offers stay: they hold no personal data and the task funnel counts them.
    await conn.execute(
        "UPDATE call_contacts SET state = 'ready', held_by = NULL, held_until = NULL,"
        " updated_at = ? WHERE held_by = ? AND state = 'held'",
        (stamp, volunteer_id),
    )
    await conn.execute(
        "UPDATE call_results SET volunteer_id = NULL WHERE volunteer_id = ?",
        (volunteer_id,),
    )


async def export_tasks(db: Database, volunteer_id: int) -> dict[str, object]:
    """A volunteer's tasks and outcomes, for /mydata."""
    assignments = await db.fetch_all(
        "SELECT a.task_id, t.title, t.kind, a.state, a.rsvp, a.created_at, a.finished_at"
        " FROM assignments a JOIN tasks t ON t.id = a.task_id WHERE a.volunteer_id = ?"
        " ORDER BY a.id",
        (volunteer_id,),
    )
    outcomes = await db.fetch_all(
        "SELECT task_id, kind, doors_knocked, conversations, supporters, people_reached,"
        " calls_made, attended, proof, comment, points, recorded_at FROM outcomes"
        " WHERE volunteer_id = ? ORDER BY recorded_at",
        (volunteer_id,),
    )
    calls = await db.fetch_all(
        "SELECT task_id, result, called_at FROM call_results WHERE volunteer_id = ?"
        " ORDER BY called_at",
        (volunteer_id,),
    )
    return {
        "assignments": [dict(row) for row in assignments],
        "outcomes": [dict(row) for row in outcomes],
        "calls_made": [dict(row) for row in calls],
    }


register_personal_data("tasks", export_tasks, erase_tasks)
