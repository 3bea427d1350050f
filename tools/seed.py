"""Put ready-made volunteers and teams straight into the database: tests, benchmarks, demos
(`python -m bot seed`).

Onboarding is the real way in; this skips it for people whose profile is already known. A
tool beside Relais, not part of it: it writes fixtures straight into the tables, which the
product leaves to each table's owner.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.clock import to_iso
from bot.domain.calls import CallResult
from bot.storage.backend import Tx
from bot.storage.db import Database
from bot.storage.postgres import PostgresDatabase


async def add_team(db: Database, name: str, now: datetime) -> int:
    """A team (or the existing one of that name)."""
    async with db.transaction() as tx:
        return await _team(tx, name, to_iso(now))


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
        volunteer_id = await tx.insert_returning_id(
            "INSERT INTO volunteers (status, first_name, language, postcode, department,"
            " latitude, longitude, skills, availability, timezone, quiet_hours, paused_until,"
            " leaderboard, created_at, joined_at, last_active_at)"
            " VALUES (:status, :first_name, :language, :postcode, :department, :latitude,"
            " :longitude, :skills, :availability, :timezone, :quiet_hours, :paused_until,"
            " :leaderboard, :now, :joined, :now)",
            {
                "status": status,
                "first_name": first_name or None,
                "language": language,
                "postcode": postcode,
                "department": department,
                "latitude": latitude,
                "longitude": longitude,
                "skills": ",".join(skills),
                "availability": ",".join(availability),
                "timezone": timezone,
                "quiet_hours": quiet_hours,
                "paused_until": to_iso(paused_until) if paused_until else None,
                "leaderboard": int(leaderboard),
                "now": stamp,
                "joined": None if status == "onboarding" else stamp,
            },
        )
        await tx.execute(
            "INSERT INTO identities (channel, user_id, volunteer_id, chat_id, created_at)"
            " VALUES (:channel, :user, :volunteer, :user, :now)",
            {"channel": channel, "user": user_id, "volunteer": volunteer_id, "now": stamp},
        )
        await tx.execute_many(
            "INSERT INTO team_members (team_id, volunteer_id, joined_at)"
            " VALUES (:team, :volunteer, :now)",
            [
                {"team": t, "volunteer": volunteer_id, "now": stamp}
                for t in set(teams) | set(organizer_of)
            ],
        )
        await tx.execute_many(
            "INSERT INTO roles (volunteer_id, role, team_id, granted_at)"
            " VALUES (:volunteer, 'organizer', :team, :now)",
            [{"volunteer": volunteer_id, "team": t, "now": stamp} for t in organizer_of],
        )
    return volunteer_id


async def set_status(db: Database, volunteer_id: int, status: str) -> None:
    """Change a volunteer's status (pause, stop) as the profile flow would."""
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE volunteers SET status = :status WHERE id = :id",
            {"status": status, "id": volunteer_id},
        )


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
        await tx.execute_many(
            "INSERT INTO teams (id, name, created_at) VALUES (:id, :name, :now)",
            [{"id": t, "name": f"team {t}", "now": stamp} for t in range(1, 51)],
        )
        await tx.execute_many(
            "INSERT INTO volunteers (id, status, language, department, latitude, longitude,"
            " skills, availability, created_at, joined_at, last_active_at)"
            " VALUES (:id, 'active', :language, :department, :latitude, :longitude, :skills,"
            " 'evenings', :now, :now, :now)",
            [
                {
                    "id": v,
                    "language": rng.choice(("fr", "fr", "fr", "en")),
                    "department": f"{rng.randint(1, 95):02d}",
                    "latitude": rng.uniform(43.0, 50.0),
                    "longitude": rng.uniform(-1.0, 7.0),
                    "skills": ",".join(rng.sample(skills, rng.randint(1, 3))),
                    "now": stamp,
                }
                for v in range(1, volunteers + 1)
            ],
        )
        await tx.execute_many(
            "INSERT INTO team_members (team_id, volunteer_id, joined_at)"
            " VALUES (:team, :volunteer, :now)",
            [
                {"team": rng.randint(1, 50), "volunteer": v, "now": stamp}
                for v in range(1, volunteers + 1)
            ],
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
                    rng.choice((None, 50, 500)),
                    rng.uniform(43.0, 50.0) if field_work else None,
                    rng.uniform(-1.0, 7.0) if field_work else None,
                    rng.choice((None, 30.0)) if field_work else None,
                    kinds,
                )
            )
        task_columns = [
            "id",
            "kind",
            "title",
            "priority",
            "quota",
            "latitude",
            "longitude",
            "radius_km",
            "target_kinds",
        ]
        await tx.execute_many(
            "INSERT INTO tasks (id, kind, title, priority, opens_at, quota, latitude, longitude,"
            " radius_km, target_kinds, created_at, updated_at)"
            " VALUES (:id, :kind, :title, :priority, :now, :quota, :latitude, :longitude,"
            " :radius_km, :target_kinds, :now, :now)",
            [{**dict(zip(task_columns, row, strict=True)), "now": stamp} for row in task_rows],
        )
        await tx.execute_many(
            "INSERT INTO task_targets (task_id, kind, value) VALUES (:task, :kind, :value)",
            [{"task": t, "kind": k, "value": v} for t, k, v in target_rows],
        )
        await tx.execute_many(
            "INSERT INTO assignments (task_id, volunteer_id, state, created_at, updated_at)"
            " VALUES (:task, :volunteer, :state, :now, :now)",
            (
                {
                    "task": rng.randint(1, tasks),
                    "volunteer": rng.randint(1, volunteers),
                    "state": rng.choice(("done", "done", "skipped")),
                    "now": stamp,
                }
                for _ in range(assignments)
            ),
        )
        await tx.execute("ANALYZE")


