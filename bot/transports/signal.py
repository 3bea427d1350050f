"""Signal, through signal-cli's JSON-RPC daemon: envelopes in as Inbound, Outbound rendered out.

Signal has no buttons, so choices go out as numbered lists, lettered per message ("B2."),
and the reply "2" (the newest message), "B2", the choice's own word, or any number typed
while quoting the message comes back as that choice's payload (bot/transports/numbered.py).
What each chat has on screen is kept in memory and in the database (`numbered_choices`),
so a restart between the question and the answer changes nothing. Commands work with or
without the slash in private chats ("help" is /help, "lier abcd" is /link abcd; a sentence
starting with a command's name, "Stop à la réforme !", is text); in groups only "/help"
counts, so that conversation among members does not wake the bot. Requests for a location
or a phone number become text: "48.85, 2.35", a map link or a typed number are read as the
answer. Bold, italic and code become Signal text styles; files go as attachments; a
message the system keeps up to date (`edit_message_id`) is edited in place while Signal
apps still accept edits.

Signal's rate limits are unpublished and strict. When it asks us to wait (rate limit,
CAPTCHA) or signal-cli is down, every send pauses: system messages stay in the outbox
and a reply to a person is queued there too, so nothing is lost.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import html
import logging
import mimetypes
import random
import re
import unicodedata
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.clock import Clock, SystemClock
from bot.messaging import Attachment, Inbound, InboundFile, Outbound
from bot.places import typed_position
from bot.text import clean, clean_name, split_text, to_plain
from bot.transports import (
    PermanentFailure,
    RateLimited,
    TransientFailure,
    UncertainDelivery,
    Unreachable,
    answers_awaited,
)
from bot.transports.numbered import Board, BoardStore, acted_on, read, render_numbered
from bot.transports.signal_client import (
    METHOD_NOT_FOUND,
    RpcError,
    SignalCliDown,
    SignalClient,
    SignalCliError,
    SignalCliHttpError,
    SignalCliNoAnswer,
)

log = logging.getLogger(__name__)

CHANNEL = "signal"
GROUP_PREFIX = "group:"
# Signal clients turn longer texts into attachments; stay below that.
MAX_TEXT = 2000
# signal-cli's JSON-RPC error codes (man signal-cli-jsonrpc).
USER_ERROR, IO_ERROR, UNTRUSTED_IDENTITY, RATE_LIMIT, CAPTCHA = -1, -3, -4, -5, -6
# When Signal asks to wait without saying how long, or signal-cli is down.
DEFAULT_RETRY = 60.0
DOWN_RETRY = 15.0
# A CAPTCHA needs a person: try again every so often until someone has solved it.
CAPTCHA_RETRY = 300.0
CAPTCHA_URL = "https://signalcaptchas.org/challenge/generate.html"
# Signal apps apply edits only to messages under a day old; later ones become new messages.
EDIT_WINDOW_MS = 23 * 3600 * 1000

Dispatch = Callable[[Inbound], Awaitable[list[Outbound]]]
_MAP_LINK_RE = re.compile(
    r"https?://\S*?[?&](?:q|ll|query)=(?:loc:)?(-?\d{1,2}\.\d+)(?:,|%2C)\s*(-?\d{1,3}\.\d+)",
    re.IGNORECASE,
)
_PHONE_RE = re.compile(r"^\+?[\d\s.()-]{6,20}$")
# What may follow a command word typed alone ("Stop !", "aide ?").
_TRAILING = " \t\n!?.…"


@dataclass(frozen=True, slots=True)
class Captcha:
    """Signal wants proof that a person runs this account before it sends more."""

    token: str
    retry_after: float


# -- incoming ---------------------------------------------------------------------------


def to_inbound(
    envelope: dict[str, Any],
    *,
    account: str = "",
    commands: Iterable[str] = (),
    shown: Board | None = None,
) -> Inbound | None:
    """The neutral form of a signal-cli envelope, or None for what Relais ignores
    (receipts, typing, our own messages synced from other devices, empty messages)."""
    data = envelope.get("dataMessage")
    if not isinstance(data, dict):
        return None
    user_id = str(envelope.get("sourceUuid") or envelope.get("sourceNumber") or "")
    number = str(envelope.get("sourceNumber") or "")
    if not user_id or (account and number == account):
        return None
    group = data.get("groupInfo") or data.get("groupV2") or {}
    group_id = str(group.get("groupId") or "") if isinstance(group, dict) else ""
    private = not group_id
    name = clean_name(str(envelope.get("sourceName") or ""))
    base: dict[str, Any] = {
        "channel": CHANNEL,
        "user_id": user_id,
        "chat_id": user_id if private else GROUP_PREFIX + group_id,
        "private": private,
        "first_name": name.split(" ", 1)[0] if name else "",
        # No `message_id`: an answer edits none of a person's messages (a list's answer
        # uses the list up instead: `Outbound.retires`).
        "update_key": f"{envelope.get('timestamp') or data.get('timestamp')}:{user_id}",
    }
    text = str(data.get("message") or "").strip()
    shown = shown or Board()
    contact = _shared_phone(data)
    if contact and shown.request == "contact":
        # Only a person's own number counts as theirs (as on Telegram).
        if number and _digits(contact) == _digits(number):
            return Inbound(**base, contact_phone=contact)
        return Inbound(**base, text=contact)
    file = _attachment(data)
    if file is not None and private:
        return Inbound(**base, text=text, file=file)
    if not text:
        return None
    if text.startswith("/"):
        return Inbound(**base, text=text)
    if not private:
        return None  # members talking among themselves; only "/command" is for Relais
    reading = read(text, shown, _quoted(data))
    if reading.choice and reading.offer is not None:
        # Several lists on screen: the answer will say which one it was taken for.
        note = acted_on(reading.offer, reading.choice) if len(shown.offers) > 1 else ""
        return Inbound(**base, choice=reading.choice, offer=reading.offer.tag, acted_on=note)
    if command := _as_command(text, commands):
        return Inbound(**base, text=command, worded=True)
    if shown.request == "location" and (match := _MAP_LINK_RE.search(text)):
        # A map link is a position only where one is asked; elsewhere it is text (a
        # broadcast giving the meeting point, an alert comment).
        return Inbound(**base, location=(float(match[1]), float(match[2])))
    if shown.request == "location" and (position := typed_position(text)):
        return Inbound(**base, location=position)
    if shown.request == "contact" and _PHONE_RE.match(text) and len(_digits(text)) >= 6:
        return Inbound(**base, contact_phone=text)
    return Inbound(**base, text=text, stale_choice=reading.stale)


def _quoted(data: dict[str, Any]) -> str:
    """The timestamp of the message a person quoted (replied to), which is its id."""
    quote = data.get("quote")
    return str(quote.get("id") or "") if isinstance(quote, dict) else ""


def _attachment(data: dict[str, Any]) -> InboundFile | None:
    """The first file of a message: images count as photos (screenshots), the rest as
    documents. signal-cli keeps the bytes; `getAttachment` with its id fetches them."""
    for item in data.get("attachments") or ():
        if not isinstance(item, dict) or not item.get("id"):
            continue
        mime = str(item.get("contentType") or "")
        size = item.get("size")
        return InboundFile(
            "photo" if mime.startswith("image/") else "document",
            str(item["id"]),
            name=clean(str(item.get("filename") or "")),
            size=size if isinstance(size, int) else 0,
            mime=mime,
        )
    return None


def _as_command(text: str, commands: Iterable[str]) -> str:
    """A private message starting with a command word, given its slash ("aide" and "Aide !"
    are "/aide", "lier abcd" is "/lier abcd"), or "". The router keeps it a command only
    alone, or with the words a command takes outside a flow."""
    parts = text.split(maxsplit=1)
    word, rest = (parts[0], parts[1] if len(parts) > 1 else "") if parts else ("", "")
    if not rest.strip(_TRAILING):
        word, rest = word.rstrip(_TRAILING), ""  # "Stop !" is the word alone
    plain = "".join(
        c for c in unicodedata.normalize("NFKD", word.casefold()) if not unicodedata.combining(c)
    )
    if not plain or plain not in set(commands):
        return ""
    return "/" + text if rest else "/" + word


def _shared_phone(data: dict[str, Any]) -> str:
    for contact in data.get("contacts") or ():
        for phone in (contact or {}).get("phone") or ():
            value = str((phone or {}).get("value") or "").strip()
            if value:
                return value
    return ""


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


# -- outgoing ---------------------------------------------------------------------------


def render(outbound: Outbound, tag: str = "", *, aside: bool = False) -> list[str]:
    """The texts to send (long ones cut at line breaks), the choices numbered after `tag`
    (`aside`: answered by letter, a question waiting above)."""
    text, _payloads = render_numbered(outbound, tag, aside=aside)
    return split_text(text, MAX_TEXT)


def _has_choices(outbound: Outbound) -> bool:
    return any(not c.url for row in outbound.choices for c in row)


def _retired(board: Board, outbound: Outbound) -> Board:
    """The board once `outbound` is shown in place of the list it answers, if any."""
    return board.without(outbound.retires) if outbound.retires else board


_STYLES = {
    "b": "BOLD",
    "strong": "BOLD",
    "i": "ITALIC",
    "em": "ITALIC",
    "s": "STRIKETHROUGH",
    "strike": "STRIKETHROUGH",
    "del": "STRIKETHROUGH",
    "code": "MONOSPACE",
    "pre": "MONOSPACE",
    "tg-spoiler": "SPOILER",
}
_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z-]*)([^>]*)>")
_HREF_RE = re.compile(r'href="([^"]*)"')


def text_styles(markup: str) -> tuple[str, list[str]]:
    """Relais markup as Signal shows it: the plain text (as `to_plain` gives it) and
    signal-cli text styles "start:length:BOLD", counted in UTF-16 code units."""
    parts: list[str] = []
    length = 0
    opened: dict[str, list[int]] = {}
    links: list[str] = []
    styles: list[str] = []

    def add(text: str) -> None:
        nonlocal length
        parts.append(text)
        length += len(text.encode("utf-16-le")) // 2

    position = 0
    for match in _TAG_RE.finditer(markup):
        add(html.unescape(markup[position : match.start()]))
        position = match.end()
        closing, tag = bool(match[1]), match[2].lower()
        if tag == "a":
            if not closing:
                found = _HREF_RE.search(match[3])
                links.append(html.unescape(found[1]) if found else "")
            elif links and (url := links.pop()):
                add(f" ({url})")
        elif tag in _STYLES:
            if not closing:
                opened.setdefault(tag, []).append(length)
            elif opened.get(tag):
                start = opened[tag].pop()
                if length > start:
                    styles.append(f"{start}:{length - start}:{_STYLES[tag]}")
    add(html.unescape(markup[position:]))
    plain = "".join(parts)
    # Markup this reading does not follow exactly is sent plain rather than mis-styled.
    return (plain, styles) if plain == to_plain(markup) else (to_plain(markup), [])


def data_uri(attachment: Attachment) -> str:
    """An attachment as signal-cli takes it: data:<mime>;filename=<name>;base64,<data>."""
    mime = mimetypes.guess_type(attachment.filename)[0] or (
        "image/png" if attachment.kind == "photo" else "application/octet-stream"
    )
    name = re.sub(r"[;,\s]", "_", attachment.filename) or "file"
    return f"data:{mime};filename={name};base64,{base64.b64encode(attachment.content).decode()}"


def check_results(result: dict[str, Any]) -> None:
    """Raise the delivery error that signal-cli's per-recipient results call for."""
    results = [r for r in result.get("results") or () if isinstance(r, dict)]
    if not results or any(r.get("type") == "SUCCESS" for r in results):
        return  # a group message counts as sent when it reached anyone
    _raise_for(results[0], "")


