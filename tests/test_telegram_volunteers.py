"""Volunteers on Telegram, end to end: the real PTB client against the fake Bot API."""

from __future__ import annotations

import json
import re

from bot.app import Relais
from tests.fakes.bot_api import FakeBotAPI, SentCall, UploadedFile


async def tap(api: FakeBotAPI, user: int, label: str, expect: str, language: str) -> SentCall:
    """Tap the button labelled `label` on the newest keyboard sent to `user`."""
    message = next(
        c
        for c in reversed(api.messages_to(user))
        if c.reply_markup and "inline_keyboard" in c.reply_markup
    )
    rows = message.reply_markup["inline_keyboard"] if message.reply_markup else []
    data = next(b["callback_data"] for row in rows for b in row if label in b["text"])
    since = len(api.sent)
    assert message.message_id is not None
    api.tap(user, data, message_id=message.message_id, language_code=language, first_name="Inès")
    return await api.wait_for_text(user, expect, since=since)


async def say(api: FakeBotAPI, user: int, text: str, expect: str, language: str) -> SentCall:
    since = len(api.sent)
    api.send_text(user, text, language_code=language, first_name="Inès")
    return await api.wait_for_text(user, expect, since=since)


async def test_a_volunteer_joins_exports_and_erases_in_french(
    telegram_relais: Relais, bot_api: FakeBotAPI
) -> None:
    api, me = bot_api, 4242
    await say(api, me, "/start", "Bonjour Inès ! Je suis Relais", "fr")
    consent = await tap(api, me, "Français", "Avant de commencer", "fr")
    assert consent.method == "editMessageText"  # the language question turns into the notice
    await tap(api, me, "J'accepte", "Étape 3 sur 6", "fr")
    where = await tap(api, me, "Garder « Inès »", "Où êtes-vous ?", "fr")
    assert where.reply_markup is not None
    assert where.reply_markup["keyboard"][0][0]["request_location"] is True
    since = len(api.sent)
    api.send_location(me, 45.764, 4.8357, language_code="fr")
    await api.wait_for_text(me, "Qu'êtes-vous prêt·e à faire", since=since)
    toggled = await tap(api, me, "Porte-à-porte", "Qu'êtes-vous prêt·e à faire", "fr")
    assert toggled.method == "editMessageText"
    await tap(api, me, "Terminé", "Quand êtes-vous", "fr")
    await tap(api, me, "Week-ends", "Quand êtes-vous", "fr")
    await tap(api, me, "Terminé", "Bienvenue dans l'équipe, Inès", "fr")

    since = len(api.sent)
    api.send_text(me, "/mydata", language_code="fr")
    sent = await api.wait_for(lambda c: c.method == "sendDocument", since=since)
    document = sent.params["document"]
    assert isinstance(document, UploadedFile) and document.filename == "relais-my-data.json"
    data = json.loads(document.data)
    assert data["profile"]["first_name"] == "Inès"
    assert data["profile"]["latitude"] == 45.764 and data["profile"]["skills"] == ["canvass"]
    assert data["messenger_accounts"][0]["user_id"] == str(me)

    await say(api, me, "/forget", "Tout effacer ?", "fr")
    await tap(api, me, "Oui, tout effacer", "tout ce qui vous concernait a été effacé", "fr")
    await say(api, me, "/mydata", "Relais n'enregistre rien sur vous.", "fr")


async def test_an_invite_link_points_at_the_bot_and_a_promotion_refreshes_the_menu(
    telegram_relais: Relais, bot_api: FakeBotAPI
) -> None:
    api, admin, newcomer = bot_api, 1, 777
    services = telegram_relais.services
    await services.team_repo.create("Lyon")
    await say(api, admin, "/invite", "Which link", "en")
    reply = await tap(api, admin, "Organizer invite: Lyon", "Organizer invite for Lyon", "en")
    match = re.search(r"https://t\.me/relais_test_bot\?start=([A-Za-z0-9_-]+)", reply.text or "")
    assert match, reply.text
    await say(api, newcomer, f"/start {match[1]}", "Which language", "en")
    await tap(api, newcomer, "English", "Before we start", "en")
    since = len(api.sent)
    await tap(api, newcomer, "I agree", "What first name", "en")
    await api.wait_for_text(newcomer, "You are now an organizer of Lyon", since=since)
    menu = await api.wait_for(
        lambda c: (
            c.method == "setMyCommands" and (c.params.get("scope") or {}).get("chat_id") == newcomer
        ),
        since=since,
    )
    assert "volunteers" in [c["command"] for c in menu.params["commands"]]


async def test_refusing_consent_in_english_leaves_no_trace(
    telegram_relais: Relais, bot_api: FakeBotAPI
) -> None:
    api, me = bot_api, 5151
    await say(api, me, "/start", "Hello Inès! I am Relais", "en")
    await tap(api, me, "English", "Do you agree?", "en")
    await tap(api, me, "❌ No", "nothing about you was saved", "en")
    db = telegram_relais.services.db
    for table in ("volunteers", "identities", "consents", "conversations"):
        assert await db.fetch_value(f"SELECT COUNT(*) FROM {table}") == 0, table
