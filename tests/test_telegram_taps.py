"""A tap on Telegram costs as few requests as Telegram allows: the card is edited in place
with the next step, and in webhook mode the tap is answered in the webhook's response (by a
request of its own at once when its chat is busy: the spinner never waits for the chat)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import aiohttp

from bot.app import Relais
from bot.domain.tasks import TaskDraft
from bot.messaging import Inbound, Outbound
from bot.services import Services
from bot.services.people import Actor
from bot.transports.telegram import TelegramTransport
from tests.fakes.bot_api import FakeBotAPI, SentCall
from tests.fakes.relais import TOKEN, running_relais, telegram_env
from tests.test_task_telegram import button
from tests.test_webhook import SECRET, _free_port
from tools import seed

ANA = 720
# What Relais asks of Telegram, as opposed to what the fake's poller or menus see.
ANSWERS = ("answerCallbackQuery", "editMessageText", "sendMessage")


def _calls(api: FakeBotAPI, since: int) -> list[str]:
    return [c.method for c in api.sent[since:] if c.method in ANSWERS]


async def _two_tasks(relais: Relais) -> None:
    services = relais.services
    await seed.add_volunteer(services.db, services.clock.now(), user_id=str(ANA), language="en")
    for title in ("Share the clip", "Text three friends"):
        await services.tasks.create(
            Actor.system(), TaskDraft(kind="share", title=title, link="https://example.org/c")
        )


async def test_later_on_a_card_is_one_answer_and_one_edit_showing_the_next_card(
    telegram_relais: Relais, bot_api: FakeBotAPI
) -> None:
    await _two_tasks(telegram_relais)
    bot_api.send_text(ANA, "/task", language_code="en")
    card = await bot_api.wait_for_text(ANA, "Share the clip")
    assert card.message_id is not None
    since = len(bot_api.sent)
    bot_api.tap(ANA, button(bot_api, ANA, "Later"), message_id=card.message_id, language_code="en")
    shown = await bot_api.wait_for_text(ANA, "Text three friends", since=since)
    assert shown.method == "editMessageText" and shown.message_id == card.message_id
    assert "OK, I will offer it again later." in (shown.text or "")
    assert "Accept" in " ".join(label for row in bot_api.last_keyboard(ANA) for label, _ in row)
    # One chat's answers leave in order: anything more the tap sent would come before this.
    bot_api.send_text(ANA, "/help", language_code="en")
    await bot_api.wait_for_text(ANA, "Here is what I can do", since=since)
    assert _calls(bot_api, since) == ["answerCallbackQuery", "editMessageText", "sendMessage"]


def _tap_update(update_id: int, card: SentCall, data: str) -> dict[str, object]:
    return {
        "update_id": update_id,
        "callback_query": {
            "id": "tap-1",
            "from": {"id": ANA, "is_bot": False, "first_name": "Ana", "language_code": "en"},
            "message": {
                "message_id": card.message_id,
                "date": 1_700_000_000,
                "chat": {"id": ANA, "type": "private", "first_name": "Ana"},
                "text": card.text,
            },
            "chat_instance": str(ANA),
            "data": data,
        },
    }


def _text_update(update_id: int, text: str) -> dict[str, object]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_700_000_000,
            "chat": {"id": ANA, "type": "private", "first_name": "Ana"},
            "from": {"id": ANA, "is_bot": False, "first_name": "Ana", "language_code": "en"},
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
        },
    }


async def test_in_webhook_mode_a_tap_is_answered_in_the_webhook_response(
    bot_api: FakeBotAPI, database_url: str
) -> None:
    port = _free_port()
    env = telegram_env(
        bot_api,
        database_url,
        RELAIS_WEBHOOK_URL="https://relais.example.org",
        RELAIS_WEBHOOK_SECRET=SECRET,
        PORT=str(port),
    )
    url = f"http://127.0.0.1:{port}/telegram"
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with running_relais(env) as relais, aiohttp.ClientSession(headers=headers) as http:
        await _two_tasks(relais)
        async with http.post(url, json=_text_update(1, "/task")) as response:
            assert response.status == 200
        card = await bot_api.wait_for_text(ANA, "Share the clip")
        since = len(bot_api.sent)
        tap = _tap_update(2, card, button(bot_api, ANA, "Later"))
        async with http.post(url, json=tap) as response:
            assert response.status == 200
            answer = json.loads(await response.text())
        # Telegram runs the method given in the response: the spinner stops, no request.
        assert answer == {"method": "answerCallbackQuery", "callback_query_id": "tap-1"}
        shown = await bot_api.wait_for_text(ANA, "Text three friends", since=since)
        assert shown.method == "editMessageText"
        async with http.post(url, json=_text_update(3, "/help")) as response:
            assert response.status == 200
        await bot_api.wait_for_text(ANA, "Here is what I can do", since=since)
        assert _calls(bot_api, since) == ["editMessageText", "sendMessage"]


async def test_in_webhook_mode_a_tap_in_a_busy_chat_is_answered_at_once(
    bot_api: FakeBotAPI, services: Services
) -> None:
    """The chat's earlier update is still being handled: the tap's spinner stops at once
    (a request of its own), and the tap is handled in its turn, after that update."""
    released = asyncio.Event()
    handled: list[str] = []

    async def dispatch(inbound: Inbound) -> list[Outbound]:
        if inbound.text == "/slow":
            await released.wait()
        handled.append(inbound.text or inbound.choice)
        return []

    port = _free_port()
    settings = replace(
        services.settings,
        telegram_token=type(services.settings.telegram_token)(TOKEN),
        telegram_api_base_url=bot_api.base_url,
        webhook_url="https://relais.example.org",
        webhook_secret=type(services.settings.webhook_secret)(SECRET),
        port=port,
    )
    transport = TelegramTransport(settings, dispatch)
    await transport.start()
    url = f"http://127.0.0.1:{port}/telegram"
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}

    async def post(update: dict[str, object]) -> str:
        async with http.post(url, json=update) as response:
            assert response.status == 200
            return await response.text()

    card = SentCall("sendMessage", {}, ANA, "A card", None, 0.0, 7, TOKEN)
    try:
        async with aiohttp.ClientSession(headers=headers) as http:
            slow = asyncio.create_task(post(_text_update(1, "/slow")))
            while not transport._chats[ANA].locked():  # its chat's turn is taken
                await asyncio.sleep(0.01)
            tap = asyncio.create_task(post(_tap_update(2, card, "later")))
            await bot_api.wait_for(lambda c: c.method == "answerCallbackQuery", 10)
            assert handled == [] and not tap.done()  # the spinner stopped; the tap waits
            released.set()
            assert await tap == "ok"  # answered already, by a request of its own
            await slow
        assert handled == ["/slow", "later"]
        answers = [c for c in bot_api.sent if c.method == "answerCallbackQuery"]
        assert [c.params["callback_query_id"] for c in answers] == ["tap-1"]
    finally:
        released.set()
        await transport.stop()
