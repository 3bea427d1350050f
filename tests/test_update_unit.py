"""An update's unit of work: everything it writes is one transaction, committed at its end.

Inside the unit a later transaction is a savepoint (a refusal caught by a service undoes
only its own block), reads see what the update wrote, and a rollback leaves nothing.
"""

from __future__ import annotations

from datetime import timedelta

from bot.messaging import Outbound
from bot.services import Services
from bot.services.chats import KEYS_KEPT
from bot.storage.backend import Store, Unit, after_commit, when_committed
from bot.storage.outbox import REPLY, Envelope, OutboxRepository, Settlement

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
