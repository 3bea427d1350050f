"""The audit log: every organizer action that reads or changes people's data."""

from __future__ import annotations

from bot.clock import Clock, from_iso, to_iso
from bot.domain.volunteers import AuditEntry
from bot.storage.backend import Backend

__all__ = ["AuditEntry", "AuditLog"]


class AuditLog:
    """Appends and lists audit entries."""

    def __init__(self, db: Backend, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def record(self, actor_id: int | None, action: str, subject: str = "") -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO audit_log (actor_id, action, subject, at)"
                " VALUES (:actor, :action, :subject, :now)",
                {
                    "actor": actor_id,
                    "action": action,
                    "subject": subject,
                    "now": to_iso(self.clock.now()),
                },
            )

    async def recent(self, limit: int = 30) -> list[AuditEntry]:
        rows = await self.db.fetch_all(
            "SELECT id, actor_id, action, subject, at FROM audit_log ORDER BY id DESC LIMIT :limit",
            {"limit": limit},
        )
        return [
            AuditEntry(r["id"], r["actor_id"], r["action"], r["subject"], from_iso(r["at"]))
            for r in rows
        ]