SYNTHETIC_CONSENT = "synthetic"
CALL_RESULTS = tuple(result.value for result in CallResult)
SKILL_CODES = ("share", "canvass", "call", "text", "events")
SLOT_CODES = ("evenings", "weekends", "daytime")
TASK_KINDS = ("share", "canvass", "call", "text", "event", "custom")
TEAM_NAMES = (
    "Paris 11",
    "Paris 20",
    "Lyon 3",
    "Lyon 7",
    "Marseille 1",
    "Lille Centre",
    "Toulouse Nord",
    "Nantes Sud",
    "Bordeaux Chartrons",
    "Rennes Est",
    "Grenoble",
    "Strasbourg",
    "Montpellier",
    "Nice Est",
    "Évry",
    "Saint-Denis",
)
DEPARTMENTS = ("75", "69", "13", "59", "31", "44", "33", "35", "38", "67", "34", "06", "91", "93")


def holds_real_volunteers(conn: sqlite3.Connection) -> bool:
    """True if anyone in the database joined for real (their consent is not synthetic)."""
    row = conn.execute(
        "SELECT 1 FROM volunteers v WHERE v.status != 'erased' AND NOT EXISTS (SELECT 1 FROM"
        " consents c WHERE c.volunteer_id = v.id AND c.text_version = :version) LIMIT 1",
        {"version": SYNTHETIC_CONSENT},
    ).fetchone()
    return row is not None


