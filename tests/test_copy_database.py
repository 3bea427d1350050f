"""`python -m bot copy-database --to postgresql://…`: a campaign moves from its SQLite file
into an empty PostgreSQL database, every table verified, and carries on there."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.storage.backend import StorageError
from bot.storage.copy import copy_campaign
from bot.storage.db import Database
from bot.storage.postgres import BulkLoad, PostgresDatabase
from tests.postgres import fresh_schema

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from fresh_schema(request)


def bot(database: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "RELAIS_LOG_LEVEL": "WARNING",
        "RELAIS_LANGUAGE": "en",
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded SQLite campaign: volunteers, teams, tasks, assignments, the roll-up."""
    path = tmp_path_factory.mktemp("campaign") / "relais.sqlite3"
    url = f"sqlite:///{path}"
    assert bot(url, "migrate").returncode == 0
    seeded = bot(url, "seed", "--volunteers", "400", "--tasks", "30", "--assignments", "900")
    assert seeded.returncode == 0, seeded.stderr
    return path


def counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        names = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {
            name: conn.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for name in names
        }


def test_a_campaign_moves_to_postgresql_verified_and_carries_on_there(
    campaign: Path, pg_url: str
) -> None:
    before = counts(campaign)
    assert before["volunteers"] == 400 and before["report_rollup"] > 0
    joined_sql = "SELECT joined_at FROM volunteers ORDER BY id"
    with sqlite3.connect(campaign) as conn:
        joined = [row[0] for row in conn.execute(joined_sql)]
    assert all(joined)  # when each joined (migration 0018) moves with them

    copied = bot(f"sqlite:///{campaign}", "copy-database", "--to", pg_url)
    assert copied.returncode == 0, copied.stderr
    lines = copied.stdout.splitlines()
    assert "volunteers: 400 rows, checksum " in copied.stdout
    assert "report_rollup: " in copied.stdout
    assert lines[-1].startswith(f"Copied {len(before)} tables from {campaign} to ")
    assert "each verified" in lines[-1] and f"DATABASE_URL={pg_url}" in lines[-1]

    # The bot's own commands now work on PostgreSQL, at the same version, on the same data.
    migrated = bot(pg_url, "migrate")
    assert migrated.returncode == 0 and "up to date" in migrated.stdout, migrated.stderr

    async def check() -> None:
        db = PostgresDatabase(pg_url)
        await db.open()
        try:
            for table, rows in before.items():
                assert await db.fetch_value(f'SELECT COUNT(*) FROM "{table}"') == rows, table
            assert [row[0] for row in await db.fetch_all(joined_sql)] == joined
            # New rows get ids after the copied ones, and the roll-up triggers are back on.
            top = await db.fetch_value("SELECT MAX(id) FROM volunteers")
            async with db.transaction() as tx:
                new = await tx.insert_returning_id(
                    "INSERT INTO volunteers (status, created_at, last_active_at)"
                    " VALUES ('active', 'x', 'x')"
                )
            assert new == top + 1
            triggers = await db.fetch_value(
                "SELECT COUNT(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                " WHERE c.relnamespace = current_schema()::regnamespace"
                " AND t.tgname LIKE 'report_%' AND t.tgenabled = 'O'"
            )
            assert triggers == 8
        finally:
            await db.close()

    import asyncio

    asyncio.run(check())

    # A second copy would mix two campaigns: refused, and nothing changes.
    again = bot(f"sqlite:///{campaign}", "copy-database", "--to", pg_url)
    assert again.returncode == 1
    assert "is not empty (" in again.stderr and "only fills an empty database" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1


async def test_a_copy_that_reads_back_differently_leaves_the_target_empty(
    campaign: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    insert = BulkLoad.insert

    async def lose_a_row(self: BulkLoad, table: str, columns: object, rows: list) -> None:  # type: ignore[type-arg]
        await insert(self, table, columns, rows[1:] if table == "assignments" else rows)  # type: ignore[arg-type]

    monkeypatch.setattr(BulkLoad, "insert", lose_a_row)
    source, target = Database(campaign), PostgresDatabase(pg_url)
    await source.open(create=False)
    await target.open()
    try:
        with pytest.raises(StorageError, match="assignments"):
            await copy_campaign(source, target)
        assert await target.fetch_value("SELECT COUNT(*) FROM volunteers") == 0
    finally:
        await source.close()
        await target.close()


def test_copy_database_wants_a_postgresql_target(campaign: Path) -> None:
    result = bot(f"sqlite:///{campaign}", "copy-database", "--to", "/tmp/other.sqlite3")
    assert result.returncode == 2
    assert result.stderr.strip() == "--to: expected postgresql://user@host/database"
