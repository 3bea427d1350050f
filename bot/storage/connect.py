"""The database DATABASE_URL names: SQLite for a file, PostgreSQL for postgresql://."""

from __future__ import annotations

from pathlib import Path

from bot.storage.backend import Store
from bot.storage.db import Database


def database_for(path: Path, url: str = "", *, pool_size: int = 10) -> Store:
    """The backend for a campaign: the SQLite file at `path`, or PostgreSQL at `url` (with
    up to `pool_size` connections, RELAIS_PG_POOL).

    Both satisfy `Store` (mypy checks it here, with no cast)."""
    if url:
        from bot.storage.postgres import PostgresDatabase

        return PostgresDatabase(url, pool_size=pool_size)
    return Database(path)


def is_postgres(db: object) -> bool:
    """Whether `db` is the PostgreSQL backend (several processes may share it)."""
    return getattr(getattr(db, "dialect", None), "name", "") == "postgresql"
