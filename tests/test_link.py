"""/link: one volunteer on Telegram and Signal, and where offers and broadcasts arrive."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from bot.app import Relais
from bot.services import Services
from bot.storage.db import Database
from bot.storage.volunteers import Volunteer
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.chat import Chat
from tests.fakes.clock import FakeClock
from tests.fakes.relais import running_relais, telegram_env
from tests.fakes.signal_cli import FakeSignalCli, signal_env

UUID = "5e5e5e5e-1111-4222-8333-444444444444"
CODE_RE = re.compile(r"/link ([2-9A-Z]{4}-[2-9A-Z]{4})")


async def joined(
    services: Services, db: Database, channel: str, user_id: str, language: str = "fr"
) -> Volunteer:
    """A volunteer who finished joining on `channel`."""
    volunteer = await services.volunteers.create(channel, user_id, user_id, language, "Ana")
    return await services.volunteers.set_status(volunteer.id, "active")


def code_in(text: str) -> str:
    match = CODE_RE.search(text)
    assert match, f"no link code in {text!r}"
    return match[1]


@pytest.mark.parametrize(
    ("language", "linked", "arrive", "receive", "done"),
    [
        ("fr", "Lié !", "arrivent sur Telegram", "Les recevoir sur Signal", "désormais sur Signal"),
        ("en", "Linked!", "arrive on Telegram", "Receive them on Signal", "arrive on Signal"),
    ],
)
async def test_a_code_from_telegram_links_signal_and_signal_can_become_preferred(
    chat: Callable[..., Chat],
    services: Services,
    db: Database,
    language: str,
    linked: str,
    arrive: str,
    receive: str,
    done: str,
) -> None:
    volunteer = await joined(services, db, "telegram", "42", language)
    telegram = chat("42", language=language)
    signal = chat(UUID, language=language, channel="signal")
    await telegram.send("/link")
    code = code_in(telegram.last.text)
    await signal.send(f"/link {code.lower()}")
    assert linked in signal.last_text
    signal_volunteer = await services.volunteers.by_identity("signal", UUID)
    assert signal_volunteer is not None and signal_volunteer.id == volunteer.id
    # Telegram stays the messenger that receives offers until the volunteer says otherwise.
    assert [a.channel for a in await services.volunteers.addresses(volunteer.id)] == [
        "telegram",
        "signal",
    ]
    await telegram.send("/link")
    assert arrive in telegram.last_text
    await telegram.tap(receive)
    assert done in telegram.last_text
    assert [a.channel for a in await services.volunteers.addresses(volunteer.id)] == [
        "signal",
        "telegram",
    ]


async def test_a_wrong_an_expired_or_a_used_code_changes_nothing(
    chat: Callable[..., Chat], services: Services, db: Database, clock: FakeClock
) -> None:
    await joined(services, db, "telegram", "42")
    telegram = chat("42")
    signal = chat(UUID, channel="signal")
    await signal.send("/link ABCD-EFGH")
    assert "Ce code est faux ou a expiré. Rien n'a été modifié." in signal.last_text
    await signal.send("/link 1234")
    assert "Ce code est faux ou a expiré" in signal.last_text
    await telegram.send("/link")
    code = code_in(telegram.last.text)
    clock.advance(minutes=16)
    await signal.send(f"/link {code}")
    assert "Ce code est faux ou a expiré" in signal.last_text
    assert await services.volunteers.by_identity("signal", UUID) is None
    await telegram.send("/link")
    code = code_in(telegram.last.text)
    await signal.send(f"/link {code}")
    assert "Lié !" in signal.last_text
    other = chat("6e6e6e6e-1111-4222-8333-444444444444", channel="signal")
    await other.send(f"/link {code}")
    assert "Ce code est faux ou a expiré" in other.last_text
    assert await services.volunteers.by_identity("signal", other.user_id) is None


async def test_a_new_code_replaces_the_previous_one(
    chat: Callable[..., Chat], services: Services, db: Database
) -> None:
    await joined(services, db, "telegram", "42", "en")
    telegram = chat("42", language="en")
    signal = chat(UUID, channel="signal", language="en")
    await telegram.send("/link")
    first = code_in(telegram.last.text)
    await telegram.send("/link")
    second = code_in(telegram.last.text)
    await signal.send(f"/link {first}")
    assert "This code is wrong or has expired. Nothing was changed." in signal.last_text
    await signal.send(f"/link {second}")
    assert "Linked!" in signal.last_text


async def test_the_code_must_be_typed_on_the_other_messenger(
    chat: Callable[..., Chat], services: Services, db: Database
) -> None:
    await joined(services, db, "telegram", "42")
    telegram = chat("42")
    await telegram.send("/link")
    code = code_in(telegram.last.text)
    await telegram.send(f"/link {code}")
    assert "Tapez ce code sur votre autre messagerie" in telegram.last_text
    signal = chat(UUID, channel="signal")
    await signal.send(f"/link {code}")
    assert "Lié !" in signal.last_text


async def test_too_many_wrong_codes_lock_linking_for_a_while(
    chat: Callable[..., Chat], services: Services, db: Database
) -> None:
    await joined(services, db, "telegram", "42", "en")
    telegram = chat("42", language="en")
    await telegram.send("/link")
    code = code_in(telegram.last.text)
    signal = chat(UUID, channel="signal", language="en")
    for attempt in ("AAAA-AAAA", "BBBB-BBBB", "CCCC-CCCC", "DDDD-DDDD", "EEEE-EEEE"):
        await signal.send(f"/link {attempt}")
    await signal.send(f"/link {code}")
    assert "Too many wrong codes" in signal.last_text
    assert await services.volunteers.by_identity("signal", UUID) is None


async def test_someone_who_has_not_joined_is_told_where_to_start(
    chat: Callable[..., Chat],
) -> None:
    signal = chat(UUID, channel="signal", language="en")
    await signal.send("/link")
    assert "send /link on the messenger where you already joined" in signal.last_text
    french = chat("43")
    await french.send("/link")
    assert "envoyez /link sur la messagerie où vous avez déjà rejoint Relais" in french.last_text


async def test_an_account_with_its_own_profile_is_not_merged(
    chat: Callable[..., Chat], services: Services, db: Database
) -> None:
    volunteer = await joined(services, db, "telegram", "42")
    other = await joined(services, db, "signal", UUID)
    telegram = chat("42")
    await telegram.send("/link")
    signal = chat(UUID, channel="signal")
    await signal.send(f"/link {code_in(telegram.last.text)}")
    assert "a déjà son propre profil" in signal.last_text
    still = await services.volunteers.by_identity("signal", UUID)
    assert still is not None and still.id == other.id != volunteer.id


async def test_an_unfinished_signup_on_signal_is_folded_into_the_profile(
    chat: Callable[..., Chat], services: Services, db: Database
) -> None:
    volunteer = await joined(services, db, "telegram", "42")
    started = await services.volunteers.create("signal", UUID, UUID, "fr")
    telegram = chat("42")
    await telegram.send("/link")
    signal = chat(UUID, channel="signal")
    await signal.send(f"/link {code_in(telegram.last.text)}")
    assert "Lié !" in signal.last_text
    now = await services.volunteers.by_identity("signal", UUID)
    assert now is not None and now.id == volunteer.id
    assert await services.volunteers.get(started.id) is None


async def test_forged_or_foreign_preference_taps_have_expired(
    chat: Callable[..., Chat], services: Services, db: Database
) -> None:
    volunteer = await joined(services, db, "telegram", "42")
    telegram = chat("42")
    await telegram.tap_data("link:prefer:signal")
    assert "Ce bouton a expiré" in telegram.last_text
    await telegram.tap_data("link:prefer:../../etc")
    assert "Ce bouton a expiré" in telegram.last_text
    await telegram.tap_data("link:other")
    assert "Ce bouton a expiré" in telegram.last_text
    addresses = await services.volunteers.addresses(volunteer.id)
    assert [a.channel for a in addresses] == ["telegram"]


async def test_linking_end_to_end_from_telegram_to_signal(
    signal_cli: FakeSignalCli, bot_api: FakeBotAPI, database_url: str, clock: FakeClock
) -> None:
    database = database_url
    env = {**telegram_env(bot_api, database), **signal_env(signal_cli, database)}
    async with running_relais(env, clock) as relais:
        await signal_cli.wait_for_connections(1)
        await joined(relais.services, relais.db, "telegram", "42")
        assert "link" in {c["command"] for c in bot_api.commands_for(language_code="fr")}
        bot_api.send_text(42, "/link", language_code="fr")
        shown = await bot_api.wait_for_text(42, "/link ")
        code = code_in(shown.text or "")
        # On Signal, no slash needed, and the code may be typed in lower case.
        signal_cli.send_text(UUID, f"link {code.lower()}")
        await signal_cli.wait_for_text(UUID, "Lié !")
        signal_cli.send_text(UUID, "link")
        menu = await signal_cli.wait_for_text(UUID, "1. Les recevoir sur Signal")
        assert "arrivent sur Telegram" in menu.message
        signal_cli.send_text(UUID, "1")
        await signal_cli.wait_for_text(UUID, "arrivent désormais sur Signal")
        volunteer = await relais.services.volunteers.by_identity("telegram", "42")
        assert volunteer is not None
        addresses = await relais.services.volunteers.addresses(volunteer.id)
        assert [(a.channel, a.chat_id) for a in addresses] == [("signal", UUID), ("telegram", "42")]


async def test_a_new_signal_account_replaces_the_old_one_and_keeps_its_preference(
    chat: Callable[..., Chat], services: Services, db: Database
) -> None:
    volunteer = await joined(services, db, "telegram", "42")
    telegram = chat("42")
    await telegram.send("/link")
    await chat(UUID, channel="signal").send(f"/link {code_in(telegram.last.text)}")
    await telegram.send("/link")
    await telegram.tap("Les recevoir sur Signal")
    new_phone = "7e7e7e7e-1111-4222-8333-444444444444"
    await telegram.send("/link")
    await chat(new_phone, channel="signal").send(f"/link {code_in(telegram.last.text)}")
    addresses = await services.volunteers.addresses(volunteer.id)
    assert [(a.channel, a.chat_id) for a in addresses] == [
        ("signal", new_phone),
        ("telegram", "42"),
    ]
    assert await services.volunteers.by_identity("signal", UUID) is None


async def test_link_is_not_in_the_menu_when_only_telegram_runs(
    telegram_relais: Relais, bot_api: FakeBotAPI
) -> None:
    assert "link" not in {c["command"] for c in bot_api.commands_for(language_code="fr")}
    assert "help" in {c["command"] for c in bot_api.commands_for(language_code="fr")}
