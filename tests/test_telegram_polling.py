"""Polling Telegram: one chat's slow update never holds back the others, and none is lost.

Telegram sends at most 100 updates from the oldest one not acknowledged. An update in hand
for long (a slow handler, or one chat's own queue behind it) is kept in the database, then
acknowledged: every other chat's updates keep coming, and a kill -9 meanwhile loses none
(the kept ones are handled at the next start).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import pytest

from bot.config import Settings
from bot.messaging import Inbound, Outbound
from bot.services import Services
from bot.storage.connect import database_for
from bot.transports.telegram import CONCURRENT, KEPT_PER_CHAT, TelegramTransport
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.relais import TOKEN, telegram_env
from tests.test_crash_answers import count_rows
from tests.test_process import DEADLINE, start_bot, stop_bot

STUCK = 4242
OTHERS = range(5000, 5300)
QUEUED = 120


class Stuck:
    """Answers every chat at once, but the stuck chats' updates (STUCK's unless told)
    wait until `release`."""

    def __init__(self) -> None:
        self.released = asyncio.Event()
        self.seen: list[str] = []
        self.chats = {str(STUCK)}

    async def dispatch(self, inbound: Inbound) -> list[Outbound]:
        self.seen.append(inbound.text)
        if inbound.chat_id in self.chats:
            await self.released.wait()
        return [Outbound(f"Bonjour {inbound.chat_id}, {inbound.text}")]


@pytest.fixture
async def polling(
    services: Services, bot_api: FakeBotAPI
) -> AsyncIterator[tuple[TelegramTransport, Stuck]]:
    settings = replace(
        services.settings,
        telegram_token=type(services.settings.telegram_token)(TOKEN),
        telegram_api_base_url=bot_api.base_url,
    )
    stuck = Stuck()
    transport = TelegramTransport(settings, stuck.dispatch)
    transport.inbox = services.chats.inbox("telegram", services.clock.now)
    transport.keep_after = 0.5
    await transport.start()
    try:
        yield transport, stuck
    finally:
        stuck.released.set()
        await transport.stop()


def _answered(api: FakeBotAPI, chat: int, words: str) -> bool:
    return any(c.ok and words in (c.text or "") for c in api.messages_to(chat))


async def _until(check: Callable[[], bool | Awaitable[bool]], timeout: float = 60.0) -> None:
    async def wait() -> None:
        while True:
            done = check()
            if done if isinstance(done, bool) else await done:
                return
            await asyncio.sleep(0.05)

    await asyncio.wait_for(wait(), timeout)


async def _kept(services: Services) -> int:
    return int(await services.db.fetch_value("SELECT COUNT(*) FROM kept_updates"))


async def _none_kept(services: Services) -> bool:
    return await _kept(services) == 0


async def test_a_stuck_chat_does_not_hold_back_three_hundred_others(
    polling: tuple[TelegramTransport, Stuck],
    bot_api: FakeBotAPI,
    services: Services,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _transport, stuck = polling
    api = bot_api
    api.send_text(STUCK, "first")
    queued = [api.send_text(STUCK, f"then {n}") for n in range(QUEUED)]
    for chat in OTHERS:
        api.send_text(chat, "hello")
    await _until(lambda: all(_answered(api, chat, "hello") for chat in OTHERS))
    assert not api.messages_to(STUCK)
    # Telegram was told it may forget them: they are kept in the database instead, up to
    # KEPT_PER_CHAT of them (its person typing on into a stuck chat); the rest are dropped,
    # logged by their number.
    assert not [u for u in api.pending_updates if u["message"]["chat"]["id"] == STUCK]
    await _until(lambda: not [u for u in api.pending_updates])
    assert await _kept(services) == KEPT_PER_CHAT
    dropped = " ".join(r.getMessage() for r in caplog.records if "dropped" in r.getMessage())
    assert all(str(update_id) in dropped for update_id in queued[KEPT_PER_CHAT - 1 :])
    assert "then" not in dropped  # never what they wrote

    stuck.released.set()
    last = KEPT_PER_CHAT - 2
    await _until(lambda: _answered(api, STUCK, f"then {last}"))
    await _until(lambda: _none_kept(services))  # forgotten once handled
    answers = [c.text for c in api.messages_to(STUCK)]
    expected = [f"Bonjour {STUCK}, first"] + [f"Bonjour {STUCK}, then {n}" for n in range(last + 1)]
    assert answers == expected


async def test_one_chats_long_queue_does_not_take_the_slots_other_chats_need(
    polling: tuple[TelegramTransport, Stuck], bot_api: FakeBotAPI
) -> None:
    """More updates queued in a few chats than Relais handles at once (CONCURRENT): they
    wait for their chat's turn, not for a slot, and every other chat is answered meanwhile."""
    _transport, stuck = polling
    api = bot_api
    chats = [STUCK + n for n in range(CONCURRENT // KEPT_PER_CHAT + 2)]
    stuck.chats = {str(chat) for chat in chats}
    for chat in chats:
        api.send_text(chat, "first")
        for n in range(KEPT_PER_CHAT - 1):
            api.send_text(chat, f"then {n}")
    assert len(chats) * KEPT_PER_CHAT > CONCURRENT
    for chat in OTHERS:
        api.send_text(chat, "hello")
    await _until(lambda: all(_answered(api, chat, "hello") for chat in OTHERS))
    assert not any(api.messages_to(chat) for chat in chats)
    stuck.released.set()
    await _until(lambda: all(_answered(api, c, f"then {KEPT_PER_CHAT - 2}") for c in chats))


async def test_updates_numbered_afresh_by_telegram_are_not_taken_for_old_ones(
    polling: tuple[TelegramTransport, Stuck], bot_api: FakeBotAPI
) -> None:
    api = bot_api
    api.enqueue_raw({**api_message(5001, "before"), "update_id": 800_000})
    await _until(lambda: _answered(api, 5001, "before"))
    await _until(lambda: not api.pending_updates)
    # A week without updates: Telegram numbers the next ones from a random, lower id.
    api.number_afresh(1_000)
    api.send_text(5002, "after")
    api.send_text(5001, "again")
    await _until(lambda: _answered(api, 5002, "after") and _answered(api, 5001, "again"))


def api_message(chat: int, text: str) -> dict[str, object]:
    person = {"id": chat, "is_bot": False, "first_name": "Inès"}
    return {
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": chat, "type": "private", "first_name": "Inès"},
            "from": person,
            "text": text,
        }
    }


@pytest.mark.slow
async def test_killed_while_a_stuck_update_is_kept_it_is_handled_after_restart(
    bot_api: FakeBotAPI, database_url: str, tmp_path: Path
) -> None:
    """The real process: one chat's update never ends, 150 other chats are answered past it
    (Telegram acknowledged past it), then kill -9: after the restart, it is answered."""
    api = bot_api
    env = telegram_env(api, database_url, RELAIS_TELEGRAM_RATE="1000")
    log = tmp_path / "bot.log"
    process = await start_bot({**env, "RELAIS_TEST_FAULT": f"stall-chat:{STUCK}"}, log)
    try:
        await api.wait_for_requests("getUpdates", 1)
        api.send_text(STUCK, "/help", language_code="en")
        others = OTHERS[:150]
        for chat in others:
            api.send_text(chat, "/help", language_code="en")
        await _until(lambda: all(_answered(api, c, "Here is what I can do") for c in others))
        assert not [u for u in api.pending_updates if u["message"]["chat"]["id"] == STUCK]
        assert not api.messages_to(STUCK)
        late = OTHERS[150:170]
        for chat in late:  # in hand or not yet taken when the process dies
            api.send_text(chat, "/help", language_code="en")
    finally:
        process.send_signal(signal.SIGKILL)
        assert await asyncio.wait_for(process.wait(), 30) == -signal.SIGKILL
    assert await count_rows(database_url, "kept_updates") == 1

    process = await start_bot(env, log)
    try:
        await api.wait_for_text(STUCK, "Here is what I can do", timeout=30)
        await _until(lambda: all(_answered(api, c, "Here is what I can do") for c in late))
    finally:
        assert await stop_bot(process) == 0, log.read_text()
    assert await count_rows(database_url, "kept_updates") == 0


def _read(log: Path) -> str:
    return log.read_text()


def _answers(api: FakeBotAPI, chat: int, words: str) -> int:
    return sum(1 for c in api.messages_to(chat) if c.ok and words in (c.text or ""))


async def _stopped_with_a_stuck_chat(api: FakeBotAPI, env: dict[str, str], log: Path) -> None:
    """The real process: one chat's update never ends; SIGTERM still ends the process
    (cleanly, soon after), and that update is kept for the next start."""
    process = await start_bot({**env, "RELAIS_TEST_FAULT": f"stall-chat:{STUCK}"}, log)
    try:
        await api.wait_for_requests("getUpdates", 1)
        api.send_text(STUCK, "/help", language_code="en")
        api.send_text(OTHERS[0], "/help", language_code="en")  # after it: it was taken
        await api.wait_for_text(OTHERS[0], "Here is what I can do", timeout=DEADLINE)
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), DEADLINE) == 0, _read(log)
    assert "unfinished" in _read(log)
    assert await count_rows(env["DATABASE_URL"], "kept_updates") == 1
    assert not api.messages_to(STUCK)


