"""What one step costs the database: ceilings that may only come down.

The counts are today's. Targets (issue "One boundary around storage"): the Accept tap at 12
statements or fewer. A change that adds a statement to these steps fails here and says
which statements ran.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

import handlers
from bot.cluster import Cluster
from bot.config import Settings
from bot.router import AnswerLane, FloodGate, Router
from bot.services import Services
from bot.storage.postgres import PostgresDatabase
from tests.fakes.chat import Chat
from tests.fakes.clock import FakeClock
from tests.fakes.services import services_on
from tests.postgres import fresh_schema
from tests.query_count import durable_commits, round_trips, server_calls, statements
from tests.task_factories import task, volunteer

# Today's ceilings, per step (statements, transaction control included). The Accept tap's
# one INSERT into assignments fires the reports' roll-up trigger (one statement since
# migration 0012), traced as repeats of that INSERT: 8 round trips, 11 statements.
TASK_REQUEST = 3
ACCEPT_TAP = 11
# A tap on Later: the check and the write in one conditional INSERT (which fires the same
# roll-up trigger, traced as two repeats), the next card read in the same transaction: 8
# round trips, 10 statements (13 when the check, the writes and the read each went alone).
LATER_TAP = 10
ONBOARDING_STEP = 10
HELP = 2
# Write transactions per step: none for what changes nothing; everything an update writes
# (its changes, its key, its flow's step, its answers) is one transaction (bot/storage/
# backend.py's Unit), so no step opens more than one.
TASK_REQUEST_WRITES = 0
ACCEPT_TAP_WRITES = 1
LATER_TAP_WRITES = 1
ONBOARDING_STEP_WRITES = 1


def _writes(seen: list[str]) -> int:
    """Write transactions opened (each one ends in an fsync)."""
    return sum(1 for sql in seen if sql.startswith("BEGIN"))


def _report(seen: list[str]) -> str:
    return "\n".join(f"  {n + 1:2}. {sql[:140]}" for n, sql in enumerate(seen))


async def test_asking_for_a_task_then_accepting_it(
    services: Services, chat: Callable[..., Chat]
) -> None:
    await volunteer(services, "200", language="en", skills=["share"])
    await task(services, kind="share", title="Share the clip", link="https://example.org/c")
    ana = chat("200", language="en")
    ana.router.flood = FloodGate(limit=1000)
    async with statements(services.db) as asked:
        await ana.send("/task")
    assert "Share the clip" in ana.last_text
    async with statements(services.db) as accepted:
        await ana.tap("Accept")
    assert "Done" in " ".join(c.label for row in ana.last.choices for c in row)
    assert 0 < len(asked) <= TASK_REQUEST, f"/task ran {len(asked)}:\n{_report(asked)}"
    assert 0 < len(accepted) <= ACCEPT_TAP, f"Accept ran {len(accepted)}:\n{_report(accepted)}"
    assert _writes(asked) <= TASK_REQUEST_WRITES, f"/task wrote:\n{_report(asked)}"
    assert _writes(accepted) <= ACCEPT_TAP_WRITES, f"Accept wrote:\n{_report(accepted)}"


async def test_putting_a_task_off_shows_the_next_one(
    services: Services, chat: Callable[..., Chat]
) -> None:
    await volunteer(services, "201", language="en", skills=["share"])
    await task(services, kind="share", title="Share the clip", link="https://example.org/c")
    await task(services, kind="share", title="Share the poster", link="https://example.org/p")
    ana = chat("201", language="en")
    ana.router.flood = FloodGate(limit=1000)
    await ana.send("/task")
    first = "Share the clip" if "Share the clip" in ana.last_text else "Share the poster"
    async with statements(services.db) as later:
        await ana.tap("Later")
    assert first not in ana.last_text and "Share the" in ana.last_text
    assert len(later) <= LATER_TAP, f"Later ran {len(later)}:\n{_report(later)}"
    assert _writes(later) <= LATER_TAP_WRITES, f"Later wrote:\n{_report(later)}"


async def test_one_onboarding_step(services: Services, chat: Callable[..., Chat]) -> None:
    sam = chat("300", language="fr")
    sam.router.flood = FloodGate(limit=1000)
    await sam.send("/start")
    await sam.tap("Français")
    await sam.tap("J'accepte")
    await sam.tap("Garder")
    async with statements(services.db) as where:
        await sam.send("75011")
    assert "prêt·e à faire" in sam.last_text
    assert 0 < len(where) <= ONBOARDING_STEP, f"the step ran {len(where)}:\n{_report(where)}"
    assert _writes(where) <= ONBOARDING_STEP_WRITES, f"the step wrote:\n{_report(where)}"


async def test_help_changes_nothing_and_writes_nothing(
    services: Services, chat: Callable[..., Chat]
) -> None:
    await volunteer(services, "210", language="en")
    ana = chat("210", language="en")
    async with statements(services.db) as helped:
        await ana.send("/help")
    assert "Here is what I can do" in ana.last_text
    assert len(helped) <= HELP, f"/help ran {len(helped)}:\n{_report(helped)}"
    assert _writes(helped) == 0, f"/help wrote:\n{_report(helped)}"


# Round trips per update (tests/query_count.py: hops to SQLite's threads, calls on a
# PostgreSQL connection), with the answers written as in a running bot (the lane takes
# them). Each one is a wait of the update's coroutine, and on SQLite two thread hand-offs.
# /task: the chat's state, the person with their roles, and one read of what the step
# shows (were 4 on SQLite, with the roles apart, and 8 on PostgreSQL, where asyncpg reset
# the connection after every read); /help only the first two (the person comes with how
# many messenger accounts they linked, which /help asked for apart: 3). A tap that writes:
# two reads, then its one transaction, answers included — on SQLite BEGIN rides with the
# first statement, and the update's key, flow step and activity with the answers' INSERT,
# COMMIT is one more (were 8, with the answers not written); PostgreSQL sends one statement
# at a time: BEGIN with the schema's lock, each statement, COMMIT (were 13).
HELP_TRIPS = 2
TASK_TRIPS = 3
LATER_TRIPS = {"sqlite": 6, "postgresql": 8}
ACCEPT_TRIPS = {"sqlite": 6, "postgresql": 8}


def _answers_to_lane(person: Chat) -> None:
    """Answers written with the update's changes go to a lane, as in the running bot."""
    person.router.lanes[person.channel] = AnswerLane(
        lambda rows: person.replies.extend(row.outbound for row in rows)
    )


