"""Assignments (who took or set aside which task), their outcomes, and the points they earn."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.clock import from_iso, to_iso
from bot.domain.tasks import Assignment, AssignmentState, Outcome
from bot.storage.backend import Backend, Row, Tx

# The columns of `assignments`, prefixed where a query joins tasks (see `assignment_of`).
COLUMNS = (
    "id",
    "task_id",
    "volunteer_id",
    "state",
    "source",
    "rsvp",
    "later_until",
    "created_at",
    "accepted_at",
    "finished_at",
    "reminded_at",
    "updated_at",
)


def _at(text: str | None) -> datetime | None:
    return from_iso(text) if text else None


def assignment_of(row: Row, prefix: str = "") -> Assignment:
    """An assignment from its row (columns named `prefix` + column, see `selected`)."""
    value = {column: row[prefix + column] for column in COLUMNS}
    return Assignment(
        id=value["id"],
        task_id=value["task_id"],
        volunteer_id=value["volunteer_id"],
        state=AssignmentState(value["state"]),
        source=value["source"],
        rsvp=value["rsvp"],
        later_until=_at(value["later_until"]),
        created_at=from_iso(value["created_at"]),
        accepted_at=_at(value["accepted_at"]),
        finished_at=_at(value["finished_at"]),
        reminded_at=_at(value["reminded_at"]),
        updated_at=from_iso(value["updated_at"]),
    )


def selected(alias: str, prefix: str) -> str:
    """The select list that reads an assignment beside another table's columns."""
    return ", ".join(f"{alias}.{column} AS {prefix}{column}" for column in COLUMNS)


class AssignmentRepository:
    """Reads and writes assignments and outcomes; counts points."""

    def __init__(self, db: Backend) -> None:
        self.db = db

    async def get(self, assignment_id: int) -> Assignment | None:
        row = await self.db.fetch_one(
            "SELECT * FROM assignments WHERE id = :id", {"id": assignment_id}
        )
        return assignment_of(row) if row else None

    async def set_rsvp(self, assignment_id: int, volunteer_id: int, rsvp: str) -> bool:
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE assignments SET rsvp = :rsvp WHERE id = :id AND volunteer_id = :volunteer"
                " AND state = 'accepted'",
                {"rsvp": rsvp, "id": assignment_id, "volunteer": volunteer_id},
            )
            return changed == 1

    async def complete(
        self, assignment_id: int, volunteer_id: int, outcome: Outcome, now: datetime
    ) -> int | None:
        """Mark an accepted assignment done with its outcome; the points, or None if stale."""
        async with self.db.transaction() as tx:
            return await record_outcome(tx, assignment_id, volunteer_id, outcome, now)

    async def mark_reminded(self, assignment_id: int, now: datetime) -> bool:
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE assignments SET reminded_at = :now WHERE id = :id AND reminded_at IS NULL",
                {"now": to_iso(now), "id": assignment_id},
            )
            return changed == 1

    # -- points ---------------------------------------------------------------------------

    async def points(self, volunteer_id: int) -> int:
        return int(
            await self.db.fetch_value(
                "SELECT COALESCE(SUM(points), 0) FROM outcomes WHERE volunteer_id = :volunteer",
                {"volunteer": volunteer_id},
            )
            or 0
        )

    async def done_since(self, volunteer_id: int, since: datetime) -> int:
        return int(
            await self.db.fetch_value(
                "SELECT COUNT(*) FROM outcomes WHERE volunteer_id = :volunteer"
                " AND recorded_at >= :since",
                {"volunteer": volunteer_id, "since": to_iso(since)},
            )
            or 0
        )

    async def outcome_times(self, volunteer_id: int, since: datetime) -> list[datetime]:
        """When this volunteer's outcomes were recorded, newest first (for the streak)."""
        rows = await self.db.fetch_all(
            "SELECT recorded_at FROM outcomes WHERE volunteer_id = :volunteer"
            " AND recorded_at >= :since ORDER BY recorded_at DESC",
            {"volunteer": volunteer_id, "since": to_iso(since)},
        )
        return [from_iso(r["recorded_at"]) for r in rows]

    async def leaderboard(self, since: datetime, limit: int = 10) -> list[tuple[str, int]]:
        """First names and points of volunteers who opted in, best first."""
        rows = await self.db.fetch_all(
            "SELECT v.first_name, SUM(o.points) AS total FROM outcomes o"
            " JOIN volunteers v ON v.id = o.volunteer_id"
            " WHERE v.leaderboard = 1 AND v.status IN ('active', 'paused')"
            " AND o.recorded_at >= :since GROUP BY v.id, v.first_name HAVING SUM(o.points) > 0"
            " ORDER BY total DESC, v.id LIMIT :limit",
            {"since": to_iso(since), "limit": limit},
        )
        return [(r["first_name"] or "?", int(r["total"])) for r in rows]


