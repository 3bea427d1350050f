"""Tests of the fake Telegram Bot API server, driven by the real python-telegram-bot client.

Every request goes to 127.0.0.1; nothing here touches the internet.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import time
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
)
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    NetworkError,
    RetryAfter,
    TimedOut,
)

from tests.fakes.bot_api import BOT_USER, FakeBotAPI, UploadedFile

TOKEN = "123:abc"


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as fake:
        yield fake


@pytest.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    async with Bot(token=TOKEN, base_url=api.base_url) as client:
        yield client


def keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


def seconds(value: int | dtm.timedelta) -> float:
    # PTB 22 reports retry_after as int or timedelta depending on PTB_TIMEDELTA.
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


async def post(api: FakeBotAPI, method: str, **kwargs: Any) -> tuple[int, Any]:
    """A raw HTTP call, for wire formats PTB does not produce."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{api.base_url}{TOKEN}/{method}", **kwargs) as response,
    ):
        return response.status, await response.json()


# ---------------------------------------------------------------- basics and wire format


async def test_get_me_and_base_url(api: FakeBotAPI, bot: Bot) -> None:
    assert api.base_url == f"http://127.0.0.1:{api.port}/bot"
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123456, "relais_test_bot", True)
    assert me.can_join_groups and not me.can_read_all_group_messages
    assert api.tokens == {TOKEN}
    assert api.stats.requests["getMe"] >= 1


async def test_send_message_with_inline_keyboard(api: FakeBotAPI, bot: Bot) -> None:
    markup = keyboard([("Oui", "vote:yes"), ("Non", "vote:no")], [("Plus tard", "later")])
    first = await bot.send_message(chat_id=42, text="Tu viens samedi ?", reply_markup=markup)
    second = await bot.send_message(chat_id=42, text="Encore")
    other = await bot.send_message(chat_id=7, text="Salut")

    assert (first.message_id, second.message_id, other.message_id) == (1, 2, 1)
    assert first.chat.id == 42 and first.chat.type == "private"
    assert first.from_user is not None and first.from_user.id == BOT_USER["id"]
    assert first.reply_markup == markup
    assert first.date.timestamp() == pytest.approx(time.time(), abs=5)

    call = api.messages_to(42)[0]
    assert call.method == "sendMessage" and call.chat_id == 42 and call.message_id == 1
    assert call.text == "Tu viens samedi ?"
    assert call.reply_markup is not None
    assert call.reply_markup["inline_keyboard"][0][0]["callback_data"] == "vote:yes"
    assert [c.text for c in api.messages_to(42)] == ["Tu viens samedi ?", "Encore"]
    # The newest message to 42 has no keyboard; 7 never got one either.
    assert api.last_keyboard(42) == []
    with pytest.raises(AssertionError, match="no message sent to chat 99"):
        api.last_keyboard(99)


async def test_chat_types_follow_chat_id(bot: Bot) -> None:
    group = await bot.send_message(chat_id=-42, text="Bonjour le groupe")
    supergroup = await bot.send_message(chat_id=-1001234567890, text="Bonjour")
    assert group.chat.type == "group"
    assert supergroup.chat.type == "supergroup"


async def test_form_json_and_query_bodies_decode_alike(api: FakeBotAPI) -> None:
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    form = {"chat_id": "5", "text": "42", "reply_markup": json.dumps(markup)}
    status, body = await post(api, "sendMessage", data=form)
    assert status == 200 and body["ok"] and body["result"]["text"] == "42"
    status, body = await post(api, "SENDMESSAGE", json={"chat_id": 5, "text": "true"})
    assert status == 200 and body["result"]["message_id"] == 2
    status, body = await post(api, "sendmessage", params={"chat_id": "5", "text": "{x"})
    assert status == 200

    calls = api.messages_to(5)
    assert [c.method for c in calls] == ["sendMessage"] * 3
    # Text stays text even when it looks like JSON; ids and markup are decoded.
    assert [c.text for c in calls] == ["42", "true", "{x"]
    assert calls[0].params["chat_id"] == 5
    assert calls[0].reply_markup == markup


async def test_unknown_method_is_404_recorded_and_fails_strict_exit() -> None:
    fake = FakeBotAPI()
    with pytest.raises(AssertionError, match="sendHologram"):
        async with fake:
            status, body = await post(fake, "sendHologram", data={"chat_id": "1"})
            assert status == 404 and not body["ok"]
            assert "not implemented by FakeBotAPI" in body["description"]
            async with Bot(token=TOKEN, base_url=fake.base_url) as client:
                # PTB turns a 404 from an unknown method into EndPointNotFound.
                with pytest.raises(EndPointNotFound):
                    await client.do_api_request("sendHologram", api_kwargs={"chat_id": 1})
    assert fake.unknown_methods == ["sendHologram", "sendHologram"]
    assert fake.sent[0].status == 404


