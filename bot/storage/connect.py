"""The database DATABASE_URL names: SQLite for a file, PostgreSQL for postgresql://."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from bot.storage.db import Database


def database_for(path: Path, url: str = "") -> Database:
    """The backend for a campaign: the SQLite file at `path`, or PostgreSQL at `url`.

    Typed as the SQLite class until every repository takes a `Backend`: both offer the
    same interface (transaction, fetch_*, stream, migrate, version, backup)."""
    if url:
        from bot.storage.postgres import PostgresDatabase

        return cast(Database, PostgresDatabase(url))
    return Database(path)


def is_postgres(db: object) -> bool:
    """Whether `db` is the PostgreSQL backend (several processes may share it)."""
    return getattr(getattr(db, "dialect", None), "name", "") == "postgresql"