def _raise_for(first: dict[str, Any], message: str) -> None:
    kind = str(first.get("type") or "")
    retry = _retry_after(first)
    if first.get("token"):
        raise _CaptchaRequired(Captcha(str(first["token"]), retry or CAPTCHA_RETRY))
    if kind == "RATE_LIMIT_FAILURE":
        raise RateLimited(retry or DEFAULT_RETRY, "Signal rate limit")
    if kind == "UNREGISTERED_FAILURE":
        raise Unreachable("not on Signal (unregistered)")
    if kind in ("NETWORK_FAILURE", "INVALID_PRE_KEY_FAILURE"):
        raise TransientFailure(f"Signal {kind.lower()}")
    if kind == "IDENTITY_FAILURE":
        raise PermanentFailure("the recipient's safety number changed; trust it with signal-cli")
    raise PermanentFailure(message or f"Signal send failed: {kind or 'unknown'}")


def _retry_after(result: dict[str, Any]) -> float:
    try:
        return max(0.0, float(result.get("retryAfterSeconds") or 0))
    except (TypeError, ValueError):
        return 0.0


class _CaptchaRequired(Exception):
    def __init__(self, captcha: Captcha) -> None:
        super().__init__("Signal asks for a CAPTCHA")
        self.captcha = captcha