def synthetic_campaign(
    conn: sqlite3.Connection,
    now: datetime,
    *,
    volunteers: int,
    tasks: int,
    assignments: int,
    id_base: int,
    weeks: int = 8,
    seed_value: int = 7,
    channel: str = "telegram",
    after: Mapping[str, int] | None = None,
) -> dict[str, int]:
    """Fill a migrated database with a realistic campaign: consented volunteers reachable
    on `channel` (telegram, or the console) at ids id_base…id_base+volunteers-1, teams and
    areas, tasks of every kind with call lists, and assignments with outcomes and calls
    spread over the past `weeks`. Ids start after the highest in the file, or in `after`
    (table -> highest id of the database the rows are meant for)."""
    import random
    from datetime import timedelta

    from bot.storage.bulk import insert_sync, rollup_rebuilt_after

    rng = random.Random(seed_value)
    span = weeks * 7 * 86400
    stamp = to_iso(now)
    # The past is laid out back from the start of the hour, not from `now` itself: the
    # roll-up counts by the hour, so moments laid back from 14:05 and from 14:40 would fall
    # into different hours at the edges, and two seeds of the same campaign (on SQLite and
    # on PostgreSQL, a minute apart) would differ by a roll-up row with the same sums.
    anchor = now.replace(minute=0, second=0, microsecond=0)

    def first_id(table: str) -> int:
        found = conn.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()[0]
        return int(max(found, (after or {}).get(table, 0))) + 1

    first_volunteer = first_id("volunteers")
    first_task = first_id("tasks")
    volunteer_ids = range(first_volunteer, first_volunteer + volunteers)
    task_ids = range(first_task, first_task + tasks)

    def moment() -> str:
        return to_iso(anchor - timedelta(seconds=rng.randrange(span)))

    with rollup_rebuilt_after(conn):
        for name in TEAM_NAMES:
            conn.execute(
                "INSERT INTO teams (name, created_at) VALUES (:name, :now)"
                " ON CONFLICT (name) DO NOTHING",
                {"name": name, "now": stamp},
            )
        team_ids = [row[0] for row in conn.execute("SELECT id FROM teams ORDER BY id")]
        statuses = ["active"] * 90 + ["paused"] * 5 + ["stopped"] * 5
        joined = {v: moment() for v in volunteer_ids}
        insert_sync(
            conn,
            "volunteers",
            (
                "id",
                "status",
                "first_name",
                "language",
                "postcode",
                "department",
                "skills",
                "availability",
                "rapid_response",
                "created_at",
                "joined_at",
                "last_active_at",
            ),
            (
                (
                    v,
                    rng.choice(statuses),
                    f"Bénévole {v}",
                    "fr" if rng.random() < 0.85 else "en",
                    f"{(department := rng.choice(DEPARTMENTS))}{rng.randrange(1, 999):03d}",
                    department,
                    ",".join(rng.sample(SKILL_CODES, rng.randint(1, 3))),
                    ",".join(rng.sample(SLOT_CODES, rng.randint(1, 2))),
                    int(rng.random() < 0.2),
                    joined[v],
                    joined[v],
                    max(joined[v], moment()),
                )
                for v in volunteer_ids
            ),
        )
        insert_sync(
            conn,
            "identities",
            ("channel", "user_id", "volunteer_id", "chat_id", "created_at"),
            (
                (channel, str(id_base + n), v, str(id_base + n), joined[v])
                for n, v in enumerate(volunteer_ids)
            ),
        )
        insert_sync(
            conn,
            "consents",
            ("volunteer_id", "text_version", "text_sha256", "channel", "given_at"),
            ((v, SYNTHETIC_CONSENT, "-", channel, joined[v]) for v in volunteer_ids),
        )
        insert_sync(
            conn,
            "team_members",
            ("team_id", "volunteer_id", "joined_at"),
            ((rng.choice(team_ids), v, joined[v]) for v in volunteer_ids),
        )
        kinds = {t: TASK_KINDS[(t - first_task) % len(TASK_KINDS)] for t in task_ids}
        insert_sync(
            conn,
            "tasks",
            (
                "id",
                "kind",
                "title",
                "instructions",
                "points",
                "priority",
                "opens_at",
                "quota",
                "per_volunteer_cap",
                "link",
                "place",
                "doors",
                "team_id",
                "target_kinds",
                "created_at",
                "updated_at",
            ),
            (
                (
                    t,
                    kinds[t],
                    f"{kinds[t].capitalize()} #{t}",
                    "Synthetic task for trials and benchmarks.",
                    rng.choice((1, 2, 3)),
                    rng.randint(0, 10),
                    to_iso(anchor - timedelta(seconds=span)),
                    rng.choice((None, 50, 500)),
                    1,
                    "https://example.org/post" if kinds[t] == "share" else None,
                    "Place de la République" if kinds[t] in ("canvass", "event") else None,
                    40 if kinds[t] == "canvass" else None,
                    rng.choice(team_ids) if rng.random() < 0.5 else None,
                    ",",
                    stamp,
                    stamp,
                )
                for t in task_ids
            ),
        )
        outcome_rows: list[tuple[object, ...]] = []

        def assignment_rows() -> Iterable[tuple[object, ...]]:
            first_assignment = first_id("assignments")
            for a in range(first_assignment, first_assignment + assignments):
                task_id = rng.choice(task_ids)
                volunteer_id = rng.choice(volunteer_ids)
                at = moment()
                state = rng.choices(("done", "accepted", "skipped", "cant"), (6, 1, 2, 1))[0]
                if state == "done":
                    kind = kinds[task_id]
                    outcome_rows.append(
                        (
                            a,
                            task_id,
                            volunteer_id,
                            kind,
                            rng.randint(5, 40) if kind == "canvass" else None,
                            rng.randint(1, 15) if kind == "canvass" else None,
                            rng.randint(0, 5) if kind == "canvass" else None,
                            rng.randint(1, 20) if kind == "text" else None,
                            rng.randint(1, 10) if kind == "call" else None,
                            int(rng.random() < 0.8) if kind == "event" else None,
                            1,
                            at,
                        )
                    )
                yield (
                    a,
                    task_id,
                    volunteer_id,
                    state,
                    at,
                    at if state != "skipped" else None,
                    at if state in ("done", "cant") else None,
                    at,
                )

        insert_sync(
            conn,
            "assignments",
            (
                "id",
                "task_id",
                "volunteer_id",
                "state",
                "created_at",
                "accepted_at",
                "finished_at",
                "updated_at",
            ),
            assignment_rows(),
        )
        insert_sync(
            conn,
            "outcomes",
            (
                "assignment_id",
                "task_id",
                "volunteer_id",
                "kind",
                "doors_knocked",
                "conversations",
                "supporters",
                "people_reached",
                "calls_made",
                "attended",
                "points",
                "recorded_at",
            ),
            outcome_rows,
        )
        # Call tasks get a list of fictitious numbers (+33 6 99 …), some of them called.
        first_contact = first_id("call_contacts")
        contacts: list[tuple[object, ...]] = []
        results: list[tuple[object, ...]] = []
        for t in (t for t in task_ids if kinds[t] == "call"):
            for _ in range(20):
                contact = first_contact + len(contacts)
                result = rng.choice(CALL_RESULTS) if rng.random() < 0.6 else None
                contacts.append(
                    (
                        contact,
                        t,
                        f"Contact {contact}",
                        f"+33699{contact % 1_000_000:06d}",
                        "done" if result else "ready",
                        result,
                        int(bool(result)),
                        stamp,
                    )
                )
                if result:
                    results.append((contact, t, rng.choice(volunteer_ids), result, moment()))
        insert_sync(
            conn,
            "call_contacts",
            ("id", "task_id", "name", "phone", "state", "last_result", "attempts", "updated_at"),
            contacts,
        )
        insert_sync(
            conn,
            "call_results",
            ("contact_id", "task_id", "volunteer_id", "result", "called_at"),
            results,
        )
    conn.execute("ANALYZE")
    conn.commit()
    return {
        "volunteers": volunteers,
        "tasks": tasks,
        "assignments": assignments,
        "outcomes": len(outcome_rows),
        "calls": len(results),
        "teams": len(team_ids),
    }


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
                volunteer_id = await tx.insert_returning_id(
                    "INSERT INTO volunteers (status, first_name, language, postcode, department,"
                    " skills, timezone, quiet_hours, paused_until, created_at, joined_at,"
                    " last_active_at) VALUES (:status, :first_name, :language, :postcode,"
                    " :department, :skills, :timezone, :quiet_hours, :paused_until, :now,"
                    " :joined, :active)",
                    {
                        "status": person.status,
                        "first_name": person.first_name or None,
                        "language": person.language,
                        "postcode": person.postcode or None,
                        "department": person.department or None,
                        "skills": person.skills,
                        "timezone": person.timezone,
                        "quiet_hours": person.quiet_hours,
                        "paused_until": person.paused_until,
                        "now": stamp,
                        "joined": None if person.status == "onboarding" else stamp,
                        "active": to_iso(person.last_active_at or now),
                    },
                )
                ids.append(volunteer_id)
                await tx.execute(
                    "INSERT INTO identities (channel, user_id, volunteer_id, chat_id,"
                    " unreachable_at, created_at)"
                    " VALUES (:channel, :user, :volunteer, :user, :unreachable, :now)",
                    {
                        "channel": person.channel,
                        "user": person.user_id,
                        "volunteer": volunteer_id,
                        "unreachable": stamp if person.unreachable else None,
                        "now": stamp,
                    },
                )
                for team in person.teams:
                    team_id = await _team(tx, team, stamp)
                    await tx.execute(
                        "INSERT INTO team_members (team_id, volunteer_id, joined_at)"
                        " VALUES (:team, :volunteer, :now) ON CONFLICT DO NOTHING",
                        {"team": team_id, "volunteer": volunteer_id, "now": stamp},
                    )
                for role, team_name in person.roles:
                    role_team = await _team(tx, team_name, stamp) if team_name else None
                    await tx.execute(
                        "INSERT INTO roles (volunteer_id, role, team_id, granted_at)"
                        " VALUES (:volunteer, :role, :team, :now)",
                        {"volunteer": volunteer_id, "role": role, "team": role_team, "now": stamp},
                    )

    for person in people:
        batch.append(person)
        if len(batch) >= chunk:
            await write(batch)
            batch = []
    if batch:
        await write(batch)
    return ids


