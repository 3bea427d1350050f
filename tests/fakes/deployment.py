"""Several `python -m bot` processes in webhook mode on one database, as a campaign deploys
them behind a reverse proxy, against a FakeBotAPI; tests and benchmarks post updates to them
as Telegram would (with the secret header) and read what each process logged."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from bot.messaging import Outbound
from bot.storage.connect import database_for
from bot.storage.outbox import URGENT_BROADCAST, Envelope, OutboxRepository
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.relais import telegram_env

ROOT = Path(__file__).resolve().parent.parent.parent
SECRET = "cluster-secret"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def text_update(update_id: int, user: int, text: str, language: str = "en") -> dict[str, Any]:
    """A private text message as Telegram posts it (a leading /command gets its entity)."""
    message: dict[str, Any] = {
        "message_id": update_id,
        "date": int(time.time()),
        "chat": {"id": user, "type": "private", "first_name": f"P{user}"},
        "from": {
            "id": user,
            "is_bot": False,
            "first_name": f"P{user}",
            "language_code": language,
        },
        "text": text,
    }
    if text.startswith("/"):
        length = len(text.split()[0])
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    return {"update_id": update_id, "message": message}


class Worker:
    """One `python -m bot` process, its port and its log."""

    def __init__(self, name: str, port: int, log: Path) -> None:
        self.name = name
        self.port = port
        self.log = log
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/telegram"

    def logged(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    async def until_logged(self, line: str, timeout: float = 60) -> None:
        """Wait for `line` in the log (a hang guard, not a measure)."""
        deadline = time.monotonic() + timeout
        while line not in self.logged():
            if self.process is not None and self.process.returncode is not None:
                raise RuntimeError(f"{self.name} ended:\n{self.logged()[-3000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} never logged {line!r}:\n{self.logged()[-3000:]}")
            await asyncio.sleep(0.05)

    def holds(self, role: str) -> bool:
        """Whether the log says this process holds `role` now."""
        text = self.logged()
        return text.rfind(f"now holds {role}") > text.rfind(f"gave up {role}")


class Deployment:
    """N workers on `database_url`, each on its own port, in webhook mode."""

    def __init__(self, api: FakeBotAPI, database_url: str, folder: Path, **extra: str) -> None:
        self.api = api
        self.folder = folder
        self.env = {
            **os.environ,
            **telegram_env(api, folder / "unused.sqlite3"),
            "DATABASE_URL": database_url,
            "RELAIS_WEBHOOK_URL": "https://relais.example.org",
            "RELAIS_WEBHOOK_SECRET": SECRET,
            "RELAIS_LANGUAGE": "en",
            "PYTHONUNBUFFERED": "1",
            **extra,
        }
        self.workers: list[Worker] = []
        self._session: aiohttp.ClientSession | None = None
        self._next = 0

    def run_cli(self, *args: str, env: dict[str, str] | None = None) -> str:
        """`python -m bot ARGS` on the same database (migrate, broadcast…), or with `env`
        over the workers' environment."""
        done = subprocess.run(
            [sys.executable, "-m", "bot", *args],
            cwd=ROOT,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0:
            raise RuntimeError(f"python -m bot {' '.join(args)}: {done.stderr[-2000:]}")
        return done.stdout

    async def add_volunteers(self, count: int, id_base: int = 20_000) -> list[int]:
        """`count` active volunteers on Telegram (chat ids id_base…), straight into the
        PostgreSQL database; their chat ids."""
        stamp = datetime.now(UTC).isoformat()
        connection = await asyncpg.connect(self.env["DATABASE_URL"])
        try:
            async with connection.transaction():
                ids = await connection.fetch(
                    "INSERT INTO volunteers (status, first_name, language, quiet_hours,"
                    " created_at, joined_at, last_active_at)"
                    " SELECT 'active', 'P' || n, 'en', '', $2, $2, $2 FROM generate_series(1, $1) n"
                    " RETURNING id",
                    count,
                    stamp,
                )
                chats = [id_base + n for n in range(count)]
                await connection.executemany(
                    "INSERT INTO identities (channel, user_id, volunteer_id, chat_id, created_at)"
                    " VALUES ('telegram', $1, $2, $1, $3)",
                    [(str(chat), row["id"], stamp) for chat, row in zip(chats, ids, strict=True)],
                )
        finally:
            await connection.close()
        return chats

    async def start(self, count: int = 1) -> list[Worker]:
        """Start `count` more workers and wait until each says it is running."""
        started = []
        for _ in range(count):
            n = len(self.workers) + 1
            worker = Worker(f"worker {n}", free_port(), self.folder / f"worker-{n}.log")
            with worker.log.open("ab") as log:
                worker.process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bot",
                    cwd=ROOT,
                    env={**self.env, "PORT": str(worker.port)},
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                )
            self.workers.append(worker)
            started.append(worker)
        for worker in started:
            await worker.until_logged("Relais is running")
        return started

    def alive(self) -> list[Worker]:
        return [w for w in self.workers if w.process is not None and w.process.returncode is None]

    def holder(self, role: str) -> Worker | None:
        held = [w for w in self.alive() if w.holds(role)]
        return held[0] if len(held) == 1 else None

    async def post(self, update: dict[str, Any], worker: Worker | None = None) -> int:
        """Post one update as Telegram does: to `worker`, or to the next live one in turn
        (a proxy's round robin); the HTTP status."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        alive = self.alive()
        if worker is None:
            worker = alive[self._next % len(alive)]
            self._next += 1
        async with self._session.post(
            worker.url, data=json.dumps(update), headers={SECRET_HEADER: SECRET}
        ) as response:
            await response.read()
            return response.status

    async def kill(self, worker: Worker) -> None:
        assert worker.process is not None
        worker.process.send_signal(signal.SIGKILL)
        await worker.process.wait()

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        for worker in self.alive():
            assert worker.process is not None
            worker.process.send_signal(signal.SIGTERM)
        for worker in self.workers:
            if worker.process is None:
                continue
            try:
                await asyncio.wait_for(worker.process.wait(), 30)
            except TimeoutError:
                worker.process.kill()
                await worker.process.wait()


async def queue_broadcast(url: str, chats: list[int], text: str) -> None:
    """A broadcast's rows, as its fan-out queues them (their commit wakes the sender)."""
    db = database_for(Path("unused.sqlite3"), url)
    await db.open()
    try:
        envelopes = [
            Envelope("broadcast", "telegram", str(chat), Outbound(text), priority=URGENT_BROADCAST)
            for chat in chats
        ]
        await OutboxRepository(db).add(envelopes, datetime.now(UTC))
    finally:
        await db.close()
