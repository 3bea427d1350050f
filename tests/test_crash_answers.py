"""Killed with SIGKILL while answering an update: the volunteer gets the answer, once, on
Telegram, Signal and the console alike.

What an update changes, the mark that it was handled and the answers it owes are written
together: killed before that moment, the update is handled again when Relais comes back
(Telegram sends it again: it was never acknowledged); killed after it, the answers are on
disk and go out at the next start. The process kills itself at a named point
(RELAIS_TEST_FAULT, read only by bot/faults.py and set only by tests).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from bot.config import Settings
from bot.storage.connect import database_for
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.relais import telegram_env
from tests.fakes.signal_cli import FakeSignalCli, signal_env
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


# -- Signal: the same policy, an answer's numbers lettered when it is actually sent ---------

ANA = "a0a0a0a0-1111-4222-8333-444444444444"


def _signal_answers(signal_cli: FakeSignalCli, words: str) -> list[str]:
    return [m.message for m in signal_cli.messages_to(ANA) if words in m.message]


@pytest.mark.slow
async def test_a_signal_answer_written_before_a_kill_is_sent_once_after_restart(
    signal_cli: FakeSignalCli, database_url: str, tmp_path: Path
) -> None:
    env = signal_env(signal_cli, database_url)
    log = tmp_path / "bot.log"
    process = await start_bot(env, log)
    try:
        await signal_cli.wait_for_connections(1, timeout=30)
        signal_cli.send_text(ANA, "start", name="Ana")
        await signal_cli.wait_for_text(ANA, "Quelle langue", timeout=30)
        signal_cli.send_text(ANA, "1")  # Français
        await signal_cli.wait_for_text(ANA, "Avant de commencer", timeout=30)
    finally:
        assert await stop_bot(process) == 0

    # "1" (I agree): the volunteer, the flow's next step and the answers are written in
    # one transaction; the process dies right after it, before anything is sent.
    process = await start_bot({**env, "RELAIS_TEST_FAULT": "answers-queued"}, log)
    await signal_cli.wait_for_connections(2, timeout=30)
    signal_cli.send_text(ANA, "1")
    assert await asyncio.wait_for(process.wait(), 30) == -signal.SIGKILL, log.read_text()
    assert _signal_answers(signal_cli, STEP_3) == []  # Signal never brings it again

    process = await start_bot(env, log)
    try:
        asked = await signal_cli.wait_for_text(ANA, STEP_3, timeout=30)
        await asyncio.sleep(1.0)  # time for a second copy, if one were coming
        assert len(_signal_answers(signal_cli, STEP_3)) == 1
        assert len(_signal_answers(signal_cli, "Vous avez accepté")) == 1
        # Its choice was lettered when it was sent (the consent's list, which it answered,
        # used up), and "1" now stands for it.
        assert "A1. Garder « Ana »" in asked.message
        signal_cli.send_text(ANA, "1")
        await signal_cli.wait_for_text(ANA, "Où êtes-vous ?", timeout=30)
    finally:
        assert await stop_bot(process) == 0
    assert await count_rows(database_url, "consents") == 1
    assert await count_rows(database_url, "volunteers") == 1


# -- the console: the same policy, printed once after the restart ---------------------------


def _console_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SIGNAL_"))}
    env.update(DATABASE_URL=database_url, RELAIS_LANGUAGE="fr", RELAIS_LOG_LEVEL="WARNING")
    return env


class Terminal:
    """`python -m bot` with no messenger set: the console chat, typed into its stdin."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.shown = ""

    @classmethod
    async def open(cls, env: dict[str, str], cwd: Path, log: Path) -> Terminal:
        with log.open("ab") as errors:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                cwd=cwd,
                env={**env, "PYTHONUNBUFFERED": "1"},
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=errors,
            )
        return cls(process)

    async def wait_for(self, words: str, timeout: float = 30.0) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while words not in self.shown:
            chunk = await asyncio.wait_for(stdout.read(4096), max(0.1, deadline - loop.time()))
            assert chunk, self.shown
            self.shown += chunk.decode()

    async def type(self, line: str) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(line.encode() + b"\n")
        await stdin.drain()

    async def rest(self) -> None:
        """Read what is left once the process ended."""
        if self.process.stdout is not None:
            self.shown += (await self.process.stdout.read()).decode()

    async def close(self) -> int:
        """Ctrl-D: the console ends, Relais stops."""
        if self.process.stdin is not None and not self.process.stdin.is_closing():
            self.process.stdin.close()
        code = await asyncio.wait_for(self.process.wait(), 30)
        await self.rest()
        return code


@pytest.mark.slow
async def test_a_console_answer_written_before_a_kill_is_printed_once_after_restart(
    database_url: str, tmp_path: Path
) -> None:
    env = _console_env(database_url)
    log = tmp_path / "bot.log"
    terminal = await Terminal.open(env, tmp_path, log)
    try:
        await terminal.wait_for("user 1> ")
        await terminal.type("/start")
        await terminal.wait_for("Quelle langue")
        await terminal.type("1")  # Français
        await terminal.wait_for("Avant de commencer")
    finally:
        assert await terminal.close() == 0, log.read_text()

    terminal = await Terminal.open({**env, "RELAIS_TEST_FAULT": "answers-queued"}, tmp_path, log)
    await terminal.wait_for("user 1> ")
    await terminal.type("1")  # I agree
    assert await asyncio.wait_for(terminal.process.wait(), 30) == -signal.SIGKILL
    await terminal.rest()
    assert STEP_3 not in terminal.shown

    terminal = await Terminal.open(env, tmp_path, log)
    try:
        await terminal.wait_for(STEP_3)
        await terminal.wait_for("user 1> ")
        assert "A1. Garder" in terminal.shown
        await terminal.type("1")
        await terminal.wait_for("Où êtes-vous ?")
    finally:
        assert await terminal.close() == 0, log.read_text()
    assert terminal.shown.count(STEP_3) == 1
    assert terminal.shown.count("Vous avez accepté") == 1
    assert await count_rows(database_url, "consents") == 1
