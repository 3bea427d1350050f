"""A fake Telegram Bot API server for tests, speaking the real HTTP wire format.

The bot under test talks to it exactly as it talks to Telegram: point python-telegram-bot at
:attr:`FakeBotAPI.base_url` (``Bot(token, base_url=api.base_url)`` or
``ApplicationBuilder().base_url(api.base_url)``) and every request arrives as
``POST /bot<TOKEN>/<method>``, form-encoded, multipart or JSON. Nothing leaves 127.0.0.1.

Test side:

* inject user activity with :meth:`FakeBotAPI.send_text`, :meth:`~FakeBotAPI.tap`,
  :meth:`~FakeBotAPI.send_location`, :meth:`~FakeBotAPI.send_contact`,
  :meth:`~FakeBotAPI.forward_text`, :meth:`~FakeBotAPI.send_photo`,
  :meth:`~FakeBotAPI.send_document` and :meth:`~FakeBotAPI.enqueue_raw`; the bot receives them
  through ``getUpdates`` long polling. Files users send are kept, so ``getFile`` and a download
  from ``/file/bot<token>/<file_path>`` (PTB's ``base_file_url``, see
  :attr:`~FakeBotAPI.base_file_url`) return their bytes, as on Telegram;
* inspect what the bot did through :attr:`~FakeBotAPI.sent`, :meth:`~FakeBotAPI.messages_to`,
  :meth:`~FakeBotAPI.wait_for`, :meth:`~FakeBotAPI.wait_for_text`,
  :meth:`~FakeBotAPI.last_keyboard`, :attr:`~FakeBotAPI.answered_callbacks`,
  :attr:`~FakeBotAPI.commands` and :attr:`~FakeBotAPI.stats`;
* make Telegram misbehave with :meth:`~FakeBotAPI.fail_next`, :attr:`~FakeBotAPI.blocked_chats`,
  :meth:`~FakeBotAPI.delay` and the rate-limiting mode
  (``FakeBotAPI(limit_global_per_s=30, limit_per_chat_per_s=1)``).

Where it runs: ``async with FakeBotAPI() as api:`` serves on the test's own event loop. That is
enough for a bot started as a subprocess (``asyncio.create_subprocess_exec``), since the
subprocess only talks HTTP to it; the test just must not block its loop (no ``time.sleep``, no
``subprocess.run``). Synchronous tests use :meth:`FakeBotAPI.run_in_thread` instead, which
serves from a background thread and returns a :class:`FakeBotAPIThread` handle.

Deliberate choices, where Telegram leaves room:

* An unknown method answers HTTP 404 ``"Not Found: method 'x' is not implemented by
  FakeBotAPI"``, as Telegram answers 404 for unknown methods. PTB raises ``InvalidToken`` with
  that text, which ``except BadRequest`` in bot code cannot swallow. The name is also recorded
  in :attr:`FakeBotAPI.unknown_methods`, and leaving ``async with`` raises ``AssertionError``
  if any was called (``strict=True``, the default).
* Like Telegram, it rejects HTML that Telegram would reject (unsupported or unbalanced tags,
  e.g. ``<br>`` or an unescaped ``<`` in a user's name), texts over 4096 characters, captions
  over 1024, and edits that change nothing ("message is not modified"). Markdown is not checked.
* Editing a message it never saw is accepted (the message is created), so tests may
  :meth:`~FakeBotAPI.tap` on arbitrary message ids.
* Chat types: a chat seen in an incoming update keeps the type given there; otherwise a
  positive id is ``private``, ``-100…`` is ``supergroup``, any other negative id is ``group``.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import re
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, TypeVar

from aiohttp import web

__all__ = [
    "BOT_USER",
    "BotAPIError",
    "FakeBotAPI",
    "FakeBotAPIThread",
    "SentCall",
    "Stats",
    "UploadedFile",
]

JSONDict = dict[str, Any]
ChatId = int | str
MethodHandler = Callable[[JSONDict], Any]
_T = TypeVar("_T")

#: The bot account, as in the ``from`` field of the messages it sends.
BOT_USER: JSONDict = {
    "id": 123456,
    "is_bot": True,
    "first_name": "Relais",
    "username": "relais_test_bot",
}
_GET_ME: JSONDict = {
    **BOT_USER,
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_PATH_RE = re.compile(r"/bot([^/]+)/([A-Za-z]+)/?\Z")
_FILE_PATH_RE = re.compile(r"/file/bot([^/]+)/(.+)\Z")

# PTB sends every non-string value JSON-encoded and strings raw, so a raw "42" may have been
# either. These parameters are strings in the Bot API and are never decoded.
_STRING_PARAMS = _words(
    "text caption parse_mode callback_query_id inline_message_id "
    "business_connection_id action language_code url secret_token ip_address "
    "phone_number first_name last_name vcard title address description "
    "short_description name emoji query message_effect_id photo document file_id"
)
_NUMBER_RE = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?\Z")

# Methods counted by the rate limiter: those that post a new message in a chat.
_RATE_LIMITED = _words(
    "sendmessage sendphoto senddocument sendlocation sendcontact sendmediagroup "
    "sendvideo sendaudio sendvoice sendanimation sendsticker sendpoll copymessage "
    "forwardmessage"
)
# Calls that show text to the user: what messages_to() and wait_for_text() look at.
_MESSAGE_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument", "editMessageText"})
# Update types Telegram leaves out unless allowed_updates names them explicitly.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

_HTML_TAGS = _words(
    "b strong i em u ins s strike del span tg-spoiler a code pre blockquote tg-emoji"
)
_TAG_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)(?:\s[^<>]*)?>")
_MAX_TEXT = 4096
_MAX_CAPTION = 1024
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}\Z")

_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    403: "Forbidden: bot was blocked by the user",
    409: "Conflict: terminated by other getUpdates request",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


class BotAPIError(Exception):
    """An error answer: raise it from a handler added with :meth:`FakeBotAPI.add_method`."""

    def __init__(self, status: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> JSONDict:
        """The JSON body Telegram sends with this error."""
        body: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A file part of a multipart request, stored in ``params`` under its field name."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytes

    @property
    def size(self) -> int:
        """Length of the uploaded content in bytes."""
        return len(self.data)


@dataclass(slots=True)
class SentCall:
    """One request the bot made (every method but ``getUpdates``), with the answer it got.

    ``timestamp`` is the server's clock (``time.monotonic()`` unless it was given another)
    when the request arrived; ``text`` is the ``text`` or
    ``caption`` parameter; ``message_id`` is the id of the message sent or edited, if any.
    """

    method: str
    params: JSONDict
    chat_id: ChatId | None
    text: str | None
    reply_markup: JSONDict | None
    timestamp: float
    message_id: int | None
    token: str
    status: int = 200
    result: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the call succeeded (HTTP 200)."""
        return self.status == 200

    def __str__(self) -> str:
        text = "" if self.text is None else repr(self.text[:80])
        outcome = "ok" if self.ok else f"{self.status} {self.error}"
        return f"{self.method} chat={self.chat_id} msg={self.message_id} {text} -> {outcome}"


