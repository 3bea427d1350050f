"""Run the whole Relais app in-process, its real Telegram client pointed at a FakeBotAPI."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

from bot.app import Relais
from bot.clock import Clock
from bot.config import Settings
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.services import with_db

TOKEN = "123456:TEST-token-never-logged"


def database_url_of(database: Path | str) -> str:
    """DATABASE_URL for a SQLite file, or the URL itself (the `database_url` fixture's: a
    SQLite file or a PostgreSQL schema)."""
    if isinstance(database, str) and "://" in database:
        return database
    return f"sqlite:///{database}"


def telegram_env(api: FakeBotAPI, database: Path | str, **extra: str) -> dict[str, str]:
    """The environment a deployment would set, pointed at the fake server, on a SQLite file
    or at a DATABASE_URL."""
    return {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": api.base_url,
        "DATABASE_URL": database_url_of(database),
        "RELAIS_ADMINS": "telegram:1",
        "RELAIS_PSEUDONYM_KEY": "test-key",
        **extra,
    }


@asynccontextmanager
async def running_relais(
    env: Mapping[str, str], clock: Clock | None = None, timeout: float = 10.0
) -> AsyncIterator[Relais]:
    """Start Relais, wait until it polls, and stop it cleanly when the block ends."""
    relais = Relais(Settings.from_env(env), clock)
    task = asyncio.create_task(relais.run())
    started = asyncio.create_task(relais.started.wait())
    done, _ = await asyncio.wait(
        {task, started}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
    )
    if task in done:
        started.cancel()
        task.result()  # raises what made it stop
        raise RuntimeError("Relais stopped during start-up")
    if started not in done:
        task.cancel()
        raise TimeoutError("Relais did not start")
    # Tests look into the database through the services, as with the `services` fixture.
    relais.services = with_db(relais.services, relais.db)
    try:
        yield relais
    finally:
        relais.stopping.set()
        await asyncio.wait_for(task, timeout)
