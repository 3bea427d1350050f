"""Several Relais processes on one PostgreSQL database: who sends, who schedules, whose turn.

Every process accepts updates (webhook), but some work must be done by exactly one of them:
each messenger's outbox lane (two senders would break Telegram's 30 messages a second), the
Signal event stream (signal-cli hands each event to one reader), and the scheduled jobs.
Each such duty is a *role*, held by the process that holds a session-level PostgreSQL
advisory lock on a dedicated connection. The kernel closes a killed process's socket, the
server ends its session and frees its locks, and another process takes the role at its next
try (every second): a SIGKILL moves the sender within a couple of seconds.

A process that cannot reach the database within a few seconds gives up its roles at once
(it cannot tell whether the server still counts it as the holder), and the server drops a
silent session after the keepalive settings below, so a machine that vanishes without
closing its sockets frees its roles in about ten seconds.

The same connection LISTENs on `relais_outbox`: the server NOTIFYs it when a transaction that
queued outbox rows commits (a trigger, migration 0016: no statement of its own, and rows
queued from the command line wake the sender too), and the process that sends that lane
wakes at once instead of polling. Two updates of one chat are
never handled at the same time: each update takes a session-level advisory lock keyed by
its chat (`chat_turn`), on a connection of its own, released when its answers are queued.

With SQLite there is one process (bot/storage/process_lock.py refuses a second one): it does
everything, and no Cluster is built.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import asyncpg

from bot.storage.postgres import no_connection_left

log = logging.getLogger(__name__)

# Advisory locks take two 32-bit keys; the first says what kind of thing is locked, so
# Relais' locks never meet another application's (or each other's) on the same database.
ROLE_SPACE = 0x52454C52  # "RELR": a duty only one process does (storage uses "RELA")
CHAT_SPACE = 0x52454C43  # "RELC": one chat's turn
NOTIFY_CHANNEL = "relais_outbox"
# A follower asks for each free role this often: the longest a role stays orphaned after its
# holder was killed (plus the time to put back the messages it had in hand).
TRY_EVERY_S = 1.0
# The holder proves its connection alive this often; no answer within CONNECTION_TIMEOUT_S
# and it steps down from every role.
CONNECTION_TIMEOUT_S = 3.0
# The server ends a session whose client stopped answering after idle + interval × count
# seconds (a machine that lost power never closes its sockets): 4 + 2 × 2 = 8 s.
KEEPALIVES = {
    "tcp_keepalives_idle": "4",
    "tcp_keepalives_interval": "2",
    "tcp_keepalives_count": "2",
    "application_name": "relais",
}
# Connections for chat turns (RELAIS_PG_TURNS): one per update being handled at this
# moment. With the pool (RELAIS_PG_POOL, 10) and the election and LISTEN session, a worker
# holds up to 19 connections, so four workers fit in PostgreSQL's default max_connections of
# 100 (32 here made four need ~180). No more updates than this can write at once anyway: the
# pool keeps 8 writers.
TURN_CONNECTIONS = 8
STORAGE_POOL = 10  # the storage pool's size, for the start's connection count
# At a stop, how long the election may take to end its round (a statement, or a reconnection
# at most 2 × CONNECTION_TIMEOUT_S) before the stop goes on without it.
ELECTION_ENDS_S = CONNECTION_TIMEOUT_S * 3


@dataclass(slots=True)
class Duty:
    """What a process starts when it takes a role, and stops when it gives it up."""

    take: Callable[[], Awaitable[None]]
    give_up: Callable[[], Awaitable[None]]


def lock_key(text: str) -> int:
    """A stable signed 32-bit key for a name (the same in every process and every run)."""
    value = zlib.crc32(text.encode())
    return value - (1 << 32) if value >= 1 << 31 else value


class Cluster:
    """One of several processes on a PostgreSQL database: roles by election, chats by turn."""

    def __init__(
        self,
        url: str,
        *,
        try_every: float = TRY_EVERY_S,
        turns: int = TURN_CONNECTIONS,
        pool_size: int = STORAGE_POOL,
    ) -> None:
        self.url = url
        self.try_every = try_every
        self.turns = turns
        self.pool_size = pool_size
        self.duties: dict[str, Duty] = {}
        self.held: set[str] = set()
        # Called when another process (or this one) queued outbox rows.
        self.on_outbox_queued: Callable[[], None] = lambda: None
        self._connection: Any = None
        self._talk = asyncio.Lock()  # one statement at a time on the role connection
        self._turns: Any = None
        self._scope = ""
        self._elector: asyncio.Task[None] | None = None
        self._stopping = False

    def add(self, role: str, duty: Duty) -> None:
        """A role this process may take (before `start`)."""
        self.duties[role] = duty

    def server_pid(self) -> int | None:
        """The server process of the role connection (pg_stat_activity names it)."""
        return None if self._connection is None else int(self._connection.get_server_pid())

    def _key(self, role: str) -> int:
        # Scoped by schema: campaigns (or test runs) in one database elect apart.
        return lock_key(f"{self._scope}:{role}")

    # -- life -------------------------------------------------------------------------

    async def connect(self) -> None:
        """Open the connections (roles and LISTEN, chats' turns) before the webhook takes
        its first update: an update never waits for a turn this process cannot give."""
        if self._turns is not None:
            return
        try:
            if self._connection is None:
                await self._connect()
            self._turns = await asyncpg.create_pool(
                self.url,
                min_size=1,
                max_size=self.turns,
                server_settings=KEEPALIVES,
                reset=_nothing_to_reset,
            )
        except asyncpg.TooManyConnectionsError as exc:
            raise no_connection_left(self.url, exc) from None
        await self._check_room()

    async def start(self) -> None:
        """Connect (if not yet) and take every free role now, then keep trying in the
        background: a lone process holds everything by the time it says it is running."""
        await self.connect()
        await self._elect()
        self._elector = asyncio.create_task(self._elect_forever(), name="relais-election")

    async def stop(self) -> None:
        """Give up every role (messages in hand go back to the outbox), then disconnect:
        the server frees the locks and another process takes over within a second. Bounded
        when the server is gone: nothing here waits long on a connection that never
        answers."""
        self._stopping = True
        elector, self._elector = self._elector, None
        if elector is not None:
            elector.cancel()
            # Python 3.11's wait_for loses a cancellation that comes as its statement ends;
            # the election then ends at its next round (`_stopping`), within a few seconds.
            await asyncio.wait({elector}, timeout=ELECTION_ENDS_S)
            if not elector.done():
                log.warning("the election did not end; stopping without it")
        await self._give_up_all()
        await self._disconnect()
        turns, self._turns = self._turns, None
        if turns is not None:
            await _within(turns.close(), turns.terminate)

    async def _check_room(self) -> None:
        """Warn at start when the server cannot give this worker every connection it may
        open under load: requests would fail then, at the worst moment."""
        room = await self._connection.fetchval(
            "SELECT current_setting('max_connections')::int"
            " - current_setting('superuser_reserved_connections')::int"
            " - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')"
        )
        # The storage pool and the turns' pool hold one connection each so far.
        wanted = self.pool_size + self.turns - 2
        if room is not None and room < wanted:
            log.warning(
                "PostgreSQL has room for %d more connections, and this worker may open %d more"
                " under load (RELAIS_PG_POOL=%d + RELAIS_PG_TURNS=%d + 1 in all): lower them, run"
                " fewer workers or raise max_connections (docs/deploy-postgresql.md,"
                " Connection budget)",
                max(room, 0),
                wanted,
                self.pool_size,
                self.turns,
            )

    async def _connect(self) -> None:
        connection = await asyncio.wait_for(
            asyncpg.connect(self.url, server_settings=KEEPALIVES), CONNECTION_TIMEOUT_S * 2
        )
        self._scope = await connection.fetchval("SELECT current_schema()") or ""
        await connection.add_listener(NOTIFY_CHANNEL, self._on_notify)
        self._connection = connection

    async def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await _within(connection.close(), connection.terminate)

    # -- election ---------------------------------------------------------------------

    async def _elect_forever(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self.try_every)
            try:
                if self._connection is None or self._connection.is_closed():
                    await self._give_up_all()
                    await self._connect()
                await self._elect()
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise  # stopping
                # Not ours: the driver gave up on a statement. The election must go on.
                await self._step_down(TimeoutError("a statement was cancelled"))
            except Exception as exc:
                await self._step_down(exc)

    async def _step_down(self, exc: BaseException) -> None:
        """The role connection failed: give up every role, reconnect at the next try."""
        if self.held:
            log.warning("lost touch with the database (%s): giving up %s", exc, self.held)
        else:
            log.warning("cannot reach the database for roles: %s", exc)
        await self._give_up_all()
        await self._disconnect()

    async def _elect(self) -> None:
        """Ask for every role not held, in one round trip (which also proves the
        connection alive for the roles held); start the duties of those won."""
        wanted = [role for role in self.duties if role not in self.held]
        async with self._talk:
            won = await asyncio.wait_for(
                self._connection.fetch(
                    "SELECT k.n FROM unnest($2::int[]) WITH ORDINALITY AS k(key, n)"
                    " WHERE pg_try_advisory_lock($1, k.key)",
                    ROLE_SPACE,
                    [self._key(role) for role in wanted],
                ),
                CONNECTION_TIMEOUT_S,
            )
        for row in won:
            role = wanted[row["n"] - 1]
            try:
                await self.duties[role].take()
            except Exception:
                log.exception("could not take up %s; leaving it to another process", role)
                async with self._talk:
                    await self._connection.execute(
                        "SELECT pg_advisory_unlock($1, $2)", ROLE_SPACE, self._key(role)
                    )
                continue
            self.held.add(role)
            log.info("this process now holds %s", role)

    async def _give_up_all(self) -> None:
        for role in list(self.held):
            self.held.discard(role)
            try:
                await self.duties[role].give_up()
            except Exception:
                log.exception("giving up %s did not end cleanly", role)
            log.info("this process gave up %s", role)

    # -- waking the sender ------------------------------------------------------------

    def outbox_queued(self) -> None:
        """Rows were committed to the outbox here: wake this process's sender at once (the
        server tells every process, this one too, through the trigger's NOTIFY)."""
        self.on_outbox_queued()

    def _on_notify(self, *_args: object) -> None:
        self.on_outbox_queued()

    # -- one chat at a time -----------------------------------------------------------

    @contextlib.asynccontextmanager
    async def chat_turn(self, channel: str, chat_id: str) -> AsyncIterator[None]:
        """Hold this chat's turn across every process until the block ends: its next
        update, wherever it arrived, waits until this one's answers are queued."""
        key = lock_key(f"{self._scope}:{channel}:{chat_id}")
        async with self._turns.acquire() as connection:
            # A session lock: one round trip to take, one to give back (a transaction's
            # lock costs a third, its BEGIN). A connection that may still hold it is closed,
            # never put back in the pool: the server frees its locks with it.
            try:
                await connection.execute("SELECT pg_advisory_lock($1, $2)", CHAT_SPACE, key)
            except BaseException:
                connection.terminate()
                raise
            try:
                yield
            finally:
                try:
                    await asyncio.shield(
                        connection.execute("SELECT pg_advisory_unlock($1, $2)", CHAT_SPACE, key)
                    )
                except BaseException:
                    connection.terminate()
                    raise


async def _within(closing: Coroutine[Any, Any, None], terminate: Callable[[], None]) -> None:
    """Close a connection (or pool) politely within CONNECTION_TIMEOUT_S, else cut it: a
    server that is gone never answers a goodbye. Never waits on the polite close once the
    time is up (wait_for would, until its cancellation ends)."""
    task = asyncio.ensure_future(closing)
    task.add_done_callback(_ignore_outcome)
    await asyncio.wait({task}, timeout=CONNECTION_TIMEOUT_S)
    if not task.done() or task.cancelled() or task.exception() is not None:
        task.cancel()
        terminate()


def _ignore_outcome(task: asyncio.Future[None]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved: a failed goodbye is no news


async def _nothing_to_reset(_connection: asyncpg.Connection) -> None:
    """A turn's connection goes back to the pool as it is: it ran nothing but its lock and
    unlock (one that may still hold a lock is closed instead, see `chat_turn`). asyncpg's
    default reset (unlock all, close cursors, unlisten, reset settings) cost one more round
    trip and transaction per update."""
