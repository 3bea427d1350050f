"""Telegram, through python-telegram-bot 22: updates in as Inbound, Outbound rendered out.

PTB is driven by hand (initialize, start, start_polling or start_webhook) so that Telegram,
Signal and the scheduler share one event loop. PTB's own persistence, conversation
handlers and job queue are not used: the database is the source of truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from typing import Any

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
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
    WebAppInfo,
)
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application, ApplicationBuilder, BaseUpdateProcessor, TypeHandler
from telegram.request import HTTPXRequest

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
from bot.transports.telegram_webhook import PATH as WEBHOOK_PATH
from bot.transports.telegram_webhook import WebhookServer

log = logging.getLogger(__name__)
# Telegram's answer to formatting it cannot parse (PTB drops the "Bad Request: " prefix).
_MARKUP_REFUSED = "can't parse entities"

CHANNEL = "telegram"
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
MAX_TEXT = 4096
MAX_CAPTION = 1024

Dispatch = Callable[[Inbound], Awaitable[list[Outbound]]]
MenuSource = Callable[[str], list[tuple[str, str]]]


class PerChatProcessor(BaseUpdateProcessor):
    """Updates of one chat in order, different chats in parallel."""

    def __init__(self, max_concurrent_updates: int = 128) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = (
            update.effective_chat.id if isinstance(update, Update) and update.effective_chat else 0
        )
        lock = self._locks[chat]
        async with lock:
            await coroutine
        if not lock.locked() and len(self._locks) > 10_000:
            self._locks.pop(chat, None)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None


def to_inbound(update: Update) -> Inbound | None:
    """The neutral form of a Telegram update, or None for updates Relais ignores."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None or user.is_bot:
        return None
    base: dict[str, Any] = {
        "channel": CHANNEL,
        "user_id": str(user.id),
        "chat_id": str(chat.id),
        "private": chat.type == "private",
        "first_name": user.first_name or "",
        "language_code": user.language_code or "",
        "update_key": str(update.update_id),
    }
    if update.callback_query is not None:
        query = update.callback_query
        message_id = str(query.message.message_id) if query.message else ""
        return Inbound(**base, choice=str(query.data or ""), message_id=message_id)
    message = update.effective_message
    if message is None or update.edited_message is not None:
        return None
    if message.location is not None:
        return Inbound(**base, location=(message.location.latitude, message.location.longitude))
    if message.contact is not None:
        # Only a person's own number counts as theirs.
        if message.contact.user_id not in (None, user.id):
            return Inbound(**base, text=message.contact.phone_number)
        return Inbound(**base, contact_phone=message.contact.phone_number)
    text = message.text or message.caption or ""
    return Inbound(
        **base,
        text=text,
        forwarded=message.forward_origin is not None,
        file=_file(message),
        extra={"urls": _urls(message)},
    )


def _file(message: Message) -> InboundFile | None:
    """A photo (its largest size) or a document sent with the message, by reference."""
    if message.photo:
        largest = max(message.photo, key=lambda p: (p.width * p.height, p.file_size or 0))
        return InboundFile("photo", largest.file_id, size=largest.file_size or 0)
    document = message.document
    if document is not None:
        return InboundFile(
            "document",
            document.file_id,
            name=document.file_name or "",
            size=document.file_size or 0,
            mime=document.mime_type or "",
        )
    return None


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


