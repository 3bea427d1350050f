"""Chat state kept across updates: multi-step flows in progress (one per chat), so they
survive restarts, and the keys of updates already handled, so a replay changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from bot.clock import from_iso, to_iso
from bot.domain.conversation import Conversation
from bot.storage.backend import Backend, Tx

__all__ = ["FLOW_LIFETIME", "ChatState", "Conversation", "ConversationRepository", "UpdateLog"]

FLOW_LIFETIME = timedelta(days=2)


class ChatState:
    """What the router reads before handling an update, in one round trip."""

    def __init__(self, db: Backend) -> None:
        self.db = db

    async def read(
        self, key: str, channel: str, chat_id: str, now: datetime, *, flow: bool
    ) -> tuple[bool, Conversation | None]:
        """Whether update `key` was handled already, and the chat's flow in progress (read
        only when `flow`: groups have none)."""
        row = await self.db.fetch_one(
            "SELECT EXISTS (SELECT 1 FROM processed_updates WHERE key = :key) AS seen,"
            " c.flow, c.step, c.data, c.expires_at"
            " FROM (SELECT 1) AS one LEFT JOIN conversations c"
            " ON :flow AND c.channel = :channel AND c.chat_id = :chat",
            {"key": key, "channel": channel, "chat": chat_id, "flow": flow},
        )
        assert row is not None
        seen = bool(row["seen"])
        if row["flow"] is None or from_iso(row["expires_at"]) <= now:
            return seen, None
        return seen, Conversation(row["flow"], row["step"], json.loads(row["data"]))


class ConversationRepository:
    """Stores one pending conversation per (channel, chat)."""

    def __init__(self, db: Backend) -> None:
        self.db = db

    async def get(self, channel: str, chat_id: str, now: datetime) -> Conversation | None:
        row = await self.db.fetch_one(
            "SELECT flow, step, data, expires_at FROM conversations"
            " WHERE channel = :channel AND chat_id = :chat",
            {"channel": channel, "chat": chat_id},
        )
        if row is None or from_iso(row["expires_at"]) <= now:
            return None
        return Conversation(row["flow"], row["step"], json.loads(row["data"]))

    @staticmethod
    def put(tx: Tx, channel: str, chat_id: str, conversation: Conversation, now: datetime) -> None:
        """Save the chat's flow with the transaction's next statement (or its commit)."""
        tx.later(
            "INSERT INTO conversations (channel, chat_id, flow, step, data, expires_at,"
            " updated_at) VALUES (:channel, :chat, :flow, :step, :data, :expires, :now)"
            " ON CONFLICT (channel, chat_id) DO UPDATE SET flow = excluded.flow,"
            " step = excluded.step, data = excluded.data, expires_at = excluded.expires_at,"
            " updated_at = excluded.updated_at",
            {
                "channel": channel,
                "chat": chat_id,
                "flow": conversation.flow,
                "step": conversation.step,
                "data": json.dumps(conversation.data, ensure_ascii=False),
                "expires": to_iso(now + FLOW_LIFETIME),
                "now": to_iso(now),
            },
        )

    @staticmethod
    def delete(tx: Tx, channel: str, chat_id: str) -> None:
        """End the chat's flow with the transaction's next statement (or its commit)."""
        tx.later(
            "DELETE FROM conversations WHERE channel = :channel AND chat_id = :chat",
            {"channel": channel, "chat": chat_id},
        )

    async def purge_expired(self, now: datetime) -> int:
        async with self.db.transaction() as tx:
            return await tx.execute(
                "DELETE FROM conversations WHERE expires_at <= :now", {"now": to_iso(now)}
            )

    async def of_volunteer(self, volunteer_id: int) -> list[dict[str, Any]]:
        """A volunteer's flows in progress, for /mydata."""
        rows = await self.db.fetch_all(
            "SELECT c.channel, c.flow, c.step, c.data, c.updated_at FROM conversations c"
            " JOIN identities i ON i.channel = c.channel AND i.chat_id = c.chat_id"
            " WHERE i.volunteer_id = :id",
            {"id": volunteer_id},
        )
        return [
            {
                "channel": r["channel"],
                "flow": r["flow"],
                "step": r["step"],
                "data": json.loads(r["data"] or "{}"),
                "updated_at": r["updated_at"],
            }
            for r in rows
        ]

    @staticmethod
    async def erase(tx: Tx, chats: Iterable[tuple[str, str]]) -> None:
        """Forget the flows in progress in these chats (inside the erasure transaction)."""
        await tx.execute_many(
            "DELETE FROM conversations WHERE channel = :channel AND chat_id = :chat",
            [{"channel": channel, "chat": chat} for channel, chat in chats],
        )


# A key's ending, matched without LIKE's wildcards (a sender tag may hold '_').
_ENDS_WITH = "key LIKE 'signal:%' AND substr(key, length(key) - :length + 1) = :ending"


class UpdateLog:
    """Remembers handled update keys so a replayed update changes nothing."""

    def __init__(self, db: Backend) -> None:
        self.db = db

    @staticmethod
    def note(tx: Tx, key: str, now: datetime) -> None:
        """Note update `key` as handled, with the transaction's next statement (or its
        commit): a Conflict there means it was handled already (a replay, by another
        process meanwhile), and the transaction rolls back."""
        tx.later(
            "INSERT INTO processed_updates (key, seen_at) VALUES (:key, :now)",
            {"key": key, "now": to_iso(now)},
        )

    async def forget_before(self, moment: datetime) -> int:
        async with self.db.transaction() as tx:
            return await tx.execute(
                "DELETE FROM processed_updates WHERE seen_at < :moment",
                {"moment": to_iso(moment)},
            )

    async def signal_keys_ending(self, endings: Iterable[str]) -> list[dict[str, str]]:
        """Signal update keys (and when they were seen) ending with one of `endings`."""
        keys: list[dict[str, str]] = []
        for ending in endings:
            rows = await self.db.fetch_all(
                f"SELECT key, seen_at FROM processed_updates WHERE {_ENDS_WITH} ORDER BY seen_at",
                {"length": len(ending), "ending": ending},
            )
            keys += [{"key": row["key"], "seen_at": row["seen_at"]} for row in rows]
        return keys

    @staticmethod
    async def erase_signal_keys(tx: Tx, endings: Iterable[str]) -> None:
        """Forget Signal update keys ending with one of `endings` (inside the erasure
        transaction): they name the sender."""
        for ending in endings:
            await tx.execute(
                f"DELETE FROM processed_updates WHERE {_ENDS_WITH}",
                {"length": len(ending), "ending": ending},
            )