# -- statements inside a larger transaction (claims, closing, erasure) ----------------------


async def take(
    tx: Tx, task_id: int, volunteer_id: int, source: str, rsvp: str | None, now: datetime
) -> Assignment:
    """The volunteer takes the task (what they had set aside on it is dropped first)."""
    stamp = to_iso(now)
    row = await tx.fetch_one(
        "INSERT INTO assignments (task_id, volunteer_id, state, source, rsvp, created_at,"
        " accepted_at, updated_at) VALUES (:task, :volunteer, 'accepted', :source, :rsvp,"
        " :now, :now, :now) RETURNING *",
        {"task": task_id, "volunteer": volunteer_id, "source": source, "rsvp": rsvp, "now": stamp},
    )
    assert row is not None
    return assignment_of(row)


async def drop_set_aside(tx: Tx, task_id: int, volunteer_id: int) -> None:
    await tx.execute(
        "DELETE FROM assignments WHERE volunteer_id = :volunteer AND task_id = :task"
        " AND state IN ('later', 'skipped')",
        {"volunteer": volunteer_id, "task": task_id},
    )


async def set_aside(
    tx: Tx, task_id: int, volunteer_id: int, state: str, now: datetime, until: datetime | None
) -> None:
    """Skip a task for good, or put it off until a moment ('later')."""
    assert state in ("skipped", "later")
    await drop_set_aside(tx, task_id, volunteer_id)
    stamp = to_iso(now)
    await tx.execute(
        "INSERT INTO assignments (task_id, volunteer_id, state, later_until, created_at,"
        " updated_at) VALUES (:task, :volunteer, :state, :until, :now, :now)",
        {
            "task": task_id,
            "volunteer": volunteer_id,
            "state": state,
            "until": to_iso(until) if until else None,
            "now": stamp,
        },
    )


async def record_outcome(
    tx: Tx, assignment_id: int, volunteer_id: int, outcome: Outcome, now: datetime
) -> int | None:
    """Mark an accepted assignment done with its outcome; the points, or None if stale."""
    stamp = to_iso(now)
    task_id = await tx.fetch_value(
        "UPDATE assignments SET state = 'done', finished_at = :now, updated_at = :now"
        " WHERE id = :id AND volunteer_id = :volunteer AND state = 'accepted'"
        " RETURNING task_id",
        {"now": stamp, "id": assignment_id, "volunteer": volunteer_id},
    )
    if task_id is None:
        return None
    # Someone who did not come to an event earns nothing for it.
    points = await tx.fetch_value(
        "INSERT INTO outcomes (assignment_id, task_id, volunteer_id, kind, doors_knocked,"
        " conversations, supporters, people_reached, calls_made, attended, proof,"
        " comment, points, recorded_at)"
        " SELECT :assignment, t.id, :volunteer, t.kind, :doors, :conversations,"
        " :supporters, :reached, :calls, :attended, :proof, :comment,"
        " CASE WHEN :absent = 1 THEN 0 ELSE t.points END, :now"
        " FROM tasks t WHERE t.id = :task RETURNING points",
        {
            "assignment": assignment_id,
            "volunteer": volunteer_id,
            "task": task_id,
            "doors": outcome.doors_knocked,
            "conversations": outcome.conversations,
            "supporters": outcome.supporters,
            "reached": outcome.people_reached,
            "calls": outcome.calls_made,
            "attended": None if outcome.attended is None else int(outcome.attended),
            "proof": outcome.proof,
            "comment": outcome.comment,
            "absent": int(outcome.attended is False),
            "now": stamp,
        },
    )
    assert points is not None
    return int(points)