@pytest.mark.slow
async def test_sigterm_with_a_stuck_chat_ends_and_its_update_is_answered_at_the_next_start(
    bot_api: FakeBotAPI, database_url: str, tmp_path: Path
) -> None:
    api = bot_api
    env = telegram_env(api, database_url, RELAIS_TELEGRAM_RATE="1000")
    log = tmp_path / "bot.log"
    await _stopped_with_a_stuck_chat(api, env, log)
    process = await start_bot(env, log)
    try:
        await api.wait_for_text(STUCK, "Here is what I can do", timeout=DEADLINE)
        await _until(lambda: _none_kept_at(env))
        await _until(lambda: _all_sent_at(env))
    finally:
        assert await stop_bot(process) == 0, log.read_text()
    # Telegram was told it was taken: it does not come again, from there or the kept row.
    assert _answers(api, STUCK, "Here is what I can do") == 1


async def _none_kept_at(env: dict[str, str]) -> bool:
    return await count_rows(env["DATABASE_URL"], "kept_updates") == 0


async def _all_sent_at(env: dict[str, str]) -> bool:
    """Nothing left in the outbox (with several processes, answers go through it)."""
    waiting = "outbox WHERE status IN ('pending', 'sending')"
    return await count_rows(env["DATABASE_URL"], waiting) == 0