async def test_add_method_serves_extra_methods(api: FakeBotAPI, bot: Bot) -> None:
    api.add_method(
        "getChat",
        lambda params: {
            "id": params["chat_id"],
            "type": "private",
            "accent_color_id": 0,
            "max_reaction_count": 11,
        },
    )
    chat = await bot.get_chat(77)
    assert chat.id == 77
    assert api.unknown_methods == []


# ---------------------------------------------------------------- edits, callbacks, files


async def test_edits_update_the_stored_message(api: FakeBotAPI, bot: Bot) -> None:
    sent = await bot.send_message(42, "Choisis", reply_markup=keyboard([("A", "a")]))
    assert api.last_keyboard(42) == [[("A", "a")]]

    edited = await bot.edit_message_text(
        "Choisis encore",
        chat_id=42,
        message_id=sent.message_id,
        reply_markup=keyboard([("B", "b")]),
    )
    assert isinstance(edited, type(sent)) and edited.text == "Choisis encore"
    assert edited.edit_date is not None
    assert api.last_keyboard(42) == [[("B", "b")]]
    assert api.sent[-1].method == "editMessageText" and api.sent[-1].message_id == 1

    # Same text, same keyboard: Telegram refuses the no-op edit.
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text(
            "Choisis encore", chat_id=42, message_id=1, reply_markup=keyboard([("B", "b")])
        )
    # An edit without reply_markup drops the keyboard.
    await bot.edit_message_text("Merci", chat_id=42, message_id=1)
    assert api.last_keyboard(42) == []
    await bot.edit_message_reply_markup(
        chat_id=42, message_id=1, reply_markup=keyboard([("C", "c")])
    )
    assert api.last_keyboard(42) == [[("C", "c")]]
    assert [c.text for c in api.messages_to(42)] == ["Choisis", "Choisis encore", "Merci"]


async def test_tap_and_answer_callback_query(api: FakeBotAPI, bot: Bot) -> None:
    sent = await bot.send_message(42, "Dispo ?", reply_markup=keyboard([("Oui", "yes")]))
    query_id = api.tap(42, "yes", message_id=sent.message_id)

    (update,) = await bot.get_updates(timeout=0)
    query = update.callback_query
    assert query is not None and query.id == query_id and query.data == "yes"
    assert query.from_user.id == 42 and query.from_user.language_code == "fr"
    assert query.message is not None and query.message.message_id == sent.message_id
    assert query.message.chat.id == 42

    assert await bot.answer_callback_query(query_id, text="Noté")
    assert api.answered_callbacks == [query_id]
    assert api.sent[-1].params["text"] == "Noté"
    with pytest.raises(BadRequest, match=r"(?i)query id is invalid"):
        await bot.answer_callback_query("999")


async def test_send_document_and_photo_upload_bytes(api: FakeBotAPI, bot: Bot) -> None:
    content = b"nom,quartier\nAna,Nord\n"
    message = await bot.send_document(
        chat_id=42, document=content, filename="export.csv", caption="Export"
    )
    assert message.document is not None
    assert message.document.file_name == "export.csv"
    assert message.document.file_size == len(content)
    assert message.caption == "Export"
    call = api.sent[-1]
    assert call.method == "sendDocument" and call.text == "Export"
    upload = call.params["document"]
    assert isinstance(upload, UploadedFile)
    assert upload.data == content and upload.filename == "export.csv"

    photo = await bot.send_photo(chat_id=42, photo=b"\x89PNG fake image", caption="Carte")
    assert len(photo.photo) == 3
    assert photo.photo[-1].file_size == len(b"\x89PNG fake image")
    assert photo.message_id == 2
    assert [c.method for c in api.messages_to(42)] == ["sendDocument", "sendPhoto"]