def _from_rpc_error(exc: RpcError) -> None:
    """Raise the delivery error for a JSON-RPC error answer to `send`."""
    results = exc.results
    first = next((r for r in results if r.get("type") != "SUCCESS"), {})
    if exc.code == CAPTCHA or first.get("token"):
        token = str(first.get("token") or _token_in(exc.message))
        raise _CaptchaRequired(Captcha(token, _retry_after(first) or CAPTCHA_RETRY))
    if exc.code == RATE_LIMIT:
        retry = max((_retry_after(r) for r in results), default=0.0)
        raise RateLimited(retry or DEFAULT_RETRY, exc.message or "Signal rate limit")
    if first:
        _raise_for(first, exc.message)
    if exc.unknown_account:
        # The bot's own account is missing from signal-cli, not the recipient: messages
        # wait in the outbox until it is registered or linked.
        raise _AccountMissing(exc.message)
    if "not registered" in exc.message.lower():
        raise Unreachable(exc.message)
    if exc.code in (IO_ERROR, -32603):
        raise TransientFailure(exc.message)
    if exc.code == UNTRUSTED_IDENTITY:
        raise PermanentFailure(exc.message)
    raise PermanentFailure(f"signal-cli error {exc.code}: {exc.message}")


class _AccountMissing(Exception):
    """signal-cli does not hold the bot's account (not registered, not linked, or not
    named while the daemon holds several)."""


