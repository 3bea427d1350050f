"""Count the SQL statements a step costs (in the spirit of Zulip's assert_database_query_count).

On SQLite every statement either connection runs is traced, transaction control included:
each one is a round trip to the database thread, which is what a tap waits for. asyncpg has
no trace hook: on PostgreSQL the backend's own methods are counted instead, each a round
trip to the server (a transaction's BEGIN and COMMIT as one each), so the same ceilings hold
on both backends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from bot.storage.connect import is_postgres
from bot.storage.db import Database

_READS = ("fetch_all", "fetch_one", "fetch_value")
_TX = ("execute", "execute_many", "fetch_one", "fetch_all", "fetch_value", "insert_returning_id")


@asynccontextmanager
async def statements(db: Database) -> AsyncIterator[list[str]]:
    """Collect the statements run inside the block, in order."""
    seen: list[str] = []

    def note(sql: str) -> None:
        seen.append(" ".join(sql.split()))

    if is_postgres(db):
        with pytest.MonkeyPatch.context() as patch:
            _count_postgres(db, note, patch)
            yield seen
        return
    connections = [db.writer, db.reader]
    for conn in connections:
        await conn.set_trace_callback(note)
    try:
        yield seen
    finally:
        for conn in connections:
            await conn.set_trace_callback(None)


def _count_postgres(db: Any, note: Callable[[str], None], patch: pytest.MonkeyPatch) -> None:
    from bot.storage.postgres import PostgresTx

    def counted(method: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            sql = args[1] if args and not isinstance(args[0], str) else args[0]
            note(sql)
            return method(*args, **kwargs)

        return call

    for name in _READS:
        patch.setattr(db, name, counted(getattr(db, name)))
    for name in _TX:
        patch.setattr(PostgresTx, name, counted(getattr(PostgresTx, name)))
    transaction = db.transaction

    @asynccontextmanager
    async def noted() -> AsyncIterator[Any]:
        note("BEGIN")
        async with transaction() as tx:
            yield tx
            note("COMMIT")

    patch.setattr(db, "transaction", noted)
