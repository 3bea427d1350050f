"""Updates acknowledged to a messenger before they were handled, kept until they are: a
process killed meanwhile handles them at its next start (the update log drops a second
handling of one that was)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from bot.clock import to_iso
from bot.storage.backend import Backend, in_list


class KeptUpdates:
    """The kept_updates table: a messenger's updates as it sent them (JSON), in order."""

    def __init__(self, db: Backend) -> None:
        self.db = db

    async def keep(self, channel: str, payloads: Sequence[str], now: datetime) -> list[int]:
        """Keep these updates, in one transaction; their rows' ids, in the same order."""
        ids = []
        async with self.db.transaction() as tx:
            for payload in payloads:
                ids.append(
                    await tx.insert_returning_id(
                        "INSERT INTO kept_updates (channel, payload, kept_at)"
                        " VALUES (:channel, :payload, :now)",
                        {"channel": channel, "payload": payload, "now": to_iso(now)},
                    )
                )
        return ids

    async def kept(self, channel: str) -> list[tuple[int, str]]:
        """The updates still kept for a messenger, in the order they were kept."""
        rows = await self.db.fetch_all(
            "SELECT id, payload FROM kept_updates WHERE channel = :channel ORDER BY id",
            {"channel": channel},
        )
        return [(int(r["id"]), str(r["payload"])) for r in rows]

    async def drop(self, ids: Iterable[int]) -> None:
        """Forget updates once handled."""
        placeholders, params = in_list("id", ids)
        async with self.db.transaction() as tx:
            await tx.execute(f"DELETE FROM kept_updates WHERE id IN ({placeholders})", params)
