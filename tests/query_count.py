"""Count the SQL statements a step costs (in the spirit of Zulip's assert_database_query_count).

Every statement either connection runs is counted, transaction control included: each one
is a round trip to the database thread, which is what a tap waits for.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.storage.db import Database


@asynccontextmanager
async def statements(db: Database) -> AsyncIterator[list[str]]:
    """Collect the statements run inside the block, in order."""
    seen: list[str] = []

    def note(sql: str) -> None:
        seen.append(" ".join(sql.split()))

    connections = [db.writer, db.reader]
    for conn in connections:
        await conn.set_trace_callback(note)
    try:
        yield seen
    finally:
        for conn in connections:
            await conn.set_trace_callback(None)
