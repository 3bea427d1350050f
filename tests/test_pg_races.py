"""Several processes writing one PostgreSQL database at once, under READ COMMITTED: plain
write transactions run side by side, and only one that reads before it writes takes the
schema's lock. Each test here holds a write open on a second pool at the worst moment of
a read-then-write, and checks that nothing the second one did is lost or done twice.
(SQLite writes one transaction at a time: these interleavings cannot happen there.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from bot.config import Settings
from bot.messaging import Outbound
from bot.services.broadcasts import parse_audience
from bot.storage.outbox import BULK, Envelope, OutboxRepository
from bot.storage.postgres import PostgresDatabase
from tests.broadcast_factories import actor_for
from tests.factories import make_volunteer
from tests.fakes.clock import FakeClock
from tests.fakes.services import services_on
from tests.postgres import fresh_schema

NOW = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> object:
    yield from fresh_schema(request)


@pytest.fixture
async def pg(pg_url: str) -> AsyncIterator[PostgresDatabase]:
    db = PostgresDatabase(pg_url)
    await db.open()
    await db.migrate()
    yield db
    await db.close()


@pytest.fixture
async def other(pg_url: str) -> AsyncIterator[asyncpg.Connection]:
    """Another process's connection to the same schema."""
    schema = pg_url.split("search_path=")[1].split("&")[0]
    connection = await asyncpg.connect(
        pg_url.split("?")[0], server_settings={"search_path": schema}
    )
    yield connection
    await connection.close()


async def blocked_on(connection: asyncpg.Connection, pid: int) -> None:
    """Wait until server process `pid` waits for a lock (its statement has reached it)."""
    while not await connection.fetchval(
        "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1", pid
    ):
        await asyncio.sleep(0.01)


async def test_a_message_withdrawn_while_the_sender_claims_it_is_not_sent(
    pg: PostgresDatabase, other: asyncpg.Connection
) -> None:
    outbox = OutboxRepository(pg)
    envelope = Envelope("broadcast", "telegram", "42", Outbound("Rally"), ref_id=7, priority=BULK)
    await outbox.add([envelope], NOW)
    # An organizer cancels the broadcast in another process: its UPDATE holds the row...
    cancelling = other.transaction()
    await cancelling.start()
    await other.execute(
        "UPDATE outbox SET status = 'cancelled' WHERE kind = 'broadcast' AND ref_id = 7"
        " AND status = 'pending'"
    )
    # ... while the sender picks the row (still pending in what it reads) and claims it.
    watcher = await asyncpg.connect(pg.url)
    try:
        claim = asyncio.create_task(outbox.claim("telegram", NOW, 10))
        pids = await watcher.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND pid <> $1",
            other.get_server_pid(),
        )
        await asyncio.wait_for(
            asyncio.wait(
                [asyncio.create_task(blocked_on(watcher, p["pid"])) for p in pids],
                return_when=asyncio.FIRST_COMPLETED,
            ),
            10,
        )
        await cancelling.commit()
        claimed = await asyncio.wait_for(claim, 10)
    finally:
        await watcher.close()
    assert claimed == []
    assert await pg.fetch_value("SELECT status FROM outbox") == "cancelled"


async def test_a_broadcast_cancelled_while_a_step_queues_it_gets_no_new_recipients(
    pg_url: str, pg: PostgresDatabase, other: asyncpg.Connection
) -> None:
    settings = Settings.from_env(
        {"DATABASE_URL": pg_url, "RELAIS_ADMINS": "telegram:1", "RELAIS_PSEUDONYM_KEY": "k"}
    )
    services = services_on(settings, FakeClock(), pg)
    for n in range(5):
        await make_volunteer(services, str(300 + n))
    organizer = await actor_for(services, "1")
    broadcast = await services.broadcasts.create(
        organizer, language="fr", body="Rendez-vous", audience=parse_audience("all")
    )
    repo = services.broadcast_repo
    now = services.clock.now()
    assert await repo.start(broadcast.id, now)
    started = await repo.get(broadcast.id)
    assert started is not None
    # The organizer cancels it from another process (what BroadcastRepository.cancel does)...
    cancelling = other.transaction()
    await cancelling.start()
    await other.execute(
        "UPDATE broadcasts SET status = 'cancelled' WHERE id = $1 AND status = 'sending'",
        broadcast.id,
    )
    await other.execute(
        "UPDATE outbox SET status = 'cancelled' WHERE kind = 'broadcast' AND ref_id = $1"
        " AND status = 'pending'",
        broadcast.id,
    )
    # ... while the scheduler queues its next step of recipients.
    watcher = await asyncpg.connect(pg.url)
    try:
        step = asyncio.create_task(
            repo.queue_step(started, parse_audience("all"), {}, "{}", now, lambda _t, _q: None)
        )
        pids = await watcher.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND pid <> $1",
            other.get_server_pid(),
        )
        await asyncio.wait_for(
            asyncio.wait(
                [asyncio.create_task(blocked_on(watcher, p["pid"])) for p in pids],
                return_when=asyncio.FIRST_COMPLETED,
            ),
            10,
        )
        await cancelling.commit()
        await asyncio.wait_for(step, 10)
    finally:
        await watcher.close()
    pending = await pg.fetch_value(
        "SELECT COUNT(*) FROM outbox WHERE kind = 'broadcast' AND status = 'pending'"
    )
    assert pending == 0
