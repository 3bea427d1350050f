"""Volunteers, how to reach them, and their roles."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.clock import Clock, to_iso
from bot.storage.db import Database


@dataclass(frozen=True, slots=True)
class Volunteer:
    """A person who joined Relais (or is joining)."""

    id: int
    status: str
    first_name: str
    language: str
    postcode: str
    department: str
    place: str
    latitude: float | None
    longitude: float | None
    skills: frozenset[str]
    availability: frozenset[str]
    timezone: str
    quiet_hours: str | None
    rapid_response: bool
    leaderboard: bool
    digest: bool
    paused_until: str
    recruited_by: int | None
    created_at: str
    last_active_at: str

    @classmethod
    def from_row(cls, row: aiosqlite.Row) -> Volunteer:
        return cls(
            id=row["id"],
            status=row["status"],
            first_name=row["first_name"] or "",
            language=row["language"],
            postcode=row["postcode"] or "",
            department=row["department"] or "",
            place=row["place"] or "",
            latitude=row["latitude"],
            longitude=row["longitude"],
            skills=frozenset(filter(None, row["skills"].split(","))),
            availability=frozenset(filter(None, row["availability"].split(","))),
            timezone=row["timezone"] or "",
            quiet_hours=row["quiet_hours"],
            rapid_response=bool(row["rapid_response"]),
            leaderboard=bool(row["leaderboard"]),
            digest=bool(row["digest"]),
            paused_until=row["paused_until"] or "",
            recruited_by=row["recruited_by"],
            created_at=row["created_at"],
            last_active_at=row["last_active_at"],
        )


@dataclass(frozen=True, slots=True)
class Role:
    """A role held by a volunteer; `team_id` None means everywhere."""

    role: str
    team_id: int | None


@dataclass(frozen=True, slots=True)
class Address:
    """Where to send a volunteer a message."""

    channel: str
    chat_id: str
    volunteer_id: int


class VolunteerRepository:
    """Reads and writes volunteers, identities and roles."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def by_identity(self, channel: str, user_id: str) -> Volunteer | None:
        row = await self.db.fetch_one(
            "SELECT v.* FROM volunteers v JOIN identities i ON i.volunteer_id = v.id "
            "WHERE i.channel = ? AND i.user_id = ?",
            (channel, user_id),
        )
        return Volunteer.from_row(row) if row else None

    async def get(self, volunteer_id: int) -> Volunteer | None:
        row = await self.db.fetch_one("SELECT * FROM volunteers WHERE id = ?", (volunteer_id,))
        return Volunteer.from_row(row) if row else None

    async def create(
        self, channel: str, user_id: str, chat_id: str, language: str, first_name: str = ""
    ) -> Volunteer:
        """A new volunteer in onboarding, reachable at this identity."""
        now = to_iso(self.clock.now())
        async with self.db.transaction() as tx:
            cursor = await tx.execute(
                "INSERT INTO volunteers (status, first_name, language, created_at, last_active_at)"
                " VALUES ('onboarding', ?, ?, ?, ?)",
                (first_name or None, language, now, now),
            )
            volunteer_id = cursor.lastrowid
            await tx.execute(
                "INSERT INTO identities (channel, user_id, volunteer_id, chat_id, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (channel, user_id, volunteer_id, chat_id, now),
            )
        volunteer = await self.get(int(volunteer_id or 0))
        assert volunteer is not None
        return volunteer

    async def roles(self, volunteer_id: int) -> tuple[Role, ...]:
        rows = await self.db.fetch_all(
            "SELECT role, team_id FROM roles WHERE volunteer_id = ? ORDER BY role, team_id",
            (volunteer_id,),
        )
        return tuple(Role(row["role"], row["team_id"]) for row in rows)

    async def touch(self, volunteer_id: int, moment: datetime) -> None:
        """Remember the volunteer was active (retention counts from here)."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE volunteers SET last_active_at = ? WHERE id = ?",
                (to_iso(moment), volunteer_id),
            )

    async def reachable_again(self, channel: str, user_id: str) -> None:
        """A person who wrote to us can be messaged again."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE identities SET unreachable_at = NULL WHERE channel = ? AND user_id = ?"
                " AND unreachable_at IS NOT NULL",
                (channel, user_id),
            )

    async def addresses(self, volunteer_id: int) -> list[Address]:
        """Reachable identities, preferred first."""
        rows = await self.db.fetch_all(
            "SELECT channel, chat_id FROM identities WHERE volunteer_id = ?"
            " AND unreachable_at IS NULL ORDER BY preferred DESC, created_at",
            (volunteer_id,),
        )
        return [Address(row["channel"], row["chat_id"], volunteer_id) for row in rows]
