"""The duty roster: hand-set switches (duty) and weekly slots (duty_slots)."""

from __future__ import annotations

from datetime import datetime

from bot.clock import from_iso, to_iso
from bot.domain.duty import DutySlot, DutyState, DutySwitch
from bot.storage.backend import Backend, Tx


class DutyRepository:
    """Reads and writes who is on duty, by hand and every week."""

    def __init__(self, db: Backend) -> None:
        self.db = db

    async def switch(
        self, volunteer_id: int, state: DutyState, until: datetime | None, now: datetime
    ) -> None:
        """Switch someone on or off duty (until `until`, or until switched again)."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO duty (volunteer_id, state, until, since)"
                " VALUES (:volunteer, :state, :until, :since)"
                " ON CONFLICT (volunteer_id) DO UPDATE SET state = excluded.state,"
                " until = excluded.until, since = excluded.since",
                {
                    "volunteer": volunteer_id,
                    "state": state.value,
                    "until": to_iso(until) if until else None,
                    "since": to_iso(now),
                },
            )

    async def clear_switch(self, volunteer_id: int) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "DELETE FROM duty WHERE volunteer_id = :volunteer", {"volunteer": volunteer_id}
            )

    async def switches(self) -> list[DutySwitch]:
        rows = await self.db.fetch_all("SELECT volunteer_id, state, until FROM duty")
        return [
            DutySwitch(
                r["volunteer_id"],
                DutyState(r["state"]),
                from_iso(r["until"]) if r["until"] else None,
            )
            for r in rows
        ]

    async def slots(self) -> list[DutySlot]:
        rows = await self.db.fetch_all(
            "SELECT volunteer_id, weekday, start_minute, end_minute FROM duty_slots"
            " ORDER BY weekday, start_minute, volunteer_id"
        )
        return [
            DutySlot(r["volunteer_id"], r["weekday"], r["start_minute"], r["end_minute"])
            for r in rows
        ]

    async def add_slot(self, slot: DutySlot) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO duty_slots (volunteer_id, weekday, start_minute, end_minute)"
                " VALUES (:volunteer, :weekday, :start, :end)"
                " ON CONFLICT (volunteer_id, weekday, start_minute)"
                " DO UPDATE SET end_minute = excluded.end_minute",
                {
                    "volunteer": slot.volunteer_id,
                    "weekday": slot.weekday,
                    "start": slot.start_minute,
                    "end": slot.end_minute,
                },
            )

    async def clear_slots(self, volunteer_id: int) -> int:
        async with self.db.transaction() as tx:
            return await tx.execute(
                "DELETE FROM duty_slots WHERE volunteer_id = :volunteer",
                {"volunteer": volunteer_id},
            )

    async def leave(self, volunteer_id: int) -> None:
        """Off the roster altogether (they left the comms team): switch and slots."""
        params = {"volunteer": volunteer_id}
        async with self.db.transaction() as tx:
            await tx.execute("DELETE FROM duty WHERE volunteer_id = :volunteer", params)
            await tx.execute("DELETE FROM duty_slots WHERE volunteer_id = :volunteer", params)


async def erase_from_duty(tx: Tx, volunteer_id: int) -> None:
    """Take a volunteer off the roster for good."""
    params = {"volunteer": volunteer_id}
    await tx.execute("DELETE FROM duty WHERE volunteer_id = :volunteer", params)
    await tx.execute("DELETE FROM duty_slots WHERE volunteer_id = :volunteer", params)
