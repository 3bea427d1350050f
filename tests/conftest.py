"""Fixtures only: settings, a migrated database on a real file, services, a router, chats."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

import handlers
from bot.app import Relais
from bot.config import Settings
from bot.i18n import set_language
from bot.router import Router
from bot.services import Services
from bot.storage.db import Database
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.chat import Chat
from tests.fakes.clock import FakeClock
from tests.fakes.relais import running_relais, telegram_env
from tests.fakes.signal_cli import FakeSignalCli

# The real signal-cli daemon for the contract tests, booted once per session.
pytest_plugins = ("tests.real_signal_cli",)

ADMIN_ID = "1"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'relais.sqlite3'}",
            "RELAIS_ADMINS": f"telegram:{ADMIN_ID}",
            "RELAIS_PSEUDONYM_KEY": "test-key",
        }
    )


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = Database(settings.database_path)
    await database.open()
    await database.migrate()
    yield database
    await database.close()


@pytest.fixture
def services(settings: Settings, clock: FakeClock, db: Database) -> Services:
    return Services.build(settings, clock, db)


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
    bot_api: FakeBotAPI, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[Relais]:
    """Relais running in-process against the fake Bot API, on a fresh database."""
    env = telegram_env(bot_api, tmp_path / "relais.sqlite3")
    async with running_relais(env, clock) as relais:
        yield relais


@pytest.fixture
async def signal_cli() -> AsyncIterator[FakeSignalCli]:
    """A fake signal-cli daemon (HTTP mode) on loopback."""
    async with FakeSignalCli() as fake:
        yield fake
