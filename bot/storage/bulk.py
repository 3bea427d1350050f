"""Fast bulk inserts for tests, benchmarks and seeding; keeps the report roll-up right.

One INSERT statement per table, many rows per transaction: the benchmark loads a million
assignments this way in seconds. Only known tables and columns are accepted.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from typing import Any

from bot.storage.db import Database, placeholders

TABLES = frozenset(
    {
        "volunteers",
        "identities",
        "consents",
        "teams",
        "team_members",
        "roles",
        "tasks",
        "task_targets",
        "assignments",
        "outcomes",
        "offers",
        "call_contacts",
        "call_results",
        "outbox",
    }
)

Row = Sequence[Any]


def insert_sql(table: str, columns: Sequence[str]) -> str:
    """The INSERT for `columns` of `table`, refusing anything that is not a plain name."""
    if table not in TABLES or not all(c.isidentifier() for c in columns):
        raise ValueError(f"cannot seed {table}({', '.join(columns)})")
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders(columns)})"


async def insert(db: Database, table: str, columns: Sequence[str], rows: Iterable[Row]) -> int:
    """Insert rows in one transaction through the running database (either backend).

    Rows given with their ids leave PostgreSQL's identity behind them, as SQLite's is."""
    insert_sql(table, columns)  # the same check of names
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"
    )
    batch = [dict(zip(columns, row, strict=True)) for row in rows]
    async with db.transaction() as tx:
        await tx.execute_many(sql, batch)
        if "id" in columns and db.dialect.name == "postgresql":
            await tx.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), MAX(id)) FROM {table}"
            )
    return len(batch)


def insert_sync(
    conn: sqlite3.Connection,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Row],
    chunk: int = 50_000,
) -> int:
    """Insert rows with the plain sqlite3 module, committing every `chunk` rows."""
    sql = insert_sql(table, columns)
    count = 0
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= chunk:
            conn.executemany(sql, batch)
            conn.commit()
            count += len(batch)
            batch.clear()
    if batch:
        conn.executemany(sql, batch)
        conn.commit()
        count += len(batch)
    return count


def _rollup_backfill() -> str:
    """The roll-up rebuild SQL of migration 0007 (between its two marker comments)."""
    folder = resources.files("bot.storage") / "migrations"
    text = (folder / "0007_reports.sql").read_text(encoding="utf-8")
    start = text.index(BACKFILL_START)
    return text[start : text.index(BACKFILL_END, start)]


BACKFILL_START = "-- What happened before this migration."
BACKFILL_END = "-- From now on"


@contextmanager
def rollup_rebuilt_after(conn: sqlite3.Connection) -> Iterator[None]:
    """Load in bulk with the roll-up triggers off, then rebuild the roll-up in one pass.

    A million rows through the triggers take minutes; the rebuild (the same SQL migration
    0007 runs on existing data) takes seconds and gives the same figures.
    """
    triggers = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'report_%'"
    ).fetchall()
    for name, _sql in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    conn.commit()
    try:
        yield
    finally:
        conn.execute("DELETE FROM report_rollup")
        conn.executescript(_rollup_backfill())
        for _name, sql in triggers:
            conn.execute(sql)
        conn.commit()
