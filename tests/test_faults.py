"""Faults Relais must survive: a locked or full database, replays, odd updates, late jobs."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import sys
from pathlib import Path

import pytest

from bot.app import Relais
from bot.logs import RedactingFormatter
from bot.scheduler import Scheduler
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.relais import TOKEN, running_relais, telegram_env

HOLD_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], timeout=5, isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("ROLLBACK")
"""


async def hold_lock(path: Path, seconds: float) -> asyncio.subprocess.Process:
    """Another process takes the database's write lock for a while."""
    # Started without blocking the loop: Relais keeps running while we wait for the lock.
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        HOLD_LOCK,
        str(path),
        str(seconds),
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    assert (await process.stdout.readline()).strip() == b"locked"
    return process


@pytest.mark.slow
@pytest.mark.sqlite_only("SQLite's write lock held by another process")
async def test_a_database_locked_for_3_seconds_makes_relais_wait_then_answer(
    telegram_relais: Relais, bot_api: FakeBotAPI
) -> None:
    locker = await hold_lock(telegram_relais.settings.database_path, 3)
    try:
        bot_api.send_text(50, "/help", language_code="en")
        await bot_api.wait_for_text(50, "Here is what I can do", timeout=15)
    finally:
        await locker.wait()
    assert not any("busy" in (c.text or "") for c in bot_api.messages_to(50))


@pytest.mark.slow
@pytest.mark.sqlite_only("SQLite's write lock held by another process")
async def test_a_database_locked_for_30_seconds_gets_a_clear_answer_and_no_change(
    telegram_relais: Relais, bot_api: FakeBotAPI
) -> None:
    path = telegram_relais.settings.database_path
    locker = await hold_lock(path, 30)
    try:
        # /start writes (a flow begins); /help, which changes nothing, would not wait.
        bot_api.send_text(51, "/start", language_code="en")
        reply = await bot_api.wait_for_text(51, "very busy", timeout=25)
        assert "Nothing was changed" in (reply.text or "")
    finally:
        locker.kill()
        await locker.wait()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM processed_updates").fetchone() == (0,)
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    # Once the lock is gone, the same person is served normally.
    bot_api.send_text(51, "/help", language_code="en")
    await bot_api.wait_for_text(51, "Here is what I can do", timeout=15)


@pytest.mark.sqlite_only("SQLite's file on a full disk")
async def test_a_full_disk_gets_a_clear_answer_and_leaves_the_database_intact(
    telegram_relais: Relais, bot_api: FakeBotAPI
) -> None:
    db = telegram_relais.db
    # SQLite answers SQLITE_FULL exactly as on a full disk once it may not grow further.
    pages = await db.fetch_value("PRAGMA page_count")
    await db.writer.execute(f"PRAGMA max_page_count = {pages}")
    # Many people at once (one person's answers would wait their turn, one a second), each
    # starting to join: a flow begins, which is written (/help writes nothing).
    for n in range(200):
        bot_api.send_text(600 + n, "/start", first_name="x" * 60, language_code="en")
    reply = await bot_api.wait_for(
        lambda c: c.ok and "went wrong" in (c.text or "") and 600 <= int(c.chat_id or 0) < 800,
        timeout=15,
    )
    assert "Nothing was changed" in (reply.text or "")
    await db.writer.execute("PRAGMA max_page_count = 1073741823")
    bot_api.send_text(70, "/help", language_code="en")
    # Behind the 200 answers already queued, paced at Telegram's 30 a second.
    await bot_api.wait_for_text(70, "Here is what I can do", timeout=30)
    assert await db.fetch_value("PRAGMA integrity_check") == "ok"


async def test_updates_out_of_order_are_each_answered_once(
    telegram_relais: Relais, bot_api: FakeBotAPI
) -> None:
    def message(update_id: int, text: str) -> dict[str, object]:
        return {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 1_700_000_000,
                "chat": {"id": 80, "type": "private", "first_name": "Ana"},
                "from": {"id": 80, "is_bot": False, "first_name": "Ana", "language_code": "en"},
                "text": text,
                "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
            },
        }

    bot_api.enqueue_raw(message(900, "/help"))
    bot_api.enqueue_raw(message(899, "/help"))
    bot_api.enqueue_raw(message(900, "/help"))
    # One chat's answers leave in order: once this one is there, any duplicate would be too.
    bot_api.enqueue_raw(message(901, "/start"))
    await bot_api.wait_for_text(80, "Hello Ana", timeout=10)
    answers = [c for c in bot_api.messages_to(80) if "Here is what I can do" in (c.text or "")]
    assert len(answers) == 2


async def test_a_tap_on_a_message_the_bot_no_longer_knows_has_expired(
    telegram_relais: Relais, bot_api: FakeBotAPI
) -> None:
    query_id = bot_api.tap(81, "task:acc:424242", message_id=31337, language_code="fr")
    await bot_api.wait_for_text(81, "Ce bouton a expiré")
    assert query_id in bot_api.answered_callbacks


async def test_the_token_never_reaches_the_logs_even_on_errors(
    bot_api: FakeBotAPI, tmp_path: Path
) -> None:
    log_file = tmp_path / "relais.log"
    handler = logging.FileHandler(log_file)
    handler.setFormatter(RedactingFormatter((TOKEN,)))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    logging.getLogger("httpx").setLevel(logging.DEBUG)
    # An earlier test in this worker may have set up Relais' logging at INFO.
    own = logging.getLogger("bot")
    own_level = own.level
    own.setLevel(logging.DEBUG)
    try:
        async with running_relais(telegram_env(bot_api, tmp_path / "t.db")):
            bot_api.fail_next("sendMessage", 500)
            bot_api.fail_next("sendMessage", 400, "Bad Request: chat not found")
            for user in (90, 91, 92):
                bot_api.send_text(user, "/help", language_code="en")
            await bot_api.wait_for_text(92, "Here is what I can do")
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
        own.setLevel(own_level)
        logging.getLogger("httpx").setLevel(logging.WARNING)
    logs = log_file.read_text()
    assert "sendMessage" in logs or "getUpdates" in logs  # the URLs were logged…
    assert TOKEN not in logs and TOKEN.split(":")[1] not in logs  # …without the token


@pytest.mark.slow
async def test_a_job_whose_time_passed_while_the_scheduler_was_stopped_runs_once() -> None:
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    scheduler = Scheduler(ZoneInfo("Europe/Paris"))
    runs: list[str] = []

    async def once() -> None:
        runs.append("once")

    async def repeating() -> None:
        runs.append("tick")

    scheduler.start()
    scheduler.aps.pause()
    scheduler.at(datetime.now(UTC) + timedelta(seconds=0.3), once, "once")
    scheduler.every(2, repeating, "tick")
    await asyncio.sleep(5)  # the scheduler is down across both jobs' times
    scheduler.aps.resume()
    await asyncio.sleep(0.5)
    scheduler.stop()
    assert runs.count("once") == 1
    assert runs.count("tick") == 1  # missed ticks coalesce into one run