def _urls(message: Message) -> list[str]:
    entities = message.parse_entities(["url", "text_link"]) or message.parse_caption_entities(
        ["url", "text_link"]
    )
    return [entity.url or text for entity, text in entities.items()]


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
        builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
            ApplicationBuilder()
            .token(settings.telegram_token.value)
            .base_url(settings.telegram_api_base_url)
            .concurrent_updates(PerChatProcessor())
            .job_queue(None)
        )
        builder = builder.request(
            request or AiohttpRequest(connection_pool_size=64, read_timeout=10, write_timeout=10)
        ).get_updates_request(HTTPXRequest(connection_pool_size=1, read_timeout=40))
        files = file_base_url(settings.telegram_api_base_url)
        if files is not None:
            builder = builder.base_file_url(files)
        self.app: Application[Any, Any, Any, Any, Any, Any] = builder.build()
        self.app.add_handler(TypeHandler(Update, self._on_update))
        self.app.add_error_handler(self._on_error)
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
        # Taps answered in the webhook's response, not to be answered again.
        self._answered_in_reply: set[str] = set()

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
        """Ask Telegram for updates from this process (nothing to do with a webhook)."""
        updater = self.app.updater
        if self.settings.webhook_url or updater is None or updater.running:
            return
        await updater.start_polling(
            allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False, timeout=30
        )
        log.info("Telegram polling as @%s", self.bot_username)

    async def stop_polling(self) -> None:
        """Stop asking for updates (another process polls from now on)."""
        updater = self.app.updater
        if updater is not None and updater.running:
            await updater.stop()

    async def _handle_update(self, data: dict[str, Any]) -> dict[str, Any] | None:
        """Handle an update the webhook received before answering Telegram, in its chat's
        turn as polling would: an update the process dies handling was never acknowledged,
        and Telegram sends it again (to another process, when there are several). A tap is
        answered in the webhook's own response: the only request it costs is the edit of
        its card."""
        update = Update.de_json(data, self.app.bot)
        answer = None
        query = update.callback_query
        if query is not None:
            self._answered_in_reply.add(query.id)
            answer = {"method": "answerCallbackQuery", "callback_query_id": query.id}
        await self.app.update_processor.process_update(update, self.app.process_update(update))
        return answer

    async def stop(self) -> None:
        if self.webhook is not None:
            await self.webhook.stop()
            self.webhook = None
        updater = self.app.updater
        if updater is not None and updater.running:
            await updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()

    # -- incoming -----------------------------------------------------------------------

    async def _on_update(self, update: object, _context: object) -> None:
        if not isinstance(update, Update):
            return
        if update.my_chat_member is not None:
            await self._on_membership(update)
            return
        inbound = to_inbound(update)
        if inbound is None:
            return
        query = update.callback_query
        if query is not None and query.id in self._answered_in_reply:
            self._answered_in_reply.discard(query.id)
        elif query is not None:
            # Answer at once: the client shows a spinner until we do.
            try:
                await query.answer()
            except TelegramError as exc:
                log.info("callback query could not be answered: %s", exc)
        async with self.turn(inbound.chat_id):
            replies = await self.dispatch(inbound)
            for outbound in replies:
                await self._reply(inbound, outbound)

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

    async def _on_membership(self, update: Update) -> None:
        member = update.my_chat_member
        if member is None or member.chat.type != "private" or self.on_blocked is None:
            return
        blocked = member.new_chat_member.status in (ChatMemberStatus.BANNED, "kicked")
        await self.on_blocked(str(member.chat.id), blocked)

    async def _on_error(self, update: object, context: Any) -> None:
        log.error("Telegram handler error: %s", context.error, exc_info=context.error)

    # -- outgoing -----------------------------------------------------------------------

    async def _edit(self, chat_id: str, message_id: str, outbound: Outbound) -> bool:
        try:
            await self.app.bot.edit_message_text(
                chat_id=int(chat_id),
                message_id=int(message_id),
                text=outbound.text[:MAX_TEXT],
                parse_mode=ParseMode.HTML,
                reply_markup=inline_keyboard(outbound),
                disable_web_page_preview=True,
            )
            return True
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return True
            log.info("edit failed (%s); sending a new message instead", exc)
            return False

    async def _send(self, chat_id: str, outbound: Outbound) -> str:
        chat = int(chat_id)
        markup: Any = request_keyboard(outbound) or inline_keyboard(outbound)
        if outbound.request:
            self._reply_keyboard_open.add(chat_id)
        elif markup is None and chat_id in self._reply_keyboard_open:
            markup = ReplyKeyboardRemove()
            self._reply_keyboard_open.discard(chat_id)
        extra: dict[str, Any] = {"allow_paid_broadcast": True} if outbound.paid else {}
        attachment = outbound.attachment
        if attachment is not None:
            caption = outbound.text[:MAX_CAPTION] or None
            file = InputFile(attachment.content, filename=attachment.filename)
            if attachment.kind == "photo":
                message = await self.app.bot.send_photo(
                    chat,
                    file,
                    caption=caption,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                    **extra,
                )
            else:
                message = await self.app.bot.send_document(
                    chat,
                    file,
                    caption=caption,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                    **extra,
                )
            return str(message.message_id)
        parts = split_text(outbound.text or "…", MAX_TEXT)
        message_id = ""
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            message = await self.app.bot.send_message(
                chat,
                part,
                parse_mode=ParseMode.HTML,
                reply_markup=markup if last else None,
                disable_web_page_preview=True,
                **extra,
            )
            message_id = str(message.message_id)
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
