"""Several processes on one PostgreSQL database: one holds each role, another takes it over
when it dies, one chat's updates take turns, and queued messages wake the sender."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from bot.cluster import Cluster, Duty
from bot.messaging import Outbound
from bot.storage.backend import StorageError
from bot.storage.outbox import Envelope, OutboxRepository
from bot.storage.postgres import PostgresDatabase
from tests.postgresql import postgresql_url

__all__ = ["postgresql_url"]  # the fixture

ROOT = Path(__file__).resolve().parent.parent
ROLES = ["telegram sender", "scheduler"]


class Member:
    """A `python -m tests.fakes.cluster_member` process, and the lines it said."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []

    @classmethod
    async def start(cls, url: str) -> Member:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.fakes.cluster_member",
            url,
            *ROLES,
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=asyncio.subprocess.PIPE,
        )
        member = cls(process)
        await member.says("started")
        return member

    async def says(self, line: str, timeout: float = 30) -> None:
        """Read until `line` (a hang guard, not a measure: bench/ measures the takeover)."""
        assert self.process.stdout is not None
        while line not in self.lines:
            read = await asyncio.wait_for(self.process.stdout.readline(), timeout)
            if not read:
                raise AssertionError(f"ended without saying {line!r}: {self.lines}")
            self.lines.append(read.decode().strip())

    async def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        """SIGTERM, and read what it said until it ended."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            assert self.process.stdout is not None
            rest = await asyncio.wait_for(self.process.stdout.read(), 30)
            self.lines += rest.decode().splitlines()
            await asyncio.wait_for(self.process.wait(), 30)


@pytest.fixture
async def members(postgresql_url: str) -> AsyncIterator[list[Member]]:
    started: list[Member] = []
    yield started
    for member in started:
        await member.stop()


async def test_the_first_process_holds_every_role_and_a_second_takes_them_when_it_is_killed(
    postgresql_url: str, members: list[Member]
) -> None:
    first = await Member.start(postgresql_url)
    members.append(first)
    assert first.lines == ["took telegram sender", "took scheduler", "started"]
    second = await Member.start(postgresql_url)
    members.append(second)
    assert second.lines == ["started"]  # nothing to take: the first holds it all
    await first.kill()
    await second.says("took telegram sender")
    await second.says("took scheduler")
    # A third one, started after, finds every role held and waits its turn.
    third = await Member.start(postgresql_url)
    members.append(third)
    await second.stop()
    await third.says("took telegram sender")
    await third.says("took scheduler")
    assert "gave up telegram sender" in second.lines and "gave up scheduler" in second.lines


async def test_a_process_that_loses_the_database_gives_up_its_roles_at_once(
    postgresql_url: str,
) -> None:
    said: list[str] = []

    def member() -> Cluster:
        cluster = Cluster(postgresql_url, try_every=0.1)
        for role in ROLES:

            async def take(role: str = role) -> None:
                said.append(f"{name(cluster)} took {role}")

            async def give_up(role: str = role) -> None:
                said.append(f"{name(cluster)} gave up {role}")

            cluster.add(role, Duty(take, give_up))
        return cluster

    first, second = member(), member()
    names = {id(first): "first", id(second): "second"}

    def name(cluster: Cluster) -> str:
        return names[id(cluster)]

    await first.start()
    await second.start()
    try:
        assert said == ["first took telegram sender", "first took scheduler"]
        # The server ends the first one's session (as when its network fails for good).
        # (Its own role connection only: other tests share the server.)
        holder = first.server_pid()
        admin = await asyncpg.connect(postgresql_url)
        try:
            await admin.execute("SELECT pg_terminate_backend($1)", holder)
        finally:
            await admin.close()
        gave_up = {"first gave up telegram sender", "first gave up scheduler"}

        def settled() -> bool:
            holders = [role for cluster in (first, second) for role in cluster.held]
            return gave_up <= set(said) and sorted(holders) == sorted(ROLES)

        await asyncio.wait_for(until(settled), 60)
        # Each role is held again by exactly one of them (whichever asked first).
        assert not first.held & second.held
    finally:
        await first.stop()
        await second.stop()


async def test_a_process_whose_server_is_gone_stops_at_once(postgresql_url: str) -> None:
    """Every connection of a process is cut and the server lets none in again (the database
    is going away): stopping it must not wait on the dead ones (a test once hung 300 s)."""
    said: list[str] = []
    cluster = Cluster(postgresql_url, try_every=0.1)
    for role in ROLES:

        async def take(role: str = role) -> None:
            said.append(f"took {role}")

        async def give_up(role: str = role) -> None:
            said.append(f"gave up {role}")

        cluster.add(role, Duty(take, give_up))
    await cluster.start()
    name = postgresql_url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(postgresql_url.rsplit("/", 1)[0] + "/postgres")
    turn_taken, cut = asyncio.Event(), asyncio.Event()

    async def update_in_hand() -> None:  # an update holding its chat's turn meanwhile
        async with cluster.chat_turn("telegram", "42"):
            turn_taken.set()
            await cut.wait()

    handling = asyncio.create_task(update_in_hand())
    try:
        await asyncio.wait_for(turn_taken.wait(), 30)
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
        )
        await asyncio.wait_for(until(lambda: not cluster.held), 60)
        cut.set()
        await asyncio.wait_for(cluster.stop(), 60)
        assert sorted(said) == sorted(
            [f"took {r}" for r in ROLES] + [f"gave up {r}" for r in ROLES]
        )
    finally:
        cut.set()
        await asyncio.gather(handling, return_exceptions=True)
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await admin.close()


async def test_a_stop_that_comes_as_an_election_round_ends_still_stops(
    postgresql_url: str,
) -> None:
    """The stop's cancellation reaches the election just as its statement's answer came
    back: Python 3.11's wait_for then returns the answer and drops the cancellation (a
    test once hung 300 s in `stop`, under load). The election ends all the same."""
    cluster = Cluster(postgresql_url, try_every=0.05)

    async def nothing() -> None:
        pass

    cluster.add("scheduler", Duty(nothing, nothing))
    await cluster.start()
    stopping: list[asyncio.Future[None]] = []

    class StopAsItAnswers:
        """The role connection, whose next answer comes with the stop."""

        def __init__(self, connection: asyncpg.Connection) -> None:
            self.connection = connection

        def __getattr__(self, name: str) -> object:
            return getattr(self.connection, name)

        async def fetch(self, *args: object) -> object:
            rows = await self.connection.fetch(*args)
            if not stopping:  # the stop comes now, while the answer is on its way back
                stopping.append(asyncio.ensure_future(cluster.stop()))
                await asyncio.sleep(0)
            return rows

    cluster._connection = StopAsItAnswers(cluster._connection)
    await asyncio.wait_for(until(lambda: bool(stopping)), 30)
    # A deadline, not a measure (wait_for would cancel the stop, and a stop that
    # swallows its cancellation would pass).
    done, _ = await asyncio.wait(stopping, timeout=60)
    assert done, "the stop never ended: the election went on"
    assert not cluster.held


async def until(condition: Callable[[], bool]) -> None:
    while not condition():
        await asyncio.sleep(0.05)


async def test_one_chat_takes_turns_across_processes_other_chats_do_not_wait(
    postgresql_url: str,
) -> None:
    first, second = Cluster(postgresql_url), Cluster(postgresql_url)
    await first.start()
    await second.start()
    events: list[str] = []
    try:
        inside = asyncio.Event()
        leave = asyncio.Event()

        async def long_update() -> None:
            async with first.chat_turn("telegram", "42"):
                events.append("first in")
                inside.set()
                await leave.wait()
                events.append("first out")

        async def next_update(cluster: Cluster, chat_id: str, label: str) -> None:
            async with cluster.chat_turn("telegram", chat_id):
                events.append(label)

        held = asyncio.create_task(long_update())
        await inside.wait()
        same_chat = asyncio.create_task(next_update(second, "42", "second in, same chat"))
        # Another chat, on either process, is handled while chat 42 waits.
        await next_update(second, "43", "second in, other chat")
        await next_update(first, "44", "first in, other chat")
        assert not same_chat.done()
        leave.set()
        await held
        await same_chat
        assert events == [
            "first in",
            "second in, other chat",
            "first in, other chat",
            "first out",
            "second in, same chat",
        ]
    finally:
        await first.stop()
        await second.stop()


async def test_queued_messages_wake_every_process_by_notify(postgresql_url: str) -> None:
    first, second = Cluster(postgresql_url), Cluster(postgresql_url)
    woken = asyncio.Event()
    second.on_outbox_queued = woken.set
    db = PostgresDatabase(postgresql_url)
    await db.open()
    await db.migrate()
    await first.start()
    await second.start()
    try:
        # Rows queued anywhere (a worker, the command line) wake every process at commit.
        envelope = Envelope("broadcast", "telegram", "42", Outbound("Rendez-vous samedi"))
        await OutboxRepository(db).add([envelope], datetime.now(UTC))
        await asyncio.wait_for(woken.wait(), 30)
    finally:
        await first.stop()
        await second.stop()
        await db.close()


async def test_a_worker_without_a_connection_left_says_which_settings_to_lower(
    postgresql_url: str,
) -> None:
    # A role allowed two connections stands for a server at its max_connections: the
    # storage pool takes one, the election the other, the chats' turns find none.
    role = f"relais_budget_{os.getpid()}"
    admin = await asyncpg.connect(postgresql_url)
    await admin.execute(f'CREATE ROLE "{role}" LOGIN CONNECTION LIMIT 2')
    url = postgresql_url.replace("://postgres@", f"://{role}@")
    db = PostgresDatabase(url, pool_size=3)
    cluster = Cluster(url, turns=2, pool_size=3)
    try:
        await db.open()
        with pytest.raises(StorageError) as error:
            await cluster.start()
        said = str(error.value)  # (in the campaign's language)
        assert "RELAIS_PG_POOL + RELAIS_PG_TURNS" in said and "max_connections" in said
        with pytest.raises(StorageError, match="RELAIS_PG_POOL"):
            await PostgresDatabase(url).open()
    finally:
        await cluster.stop()
        await db.close()
        await admin.execute(f'DROP ROLE "{role}"')
        await admin.close()