async def _team(tx: Tx, name: str, stamp: str) -> int:
    """A team's id, created if it does not exist yet."""
    return await tx.insert_returning_id(
        "INSERT INTO teams (name, created_at) VALUES (:name, :now)"
        " ON CONFLICT (name) DO UPDATE SET name = excluded.name",
        {"name": name, "now": stamp},
    )


# What synthetic_campaign writes, parents first (foreign keys hold at every step).
CAMPAIGN_TABLES = (
    "teams",
    "volunteers",
    "identities",
    "consents",
    "team_members",
    "tasks",
    "assignments",
    "outcomes",
    "call_contacts",
    "call_results",
)
# Tables whose ids synthetic_campaign chooses: on PostgreSQL they start after the highest.
NUMBERED = ("volunteers", "tasks", "assignments", "call_contacts")


async def holds_real_volunteers_on(db: PostgresDatabase) -> bool:
    """holds_real_volunteers, for a PostgreSQL database."""
    found = await db.fetch_value(
        "SELECT 1 FROM volunteers v WHERE v.status <> 'erased' AND NOT EXISTS (SELECT 1 FROM"
        " consents c WHERE c.volunteer_id = v.id AND c.text_version = :version) LIMIT 1",
        {"version": SYNTHETIC_CONSENT},
    )
    return found is not None