def _token_in(message: str) -> str:
    match = re.search(r'challenge token "([^"]+)"', message)
    return match[1] if match else ""


class SignalTransport:
    """The Signal side of Relais."""

    channel = CHANNEL

    def __init__(
        self,
        client: SignalClient,
        dispatch: Dispatch,
        shown: BoardStore,
        *,
        account: str = "",
        clock: Clock | None = None,
        commands: Callable[[], Iterable[str]] = tuple,
        on_captcha: Callable[[Captcha], Coroutine[Any, Any, None]] | None = None,
        on_sender: Callable[[str, str], None] | None = None,
        backoff: tuple[float, float] = (0.5, 30.0),
    ) -> None:
        self.client = client
        self.dispatch = dispatch
        self.shown = shown
        self.account = account
        self.clock = clock or SystemClock()
        self.commands = commands
        self.on_captcha = on_captcha
        self.on_sender = on_sender
        self.backoff = backoff
        # Set by the app: answers wait their turn in the Signal lane (behind pages only).
        self.send_reply: (
            Callable[[str, Outbound, Callable[[], Awaitable[str]]], Awaitable[str]] | None
        ) = None
        self.connected = asyncio.Event()
        self.reconnects = 0
        self._memory: dict[str, Board] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._listener: asyncio.Task[None] | None = None
        self._paused_until = 0.0
        self._captcha_reported = False
        # Whether signal-cli holds the bot's account: None until asked (or unknowable).
        self.registered: bool | None = None
        # Recipients Signal said are not registered: not asked again until they write.
        self._unregistered: set[str] = set()

    async def download(self, file: InboundFile) -> bytes:
        """The bytes of an attachment signal-cli received (`getAttachment` returns base64)."""
        try:
            result = await self.client.rpc("getAttachment", {"id": file.file_id})
        except RpcError as exc:
            raise PermanentFailure(str(exc)) from exc
        except SignalCliError as exc:
            raise TransientFailure(str(exc)) from exc
        data = result.get("data") if isinstance(result, dict) else result
        if not isinstance(data, str):
            raise PermanentFailure("signal-cli returned no attachment data")
        try:
            return base64.b64decode(data, validate=True)
        except ValueError as exc:
            raise PermanentFailure("signal-cli returned unreadable attachment data") from exc

    async def start(self, *, listen: bool = True) -> None:
        """Check signal-cli and its account; with `listen`, read its event stream (with
        several processes, only the one elected for Signal reads it: `start_events`)."""
        if not await self.client.check():
            log.warning(
                "signal-cli does not answer at %s; Signal waits for it (Telegram is unaffected;"
                " a daemon started with -a ACCOUNT exits at once if ACCOUNT is not registered)",
                self.client.base_url,
            )
        else:
            await self._check_account()
        if listen:
            await self.start_events()

    async def start_events(self) -> None:
        """Read signal-cli's event stream from this process."""
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen(), name="signal-events")

    async def stop_events(self) -> None:
        """Stop reading the event stream (another process reads it from now on)."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def _check_account(self) -> None:
        """Ask signal-cli whether it holds the bot's account, and say so plainly if not:
        otherwise Relais would run and stay silent on Signal."""
        try:
            accounts = await self.client.accounts()
        except RpcError as exc:
            if exc.code == METHOD_NOT_FOUND:
                # Started with -a: such a daemon only runs for a registered account.
                self.registered = True
            else:
                log.warning("signal-cli could not list its accounts: %s", exc)
            return
        except SignalCliError as exc:
            log.warning("signal-cli could not list its accounts: %s", exc)
            return
        if self.account in accounts or (not self.account and len(accounts) == 1):
            self.registered = True
            log.info("Signal account %s is ready in signal-cli", self.account or accounts[0])
            return
        self.registered = False
        log.error("%s", self._account_missing_line(accounts))

    def _account_missing_line(self, accounts: list[str] | None = None) -> str:
        """One line saying Signal cannot work yet, and the command that fixes it."""
        url = self.client.base_url
        if not self.account:
            return (
                f"SIGNAL_ACCOUNT is not set and signal-cli at {url} holds "
                f"{len(accounts or ())} accounts ({', '.join(accounts or ()) or 'none'}): "
                "set SIGNAL_ACCOUNT to the bot's number; Signal stays silent until then"
            )
        held = "" if accounts is None else f" (it holds: {', '.join(accounts) or 'none'})"
        return (
            f"Signal account {self.account} is not registered in signal-cli at {url}{held}, "
            "so Relais can neither receive nor send on Signal: register it with "
            f"`signal-cli -a {self.account} register` then `signal-cli -a {self.account} "
            "verify CODE`, or link it to a phone with `signal-cli link -n Relais`, "
            "then restart signal-cli"
        )

    async def stop(self) -> None:
        await self.stop_events()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)
        await self.client.close()

    # -- incoming -----------------------------------------------------------------------

    async def _listen(self) -> None:
        """Read the event stream forever, reconnecting with backoff when it drops."""
        low, high = self.backoff
        delay = low
        while True:
            try:
                async for payload in self.client.events(on_open=self._opened):
                    delay = low
                    self._receive(payload)
                log.warning("Signal event stream ended; reconnecting")
            except SignalCliHttpError as exc:
                if exc.status == 400 and self.account:
                    # The daemon does not hold the account: said once at start, then
                    # checked again slowly in case it is registered meanwhile.
                    if self.registered is not False:
                        self.registered = False
                        log.error("%s", self._account_missing_line())
                    delay = high
                    log.debug("Signal event stream refused (no account %s)", self.account)
                else:
                    log.warning("Signal event stream: %s; reconnecting in %.1fs", exc, delay)
            except SignalCliError as exc:
                log.warning("Signal event stream: %s; reconnecting in %.1fs", exc, delay)
            except Exception:
                log.exception("Signal event stream failed; reconnecting in %.1fs", delay)
            if self.connected.is_set():
                delay = low
            self.connected.clear()
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, high)

    def _opened(self) -> None:
        if not self.connected.is_set():
            self.reconnects += 1
        if self.account:
            self.registered = True  # the daemon serves the account's stream: it holds it
        self.connected.set()
        log.info("Signal event stream connected")

    def _receive(self, payload: dict[str, Any]) -> None:
        if "envelope" not in payload and isinstance(payload.get("params"), dict):
            payload = payload["params"]  # a whole JSON-RPC "receive" notification
        envelope = payload.get("envelope")
        if not isinstance(envelope, dict):
            return
        if payload.get("exception"):
            log.info("signal-cli could not decrypt a message: %s", payload["exception"])
        sender = str(envelope.get("sourceUuid") or "")
        self._unregistered.discard(sender)
        if sender and self.on_sender is not None:
            self.on_sender(sender, str(envelope.get("sourceNumber") or ""))
        chat = self._chat_of(envelope)
        lock = self._locks.setdefault(chat, asyncio.Lock())
        task = asyncio.create_task(self._handle(envelope, chat, lock))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    def _chat_of(envelope: dict[str, Any]) -> str:
        data = envelope.get("dataMessage") or {}
        group = (data.get("groupInfo") or {}) if isinstance(data, dict) else {}
        if isinstance(group, dict) and group.get("groupId"):
            return GROUP_PREFIX + str(group["groupId"])
        return str(envelope.get("sourceUuid") or envelope.get("sourceNumber") or "")

    async def _handle(self, envelope: dict[str, Any], chat: str, lock: asyncio.Lock) -> None:
        # One chat's messages in order, different chats in parallel.
        async with lock:
            try:
                shown = await self._recall(chat)
                inbound = to_inbound(
                    envelope, account=self.account, commands=self._command_words(), shown=shown
                )
                if inbound is None:
                    return
                if inbound.private:
                    # Whatever they wrote, the question waiting (if any) had its turn.
                    await self._remember(chat, shown.heard())
                with answers_awaited() as taken:
                    replies = await self.dispatch(inbound)
                await self._reply(inbound, replies)
                # The answers the lane took (written with what the update changed) are on
                # screen, with their numbers, before this chat's next message is read.
                await taken.sent()
            except Exception:
                log.exception("Signal message could not be handled")
        if not lock.locked() and len(self._locks) > 10_000:
            self._locks.pop(chat, None)

    def _command_words(self) -> set[str]:
        return {*self.commands(), "cancel"}

    async def _reply(self, inbound: Inbound, replies: list[Outbound]) -> None:
        """Send answers kept in memory (an update that wrote nothing), each in its turn."""
        chat = inbound.chat_id
        board = await self._recall(chat) if inbound.private else Board()
        for outbound in replies:
            if outbound.retires:
                board = board.without(outbound.retires)  # the answer replaces that list
            tag = board.next_tag() if _has_choices(outbound) else ""
            try:
                deliver = functools.partial(self._deliver, chat, outbound, remember=False, tag=tag)
                if self.send_reply is None:
                    message_id = await deliver()
                else:
                    # The lane's reply policy, the same on every messenger: a rate limit
                    # waits, a failing network ends in the outbox (message id "").
                    message_id = await self.send_reply(chat, outbound, deliver)
                if message_id:
                    board = board.shown(outbound, message_id, tag)
            except Exception as exc:
                log.warning("reply to a Signal chat failed: %s", exc)
        if inbound.private:
            # Earlier lists stay answerable: an answer without choices changes nothing.
            await self._remember(chat, board)

    # -- choices memory -----------------------------------------------------------------

    def forget(self, chats: Sequence[tuple[str, str]]) -> None:
        """Someone was erased (in the chat, from the command line, by the retention job):
        the lists kept for their chats (their name, their ticks) go."""
        for channel, chat in chats:
            if channel == CHANNEL:
                self._memory.pop(chat, None)

    async def _recall(self, chat: str) -> Board:
        if chat not in self._memory:
            stored = await self.shown.shown(CHANNEL, chat, self.clock.now())
            self._memory[chat] = Board.restored(*stored)
            if len(self._memory) > 10_000:
                self._memory.pop(next(iter(self._memory)))
        return self._memory[chat]

    async def _remember(self, chat: str, shown: Board) -> None:
        if chat.startswith(GROUP_PREFIX):
            return
        if self.shown.erased(CHANNEL, chat):
            # They were just erased (/forget): their lists (their name, their ticks) go.
            self._memory.pop(chat, None)
            return
        if self._memory.get(chat) == shown:
            return  # nothing changed on screen: no write
        self._memory[chat] = shown
        await self.shown.keep_shown(CHANNEL, chat, shown.stored(), shown.request, self.clock.now())

    # -- outgoing -----------------------------------------------------------------------

    async def _send(
        self, chat_id: str, outbound: Outbound, tag: str = "", *, aside: bool = False
    ) -> str:
        """Send one Outbound; raises RateLimited, _CaptchaRequired or SignalCliError."""
        remaining = self._paused_until - asyncio.get_running_loop().time()
        if remaining > 0:
            raise RateLimited(remaining, "Signal sends are paused")
        texts = render(outbound, tag, aside=aside)
        body, styles = text_styles(outbound.text)
        if len(texts) > 1 or not texts[0].startswith(body):
            styles = []  # offsets would not hold once the text is cut
        group = chat_id.removeprefix(GROUP_PREFIX) if chat_id.startswith(GROUP_PREFIX) else ""
        recipient = "" if group else chat_id
        attachments = [data_uri(outbound.attachment)] if outbound.attachment else None
        message_id = ""
        try:
            edited = outbound.edit_message_id
            if edited.isdigit() and len(texts) == 1 and self._editable(int(edited)):
                # A message the system keeps up to date (a progress count): edit it in place.
                if await self._edit(recipient, group, int(edited), texts[0], styles):
                    return edited
            for index, text in enumerate(texts):
                # The file goes with the first part, as a captioned picture or document.
                result = await self.client.send(
                    recipient=recipient,
                    group_id=group,
                    message=text,
                    attachments=attachments if index == 0 else None,
                    text_styles=styles,
                )
                check_results(result)
                message_id = str(result.get("timestamp") or message_id)
        except RpcError as exc:
            _from_rpc_error(exc)
        self._captcha_reported = False
        return message_id

    def _editable(self, timestamp: int) -> bool:
        # Signal apps ignore edits of messages older than a day.
        age_ms = self.clock.now().timestamp() * 1000 - timestamp
        return 0 <= age_ms < EDIT_WINDOW_MS

    async def _edit(
        self, recipient: str, group: str, timestamp: int, text: str, styles: list[str]
    ) -> bool:
        """Edit a message sent earlier; False if Signal refuses (too old, too many edits)."""
        try:
            result = await self.client.send(
                recipient=recipient,
                group_id=group,
                message=text,
                text_styles=styles,
                edit_timestamp=timestamp,
            )
        except RpcError as exc:
            if exc.code == USER_ERROR and not exc.results:
                log.info("Signal edit refused (%s); sending a new message", exc.message)
                return False
            raise
        check_results(result)
        return True

    def _pause(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        self._paused_until = max(self._paused_until, loop.time() + seconds)

    async def deliver(self, chat_id: str, outbound: Outbound) -> str:
        """Send one outbox message (an answer written with its update too), translating
        signal-cli's answers into outbox outcomes; its numbers are lettered now, and the
        chat's board remembers them once it is sent."""
        return await self._deliver(chat_id, outbound, remember=True)

    async def _deliver(
        self, chat_id: str, outbound: Outbound, *, remember: bool, tag: str = ""
    ) -> str:
        if chat_id in self._unregistered:
            raise Unreachable("not on Signal (unregistered)")
        aside = False
        remember = remember and not chat_id.startswith(GROUP_PREFIX)
        if remember and _has_choices(outbound):
            board = _retired(await self._recall(chat_id), outbound)
            tag, aside = board.next_tag(), board.aside(outbound)
        try:
            message_id = await self._send(chat_id, outbound, tag, aside=aside)
        except Unreachable:
            self._unregistered.add(chat_id)
            raise
        except RateLimited as exc:
            self._pause(exc.retry_after)
            raise
        except _CaptchaRequired as exc:
            await self._captcha(exc.captcha)
            raise RateLimited(exc.captcha.retry_after, "Signal asks for a CAPTCHA") from exc
        except _AccountMissing as exc:
            if self.registered is not False:
                self.registered = False
                log.error("%s", self._account_missing_line())
            self._pause(DOWN_RETRY)
            raise RateLimited(DOWN_RETRY, f"signal-cli: {exc}") from exc
        except (SignalCliDown, SignalCliHttpError) as exc:
            # Wait in the outbox without using up attempts until signal-cli is back.
            if isinstance(exc, SignalCliHttpError):
                log.error("signal-cli refused the request (check SIGNAL_CLI_URL): %s", exc)
            self._pause(DOWN_RETRY)
            raise RateLimited(DOWN_RETRY, "signal-cli is unreachable") from exc
        except SignalCliNoAnswer as exc:
            raise UncertainDelivery(str(exc)) from exc
        except SignalCliError as exc:
            raise TransientFailure(str(exc)) from exc
        if remember:
            board = _retired(await self._recall(chat_id), outbound)
            await self._remember(chat_id, board.shown(outbound, message_id, tag))
        return message_id

    async def _captcha(self, captcha: Captcha) -> None:
        self._pause(captcha.retry_after)
        if self._captcha_reported:
            return
        self._captcha_reported = True
        log.error(
            "Signal asks for a CAPTCHA before sending more; solve it at %s, then run: "
            "signal-cli -a %s submitRateLimitChallenge --challenge %s --captcha CAPTCHA",
            CAPTCHA_URL,
            self.account or "ACCOUNT",
            captcha.token or "TOKEN",
        )
        if self.on_captcha is not None:
            try:
                await self.on_captcha(captcha)
            except Exception:
                log.exception("admins could not be told about the Signal CAPTCHA")