Steps = dict[str, tuple[list[str], list[str]]]


async def _help_task_later_accept(
    services: Services, chat: Callable[..., Chat], user: str, channel: str = "telegram"
) -> Steps:
    """A volunteer asks for /help, then a /task, puts it off and accepts the next one: each
    step's round trips and statements (answers to a lane, as in the running bot)."""
    await volunteer(services, user, channel=channel, language="en", skills=["share"])
    await task(services, kind="share", title="Share the clip", link="https://example.org/c")
    await task(services, kind="share", title="Share the poster", link="https://example.org/p")
    ana = chat(user, language="en", channel=channel)
    ana.router.flood = FloodGate(limit=1000)
    _answers_to_lane(ana)
    steps: Steps = {}
    for name, step in (
        ("help", lambda: ana.send("/help")),
        ("task", lambda: ana.send("/task")),
        ("later", lambda: ana.tap("Later")),
        ("accept", lambda: ana.tap("Accept")),
    ):
        async with statements(services.db) as sql, round_trips(services.db) as trips:
            await step()
        steps[name] = (trips, sql)
        if name == "later":
            assert "Share the" in ana.last_text
    assert "Done" in " ".join(c.label for row in ana.last.choices for c in row)
    figures = {name: (len(trips), len(sql), _writes(sql)) for name, (trips, sql) in steps.items()}
    print(channel, "round trips, statements, write transactions:", figures)
    return steps


async def test_round_trips_per_update(services: Services, chat: Callable[..., Chat]) -> None:
    steps = await _help_task_later_accept(services, chat, "220")
    (helped, help_sql), (asked, task_sql) = steps["help"], steps["task"]
    (later, later_sql), (accepted, accept_sql) = steps["later"], steps["accept"]
    backend = services.db.dialect.name
    assert len(helped) <= HELP_TRIPS, f"/help:\n{_report(helped)}"
    assert len(asked) <= TASK_TRIPS, f"/task:\n{_report(asked)}"
    assert len(later) <= LATER_TRIPS[backend], f"Later:\n{_report(later)}"
    assert len(accepted) <= ACCEPT_TRIPS[backend], f"Accept:\n{_report(accepted)}"
    assert _writes(help_sql) == 0 and _writes(task_sql) == 0
    assert _writes(later_sql) <= 1 and _writes(accept_sql) <= 1


# Several processes (PostgreSQL): every answer goes to the outbox for the elected sender,
# written with the update's key in one transaction, the one transaction of the update (the
# answer had a transaction of its own before, after the update's: a /task cost about 14
# round trips on PostgreSQL, NOTIFY included, which this count leaves out).
TASK_TRIPS_SEVERAL = {"sqlite": 5, "postgresql": 7}
LATER_TRIPS_SEVERAL = {"sqlite": 6, "postgresql": 8}


async def test_round_trips_per_update_with_several_processes(
    services: Services, chat: Callable[..., Chat]
) -> None:
    await volunteer(services, "221", language="en", skills=["share"])
    await task(services, kind="share", title="Share the clip", link="https://example.org/c")
    await task(services, kind="share", title="Share the poster", link="https://example.org/p")
    ana = chat("221", language="en")
    ana.router.flood = FloodGate(limit=1000)
    ana.router.lanes[ana.channel] = AnswerLane(
        lambda rows: ana.replies.extend(row.outbound for row in rows), in_hand=False
    )
    async with statements(services.db) as task_sql, round_trips(services.db) as asked:
        await ana.send("/task")
    assert "Share the" in ana.last_text
    async with statements(services.db) as later_sql, round_trips(services.db) as later:
        await ana.tap("Later")
    assert "Share the" in ana.last_text
    backend = services.db.dialect.name
    assert _writes(task_sql) == 1 and _writes(later_sql) == 1
    assert len(asked) <= TASK_TRIPS_SEVERAL[backend], f"/task:\n{_report(asked)}"
    assert len(later) <= LATER_TRIPS_SEVERAL[backend], f"Later:\n{_report(later)}"


