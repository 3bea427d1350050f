"""Multi-step flows in progress, one per chat, stored so they survive restarts."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.clock import from_iso, to_iso
from bot.storage.db import Database

FLOW_LIFETIME = timedelta(days=2)


@dataclass(frozen=True, slots=True)
class Conversation:
    """Where a chat stands in a flow: its name, its step, what was answered so far."""

    flow: str
    step: str
    data: dict[str, Any] = field(default_factory=dict)


class ConversationRepository:
    """Stores one pending conversation per (channel, chat)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, channel: str, chat_id: str, now: datetime) -> Conversation | None:
        row = await self.db.fetch_one(
            "SELECT flow, step, data, expires_at FROM conversations"
            " WHERE channel = ? AND chat_id = ?",
            (channel, chat_id),
        )
        if row is None or from_iso(row["expires_at"]) <= now:
            return None
        return Conversation(row["flow"], row["step"], json.loads(row["data"]))

    async def put(
        self, channel: str, chat_id: str, conversation: Conversation, now: datetime
    ) -> None:
        async with self.db.raw_transaction() as tx:
            await tx.execute(
                "INSERT INTO conversations (channel, chat_id, flow, step, data, expires_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (channel, chat_id) DO UPDATE SET flow = excluded.flow,"
                " step = excluded.step, data = excluded.data, expires_at = excluded.expires_at,"
                " updated_at = excluded.updated_at",
                (
                    channel,
                    chat_id,
                    conversation.flow,
                    conversation.step,
                    json.dumps(conversation.data, ensure_ascii=False),
                    to_iso(now + FLOW_LIFETIME),
                    to_iso(now),
                ),
            )

    async def delete(self, channel: str, chat_id: str) -> bool:
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "DELETE FROM conversations WHERE channel = ? AND chat_id = ?", (channel, chat_id)
            )
            return cursor.rowcount > 0

    async def purge_expired(self, now: datetime) -> int:
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "DELETE FROM conversations WHERE expires_at <= ?", (to_iso(now),)
            )
            return cursor.rowcount


class UpdateLog:
    """Remembers handled update keys so a replayed update changes nothing."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def first_time(self, key: str, now: datetime) -> bool:
        """True the first time a key is seen, False on every replay."""
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "INSERT INTO processed_updates (key, seen_at) VALUES (?, ?)"
                " ON CONFLICT (key) DO NOTHING",
                (key, to_iso(now)),
            )
            return cursor.rowcount == 1

    async def forget_before(self, moment: datetime) -> int:
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "DELETE FROM processed_updates WHERE seen_at < ?", (to_iso(moment),)
            )
            return cursor.rowcount
