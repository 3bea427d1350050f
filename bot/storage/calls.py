"""Phone banking: call lists, who holds which contact, call results, numbers not to call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiosqlite

from bot.clock import to_iso
from bot.storage.db import Database

RESULTS = (
    "supporter",
    "undecided",
    "opposed",
    "no_answer",
    "wrong_number",
    "callback",
    "do_not_call",
)
# Results after which the number is never called again, on any list.
BARRED = ("wrong_number", "do_not_call")


@dataclass(frozen=True, slots=True)
class ContactRow:
    """One valid line of a call list, ready to store."""

    line: int
    name: str
    phone: str
    notes: str


@dataclass(frozen=True, slots=True)
class Contact:
    """A person to call, as the caller holding it sees it."""

    id: int
    task_id: int
    name: str
    phone: str
    notes: str
    state: str
    held_by: int | None
    held_until: str | None
    callback_at: str | None
    attempts: int

    @classmethod
    def from_row(cls, row: aiosqlite.Row) -> Contact:
        return cls(
            row["id"],
            row["task_id"],
            row["name"],
            row["phone"],
            row["notes"] or "",
            row["state"],
            row["held_by"],
            row["held_until"],
            row["callback_at"],
            row["attempts"],
        )


class CallRepository:
    """Reads and writes call lists; every hold is one conditional write."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add_contacts(self, task_id: int, rows: Sequence[ContactRow], now: datetime) -> int:
        """Store a whole list in one transaction; a number already on it is not added twice."""
        async with self.db.raw_transaction() as tx:
            before = tx.total_changes
            await tx.executemany(
                "INSERT INTO call_contacts (task_id, name, phone, notes, line, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (task_id, phone) DO NOTHING",
                [(task_id, r.name, r.phone, r.notes or None, r.line, to_iso(now)) for r in rows],
            )
            return tx.total_changes - before

    async def held_by(self, task_id: int, volunteer_id: int, now: datetime) -> Contact | None:
        """The contact this caller holds on this list, if the hold is still alive."""
        row = await self.db.fetch_one(
            "SELECT * FROM call_contacts WHERE task_id = ? AND held_by = ? AND state = 'held'"
            " AND held_until > ? ORDER BY id LIMIT 1",
            (task_id, volunteer_id, to_iso(now)),
        )
        return Contact.from_row(row) if row else None

    async def hold_next(
        self, task_id: int, volunteer_id: int, now: datetime, hold: timedelta
    ) -> Contact | None:
        """Hold the next callable contact for this caller; None when the list is exhausted.

        Callable: fresh, a hold that lapsed (abandoned), or a call-back whose time has come —
        and never a number on the do-not-call list. The pick and the hold are one UPDATE, so
        two callers never get the same person.
        """
        stamp = to_iso(now)
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "UPDATE call_contacts SET state = 'held', held_by = ?, held_until = ?,"
                " updated_at = ? WHERE id = (SELECT c.id FROM call_contacts c"
                " WHERE c.task_id = ? AND (c.state = 'ready'"
                " OR (c.state = 'held' AND c.held_until <= ?)"
                " OR (c.state = 'callback' AND c.callback_at <= ?))"
                " AND NOT EXISTS (SELECT 1 FROM do_not_call d WHERE d.phone = c.phone)"
                " ORDER BY c.state != 'callback', c.id LIMIT 1) RETURNING *",
                (volunteer_id, to_iso(now + hold), stamp, task_id, stamp, stamp),
            )
            row = await cursor.fetchone()
            return Contact.from_row(row) if row else None

    async def get(self, contact_id: int) -> Contact | None:
        row = await self.db.fetch_one("SELECT * FROM call_contacts WHERE id = ?", (contact_id,))
        return Contact.from_row(row) if row else None

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
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "UPDATE call_contacts SET state = ?, held_by = NULL, held_until = NULL,"
                " callback_at = ?, last_result = ?, attempts = attempts + 1, updated_at = ?"
                " WHERE id = ? AND held_by = ? AND state = 'held' RETURNING *",
                (
                    state,
                    to_iso(callback_at) if callback_at and state == "callback" else None,
                    result,
                    stamp,
                    contact_id,
                    volunteer_id,
                ),
            )
            row = await cursor.fetchone()
            if row is None:
                return None
            await tx.execute(
                "INSERT INTO call_results (contact_id, task_id, volunteer_id, result,"
                " callback_at, called_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    contact_id,
                    row["task_id"],
                    volunteer_id,
                    result,
                    to_iso(callback_at) if callback_at else None,
                    stamp,
                ),
            )
            if result in BARRED:
                await tx.execute(
                    "INSERT INTO do_not_call (phone, reason, added_by, added_at)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (phone) DO NOTHING",
                    (row["phone"], result, volunteer_id, stamp),
                )
            return Contact.from_row(row)

    async def release(self, volunteer_id: int, now: datetime) -> int:
        """The caller stops: what they hold goes back to the list at once."""
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "UPDATE call_contacts SET state = 'ready', held_by = NULL, held_until = NULL,"
                " updated_at = ? WHERE held_by = ? AND state = 'held'",
                (to_iso(now), volunteer_id),
            )
            return cursor.rowcount

    async def calls_made(self, task_id: int, volunteer_id: int, since: str) -> int:
        """Calls this caller recorded on a list since a moment (ISO)."""
        return int(
            await self.db.fetch_value(
                "SELECT COUNT(*) FROM call_results WHERE task_id = ? AND volunteer_id = ?"
                " AND called_at >= ?",
                (task_id, volunteer_id, since),
            )
            or 0
        )

    async def summary(self, task_id: int) -> dict[str, int]:
        """Contacts per state and results per kind on a list, for organizers."""
        rows = await self.db.fetch_all(
            "SELECT state AS k, COUNT(*) AS n FROM call_contacts WHERE task_id = ? GROUP BY state"
            " UNION ALL SELECT 'result_' || result, COUNT(*) FROM call_results"
            " WHERE task_id = ? GROUP BY result",
            (task_id, task_id),
        )
        return {r["k"]: r["n"] for r in rows}

    async def barred(self, phone: str) -> bool:
        found = await self.db.fetch_value("SELECT 1 FROM do_not_call WHERE phone = ?", (phone,))
        return found is not None
