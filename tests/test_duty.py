"""The duty roster (/duty) and the comms team (/comms, python -m bot comms)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot import cli
from bot.clock import SystemClock
from bot.config import Settings
from bot.services import Services
from bot.storage.connect import database_for
from tests import alert_factories as make
from tests.fakes.chat import Chat
from tests.fakes.clock import FakeClock
from tests.fakes.services import services_on
from tests.postgres import url_of


async def test_going_on_and_off_duty_in_french(
    services: Services, chat: Callable[..., Chat]
) -> None:
    await make.comms(services, "7", name="Léa")
    lea = chat("7")
    await lea.send("/duty")
    assert "Personne : les alertes vont directement à toute l'équipe communication" in lea.last_text
    await lea.tap("Je prends la permanence")
    assert "De permanence maintenant\nLéa" in lea.last_text
    await lea.send("/duty off")
    assert "Vous n'êtes plus de permanence" in lea.last_text
    assert await services.alerts.on_duty(services.clock.now()) == []


async def test_duty_for_a_few_hours_ends_by_itself_in_english(
    services: Services, chat: Callable[..., Chat], clock: FakeClock
) -> None:
    person = await make.comms(services, "7", name="Sam", language="en")
    sam = chat("7", language="en")
    await sam.send("/duty on 4h")
    assert "You are on duty until 7:00" in sam.last_text  # 14:00 UTC is 15:00 in Paris
    clock.advance(hours=3, minutes=59)
    assert await services.alerts.on_duty(clock.now()) == [person.id]
    clock.advance(minutes=1)
    assert await services.alerts.on_duty(clock.now()) == []
    await sam.send("/duty on 99h")
    assert "/duty on 4h" in sam.last_text  # the help, nothing changed
    assert await services.alerts.on_duty(clock.now()) == []


async def test_a_weekly_slot_puts_someone_on_duty_and_off_duty_skips_the_rest_of_it(
    services: Services, chat: Callable[..., Chat], clock: FakeClock
) -> None:
    person = await make.comms(services, "7", name="Léa")
    lea = chat("7")
    # The fake clock starts on Saturday 28 November 2026 at 15:00 in Paris.
    await lea.send("/duty week sam 14:00-18:00")
    assert "Chaque semaine\nsam. 14:00–18:00 · Léa" in lea.last_text
    assert await services.alerts.on_duty(clock.now()) == [person.id]
    await lea.send("/duty off")
    assert await services.alerts.on_duty(clock.now()) == []
    clock.advance(days=7)
    assert await services.alerts.on_duty(clock.now()) == [person.id]
    clock.advance(hours=3)  # 18:00 in Paris: the slot is over
    assert await services.alerts.on_duty(clock.now()) == []
    await lea.send("/duty week sam 18:00-09:00")
    assert "doit commencer avant de finir" in lea.last_text
    await lea.send("/duty week someday 10:00-12:00")
    assert "/duty week lun 09:00-18:00" in lea.last_text
    await lea.send("/duty week clear")
    assert "supprimés (1)" in lea.last_text


async def test_a_slot_pages_the_person_on_duty_when_an_alarm_comes(
    services: Services, chat: Callable[..., Chat], clock: FakeClock
) -> None:
    await make.comms(services, "7", name="Léa")
    await make.comms(services, "8", name="Marc")
    await chat("8").send("/duty week sam 09:00-12:00")
    await chat("7").send("/duty week sam 12:00-20:00")
    await make.volunteer(services, "42")
    await chat("42").send("/alerte https://example.org/post/1 urgent")
    assert [r["chat_id"] for r in await make.outbox(services, "alert")] == ["7"]


async def test_volunteers_cannot_use_duty_and_only_admins_grant_comms(
    services: Services, chat: Callable[..., Chat], admin_chat: Chat
) -> None:
    await make.volunteer(services, "42", name="Ana")
    ana = chat("42")
    await ana.send("/duty on")
    assert "réservé aux organisateurs" in ana.last_text
    await ana.send("/comms add 42")
    assert "réservé aux admins" in ana.last_text
    await admin_chat.send("/comms add 42")
    assert "Ana (bénévole n°" in admin_chat.last_text
    assert "fait maintenant partie de l'équipe communication" in admin_chat.last_text
    assert "telegram:" not in admin_chat.last_text
    await admin_chat.send("/comms add 42")
    assert "est déjà dans l'équipe communication" in admin_chat.last_text
    await admin_chat.send("/comms")
    assert "Équipe communication : Ana" in admin_chat.last_text
    await admin_chat.send("/comms add 4242")
    assert "Personne avec l'identifiant Telegram 4242" in admin_chat.last_text
    await admin_chat.send("/comms add bob")
    assert "/comms add #12" in admin_chat.last_text
    await ana.send("/duty on")
    assert "Vous êtes de permanence" in ana.last_text
    await admin_chat.send("/comms remove telegram:42")
    assert "ne fait plus partie" in admin_chat.last_text
    assert await services.alerts.on_duty(services.clock.now()) == []
    await ana.send("/duty on")
    assert "réservé aux organisateurs" in ana.last_text


def test_the_admin_cli_grants_the_comms_role(
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async def join() -> None:
        db = database_for(settings.database_path, settings.database_url)
        await db.open()
        await db.migrate()
        services = services_on(settings, SystemClock(), db)
        await make.volunteer(services, "42", name="Ana")
        await db.close()

    asyncio.run(join())
    monkeypatch.setenv("DATABASE_URL", url_of(settings))
    monkeypatch.chdir(tmp_path)
    assert cli.main(["comms", "add", "telegram:42"]) == 0
    assert cli.main(["comms", "add", "telegram:43"]) == 1
    assert cli.main(["comms", "add", "nobody"]) == 2
    assert cli.main(["comms", "list"]) == 0
    out = capsys.readouterr().out
    assert "Ana (bénévole n°1) fait maintenant partie de l'équipe communication" in out
    assert "Personne avec l'identifiant Telegram 43 n'a encore rejoint Relais." in out
    assert "granted" not in out and "telegram:" not in out
    assert out.strip().endswith("Ana")


def test_fake_clock_starts_on_a_saturday() -> None:
    # The weekly-slot tests above rely on it.
    assert FakeClock().now() == datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
    assert FakeClock().now().weekday() == 5
