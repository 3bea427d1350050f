"""Migrations of the volunteers table on a database already holding volunteers: 0002 at
version 1, 0018 at version 17."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.config import Settings
from bot.storage import db as db_module
from bot.storage import postgres as postgres_module
from bot.storage.connect import database_for
from bot.storage.db import Database, available_migrations


async def test_0002_keeps_existing_volunteers_and_adds_the_retention_column(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite3"
    foundation = dict(available_migrations())[1]
    with sqlite3.connect(path) as conn:
        conn.executescript(foundation + "\nPRAGMA user_version = 1;")
        conn.execute(
            "INSERT INTO volunteers (status, first_name, created_at, last_active_at)"
            " VALUES ('active', 'Ana', '2026-01-01T00:00:00.000000Z',"
            " '2026-01-01T00:00:00.000000Z')"
        )
    db = Database(path)
    await db.open()
    try:
        applied = await db.migrate()
        assert applied[0] == 2
        row = await db.fetch_one("SELECT first_name, retention_warned_at FROM volunteers")
        assert row is not None and tuple(row) == ("Ana", None)
    finally:
        await db.close()


async def test_0018_dates_the_joining_of_everyone_who_had_joined(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows out of 'onboarding' joined when they came, as /report counted them before; a row
    still joining has not joined. On both backends."""
    every = available_migrations

    def before_0018(dialect: str = "sqlite") -> list[tuple[int, str]]:
        return [(number, sql) for number, sql in every(dialect) if number < 18]

    monkeypatch.setattr(db_module, "available_migrations", before_0018)
    monkeypatch.setattr(postgres_module, "available_migrations", before_0018)
    database = database_for(settings.database_path, settings.database_url)
    await database.open()
    try:
        assert (await database.migrate())[-1] == 17
        async with database.transaction() as tx:
            for n, status in enumerate(("onboarding", "active", "paused", "stopped", "erased")):
                await tx.execute(
                    "INSERT INTO volunteers (status, created_at, last_active_at)"
                    " VALUES (:status, :created, :created)",
                    {"status": status, "created": f"2026-0{n + 1}-01T08:00:00.000000Z"},
                )
        monkeypatch.undo()
        assert await database.migrate() == [18]
        rows = await database.fetch_all("SELECT status, joined_at FROM volunteers ORDER BY id")
        assert [tuple(r) for r in rows] == [
            ("onboarding", None),
            ("active", "2026-02-01T08:00:00.000000Z"),
            ("paused", "2026-03-01T08:00:00.000000Z"),
            ("stopped", "2026-04-01T08:00:00.000000Z"),
            ("erased", "2026-05-01T08:00:00.000000Z"),
        ]
    finally:
        await database.close()
