"""Fast bulk inserts for tests, benchmarks and seeding; keeps the report roll-up right.

One INSERT statement per table, many rows per transaction: the benchmark loads a million
assignments this way in seconds. Only known tables and columns are accepted.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from typing import Any

from bot.storage.backend import Backend

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
    values = ", ".join(f":{column}" for column in columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values})"


def _named(columns: Sequence[str], row: Row) -> dict[str, Any]:
    return dict(zip(columns, row, strict=True))


async def insert(db: Backend, table: str, columns: Sequence[str], rows: Iterable[Row]) -> int:
    """Insert rows in one transaction through the running database (either backend).

    Rows given with their ids leave PostgreSQL's identity behind them, as SQLite's is."""
    batch = [_named(columns, row) for row in rows]
    async with db.transaction() as tx:
        await tx.execute_many(insert_sql(table, columns), batch)
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
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(_named(columns, row))
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


BACKFILL_START = "-- What happened before this migration."
BACKFILL_END = "-- From now on"


def _rollup_migration() -> str:
    folder = resources.files("bot.storage") / "migrations"
    return (folder / "0007_reports.sql").read_text(encoding="utf-8")


def _rollup_backfill() -> str:
    """The roll-up rebuild SQL of migration 0007 (between its two marker comments)."""
    text = _rollup_migration()
    start = text.index(BACKFILL_START)
    return text[start : text.index(BACKFILL_END, start)]


# The roll-up triggers as the SQLite migrations leave them: a later migration drops one and
# creates it anew (0012 folds each into one statement).
_TRIGGER = re.compile(r"^CREATE\s+TRIGGER\s+(report_\w+)\b.*?^END\b", re.DOTALL | re.MULTILINE)
_DROPPED = re.compile(r"^DROP\s+TRIGGER\s+(IF\s+EXISTS\s+)?(report_\w+)", re.MULTILINE)
_MIGRATION = re.compile(r"^\d{4}_[a-z0-9_]+\.sql$")


def rollup_triggers() -> list[tuple[str, str]]:
    """Every roll-up trigger: its name, and the statement that creates it."""
    folder = resources.files("bot.storage") / "migrations"
    found: dict[str, str] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not _MIGRATION.match(entry.name):
            continue
        text = entry.read_text(encoding="utf-8")
        changes = [(m.start(), m[2], "") for m in _DROPPED.finditer(text)]
        changes += [(m.start(), m[1], m[0]) for m in _TRIGGER.finditer(text)]
        for _at, name, sql in sorted(changes):
            if sql:
                found[name] = sql
            else:
                found.pop(name, None)
    return list(found.items())


@contextmanager
def rollup_rebuilt_after(conn: sqlite3.Connection) -> Iterator[None]:
    """Load in bulk with the roll-up triggers off, then rebuild the roll-up in one pass.

    A million rows through the triggers take minutes; the rebuild (the same SQL migration
    0007 runs on existing data) takes seconds and gives the same figures.
    """
    triggers = rollup_triggers()
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
