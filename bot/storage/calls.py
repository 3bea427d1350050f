"""Phone banking: call lists, who holds which contact, call results, numbers not to call."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.clock import from_iso, to_iso
from bot.domain.calls import BARRED, RESULTS, Contact, ContactRow, ContactState
from bot.storage.backend import Backend, Row, Tx, in_list

__all__ = ["BARRED", "RESULTS", "CallRepository", "Contact", "ContactRow"]


def _at(text: str | None) -> datetime | None:
    return from_iso(text) if text else None


def contact_of(row: Row) -> Contact:
    return Contact(
        id=row["id"],
        task_id=row["task_id"],
        name=row["name"],
        phone=row["phone"],
        notes=row["notes"] or "",
        state=ContactState(row["state"]),
        held_by=row["held_by"],
        held_until=_at(row["held_until"]),
        callback_at=_at(row["callback_at"]),
        attempts=row["attempts"],
    )


class CallRepository:
    """Reads and writes call lists; every hold is one conditional write."""

    def __init__(self, db: Backend) -> None:
        self.db = db

    async def add_contacts(self, task_id: int, rows: Sequence[ContactRow], now: datetime) -> int:
        """Store a whole list in one transaction; a number already on it is not added twice."""
        count = "SELECT COUNT(*) FROM call_contacts WHERE task_id = :task"
        async with self.db.transaction() as tx:
            before = int(await tx.fetch_value(count, {"task": task_id}) or 0)
            await tx.execute_many(
                "INSERT INTO call_contacts (task_id, name, phone, notes, line, updated_at)"
                " VALUES (:task, :name, :phone, :notes, :line, :now)"
                " ON CONFLICT (task_id, phone) DO NOTHING",
                [
                    {
                        "task": task_id,
                        "name": r.name,
                        "phone": r.phone,
                        "notes": r.notes or None,
                        "line": r.line,
                        "now": to_iso(now),
                    }
                    for r in rows
                ],
            )
            return int(await tx.fetch_value(count, {"task": task_id}) or 0) - before

    async def held_by(self, task_id: int, volunteer_id: int, now: datetime) -> Contact | None:
        """The contact this caller holds on this list, if the hold is still alive."""
        row = await self.db.fetch_one(
            "SELECT * FROM call_contacts WHERE task_id = :task AND held_by = :volunteer"
            " AND state = 'held' AND held_until > :now ORDER BY id LIMIT 1",
            {"task": task_id, "volunteer": volunteer_id, "now": to_iso(now)},
        )
        return contact_of(row) if row else None

    async def hold_next(
        self, task_id: int, volunteer_id: int, now: datetime, hold: timedelta
    ) -> Contact | None:
        """Hold the next callable contact for this caller; None when the list is exhausted.

        Callable: fresh, a hold that lapsed (abandoned), or a call-back whose time has come —
        and never a number on the do-not-call list. The pick and the hold are one UPDATE, so
        two callers never get the same person.
        """
        async with self.db.transaction() as tx:
            row = await tx.fetch_one(
                "UPDATE call_contacts SET state = 'held', held_by = :volunteer,"
                " held_until = :until, updated_at = :now WHERE id = (SELECT c.id"
                " FROM call_contacts c WHERE c.task_id = :task AND (c.state = 'ready'"
                " OR (c.state = 'held' AND c.held_until <= :now)"
                " OR (c.state = 'callback' AND c.callback_at <= :now))"
                " AND NOT EXISTS (SELECT 1 FROM do_not_call d WHERE d.phone = c.phone)"
                " ORDER BY CASE WHEN c.state = 'callback' THEN 0 ELSE 1 END, c.id LIMIT 1)"
                " RETURNING *",
                {
                    "volunteer": volunteer_id,
                    "until": to_iso(now + hold),
                    "now": to_iso(now),
                    "task": task_id,
                },
            )
            return contact_of(row) if row else None

    async def get(self, contact_id: int) -> Contact | None:
        row = await self.db.fetch_one(
            "SELECT * FROM call_contacts WHERE id = :id", {"id": contact_id}
        )
        return contact_of(row) if row else None

    async def record(
        self,
        contact_id: int,
        volunteer_id: int,
        result: str,
        now: datetime,
        callback_at: datetime | None = None,
    ) -> Contact | None:
        """Record a call by the caller holding the contact; None if they no longer hold it.

        A lapsed hold still counts while nobody else has taken the contact: a long call
        is not an abandoned one.
        """
        if result not in RESULTS:
            raise ValueError(result)
        stamp = to_iso(now)
        state = "callback" if result in ("callback", "no_answer") and callback_at else "done"
        async with self.db.transaction() as tx:
            row = await tx.fetch_one(
                "UPDATE call_contacts SET state = :state, held_by = NULL, held_until = NULL,"
                " callback_at = :callback, last_result = :result, attempts = attempts + 1,"
                " updated_at = :now WHERE id = :id AND held_by = :volunteer AND state = 'held'"
                " RETURNING *",
                {
                    "state": state,
                    "callback": to_iso(callback_at)
                    if callback_at and state == "callback"
                    else None,
                    "result": result,
                    "now": stamp,
                    "id": contact_id,
                    "volunteer": volunteer_id,
                },
            )
            if row is None:
                return None
            await tx.execute(
                "INSERT INTO call_results (contact_id, task_id, volunteer_id, result,"
                " callback_at, called_at) VALUES (:contact, :task, :volunteer, :result,"
                " :callback, :now)",
                {
                    "contact": contact_id,
                    "task": row["task_id"],
                    "volunteer": volunteer_id,
                    "result": result,
                    "callback": to_iso(callback_at) if callback_at else None,
                    "now": stamp,
                },
            )
            if result in BARRED:
                await tx.execute(
                    "INSERT INTO do_not_call (phone, reason, added_by, added_at)"
                    " VALUES (:phone, :reason, :volunteer, :now) ON CONFLICT (phone) DO NOTHING",
                    {
                        "phone": row["phone"],
                        "reason": result,
                        "volunteer": volunteer_id,
                        "now": stamp,
                    },
                )
            return contact_of(row)

    async def release(self, volunteer_id: int, now: datetime) -> int:
        """The caller stops: what they hold goes back to the list at once."""
        async with self.db.transaction() as tx:
            return await release_held(tx, volunteer_id, now)

    async def summary(self, task_id: int) -> dict[str, int]:
        """Contacts per state and results per kind on a list, for organizers."""
        rows = await self.db.fetch_all(
            "SELECT state AS k, COUNT(*) AS n FROM call_contacts WHERE task_id = :task"
            " GROUP BY state UNION ALL SELECT 'result_' || result, COUNT(*) FROM call_results"
            " WHERE task_id = :task GROUP BY result",
            {"task": task_id},
        )
        return {r["k"]: r["n"] for r in rows}

    async def summaries(self, task_ids: Sequence[int]) -> dict[int, dict[str, int]]:
        """`summary` of several lists in one read (each list's may be empty)."""
        names, params = in_list("task", task_ids)
        rows = await self.db.fetch_all(
            f"SELECT task_id, state AS k, COUNT(*) AS n FROM call_contacts WHERE task_id IN"
            f" ({names}) GROUP BY task_id, state UNION ALL SELECT task_id, 'result_' || result,"
            f" COUNT(*) FROM call_results WHERE task_id IN ({names}) GROUP BY task_id, result",
            params,
        )
        found: dict[int, dict[str, int]] = {task_id: {} for task_id in task_ids}
        for r in rows:
            found[r["task_id"]][r["k"]] = r["n"]
        return found

    async def barred(self, phone: str) -> bool:
        found = await self.db.fetch_value(
            "SELECT 1 FROM do_not_call WHERE phone = :phone", {"phone": phone}
        )
        return found is not None

    async def purge_lists(self, closed_before: datetime) -> int:
        """Blank the names, numbers and notes of call lists of tasks closed long ago.

        Results stay for reports; the do-not-call list keeps its numbers, since honouring
        it is the point.
        """
        async with self.db.transaction() as tx:
            return await tx.execute(
                "UPDATE call_contacts SET name = '', notes = NULL,"
                " phone = 'erased:' || CAST(id AS TEXT), state = 'done', held_by = NULL,"
                " held_until = NULL, callback_at = NULL WHERE phone NOT LIKE 'erased:%'"
                " AND task_id IN (SELECT id FROM tasks WHERE status = 'closed'"
                " AND closed_at <= :before)",
                {"before": to_iso(closed_before)},
            )


# -- statements inside a larger transaction (erasure) ---------------------------------------


async def release_held(tx: Tx, volunteer_id: int, now: datetime) -> int:
    """What this caller holds goes back to the list; how many contacts."""
    return await tx.execute(
        "UPDATE call_contacts SET state = 'ready', held_by = NULL, held_until = NULL,"
        " updated_at = :now WHERE held_by = :volunteer AND state = 'held'",
        {"now": to_iso(now), "volunteer": volunteer_id},
    )


async def calls_made(tx: Tx, task_id: int, volunteer_id: int, since: datetime) -> int:
    """Calls this caller recorded on a list since a moment (inside a transaction)."""
    return int(
        await tx.fetch_value(
            "SELECT COUNT(*) FROM call_results WHERE task_id = :task"
            " AND volunteer_id = :volunteer AND called_at >= :since",
            {"task": task_id, "volunteer": volunteer_id, "since": to_iso(since)},
        )
        or 0
    )


async def erase_caller(tx: Tx, volunteer_id: int, now: datetime) -> None:
    """Erasure: held contacts go back to their list, results no longer name the caller."""
    await release_held(tx, volunteer_id, now)
    await tx.execute(
        "UPDATE call_results SET volunteer_id = NULL WHERE volunteer_id = :volunteer",
        {"volunteer": volunteer_id},
    )


async def export_calls(db: Backend, volunteer_id: int) -> list[dict[str, Any]]:
    """The calls a volunteer made, for /mydata."""
    rows = await db.fetch_all(
        "SELECT task_id, result, called_at FROM call_results WHERE volunteer_id = :volunteer"
        " ORDER BY called_at",
        {"volunteer": volunteer_id},
    )
    return [dict(row) for row in rows]
