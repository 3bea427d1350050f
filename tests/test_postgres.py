"""The PostgreSQL backend: parameters, migrations, transactions, backups, settings.

Tests taking `db` or `database_url` run on both backends (tests/postgres.py); the others
open PostgreSQL themselves through the `pg_url` fixture, a schema of their own.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from bot.config import ConfigError, Settings
from bot.storage.backend import Conflict, StorageBusy, StorageError, StorageMissing, Unit
from bot.storage.connect import database_for, is_postgres
from bot.storage.db import Database, available_migrations
from bot.storage.postgres import PostgresDatabase, reads, translate
from tests.postgres import fresh_schema


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> object:
    yield from fresh_schema(request)


@pytest.fixture
async def pg(pg_url: str) -> AsyncIterator[PostgresDatabase]:
    db = PostgresDatabase(pg_url)
    await db.open()
    yield db
    await db.close()


def test_named_parameters_become_numbered_ones_outside_literals_casts_and_comments() -> None:
    sql = (
        "SELECT :a, ':b', x::text, \"c:d\", $$ :e $$ -- :f\nFROM t WHERE y = :a AND z = :z /* :g */"
    )
    text, order = translate(sql)
    assert text == (
        "SELECT $1, ':b', x::text, \"c:d\", $$ :e $$ -- :f\nFROM t WHERE y = $1 AND z = $2 /* :g */"
    )
    assert order == ("a", "z")
    assert translate("SELECT 'it''s :x', :y") == ("SELECT 'it''s :x', $1", ("y",))


def test_database_url_chooses_the_backend() -> None:
    sqlite = Settings.from_env({"DATABASE_URL": "sqlite:///data/x.sqlite3"})
    assert (sqlite.database_path, sqlite.database_url) == (Path("data/x.sqlite3"), "")
    assert Settings.from_env({"DATABASE_URL": "campaign.sqlite3"}).database_path == Path(
        "campaign.sqlite3"
    )
    url = "postgresql://relais@db.internal:5433/campagne"
    assert Settings.from_env({"DATABASE_URL": url}).database_url == url
    assert isinstance(database_for(Path("x"), url), PostgresDatabase)
    assert isinstance(database_for(Path("x"), ""), Database)
    with pytest.raises(ConfigError, match=r"^DATABASE_URL: name the server and the database"):
        Settings.from_env({"DATABASE_URL": "postgresql://localhost"})


def test_every_postgresql_migration_replaces_a_shared_one() -> None:
    shared = [number for number, _ in available_migrations()]
    assert [number for number, _ in available_migrations("postgresql")] == shared
    own = Path(__file__).parent.parent / "bot" / "storage" / "migrations" / "postgresql"
    for path in own.glob("*.sql"):
        assert int(path.name[:4]) in shared, path.name


def test_a_migration_without_a_postgresql_file_means_the_same_on_both() -> None:
    # What PostgreSQL accepts but reads differently: an INTEGER PRIMARY KEY is no identity
    # there (inserts without an id fail), REAL is single precision. Write a file in
    # migrations/postgresql/ with the same number instead.
    own = dict(available_migrations("postgresql"))
    for number, sql in available_migrations():
        if own[number] != sql:
            continue
        for pattern in (
            r"\bINTEGER\s+PRIMARY\s+KEY\s*,",
            r"\bREAL\b",
            r"\bAUTOINCREMENT\b",
            r"COLLATE\s+NOCASE",
            r"\bIFNULL\b",
            r"\bCREATE\s+TRIGGER\b",
            r"\bWITHOUT\s+ROWID\b",
        ):
            assert not re.search(pattern, sql, re.IGNORECASE), (number, pattern)


async def test_an_empty_database_migrates_to_the_newest_version(pg: PostgresDatabase) -> None:
    newest = available_migrations("postgresql")[-1][0]
    assert await pg.version() == 0
    assert (await pg.migrate())[-1] == newest
    assert await pg.version() == newest
    assert await pg.migrate() == []  # nothing twice
    assert is_postgres(pg)


async def test_a_database_at_every_earlier_version_migrates(pg_url: str) -> None:
    migrations = available_migrations("postgresql")
    for index, (number, _) in enumerate(migrations[:-1]):
        schema_url = pg_url
        db = PostgresDatabase(schema_url)
        await db.open()
        try:
            # Build the database as an older Relais would have left it.
            await db.pool.execute("DROP TABLE IF EXISTS schema_version")
            for table in await db.fetch_all(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            ):
                await db.pool.execute(f'DROP TABLE "{table[0]}" CASCADE')
            await db.pool.execute("DROP COLLATION IF EXISTS nocase")
            await db.pool.execute(
                "DROP FUNCTION IF EXISTS " + ", ".join(_trigger_functions()) + " CASCADE"
            )
            async with db.pool.acquire() as conn:
                for _earlier, sql in migrations[: index + 1]:
                    await conn.execute(sql)
                await conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
                await conn.execute(f"INSERT INTO schema_version VALUES ({number})")
            await db.migrate()
            assert await db.version() == migrations[-1][0]
        finally:
            await db.close()


def _trigger_functions() -> list[str]:
    """The functions the migrations create (their triggers call them)."""
    return [
        line.split()[2].removesuffix("()")
        for _number, sql in available_migrations("postgresql")
        for line in sql.splitlines()
        if line.startswith("CREATE FUNCTION")
    ]


async def test_a_database_newer_than_relais_is_refused(pg: PostgresDatabase) -> None:
    await pg.pool.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    await pg.pool.execute("INSERT INTO schema_version VALUES (9999)")
    with pytest.raises(StorageError, match="newer"):
        await pg.migrate()


async def test_a_missing_database_is_named_and_never_created() -> None:
    from tests.postgres import server_url, unreachable_reason

    if unreachable_reason():
        pytest.skip("PostgreSQL not reachable")
    url = server_url().rsplit("/", 1)[0] + "/relais_no_such_database"
    with pytest.raises(StorageMissing, match="relais_no_such_database"):
        await PostgresDatabase(url).open()


async def test_a_transaction_cancelled_midway_leaves_nothing_and_the_next_one_works(
    pg: PostgresDatabase,
) -> None:
    await pg.migrate()

    async def slow_write() -> None:
        async with pg.transaction() as tx:
            await tx.execute("INSERT INTO teams (name, created_at) VALUES ('half', 'x')")
            await asyncio.sleep(10)

    for delay in (0, 0.0001, 0.001, 0.01):
        task = asyncio.create_task(slow_write())
        await asyncio.sleep(delay)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        async with pg.transaction() as tx:  # the next writer is not stuck
            await tx.execute(
                "INSERT INTO teams (name, created_at) VALUES (:name, 'x')", {"name": str(delay)}
            )
    assert await pg.fetch_value("SELECT COUNT(*) FROM teams WHERE name = 'half'") == 0
    assert await pg.fetch_value("SELECT COUNT(*) FROM teams") == 4


async def test_a_conflict_rolls_back_the_whole_transaction(pg: PostgresDatabase) -> None:
    await pg.migrate()
    async with pg.transaction() as tx:
        await tx.execute("INSERT INTO teams (name, created_at) VALUES ('Nord', 'x')")
    with pytest.raises(Conflict):
        async with pg.transaction() as tx:
            await tx.execute("INSERT INTO teams (name, created_at) VALUES ('Sud', 'x')")
            # Team names ignore case, as SQLite's NOCASE does.
            await tx.execute("INSERT INTO teams (name, created_at) VALUES ('NORD', 'x')")
    assert await pg.fetch_value("SELECT COUNT(*) FROM teams") == 1
    assert await pg.fetch_value("SELECT name FROM teams WHERE name = 'nord'") == "Nord"


async def test_transactions_that_only_write_do_not_wait_for_each_other(
    pg: PostgresDatabase,
) -> None:
    await pg.migrate()
    other = PostgresDatabase(pg.url, pool_size=3)  # another process on the same schema
    await other.open()
    held = asyncio.Event()
    release = asyncio.Event()

    async def slow_writer() -> None:
        async with pg.transaction() as tx:
            await tx.execute("INSERT INTO teams (name, created_at) VALUES ('slow', 'x')")
            held.set()
            await release.wait()

    slow = asyncio.create_task(slow_writer())
    try:
        await held.wait()
        async with other.transaction() as tx:  # neither process waits for the slow one
            await tx.execute("INSERT INTO teams (name, created_at) VALUES ('quick', 'x')")
        async with pg.transaction() as tx:
            await tx.execute("UPDATE teams SET name = 'quicker' WHERE name = 'quick'")
        assert await pg.fetch_value("SELECT COUNT(*) FROM teams") == 1
    finally:
        release.set()
        await slow
        await other.close()
    assert await pg.fetch_value("SELECT COUNT(*) FROM teams") == 2


async def test_transactions_that_read_then_write_never_lose_an_update(
    pg: PostgresDatabase,
) -> None:
    await pg.migrate()
    # Two processes of few connections each (the server's are shared by the whole suite):
    # two writers at a time in each.
    one, other = PostgresDatabase(pg.url, pool_size=4), PostgresDatabase(pg.url, pool_size=4)
    await one.open()
    await other.open()
    async with pg.transaction() as tx:
        await tx.execute("INSERT INTO teams (name, created_at) VALUES ('0', 'x')")

    async def add_one(db: PostgresDatabase, key: int) -> None:
        async with db.transaction() as tx:
            # A key noted first, as an update's key rides in: the lock comes with the read.
            await tx.execute(
                "INSERT INTO teams (name, created_at) VALUES (:n, 'x')", {"n": f"key {key}"}
            )
            count = int(
                await tx.fetch_value(
                    "SELECT name FROM teams WHERE created_at = 'x' ORDER BY id LIMIT 1"
                )
            )
            await asyncio.sleep(0.001)
            await tx.execute(
                "UPDATE teams SET name = :n WHERE name = :was",
                {"n": str(count + 1), "was": str(count)},
            )

    try:
        await asyncio.gather(*(add_one(db, n) for n, db in enumerate([one, other] * 10)))
    finally:
        await one.close()
        await other.close()
    assert await pg.fetch_value("SELECT name FROM teams ORDER BY id LIMIT 1") == "20"


async def test_a_deadlock_between_writers_asks_to_try_again_and_keeps_nothing(
    pg: PostgresDatabase,
) -> None:
    await pg.migrate()
    async with pg.transaction() as tx:
        await tx.execute("INSERT INTO teams (name, created_at) VALUES ('shared', 'x')")
    other = PostgresDatabase(pg.url, pool_size=2)  # another process on the same schema
    await other.open()
    wrote = asyncio.Event()
    locked = asyncio.Event()

    async def writes_then_reads() -> None:
        async with pg.transaction() as tx:
            await tx.execute("UPDATE teams SET name = 'first' WHERE name = 'shared'")
            wrote.set()
            await locked.wait()
            await tx.fetch_value("SELECT COUNT(*) FROM teams")  # waits for the schema's lock

    async def reads_then_writes() -> None:
        await wrote.wait()
        async with other.transaction() as tx:
            await tx.fetch_value("SELECT COUNT(*) FROM teams")  # takes the schema's lock
            locked.set()
            await tx.execute("UPDATE teams SET name = 'second' WHERE created_at = 'x'")

    try:
        outcomes = await asyncio.gather(
            writes_then_reads(), reads_then_writes(), return_exceptions=True
        )
    finally:
        await other.close()
    # PostgreSQL aborts one of the two: its person is asked to try again, the other's write
    # is kept whole.
    failed = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(failed) == 1 and isinstance(failed[0], StorageBusy), outcomes
    kept = "second" if outcomes[1] is None else "first"
    assert await pg.fetch_value("SELECT name FROM teams") == kept


async def test_an_update_whose_connection_dies_in_a_block_gives_it_back(pg_url: str) -> None:
    db = PostgresDatabase(pg_url, pool_size=2)
    await db.open()
    await db.migrate()
    try:
        # More updates than the pool holds: a connection kept by a broken one would make
        # the third wait for ever.
        for attempt in range(3):
            unit = Unit()
            async with asyncio.timeout(10), db.transaction() as tx:
                await tx.execute(
                    "INSERT INTO teams (name, created_at) VALUES (:n, 'x')", {"n": str(attempt)}
                )
            pid = await db.fetch_value("SELECT pg_backend_pid()")  # the update's connection
            with pytest.raises(Exception):  # noqa: B017 - whatever the dead connection says
                async with asyncio.timeout(10), db.transaction() as tx:
                    killer = await asyncpg.connect(pg_url)
                    try:
                        await killer.execute("SELECT pg_terminate_backend($1)", pid)
                    finally:
                        await killer.close()
                    raise LookupError("a refusal caught by the service")
            await asyncio.wait_for(unit.rollback(), 10)
        async with asyncio.timeout(10), db.transaction() as tx:
            await tx.execute("INSERT INTO teams (name, created_at) VALUES ('after', 'x')")
        assert await db.fetch_value("SELECT name FROM teams") == "after"
    finally:
        await asyncio.wait_for(db.close(), 10)  # a connection never given back: it waits


async def test_an_update_that_only_leaves_its_key_and_answers_waits_for_no_lock(
    pg: PostgresDatabase,
) -> None:
    await pg.migrate()
    other = PostgresDatabase(pg.url, pool_size=2)  # another process on the same schema
    await other.open()
    held = asyncio.Event()
    release = asyncio.Event()

    async def reading_writer() -> None:  # holds the schema's lock until released
        async with other.transaction() as tx:
            await tx.fetch_value("SELECT COUNT(*) FROM teams")
            held.set()
            await release.wait()

    holder = asyncio.create_task(reading_writer())
    try:
        await held.wait()
        # /help on another process: it changed nothing, and leaves its key and answers.
        unit = Unit()
        unit.only_writes = True
        async with asyncio.timeout(5), pg.transaction() as tx:
            await tx.execute(
                "INSERT INTO processed_updates (key, seen_at) VALUES ('tg:1', '2026-01-01')"
            )
        await asyncio.wait_for(unit.commit(), 5)
    finally:
        release.set()
        await holder
        await other.close()
    assert await pg.fetch_value("SELECT key FROM processed_updates") == "tg:1"


def test_only_statements_that_read_take_the_schemas_lock() -> None:
    blind = [
        "INSERT INTO outbox (a) VALUES (:a) ON CONFLICT (dedupe_key) DO NOTHING",
        "UPDATE volunteers SET last_active_at = :now WHERE id = :id",
        "DELETE FROM processed_updates WHERE key = 'select'  -- not a SELECT",
    ]
    reading = [
        "SELECT 1",
        "INSERT INTO outbox (a) SELECT a FROM b WHERE c",
        "UPDATE tasks SET n = (SELECT 1) WHERE id = :id",
        "UPDATE tasks SET n = 1 FROM offers WHERE offers.task_id = tasks.id",
        "DELETE FROM offers USING tasks WHERE tasks.id = offers.task_id",
        "WITH x AS (DELETE FROM a RETURNING id) INSERT INTO b SELECT id FROM x",
    ]
    assert not any(reads(sql) for sql in blind)
    assert all(reads(sql) for sql in reading)


async def test_the_roll_up_triggers_count_what_is_written(db: Database) -> None:
    at = "2026-03-01T10:15:00+00:00"
    async with db.transaction() as tx:
        volunteer = await tx.insert_returning_id(
            "INSERT INTO volunteers (status, department, created_at, last_active_at)"
            " VALUES ('active', '69', :at, :at)",
            {"at": at},
        )
        task = await tx.insert_returning_id(
            "INSERT INTO tasks (kind, title, opens_at, created_at, updated_at)"
            " VALUES ('call', 'Appeler', :at, :at, :at)",
            {"at": at},
        )
        contact = await tx.insert_returning_id(
            "INSERT INTO call_contacts (task_id, name, phone, updated_at)"
            " VALUES (:task, 'A', '+33600000000', :at)",
            {"task": task, "at": at},
        )
        await tx.execute(
            "INSERT INTO call_results (contact_id, task_id, volunteer_id, result, called_at)"
            " VALUES (:contact, :task, :volunteer, 'supporter', :at)",
            {"contact": contact, "task": task, "volunteer": volunteer, "at": at},
        )
        await tx.execute(
            "INSERT INTO assignments (task_id, volunteer_id, state, created_at, accepted_at,"
            " finished_at, updated_at) VALUES (:task, :volunteer, 'done', :at, :at, :at, :at)",
            {"task": task, "volunteer": volunteer, "at": at},
        )
    rows = await db.fetch_all(
        "SELECT axis, unit, span, hour, accepted, done, calls, supporter FROM report_rollup"
        " ORDER BY axis, span"
    )
    assert [tuple(row) for row in rows] == [
        ("all", "", "d", "2026-03-01", 1, 1, 1, 1),
        ("all", "", "h", "2026-03-01T10", 1, 1, 1, 1),
        ("area", "69", "d", "2026-03-01", 1, 1, 1, 1),
        ("area", "69", "h", "2026-03-01T10", 1, 1, 1, 1),
    ]


async def test_the_dialect_writes_greatest_and_least(db: Database) -> None:
    # A parameter with nothing to take its type from is text on PostgreSQL: say it.
    a, b = "CAST(:a AS INTEGER)", "CAST(:b AS INTEGER)"
    sql = f"SELECT {db.dialect.greatest(a, b)}, {db.dialect.least(a, b)}"
    row = await db.fetch_one(sql, {"a": 3, "b": 7})
    assert tuple(row) == (7, 3)


async def test_the_dialect_names_an_index_where_it_can(db: Database) -> None:
    hint = db.dialect.indexed_by("tasks_queue")
    assert await db.fetch_all(f"SELECT id FROM tasks t {hint} WHERE status = 'open'") == []


async def test_the_dialect_joins_text(db: Database) -> None:
    async with db.transaction() as tx:
        for name in ("Nord", "Sud"):
            await tx.execute(
                "INSERT INTO teams (name, created_at) VALUES (:name, 'x')", {"name": name}
            )
    joined = db.dialect.joined("t.name", "|")
    sql = f"SELECT {joined} FROM (SELECT name FROM teams ORDER BY name) t"
    assert await db.fetch_value(sql) == "Nord|Sud"


async def test_a_stream_reads_in_chunks(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.execute_many(
            "INSERT INTO teams (name, created_at) VALUES (:name, 'x')",
            [{"name": f"T{n:03d}"} for n in range(120)],
        )
    names = [row["name"] async for row in db.stream("SELECT name FROM teams ORDER BY id", chunk=7)]
    assert names == [f"T{n:03d}" for n in range(120)]


async def test_backup_on_postgresql_is_a_pg_dump(pg: PostgresDatabase, tmp_path: Path) -> None:
    import shutil

    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump not installed")
    await pg.migrate()
    async with pg.transaction() as tx:
        await tx.execute("INSERT INTO teams (name, created_at) VALUES ('Paris 11', 'x')")
    target = tmp_path / "backups" / "relais.dump"
    await pg.backup(target)
    assert target.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
    assert target.stat().st_mode & 0o777 == 0o600
    with pytest.raises(StorageError, match=r"relais\.dump"):  # never overwritten
        await pg.backup(target)


@pytest.mark.parametrize("required", ["", "1"])
def test_a_run_without_postgresql_says_so_or_fails_where_it_is_required(
    required: str, tmp_path: Path
) -> None:
    import os
    import subprocess
    import sys

    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("RELAIS_TEST_SUITE_DATABASE", "PYTEST_XDIST_WORKER")
    }
    env.update(
        RELAIS_TEST_POSTGRES="postgresql://postgres@127.0.0.1:9/test",  # nothing listens
        RELAIS_REQUIRE_POSTGRES=required,
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            "tests/test_storage.py",
            "-k",
            "backend_interface",
        ],
        cwd=Path(__file__).parent.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    if required:
        assert result.returncode != 0
        assert "RELAIS_REQUIRE_POSTGRES is set but PostgreSQL at" in output
    else:
        assert result.returncode == 0, output
        lines = [line for line in output.splitlines() if "PostgreSQL not reachable at" in line]
        assert len(lines) == 1 and "ran on SQLite only" in lines[0]
        assert "1 passed, 1 skipped" in output