async def set_aside_if(
    tx: Tx,
    task_id: int,
    volunteer_id: int,
    state: str,
    until: datetime | None,
    allowed: str,
    params: dict[str, Any],
) -> bool | None:
    """Skip a task for good or put it off, if `allowed` (conditions over tasks t, with
    `params`) holds for it, in one statement; None if it did not (nothing written), else
    whether a pending offer of it waits for its answer (see offers.answer_offer). What the
    volunteer had set aside on it before is dropped, with a second statement only when
    there was some."""
    assert state in ("skipped", "later")
    mine = "a.task_id = :task AND a.volunteer_id = :volunteer"
    row = await tx.fetch_one(
        "INSERT INTO assignments (task_id, volunteer_id, state, later_until, created_at,"
        " updated_at) SELECT t.id, :volunteer, :state, :until, :now, :now FROM tasks t"
        f" WHERE t.id = :task AND {allowed} RETURNING id,"
        # RETURNING's reads see the table as it was: what was set aside before, not this.
        f" EXISTS (SELECT 1 FROM assignments a WHERE {mine} AND a.id <> assignments.id"
        " AND a.state IN ('later', 'skipped')) AS had, EXISTS (SELECT 1 FROM offers o"
        " WHERE o.task_id = :task AND o.volunteer_id = :volunteer"
        " AND o.state IN ('sent', 'later')) AS offered",
        {
            **params,
            "task": task_id,
            "volunteer": volunteer_id,
            "state": state,
            "until": to_iso(until) if until else None,
        },
    )
    if row is None:
        return None
    if row["had"]:
        await tx.execute(
            "DELETE FROM assignments WHERE task_id = :task AND volunteer_id = :volunteer"
            " AND state IN ('later', 'skipped') AND id <> :kept",
            {"task": task_id, "volunteer": volunteer_id, "kept": row["id"]},
        )
    return bool(row["offered"])


async def give_back(
    tx: Tx, assignment_id: int, volunteer_id: int, now: datetime
) -> tuple[int, str] | None:
    """The volunteer can't do an accepted task after all; its task's id and kind, or None
    if stale."""
    stamp = to_iso(now)
    row = await tx.fetch_one(
        "UPDATE assignments SET state = 'cant', finished_at = :now, updated_at = :now"
        " WHERE id = :id AND volunteer_id = :volunteer AND state = 'accepted' RETURNING task_id,"
        " (SELECT t.kind FROM tasks t WHERE t.id = assignments.task_id) AS kind",
        {"now": stamp, "id": assignment_id, "volunteer": volunteer_id},
    )
    return None if row is None else (int(row["task_id"]), str(row["kind"]))


async def expire_on_task(tx: Tx, task_id: int, now: datetime) -> int:
    """The task closed: accepted, unfinished assignments expire; how many."""
    stamp = to_iso(now)
    return await tx.execute(
        "UPDATE assignments SET state = 'expired', finished_at = :now, updated_at = :now"
        " WHERE task_id = :task AND state = 'accepted'",
        {"now": stamp, "task": task_id},
    )


async def erase_assignments(tx: Tx, volunteer_id: int, now: datetime) -> list[int]:
    """Erasure: blank what the volunteer wrote in outcomes and expire what they hold; the
    tasks whose slots they held."""
    stamp = to_iso(now)
    await tx.execute(
        "UPDATE outcomes SET proof = NULL, comment = NULL WHERE volunteer_id = :volunteer",
        {"volunteer": volunteer_id},
    )
    rows = await tx.fetch_all(
        "UPDATE assignments SET state = 'expired', finished_at = :now, updated_at = :now"
        " WHERE volunteer_id = :volunteer AND state = 'accepted' RETURNING task_id",
        {"now": stamp, "volunteer": volunteer_id},
    )
    return [int(r["task_id"]) for r in rows]


async def export_assignments(db: Backend, volunteer_id: int) -> dict[str, Any]:
    """A volunteer's assignments and outcomes, for /mydata."""
    assignments = await db.fetch_all(
        "SELECT a.task_id, t.title, t.kind, a.state, a.rsvp, a.created_at, a.finished_at"
        " FROM assignments a JOIN tasks t ON t.id = a.task_id WHERE a.volunteer_id = :volunteer"
        " ORDER BY a.id",
        {"volunteer": volunteer_id},
    )
    outcomes = await db.fetch_all(
        "SELECT task_id, kind, doors_knocked, conversations, supporters, people_reached,"
        " calls_made, attended, proof, comment, points, recorded_at FROM outcomes"
        " WHERE volunteer_id = :volunteer ORDER BY recorded_at",
        {"volunteer": volunteer_id},
    )
    return {
        "assignments": [dict(row) for row in assignments],
        "outcomes": [dict(row) for row in outcomes],
    }