_KEEP_THEM = {
    "sqlite": [
        "CREATE TRIGGER keep_them BEFORE DELETE ON kept_updates"
        " BEGIN SELECT RAISE(ABORT, 'kept'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION keep_them() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'kept'; END"
        " $$ LANGUAGE plpgsql",
        "CREATE TRIGGER keep_them BEFORE DELETE ON kept_updates"
        " FOR EACH ROW EXECUTE FUNCTION keep_them()",
    ],
}


async def _run_sql(database_url: str, statements: list[str]) -> None:
    settings = Settings.from_env({"DATABASE_URL": database_url})
    db = database_for(settings.database_path, settings.database_url)
    await db.open(create=False)
    try:
        async with db.transaction() as tx:
            for sql in statements:
                await tx.execute(sql)
    finally:
        await db.close()


@pytest.mark.slow
async def test_a_kept_update_answered_then_killed_before_it_was_forgotten_is_not_answered_again(
    bot_api: FakeBotAPI, database_url: str, tmp_path: Path
) -> None:
    """A kept /help (on SQLite it changes nothing, so the update log does not know it) is
    handled, then the process dies before its kept row is deleted (here: the database
    refuses the delete, then kill -9): the next start must not answer it a second time."""
    api = bot_api
    env = telegram_env(api, database_url, RELAIS_TELEGRAM_RATE="1000")
    log = tmp_path / "bot.log"
    await _stopped_with_a_stuck_chat(api, env, log)
    backend = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    await _run_sql(env["DATABASE_URL"], _KEEP_THEM[backend])
    process = await start_bot(env, log)
    try:
        await _until(lambda: "could not be forgotten" in log.read_text(), timeout=DEADLINE)
        # With several processes (PostgreSQL) the answer went through the outbox, written
        # with the update's key: the update log covers it once it is sent (a kill before
        # its send is settled would have it sent again, at least once, by design).
        await _until(lambda: _all_sent_at(env), timeout=DEADLINE)
    finally:
        process.send_signal(signal.SIGKILL)
        assert await asyncio.wait_for(process.wait(), DEADLINE) == -signal.SIGKILL
    drop = ["DROP TRIGGER keep_them" + (" ON kept_updates" if backend == "postgresql" else "")]
    await _run_sql(env["DATABASE_URL"], drop)
    process = await start_bot(env, log)
    try:
        await api.wait_for_text(STUCK, "Here is what I can do", timeout=DEADLINE)
        await _until(lambda: _none_kept_at(env), timeout=DEADLINE)
        await _until(lambda: _all_sent_at(env), timeout=DEADLINE)
    finally:
        assert await stop_bot(process) == 0, log.read_text()
    assert _answers(api, STUCK, "Here is what I can do") == 1
