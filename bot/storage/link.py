"""One volunteer on several messengers: link codes, identities, the preferred messenger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from bot.clock import to_iso
from bot.storage.db import Database
from bot.storage.volunteers import Address


class Redeemed(Enum):
    """How typing a link code ended."""

    LINKED = "linked"
    ALREADY = "already"  # this identity already belonged to that volunteer
    INVALID = "invalid"  # unknown, used or expired
    SAME_CHANNEL = "same_channel"  # typed on the messenger it was asked for
    TAKEN = "taken"  # this identity is a volunteer of its own, with data
    LOCKED = "locked"  # too many wrong codes from this identity lately


@dataclass(frozen=True, slots=True)
class LinkedIdentity:
    """One of a volunteer's messenger accounts."""

    channel: str
    user_id: str
    chat_id: str
    preferred: bool
    unreachable: bool


class LinkRepository:
    """Link codes and the identities they join."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create_code(
        self, volunteer_id: int, channel: str, code_hash: str, expires_at: datetime, now: datetime
    ) -> None:
        """Store a new code for this volunteer; any earlier code stops working."""
        async with self.db.raw_transaction() as tx:
            await tx.execute("DELETE FROM link_codes WHERE volunteer_id = ?", (volunteer_id,))
            await tx.execute(
                "INSERT INTO link_codes (code_hash, volunteer_id, channel, expires_at, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (code_hash, volunteer_id, channel, to_iso(expires_at), to_iso(now)),
            )

    async def redeem(
        self, code_hash: str, channel: str, user_id: str, chat_id: str, now: datetime
    ) -> tuple[Redeemed, int | None]:
        """Attach this identity to the code's volunteer, all or nothing; the code is used up.

        An identity that is itself a volunteer still in onboarding (nothing else attached)
        is moved over and that empty record removed; one with real data is refused.
        """
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "SELECT volunteer_id, channel FROM link_codes"
                " WHERE code_hash = ? AND expires_at > ?",
                (code_hash, to_iso(now)),
            )
            code = await cursor.fetchone()
            if code is None:
                return Redeemed.INVALID, None
            target = int(code["volunteer_id"])
            if code["channel"] == channel:
                return Redeemed.SAME_CHANNEL, target
            cursor = await tx.execute(
                "SELECT i.volunteer_id, v.status,"
                " (SELECT COUNT(*) FROM identities o WHERE o.volunteer_id = i.volunteer_id) AS n"
                " FROM identities i JOIN volunteers v ON v.id = i.volunteer_id"
                " WHERE i.channel = ? AND i.user_id = ?",
                (channel, user_id),
            )
            existing = await cursor.fetchone()
            if existing is not None and existing["volunteer_id"] == target:
                await tx.execute("DELETE FROM link_codes WHERE code_hash = ?", (code_hash,))
                return Redeemed.ALREADY, target
            if existing is not None and (existing["status"] != "onboarding" or existing["n"] > 1):
                return Redeemed.TAKEN, target
            # A volunteer has one account per messenger: a new one replaces the old one.
            cursor = await tx.execute(
                "DELETE FROM identities WHERE volunteer_id = ? AND channel = ? RETURNING preferred",
                (target, channel),
            )
            replaced = await cursor.fetchall()
            preferred = int(any(row["preferred"] for row in replaced))
            if existing is not None:
                await tx.execute(
                    "DELETE FROM identities WHERE channel = ? AND user_id = ?", (channel, user_id)
                )
                await tx.execute(
                    "DELETE FROM volunteers WHERE id = ? AND status = 'onboarding'",
                    (existing["volunteer_id"],),
                )
            await tx.execute(
                "INSERT INTO identities (channel, user_id, volunteer_id, chat_id, preferred,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (channel, user_id, target, chat_id, preferred, to_iso(now)),
            )
            await tx.execute("DELETE FROM link_codes WHERE code_hash = ?", (code_hash,))
            return Redeemed.LINKED, target

    async def identities(self, volunteer_id: int) -> list[LinkedIdentity]:
        rows = await self.db.fetch_all(
            "SELECT channel, user_id, chat_id, preferred, unreachable_at FROM identities"
            " WHERE volunteer_id = ? ORDER BY preferred DESC, created_at",
            (volunteer_id,),
        )
        return [
            LinkedIdentity(
                r["channel"],
                r["user_id"],
                r["chat_id"],
                bool(r["preferred"]),
                r["unreachable_at"] is not None,
            )
            for r in rows
        ]

    async def prefer(self, volunteer_id: int, channel: str) -> bool:
        """Make `channel` the one that receives offers and broadcasts; False if not linked."""
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "SELECT 1 FROM identities WHERE volunteer_id = ? AND channel = ?",
                (volunteer_id, channel),
            )
            if await cursor.fetchone() is None:
                return False
            await tx.execute(
                "UPDATE identities SET preferred = CASE WHEN channel = ? THEN 1 ELSE 0 END"
                " WHERE volunteer_id = ?",
                (channel, volunteer_id),
            )
            return True

    async def purge_expired(self, now: datetime) -> int:
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "DELETE FROM link_codes WHERE expires_at <= ?", (to_iso(now),)
            )
            return cursor.rowcount

    async def admin_addresses(self) -> list[Address]:
        """Where volunteers holding the admin role can be reached, preferred first."""
        rows = await self.db.fetch_all(
            "SELECT DISTINCT i.channel, i.chat_id, i.volunteer_id, i.preferred"
            " FROM identities i JOIN roles r ON r.volunteer_id = i.volunteer_id"
            " WHERE r.role = 'admin' AND i.unreachable_at IS NULL"
            " ORDER BY i.volunteer_id, i.preferred DESC",
        )
        return [Address(r["channel"], r["chat_id"], r["volunteer_id"]) for r in rows]
