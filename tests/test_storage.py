"""The database: migrations, transactions, backups, a locked or read-only database.

Tests taking the `db` fixture run on SQLite and on PostgreSQL (tests/postgres.py), except
those marked sqlite_only, which check the SQLite file itself."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot.storage.backend import Conflict, in_list
from bot.storage.db import Database, StorageBusy, StorageError, available_migrations


async def test_an_empty_database_migrates_to_the_newest_version(tmp_path: Path) -> None:
    db = Database(tmp_path / "new.sqlite3")
    await db.open()
    try:
        applied = await db.migrate()
        newest = available_migrations()[-1][0]
        assert applied[-1] == newest and await db.version() == newest
        assert await db.migrate() == []  # nothing twice
        assert await db.fetch_value("PRAGMA journal_mode") == "wal"
        assert await db.fetch_value("PRAGMA foreign_keys") == 1
        assert await db.fetch_value("PRAGMA secure_delete") == 1
    finally:
        await db.close()


def test_migrations_are_numbered_one_by_one() -> None:
    # Two changes made side by side can both add "the next" migration: one must renumber.
    numbers = [number for number, _ in available_migrations()]
    assert numbers == list(range(1, len(numbers) + 1)), numbers


async def test_a_database_at_every_earlier_version_migrates(tmp_path: Path) -> None:
    migrations = available_migrations()
    for index, (number, _) in enumerate(migrations):
        path = tmp_path / f"v{number}.sqlite3"
        # Build the database as an older Relais would have left it.
        with sqlite3.connect(path) as conn:
            for earlier, sql in migrations[: index + 1]:
                conn.executescript(sql)
                conn.execute(f"PRAGMA user_version = {earlier}")
        db = Database(path)
        await db.open()
        try:
            await db.migrate()
            assert await db.version() == migrations[-1][0]
        finally:
            await db.close()


async def test_a_database_newer_than_relais_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 9999")
    db = Database(path)
    await db.open()
    try:
        with pytest.raises(StorageError, match="newer"):
            await db.migrate()
    finally:
        await db.close()


async def test_a_failed_transaction_leaves_nothing_behind(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO teams (name, created_at) VALUES ('Lyon 3', '2026-01-01')")
            raise RuntimeError("boom")
    assert await db.fetch_value("SELECT COUNT(*) FROM teams") == 0


async def test_concurrent_transactions_do_not_mix(db: Database) -> None:
    async def add(name: str) -> None:
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO teams (name, created_at) VALUES (:name, 'x')", {"name": name}
            )
            await asyncio.sleep(0)
            await tx.execute("UPDATE teams SET created_at = 'y' WHERE name = :name", {"name": name})

    await asyncio.gather(*(add(f"team {i}") for i in range(50)))
    assert await db.fetch_value("SELECT COUNT(*) FROM teams WHERE created_at = 'y'") == 50


@pytest.mark.sqlite_only
async def test_backup_is_a_consistent_copy(db: Database, tmp_path: Path) -> None:
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO teams (name, created_at) VALUES ('Paris 11', 'x')")
    target = tmp_path / "backups" / "copy.sqlite3"
    await db.backup(target)
    with sqlite3.connect(target) as conn:
        assert conn.execute("SELECT name FROM teams").fetchall() == [("Paris 11",)]
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


@pytest.mark.sqlite_only
async def test_a_database_locked_too_long_is_reported_busy(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another process holds the write lock; our wait is shortened for the test.
    other = sqlite3.connect(db.path, timeout=0)
    other.execute("BEGIN IMMEDIATE")
    try:
        await db.writer.execute("PRAGMA busy_timeout=200")
        with pytest.raises(StorageBusy):
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO teams (name, created_at) VALUES ('x', 'x')")
    finally:
        other.rollback()
        other.close()
    assert await db.fetch_value("SELECT COUNT(*) FROM teams") == 0


@pytest.mark.sqlite_only
async def test_a_transaction_cancelled_midway_leaves_the_connection_usable(db: Database) -> None:
    async def slow_write() -> None:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO teams (name, created_at) VALUES ('half', 'x')")
            await asyncio.sleep(10)

    for delay in (0, 0.0001, 0.001, 0.01):
        task = asyncio.create_task(slow_write())
        await asyncio.sleep(delay)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not db.writer.in_transaction
        async with db.transaction() as tx:  # the next writer is not stuck in a transaction
            await tx.execute(
                "INSERT INTO teams (name, created_at) VALUES (:name, 'x')", {"name": str(delay)}
            )
    assert await db.fetch_value("SELECT COUNT(*) FROM teams WHERE name = 'half'") == 0
    assert await db.fetch_value("SELECT COUNT(*) FROM teams") == 4


async def test_what_was_just_written_is_read_back_while_a_stream_is_open(db: Database) -> None:
    async with db.transaction() as tx:
        for name in ("Nord", "Sud", "Est"):
            await tx.execute(
                "INSERT INTO teams (name, created_at) VALUES (:name, '2026-01-01')", {"name": name}
            )
    # An export streams teams slowly; meanwhile someone creates a team and reads it back.
    stream = db.stream("SELECT name FROM teams ORDER BY id", chunk=1)
    first = await anext(stream)
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO teams (name, created_at) VALUES ('Ouest', '2026-01-01')")
    assert await db.fetch_value("SELECT COUNT(*) FROM teams WHERE name = 'Ouest'") == 1
    assert [r["name"] for r in await db.fetch_all("SELECT name FROM teams ORDER BY id")] == [
        "Nord",
        "Sud",
        "Est",
        "Ouest",
    ]
    rest = [row["name"] async for row in stream]
    assert [first["name"], *rest] == ["Nord", "Sud", "Est"]  # the stream kept its snapshot


async def test_overlapping_reads_see_every_commit(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO teams (name, created_at) VALUES ('Nord', '2026-01-01')")

    async def write_then_read(n: int) -> object:
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO teams (name, created_at) VALUES (:name, '2026-01-01')",
                {"name": f"T{n}"},
            )
        return await db.fetch_value("SELECT name FROM teams WHERE name = :name", {"name": f"T{n}"})

    async def keep_reading() -> None:
        for _ in range(200):
            await db.fetch_all("SELECT * FROM teams")

    readers = [asyncio.create_task(keep_reading()) for _ in range(4)]
    found = await asyncio.gather(*(write_then_read(n) for n in range(100)))
    await asyncio.gather(*readers)
    assert found == [f"T{n}" for n in range(100)]


async def test_the_backend_interface_names_its_parameters_and_reports_conflicts(
    db: Database,
) -> None:
    async with db.transaction() as tx:
        first = await tx.insert_returning_id(
            "INSERT INTO teams (name, created_at) VALUES (:name, :at)",
            {"name": "Lyon", "at": "2026-01-01T00:00:00+00:00"},
        )
        changed = await tx.execute(
            "UPDATE teams SET name = :name WHERE id = :id", {"name": "Lyon 3e", "id": first}
        )
    assert changed == 1
    assert await db.fetch_value("SELECT name FROM teams WHERE id = :id", {"id": first}) == (
        "Lyon 3e"
    )
    with pytest.raises(Conflict):
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO teams (name, created_at) VALUES (:name, :at)",
                {"name": "Lyon 3e", "at": "2026-01-01T00:00:00+00:00"},
            )
    listed, params = in_list("ids", [first, first + 1])
    rows = await db.fetch_all(f"SELECT id FROM teams WHERE id IN ({listed})", params)
    assert [row["id"] for row in rows] == [first]
    nothing, none = in_list("ids", [])
    assert await db.fetch_all(f"SELECT id FROM teams WHERE id IN ({nothing})", none) == []
