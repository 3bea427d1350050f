"""Relais in an admin's terminal: Ctrl-C ends the console chat at once, and a command whose
reader goes away (`report --format json | head`) stops without a traceback."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _env(database: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SIGNAL_"))}
    env.update(DATABASE_URL=f"sqlite:///{database}", RELAIS_LOG_LEVEL="WARNING")
    return env


async def test_ctrl_c_ends_the_console_without_waiting_for_enter(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=tmp_path,
        env=_env(tmp_path / "console.sqlite3"),
        stdin=asyncio.subprocess.PIPE,  # kept open: nobody presses Enter or Ctrl-D
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    shown = b""
    while b"user 1> " not in shown:  # the prompt: the console is waiting for a line
        chunk = await asyncio.wait_for(process.stdout.read(200), 60)
        assert chunk, shown
        shown += chunk
    process.send_signal(signal.SIGINT)
    try:
        # Before the fix the process sat in a thread reading the keyboard until Enter.
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    stderr = await process.stderr.read() if process.stderr else b""
    assert b"Traceback" not in stderr


def test_a_report_piped_into_a_reader_that_left_stops_quietly(tmp_path: Path) -> None:
    database = tmp_path / "relais.sqlite3"
    env = _env(database)
    migrate = [sys.executable, "-m", "bot", "migrate"]
    subprocess.run(migrate, cwd=tmp_path, env=env, check=True, capture_output=True, timeout=60)
    reader, writer = os.pipe()
    os.close(reader)  # `head` has read its lines and gone: every write now fails (EPIPE)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bot", "report", "--format", "json"],
            cwd=tmp_path,
            env=env,
            stdout=writer,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(writer)
    assert done.stderr == ""
    assert done.returncode == 1
