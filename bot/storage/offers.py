"""Offers: which task was proposed to whom unprompted, and what they answered."""

from __future__ import annotations

from datetime import datetime

from bot.clock import to_iso
from bot.storage.backend import Backend, Tx

# An offer still waiting for an answer: the volunteer may yet take it or set it aside.
_PENDING = "state IN ('sent', 'later')"


class OfferRepository:
    """Writes `offers` (the task funnel counts them)."""

    def __init__(self, db: Backend) -> None:
        self.db = db

    async def record(self, task_id: int, volunteer_id: int, now: datetime) -> bool:
        """Remember an offer; False if this volunteer was already offered the task."""
        async with self.db.transaction() as tx:
            added = await tx.execute(
                "INSERT INTO offers (task_id, volunteer_id, offered_at)"
                " VALUES (:task, :volunteer, :now) ON CONFLICT (task_id, volunteer_id) DO NOTHING",
                {"task": task_id, "volunteer": volunteer_id, "now": to_iso(now)},
            )
            return added == 1


async def answer_offer(tx: Tx, task_id: int, volunteer_id: int, state: str, now: datetime) -> None:
    """The volunteer answered the task (accepted, skipped, later): its pending offer says so."""
    await tx.execute(
        f"UPDATE offers SET state = :state, answered_at = :now WHERE task_id = :task"
        f" AND volunteer_id = :volunteer AND {_PENDING}",
        {"state": state, "now": to_iso(now), "task": task_id, "volunteer": volunteer_id},
    )


async def expire_offers(tx: Tx, task_id: int, now: datetime) -> None:
    """The task closed: offers nobody answered expire."""
    await tx.execute(
        f"UPDATE offers SET state = 'expired', answered_at = :now WHERE task_id = :task"
        f" AND {_PENDING}",
        {"now": to_iso(now), "task": task_id},
    )
