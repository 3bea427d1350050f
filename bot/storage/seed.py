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


async def bulk_load(
    db: Database,
    now: datetime,
    *,
    volunteers: int,
    tasks: int,
    assignments: int,
    seed_value: int = 7,
) -> None:
    """A campaign-sized database for benchmarks: teams, volunteers, open tasks, history."""
    import random

    rng = random.Random(seed_value)
    stamp = to_iso(now)
    skills = ("share", "canvass", "call", "text", "events")
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO teams (id, name, created_at) VALUES (?, ?, ?)",
            [(t, f"team {t}", stamp) for t in range(1, 51)],
        )
        await tx.executemany(
            "INSERT INTO volunteers (id, status, language, department, latitude, longitude,"
            " skills, availability, created_at, last_active_at)"
            " VALUES (?, 'active', ?, ?, ?, ?, ?, 'evenings', ?, ?)",
            [
                (
                    v,
                    rng.choice(("fr", "fr", "fr", "en")),
                    f"{rng.randint(1, 95):02d}",
                    rng.uniform(43.0, 50.0),
                    rng.uniform(-1.0, 7.0),
                    ",".join(rng.sample(skills, rng.randint(1, 3))),
                    stamp,
                    stamp,
                )
                for v in range(1, volunteers + 1)
            ],
        )
        await tx.executemany(
            "INSERT INTO team_members (team_id, volunteer_id, joined_at) VALUES (?, ?, ?)",
            [(rng.randint(1, 50), v, stamp) for v in range(1, volunteers + 1)],
        )
        task_rows = []
        target_rows = []
        for t in range(1, tasks + 1):
            kind = rng.choice(("share", "canvass", "call", "text", "event", "custom"))
            field_work = kind in ("canvass", "event")
            roll = rng.random()
            kinds = ","
            if roll < 0.3:
                target_rows.append((t, "team", str(rng.randint(1, 50))))
                kinds = ",team,"
            elif roll < 0.6:
                target_rows.append((t, "department", f"{rng.randint(1, 95):02d}"))
                kinds = ",department,"
            elif roll < 0.8:
                target_rows.append((t, "skill", rng.choice(skills)))
                kinds = ",skill,"
            task_rows.append(
                (
                    t,
                    kind,
                    f"task {t}",
                    rng.randint(0, 10),
                    stamp,
                    rng.choice((None, 50, 500)),
                    rng.uniform(43.0, 50.0) if field_work else None,
                    rng.uniform(-1.0, 7.0) if field_work else None,
                    rng.choice((None, 30.0)) if field_work else None,
                    kinds,
                    stamp,
                    stamp,
                )
            )
        await tx.executemany(
            "INSERT INTO tasks (id, kind, title, priority, opens_at, quota, latitude, longitude,"
            " radius_km, target_kinds, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            task_rows,
        )
        await tx.executemany(
            "INSERT INTO task_targets (task_id, kind, value) VALUES (?, ?, ?)", target_rows
        )
        await tx.executemany(
            "INSERT INTO assignments (task_id, volunteer_id, state, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (
                (
                    rng.randint(1, tasks),
                    rng.randint(1, volunteers),
                    rng.choice(("done", "done", "skipped")),
                    stamp,
                    stamp,
                )
                for _ in range(assignments)
            ),
        )
        await tx.execute("ANALYZE")
