"""kill -9 in the middle of a broadcast, start again: everyone is reached; only messages that
were in flight at the kill may arrive twice (or, with RELAIS_RESEND_AFTER_CRASH=no, none twice
and only those may be missed)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from pathlib import Path

import pytest

from bot.clock import SystemClock
from bot.storage.backend import Store
from bot.storage.connect import database_for
from tests.fakes.bot_api import FakeBotAPI, SentCall
from tests.fakes.relais import database_url_of, telegram_env
from tools.seed import SeedVolunteer, add_volunteers

RECIPIENTS = 100
TEXT = "<b>Mobilisation</b> samedi 10 h"


async def _bot(env: dict[str, str], log: Path, *args: str) -> asyncio.subprocess.Process:
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", *args, env=env, stdout=out, stderr=out
        )


async def _statuses(db: Store) -> Counter[str]:
    rows = await db.fetch_all("SELECT status, COUNT(*) AS n FROM outbox GROUP BY status")
    return Counter({r["status"]: r["n"] for r in rows})


# A deadline, not a measure: a loaded machine makes the bot slow to start and send.
DEADLINE = 120.0


async def _wait(predicate, what: str, timeout: float = DEADLINE) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def _kill_mid_broadcast(
    database: str, tmp_path: Path, **extra: str
) -> tuple[Counter[str], Counter[int], set[int]]:
    """Broadcast to RECIPIENTS, kill -9 the bot after 30 sends, start it again and let it
    finish; return the outbox statuses, the copies each chat got and the uncertain chats."""
    log = tmp_path / "bot.log"
    url = database_url_of(database)
    db = database_for(Path(url.removeprefix("sqlite:///")), "" if "sqlite" in url else url)
    await db.open()
    await db.migrate()
    people = [SeedVolunteer(str(5000 + n), quiet_hours="") for n in range(RECIPIENTS)]
    await add_volunteers(db, people, SystemClock().now())

    async with FakeBotAPI() as api:
        env = {**os.environ, **telegram_env(api, database, **extra)}

        def rally_copies() -> Counter[int]:
            return Counter(int(c.chat_id or 0) for c in api.sent if c.ok and c.text == TEXT)

        cli = await _bot(env, log, "broadcast", "--text", TEXT, "--to", "all")
        assert await cli.wait() == 0, log.read_text()

        def hold_after_30(call: SentCall) -> None:
            # From the 30th message on, Telegram takes the sends but does not answer: the
            # kill finds them in flight and the rest still waiting, however long this test
            # takes to notice (the bot would otherwise finish meanwhile on a loaded machine).
            if call.text == TEXT and sum(rally_copies().values()) >= 30:
                api.delay("sendMessage", 3600)

        api.on_call = hold_after_30
        first = await _bot(env, log)

        async def some_sent() -> bool:
            return sum(rally_copies().values()) >= 30

        await _wait(some_sent, "the first 30 messages")
        first.send_signal(signal.SIGKILL)
        await first.wait()
        before = await _statuses(db)
        assert before["pending"] > 0, before  # killed mid-broadcast, not after
        assert before["sending"] > 0, before  # with messages in flight

        api.on_call = None
        api.delay("sendMessage", 0)  # Telegram answers again
        second = await _bot(env, log)

        async def all_settled() -> bool:
            statuses = await _statuses(db)
            return statuses["pending"] + statuses["sending"] == 0

        try:
            await _wait(all_settled, "the rest of the broadcast")
        finally:
            second.send_signal(signal.SIGTERM)
            await asyncio.wait_for(second.wait(), DEADLINE)

        statuses = await _statuses(db)
        copies = rally_copies()
        uncertain = {
            int(r["chat_id"])
            for r in await db.fetch_all("SELECT chat_id FROM outbox WHERE status = 'uncertain'")
        }
    await db.close()
    return statuses, copies, uncertain


@pytest.mark.slow
async def test_kill_9_mid_broadcast_then_restart_reaches_everyone(
    database_url: str, tmp_path: Path
) -> None:
    statuses, copies, _uncertain = await _kill_mid_broadcast(database_url, tmp_path)
    assert statuses["sent"] == RECIPIENTS, statuses
    # Every recipient got the broadcast; only the messages in flight at the kill (a claimed
    # batch at most) may have gone twice.
    assert all(copies[5000 + n] >= 1 for n in range(RECIPIENTS)), copies
    assert sum(copies.values()) - RECIPIENTS <= 16, copies.most_common(20)


@pytest.mark.slow
async def test_at_most_once_after_a_kill_9_when_the_campaign_prefers_it(
    database_url: str, tmp_path: Path
) -> None:
    statuses, copies, uncertain = await _kill_mid_broadcast(
        database_url, tmp_path, RELAIS_RESEND_AFTER_CRASH="no"
    )
    assert statuses["sent"] + statuses["uncertain"] == RECIPIENTS, statuses
    # Only the sends in flight at the kill are uncertain, and none was sent twice.
    assert 0 < len(uncertain) <= 16, statuses
    assert max(copies.values()) == 1
    for n in range(RECIPIENTS):
        chat = 5000 + n
        assert copies[chat] == 1 or (chat in uncertain and copies[chat] == 0), chat