# One reply policy on every messenger: the answers to a step that changes something are
# written with its change, so a step costs the same on Telegram, Signal and the console.
# (Before, Signal and the console sent them from memory: a tap that writes ran one statement
# fewer, the answers' INSERT riding in the same round trip, and a crash between the commit
# and the send lost answers the stored state said were given.)
@pytest.mark.parametrize("channel", ["telegram", "signal", "console"])
async def test_every_messenger_answers_at_the_same_cost(
    services: Services, chat: Callable[..., Chat], channel: str
) -> None:
    steps = await _help_task_later_accept(services, chat, "230", channel)
    (helped, help_sql), (asked, task_sql) = steps["help"], steps["task"]
    (later, later_sql), (accepted, accept_sql) = steps["later"], steps["accept"]
    backend = services.db.dialect.name
    assert len(help_sql) <= HELP and len(task_sql) <= TASK_REQUEST
    assert len(later_sql) <= LATER_TAP, f"Later:\n{_report(later_sql)}"
    assert len(accept_sql) <= ACCEPT_TAP, f"Accept:\n{_report(accept_sql)}"
    assert len(helped) <= HELP_TRIPS and len(asked) <= TASK_TRIPS
    assert len(later) <= LATER_TRIPS[backend] and len(accepted) <= ACCEPT_TRIPS[backend]
    assert _writes(help_sql) == 0 and _writes(task_sql) == 0
    assert _writes(later_sql) == 1 and _writes(accept_sql) == 1
    answers = await services.db.fetch_value(
        "SELECT COUNT(*) FROM outbox WHERE kind = 'reply' AND channel = :channel",
        {"channel": channel},
    )
    assert answers == 2  # Later's and Accept's, written with what they changed


# Several processes, as the webhook handles a /task (PostgreSQL only, counted at the
# server's door: every connection of the process, the chat's turn included): the turn's
# lock and unlock, the three reads, and the update's one transaction (BEGIN, the update's
# key, the answer, COMMIT), the outbox's trigger waking the sender at its commit. Were 11
# round trips and 8 transactions, 2 of them waiting for the disk: the pool reset the
# turn's connection (one more round trip and transaction), and a NOTIFY of its own
# followed the commit.
WEBHOOK_TASK_TRIPS = 9
WEBHOOK_TASK_TRANSACTIONS = 6
WEBHOOK_TASK_DURABLE_COMMITS = 1


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> object:
    yield from fresh_schema(request)


async def test_a_task_asked_at_the_webhook_of_several_processes(
    pg_url: str, clock: FakeClock
) -> None:
    settings = Settings.from_env(
        {"DATABASE_URL": pg_url, "RELAIS_ADMINS": "telegram:1", "RELAIS_PSEUDONYM_KEY": "k"}
    )
    db = PostgresDatabase(pg_url)
    await db.open()
    await db.migrate()
    cluster = Cluster(pg_url)
    try:
        services = services_on(settings, clock, db)
        router = Router(services)
        handlers.register(router)
        router.flood = FloodGate(limit=1000)
        await volunteer(services, "230", language="en", skills=["share"])
        await task(services, kind="share", title="Share the clip", link="https://example.org/c")
        await cluster.connect()
        woken: list[int] = []
        cluster.on_outbox_queued = lambda: woken.append(1)
        ana = Chat(router, user_id="230", language="en")
        router.lanes["telegram"] = AnswerLane(lambda _rows: cluster.outbox_queued(), in_hand=False)
        async with server_calls() as calls:
            async with cluster.chat_turn("telegram", "230"):
                await ana.send("/task")
            await asyncio.sleep(0)  # anything the update left running starts now
        queued = await db.fetch_value("SELECT COUNT(*) FROM outbox WHERE chat_id = '230'")
        assert queued == 1 and woken, "the answer waits in the outbox, the sender woken"
        report = "\n".join(f"  {'new ' if began else '    '}{sql[:120]}" for sql, began in calls)
        transactions = sum(1 for _sql, began in calls if began)
        print("round trips, transactions, durable:", len(calls), transactions)
        assert len(calls) <= WEBHOOK_TASK_TRIPS, f"/task at the webhook:\n{report}"
        assert transactions <= WEBHOOK_TASK_TRANSACTIONS, f"/task at the webhook:\n{report}"
        assert durable_commits(calls) == WEBHOOK_TASK_DURABLE_COMMITS, report
    finally:
        await cluster.stop()
        await db.close()
