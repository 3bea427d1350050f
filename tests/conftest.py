"""Fixtures only: settings, a migrated database on a real file, services, a router, chats."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

import handlers
from bot.app import Relais
from bot.config import Settings
from bot.i18n import set_language
from bot.router import Router
from bot.services import Services
from bot.storage.connect import database_for
from bot.storage.db import Database
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.chat import Chat
from tests.fakes.clock import FakeClock
from tests.fakes.relais import running_relais, telegram_env
from tests.fakes.services import services_on
from tests.fakes.signal_cli import FakeSignalCli

# The real signal-cli daemon for the contract tests, booted once per session; PostgreSQL
# beside SQLite for the tests that run on both (tests/postgres.py says which).
pytest_plugins = ("tests.real_signal_cli", "tests.postgres")

ADMIN_ID = "1"

# No time limit per example: a loaded machine (or PostgreSQL beside SQLite) makes one slow,
# never wrong; speed is the benchmarks' business, not a test's.
hypothesis_settings.register_profile("relais", deadline=None)
hypothesis_settings.load_profile("relais")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new SQLite file, or (for a test that runs on both backends, tests/postgres.py) a
    new PostgreSQL schema, dropped after the test."""
    if getattr(request, "param", "sqlite") == "sqlite":
        yield f"sqlite:///{tmp_path / 'relais.sqlite3'}"
        return
    from tests.postgres import fresh_schema

    yield from fresh_schema(request)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings.from_env(
        {
            "DATABASE_URL": database_url,
            "RELAIS_ADMINS": f"telegram:{ADMIN_ID}",
            "RELAIS_PSEUDONYM_KEY": "test-key",
        }
    )


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = database_for(settings.database_path, settings.database_url)
    await database.open()
    await database.migrate()
    yield database
    await database.close()


@pytest.fixture
def services(settings: Settings, clock: FakeClock, db: Database) -> Services:
    return services_on(settings, clock, db)


@pytest.fixture
def router(services: Services) -> Router:
    set_language("fr")
    router = Router(services)
    handlers.register(router)
    return router


@pytest.fixture
def chat(router: Router) -> Callable[..., Chat]:
    """A factory: chat("42", language="en") is volunteer 42's private chat."""

    def make(user_id: str = "100", **kwargs: object) -> Chat:
        return Chat(router, user_id=user_id, **kwargs)  # type: ignore[arg-type]

    return make


@pytest.fixture
def admin_chat(chat: Callable[..., Chat]) -> Chat:
    return chat(ADMIN_ID)


AsyncCallable = Callable[[], Awaitable[None]]


@pytest.fixture
async def bot_api() -> AsyncIterator[FakeBotAPI]:
    """A fake Telegram Bot API server on loopback."""
    async with FakeBotAPI() as api:
        yield api


@pytest.fixture
async def telegram_relais(
    bot_api: FakeBotAPI, database_url: str, clock: FakeClock
) -> AsyncIterator[Relais]:
    """Relais running in-process against the fake Bot API, on a fresh database (a SQLite
    file, or a PostgreSQL schema: several processes' mode, with one)."""
    env = telegram_env(bot_api, database_url)
    async with running_relais(env, clock) as relais:
        yield relais


@pytest.fixture
async def signal_cli() -> AsyncIterator[FakeSignalCli]:
    """A fake signal-cli daemon (HTTP mode) on loopback."""
    async with FakeSignalCli() as fake:
        yield fake
