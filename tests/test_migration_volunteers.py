"""Migration 0002 on a database already holding volunteers at version 1."""

from __future__ import annotations

import sqlite3
from pathlib import Path

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
