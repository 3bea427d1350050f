"""Roles: who organizes which team, who is on the comms team, who administers Relais.

The only writer of the `roles` table. Features that change roles together with their own
tables (duty rosters end with the comms role) call the `*_in` methods inside their own
transaction.
"""

from __future__ import annotations

from datetime import datetime

from bot.clock import Clock, to_iso
from bot.domain.volunteers import Role
from bot.storage.backend import Backend, Tx


class RoleRepository:
    """Grants, revokes and lists roles; `team_id` None means everywhere."""

    def __init__(self, db: Backend, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def of(self, volunteer_id: int) -> tuple[Role, ...]:
        """Every role a volunteer holds, by role then team."""
        rows = await self.db.fetch_all(
            "SELECT role, team_id FROM roles WHERE volunteer_id = :id ORDER BY role, team_id",
            {"id": volunteer_id},
        )
        return tuple(Role(row["role"], row["team_id"]) for row in rows)

    async def holders(self, role: str) -> list[int]:
        """Who holds `role` (on any team), by id."""
        rows = await self.db.fetch_all(
            "SELECT DISTINCT volunteer_id FROM roles WHERE role = :role ORDER BY volunteer_id",
            {"role": role},
        )
        return [r["volunteer_id"] for r in rows]

    async def grant(
        self, volunteer_id: int, role: str, team_id: int | None, granted_by: int | None
    ) -> bool:
        """Give a role; False if they already held it."""
        async with self.db.transaction() as tx:
            return await self.grant_in(
                tx, volunteer_id, role, team_id, granted_by, self.clock.now()
            )

    async def revoke(self, volunteer_id: int, role: str, team_id: int | None) -> bool:
        """Take a role away; False if they did not hold it."""
        async with self.db.transaction() as tx:
            return await self.revoke_in(tx, volunteer_id, role, team_id)

    @staticmethod
    async def grant_in(
        tx: Tx,
        volunteer_id: int,
        role: str,
        team_id: int | None,
        granted_by: int | None,
        now: datetime,
    ) -> bool:
        """`grant` inside the caller's transaction."""
        changed = await tx.execute(
            "INSERT INTO roles (volunteer_id, role, team_id, granted_by, granted_at)"
            " VALUES (:volunteer, :role, :team, :by, :now) ON CONFLICT DO NOTHING",
            {
                "volunteer": volunteer_id,
                "role": role,
                "team": team_id,
                "by": granted_by,
                "now": to_iso(now),
            },
        )
        return changed == 1

    @staticmethod
    async def revoke_in(tx: Tx, volunteer_id: int, role: str, team_id: int | None) -> bool:
        """`revoke` inside the caller's transaction."""
        changed = await tx.execute(
            "DELETE FROM roles WHERE volunteer_id = :volunteer AND role = :role"
            " AND COALESCE(team_id, 0) = COALESCE(:team, 0)",
            {"volunteer": volunteer_id, "role": role, "team": team_id},
        )
        return changed > 0

    @staticmethod
    async def erase(tx: Tx, volunteer_id: int) -> None:
        """Every role of an erased volunteer goes (inside the erasure transaction)."""
        await tx.execute("DELETE FROM roles WHERE volunteer_id = :id", {"id": volunteer_id})
