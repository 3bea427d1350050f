"""Teams (local groups), who belongs to them, and the invite codes of deep links."""

from __future__ import annotations

from datetime import datetime

from bot.clock import Clock, from_iso, to_iso
from bot.domain.volunteers import Invite, InviteKind, Team
from bot.storage.backend import Backend, Conflict, Row, Tx, in_list

__all__ = ["Invite", "NameTaken", "Team", "TeamRepository"]

# Members of a team, erased volunteers left out.
_MEMBERS = (
    "(SELECT COUNT(*) FROM team_members m JOIN volunteers v"
    " ON v.id = m.volunteer_id WHERE m.team_id = t.id AND v.status != 'erased')"
)


def _invite(row: Row) -> Invite:
    return Invite(
        row["code"],
        InviteKind(row["kind"]),
        row["team_id"],
        row["created_by"],
        row["max_uses"],
        row["uses"],
        from_iso(row["expires_at"]),
    )


class NameTaken(Exception):
    """Another team already has this name."""


class TeamRepository:
    """Reads and writes teams, memberships and invites."""

    def __init__(self, db: Backend, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def create(self, name: str) -> Team:
        try:
            async with self.db.transaction() as tx:
                team_id = await tx.insert_returning_id(
                    "INSERT INTO teams (name, created_at) VALUES (:name, :now)",
                    {"name": name, "now": to_iso(self.clock.now())},
                )
        except Conflict as exc:
            raise NameTaken(name) from exc
        return Team(team_id, name)

    async def rename(self, team_id: int, name: str) -> bool:
        try:
            async with self.db.transaction() as tx:
                changed = await tx.execute(
                    "UPDATE teams SET name = :name WHERE id = :id", {"name": name, "id": team_id}
                )
        except Conflict as exc:
            raise NameTaken(name) from exc
        return changed > 0

    async def get(self, team_id: int) -> Team | None:
        row = await self.db.fetch_one(
            f"SELECT t.id, t.name, {_MEMBERS} AS n FROM teams t WHERE t.id = :id",
            {"id": team_id},
        )
        return Team(row["id"], row["name"], row["n"]) if row else None

    async def in_scope(self, scope: frozenset[int] | None = None) -> list[Team]:
        """Teams by name with member counts; `scope` None means all of them."""
        if scope is not None and not scope:
            return []
        where, params = "", dict[str, object]()
        if scope is not None:
            listed, params = in_list("scope", sorted(scope))
            where = f"WHERE t.id IN ({listed})"
        rows = await self.db.fetch_all(
            f"SELECT t.id, t.name, {_MEMBERS} AS n FROM teams t {where} ORDER BY t.name", params
        )
        return [Team(r["id"], r["name"], r["n"]) for r in rows]

    async def of_volunteer(self, volunteer_id: int) -> list[Team]:
        rows = await self.db.fetch_all(
            "SELECT t.id, t.name FROM teams t JOIN team_members m ON m.team_id = t.id"
            " WHERE m.volunteer_id = :id ORDER BY t.name",
            {"id": volunteer_id},
        )
        return [Team(r["id"], r["name"]) for r in rows]

    async def add_member(self, team_id: int, volunteer_id: int) -> bool:
        """Join a team; False if already a member."""
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "INSERT INTO team_members (team_id, volunteer_id, joined_at)"
                " VALUES (:team, :volunteer, :now) ON CONFLICT DO NOTHING",
                {"team": team_id, "volunteer": volunteer_id, "now": to_iso(self.clock.now())},
            )
            return changed == 1

    # -- invites ------------------------------------------------------------------------

    async def add_invite(
        self,
        code: str,
        kind: str,
        team_id: int | None,
        created_by: int | None,
        max_uses: int,
        expires_at: datetime,
    ) -> Invite:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO invites (code, kind, team_id, created_by, max_uses, expires_at,"
                " created_at) VALUES (:code, :kind, :team, :by, :max_uses, :expires, :now)",
                {
                    "code": code,
                    "kind": str(kind),
                    "team": team_id,
                    "by": created_by,
                    "max_uses": max_uses,
                    "expires": to_iso(expires_at),
                    "now": to_iso(self.clock.now()),
                },
            )
        return Invite(
            code, InviteKind(kind), team_id, created_by, max_uses, 0, from_iso(to_iso(expires_at))
        )

    async def invite(self, code: str) -> Invite | None:
        row = await self.db.fetch_one("SELECT * FROM invites WHERE code = :code", {"code": code})
        return _invite(row) if row else None

    async def redeem(self, code: str, now: datetime) -> Invite | None:
        """Count one use of a valid code, atomically; None if unknown, expired or used up."""
        async with self.db.transaction() as tx:
            row = await tx.fetch_one(
                "UPDATE invites SET uses = uses + 1 WHERE code = :code AND uses < max_uses"
                " AND expires_at > :now RETURNING *",
                {"code": code, "now": to_iso(now)},
            )
        return _invite(row) if row else None

    async def recruit_invite(self, volunteer_id: int, now: datetime) -> Invite | None:
        """A volunteer's personal recruiting code still valid at `now`, if any."""
        row = await self.db.fetch_one(
            "SELECT * FROM invites WHERE created_by = :id AND kind = 'recruit'"
            " AND expires_at > :now AND uses < max_uses ORDER BY expires_at DESC LIMIT 1",
            {"id": volunteer_id, "now": to_iso(now)},
        )
        return _invite(row) if row else None

    # -- erasure (inside the one erasure transaction of bot/storage/personal_data.py) -----

    @staticmethod
    async def erase_invites(tx: Tx, volunteer_id: int) -> None:
        """A volunteer's personal recruiting links go; the team links they made stay,
        nameless."""
        who = {"id": volunteer_id}
        await tx.execute("DELETE FROM invites WHERE created_by = :id AND kind = 'recruit'", who)
        await tx.execute("UPDATE invites SET created_by = NULL WHERE created_by = :id", who)
