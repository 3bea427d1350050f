"""Relais on Telegram, end to end: the real PTB client against the fake Bot API server."""

from __future__ import annotations

from bot.app import Relais
from tests.fakes.bot_api import FakeBotAPI


async def test_start_greets_admin_in_french_and_stranger_in_english(
    telegram_relais: Relais, bot_api: FakeBotAPI
) -> None:
    bot_api.send_text(1, "/start", first_name="Admin", language_code="fr")
    reply = await bot_api.wait_for_text(1, "Bonjour Admin")
    assert "Relais" in (reply.text or "")
    bot_api.send_text(555, "/start", first_name="Sam", language_code="en-GB")
    reply = await bot_api.wait_for_text(555, "Hello Sam")
    assert "Which language do you prefer?" in (reply.text or "")


async def test_unknown_text_gets_a_helpful_answer(
    telegram_relais: Relais, bot_api: FakeBotAPI
) -> None:
    bot_api.send_text(42, "bonjour ?", language_code="fr")
    reply = await bot_api.wait_for_text(42, "Pour nous rejoindre, envoyez /start.")
    assert reply.text is not None and "bonjour" not in reply.text
    # Nothing was stored about someone who only said hello.
    volunteers = await telegram_relais.services.db.fetch_value("SELECT COUNT(*) FROM volunteers")
    assert volunteers == 0


async def test_a_replayed_update_is_answered_once(
    telegram_relais: Relais, bot_api: FakeBotAPI
) -> None:
    update_id = bot_api.send_text(42, "/help", language_code="en")
    await bot_api.wait_for_text(42, "Here is what I can do")
    bot_api.enqueue_raw(
        {
            "update_id": update_id,
            "message": {
                "message_id": 99,
                "date": 1_700_000_000,
                "chat": {"id": 42, "type": "private", "first_name": "Ana"},
                "from": {"id": 42, "is_bot": False, "first_name": "Ana", "language_code": "en"},
                "text": "/help",
                "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
            },
        }
    )
    bot_api.send_text(42, "/start", language_code="en")
    await bot_api.wait_for_text(42, "Hello")
    helps = [c for c in bot_api.messages_to(42) if "Here is what I can do" in (c.text or "")]
    assert len(helps) == 1


async def test_command_menus_are_published_per_language(
    telegram_relais: Relais, bot_api: FakeBotAPI
) -> None:
    french = bot_api.commands_for(language_code="fr")
    english = bot_api.commands_for(language_code="en")
    assert any(c["command"] == "help" for c in french)
    assert {c["description"] for c in french} != {c["description"] for c in english}
