"""Teams (local groups), who belongs to them, and the invite codes of deep links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.clock import Clock, to_iso
from bot.storage.db import Database, StorageError, placeholders


@dataclass(frozen=True, slots=True)
class Team:
    """A local group of volunteers."""

    id: int
    name: str
    members: int = 0


@dataclass(frozen=True, slots=True)
class Invite:
    """A deep-link code: join a team, become its organizer, or credit a recruiter."""

    code: str
    kind: str  # team | organizer | recruit
    team_id: int | None
    created_by: int | None
    max_uses: int
    uses: int
    expires_at: str

    @classmethod
    def from_row(cls, row: aiosqlite.Row) -> Invite:
        return cls(
            row["code"],
            row["kind"],
            row["team_id"],
            row["created_by"],
            row["max_uses"],
            row["uses"],
            row["expires_at"],
        )


class NameTaken(Exception):
    """Another team already has this name."""


class TeamRepository:
    """Reads and writes teams, memberships and invites."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def create(self, name: str) -> Team:
        try:
            async with self.db.raw_transaction() as tx:
                cursor = await tx.execute(
                    "INSERT INTO teams (name, created_at) VALUES (?, ?) RETURNING id",
                    (name, to_iso(self.clock.now())),
                )
                row = await cursor.fetchone()
        except StorageError as exc:
            if "UNIQUE" in str(exc):
                raise NameTaken(name) from exc
            raise
        assert row is not None
        return Team(row[0], name)

    async def rename(self, team_id: int, name: str) -> bool:
        try:
            async with self.db.raw_transaction() as tx:
                cursor = await tx.execute("UPDATE teams SET name = ? WHERE id = ?", (name, team_id))
                return cursor.rowcount > 0
        except StorageError as exc:
            if "UNIQUE" in str(exc):
                raise NameTaken(name) from exc
            raise

    async def get(self, team_id: int) -> Team | None:
        row = await self.db.fetch_one(
            "SELECT t.id, t.name, (SELECT COUNT(*) FROM team_members m JOIN volunteers v"
            " ON v.id = m.volunteer_id WHERE m.team_id = t.id AND v.status != 'erased') AS n"
            " FROM teams t WHERE t.id = ?",
            (team_id,),
        )
        return Team(row["id"], row["name"], row["n"]) if row else None

    async def in_scope(self, scope: frozenset[int] | None = None) -> list[Team]:
        """Teams by name with member counts; `scope` None means all of them."""
        if scope is not None and not scope:
            return []
        where = f"WHERE t.id IN ({placeholders(scope)})" if scope is not None else ""
        rows = await self.db.fetch_all(
            "SELECT t.id, t.name, (SELECT COUNT(*) FROM team_members m JOIN volunteers v"
            " ON v.id = m.volunteer_id WHERE m.team_id = t.id AND v.status != 'erased') AS n"
            f" FROM teams t {where} ORDER BY t.name",
            tuple(sorted(scope)) if scope is not None else (),
        )
        return [Team(r["id"], r["name"], r["n"]) for r in rows]

    async def of_volunteer(self, volunteer_id: int) -> list[Team]:
        rows = await self.db.fetch_all(
            "SELECT t.id, t.name FROM teams t JOIN team_members m ON m.team_id = t.id"
            " WHERE m.volunteer_id = ? ORDER BY t.name",
            (volunteer_id,),
        )
        return [Team(r["id"], r["name"]) for r in rows]

    async def add_member(self, team_id: int, volunteer_id: int) -> bool:
        """Join a team; False if already a member."""
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "INSERT INTO team_members (team_id, volunteer_id, joined_at) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (team_id, volunteer_id, to_iso(self.clock.now())),
            )
            return cursor.rowcount == 1

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
        async with self.db.raw_transaction() as tx:
            await tx.execute(
                "INSERT INTO invites (code, kind, team_id, created_by, max_uses, expires_at,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    code,
                    kind,
                    team_id,
                    created_by,
                    max_uses,
                    to_iso(expires_at),
                    to_iso(self.clock.now()),
                ),
            )
        return Invite(code, kind, team_id, created_by, max_uses, 0, to_iso(expires_at))

    async def invite(self, code: str) -> Invite | None:
        row = await self.db.fetch_one("SELECT * FROM invites WHERE code = ?", (code,))
        return Invite.from_row(row) if row else None

    async def redeem(self, code: str, now: datetime) -> Invite | None:
        """Count one use of a valid code, atomically; None if unknown, expired or used up."""
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "UPDATE invites SET uses = uses + 1 WHERE code = ? AND uses < max_uses"
                " AND expires_at > ? RETURNING *",
                (code, to_iso(now)),
            )
            row = await cursor.fetchone()
        return Invite.from_row(row) if row else None

    async def recruit_invite(self, volunteer_id: int, now: datetime) -> Invite | None:
        """A volunteer's personal recruiting code still valid at `now`, if any."""
        row = await self.db.fetch_one(
            "SELECT * FROM invites WHERE created_by = ? AND kind = 'recruit'"
            " AND expires_at > ? AND uses < max_uses ORDER BY expires_at DESC LIMIT 1",
            (volunteer_id, to_iso(now)),
        )
        return Invite.from_row(row) if row else None
