"""The numbered choices last shown in each chat, for messengers without buttons."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from bot.clock import from_iso, to_iso
from bot.storage.backend import Backend, Tx
from bot.storage.personal_data import register_personal_data

# After this long, a bare "2" is just text again.
SHOWN_LIFETIME = timedelta(days=2)


class ShownChoicesRepository:
    """Remembers, per chat, what the numbers and letters on screen stand for.

    What is kept is the transport's own description (bot/transports/numbered.py, `Board`),
    as JSON; a pending location or contact request goes in its own column.
    """

    def __init__(self, db: Backend) -> None:
        self.db = db

    async def get(self, channel: str, chat_id: str, now: datetime) -> tuple[Any, str]:
        """What the chat has on screen, and the request pending; ([], "") if nothing."""
        row = await self.db.fetch_one(
            "SELECT choices, request, updated_at FROM numbered_choices"
            " WHERE channel = :channel AND chat_id = :chat",
            {"channel": channel, "chat": chat_id},
        )
        if row is None or from_iso(row["updated_at"]) + SHOWN_LIFETIME <= now:
            return [], ""
        return json.loads(row["choices"]), str(row["request"] or "")

    async def put(
        self, channel: str, chat_id: str, shown: Any, request: str, now: datetime
    ) -> None:
        """Replace what the chat has on screen; nothing shown and no request forgets it."""
        async with self.db.transaction() as tx:
            if not shown and not request:
                await tx.execute(
                    "DELETE FROM numbered_choices WHERE channel = :channel AND chat_id = :chat",
                    {"channel": channel, "chat": chat_id},
                )
                return
            await tx.execute(
                "INSERT INTO numbered_choices (channel, chat_id, choices, request, updated_at)"
                " VALUES (:channel, :chat, :choices, :request, :now)"
                " ON CONFLICT (channel, chat_id) DO UPDATE SET"
                " choices = excluded.choices, request = excluded.request,"
                " updated_at = excluded.updated_at",
                {
                    "channel": channel,
                    "chat": chat_id,
                    "choices": json.dumps(shown, ensure_ascii=False),
                    "request": request,
                    "now": to_iso(now),
                },
            )

    async def purge_expired(self, now: datetime) -> int:
        async with self.db.transaction() as tx:
            return await tx.execute(
                "DELETE FROM numbered_choices WHERE updated_at <= :before",
                {"before": to_iso(now - SHOWN_LIFETIME)},
            )


async def _export_shown(db: Backend, volunteer_id: int) -> list[dict[str, object]]:
    rows = await db.fetch_all(
        "SELECT n.channel, n.choices FROM numbered_choices n JOIN identities i"
        " ON i.channel = n.channel AND i.chat_id = n.chat_id WHERE i.volunteer_id = :id",
        {"id": volunteer_id},
    )
    return [
        {"messenger": r["channel"], "choices_on_screen": json.loads(r["choices"])} for r in rows
    ]


async def _erase_shown(tx: Tx, volunteer_id: int, now: datetime) -> None:
    # The labels can quote what the person typed; identities still exist at this point.
    await tx.execute(
        "DELETE FROM numbered_choices WHERE EXISTS (SELECT 1 FROM identities i"
        " WHERE i.volunteer_id = :id AND i.channel = numbered_choices.channel"
        " AND i.chat_id = numbered_choices.chat_id)",
        {"id": volunteer_id},
    )


register_personal_data("numbered_choices", _export_shown, _erase_shown)
