"""An update's unit of work: everything it writes is one transaction, committed at its end.

Inside the unit a later transaction is a savepoint (a refusal caught by a service undoes
only its own block), reads see what the update wrote, and a rollback leaves nothing.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.clock import to_iso
from bot.config import Settings
from bot.messaging import Outbound
from bot.sender import Lane, Sender
from bot.services import Services
from bot.services.chats import KEYS_KEPT
from bot.storage.backend import Store, Unit, after_commit, when_committed
from bot.storage.connect import is_postgres
from bot.storage.outbox import REPLY, Envelope, OutboxRepository, Settlement
from tests import alert_factories as make
from tests.stored import file_bytes

SQL_ADD = "INSERT INTO processed_updates (key, seen_at) VALUES (:key, '2026-01-01T00:00:00+00:00')"
SQL_KEYS = "SELECT key FROM processed_updates ORDER BY key"


async def _keys(db: Store) -> list[str]:
    return [row["key"] for row in await db.fetch_all(SQL_KEYS)]


async def test_a_units_blocks_commit_together_and_a_caught_failure_undoes_only_its_own(
    db: Store,
) -> None:
    unit = Unit()
    async with db.transaction() as tx:
        await tx.execute(SQL_ADD, {"key": "a"})
    assert await _keys(db) == ["a"]  # the update sees what it wrote
    try:
        async with db.transaction() as tx:
            await tx.execute(SQL_ADD, {"key": "b"})
            raise LookupError("refused")
    except LookupError:
        pass
    async with db.transaction() as tx:
        await tx.execute(SQL_ADD, {"key": "c"})
    rang: list[str] = []
    when_committed(lambda: rang.append("bell"))
    await after_commit(lambda: rang.append("menu"))
    assert rang == []  # nothing rings before the commit
    await unit.commit()
    assert rang == ["bell", "menu"]
    assert await _keys(db) == ["a", "c"]


async def test_a_rolled_back_unit_leaves_nothing_and_rings_nothing(db: Store) -> None:
    unit = Unit()
    async with db.transaction() as tx:
        await tx.execute(SQL_ADD, {"key": "a"})
    rang: list[str] = []
    when_committed(lambda: rang.append("bell"))
    await unit.rollback()
    assert rang == []
    assert await _keys(db) == []
    # After the unit, transactions commit on their own again.
    async with db.transaction() as tx:
        await tx.execute(SQL_ADD, {"key": "z"})
    assert await _keys(db) == ["z"]


async def test_a_unit_that_writes_nothing_opens_no_transaction(db: Store) -> None:
    unit = Unit()
    assert await _keys(db) == []
    await unit.commit()
    assert unit.tx is None
    rang: list[str] = []
    when_committed(lambda: rang.append("bell"))
    assert rang == ["bell"]  # outside a unit: at once


async def test_a_failing_first_block_rolls_the_unit_back_whole_and_it_may_write_again(
    db: Store,
) -> None:
    unit = Unit()
    try:
        async with db.transaction() as tx:
            await tx.execute(SQL_ADD, {"key": "a"})
            raise LookupError("refused")
    except LookupError:
        pass
    async with db.transaction() as tx:
        await tx.execute(SQL_ADD, {"key": "b"})
    await unit.commit()
    assert await _keys(db) == ["b"]


async def test_answers_sent_are_forgotten_when_update_keys_are(services: Services) -> None:
    now = services.clock.now()
    outbox = OutboxRepository(services.db)
    answer = Envelope("reply", "telegram", "42", Outbound("Your phone: 06…"), priority=REPLY)
    async with services.db.transaction() as tx:
        [row] = await OutboxRepository.add_answers(tx, [answer], now)
    await outbox.settle_many([Settlement(row.id, "sent", message_id="7")], now)
    async with services.db.transaction() as tx:
        await OutboxRepository.add_answers(tx, [answer], now, in_hand=False)  # still waiting
    await services.chats.tidy(now + timedelta(days=1))
    assert await services.db.fetch_value("SELECT COUNT(*) FROM outbox") == 2
    await services.chats.tidy(now + KEYS_KEPT + timedelta(minutes=1))
    assert await services.db.fetch_value("SELECT status FROM outbox") == "pending"


async def test_the_answers_go_to_their_lane_before_the_work_after_the_commit_which_may_fail(
    db: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """The role menu's refresh (a network call) waits for the commit; the update's answers
    do not wait for it, and its failure does not turn a committed change into an error."""
    unit = Unit()
    async with db.transaction() as tx:
        await tx.execute(SQL_ADD, {"key": "a"})
    done: list[str] = []

    def refresh_menu() -> None:
        done.append("menu")
        raise ConnectionError("Telegram is down")

    await after_commit(refresh_menu)
    await after_commit(lambda: done.append("checkpoint"))
    await unit.commit(lambda: done.append("answers"))
    assert done == ["answers", "menu", "checkpoint"]
    assert await _keys(db) == ["a"]
    assert "Telegram is down" in caplog.text


class Recorder:
    """A messenger that records what reached it."""

    channel = "telegram"

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def deliver(self, chat_id: str, outbound: Outbound) -> str:
        self.sent.append(outbound.text)
        return str(len(self.sent))


async def test_an_answer_handed_to_the_lane_before_the_sender_started_goes_once(
    services: Services,
) -> None:
    """The bot's start: Telegram brings updates (their answers written in hand and given to
    the lane) before the sender starts and puts back what the last process left being sent.
    That recovery leaves this process's own answers alone: each is sent once."""
    now = services.clock.now()
    outbox = OutboxRepository(services.db)
    async with services.db.transaction() as tx:
        await tx.execute(  # left being sent by the process before (killed)
            "INSERT INTO outbox (kind, channel, chat_id, payload, priority, paid, not_before,"
            " created_at, status, claimed_at, attempts) VALUES ('reply', 'telegram', '41',"
            " :payload, :priority, 0, :now, :now, 'sending', :now, 1)",
            {
                "payload": Outbound("Left by the last one").to_json(),
                "priority": REPLY,
                "now": to_iso(now),
            },
        )
    sender = Sender(outbox, services.clock)
    messenger = Recorder()
    lane = sender.add(messenger, Lane())
    answer = Envelope("reply", "telegram", "42", Outbound("Welcome"), priority=REPLY)
    async with services.db.transaction() as tx:
        rows = await OutboxRepository.add_answers(tx, [answer], now)
    lane.take(rows)
    await sender.start()
    try:
        for _ in range(200):
            if (
                await services.db.fetch_value("SELECT COUNT(*) FROM outbox WHERE status = 'sent'")
                == 2
                and len(messenger.sent) >= 2
            ):
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)  # time for a second copy, if one were coming
    finally:
        await sender.stop()
    assert sorted(messenger.sent) == ["Left by the last one", "Welcome"]