async def synthetic_campaign_on(
    db: PostgresDatabase,
    now: datetime,
    *,
    volunteers: int,
    tasks: int,
    assignments: int,
    id_base: int,
    channel: str = "telegram",
) -> dict[str, int]:
    """synthetic_campaign for a migrated PostgreSQL database: the rows are made in a
    scratch SQLite file (the same rows, the same random draws), then loaded with COPY in
    one transaction with the roll-up triggers off; the roll-up is rebuilt from all the
    rows, as migration 0007 builds it. 100,000 volunteers and a million assignments take
    about a minute on a quiet machine."""
    import tempfile
    from pathlib import Path

    from bot.storage.db import Database

    after = {
        table: int(await db.fetch_value(f"SELECT COALESCE(MAX(id), 0) FROM {table}"))
        for table in NUMBERED
    }
    teams = await db.fetch_all("SELECT id, name, created_at FROM teams")
    with tempfile.TemporaryDirectory(prefix="relais-seed-") as folder:
        scratch = Path(folder) / "seed.sqlite3"
        file = Database(scratch)
        await file.open()
        try:
            await file.migrate()
        finally:
            await file.close()
        conn = sqlite3.connect(scratch)
        try:
            # The database's teams, under their ids: new members join them, not copies.
            conn.executemany(
                "INSERT INTO teams (id, name, created_at) VALUES (?, ?, ?)",
                [tuple(team) for team in teams],
            )
            conn.commit()
            counts = synthetic_campaign(
                conn,
                now,
                volunteers=volunteers,
                tasks=tasks,
                assignments=assignments,
                id_base=id_base,
                channel=channel,
                after=after,
            )
            known_teams = max((team["id"] for team in teams), default=0)
            async with db.bulk_load([*CAMPAIGN_TABLES, "report_rollup"]) as load:
                for table in CAMPAIGN_TABLES:
                    columns = [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]
                    if table not in (*NUMBERED, "teams"):
                        # Ids the seed leaves to the database: PostgreSQL numbers them on.
                        columns = [column for column in columns if column != "id"]
                    where = f"WHERE id > {known_teams}" if table == "teams" else ""
                    names = ", ".join(columns)
                    cursor = conn.execute(f"SELECT {names} FROM {table} {where}")
                    while rows := cursor.fetchmany(50_000):
                        await load.insert(table, columns, rows)
                await load.execute("DELETE FROM report_rollup")
                await load.execute(_rollup_backfill_postgresql())
                await load.execute(f"ANALYZE {', '.join([*CAMPAIGN_TABLES, 'report_rollup'])}")
        finally:
            conn.close()
    return counts


def _rollup_backfill_postgresql() -> str:
    """The roll-up rebuild SQL of PostgreSQL's migration 0007 (between its marker comments)."""
    from importlib import resources

    from bot.storage.bulk import BACKFILL_END, BACKFILL_START

    folder = resources.files("bot.storage") / "migrations" / "postgresql"
    text = (folder / "0007_reports.sql").read_text(encoding="utf-8")
    start = text.index(BACKFILL_START)
    return text[start : text.index(BACKFILL_END, start)]
