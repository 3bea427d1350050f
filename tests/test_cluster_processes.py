"""Two `python -m bot` processes in webhook mode on one PostgreSQL database, as a campaign
deploys them: both answer, one sends, and a `kill -9` of the sender loses nobody."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.deployment import Deployment, queue_broadcast, text_update
from tests.postgresql import postgresql_url

__all__ = ["postgresql_url"]  # the fixture

pytestmark = pytest.mark.slow

TEXT = "Rendez-vous samedi 10 h place de la République"


@pytest.fixture
async def deployment(
    bot_api: FakeBotAPI, postgresql_url: str, tmp_path: Path
) -> AsyncIterator[Deployment]:
    deployment = Deployment(bot_api, postgresql_url, tmp_path)
    deployment.run_cli("migrate")  # (python -m bot migrate, as before starting the workers)
    try:
        yield deployment
    finally:
        await deployment.stop()


async def test_both_processes_answer_and_a_killed_sender_is_replaced(
    bot_api: FakeBotAPI, deployment: Deployment
) -> None:
    (first,) = await deployment.start(1)
    (second,) = await deployment.start(1)
    # The first one up holds every role; the second only answers updates.
    assert first.holds("telegram sender") and first.holds("scheduler")
    assert not second.holds("telegram sender") and not second.holds("scheduler")
    assert await deployment.post(text_update(1, 501, "/start"), first) == 200
    assert await deployment.post(text_update(2, 502, "/start"), second) == 200
    await bot_api.wait_for_text(501, "Hello", timeout=30)
    await bot_api.wait_for_text(502, "Hello", timeout=30)
    # Telegram retries an update to the other process: it is handled once.
    assert await deployment.post(text_update(2, 502, "/start"), first) == 200
    await nothing_left_to_send(deployment.env["DATABASE_URL"])
    assert len([c for c in bot_api.messages_to(502) if c.text and "Hello" in c.text]) == 1

    await deployment.kill(first)
    await second.until_logged("now holds telegram sender")
    await second.until_logged("now holds scheduler")
    assert await deployment.post(text_update(3, 503, "/start"), second) == 200
    await bot_api.wait_for_text(503, "Hello", timeout=30)


async def test_a_broadcast_reaches_everyone_when_its_sender_is_killed_midway(
    bot_api: FakeBotAPI, deployment: Deployment
) -> None:
    chats = await deployment.add_volunteers(150)
    (first,) = await deployment.start(1)
    (second,) = await deployment.start(1)
    assert first.holds("telegram sender")
    # A broadcast's rows, queued as its fan-out queues them (from a third process: the
    # sender wakes on the NOTIFY their commit sends).
    await queue_broadcast(deployment.env["DATABASE_URL"], chats, TEXT)

    def delivered() -> Counter[int]:
        return Counter(int(c.chat_id) for c in bot_api.sent if c.ok and c.text == TEXT)

    while len(delivered()) < 40:  # under way: kill the sender mid-broadcast
        await asyncio.sleep(0.05)
    await deployment.kill(first)
    await second.until_logged("now holds telegram sender")
    await nothing_left_to_send(deployment.env["DATABASE_URL"])
    counts = delivered()
    assert set(counts) == set(chats)  # every recipient reached
    # Sent twice: only messages the killed sender had in hand, which the survivor said it
    # sends again.
    again = re.findall(r"(\d+) messages were being sent when their sender stopped", second.logged())
    twice = [chat for chat, n in counts.items() if n > 1]
    assert len(twice) <= sum(int(n) for n in again)
    assert max(counts.values()) <= 2


async def nothing_left_to_send(url: str) -> None:
    """Wait until every outbox row was sent (a hang guard times out the test otherwise)."""
    connection = await asyncpg.connect(url)
    try:
        while await connection.fetchval("SELECT COUNT(*) FROM outbox WHERE status <> 'sent'"):
            await asyncio.sleep(0.1)
    finally:
        await connection.close()


async def test_one_chat_keeps_its_order_across_processes(
    bot_api: FakeBotAPI, deployment: Deployment
) -> None:
    await deployment.start(2)
    chat = 601
    commands = ["/start", "/help", "/privacy", "/help", "/privacy", "/help"]
    # Posted one after the other, as Telegram sends a chat's updates, alternately to each
    # process (the proxy's round robin).
    for n, command in enumerate(commands, start=1):
        assert await deployment.post(text_update(n, chat, command)) == 200
    # And a burst at once, on both processes: never two of the chat's updates at a time.
    burst = [text_update(100 + n, chat, "/help") for n in range(6)]
    statuses = await asyncio.gather(*(deployment.post(update) for update in burst))
    assert statuses == [200] * len(burst)
    await nothing_left_to_send(deployment.env["DATABASE_URL"])
    answers = [c.text or "" for c in bot_api.messages_to(chat) if c.ok]
    assert len(answers) == len(commands) + len(burst)  # each handled once, none lost
    kinds = ["start" if "Hello" in a else "help" if "/task" in a else "privacy" for a in answers]
    assert kinds[: len(commands)] == [c.removeprefix("/") for c in commands]
