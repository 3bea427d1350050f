"""Relais as a deployment runs it: `python -m bot` in its own process, talking HTTP."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import httpx
import pytest

from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.relais import TOKEN, telegram_env

ROOT = Path(__file__).resolve().parent.parent


async def start_bot(env: dict[str, str], log_path: Path) -> asyncio.subprocess.Process:
    """`python -m bot` in its own process, writing to `log_path` (the child keeps the file)."""
    with log_path.open("ab") as log:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=ROOT,
            env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )


# Deadlines, not measures: a loaded machine (the suite's four workers beside other work)
# makes a process slow to start, answer or stop, never wrong.
DEADLINE = 120.0


async def stop_bot(process: asyncio.subprocess.Process) -> int:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(process.wait(), DEADLINE)


async def test_the_bot_process_answers_admin_and_stranger_in_both_languages(
    bot_api: FakeBotAPI, database_url: str, tmp_path: Path
) -> None:
    log_path = tmp_path / "bot.log"
    env = telegram_env(bot_api, database_url, RELAIS_LOG_LEVEL="DEBUG")
    process = await start_bot(env, log_path)
    try:
        await bot_api.wait_for_requests("getUpdates", 1)  # up and polling
        bot_api.send_text(1, "/start", first_name="Admin", language_code="fr")
        await bot_api.wait_for_text(1, "Bonjour Admin", timeout=DEADLINE)
        bot_api.send_text(999, "/start", first_name="Stranger", language_code="en")
        await bot_api.wait_for_text(999, "Hello Stranger", timeout=DEADLINE)
    finally:
        assert await stop_bot(process) == 0
    logs = log_path.read_text()
    assert "Relais is running" in logs
    # The token is in every request URL; it must never reach the logs, even at DEBUG.
    assert TOKEN not in logs and TOKEN.split(":")[1] not in logs


async def test_a_bad_setting_stops_with_one_line_naming_it(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=ROOT,
        env={**os.environ, "RELAIS_TIMEZONE": "Mars/Olympus", "DATABASE_URL": "sqlite:///x"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), DEADLINE)
    assert process.returncode == 2
    lines = stderr.decode().strip().splitlines()
    assert lines == [
        "Configuration error: RELAIS_TIMEZONE: unknown time zone 'Mars/Olympus' (e.g. Europe/Paris)"
    ]


async def test_the_console_chat_answers_typed_lines(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SIGNAL_"))}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'c.db'}", RELAIS_LOG_LEVEL="WARNING")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=ROOT,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, _ = await asyncio.wait_for(process.communicate(b"/start\n/as 7 en\n/help\n"), DEADLINE)
    text = stdout.decode()
    assert process.returncode == 0
    assert "Bonjour" in text and "Here is what I can do" in text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
async def test_webhook_mode_rejects_requests_without_the_secret(
    bot_api: FakeBotAPI, database_url: str, tmp_path: Path
) -> None:
    port = _free_port()
    env = telegram_env(
        bot_api,
        database_url,
        RELAIS_WEBHOOK_URL="https://relais.example.org",
        RELAIS_WEBHOOK_SECRET="s3cret-token",
        PORT=str(port),
    )
    process = await start_bot(env, tmp_path / "bot.log")
    update = {
        "update_id": 5,
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": 321, "type": "private", "first_name": "Web"},
            "from": {"id": 321, "is_bot": False, "first_name": "Web", "language_code": "en"},
            "text": "/help",
            "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
        },
    }
    url = f"http://127.0.0.1:{port}/telegram"
    try:
        # The webhook listens before Relais asks Telegram to use it.
        await bot_api.wait_for(lambda call: call.method == "setWebhook", timeout=DEADLINE)
        assert bot_api.webhook_url == "https://relais.example.org/telegram"
        # The update with the right secret is handled before it is answered.
        async with httpx.AsyncClient(timeout=DEADLINE) as client:
            wrong = await client.post(
                url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "no"}
            )
            assert wrong.status_code == 403
            missing = await client.post(url, json=update)
            assert missing.status_code == 403
            assert not bot_api.messages_to(321)
            right = await client.post(
                url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"}
            )
            assert right.status_code == 200
        await bot_api.wait_for_text(321, "Here is what I can do", timeout=DEADLINE)
    finally:
        assert await stop_bot(process) == 0
