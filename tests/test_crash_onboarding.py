"""Killed with SIGKILL in the middle of joining: restarted, nothing lost, nothing half-written."""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path

import pytest

from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.relais import telegram_env
from tests.test_process import start_bot, stop_bot
from tests.test_telegram_volunteers import say, tap


@pytest.mark.slow
async def test_a_volunteer_killed_mid_onboarding_resumes_where_they_were(
    bot_api: FakeBotAPI, tmp_path: Path
) -> None:
    api, me = bot_api, 6060
    database = tmp_path / "crash.sqlite3"
    env = telegram_env(api, database)
    process = await start_bot(env, tmp_path / "bot.log")
    await api.wait_for_requests("getUpdates", 1)  # the bot is up and polling
    await say(api, me, "/start", "Bonjour Inès", "fr")
    await tap(api, me, "Français", "Avant de commencer", "fr")
    await tap(api, me, "J'accepte", "Étape 3 sur 6", "fr")
    await tap(api, me, "Garder « Inès »", "Où êtes-vous ?", "fr")
    process.send_signal(signal.SIGKILL)
    assert await process.wait() == -signal.SIGKILL

    with sqlite3.connect(database) as conn:  # what the kill left on disk
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT COUNT(*) FROM consents").fetchone() == (1,)
        assert conn.execute("SELECT first_name, status FROM volunteers").fetchall() == [
            ("Inès", "onboarding")
        ]

    polls = api.stats.requests["getUpdates"]
    process = await start_bot(env, tmp_path / "bot.log")
    try:
        await api.wait_for_requests("getUpdates", polls + 1)
        await say(api, me, "75011", "Qu'êtes-vous prêt·e à faire", "fr")
        await tap(api, me, "Partager en ligne", "Qu'êtes-vous prêt·e à faire", "fr")
        await tap(api, me, "Terminé", "Quand êtes-vous", "fr")
        await tap(api, me, "Soirs de semaine", "Quand êtes-vous", "fr")
        await tap(api, me, "Terminé", "Bienvenue dans l'équipe, Inès", "fr")
    finally:
        assert await stop_bot(process) == 0
    with sqlite3.connect(database) as conn:
        row = conn.execute("SELECT status, postcode, department, skills FROM volunteers")
        assert row.fetchall() == [("active", "75011", "75", "share")]
        assert conn.execute("SELECT COUNT(*) FROM consents").fetchone() == (1,)
        assert conn.execute("SELECT COUNT(*) FROM identities").fetchone() == (1,)