@dataclass(slots=True)
class Stats:
    """Counters over all requests, ``getUpdates`` included."""

    requests: Counter[str] = field(default_factory=Counter)
    errors: Counter[int] = field(default_factory=Counter)
    too_many_requests: int = 0  # every 429 answer, injected or from the rate limiter
    rate_limited: int = 0  # the 429 answers produced by the rate limiter alone

    @property
    def total(self) -> int:
        """Number of requests received."""
        return sum(self.requests.values())


@dataclass(slots=True)
class _Fault:
    method: str  # lower-case method name, or "*" for any method
    status: int
    description: str
    retry_after: int | None
    remaining: int
    chat_id: ChatId | None


@dataclass
class _Storm:
    method: str
    every: int
    status: int
    description: str
    retry_after: int
    until: float
    seen: int = 0


def _decode_value(name: str, value: str) -> Any:
    """Undo PTB's encoding of one form field: JSON for non-strings, raw for strings."""
    if name in _STRING_PARAMS or not value:
        return value
    first = value[0]
    if (
        first in "{["
        or value in ("true", "false")
        or (first in "-0123456789" and _NUMBER_RE.match(value))
    ):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _norm_chat_id(value: Any) -> ChatId | None:
    """Chat ids arrive as ints or strings ("123", "@channel"); compare them as ints if possible."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = str(value)
    try:
        return int(text)
    except ValueError:
        return text


def _utf16_len(text: str) -> int:
    # Telegram measures entity offsets and lengths in UTF-16 code units.
    return len(text.encode("utf-16-le")) // 2


def _html_error(text: str) -> str | None:
    """The error Telegram gives for this text with parse_mode=HTML, or None if it parses."""
    stack: list[str] = []
    pos = 0
    while (lt := text.find("<", pos)) >= 0:
        offset = len(text[:lt].encode())
        match = _TAG_RE.match(text, lt)
        if match is None:
            return (
                f"Bad Request: can't parse entities: Unsupported start tag at byte offset {offset}"
            )
        closing, name = match.group(1), match.group(2).lower()
        if name not in _HTML_TAGS:
            kind = "end" if closing else "start"
            return (
                f'Bad Request: can\'t parse entities: Unsupported {kind} tag "{name}" '
                f"at byte offset {offset}"
            )
        if not closing:
            stack.append(name)
        elif not stack:
            return f"Bad Request: can't parse entities: Unexpected end tag at byte offset {offset}"
        elif stack[-1] != name:
            return (
                f"Bad Request: can't parse entities: Unmatched end tag at byte offset {offset}, "
                f'expected "</{stack[-1]}>", found "</{name}>"'
            )
        else:
            stack.pop()
        pos = match.end()
    if stack:
        return (
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag "
            f'"{stack[-1]}"'
        )
    return None


def _visible_length(text: str, parse_mode: Any) -> int:
    if isinstance(parse_mode, str) and parse_mode.lower() == "html":
        return len(html.unescape(re.sub(r"<[^<>]*>", "", text)))
    return len(text)


def _check_text(text: str, parse_mode: Any, *, caption: bool) -> None:
    """Reject what Telegram rejects: bad HTML, empty text, too long text or caption."""
    if isinstance(parse_mode, str) and parse_mode.lower() == "html":
        error = _html_error(text)
        if error is not None:
            raise BotAPIError(400, error)
    length = _visible_length(text, parse_mode)
    if caption:
        if length > _MAX_CAPTION:
            raise BotAPIError(400, "Bad Request: message caption is too long")
    elif length == 0 or not text.strip():
        raise BotAPIError(400, "Bad Request: message text is empty")
    elif length > _MAX_TEXT:
        raise BotAPIError(400, "Bad Request: message is too long")


def _inline_markup(value: Any) -> JSONDict | None:
    # Telegram only echoes inline keyboards in the returned Message; reply keyboards vanish.
    if isinstance(value, dict) and "inline_keyboard" in value:
        return value
    return None


def _button_target(button: JSONDict) -> str | None:
    for key in ("callback_data", "url"):
        if isinstance(button.get(key), str):
            return str(button[key])
    web_app = button.get("web_app")
    if isinstance(web_app, dict) and isinstance(web_app.get("url"), str):
        return str(web_app["url"])
    return None


def _scope_key(scope: Any) -> str:
    return json.dumps(scope or {"type": "default"}, sort_keys=True, separators=(",", ":"))


def _update_kind(update: JSONDict) -> str:
    return next((key for key in update if key != "update_id"), "")


class FakeBotAPI:
    """A Telegram Bot API server on 127.0.0.1 with an ephemeral port; see the module docstring.

    Everything happens on the event loop that called :meth:`start`: the test-side methods
    (``send_text``, ``fail_next``, …) are plain functions to call from that loop, or through
    :meth:`FakeBotAPIThread.call` when the server runs in a thread.
    """

    def __init__(
        self,
        *,
        limit_global_per_s: float | None = None,
        limit_per_chat_per_s: float | None = None,
        limit_paid_per_s: float = 1000,
        strict: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Create a stopped server.

        Rate limiting is on when either ``limit_global_per_s`` or ``limit_per_chat_per_s`` is
        given: a send (a method posting a new message) that would exceed a limit within the
        last second is answered 429 with ``retry_after=1``. Sends with
        ``allow_paid_broadcast=true`` count against ``limit_paid_per_s`` instead of the global
        limit; the per-chat limit applies to them too. ``strict`` makes leaving ``async with``
        fail if the bot called a method this fake does not implement. ``clock`` stamps the
        requests and moves the rate windows (a test may stop it: a loaded machine then
        cannot spread a burst over several windows). ``on_call``, if set, sees each call as
        it is recorded, before it is answered.
        """
        self.sent: list[SentCall] = []
        self.answered_callbacks: list[str] = []
        #: setMyCommands lists by (scope as compact sorted JSON, language_code or "").
        self.commands: dict[tuple[str, str], list[JSONDict]] = {}
        #: Chats whose every call answers 403, as when the user blocked the bot.
        self.blocked_chats: set[ChatId] = set()
        self.unknown_methods: list[str] = []
        self.tokens: set[str] = set()
        self.stats = Stats()
        self.webhook_url: str | None = None
        self.strict = strict
        self.clock = clock
        self.on_call: Callable[[SentCall], None] | None = None

        self._limit_global = limit_global_per_s
        self._limit_chat = limit_per_chat_per_s
        self._limit_paid = limit_paid_per_s
        self._rate_limiting = limit_global_per_s is not None or limit_per_chat_per_s is not None
        # Sliding one-second windows of accepted send times, trimmed from the left on each send
        # so that a request costs O(1) amortized however long the run.
        self._global_window: deque[float] = deque()
        self._paid_window: deque[float] = deque()
        self._chat_windows: dict[ChatId, deque[float]] = {}

        self._pending: deque[JSONDict] = deque()  # sorted by update_id
        self._next_update_id = 1
        # After `number_afresh`: offsets from here up belong to the old numbering.
        self._old_numbering_from: int | None = None
        self._next_callback = 0
        self._file_seq = 0
        self._issued_callbacks: set[str] = set()
        self._allowed_updates: frozenset[str] | None = None
        self._last_message_id: dict[ChatId, int] = {}
        self._messages: dict[tuple[ChatId, int], JSONDict] = {}
        self._last_bot_message: dict[ChatId, int] = {}
        self._chats: dict[ChatId, JSONDict] = {}
        # Files users sent, in order: file_id → (file_path, bytes); getFile and /file/bot….
        self.user_files: dict[str, tuple[str, bytes]] = {}
        self.downloads: list[str] = []
        self._faults: list[_Fault] = []
        self._storms: list[_Storm] = []
        self._delays: dict[str, float] = {}

        self._poll_waiter: asyncio.Future[str] | None = None
        self._call_waiters: list[asyncio.Future[None]] = []
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None
        self._closing = False
        self._port: int | None = None

        self._methods: dict[str, tuple[str, MethodHandler]] = {}
        builtin: dict[str, MethodHandler] = {
            "getMe": lambda _p: dict(_GET_ME),
            "close": lambda _p: True,
            "logOut": lambda _p: True,
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._set_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getMyCommands": self._get_my_commands,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "getFile": self._get_file,
            "sendChatAction": self._send_chat_action,
            # getUpdates is awaited specially in _handle; this entry only names it.
            "getUpdates": lambda _p: [],
        }
        for name, handler in builtin.items():
            self.add_method(name, handler)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Listen on 127.0.0.1 with a port chosen by the OS."""
        if self._runner is not None:
            raise RuntimeError("FakeBotAPI already started")
        # Telegram accepts uploads of up to 50 MB; aiohttp's default cap is 1 MiB.
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # No access log: it would cost more than the request itself in throughput benchmarks.
        # A short shutdown timeout: stop() wakes long polls itself, nothing else lingers.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(("127.0.0.1", 0))
            site = web.SockSite(runner, sock)
            await site.start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self._port = int(sock.getsockname()[1])
        self._runner = runner
        self._stopping = asyncio.Event()
        self._closing = False

    async def stop(self) -> None:
        """Stop serving; pending long polls return an empty list at once."""
        if self._runner is None:
            return
        self._closing = True
        if self._stopping is not None:
            self._stopping.set()
        self._wake_poller("closing")
        runner, self._runner = self._runner, None
        await runner.cleanup()

    async def __aenter__(self) -> FakeBotAPI:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
        if exc is None and self.strict:
            self.assert_no_unknown_methods()

    @classmethod
    def run_in_thread(cls, **kwargs: Any) -> FakeBotAPIThread:
        """Start a server, built with ``kwargs``, on its own event loop in a daemon thread."""
        handle = FakeBotAPIThread(cls(**kwargs))
        handle.start()
        return handle

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        if self._port is None:
            raise RuntimeError("FakeBotAPI not started")
        return self._port

    @property
    def base_url(self) -> str:
        """URL to pass as PTB's ``base_url``; PTB appends the token, then ``/method``."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """URL to pass as PTB's ``base_file_url`` (Telegram's is …/file/bot)."""
        return f"http://127.0.0.1:{self.port}/file/bot"

    # ------------------------------------------------------------------ configuration

    def add_method(self, name: str, handler: MethodHandler) -> None:
        """Serve (or override) a Bot API method; ``handler(params)`` returns the ``result``.

        The handler may raise :class:`BotAPIError` to answer an error.
        """
        self._methods[name.lower()] = (name, handler)

    def fail_next(
        self,
        method: str,
        status: int,
        description: str | None = None,
        *,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: ChatId | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (``"*"``: any) with an error.

        With ``chat_id``, only calls to that chat count. The description defaults to
        Telegram's usual one for the status (400 chat not found, 403 blocked, …); a 429
        carries ``parameters.retry_after`` (1 unless given), which PTB turns into RetryAfter.
        """
        if status == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            if status == 429:
                description = f"Too Many Requests: retry after {retry_after}"
            else:
                description = _DEFAULT_DESCRIPTIONS.get(status, f"Error {status}")
        self._faults.append(
            _Fault(
                method=method.lower(),
                status=status,
                description=description,
                retry_after=retry_after,
                remaining=times,
                chat_id=_norm_chat_id(chat_id),
            )
        )

    def fail_every(
        self,
        method: str,
        every: int,
        status: int = 429,
        *,
        for_seconds: float,
        retry_after: int = 1,
    ) -> None:
        """A storm: for ``for_seconds``, every ``every``-th call of ``method`` fails (a 429
        with ``retry_after`` by default), as when Telegram sheds load."""
        description = (
            f"Too Many Requests: retry after {retry_after}"
            if status == 429
            else _DEFAULT_DESCRIPTIONS.get(status, f"Error {status}")
        )
        self._storms.append(
            _Storm(
                method.lower(),
                every,
                status,
                description,
                retry_after,
                time.monotonic() + for_seconds,
            )
        )

    def delay(self, method: str, seconds: float) -> None:
        """Hold every answer to ``method`` for ``seconds`` (0 removes the delay).

        The call takes effect before the wait, as on Telegram: a client that times out has
        still sent its message.
        """
        if seconds > 0:
            self._delays[method.lower()] = seconds
        else:
            self._delays.pop(method.lower(), None)

    # ------------------------------------------------------------------ user activity

    def send_text(
        self,
        user_id: int,
        text: str,
        *,
        first_name: str = "Ana",
        language_code: str | None = "fr",
        chat_id: ChatId | None = None,
        chat_type: str | None = None,
    ) -> int:
        """Queue a text message from a user; a leading ``/command`` gets its entity.

        ``chat_id`` defaults to the user's private chat; ``chat_type`` defaults to one
        inferred from the chat id. Returns the update_id.
        """
        content: JSONDict = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _utf16_len(command)}
            ]
        message = self._incoming_message(
            user_id, first_name, language_code, chat_id, chat_type, content
        )
        return self.enqueue_raw({"message": message})

    def send_location(
        self,
        user_id: int,
        lat: float,
        lon: float,
        *,
        first_name: str = "Ana",
        language_code: str | None = "fr",
        chat_id: ChatId | None = None,
        chat_type: str | None = None,
    ) -> int:
        """Queue a shared location; returns the update_id."""
        content: JSONDict = {"location": {"latitude": lat, "longitude": lon}}
        message = self._incoming_message(
            user_id, first_name, language_code, chat_id, chat_type, content
        )
        return self.enqueue_raw({"message": message})

    def send_contact(
        self,
        user_id: int,
        phone: str,
        *,
        first_name: str = "Ana",
        last_name: str | None = None,
        contact_user_id: int | Literal["sender"] | None = "sender",
        language_code: str | None = "fr",
        chat_id: ChatId | None = None,
        chat_type: str | None = None,
    ) -> int:
        """Queue a shared contact; returns the update_id.

        By default it is the sender's own contact (``contact.user_id`` is the sender, as with a
        "share my phone number" button); pass another id, or None for a non-Telegram contact.
        """
        contact: JSONDict = {"phone_number": phone, "first_name": first_name}
        if last_name is not None:
            contact["last_name"] = last_name
        owner = user_id if contact_user_id == "sender" else contact_user_id
        if owner is not None:
            contact["user_id"] = owner
        message = self._incoming_message(
            user_id, first_name, language_code, chat_id, chat_type, {"contact": contact}
        )
        return self.enqueue_raw({"message": message})

    def forward_text(
        self,
        user_id: int,
        text: str,
        *,
        origin: Literal["channel", "user", "hidden_user"] = "channel",
        origin_name: str = "Canal Relais",
        origin_id: int | None = None,
        first_name: str = "Ana",
        language_code: str | None = "fr",
        chat_id: ChatId | None = None,
        chat_type: str | None = None,
    ) -> int:
        """Queue a text the user forwarded from a channel or another user; returns update_id."""
        date = int(time.time()) - 60
        forward_origin: JSONDict
        if origin == "channel":
            forward_origin = {
                "type": "channel",
                "chat": {
                    "id": origin_id if origin_id is not None else -1001000000001,
                    "type": "channel",
                    "title": origin_name,
                },
                "message_id": 42,
                "date": date,
            }
        elif origin == "user":
            forward_origin = {
                "type": "user",
                "sender_user": {
                    "id": origin_id if origin_id is not None else 999001,
                    "is_bot": False,
                    "first_name": origin_name,
                },
                "date": date,
            }
        else:
            forward_origin = {"type": "hidden_user", "sender_user_name": origin_name, "date": date}
        content: JSONDict = {"text": text, "forward_origin": forward_origin}
        message = self._incoming_message(
            user_id, first_name, language_code, chat_id, chat_type, content
        )
        return self.enqueue_raw({"message": message})

    def send_photo(
        self,
        user_id: int,
        *,
        caption: str | None = None,
        content: bytes = b"\x89PNG fake screenshot",
        width: int = 1080,
        height: int = 1920,
        first_name: str = "Ana",
        language_code: str | None = "fr",
        chat_id: ChatId | None = None,
        chat_type: str | None = None,
    ) -> int:
        """Queue a photo in three sizes, smallest first like Telegram; the largest (the last
        file in :attr:`user_files`) holds ``content``."""
        sizes = []
        for scale in (8, 3, 1):
            file_id, unique = self._register_user_file(f"photos/file_{self._file_seq}.jpg", content)
            sizes.append(
                {
                    "file_id": file_id,
                    "file_unique_id": unique,
                    "width": width // scale,
                    "height": height // scale,
                    "file_size": max(1, len(content) // (scale * scale)),
                }
            )
        body: JSONDict = {"photo": sizes}
        if caption is not None:
            body["caption"] = caption
        message = self._incoming_message(
            user_id, first_name, language_code, chat_id, chat_type, body
        )
        return self.enqueue_raw({"message": message})

    def send_document(
        self,
        user_id: int,
        filename: str,
        content: bytes,
        *,
        mime_type: str = "text/csv",
        caption: str | None = None,
        first_name: str = "Ana",
        language_code: str | None = "fr",
        chat_id: ChatId | None = None,
        chat_type: str | None = None,
    ) -> int:
        """Queue a document; getFile and the file download then return ``content``."""
        file_id, unique = self._register_user_file(f"documents/file_{self._file_seq}", content)
        body: JSONDict = {
            "document": {
                "file_id": file_id,
                "file_unique_id": unique,
                "file_name": filename,
                "mime_type": mime_type,
                "file_size": len(content),
            }
        }
        if caption is not None:
            body["caption"] = caption
        message = self._incoming_message(
            user_id, first_name, language_code, chat_id, chat_type, body
        )
        return self.enqueue_raw({"message": message})

    def _register_user_file(self, path: str, content: bytes) -> tuple[str, str]:
        file_id, unique = self._new_file_ids()
        self.user_files[file_id] = (path, content)
        return file_id, unique

    def tap(
        self,
        user_id: int,
        data: str,
        *,
        message_id: int,
        language_code: str | None = "fr",
        chat_id: ChatId | None = None,
        first_name: str = "Ana",
    ) -> str:
        """Queue a tap on an inline button of message ``message_id``; returns the query id.

        The update carries the message as last sent or edited by the bot when known.
        """
        cid = user_id if chat_id is None else _norm_chat_id(chat_id)
        assert cid is not None
        stored = self._messages.get((cid, message_id))
        if stored is not None:
            message = dict(stored)
        else:
            message = {
                "message_id": message_id,
                "from": dict(BOT_USER),
                "chat": self._chat_object(cid),
                "date": int(time.time()),
            }
        self._next_callback += 1
        query_id = str(4_000_000_000_000_000 + self._next_callback)
        self._issued_callbacks.add(query_id)
        self.enqueue_raw(
            {
                "callback_query": {
                    "id": query_id,
                    "from": self._user(user_id, first_name, language_code),
                    "message": message,
                    "chat_instance": str(cid),
                    "data": data,
                }
            }
        )
        return query_id

    def enqueue_raw(self, update: JSONDict) -> int:
        """Queue any update dict; an ``update_id`` is assigned unless present. Returns it.

        An update given the id of one already queued is delivered twice. Like Telegram, the
        queue drops every update below the offset of the latest getUpdates, so a copy of an
        already confirmed update is never delivered.
        """
        if "update_id" in update:
            update_id = int(update["update_id"])
        else:
            update_id = self._next_update_id
            update = {"update_id": update_id, **update}
        self._next_update_id = max(self._next_update_id, update_id + 1)
        query = update.get("callback_query")
        if isinstance(query, dict) and "id" in query:
            self._issued_callbacks.add(str(query["id"]))
        if self._pending and update_id < self._pending[-1]["update_id"]:
            # Rare: keep the queue ordered so that confirming stays a left trim.
            self._pending = deque(
                sorted([*self._pending, update], key=lambda u: int(u["update_id"]))
            )
        else:
            self._pending.append(update)
        self._wake_poller("update")
        return update_id

    def number_afresh(self, first_id: int) -> None:
        """Number the next updates from ``first_id``, lower than before, as Telegram does
        (from a random id) after a week without updates. Nothing may be pending. As there,
        an offset of the old numbering confirms none of the new updates."""
        assert not self._pending, "Telegram numbers afresh only after a week without updates"
        assert first_id < self._next_update_id
        self._old_numbering_from = self._next_update_id
        self._next_update_id = first_id

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates queued and not yet confirmed by the bot."""
        return list(self._pending)

    # ------------------------------------------------------------------ inspection

    def messages_to(self, chat_id: ChatId) -> list[SentCall]:
        """Successful sendMessage/sendPhoto/sendDocument/editMessageText calls to a chat."""
        cid = _norm_chat_id(chat_id)
        return [c for c in self.sent if c.ok and c.method in _MESSAGE_METHODS and c.chat_id == cid]

    def last_message(self, chat_id: ChatId) -> JSONDict | None:
        """Current state (edits applied) of the newest message the bot sent to a chat."""
        cid = _norm_chat_id(chat_id)
        assert cid is not None
        message_id = self._last_bot_message.get(cid)
        if message_id is None:
            return None
        return self._messages.get((cid, message_id))

    def last_keyboard(self, chat_id: ChatId) -> list[list[tuple[str, str | None]]]:
        """Inline keyboard of the newest bot message to a chat, as rows of (text, data or url).

        Reflects later edits; ``[]`` when that message has no inline keyboard. Raises
        AssertionError when the bot sent nothing to the chat.
        """
        message = self.last_message(chat_id)
        if message is None:
            raise AssertionError(f"no message sent to chat {chat_id}\n{self.dump_calls()}")
        markup = message.get("reply_markup") or {}
        return [
            [(str(button.get("text", "")), _button_target(button)) for button in row]
            for row in markup.get("inline_keyboard", [])
        ]

    def commands_for(
        self, scope: JSONDict | None = None, language_code: str = ""
    ) -> list[JSONDict]:
        """The command list set for a scope (default scope if None) and language."""
        return self.commands.get((_scope_key(scope), language_code), [])

    # The timeout parameter is the test-facing API; asyncio.timeout would not let the failure
    # message list the calls seen.
    async def wait_for(
        self,
        predicate: Callable[[SentCall], bool],
        timeout: float = 5.0,
        *,
        since: int = 0,
    ) -> SentCall:
        """Return the first recorded call from index ``since`` on that matches, waiting for it.

        Pass ``since=len(api.sent)`` to ignore what happened before. Raises AssertionError
        listing the recent calls if none matches within ``timeout`` seconds.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        seen = since
        while True:
            while seen < len(self.sent):
                call = self.sent[seen]
                seen += 1
                if predicate(call):
                    return call
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"no matching Bot API call within {timeout}s\n{self.dump_calls()}"
                )
            waiter: asyncio.Future[None] = loop.create_future()
            self._call_waiters.append(waiter)
            try:
                await asyncio.wait({waiter}, timeout=remaining)
            finally:
                with contextlib.suppress(ValueError):
                    self._call_waiters.remove(waiter)

    async def wait_for_requests(self, method: str, count: int, timeout: float = 60.0) -> None:
        """Wait until `method` has been asked for `count` times in all (e.g. a started bot's
        first getUpdates: a process starting on a loaded machine can take a while)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.stats.requests[method] < count:
            if loop.time() > deadline:
                raise AssertionError(f"{method} asked {self.stats.requests[method]} times")
            await asyncio.sleep(0.02)

    async def wait_for_poller(self, timeout: float = 10.0) -> None:
        """Wait until a long poll (getUpdates with a timeout) is held open by the server."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._poll_waiter is None:
            if loop.time() > deadline:
                raise AssertionError(f"no long poll held open within {timeout}s")
            await asyncio.sleep(0.01)

    async def wait_for_text(
        self,
        chat_id: ChatId,
        substring: str,
        timeout: float = 5.0,
        *,
        since: int = 0,
    ) -> SentCall:
        """Wait for a successful message or edit to ``chat_id`` whose text contains substring."""
        cid = _norm_chat_id(chat_id)

        def matches(call: SentCall) -> bool:
            return (
                call.ok
                and call.method in _MESSAGE_METHODS
                and call.chat_id == cid
                and call.text is not None
                and substring in call.text
            )

        return await self.wait_for(matches, timeout, since=since)

    def dump_calls(self, last: int = 20) -> str:
        """The last recorded calls, one a line, for failure messages."""
        calls = self.sent[-last:]
        if not calls:
            return "  (no Bot API calls recorded)"
        lines = [f"  {call}" for call in calls]
        if len(self.sent) > last:
            lines.insert(0, f"  … {len(self.sent) - last} earlier calls")
        return "\n".join(lines)

    def assert_no_unknown_methods(self) -> None:
        """Fail if the bot called a method this fake does not implement."""
        if self.unknown_methods:
            names = ", ".join(sorted(set(self.unknown_methods)))
            raise AssertionError(f"bot called Bot API methods FakeBotAPI lacks: {names}")

    # ------------------------------------------------------------------ HTTP plumbing

    async def _handle(self, request: web.Request) -> web.Response:
        received = self.clock()
        file_match = _FILE_PATH_RE.match(request.path)
        if file_match is not None and request.method == "GET":
            return self._serve_file(request, file_match)
        match = _PATH_RE.match(request.path)
        if match is None:
            return self._respond(BotAPIError(404, "Not Found").body(), 404)
        token, raw_method = match.groups()
        self.tokens.add(token)
        lname = raw_method.lower()
        entry = self._methods.get(lname)
        method = entry[0] if entry is not None else raw_method
        self.stats.requests[method] += 1

        params: JSONDict = {}
        status, result, error = 200, None, None
        try:
            params = await self._read_params(request)
            chat_id = _norm_chat_id(params.get("chat_id"))
            if entry is None:
                self.unknown_methods.append(raw_method)
                raise BotAPIError(
                    404, f"Not Found: method {raw_method!r} is not implemented by FakeBotAPI"
                )
            self._apply_faults(lname, chat_id)
            if chat_id is not None and chat_id in self.blocked_chats:
                raise BotAPIError(
                    403,
                    "Forbidden: bot was kicked from the group chat"
                    if isinstance(chat_id, int) and chat_id < 0
                    else "Forbidden: bot was blocked by the user",
                )
            if self._rate_limiting and lname in _RATE_LIMITED:
                self._check_rate(chat_id, params.get("allow_paid_broadcast") is True, received)
            if lname == "getupdates":
                result = await self._get_updates(params)
            else:
                result = entry[1](params)
        except BotAPIError as exc:
            status, error = exc.status, exc.description
            body = exc.body()
            self.stats.errors[status] += 1
            if status == 429:
                self.stats.too_many_requests += 1
        else:
            body = {"ok": True, "result": result}

        if lname != "getupdates":
            self._record(method, token, params, received, status, result, error)
        pause = self._delays.get(lname)
        if pause and self._stopping is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), pause)
        return self._respond(body, status)

    @staticmethod
    def _respond(body: JSONDict, status: int) -> web.Response:
        return web.Response(
            body=json.dumps(body).encode(), status=status, content_type="application/json"
        )

    async def _read_params(self, request: web.Request) -> JSONDict:
        params: JSONDict = {key: _decode_value(key, value) for key, value in request.query.items()}
        if not request.body_exists:
            return params
        content_type = request.content_type
        if content_type == "application/json":
            try:
                body = await request.json()
            except ValueError as exc:
                raise BotAPIError(400, "Bad Request: can't parse JSON") from exc
            if not isinstance(body, dict):
                raise BotAPIError(400, "Bad Request: request body must be a JSON object")
            for key, value in body.items():
                params[key] = _decode_value(key, value) if isinstance(value, str) else value
        elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    params[key] = UploadedFile(
                        field=key,
                        filename=value.filename,
                        content_type=value.content_type,
                        data=value.file.read(),
                    )
                elif isinstance(value, str):
                    params[key] = _decode_value(key, value)
                else:
                    params[key] = _decode_value(key, bytes(value).decode())
        return params

    def _apply_faults(self, lname: str, chat_id: ChatId | None) -> None:
        now = time.monotonic()
        for storm in self._storms:
            if storm.method in (lname, "*") and now < storm.until:
                storm.seen += 1
                if storm.seen % storm.every == 0:
                    retry = storm.retry_after if storm.status == 429 else None
                    raise BotAPIError(storm.status, storm.description, retry_after=retry)
        for fault in self._faults:
            if fault.method not in (lname, "*"):
                continue
            if fault.chat_id is not None and fault.chat_id != chat_id:
                continue
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._faults.remove(fault)
            raise BotAPIError(fault.status, fault.description, retry_after=fault.retry_after)

    def _check_rate(self, chat_id: ChatId | None, paid: bool, now: float) -> None:
        cutoff = now - 1.0
        window, limit = (
            (self._paid_window, self._limit_paid)
            if paid
            else (self._global_window, self._limit_global)
        )
        if limit is not None:
            while window and window[0] <= cutoff:
                window.popleft()
            if len(window) >= limit:
                self._rate_exceeded()
        chat_window: deque[float] | None = None
        if self._limit_chat is not None and chat_id is not None:
            chat_window = self._chat_windows.setdefault(chat_id, deque())
            while chat_window and chat_window[0] <= cutoff:
                chat_window.popleft()
            if len(chat_window) >= self._limit_chat:
                self._rate_exceeded()
        # Only accepted sends take up room in the windows, so that retries can get through.
        if limit is not None:
            window.append(now)
        if chat_window is not None:
            chat_window.append(now)

    def _rate_exceeded(self) -> None:
        self.stats.rate_limited += 1
        raise BotAPIError(429, "Too Many Requests: retry after 1", retry_after=1)

    def _record(
        self,
        method: str,
        token: str,
        params: JSONDict,
        received: float,
        status: int,
        result: Any,
        error: str | None,
    ) -> None:
        text = params.get("text", params.get("caption"))
        markup = params.get("reply_markup")
        message_id: Any = result.get("message_id") if isinstance(result, dict) else None
        if message_id is None:
            message_id = params.get("message_id")
        self.sent.append(
            SentCall(
                method=method,
                params=params,
                chat_id=_norm_chat_id(params.get("chat_id")),
                text=text if isinstance(text, str) else None,
                reply_markup=markup if isinstance(markup, dict) else None,
                timestamp=received,
                message_id=message_id if isinstance(message_id, int) else None,
                token=token,
                status=status,
                result=result,
                error=error,
            )
        )
        if self.on_call is not None:
            self.on_call(self.sent[-1])
        if self._call_waiters:
            for waiter in self._call_waiters:
                if not waiter.done():
                    waiter.set_result(None)
            self._call_waiters.clear()

    # ------------------------------------------------------------------ updates

    def _wake_poller(self, reason: str) -> None:
        waiter = self._poll_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(reason)

    def _is_allowed(self, update: JSONDict) -> bool:
        kind = _update_kind(update)
        if self._allowed_updates is None:
            return kind not in _OPT_IN_UPDATES
        return kind in self._allowed_updates

    def _take(self, limit: int) -> list[JSONDict]:
        taken: list[JSONDict] = []
        dropped = False
        for update in self._pending:
            if not self._is_allowed(update):
                dropped = True
            elif len(taken) < limit:
                taken.append(update)
            else:
                break
        if dropped:
            # Telegram never delivers updates of types the bot did not ask for.
            self._pending = deque(u for u in self._pending if self._is_allowed(u))
        return taken

    async def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        if self.webhook_url:
            raise BotAPIError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            # As on Telegram the setting sticks; an empty list restores the default set.
            self._allowed_updates = frozenset(map(str, allowed)) if allowed else None
        if self._old_numbering_from is not None and offset >= self._old_numbering_from:
            offset = 0  # confirms nothing of the new numbering
        if offset > 0:
            while self._pending and self._pending[0]["update_id"] < offset:
                self._pending.popleft()
        elif offset < 0:
            keep = list(self._pending)[offset:]
            self._pending = deque(keep)
        # As on Telegram, a new poll ends the one in progress with 409 Conflict: this is how
        # two bot instances polling at once show up.
        self._wake_poller("conflict")
        updates = self._take(limit)
        if updates or timeout == 0 or self._closing:
            return updates
        waiter: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._poll_waiter = waiter
        try:
            await asyncio.wait({waiter}, timeout=timeout)
        finally:
            if self._poll_waiter is waiter:
                self._poll_waiter = None
        if waiter.done() and waiter.result() == "conflict":
            raise BotAPIError(
                409,
                "Conflict: terminated by other getUpdates request; "
                "make sure that only one bot instance is running",
            )
        return self._take(limit)

    def _delete_webhook(self, params: JSONDict) -> bool:
        self.webhook_url = None
        if params.get("drop_pending_updates") is True:
            self._pending.clear()
        return True

    def _set_webhook(self, params: JSONDict) -> bool:
        url = params.get("url")
        if not isinstance(url, str):
            raise BotAPIError(400, "Bad Request: bad webhook: URL must be provided")
        self.webhook_url = url or None
        if params.get("drop_pending_updates") is True:
            self._pending.clear()
        if self.webhook_url:
            self._wake_poller("conflict")
        return True

    def _get_webhook_info(self, _params: JSONDict) -> JSONDict:
        return {
            "url": self.webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }

    # ------------------------------------------------------------------ messages

    def _chat_object(self, chat_id: ChatId) -> JSONDict:
        known = self._chats.get(chat_id)
        if known is not None:
            return dict(known)
        if isinstance(chat_id, int) and chat_id > 0:
            return {"id": chat_id, "type": "private"}
        chat_type = "supergroup" if str(chat_id).startswith(("-100", "@")) else "group"
        return {"id": chat_id, "type": chat_type, "title": "Groupe test"}

    def _next_message_id(self, chat_id: ChatId) -> int:
        message_id = self._last_message_id.get(chat_id, 0) + 1
        self._last_message_id[chat_id] = message_id
        return message_id

    @staticmethod
    def _user(user_id: int, first_name: str, language_code: str | None) -> JSONDict:
        user: JSONDict = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code:
            user["language_code"] = language_code
        return user

    def _incoming_message(
        self,
        user_id: int,
        first_name: str,
        language_code: str | None,
        chat_id: ChatId | None,
        chat_type: str | None,
        content: JSONDict,
    ) -> JSONDict:
        cid = user_id if chat_id is None else _norm_chat_id(chat_id)
        assert cid is not None
        chat = self._chat_object(cid)
        if chat_type is not None:
            chat["type"] = chat_type
        if chat["type"] == "private":
            chat.pop("title", None)
            chat["first_name"] = first_name
        else:
            chat.setdefault("title", "Groupe test")
        self._chats[cid] = chat
        message: JSONDict = {
            "message_id": self._next_message_id(cid),
            "from": self._user(user_id, first_name, language_code),
            "chat": dict(chat),
            "date": int(time.time()),
            **content,
        }
        self._messages[(cid, message["message_id"])] = message
        return message

    def _require_chat(self, params: JSONDict) -> ChatId:
        chat_id = _norm_chat_id(params.get("chat_id"))
        if chat_id is None or chat_id == "":
            raise BotAPIError(400, "Bad Request: chat_id is empty")
        return chat_id

    def _new_bot_message(self, chat_id: ChatId, params: JSONDict, content: JSONDict) -> JSONDict:
        message: JSONDict = {
            "message_id": self._next_message_id(chat_id),
            "from": dict(BOT_USER),
            "chat": self._chat_object(chat_id),
            "date": int(time.time()),
            **content,
        }
        markup = _inline_markup(params.get("reply_markup"))
        if markup is not None:
            message["reply_markup"] = markup
        self._messages[(chat_id, message["message_id"])] = message
        self._last_bot_message[chat_id] = message["message_id"]
        # A copy, so that the SentCall's result keeps what was sent even after edits.
        return dict(message)

    def _send_message(self, params: JSONDict) -> JSONDict:
        chat_id = self._require_chat(params)
        text = params.get("text")
        if not isinstance(text, str):
            raise BotAPIError(400, "Bad Request: message text is empty")
        _check_text(text, params.get("parse_mode"), caption=False)
        content: JSONDict = {"text": text}
        if isinstance(params.get("entities"), list):
            content["entities"] = params["entities"]
        return self._new_bot_message(chat_id, params, content)

    def _caption(self, params: JSONDict) -> JSONDict:
        caption = params.get("caption")
        if not isinstance(caption, str) or not caption:
            return {}
        _check_text(caption, params.get("parse_mode"), caption=True)
        return {"caption": caption}

    def _new_file_ids(self) -> tuple[str, str]:
        self._file_seq += 1
        return f"BQACAgQAAxkfake{self._file_seq:06d}", f"AQADfake{self._file_seq:06d}"

    def _get_file(self, params: JSONDict) -> JSONDict:
        file_id = params.get("file_id")
        if not isinstance(file_id, str) or file_id not in self.user_files:
            raise BotAPIError(400, "Bad Request: invalid file_id")
        path, content = self.user_files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": "AQAD" + file_id[-10:],
            "file_size": len(content),
            "file_path": path,
        }

    def _serve_file(self, request: web.Request, match: re.Match[str]) -> web.Response:
        token, path = match.groups()
        self.tokens.add(token)
        for stored_path, content in self.user_files.values():
            if stored_path == path:
                self.downloads.append(path)
                return web.Response(body=content, content_type="application/octet-stream")
        return self._respond(BotAPIError(404, "Not Found: file not found").body(), 404)

    def _send_photo(self, params: JSONDict) -> JSONDict:
        chat_id = self._require_chat(params)
        photo = params.get("photo")
        if not isinstance(photo, UploadedFile | str) or not photo:
            raise BotAPIError(400, "Bad Request: there is no photo in the request")
        size = photo.size if isinstance(photo, UploadedFile) else 50_000
        sizes = []
        for index, (width, height) in enumerate(((90, 67), (320, 240), (800, 600))):
            file_id, unique_id = self._new_file_ids()
            sizes.append(
                {
                    "file_id": file_id,
                    "file_unique_id": unique_id,
                    "width": width,
                    "height": height,
                    # Only the largest size is the upload; smaller ones are thumbnails.
                    "file_size": size if index == 2 else max(size // (8 - 3 * index), 1),
                }
            )
        content: JSONDict = {"photo": sizes, **self._caption(params)}
        return self._new_bot_message(chat_id, params, content)

    def _send_document(self, params: JSONDict) -> JSONDict:
        chat_id = self._require_chat(params)
        document = params.get("document")
        if not isinstance(document, UploadedFile | str) or not document:
            raise BotAPIError(400, "Bad Request: there is no document in the request")
        file_id, unique_id = self._new_file_ids()
        info: JSONDict = {"file_id": file_id, "file_unique_id": unique_id}
        if isinstance(document, UploadedFile):
            info["file_name"] = document.filename or "document"
            info["mime_type"] = document.content_type or "application/octet-stream"
            info["file_size"] = document.size
        content: JSONDict = {"document": info, **self._caption(params)}
        return self._new_bot_message(chat_id, params, content)

    def _message_to_edit(self, params: JSONDict) -> tuple[ChatId, int, JSONDict]:
        chat_id = self._require_chat(params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise BotAPIError(400, "Bad Request: message identifier is not specified")
        message = self._messages.get((chat_id, message_id))
        if message is None:
            # Lenient: a message from before the fake started (or a tap on a made-up id).
            message = {
                "message_id": message_id,
                "from": dict(BOT_USER),
                "chat": self._chat_object(chat_id),
                "date": int(time.time()),
            }
            self._messages[(chat_id, message_id)] = message
        elif message.get("from", {}).get("id") != BOT_USER["id"]:
            raise BotAPIError(400, "Bad Request: message can't be edited")
        return chat_id, message_id, message

    def _edit_message_text(self, params: JSONDict) -> JSONDict | bool:
        text = params.get("text")
        if not isinstance(text, str):
            raise BotAPIError(400, "Bad Request: message text is empty")
        _check_text(text, params.get("parse_mode"), caption=False)
        if params.get("inline_message_id"):
            return True
        _chat_id, _message_id, message = self._message_to_edit(params)
        if "text" not in message and ("photo" in message or "document" in message):
            raise BotAPIError(400, "Bad Request: there is no text in the message to edit")
        # Like Telegram, an edit without reply_markup removes the inline keyboard.
        markup = _inline_markup(params.get("reply_markup"))
        if message.get("text") == text and message.get("reply_markup") == markup:
            raise BotAPIError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        message["text"] = text
        self._set_markup(message, markup)
        return dict(message)

    def _edit_message_reply_markup(self, params: JSONDict) -> JSONDict | bool:
        if params.get("inline_message_id"):
            return True
        _chat_id, _message_id, message = self._message_to_edit(params)
        markup = _inline_markup(params.get("reply_markup"))
        if message.get("reply_markup") == markup:
            raise BotAPIError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        self._set_markup(message, markup)
        return dict(message)

    @staticmethod
    def _set_markup(message: JSONDict, markup: JSONDict | None) -> None:
        if markup is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = markup
        message["edit_date"] = int(time.time())

    def _delete_message(self, params: JSONDict) -> bool:
        chat_id = self._require_chat(params)
        message_id = params.get("message_id")
        if isinstance(message_id, int):
            self._messages.pop((chat_id, message_id), None)
        return True

    def _answer_callback_query(self, params: JSONDict) -> bool:
        query_id = params.get("callback_query_id")
        if not isinstance(query_id, str) or query_id not in self._issued_callbacks:
            raise BotAPIError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self.answered_callbacks.append(query_id)
        return True

    def _send_chat_action(self, params: JSONDict) -> bool:
        self._require_chat(params)
        if not isinstance(params.get("action"), str):
            raise BotAPIError(400, "Bad Request: wrong parameter action in request")
        return True

    def _set_my_commands(self, params: JSONDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise BotAPIError(400, "Bad Request: can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND_RE.match(
                str(command.get("command", ""))
            ):
                raise BotAPIError(400, "Bad Request: BOT_COMMAND_INVALID")
            description = command.get("description")
            if not isinstance(description, str) or not 1 <= len(description) <= 256:
                raise BotAPIError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        key = (_scope_key(params.get("scope")), str(params.get("language_code") or ""))
        self.commands[key] = commands
        return True

    def _delete_my_commands(self, params: JSONDict) -> bool:
        key = (_scope_key(params.get("scope")), str(params.get("language_code") or ""))
        self.commands.pop(key, None)
        return True

    def _get_my_commands(self, params: JSONDict) -> list[JSONDict]:
        key = (_scope_key(params.get("scope")), str(params.get("language_code") or ""))
        return self.commands.get(key, [])


class FakeBotAPIThread:
    """A :class:`FakeBotAPI` serving from its own event loop in a daemon thread.

    For synchronous tests. Reading ``handle.api.sent`` and other attributes from the test
    thread is fine; anything that changes state (``send_text``, ``fail_next``, …) must go
    through :meth:`call` so that it runs on the server's loop.
    """

    def __init__(self, api: FakeBotAPI) -> None:
        self.api = api
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="FakeBotAPI", daemon=True)

    def start(self) -> None:
        """Start the thread and wait until the server listens."""
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise RuntimeError("FakeBotAPI failed to start") from self._error

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            try:
                loop.run_until_complete(self.api.start())
            except BaseException as exc:
                self._error = exc
                return
            finally:
                self._ready.set()
            loop.run_forever()
            loop.run_until_complete(self.api.stop())
        finally:
            loop.close()

    @property
    def base_url(self) -> str:
        """See :attr:`FakeBotAPI.base_url`."""
        return self.api.base_url

    def _loop_or_fail(self) -> asyncio.AbstractEventLoop:
        if self._loop is None or not self._thread.is_alive():
            raise RuntimeError("FakeBotAPIThread is not running")
        return self._loop

    def call(self, fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        """Run ``fn(*args, **kwargs)`` on the server's loop and return its result.

        E.g. ``handle.call(handle.api.send_text, 42, "/start")``.
        """

        loop = self._loop_or_fail()

        async def run() -> _T:
            return fn(*args, **kwargs)

        return asyncio.run_coroutine_threadsafe(run(), loop).result(timeout=10)

    def wait_for(
        self, predicate: Callable[[SentCall], bool], timeout: float = 5.0, *, since: int = 0
    ) -> SentCall:
        """Blocking :meth:`FakeBotAPI.wait_for`."""
        future = asyncio.run_coroutine_threadsafe(
            self.api.wait_for(predicate, timeout, since=since), self._loop_or_fail()
        )
        return future.result(timeout=timeout + 10)

    def wait_for_text(
        self, chat_id: ChatId, substring: str, timeout: float = 5.0, *, since: int = 0
    ) -> SentCall:
        """Blocking :meth:`FakeBotAPI.wait_for_text`."""
        future = asyncio.run_coroutine_threadsafe(
            self.api.wait_for_text(chat_id, substring, timeout, since=since),
            self._loop_or_fail(),
        )
        return future.result(timeout=timeout + 10)

    def stop(self) -> None:
        """Stop the server and join the thread; idempotent."""
        loop = self._loop
        if loop is not None and self._thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def __enter__(self) -> FakeBotAPIThread:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        if exc is None and self.api.strict:
            self.api.assert_no_unknown_methods()
