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


@asynccontextmanager
async def round_trips(db: Database) -> AsyncIterator[list[str]]:
    """Collect the database round trips made inside the block, one entry each (what ran).

    On SQLite a round trip is one hop to a connection's thread (aiosqlite's queue): the
    main thread hands it work and waits for the answer, however many statements the work
    runs. On PostgreSQL it is one call on a connection (asyncpg sends one message and
    waits): a BEGIN sent with the first statement costs nothing more.
    """
    seen: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        if is_postgres(db):
            import asyncpg

            def counted(method: Any) -> Any:
                def call(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
                    seen.append(" ".join(str(query).split()))
                    return method(self, query, *args, **kwargs)

                return call

            for name in ("execute", "executemany", "fetch", "fetchrow", "fetchval"):
                method = getattr(asyncpg.connection.Connection, name)
                patch.setattr(asyncpg.connection.Connection, name, counted(method))
        else:
            for conn in (db.writer, db.reader):
                hop = conn._execute

                def counted_hop(fn: Any, *args: Any, _hop: Any = hop, **kwargs: Any) -> Any:
                    words = [a for a in args if isinstance(a, str)] or [
                        getattr(fn, "__name__", "?")
                    ]
                    seen.append(" ".join(words[0].split()))
                    return _hop(fn, *args, **kwargs)

                patch.setattr(conn, "_execute", counted_hop)
        yield seen


@asynccontextmanager
async def server_calls() -> AsyncIterator[list[tuple[str, bool]]]:
    """Every call on every PostgreSQL connection of this process inside the block (the
    storage pool's, a cluster's chat turns, its role connection): what ran, and whether it
    began a transaction of its own (the connection was in none: an autocommit statement or
    a BEGIN). Each is a round trip; each transaction costs the server its start and end, and
    one that wrote waits for the disk at its commit."""
    import asyncpg

    seen: list[tuple[str, bool]] = []

    def counted(method: Any) -> Any:
        def call(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
            seen.append((" ".join(str(query).split()), not self.is_in_transaction()))
            return method(self, query, *args, **kwargs)

        return call

    with pytest.MonkeyPatch.context() as patch:
        for name in ("execute", "executemany", "fetch", "fetchrow", "fetchval"):
            method = getattr(asyncpg.connection.Connection, name)
            patch.setattr(asyncpg.connection.Connection, name, counted(method))
        yield seen


def durable_commits(calls: list[tuple[str, bool]]) -> int:
    """Transactions that wrote and so wait for the disk at their commit: the COMMITs (a
    standalone NOTIFY, which the server also writes to its log, counted as one too)."""
    return sum(1 for sql, _began in calls if sql.upper().startswith(("COMMIT", "NOTIFY")))
