"""Killed with SIGKILL while answering an update: the volunteer gets the answer, once.

What an update changes, the mark that it was handled and the answers it owes are written
together: killed before that moment, the update is handled again when Relais comes back
(Telegram sends it again: it was never acknowledged); killed after it, the answers are on
disk and go out at the next start. The process kills itself at a named point
(RELAIS_TEST_FAULT, read only by bot/faults.py and set only by tests).
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from bot.config import Settings
from bot.storage.connect import database_for
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.relais import telegram_env
from tests.test_process import start_bot, stop_bot
from tests.test_telegram_volunteers import say, tap

ME = 7070
STEP_3 = "Étape 3 sur 6"


async def count_rows(database_url: str, table: str) -> int:
    settings = Settings.from_env({"DATABASE_URL": database_url})
    db = database_for(settings.database_path, settings.database_url)
    await db.open(create=False)
    try:
        return int(await db.fetch_value(f"SELECT COUNT(*) FROM {table}"))
    finally:
        await db.close()


def _answers(api: FakeBotAPI, words: str) -> int:
    return sum(1 for c in api.messages_to(ME) if c.ok and c.text and words in c.text)


async def _consent_tap_killed_at(
    fault: str, api: FakeBotAPI, database_url: str, tmp_path: Path
) -> dict[str, str]:
    """Join up to the consent notice, then tap "J'accepte" in a process that kills itself
    at `fault`; the environment to start Relais again."""
    env = telegram_env(api, tmp_path / "crash.sqlite3", DATABASE_URL=database_url)
    log = tmp_path / "bot.log"
    process = await start_bot(env, log)
    try:
        await api.wait_for_requests("getUpdates", 1)
        await say(api, ME, "/start", "Bonjour Inès", "fr")
        await tap(api, ME, "Français", "Avant de commencer", "fr")
    finally:
        assert await stop_bot(process) == 0

    polls = api.stats.requests["getUpdates"]
    process = await start_bot({**env, "RELAIS_TEST_FAULT": fault}, log)
    await api.wait_for_requests("getUpdates", polls + 1)
    message = next(c for c in reversed(api.messages_to(ME)) if c.reply_markup)
    data = next(
        b["callback_data"]
        for row in (message.reply_markup or {})["inline_keyboard"]
        for b in row
        if "J'accepte" in b["text"]
    )
    assert message.message_id is not None
    api.tap(ME, data, message_id=message.message_id, language_code="fr", first_name="Inès")
    assert await asyncio.wait_for(process.wait(), 30) == -signal.SIGKILL, log.read_text()
    assert _answers(api, STEP_3) == 0
    return env


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["before-answers", "answers-queued"])
async def test_a_tap_killed_mid_update_is_answered_once_after_restart(
    fault: str, bot_api: FakeBotAPI, database_url: str, tmp_path: Path
) -> None:
    api = bot_api
    env = await _consent_tap_killed_at(fault, api, database_url, tmp_path)
    polls = api.stats.requests["getUpdates"]
    process = await start_bot(env, tmp_path / "bot.log")
    try:
        await api.wait_for_requests("getUpdates", polls + 1)
        await api.wait_for_text(ME, STEP_3)
        await asyncio.sleep(1.0)  # time for a second copy, if one were coming
        assert _answers(api, STEP_3) == 1
        # The flow goes on from the step the answer asked about.
        await tap(api, ME, "Garder « Inès »", "Où êtes-vous ?", "fr")
    finally:
        assert await stop_bot(process) == 0
    assert await count_rows(database_url, "consents") == 1
    assert await count_rows(database_url, "volunteers") == 1
