"""Many volunteers at once, for tests, benchmarks and demonstrations (never real people)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.clock import to_iso
from bot.storage.db import Database


@dataclass(frozen=True, slots=True)
class SeedVolunteer:
    """A volunteer reachable on one messenger, with the fields audiences filter on."""

    user_id: str
    channel: str = "telegram"
    status: str = "active"
    first_name: str = ""
    language: str = "fr"
    postcode: str = ""
    department: str = ""
    skills: str = ""
    timezone: str | None = None
    quiet_hours: str | None = None  # None: the campaign's; "": none
    paused_until: str | None = None
    teams: tuple[str, ...] = ()
    roles: tuple[tuple[str, str | None], ...] = ()  # (role, team name or None)
    unreachable: bool = False
    last_active_at: datetime | None = None


async def add_volunteers(
    db: Database, people: Iterable[SeedVolunteer], now: datetime, chunk: int = 2000
) -> list[int]:
    """Insert volunteers, their identity, teams and roles; return their ids in order."""
    stamp = to_iso(now)
    ids: list[int] = []
    batch: list[SeedVolunteer] = []

    async def write(batch: list[SeedVolunteer]) -> None:
        async with db.transaction() as tx:
            for person in batch:
                cursor = await tx.execute(
                    "INSERT INTO volunteers (status, first_name, language, postcode, department,"
                    " skills, timezone, quiet_hours, paused_until, created_at, last_active_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        person.status,
                        person.first_name or None,
                        person.language,
                        person.postcode or None,
                        person.department or None,
                        person.skills,
                        person.timezone,
                        person.quiet_hours,
                        person.paused_until,
                        stamp,
                        to_iso(person.last_active_at or now),
                    ),
                )
                volunteer_id = int(cursor.lastrowid or 0)
                ids.append(volunteer_id)
                await tx.execute(
                    "INSERT INTO identities (channel, user_id, volunteer_id, chat_id,"
                    " unreachable_at, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        person.channel,
                        person.user_id,
                        volunteer_id,
                        person.user_id,
                        stamp if person.unreachable else None,
                        stamp,
                    ),
                )
                for team in person.teams:
                    team_id = await _team(tx, team, stamp)
                    await tx.execute(
                        "INSERT INTO team_members (team_id, volunteer_id, joined_at)"
                        " VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                        (team_id, volunteer_id, stamp),
                    )
                for role, team_name in person.roles:
                    role_team = await _team(tx, team_name, stamp) if team_name else None
                    await tx.execute(
                        "INSERT INTO roles (volunteer_id, role, team_id, granted_at)"
                        " VALUES (?, ?, ?, ?)",
                        (volunteer_id, role, role_team, stamp),
                    )

    for person in people:
        batch.append(person)
        if len(batch) >= chunk:
            await write(batch)
            batch = []
    if batch:
        await write(batch)
    return ids


async def _team(tx: aiosqlite.Connection, name: str, stamp: str) -> int:
    cursor = await tx.execute(
        "INSERT INTO teams (name, created_at) VALUES (?, ?)"
        " ON CONFLICT (name) DO UPDATE SET name = name RETURNING id",
        (name, stamp),
    )
    row = await cursor.fetchone()
    assert row is not None
    return int(row[0])
