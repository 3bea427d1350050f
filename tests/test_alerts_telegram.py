"""Rapid response on Telegram, end to end: the real PTB client against the fake Bot API."""

from __future__ import annotations

import asyncio

from bot.app import Relais
from bot.services import Services
from tests import alert_factories as make
from tests.fakes.bot_api import FakeBotAPI


def button(api: FakeBotAPI, chat: int, label: str) -> str:
    for row in api.last_keyboard(chat):
        for text, data in row:
            if label in text and data:
                return data
    raise AssertionError(f"no button {label!r} in {api.last_keyboard(chat)}")


async def test_a_forwarded_post_pages_duty_within_two_seconds_and_the_other_sees_who_took_it(
    telegram_relais: Relais, bot_api: FakeBotAPI
) -> None:
    services = telegram_relais.services
    await make.comms(services, "7", name="Léa")
    await make.comms(services, "8", name="Marc", language="en")
    await make.volunteer(services, "42", name="Ana")
    bot_api.send_text(7, "/duty on", first_name="Léa")
    await bot_api.wait_for_text(7, "Vous êtes de permanence")
    bot_api.send_text(8, "/duty on", first_name="Marc", language_code="en")
    await bot_api.wait_for_text(8, "You are on duty")

    bot_api.forward_text(
        42,
        "Regardez ce qu'ils publient https://twitter.com/Opposant/status/1862512345678901234?s=20",
    )
    offer = await bot_api.wait_for_text(42, "Est-ce un post qui attaque la campagne")
    assert offer.message_id is not None
    bot_api.tap(42, button(bot_api, 42, "Donner l'alerte"), message_id=offer.message_id)
    ask = await bot_api.wait_for_text(42, "Ajoutez un commentaire")
    assert ask.message_id is not None
    since = len(bot_api.sent)
    bot_api.tap(42, button(bot_api, 42, "Envoyer sans commentaire"), message_id=ask.message_id)

    page = await bot_api.wait_for_text(7, "Alerte n° 1", timeout=2, since=since)
    assert "https://x.com/i/status/1862512345678901234" in (page.text or "")
    await bot_api.wait_for_text(8, "Alert #1", timeout=2, since=since)
    await bot_api.wait_for_text(42, "L'équipe communication de permanence est prévenue")
    assert [label for row in bot_api.last_keyboard(7) for label, _ in row] == [
        "✋ Je m'en occupe",
        "🚫 Pas pertinent",
        "📣 Escalader",
    ]

    assert page.message_id is not None
    await delivered(services, "alert")
    since = len(bot_api.sent)
    bot_api.tap(7, button(bot_api, 7, "Je m'en occupe"), message_id=page.message_id)
    await bot_api.wait_for_text(7, "Vous vous en occupez", since=since)
    seen = await bot_api.wait_for_text(8, "Taken by Léa", since=since)
    assert seen.method == "editMessageText"  # Marc's page itself now says who took it
    assert bot_api.last_keyboard(8) == []
    assert (await services.incident_repo.get(1)).status == "taken"  # type: ignore[union-attr]


async def delivered(services: Services, kind: str, timeout: float = 20.0) -> None:
    """A person reads before tapping; by then the sender has recorded the deliveries."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        rows = await services.db.fetch_all("SELECT status FROM outbox WHERE kind = ?", (kind,))
        if rows and all(row["status"] == "sent" for row in rows):
            return
        if loop.time() > deadline:
            raise AssertionError(f"{kind} messages not all sent: {[r['status'] for r in rows]}")
        await asyncio.sleep(0.01)


async def test_a_riposte_call_is_answered_and_the_board_is_edited_in_place(
    telegram_relais: Relais, bot_api: FakeBotAPI
) -> None:
    services = telegram_relais.services
    await make.comms(services, "7", name="Léa")
    await make.volunteer(services, "201", name="Alice", rapid_response=True, skills="share")
    bot_api.send_text(7, "/riposte https://x.com/Candidat/status/1862599999999999999")
    ask = await bot_api.wait_for_text(7, "Proposez un texte")
    assert ask.message_id is not None
    bot_api.tap(7, "rpf:skip", message_id=ask.message_id)
    await bot_api.wait_for_text(7, "Combien de militants")
    bot_api.send_text(7, "5")
    confirm = await bot_api.wait_for_text(7, "Prêt à appeler")
    assert confirm.message_id is not None
    bot_api.tap(7, "rpf:send", message_id=confirm.message_id)
    board = await bot_api.wait_for_text(7, "Riposte n° 1</b> · objectif 5")
    card = await bot_api.wait_for_text(201, "la campagne a besoin de vous")
    assert card.message_id is not None
    await delivered(services, "riposte_board")
    since = len(bot_api.sent)
    bot_api.tap(201, button(bot_api, 201, "J'y vais"), message_id=card.message_id)
    await bot_api.wait_for_text(201, "Touchez C'est fait", since=since)
    edited = await bot_api.wait_for_text(7, "En cours : 1", since=since)
    assert edited.method == "editMessageText" and edited.message_id == board.message_id
