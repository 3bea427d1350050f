"""A fake signal-cli daemon in HTTP mode, on loopback, speaking its real wire format.

It serves the three endpoints of `signal-cli --config DIR daemon --http` (multi-account mode),
with the shapes the real daemon gives (tests/test_signal_cli_contract.py runs the same
checks against both):

* ``POST /api/v1/rpc``: JSON-RPC 2.0 (415 unless ``Content-Type: application/json``, 405 for
  other methods, 201 and no body for a notification without ``id``); ``version``;
  ``listAccounts`` (``[{"number"}]`` of :attr:`FakeSignalCli.accounts`); every other call
  names its ``account`` (-32602 "Specified account does not exist" for one the daemon
  does not hold, "Method requires valid account parameter" when none is named and the
  daemon does not hold exactly one); ``getAttachment`` returns ``{"data": base64}`` of a
  file a person sent; ``send`` answers ``{"timestamp", "results": [...]}``;
* ``GET /api/v1/events[?account=]``: Server-Sent Events, ``event:receive`` + ``data:<json>``
  per incoming message, ``:`` keep-alive comments; the headers go out with the first event
  or keep-alive, as signal-cli's do; 400 for an account the daemon does not hold;
* ``GET /api/v1/check``: 200.

Test side: :meth:`FakeSignalCli.send_text` (a person writes; ``group_id=``, ``contacts=``,
``timestamp=`` for a replay, ``quote=`` to reply to a message) and
:meth:`enqueue_envelope` (any raw envelope); :attr:`sent`, :meth:`messages_to` and
:meth:`wait_for_text` (what Relais sent: text, decoded data-URI attachments,
``textStyle`` and ``editTimestamp``); :meth:`fail_next` (scripted errors:
``"rate_limit"`` → -5 with ``RATE_LIMIT_FAILURE`` and ``retryAfterSeconds``, ``"captcha"`` →
-6 with a challenge token, ``"network"`` → -1 with ``NETWORK_FAILURE``, ``"internal"`` →
-32603); :attr:`unregistered` (recipients answered -1 with ``UNREGISTERED_FAILURE``);
:meth:`drop_stream` (close the event streams), :meth:`go_down` / :meth:`come_back` (the daemon
stops listening, then listens again on the same port); :attr:`stream_connections` and
:meth:`wait_for_connections`. Events queued while no stream is open wait for the next one,
as with ``--receive-mode on-connection``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import re
import socket
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import web

from tests.fakes.relais import database_url_of

ACCOUNT = "+33600000000"
VERSION = "0.13.19"
# Calls about the daemon itself; every other one is about an account.
_DAEMON_METHODS = {"version", "listAccounts"}
_DATA_URI = re.compile(r"^data:([^;,]+)(?:;filename=([^;,]*))?;base64,(.*)$", re.S)


@dataclass
class SentMessage:
    """One `send` call signal-cli accepted (or refused, see `error`)."""

    recipient: str  # a UUID or number, or "group:<id>"
    message: str
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)  # mime, name, data
    timestamp: int = 0
    error: str = ""
    text_styles: list[str] = field(default_factory=list)  # "start:length:STYLE"
    edit_of: int = 0  # the timestamp of the message this one edits

    @property
    def ok(self) -> bool:
        return not self.error


class FakeSignalCli:
    """signal-cli's HTTP daemon, faked: see the module docstring."""

    def __init__(self, account: str = ACCOUNT, keepalive: float = 0.2) -> None:
        self.account = account
        # The accounts registered or linked in the daemon's config directory.
        self.accounts = [account]
        self.keepalive = keepalive
        self.sent: list[SentMessage] = []
        self.calls: list[dict[str, Any]] = []
        self.unregistered: set[str] = set()
        # Attachments people sent: id → bytes, served by getAttachment (base64 `data`).
        self.attachments: dict[str, bytes] = {}
        self.stream_connections = 0
        self._faults: list[tuple[str, dict[str, Any]]] = []
        self._pending: deque[dict[str, Any]] = deque()
        self._arrived = asyncio.Event()
        self._drop = asyncio.Event()
        self._timestamps = itertools.count(1_700_000_000_000)
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._changed = asyncio.Event()

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/api/v1/rpc", self._rpc)
        app.router.add_get("/api/v1/events", self._stream)
        app.router.add_get("/api/v1/check", self._check)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self._port))
        await web.SockSite(runner, sock).start()
        self._port = int(sock.getsockname()[1])
        self._runner = runner
        self._drop = asyncio.Event()

    async def stop(self) -> None:
        if self._runner is not None:
            self._drop.set()
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> FakeSignalCli:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def go_down(self) -> None:
        """signal-cli stops: connections are refused until `come_back`."""
        await self.stop()

    async def come_back(self) -> None:
        """signal-cli listens again, on the same port."""
        await self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    # -- what a person does -------------------------------------------------------------

    def send_text(
        self,
        uuid: str,
        text: str,
        *,
        number: str | None = None,
        name: str = "Ana",
        group_id: str = "",
        timestamp: int | None = None,
        contacts: list[dict[str, Any]] | None = None,
        attachment: tuple[str, str, bytes] | None = None,
        quote: int | None = None,
    ) -> int:
        """A person writes to the bot; returns the message timestamp (its id).

        `attachment` is (filename, content type, bytes): the envelope carries its id,
        contentType, filename and size as signal-cli does, and getAttachment returns it."""
        stamp = timestamp or next(self._timestamps)
        data: dict[str, Any] = {
            "timestamp": stamp,
            "message": text,
            "expiresInSeconds": 0,
            "viewOnce": False,
        }
        if group_id:
            data["groupInfo"] = {"groupId": group_id, "type": "DELIVER"}
        if contacts:
            data["contacts"] = contacts
        if quote is not None:
            # Replying to one of Relais's messages: signal-cli gives its timestamp as the id.
            data["quote"] = {"id": quote, "author": self.account, "text": "", "attachments": []}
        if attachment is not None:
            filename, content_type, content = attachment
            ident = f"att{stamp}.bin"
            self.attachments[ident] = content
            data["attachments"] = [
                {
                    "contentType": content_type,
                    "filename": filename,
                    "id": ident,
                    "size": len(content),
                }
            ]
        envelope = {
            "source": number or uuid,
            "sourceNumber": number,
            "sourceUuid": uuid,
            "sourceName": name,
            "sourceDevice": 1,
            "timestamp": stamp,
            "serverReceivedTimestamp": stamp + 5,
            "serverDeliveredTimestamp": stamp + 6,
            "dataMessage": data,
        }
        self.enqueue_envelope(envelope)
        return stamp

    def enqueue_envelope(self, envelope: dict[str, Any]) -> None:
        """Queue any raw envelope (receipts, typing, sync messages...)."""
        self._pending.append({"account": self.account, "envelope": envelope})
        self._arrived.set()

    def set_time(self, milliseconds: int) -> None:
        """Number the next messages from this Unix time in milliseconds (Signal's ids)."""
        self._timestamps = itertools.count(milliseconds)

    def drop_stream(self) -> None:
        """Close every open event stream, as when signal-cli restarts or a proxy cuts it."""
        self._drop.set()

    def fail_next(self, kind: str, count: int = 1, **options: Any) -> None:
        """Answer the next `count` sends with an error: rate_limit (retry_after=),
        captcha (token=), network, internal."""
        for _ in range(count):
            self._faults.append((kind, options))

    # -- what the bot did ---------------------------------------------------------------

    def messages_to(self, recipient: str) -> list[SentMessage]:
        return [m for m in self.sent if m.recipient == recipient and m.ok]

    async def wait_for(
        self, predicate: Callable[[SentMessage], bool], timeout: float = 5.0, *, since: int = 0
    ) -> SentMessage:
        """The first sent message from index `since` that matches, waiting for it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        seen = since
        while True:
            while seen < len(self.sent):
                message = self.sent[seen]
                seen += 1
                if predicate(message):
                    return message
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = "\n".join(
                    f"  {m.recipient}: {m.message[:80]!r} {m.error}" for m in self.sent[-10:]
                )
                raise AssertionError(f"no matching Signal message within {timeout}s\n{recent}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.2))

    async def wait_for_text(
        self, recipient: str, substring: str, timeout: float = 5.0, *, since: int = 0
    ) -> SentMessage:
        return await self.wait_for(
            lambda m: m.ok and m.recipient == recipient and substring in m.message,
            timeout,
            since=since,
        )

    async def wait_for_connections(self, count: int, timeout: float = 5.0) -> None:
        """Wait until the bot has opened the event stream `count` times in all."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.stream_connections < count:
            if loop.time() > deadline:
                raise AssertionError(
                    f"{self.stream_connections} event-stream connections, expected {count}"
                )
            await asyncio.sleep(0.02)

    # -- the daemon ---------------------------------------------------------------------

    async def _check(self, request: web.Request) -> web.Response:
        return web.Response(status=200)

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        self.stream_connections += 1
        account = request.query.get("account")
        if account and account not in self.accounts:
            return web.Response(status=400)
        response = web.StreamResponse(
            status=200, headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        if self._drop.is_set():
            self._drop = asyncio.Event()
        drop = self._drop
        try:
            while not drop.is_set():
                transport = request.transport
                if transport is None or transport.is_closing():
                    break  # the bot went away: leave the events for its next connection
                if self._pending:
                    event = self._pending.popleft()
                    await _write(request, response, f"event:receive\ndata:{json.dumps(event)}\n\n")
                    continue
                self._arrived.clear()
                arrived = asyncio.ensure_future(self._arrived.wait())
                dropped = asyncio.ensure_future(drop.wait())
                done, _ = await asyncio.wait(
                    {arrived, dropped}, timeout=self.keepalive, return_when=asyncio.FIRST_COMPLETED
                )
                arrived.cancel()
                dropped.cancel()
                if not done:
                    await _write(request, response, ":\n")
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        return response

    async def _rpc(self, request: web.Request) -> web.Response:
        if request.method != "POST":
            return web.Response(status=405)
        if not request.content_type.startswith("application/json"):
            return web.Response(status=415)
        try:
            body = json.loads(await request.read())
        except ValueError as exc:
            return self._error(None, -32700, str(exc))
        self.calls.append(body)
        request_id = body.get("id")
        if body.get("jsonrpc") != "2.0":
            return self._error(request_id, -32600, "only jsonrpc version 2.0 is supported")
        if "method" not in body:
            return self._error(request_id, -32600, "method field must be set")
        method, params = body["method"], dict(body.get("params") or {})
        answer = self._answer(request_id, method, params)
        # A notification (no id) gets no answer, only 201.
        return answer if "id" in body else web.Response(status=201)

    def _answer(self, request_id: Any, method: str, params: dict[str, Any]) -> web.Response:
        if method == "version":
            return self._result(request_id, {"version": VERSION})
        if method == "listAccounts":
            return self._result(request_id, [{"number": a} for a in self.accounts])
        if method not in ("send", "getAttachment"):
            return self._error(request_id, -32601, "Method not implemented")
        account = params.pop("account", None)
        if account is not None and account not in self.accounts:
            return self._error(request_id, -32602, "Specified account does not exist")
        if account is None and len(self.accounts) != 1:
            return self._error(request_id, -32602, "Method requires valid account parameter")
        if method == "getAttachment":
            content = self.attachments.get(str(params.get("id")))
            if content is None:
                return self._error(
                    request_id, -1, f"Could not find attachment with ID: {params.get('id')}"
                )
            return self._result(request_id, {"data": base64.b64encode(content).decode()})
        return self._send(request_id, params)

    def _send(self, request_id: Any, params: dict[str, Any]) -> web.Response:
        recipients = params.get("recipient") or []
        recipients = [recipients] if isinstance(recipients, str) else list(recipients)
        group = params.get("groupId")
        target = f"group:{group}" if group else (recipients[0] if recipients else "")
        if not target:
            return self._error(request_id, -1, "No recipients given")
        if not params.get("message") and not params.get("attachments"):
            return self._error(
                request_id,
                -1,
                "Sending empty message is not allowed, either a message, attachment or "
                "sticker must be given.",
            )
        attachments = [_decode(a) for a in params.get("attachments") or []]
        stamp = next(self._timestamps)
        address = {"uuid": target, "number": None, "username": None}
        styles = params.get("textStyle") or []
        styles = [styles] if isinstance(styles, str) else list(styles)
        for style in styles:
            if not re.fullmatch(r"\d+:\d+:.+", style):
                return self._error(
                    request_id,
                    -1,
                    f"Invalid textStyle syntax ({style}) expected 'start:length:STYLE'",
                )
            name = style.rsplit(":", 1)[1]
            if name not in ("NONE", "BOLD", "ITALIC", "SPOILER", "STRIKETHROUGH", "MONOSPACE"):
                return self._error(request_id, -1, f"Invalid style: {name}")
        message = SentMessage(target, params.get("message", ""), attachments, stamp)
        message.text_styles = styles
        if edit := params.get("editTimestamp"):
            # Signal refuses edits of messages it does not know (or too old ones).
            if not any(m.timestamp == edit and m.recipient == target for m in self.sent):
                return self._error(request_id, -1, "Failed to edit message: not found")
            message.edit_of = int(edit)
        if self._faults:
            kind, options = self._faults.pop(0)
            message.error = kind
            self._record(message)
            return self._fault(request_id, kind, options, address, stamp)
        if target in self.unregistered:
            message.error = "unregistered"
            self._record(message)
            result = {"recipientAddress": address, "type": "UNREGISTERED_FAILURE"}
            return self._error(
                request_id,
                -1,
                "Failed to send message",
                {"response": {"timestamp": stamp, "results": [result]}},
            )
        self._record(message)
        result = {"recipientAddress": address, "type": "SUCCESS"}
        if group:
            result["groupId"] = group
        answer = {"timestamp": stamp, "results": [result]}
        return web.json_response({"jsonrpc": "2.0", "result": answer, "id": request_id})

    def _fault(
        self, request_id: Any, kind: str, options: dict[str, Any], address: Any, stamp: int
    ) -> web.Response:
        if kind == "rate_limit":
            result = {
                "recipientAddress": address,
                "type": "RATE_LIMIT_FAILURE",
                "retryAfterSeconds": options.get("retry_after", 1),
            }
            return self._error(
                request_id,
                -5,
                "Failed to send message due to rate limiting",
                {"response": {"timestamp": stamp, "results": [result]}},
            )
        if kind == "captcha":
            token = options.get("token", "challenge-token-1")
            result = {
                "recipientAddress": address,
                "type": "RATE_LIMIT_FAILURE",
                "token": token,
                "retryAfterSeconds": options.get("retry_after", 1),
            }
            return self._error(
                request_id,
                -6,
                "CAPTCHA proof required for sending",
                {"response": {"timestamp": stamp, "results": [result]}},
            )
        if kind == "network":
            result = {"recipientAddress": address, "type": "NETWORK_FAILURE"}
            return self._error(
                request_id,
                -1,
                "Failed to send message",
                {"response": {"timestamp": stamp, "results": [result]}},
            )
        return self._error(request_id, -32603, "Internal error")

    def _record(self, message: SentMessage) -> None:
        self.sent.append(message)
        self._changed.set()

    @staticmethod
    def _result(request_id: Any, result: Any) -> web.Response:
        return web.json_response({"jsonrpc": "2.0", "result": result, "id": request_id})

    @staticmethod
    def _error(request_id: Any, code: int, message: str, data: Any = None) -> web.Response:
        # signal-cli always writes "data", null when there is nothing to attach.
        error = {"code": code, "message": message, "data": data}
        return web.json_response({"jsonrpc": "2.0", "error": error, "id": request_id})


async def _write(request: web.Request, response: web.StreamResponse, text: str) -> None:
    """Write to the event stream; like signal-cli, the headers go out with the first write."""
    if not response.prepared:
        await response.prepare(request)
    await response.write(text.encode())


def _decode(uri: str) -> tuple[str, str, bytes]:
    match = _DATA_URI.match(uri)
    if not match:
        raise ValueError(f"not a data URI: {uri[:40]}")
    return match[1], match[2] or "", base64.b64decode(match[3])


def signal_env(fake: FakeSignalCli, database: Any, **extra: str) -> dict[str, str]:
    """The environment of a deployment on Signal, pointed at the fake daemon."""
    return {
        "SIGNAL_CLI_URL": fake.url,
        "SIGNAL_ACCOUNT": fake.account,
        "DATABASE_URL": database_url_of(database),
        "RELAIS_PSEUDONYM_KEY": "test-key",
        # Fast enough for tests; deployments keep the slow default.
        "RELAIS_SIGNAL_RATE": "50",
        **extra,
    }
