"""Telegram, through python-telegram-bot 22: updates in as Inbound, Outbound rendered out.

PTB is driven by hand (initialize, start, start_polling or start_webhook) so that Telegram,
Signal and the scheduler share one event loop. PTB's own persistence, conversation
handlers and job queue are not used: the database is the source of truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from functools import partial
from typing import Any, Protocol

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    MenuButtonDefault,
    MenuButtonWebApp,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    WebAppInfo,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application, ApplicationBuilder

from bot.config import LANGUAGES, Settings
from bot.i18n import _, use_language
from bot.messaging import Inbound, InboundFile, Outbound
from bot.text import esc, split_text, to_plain
from bot.transports import (
    DeliveryError,
    PermanentFailure,
    RateLimited,
    TransientFailure,
    UncertainDelivery,
    Unreachable,
)
from bot.transports.telegram_http import AiohttpRequest
from bot.transports.telegram_updates import JSON, Unreadable, chat_of, read
from bot.transports.telegram_webhook import PATH as WEBHOOK_PATH
from bot.transports.telegram_webhook import WebhookServer

log = logging.getLogger(__name__)
# Telegram's answer to formatting it cannot parse (PTB drops the "Bad Request: " prefix).
_MARKUP_REFUSED = "can't parse entities"

CHANNEL = "telegram"
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
MAX_TEXT = 4096
MAX_CAPTION = 1024
# How long a poll waits for updates at Telegram (a long poll), and how many updates are
# handled at once (one at a time per chat).
POLL_SECONDS = 30
NO_PREVIEW = {"is_disabled": True}
CONCURRENT = 128
# While only updates still in hand come back from a poll, poll again after this at most
# (Telegram sends at most 100 from the oldest not acknowledged: a slow one holds the rest).
RECHECK_SECONDS = 0.2
# An update in hand this long (a slow handler, or behind its chat's own queue) is kept in
# the database and acknowledged, so that it no longer holds back every other chat's.
KEEP_AFTER_SECONDS = 2.0
# At most this many updates of one chat are kept at a time (a stuck chat whose person keeps
# writing): far beyond what a person types while waiting (the flood gate lets 15 through in
# ten seconds). Its further updates are dropped, and logged by their number.
KEPT_PER_CHAT = 50
# On a stop, updates in hand get this long to end; those still unfinished (a stuck chat)
# are kept, and handled at the next start.
STOP_GRACE_SECONDS = 5.0
# A tap's spinner in webhook mode: answered in the webhook's response when the update is
# handled within this, else by a request of its own (its chat is busy).
ANSWER_TAP_WITHIN = 0.5

Dispatch = Callable[[Inbound], Awaitable[list[Outbound]]]
MenuSource = Callable[[str], list[tuple[str, str]]]


class Inbox(Protocol):
    """Where updates acknowledged before they are handled are kept (bot/services/chats.py)."""

    async def keep(self, updates: Sequence[JSON]) -> list[int]: ...

    async def kept(self) -> list[tuple[int, JSON]]: ...

    async def handled(self, rows: Sequence[int]) -> None: ...


def file_base_url(api_base_url: str) -> str | None:
    """Where files are downloaded from, next to TELEGRAM_API_BASE_URL.

    Telegram serves files at https://api.telegram.org/file/bot<token>/<path>; a local Bot API
    server or a proxy follows the same layout, so ".../bot" becomes ".../file/bot". For an
    address that does not end in /bot the layout is unknown: None keeps PTB's default
    (Telegram's own file server).
    """
    base = api_base_url.rstrip("/")
    for tail in ("/bot{token}", "/bot"):
        if base.endswith(tail):
            return base[: -len(tail)] + "/file" + tail
    return None


def inline_keyboard(outbound: Outbound) -> InlineKeyboardMarkup | None:
    if not outbound.choices:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(c.label, web_app=WebAppInfo(c.url))
                if c.web_app
                else InlineKeyboardButton(c.label, url=c.url)
                if c.url
                else InlineKeyboardButton(c.label, callback_data=c.data)
                for c in row
            ]
            for row in outbound.choices
        ]
    )


def inline_markup(outbound: Outbound) -> JSON | None:
    """The choices as the Bot API's inline keyboard, in plain JSON (no PTB objects)."""
    if not outbound.choices:
        return None
    return {
        "inline_keyboard": [
            [
                {"text": c.label, "web_app": {"url": c.url}}
                if c.web_app
                else {"text": c.label, "url": c.url}
                if c.url
                else {"text": c.label, "callback_data": c.data}
                for c in row
            ]
            for row in outbound.choices
        ]
    }


def request_keyboard(outbound: Outbound) -> ReplyKeyboardMarkup | None:
    """The 'share my location / number' button, in the reader's language."""
    with use_language(outbound.language):
        if outbound.request == "location":
            button = KeyboardButton(_("📍 Share my location"), request_location=True)
        elif outbound.request == "contact":
            button = KeyboardButton(_("📞 Share my number"), request_contact=True)
        else:
            return None
    return ReplyKeyboardMarkup([[button]], one_time_keyboard=True, resize_keyboard=True)


class TelegramTransport:
    """The Telegram side of Relais."""

    channel = CHANNEL

    def __init__(
        self,
        settings: Settings,
        dispatch: Dispatch,
        *,
        on_blocked: Callable[[str, bool], Coroutine[Any, Any, None]] | None = None,
        request: Any = None,
    ) -> None:
        self.settings = settings
        self.dispatch = dispatch
        self.on_blocked = on_blocked
        self.http: AiohttpRequest = request or AiohttpRequest(
            connection_pool_size=64, read_timeout=10, write_timeout=10
        )
        # Long polls on a connection of their own, with time to wait for Telegram's answer.
        self._poll_http = AiohttpRequest(connection_pool_size=1, read_timeout=POLL_SECONDS + 10)
        builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
            ApplicationBuilder()
            .token(settings.telegram_token.value)
            .base_url(settings.telegram_api_base_url)
            .request(self.http)
            .updater(None)
            .job_queue(None)
        )
        files = file_base_url(settings.telegram_api_base_url)
        if files is not None:
            builder = builder.base_file_url(files)
        # PTB is the client (its calls, errors and objects); updates are read by Relais from
        # their JSON (bot/transports/telegram_updates.py), polled or posted to the webhook.
        self.app: Application[Any, Any, Any, Any, Any, Any] = builder.build()
        self._reply_keyboard_open: set[str] = set()
        # Set by the app: answers are queued in the Telegram lane, behind pages only, paced
        # with everything else; a 429 pauses them too and they are sent after it.
        self.queue_reply: Callable[[str, Outbound], asyncio.Future[str]] | None = None
        # Set by the app when several processes share the database: a chat's turn across
        # all of them, and answers written to the outbox (sent by the elected process)
        # before the turn ends, so that the chat's next update answers after them.
        self.turn: Callable[[str], AbstractAsyncContextManager[None]] = _no_turn
        self.queue_reply_durably: Callable[[str, Outbound], Awaitable[None]] | None = None
        self.webhook: WebhookServer | None = None
        # Texts whose formatting Telegram refused → the same words as plain text.
        self._plain_instead: dict[str, str] = {}
        # Updates of one chat in order, different chats in parallel (at most CONCURRENT).
        self._chats: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._slots = asyncio.Semaphore(CONCURRENT)
        self._handling: set[asyncio.Task[None]] = set()
        self._poller: asyncio.Task[None] | None = None
        self._offset = 0  # the update_id after the newest one taken
        # Updates taken and not yet handled, by update_id: when each was taken, and the
        # update (they hold the acknowledged offset back, unless kept in the inbox).
        self._in_flight: dict[int, tuple[float, JSON]] = {}
        # Set by the app: where updates in hand too long are kept, to be acknowledged. None
        # (tests of rendering): they hold the offset until they are handled.
        self.inbox: Inbox | None = None
        self.keep_after = KEEP_AFTER_SECONDS
        # Updates in hand that are kept in the inbox (acknowledged): update_id → its row.
        self._kept: dict[int, int] = {}
        # How many updates of each chat are kept (in this process's hands).
        self._kept_per_chat: Counter[int] = Counter()
        # Held while updates are being kept (those in `_being_kept`): one of them whose
        # answers are about to go out waits, so that it is never kept after it was answered.
        self._keeping = asyncio.Lock()
        self._being_kept: set[int] = set()
        # The task handling each polled update in hand (dropped ones are cancelled).
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self.stop_grace = STOP_GRACE_SECONDS
        self._room = asyncio.Event()
        self._room_at = 0

    @property
    def bot_username(self) -> str:
        return self.app.bot.username or ""

    async def download(self, file: InboundFile) -> bytes:
        """The bytes of a file a person sent (getFile, then a download from the file server)."""
        try:
            found = await self.app.bot.get_file(file.file_id)
            return bytes(await found.download_as_bytearray())
        except RetryAfter as exc:
            raise RateLimited(_seconds(exc.retry_after)) from exc
        except (BadRequest, Forbidden) as exc:
            raise PermanentFailure(str(exc)) from exc
        except TelegramError as exc:
            raise TransientFailure(str(exc)) from exc

    async def start(self, *, poll: bool = True) -> None:
        """Connect, and receive updates: by the webhook if one is set, else by polling
        (with several processes only the elected one polls: `start_polling`)."""
        await self.app.initialize()
        await self._poll_http.initialize()
        await self.app.start()
        if self.settings.webhook_url:
            # Relais' own server, not PTB's: PTB's reads up to 100 MB before the secret.
            self.webhook = WebhookServer(
                self.settings.webhook_listen,
                self.settings.port,
                self.settings.webhook_secret.value,
                self._handle_update,
                reuse_port=bool(self.settings.database_url),
            )
            await self.webhook.start()
            await self.app.bot.set_webhook(
                self.settings.webhook_url.rstrip("/") + WEBHOOK_PATH,
                secret_token=self.settings.webhook_secret.value,
                allowed_updates=ALLOWED_UPDATES,
                drop_pending_updates=False,
            )
            log.info(
                "Telegram webhook listening on %s port %d",
                self.settings.webhook_listen,
                self.settings.port,
            )
        elif poll:
            await self.start_polling()

    async def start_polling(self) -> None:
        """Ask Telegram for updates from this process (nothing to do with a webhook); first,
        the updates a process kept and did not handle (it was killed), in their order."""
        if self.settings.webhook_url or self._poller is not None:
            return
        # Polling and a webhook exclude each other: a webhook left set would refuse polls.
        await self.app.bot.delete_webhook(drop_pending_updates=False)
        if self.inbox is not None:
            kept = await self.inbox.kept()
            if kept:
                log.info("handling %d Telegram updates kept by the last process", len(kept))
            for row, update in kept:
                self._kept_per_chat[_chat_or_zero(update)] += 1
                self._start(self._take_kept(row, update))
        self._poller = asyncio.create_task(self._poll_forever(), name="telegram-polling")
        log.info("Telegram polling as @%s", self.bot_username)

    async def stop_polling(self) -> None:
        """Stop asking for updates (another process polls from now on, or this one stops):
        the updates taken get `stop_grace` seconds to be handled; those still unfinished (a
        stuck chat) are kept in the inbox and handled at the next start. Then they are all
        acknowledged, so that Telegram does not send them again."""
        poller, self._poller = self._poller, None
        if poller is None:
            return
        poller.cancel()
        await asyncio.gather(poller, return_exceptions=True)
        if self._handling:
            await asyncio.wait(self._handling, timeout=self.stop_grace)
        if self._handling:
            await self._keep_slow_ones(math.inf)
            # Unless it could not be kept, an update still in hand is not acknowledged.
            offset = self._acknowledged()
            unfinished = list(self._handling)
            log.warning(
                "Relais stops with %d Telegram updates unfinished; kept: %d",
                len(unfinished),
                len(self._kept),
            )
            for task in unfinished:
                task.cancel()
            await asyncio.gather(*unfinished, return_exceptions=True)
        else:
            offset = self._offset
        if offset:
            with contextlib.suppress(TelegramError):
                await self._poll_http.call(
                    f"{self.app.bot.base_url}/getUpdates",
                    {"offset": offset, "timeout": 0, "allowed_updates": ALLOWED_UPDATES},
                )

    async def _poll_forever(self) -> None:
        url = f"{self.app.bot.base_url}/getUpdates"
        pause = 0.0
        loop = asyncio.get_running_loop()
        while True:
            await self._keep_slow_ones(loop.time())
            params: JSON = {"timeout": POLL_SECONDS, "allowed_updates": ALLOWED_UPDATES}
            offset = self._acknowledged()
            if offset:
                params["offset"] = offset
            try:
                updates = await self._poll_http.call(url, params)
            except TelegramError as exc:
                # Telegram or the network failing: wait a little longer each time.
                pause = min(max(1.0, pause * 2), 30.0)
                log.warning("polling Telegram failed (%s); again in %.0f s", exc, pause)
                await asyncio.sleep(pause)
                continue
            pause = 0.0
            fresh = 0
            now = loop.time()
            for update in updates:
                update_id = int(update["update_id"])
                if update_id in self._in_flight:
                    continue  # still being handled: Telegram keeps it until it is done
                if update_id < self._offset:
                    if not offset or update_id >= offset:
                        continue  # handled, come back while an older one is in hand
                    # Below the offset asked for: Telegram numbers updates afresh from a
                    # random id after a week without any. A new sequence, not a replay.
                    log.info("Telegram numbers its updates afresh from %d", update_id)
                    self._offset = update_id
                fresh += 1
                self._offset = max(self._offset, update_id + 1)
                self._in_flight[update_id] = (now, update)
                self._tasks[update_id] = self._start(self._take(update_id, update))
            if updates and not fresh:
                # Only updates still in hand came back: wait until half of them are done (or
                # a moment, for new ones) rather than fetch the same ones again at once.
                self._room_at = len(self._in_flight) // 2
                self._room.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._room.wait(), RECHECK_SECONDS)

    def _start(self, handling: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(handling)
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)
        return task

    def _acknowledged(self) -> int:
        """The offset to poll with: every update below it is handled, or kept. An update in
        hand is not acknowledged until it is: killed meanwhile, Relais gets it again at its
        next start (what it changed and what it answered are written together, or not at
        all). One in hand for long is kept in the inbox first (`_keep_slow_ones`)."""
        return min(
            (update_id for update_id in self._in_flight if update_id not in self._kept),
            default=self._offset,
        )

    async def _keep_slow_ones(self, now: float) -> None:
        """Keep the updates in hand for longer than `keep_after` in the inbox, so that the
        offset moves past them: Telegram sends at most 100 updates from the offset, and one
        chat's slow update (or its own long queue) would hold back every other chat's. A
        chat with KEPT_PER_CHAT updates kept already gets no more: the others are dropped."""
        if self.inbox is None:
            return
        slow: list[tuple[int, JSON, int]] = []
        dropped: list[int] = []
        for update_id, (taken, update) in self._in_flight.items():
            if update_id in self._kept or now - taken < self.keep_after:
                continue
            chat = _chat_or_zero(update)
            if chat and self._kept_per_chat[chat] >= KEPT_PER_CHAT:
                dropped.append(update_id)
                continue
            self._kept_per_chat[chat] += 1
            slow.append((update_id, update, chat))
        if dropped:
            self._drop(dropped)
        if not slow:
            return
        async with self._keeping:
            self._being_kept = {update_id for update_id, _update, _chat in slow}
            try:
                rows = await self.inbox.keep([update for _id, update, _chat in slow])
            except Exception:
                # Still in hand, and still holding the offset: nothing is lost, only slower.
                log.exception("Telegram updates in hand could not be kept")
                self._kept_per_chat.subtract(chat for _id, _update, chat in slow)
                return
            finally:
                self._being_kept = set()
            done = []
            for (update_id, _update, chat), row in zip(slow, rows, strict=True):
                if update_id in self._in_flight:
                    self._kept[update_id] = row
                else:
                    done.append(row)  # handled meanwhile
                    self._no_longer_kept(chat)
        if done:
            await self._forget_kept(done)

    def _drop(self, update_ids: list[int]) -> None:
        """Updates of a chat that has too many kept already: never handled (a person
        typing into a stuck chat; nothing of theirs is lost that a later message lacks)."""
        for update_id in update_ids:
            self._in_flight.pop(update_id, None)
            task = self._tasks.pop(update_id, None)
            if task is not None:
                task.cancel()
        # Their numbers only: the rest is what a person wrote.
        log.warning(
            "Telegram updates %s dropped: their chat has %d updates kept already",
            ", ".join(map(str, update_ids)),
            KEPT_PER_CHAT,
        )

    async def _forget_kept(self, rows: list[int]) -> bool:
        """Delete kept updates that were handled; False (logged) if the database refused."""
        assert self.inbox is not None
        try:
            await self.inbox.handled(rows)
        except Exception:
            # Handled again at the next start: a replay, which changes nothing.
            log.exception("kept Telegram updates could not be forgotten")
            return False
        return True

    def _out_of_hand(self, update_id: int, chat: int) -> int | None:
        """An update leaves this process's hands (no await: a keeping under way sees it in
        hand or not at all); its kept row, if it was kept, to be forgotten."""
        self._in_flight.pop(update_id, None)
        self._tasks.pop(update_id, None)
        if len(self._in_flight) <= self._room_at:
            self._room.set()
        row = self._kept.pop(update_id, None)
        if row is not None:
            self._no_longer_kept(chat)
        return row

    def _no_longer_kept(self, chat: int) -> None:
        self._kept_per_chat[chat] -= 1
        if self._kept_per_chat[chat] <= 0:
            del self._kept_per_chat[chat]

    async def _answering(self, update_id: int, chat: int) -> bool:
        """Its answers go out now: out of hand first, and its kept row forgotten first, so
        that a kill from here on never has it handled (answered) again at the next start.
        False if that row could not be forgotten: it is answered at the next start."""
        if update_id in self._being_kept:
            async with self._keeping:  # the keeping under way ends first
                pass
        row = self._out_of_hand(update_id, chat)
        return row is None or await self._forget_kept([row])

    async def _take(self, update_id: int, update: JSON) -> None:
        """Handle one polled update in its chat's turn; a failure is logged, never raised.
        Cancelled (dropped, or unfinished at a stop), it stays kept if it was."""
        chat = _chat_or_zero(update)
        try:
            try:
                chat, blocked, inbound = read(update)
            except Unreadable as exc:
                _dropped(update, exc)
            else:
                answering = partial(self._answering, update_id, chat)
                await self._in_turn(
                    chat, self._on_update(update, blocked, inbound, before_answers=answering)
                )
        except Exception:
            log.exception("Telegram update %s could not be handled", update_id)
        finally:
            row = self._out_of_hand(update_id, chat)
        if row is not None:
            await self._forget_kept([row])

    async def _take_kept(self, row: int, update: JSON) -> None:
        """Handle an update the last process kept and did not handle; it is forgotten
        before it is answered (at most once), or once handled."""
        chat = _chat_or_zero(update)
        forgotten: list[bool] = []

        async def forget_first() -> bool:
            forgotten.append(await self._forget_kept([row]))
            return forgotten[0]

        try:
            chat, blocked, inbound = read(update)
            await self._in_turn(
                chat, self._on_update(update, blocked, inbound, before_answers=forget_first)
            )
        except Unreadable as exc:
            _dropped(update, exc)
        except Exception:
            log.exception("Telegram update %s could not be handled", update.get("update_id"))
        self._no_longer_kept(chat)
        if not forgotten:
            await self._forget_kept([row])

    async def _in_turn(self, chat: int, handling: Coroutine[Any, Any, None]) -> None:
        lock = self._chats[chat]
        # The chat's turn first, then a slot: a chat with a queue of its own updates waits
        # for its turn without holding slots that other chats need.
        try:
            async with lock, self._slots:
                await handling
        finally:
            handling.close()  # cancelled before its turn (dropped, or stopping): never run
        if not lock.locked() and len(self._chats) > 10_000:
            self._chats.pop(chat, None)

    async def _handle_update(self, data: dict[str, Any]) -> dict[str, Any] | None:
        """Handle an update the webhook received before answering Telegram, in its chat's
        turn as polling would: an update the process dies handling was never acknowledged,
        and Telegram sends it again (to another process, when there are several). A tap is
        answered in the webhook's own response, where the only request it costs is the edit
        of its card; when its chat is busy (its earlier updates, or a slow one) the spinner
        does not wait for it: the tap is answered at once by a request of its own. An update
        it cannot read is dropped (answered 200): Telegram would send it again and again; a
        failure to handle it (the database busy) raises, and the webhook answers an error,
        so that Telegram sends it again later."""
        try:
            chat, blocked, inbound = read(data)
        except Unreadable as exc:
            _dropped(data, exc)
            return None
        query = data.get("callback_query")
        if not isinstance(query, dict) or "id" not in query:
            await self._in_turn(chat, self._on_update(data, blocked, inbound))
            return None
        busy = self._chats[chat].locked()
        handling = asyncio.ensure_future(
            self._in_turn(chat, self._on_update(data, blocked, inbound, answered=True))
        )
        done = set() if busy else (await asyncio.wait({handling}, timeout=ANSWER_TAP_WITHIN))[0]
        if handling in done:
            handling.result()
            return {"method": "answerCallbackQuery", "callback_query_id": query["id"]}
        try:
            await self._call("answerCallbackQuery", {"callback_query_id": query["id"]})
        except TelegramError as exc:
            log.info("callback query could not be answered: %s", exc)
        await handling
        return None

    async def stop(self) -> None:
        if self.webhook is not None:
            await self.webhook.stop()
            self.webhook = None
        await self.stop_polling()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()
        await self._poll_http.shutdown()

    # -- incoming -----------------------------------------------------------------------

    async def _on_update(
        self,
        update: JSON,
        blocked: tuple[str, bool] | None,
        inbound: Inbound | None,
        *,
        answered: bool = False,
        before_answers: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        """Handle one update and send its answers; `before_answers` runs first, and when
        it says False they are not sent (the update is handled again at the next start)."""
        if blocked is not None:
            if self.on_blocked is not None:
                await self.on_blocked(*blocked)
            return
        if inbound is None:
            return
        query = update.get("callback_query")
        if query is not None and not answered:
            # Answer at once: the client shows a spinner until we do.
            try:
                await self._call("answerCallbackQuery", {"callback_query_id": query["id"]})
            except TelegramError as exc:
                log.info("callback query could not be answered: %s", exc)
        async with self.turn(inbound.chat_id):
            replies = await self.dispatch(inbound)
            if before_answers is not None and not await before_answers():
                log.warning("Telegram update %s is answered at the next start", update["update_id"])
                return
            for outbound in replies:
                await self._reply(inbound, outbound)

    async def _call(self, method: str, params: JSON) -> Any:
        """One Bot API call from plain values; its result as plain JSON."""
        return await self.http.call(f"{self.app.bot.base_url}/{method}", params)

    async def _reply(self, inbound: Inbound, outbound: Outbound) -> None:
        """Queue one message of an answer; the lane sends a chat's messages in order."""
        chat = inbound.chat_id
        if outbound.edit and inbound.message_id and not outbound.attachment:
            # Replace the message whose button was tapped (a new one if it cannot be edited).
            outbound = replace(outbound, edit=False, edit_message_id=inbound.message_id)
        if self.queue_reply_durably is not None:
            await self.queue_reply_durably(chat, outbound)
            return
        if self.queue_reply is None:  # a transport without a sender (tests of rendering)
            try:
                await self.deliver(chat, outbound)
            except DeliveryError as exc:
                log.warning("a reply to a chat failed: %s", exc)
            return
        sent = self.queue_reply(chat, outbound)
        sent.add_done_callback(_log_failed_reply)

    # -- outgoing -----------------------------------------------------------------------

    async def _edit(self, chat_id: str, message_id: str, outbound: Outbound) -> bool:
        params: JSON = {
            "chat_id": int(chat_id),
            "message_id": int(message_id),
            "text": outbound.text[:MAX_TEXT],
            "parse_mode": ParseMode.HTML.value,
            "link_preview_options": NO_PREVIEW,
        }
        markup = inline_markup(outbound)
        if markup is not None:
            params["reply_markup"] = markup
        try:
            await self._call("editMessageText", params)
            return True
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return True
            log.info("edit failed (%s); sending a new message instead", exc)
            return False

    async def _send(self, chat_id: str, outbound: Outbound) -> str:
        chat = int(chat_id)
        asked = request_keyboard(outbound)
        markup: JSON | None = asked.to_dict() if asked else inline_markup(outbound)
        if outbound.request:
            self._reply_keyboard_open.add(chat_id)
        elif markup is None and chat_id in self._reply_keyboard_open:
            markup = {"remove_keyboard": True}
            self._reply_keyboard_open.discard(chat_id)
        extra: dict[str, Any] = {"allow_paid_broadcast": True} if outbound.paid else {}
        attachment = outbound.attachment
        if attachment is not None:
            caption = outbound.text[:MAX_CAPTION] or None
            file = InputFile(attachment.content, filename=attachment.filename)
            # Files go through PTB's own calls (multipart), with its keyboard objects.
            keyboard: Any = asked or inline_keyboard(outbound)
            if markup is not None and keyboard is None:
                keyboard = ReplyKeyboardRemove()
            if attachment.kind == "photo":
                message = await self.app.bot.send_photo(
                    chat,
                    file,
                    caption=caption,
                    parse_mode=ParseMode.HTML,
                    reply_markup=keyboard,
                    **extra,
                )
            else:
                message = await self.app.bot.send_document(
                    chat,
                    file,
                    caption=caption,
                    parse_mode=ParseMode.HTML,
                    reply_markup=keyboard,
                    **extra,
                )
            return str(message.message_id)
        parts = split_text(outbound.text or "…", MAX_TEXT)
        message_id = ""
        for index, part in enumerate(parts):
            params: JSON = {
                "chat_id": chat,
                "text": part,
                "parse_mode": ParseMode.HTML.value,
                "link_preview_options": NO_PREVIEW,
                **extra,
            }
            if markup is not None and index == len(parts) - 1:
                params["reply_markup"] = markup
            message = await self._call("sendMessage", params)
            message_id = str(message["message_id"])
        return message_id

    async def deliver(self, chat_id: str, outbound: Outbound) -> str:
        """Send one outbox message, translating Telegram's errors into outbox outcomes."""
        plain = self._plain_instead.get(outbound.text)
        if plain is not None:
            outbound = replace(outbound, text=plain)
        try:
            if outbound.edit_message_id:
                if await self._edit(chat_id, outbound.edit_message_id, outbound):
                    return outbound.edit_message_id
            return await self._send(chat_id, outbound)
        except RetryAfter as exc:
            raise RateLimited(_seconds(exc.retry_after), str(exc)) from exc
        except Forbidden as exc:
            raise Unreachable(str(exc)) from exc
        except ChatMigrated as exc:
            raise PermanentFailure(f"chat migrated to {exc.new_chat_id}") from exc
        except BadRequest as exc:
            if plain is None and _MARKUP_REFUSED in str(exc).lower():
                return await self._deliver_plain(chat_id, outbound, str(exc))
            raise PermanentFailure(str(exc)) from exc
        except TimedOut as exc:
            # The request may have reached Telegram: do not resend blindly.
            raise UncertainDelivery(str(exc)) from exc
        except NetworkError as exc:
            raise TransientFailure(str(exc)) from exc
        except TelegramError as exc:
            raise PermanentFailure(str(exc)) from exc

    async def _deliver_plain(self, chat_id: str, outbound: Outbound, error: str) -> str:
        """Telegram refused the formatting (checked, yet refused: a custom emoji the bot may
        not use…): send the words without it rather than fail every recipient. The plain
        text is remembered so the next recipients get it at once, without a refused try."""
        log.warning("Telegram refused a message's formatting (%s): sending it as plain text", error)
        if len(self._plain_instead) >= 64:
            self._plain_instead.pop(next(iter(self._plain_instead)))
        self._plain_instead[outbound.text] = esc(to_plain(outbound.text))
        return await self.deliver(chat_id, outbound)

    # -- command menus ------------------------------------------------------------------

    async def publish_menu(self, menu: MenuSource) -> None:
        """Set the volunteer command menu, in every language (default: the campaign's)."""
        for language in (*LANGUAGES, ""):
            with use_language(language or self.settings.language):
                commands = [BotCommand(name, text) for name, text in menu("volunteer")]
            await self.app.bot.set_my_commands(
                commands, scope=BotCommandScopeDefault(), language_code=language or None
            )

    async def publish_chat_menu(
        self, chat_id: str, rank: str, language: str, menu: MenuSource
    ) -> None:
        """Give one organizer or admin the menu of their role, in their language."""
        with use_language(language):
            commands = [BotCommand(name, text) for name, text in menu(rank)]
        try:
            await self.app.bot.set_my_commands(commands, scope=BotCommandScopeChat(int(chat_id)))
        except TelegramError as exc:
            log.info("a chat's command menu was not set: %s", exc)

    async def publish_menu_button(self, chat_id: str, label: str, url: str) -> None:
        """The menu button opens the dashboard as a Mini App ("" url: back to commands)."""
        button = MenuButtonWebApp(label, WebAppInfo(url)) if url else MenuButtonDefault()
        try:
            await self.app.bot.set_chat_menu_button(chat_id=int(chat_id), menu_button=button)
        except TelegramError as exc:
            log.info("a chat's menu button was not set: %s", exc)


def _chat_or_zero(update: JSON) -> int:
    """The chat of an update, 0 if it cannot be read."""
    try:
        return chat_of(update)
    except (KeyError, TypeError, ValueError, AttributeError):
        return 0


def _dropped(update: JSON, why: Unreadable) -> None:
    # Its number only: the rest is what a person wrote.
    log.warning(
        "Telegram update %s dropped: Relais cannot read it (%s)", update.get("update_id"), why
    )


@contextlib.asynccontextmanager
async def _no_turn(_chat_id: str) -> AsyncIterator[None]:
    """One process: PerChatProcessor already keeps a chat's updates in order."""
    yield


def _log_failed_reply(done: asyncio.Future[str]) -> None:
    # No chat id: it is a person's Telegram id.
    if done.cancelled():
        log.warning("a reply to a chat was not sent: Relais stopped")
    elif (error := done.exception()) is not None:
        log.warning("a reply to a chat failed: %s", error)


def _seconds(value: Any) -> float:
    return float(value.total_seconds()) if hasattr(value, "total_seconds") else float(value)
