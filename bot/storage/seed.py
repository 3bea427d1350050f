"""Put ready-made volunteers and teams straight into the database: tests, benchmarks, demos.

Onboarding is the real way in; this skips it for people whose profile is already known.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bot.clock import to_iso
from bot.storage.db import Database


async def add_team(db: Database, name: str, now: datetime) -> int:
    """A team (or the existing one of that name)."""
    async with db.transaction() as tx:
        cursor = await tx.execute(
            "INSERT INTO teams (name, created_at) VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id",
            (name, to_iso(now)),
        )
        row = await cursor.fetchone()
        assert row is not None
        return int(row["id"])


async def add_volunteer(
    db: Database,
    now: datetime,
    *,
    user_id: str,
    channel: str = "telegram",
    first_name: str = "",
    status: str = "active",
    language: str = "fr",
    postcode: str | None = None,
    department: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    skills: Iterable[str] = (),
    availability: Iterable[str] = (),
    timezone: str | None = None,
    quiet_hours: str | None = None,
    paused_until: datetime | None = None,
    leaderboard: bool = False,
    teams: Iterable[int] = (),
    organizer_of: Iterable[int] = (),
) -> int:
    """A volunteer with an identity, team memberships and organizer roles, in one go."""
    stamp = to_iso(now)
    async with db.transaction() as tx:
        cursor = await tx.execute(
            "INSERT INTO volunteers (status, first_name, language, postcode, department,"
            " latitude, longitude, skills, availability, timezone, quiet_hours, paused_until,"
            " leaderboard, created_at, last_active_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                status,
                first_name or None,
                language,
                postcode,
                department,
                latitude,
                longitude,
                ",".join(skills),
                ",".join(availability),
                timezone,
                quiet_hours,
                to_iso(paused_until) if paused_until else None,
                int(leaderboard),
                stamp,
                stamp,
            ),
        )
        volunteer_id = int(cursor.lastrowid or 0)
        await tx.execute(
            "INSERT INTO identities (channel, user_id, volunteer_id, chat_id, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (channel, user_id, volunteer_id, user_id, stamp),
        )
        await tx.executemany(
            "INSERT INTO team_members (team_id, volunteer_id, joined_at) VALUES (?, ?, ?)",
            [(t, volunteer_id, stamp) for t in set(teams) | set(organizer_of)],
        )
        await tx.executemany(
            "INSERT INTO roles (volunteer_id, role, team_id, granted_at)"
            " VALUES (?, 'organizer', ?, ?)",
            [(volunteer_id, t, stamp) for t in organizer_of],
        )
    return volunteer_id


async def set_status(db: Database, volunteer_id: int, status: str) -> None:
    """Change a volunteer's status (pause, stop) as the profile flow would."""
    async with db.transaction() as tx:
        await tx.execute("UPDATE volunteers SET status = ? WHERE id = ?", (status, volunteer_id))