async def test_html_and_length_are_checked_like_telegram(bot: Bot) -> None:
    await bot.send_message(42, '<b>Salut</b> <a href="https://x.test/?a=1&amp;b=2">Ana</a>', "HTML")
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(42, "Bienvenue <Ana>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r'(?i)unsupported start tag "br"'):
        await bot.send_message(42, "ligne<br>ligne", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)can't find end tag"):
        await bot.send_message(42, "<b>gras", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(42, "x" * 4097)
    # Markdown is not checked, and markup does not count toward the length.
    await bot.send_message(42, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
    await bot.send_message(42, "a < b", parse_mode="MarkdownV2")


async def test_commands_are_stored_by_scope_and_language(api: FakeBotAPI, bot: Bot) -> None:
    scope = BotCommandScopeAllPrivateChats()
    await bot.set_my_commands([BotCommand("start", "Démarrer")], scope=scope, language_code="fr")
    await bot.set_my_commands([BotCommand("help", "Aide")])

    assert api.commands[('{"type":"all_private_chats"}', "fr")] == [
        {"command": "start", "description": "Démarrer"}
    ]
    assert api.commands_for() == [{"command": "help", "description": "Aide"}]
    fetched = await bot.get_my_commands(scope=scope, language_code="fr")
    assert [c.command for c in fetched] == ["start"]

    assert await bot.delete_my_commands(scope=scope, language_code="fr")
    assert await bot.get_my_commands(scope=scope, language_code="fr") == ()
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Start", "Majuscule")])


async def test_chat_action_close_and_log_out(api: FakeBotAPI, bot: Bot) -> None:
    assert await bot.send_chat_action(42, "typing")
    assert await bot.close()
    assert await bot.log_out()
    assert [c.method for c in api.sent[-3:]] == ["sendChatAction", "close", "logOut"]


# ---------------------------------------------------------------- updates and long polling


async def test_get_updates_delivers_until_confirmed(api: FakeBotAPI, bot: Bot) -> None:
    first = api.send_text(11, "/start@relais_test_bot abc", first_name="Bea")
    second = api.send_text(11, "bonjour")
    assert second == first + 1

    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == [first, second]
    message = updates[0].message
    assert message is not None and message.text == "/start@relais_test_bot abc"
    assert message.chat.type == "private" and message.chat.id == 11
    assert message.from_user is not None and message.from_user.first_name == "Bea"
    (entity,) = message.entities
    assert (entity.type, entity.offset, entity.length) == ("bot_command", 0, 22)
    assert updates[1].message is not None and not updates[1].message.entities

    # Not confirmed yet: delivered again. limit is honoured.
    assert [u.update_id for u in await bot.get_updates(timeout=0, limit=1)] == [first]
    # An offset above an update_id confirms it for good.
    again = await bot.get_updates(offset=first + 1, timeout=0)
    assert [u.update_id for u in again] == [second]
    assert await bot.get_updates(offset=second + 1, timeout=0) == ()
    assert api.pending_updates == []
    assert not any(c.method == "getUpdates" for c in api.sent)
    assert api.stats.requests["getUpdates"] == 4


async def test_user_messages_share_the_chat_message_ids(api: FakeBotAPI, bot: Bot) -> None:
    await bot.send_message(11, "Question ?")
    api.send_text(11, "Réponse")
    api.send_text(11, "Groupe", chat_id=-5)
    (mine, group) = (u.message for u in await bot.get_updates(timeout=0))
    assert mine is not None and mine.message_id == 2
    assert group is not None and group.chat.type == "group" and group.message_id == 1


async def test_long_poll_waits_for_an_update(api: FakeBotAPI, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=60, read_timeout=70))
    await api.wait_for_poller()
    assert not poll.done()  # held open while nothing is pending
    update_id = api.send_text(3, "coucou")
    # The update ends the poll at once: a poll left to its 60 s would fail this guard.
    updates = await asyncio.wait_for(poll, 30)
    assert [u.update_id for u in updates] == [update_id]

    # With nothing to deliver, a poll is held open until its timeout, then comes back empty.
    empty = asyncio.create_task(bot.get_updates(offset=update_id + 1, timeout=1))
    await api.wait_for_poller()
    assert not empty.done()
    assert await empty == ()


async def test_second_poll_ends_the_first_with_conflict(api: FakeBotAPI, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await api.wait_for_poller()
    # A second bot instance with the same token, as after a botched deploy.
    async with Bot(token=TOKEN, base_url=api.base_url) as twin:
        assert await twin.get_updates(timeout=0) == ()
    # Without the conflict the first poll would end empty after its 5 s, and not raise.
    with pytest.raises(Conflict, match=r"(?i)terminated by other getupdates"):
        await first


async def test_location_contact_and_forward_updates(api: FakeBotAPI, bot: Bot) -> None:
    api.send_location(5, 48.85, 2.35)
    api.send_contact(5, "+33612345678")
    api.forward_text(5, "Rassemblement à 18h", origin="channel", origin_name="Relais Nord")
    api.forward_text(5, "Tu viens ?", origin="user", origin_name="Chloé")
    location, contact, channel, user = (u.message for u in await bot.get_updates(timeout=0))

    assert location is not None and location.location is not None
    assert (location.location.latitude, location.location.longitude) == (48.85, 2.35)
    assert contact is not None and contact.contact is not None
    assert contact.contact.phone_number == "+33612345678" and contact.contact.user_id == 5
    assert channel is not None and channel.forward_origin is not None
    assert channel.forward_origin.type == "channel"
    assert channel.forward_origin.chat.title == "Relais Nord"  # type: ignore[attr-defined]
    assert user is not None and user.forward_origin is not None
    assert user.forward_origin.type == "user"
    assert user.forward_origin.sender_user.first_name == "Chloé"  # type: ignore[attr-defined]


async def test_enqueue_raw_can_repeat_an_update_id(api: FakeBotAPI, bot: Bot) -> None:
    raw = {
        "update_id": 500,
        "message": {
            "message_id": 9,
            "date": int(time.time()),
            "chat": {"id": 8, "type": "private"},
            "from": {"id": 8, "is_bot": False, "first_name": "Dan"},
            "text": "doublon",
        },
    }
    assert api.enqueue_raw(raw) == 500
    assert api.enqueue_raw(raw) == 500
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == [500, 500]
    assert api.send_text(8, "suivant") == 501


async def test_allowed_updates_filters_and_sticks(api: FakeBotAPI, bot: Bot) -> None:
    api.send_text(4, "ignoré")
    api.tap(4, "ok", message_id=1)
    updates = await bot.get_updates(timeout=0, allowed_updates=["callback_query"])
    assert [u.callback_query is not None for u in updates] == [True]
    api.send_text(4, "toujours ignoré")
    assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=0) == ()


async def test_webhook_blocks_polling_and_drops_pending(api: FakeBotAPI, bot: Bot) -> None:
    api.send_text(4, "en attente")
    assert await bot.set_webhook("https://relais.invalid/hook")
    assert api.webhook_url == "https://relais.invalid/hook"
    assert (await bot.get_webhook_info()).pending_update_count == 1
    with pytest.raises(Conflict, match=r"(?i)webhook is active"):
        await bot.get_updates(timeout=0)
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates(timeout=0) == ()


# ---------------------------------------------------------------- waiting helpers


async def test_wait_for_text_sees_later_calls(api: FakeBotAPI, bot: Bot) -> None:
    await bot.send_message(42, "Bienvenue !")
    mark = len(api.sent)
    waiting = asyncio.create_task(api.wait_for_text(42, "Bienvenue", since=mark))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    await bot.send_message(42, "Bienvenue encore")
    call = await asyncio.wait_for(waiting, 2)
    assert call.text == "Bienvenue encore"
    assert (await api.wait_for_text(42, "Bienvenue")).text == "Bienvenue !"


async def test_wait_for_times_out_with_a_dump(api: FakeBotAPI, bot: Bot) -> None:
    await bot.send_message(42, "Seul message")
    with pytest.raises(AssertionError, match=r"(?s)within 0\.2s.*Seul message"):
        await api.wait_for(lambda call: call.method == "sendHologram", timeout=0.2)


# ---------------------------------------------------------------- error injection


async def test_injected_errors_map_to_ptb_exceptions(api: FakeBotAPI, bot: Bot) -> None:
    api.fail_next("sendMessage", 429, retry_after=3)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(1, "trop vite")
    assert seconds(caught.value.retry_after) == 3
    await bot.send_message(1, "ça passe")

    api.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    with pytest.raises(Forbidden, match=r"(?i)blocked by the user"):
        await bot.send_message(1, "bloqué")

    api.fail_next("sendmessage", 400, "Bad Request: chat not found", chat_id=9)
    await bot.send_message(8, "autre chat, pas touché")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(9, "introuvable")

    api.fail_next("getMe", 502, times=2)
    for _ in range(2):
        with pytest.raises(NetworkError, match=r"(?i)bad gateway"):
            await bot.get_me()
    await bot.get_me()

    api.fail_next("*", 500)
    with pytest.raises(NetworkError):
        await bot.send_chat_action(1, "typing")

    assert api.stats.too_many_requests == 1
    assert api.stats.errors[502] == 2
    failed = [c for c in api.sent if not c.ok]
    assert [c.status for c in failed] == [429, 403, 400, 502, 502, 500]
    # Failed sends were not delivered, so they are not messages.
    assert [c.text for c in api.messages_to(1)] == ["ça passe"]


async def test_blocked_chats_always_answer_403(api: FakeBotAPI, bot: Bot) -> None:
    api.blocked_chats.update({13, -20})
    for _ in range(2):
        with pytest.raises(Forbidden, match=r"(?i)blocked by the user"):
            await bot.send_message(13, "coucou")
    with pytest.raises(Forbidden, match=r"(?i)kicked from the group"):
        await bot.send_chat_action(-20, "typing")
    api.blocked_chats.discard(13)
    await bot.send_message(13, "débloqué")


async def test_delay_makes_the_client_time_out_after_delivery(api: FakeBotAPI, bot: Bot) -> None:
    api.delay("sendMessage", 1.0)
    with pytest.raises(TimedOut):
        await bot.send_message(42, "lent", read_timeout=0.2)
    # Telegram got the message even though the client gave up: the duplicate-send hazard.
    assert (await api.wait_for_text(42, "lent")).ok
    api.delay("sendMessage", 0)
    sent = await bot.send_message(42, "rapide")
    assert sent.text == "rapide" and api.sent[-1].text == "rapide"


# ---------------------------------------------------------------- rate limiting


class StoppedClock:
    """The server's clock, moved only by the test: how long the machine takes to make the
    requests does not change which second they fall in."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_rate_limits_per_chat_and_global() -> None:
    clock = StoppedClock()
    async with (
        FakeBotAPI(limit_global_per_s=5, limit_per_chat_per_s=1, clock=clock) as fake,
        Bot(token=TOKEN, base_url=fake.base_url) as client,
    ):
        await client.send_message(1, "un")
        with pytest.raises(RetryAfter) as caught:
            await client.send_message(1, "deux")
        assert seconds(caught.value.retry_after) == 1

        for chat_id in range(2, 6):
            await client.send_message(chat_id, "global")
        with pytest.raises(RetryAfter):
            await client.send_message(6, "global de trop")
        # Paid broadcasts have their own, much higher, global budget.
        for chat_id in range(100, 120):
            await client.send_message(chat_id, "payé", allow_paid_broadcast=True)
        # Edits and other non-send methods are not limited.
        await client.edit_message_text("un, modifié", chat_id=1, message_id=1)

        assert fake.stats.too_many_requests == 2 == fake.stats.rate_limited
        clock.now += 1.05
        await client.send_message(1, "deux, plus tard")


async def test_rate_limit_sustained_load_over_http() -> None:
    # 200 sends at once, all in the same second of the server's clock (a loaded machine may
    # take longer than a second of wall time to make them).
    async with (
        FakeBotAPI(limit_global_per_s=30, limit_per_chat_per_s=1, clock=StoppedClock()) as fake,
        aiohttp.ClientSession() as session,
    ):
        url = f"{fake.base_url}{TOKEN}/sendMessage"

        async def send(chat_id: int) -> int:
            async with session.post(url, data={"chat_id": str(chat_id), "text": "x"}) as resp:
                return resp.status

        statuses = await asyncio.gather(*(send(chat_id) for chat_id in range(200)))
        assert statuses.count(200) == 30
        assert statuses.count(429) == 170 == fake.stats.too_many_requests


# ---------------------------------------------------------------- background thread


def test_run_in_thread_serves_synchronous_clients() -> None:
    # No proxy handler: the environment's proxies must never see test traffic.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def call(base_url: str, method: str, **params: Any) -> Any:
        data = json.dumps(params).encode()
        request = urllib.request.Request(
            f"{base_url}{TOKEN}/{method}", data=data, headers={"Content-Type": "application/json"}
        )
        with opener.open(request, timeout=5) as response:
            return json.load(response)

    with FakeBotAPI.run_in_thread() as handle:
        assert call(handle.base_url, "getMe")["result"]["username"] == "relais_test_bot"
        update_id = handle.call(handle.api.send_text, 7, "/start")
        updates = call(handle.base_url, "getUpdates", timeout=0)["result"]
        assert [u["update_id"] for u in updates] == [update_id]
        call(handle.base_url, "sendMessage", chat_id=7, text="Bienvenue")
        assert handle.wait_for_text(7, "Bienvenue").message_id == 2
    with pytest.raises(RuntimeError, match="not running"):
        handle.call(handle.api.send_text, 7, "trop tard")
