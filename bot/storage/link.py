"""One volunteer on several messengers: link codes, identities, the preferred messenger.

This module owns `link_codes`; the identities a code joins are written by
`bot/storage/volunteers.py`, inside the same transaction.
"""

from __future__ import annotations

from datetime import datetime

from bot.clock import to_iso
from bot.domain.volunteers import Address, Redeemed
from bot.domain.volunteers import Identity as LinkedIdentity
from bot.storage.backend import Backend
from bot.storage.volunteers import VolunteerRepository

__all__ = ["LinkRepository", "LinkedIdentity", "Redeemed"]


class LinkRepository:
    """Link codes and the identities they join."""

    def __init__(self, db: Backend) -> None:
        self.db = db

    async def create_code(
        self, volunteer_id: int, channel: str, code_hash: str, expires_at: datetime, now: datetime
    ) -> None:
        """Store a new code for this volunteer; any earlier code stops working."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "DELETE FROM link_codes WHERE volunteer_id = :id", {"id": volunteer_id}
            )
            await tx.execute(
                "INSERT INTO link_codes (code_hash, volunteer_id, channel, expires_at, created_at)"
                " VALUES (:hash, :id, :channel, :expires, :now)",
                {
                    "hash": code_hash,
                    "id": volunteer_id,
                    "channel": channel,
                    "expires": to_iso(expires_at),
                    "now": to_iso(now),
                },
            )

    async def redeem(
        self, code_hash: str, channel: str, user_id: str, chat_id: str, now: datetime
    ) -> tuple[Redeemed, int | None]:
        """Attach this identity to the code's volunteer, all or nothing; the code is used up.

        An identity that is itself a volunteer still in onboarding (nothing else attached)
        is moved over and that empty record removed; one with real data is refused.
        """
        async with self.db.transaction() as tx:
            code = await tx.fetch_one(
                "SELECT volunteer_id, channel FROM link_codes"
                " WHERE code_hash = :hash AND expires_at > :now",
                {"hash": code_hash, "now": to_iso(now)},
            )
            if code is None:
                return Redeemed.INVALID, None
            target = int(code["volunteer_id"])
            if code["channel"] == channel:
                return Redeemed.SAME_CHANNEL, target
            holder = await VolunteerRepository.identity_holder(tx, channel, user_id)
            used_up = ("DELETE FROM link_codes WHERE code_hash = :hash", {"hash": code_hash})
            if holder is not None and holder[0] == target:
                await tx.execute(*used_up)
                return Redeemed.ALREADY, target
            if holder is not None and (holder[1] != "onboarding" or holder[2] > 1):
                return Redeemed.TAKEN, target
            await VolunteerRepository.move_identity(
                tx,
                target,
                (channel, user_id, chat_id),
                holder[0] if holder is not None else None,
                now,
            )
            await tx.execute(*used_up)
            return Redeemed.LINKED, target

    async def identities(self, volunteer_id: int) -> list[LinkedIdentity]:
        rows = await self.db.fetch_all(
            "SELECT channel, user_id, chat_id, preferred, unreachable_at FROM identities"
            " WHERE volunteer_id = :id ORDER BY preferred DESC, created_at",
            {"id": volunteer_id},
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
        async with self.db.transaction() as tx:
            return await VolunteerRepository.prefer(tx, volunteer_id, channel)

    async def purge_expired(self, now: datetime) -> int:
        async with self.db.transaction() as tx:
            return await tx.execute(
                "DELETE FROM link_codes WHERE expires_at <= :now", {"now": to_iso(now)}
            )

    async def admin_addresses(self) -> list[Address]:
        """Where volunteers holding the admin role can be reached, preferred first."""
        rows = await self.db.fetch_all(
            "SELECT DISTINCT i.channel, i.chat_id, i.volunteer_id, i.preferred"
            " FROM identities i JOIN roles r ON r.volunteer_id = i.volunteer_id"
            " WHERE r.role = 'admin' AND i.unreachable_at IS NULL"
            " ORDER BY i.volunteer_id, i.preferred DESC",
        )
        return [Address(r["channel"], r["chat_id"], r["volunteer_id"]) for r in rows]
