"""The audit log: every organizer action that reads or changes people's data."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock, to_iso
from bot.storage.db import Database


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """Who did what, to whom, when."""

    id: int
    actor_id: int | None
    action: str
    subject: str
    at: str


class AuditLog:
    """Appends and lists audit entries."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def record(self, actor_id: int | None, action: str, subject: str = "") -> None:
        async with self.db.raw_transaction() as tx:
            await tx.execute(
                "INSERT INTO audit_log (actor_id, action, subject, at) VALUES (?, ?, ?, ?)",
                (actor_id, action, subject, to_iso(self.clock.now())),
            )

    async def recent(self, limit: int = 30) -> list[AuditEntry]:
        rows = await self.db.fetch_all(
            "SELECT id, actor_id, action, subject, at FROM audit_log ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        return [
            AuditEntry(r["id"], r["actor_id"], r["action"], r["subject"], r["at"]) for r in rows
        ]