@pytest.mark.parametrize("outcome", ["sent", "failed"])
async def test_an_answer_keeps_no_words_once_sent(
    services: Services, outcome: str, settings: Settings
) -> None:
    """A caller's call list shows contacts' names and numbers: once the answer left (or
    never will), the outbox keeps what pacing reads, not what it said."""
    now = services.clock.now()
    outbox = OutboxRepository(services.db)
    words = "Appeler Ginette Zwyrtol 06 12 34 56 78"
    answer = Envelope("reply", "telegram", "42", Outbound(words), priority=REPLY)
    async with services.db.transaction() as tx:
        [row] = await OutboxRepository.add_answers(tx, [answer], now)
    await outbox.settle_many([Settlement(row.id, outcome, message_id="7")], now)
    stored = await services.db.fetch_one("SELECT chat_id, payload, priority, status FROM outbox")
    assert stored is not None
    assert (stored["chat_id"], stored["payload"], stored["status"]) == ("42", "{}", outcome)
    assert stored["priority"] == REPLY
    recent = await outbox.recent_sends("telegram", now - timedelta(seconds=1))
    assert [r.chat_id for r in recent] == ["42"]
    if not is_postgres(services.db):
        await services.db.checkpoint()
        assert b"Zwyrtol" not in file_bytes(settings.database_path)


@pytest.mark.parametrize("ending", ["blocked", "stopped"])
async def test_an_answer_that_will_never_leave_keeps_no_words(
    services: Services, ending: str
) -> None:
    """An answer waiting for whichever process sends (or for the network) may never leave:
    the person blocked Relais meanwhile, or used /stop. What it said is not kept either."""
    now = services.clock.now()
    outbox = OutboxRepository(services.db)
    ana = await make.volunteer(services, "42", status="active")
    words = "Appeler Ginette Zwyrtol 06 12 34 56 78"
    answer = Envelope(
        "reply", "telegram", "42", Outbound(words), priority=REPLY, volunteer_id=ana.id
    )
    async with services.db.transaction() as tx:
        await OutboxRepository.add_answers(tx, [answer], now, in_hand=False)
    if ending == "blocked":
        await services.people.blocked("telegram", "42")
    else:
        await services.profiles.stop(ana)
        assert await outbox.claim("telegram", now, 10) == []  # withdrawn, not sent
    stored = await services.db.fetch_one("SELECT chat_id, payload, status FROM outbox")
    assert stored is not None
    assert stored["status"] == ("blocked" if ending == "blocked" else "cancelled")
    assert (stored["chat_id"], stored["payload"]) == ("42", "{}")
