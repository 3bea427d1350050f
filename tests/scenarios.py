"""One person, three messengers: drive a scenario the same way on Telegram, Signal and the
console, and read back what Relais answered.

A scenario says what the person types (`say`) or picks (`choose`, with a button label as
Relais writes it, an English msgid translated into the person's language) and a piece of
the answer it expects (`Expect`, in French and English). On Telegram `choose` taps the
inline button through the real PTB client and the fake Bot API; on Signal and the console
it types the letter and number printed before that label ("B2"), exactly as a person
would, through the real Signal adapter against the fake signal-cli, or the console chat.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest

import handlers
from bot.config import Settings
from bot.i18n import _, set_language, use_language
from bot.router import FloodGate, Router
from bot.services import Services
from bot.storage.connect import database_for
from bot.transports.console import ConsoleTransport
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.clock import FakeClock
from tests.fakes.relais import database_url_of, running_relais, telegram_env
from tests.fakes.services import services_on
from tests.fakes.signal_cli import FakeSignalCli, signal_env


@dataclass(frozen=True)
class Expect:
    """A piece of Relais's answer, in each language."""

    fr: str
    en: str

    def said(self, language: str) -> str:
        return self.fr if language == "fr" else self.en


class Person(Protocol):
    """Someone talking to Relais on one messenger."""

    messenger: str
    language: str
    user_id: str

    async def say(self, text: str, expect: Expect | str) -> str:
        """Type `text`; the answer that contains what is expected."""
        ...

    async def choose(self, label: Expect | str, expect: Expect | str) -> str:
        """Pick the choice labelled `label` (a msgid, translated) on the newest message
        showing it; the answer that contains what is expected."""
        ...


def translated(label: Expect | str, language: str) -> str:
    """A button label as the person sees it: a msgid translated, or an Expect's words."""
    if isinstance(label, Expect):
        return label.said(language)
    with use_language(language):
        return _(label)


def _expected(expect: Expect | str, language: str) -> str:
    return expect if isinstance(expect, str) else expect.said(language)


@dataclass
class TelegramPerson:
    api: FakeBotAPI
    user_id: str
    language: str
    messenger: str = "telegram"

    async def say(self, text: str, expect: Expect | str) -> str:
        since = len(self.api.sent)
        self.api.send_text(int(self.user_id), text, language_code=self.language)
        return await self._answer(expect, since)

    async def choose(self, label: Expect | str, expect: Expect | str) -> str:
        wanted = translated(label, self.language)
        for call in reversed(self.api.messages_to(int(self.user_id))):
            for row in (call.reply_markup or {}).get("inline_keyboard", []):
                for button in row:
                    if wanted in str(button.get("text", "")) and button.get("callback_data"):
                        since = len(self.api.sent)
                        assert call.message_id is not None
                        self.api.tap(
                            int(self.user_id),
                            str(button["callback_data"]),
                            message_id=call.message_id,
                            language_code=self.language,
                        )
                        return await self._answer(expect, since)
        raise AssertionError(f"no button {wanted!r}\n{self.api.dump_calls()}")

    async def _answer(self, expect: Expect | str, since: int) -> str:
        call = await self.api.wait_for_text(
            int(self.user_id), _expected(expect, self.language), since=since, timeout=15
        )
        return call.text or ""


_CODE = re.compile(r"^([A-Z])(\d+)\. (.*)$", re.M)


def _code_for(texts: Sequence[str], wanted: str) -> str:
    """The "B2" printed before `wanted` in the newest text showing it."""
    for text in reversed(texts):
        for match in _CODE.finditer(text):
            if wanted in match[3]:
                return match[1] + match[2]
    raise AssertionError(f"no numbered choice {wanted!r} in:\n" + "\n---\n".join(texts[-4:]))


@dataclass
class SignalPerson:
    fake: FakeSignalCli
    user_id: str
    language: str
    messenger: str = "signal"

    async def say(self, text: str, expect: Expect | str) -> str:
        since = len(self.fake.sent)
        self.fake.send_text(self.user_id, text)
        message = await self.fake.wait_for_text(
            self.user_id, _expected(expect, self.language), since=since, timeout=15
        )
        return message.message

    async def choose(self, label: Expect | str, expect: Expect | str) -> str:
        texts = [m.message for m in self.fake.messages_to(self.user_id)]
        return await self.say(_code_for(texts, translated(label, self.language)), expect)


class ConsolePerson:
    """The console chat, in-process, on the scenario's database."""

    messenger = "console"

    def __init__(self, router: Router, services: Services, user_id: str, language: str) -> None:
        self.user_id = user_id
        self.language = language
        self.out = io.StringIO()
        self.console = ConsoleTransport(
            router.dispatch,
            language,
            stdout=self.out,
            boards=services.chats,
            clock=services.clock,
        )
        self.console.user_id = user_id
        self.printed: list[str] = []

    async def say(self, text: str, expect: Expect | str) -> str:
        start = self.out.tell()
        await self.console.handle_line(text)
        printed = self.out.getvalue()[start:]
        # Console lines are indented under "relais> ": read them back as one message each.
        messages = [re.sub(r"\n {8}", "\n", m) for m in printed.split("relais> ")[1:] if m.strip()]
        self.printed += messages
        wanted = _expected(expect, self.language)
        found = [m for m in messages if wanted in m]
        assert found, f"{wanted!r} not in the console's answer to {text!r}:\n{printed}"
        return found[0]

    async def choose(self, label: Expect | str, expect: Expect | str) -> str:
        return await self.say(_code_for(self.printed, translated(label, self.language)), expect)


# -- where the scenarios run ------------------------------------------------------------


MESSENGERS = ("telegram", "signal", "console")


@dataclass
class World:
    """One messenger running Relais on a fresh database, and a way to meet people there."""

    messenger: str
    services: Services
    person: Callable[[str, str], Person]

    def user(self, number: int) -> str:
        """A user id of this messenger (Signal knows people by UUID)."""
        if self.messenger == "signal":
            return f"5c0e0000-0000-4000-8000-{number:012d}"
        return str(number)


@contextlib.asynccontextmanager
async def world(messenger: str, database: Path | str, clock: FakeClock) -> AsyncIterator[World]:
    """Relais on `messenger`, on a SQLite file or at a DATABASE_URL."""
    if messenger == "telegram":
        async with FakeBotAPI() as api, running_relais(telegram_env(api, database), clock) as r:
            yield World(messenger, r.services, lambda uid, lang: TelegramPerson(api, uid, lang))
    elif messenger == "signal":
        async with FakeSignalCli() as fake, running_relais(signal_env(fake, database), clock) as r:
            await fake.wait_for_connections(1)
            yield World(messenger, r.services, lambda uid, lang: SignalPerson(fake, uid, lang))
    else:
        settings = Settings.from_env(
            {"DATABASE_URL": database_url_of(database), "RELAIS_PSEUDONYM_KEY": "test-key"}
        )
        db = database_for(settings.database_path, settings.database_url)
        await db.open()
        await db.migrate()
        try:
            services = services_on(settings, clock, db)
            router = Router(services, FloodGate(limit=1000))
            handlers.register(router)
            set_language("fr")
            yield World(
                messenger,
                services,
                lambda uid, lang: ConsolePerson(router, services, uid, lang),
            )
        finally:
            await db.close()


@pytest.fixture(params=MESSENGERS)
async def place(
    request: pytest.FixtureRequest, database_url: str, clock: FakeClock
) -> AsyncIterator[World]:
    async with world(request.param, database_url, clock) as running:
        yield running


both_languages = pytest.mark.parametrize("language", ["fr", "en"])
