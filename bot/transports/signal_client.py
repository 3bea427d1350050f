"""signal-cli's JSON-RPC daemon in HTTP mode: the only module that knows its URLs.

The daemon runs beside Relais (`signal-cli -a ACCOUNT daemon --http 127.0.0.1:8080`):
`POST /api/v1/rpc` takes JSON-RPC requests, `GET /api/v1/events` streams incoming messages
as Server-Sent Events, `GET /api/v1/check` answers 200 while it is up. It has no
authentication, so it must listen on loopback or a private network only.

Started without `-a`, the daemon serves every account in its config directory and
refuses per-account calls that do not name one ("Method requires valid account
parameter"); so every call names the bot's account, and the event stream asks for that
account's messages only (`?account=`). A daemon started with `-a` ignores both.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import quote

import httpx

log = logging.getLogger(__name__)

RPC_PATH = "/api/v1/rpc"
EVENTS_PATH = "/api/v1/events"
CHECK_PATH = "/api/v1/check"
STREAM_SILENCE = 60.0
# JSON-RPC error codes: the method does not exist (e.g. listAccounts on a daemon started
# with -a), and bad params, which is also how signal-cli says an account is unknown.
METHOD_NOT_FOUND, INVALID_PARAMS = -32601, -32602
# Calls about the daemon itself, not one account.
_DAEMON_METHODS = frozenset({"version", "listAccounts"})


class SignalCliError(Exception):
    """Talking to signal-cli failed."""


class SignalCliDown(SignalCliError):
    """signal-cli could not be reached; the request never left."""


class SignalCliNoAnswer(SignalCliError):
    """The request left but no answer came back (it may or may not have been sent)."""


class SignalCliHttpError(SignalCliError):
    """signal-cli answered with an HTTP error (wrong address, wrong Host, wrong method)."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"HTTP {status} from signal-cli: {text[:200]}")
        self.status = status


class RpcError(SignalCliError):
    """A JSON-RPC error: `code` says what kind, `data` carries signal-cli's send results."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"signal-cli error {code}: {message}")
        self.code = code
        self.message = message
        self.data = data

    @property
    def unknown_account(self) -> bool:
        """signal-cli does not hold the account the call named (or none was named)."""
        return self.code == INVALID_PARAMS and "account" in self.message.lower()

    @property
    def results(self) -> list[dict[str, Any]]:
        """The per-recipient send results signal-cli attached to the error, if any."""
        response = self.data.get("response") if isinstance(self.data, dict) else None
        results = response.get("results") if isinstance(response, dict) else None
        return [r for r in results if isinstance(r, dict)] if isinstance(results, list) else []


class SignalClient:
    """A thin async client: JSON-RPC calls, the event stream, the health check."""

    def __init__(
        self,
        base_url: str,
        account: str = "",
        *,
        timeout: float = 30.0,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.account = account
        self._ids = itertools.count(1)
        self._http = http or httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout, connect=5.0),
            # The event stream is long-lived; the RPC calls share a small pool beside it.
            limits=httpx.Limits(max_connections=8, max_keepalive_connections=4),
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def rpc(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """Call one JSON-RPC method and return its `result`, or raise RpcError."""
        params = dict(params or {})
        if self.account and method not in _DAEMON_METHODS:
            params.setdefault("account", self.account)
        body = {"jsonrpc": "2.0", "method": method, "params": params, "id": next(self._ids)}
        try:
            response = await self._http.post(
                RPC_PATH,
                content=json.dumps(body, ensure_ascii=False).encode(),
                headers={"Content-Type": "application/json"},
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise SignalCliDown(f"signal-cli unreachable: {exc!r}") from exc
        except httpx.HTTPError as exc:
            raise SignalCliNoAnswer(f"no answer from signal-cli: {exc!r}") from exc
        if response.status_code == 201:
            return None  # a notification-only request has no answer
        if response.status_code != 200:
            raise SignalCliHttpError(response.status_code, response.text)
        try:
            answer = response.json()
        except ValueError as exc:
            raise SignalCliNoAnswer("signal-cli answered something that is not JSON") from exc
        if not isinstance(answer, dict):
            raise SignalCliNoAnswer("signal-cli answered something that is not an object")
        error = answer.get("error")
        if error:
            raise RpcError(
                int(error.get("code", -32603)), str(error.get("message", "")), error.get("data")
            )
        return answer.get("result")

    async def send(
        self,
        *,
        recipient: str = "",
        group_id: str = "",
        message: str = "",
        attachments: list[str] | None = None,
        text_styles: list[str] | None = None,
        edit_timestamp: int | None = None,
    ) -> dict[str, Any]:
        """Send one message to a person (UUID or number) or a group, or replace the text of
        the message sent at `edit_timestamp`; return signal-cli's result."""
        params: dict[str, Any] = {"message": message}
        if group_id:
            params["groupId"] = group_id
        else:
            params["recipient"] = [recipient]
        if attachments:
            params["attachments"] = attachments
        if text_styles:
            params["textStyle"] = text_styles
        if edit_timestamp:
            params["editTimestamp"] = edit_timestamp
        result = await self.rpc("send", params)
        return result if isinstance(result, dict) else {}

    async def version(self) -> str:
        """The daemon's signal-cli version, e.g. "0.13.19"."""
        result = await self.rpc("version")
        return str(result.get("version") or "") if isinstance(result, dict) else ""

    async def accounts(self) -> list[str]:
        """The numbers of the accounts the daemon holds (registered or linked).

        Raises RpcError with METHOD_NOT_FOUND from a daemon started for one account (`-a`),
        which only starts when that account is registered."""
        result = await self.rpc("listAccounts")
        items = result if isinstance(result, list) else []
        return [str(a["number"]) for a in items if isinstance(a, dict) and a.get("number")]

    async def check(self) -> bool:
        """Whether the daemon answers its health check."""
        try:
            response = await self._http.get(CHECK_PATH, timeout=5.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def events(
        self, on_open: Callable[[], None] | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Incoming messages as they arrive: the `data` of each `receive` event.

        `on_open` is called once the stream is established: signal-cli sends its headers
        with the first event or keep-alive, so up to 15 s after connecting. Ends (or raises
        SignalCliError) when the stream drops; the caller reconnects. An account the daemon
        does not hold is answered HTTP 400.
        """
        path = EVENTS_PATH + (f"?account={quote(self.account)}" if self.account else "")
        try:
            async with self._http.stream(
                "GET",
                path,
                headers={"Accept": "text/event-stream"},
                # signal-cli writes a keep-alive comment every 15 s: a minute of silence
                # means the connection is dead even if TCP has not noticed.
                timeout=httpx.Timeout(None, connect=5.0, read=STREAM_SILENCE),
            ) as response:
                if response.status_code != 200:
                    raise SignalCliHttpError(response.status_code, "")
                if on_open is not None:
                    on_open()
                async for event, data in parse_sse(response.aiter_lines()):
                    if event not in ("receive", "message") or not data:
                        continue
                    try:
                        payload = json.loads(data)
                    except ValueError:
                        log.warning("signal-cli sent an event that is not JSON; skipped")
                        continue
                    if isinstance(payload, dict):
                        yield payload
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise SignalCliDown(f"signal-cli unreachable: {exc!r}") from exc
        except httpx.HTTPError as exc:
            raise SignalCliError(f"event stream dropped: {exc!r}") from exc


async def parse_sse(lines: AsyncIterator[str]) -> AsyncIterator[tuple[str, str]]:
    """Server-Sent Events as (event, data) pairs; comments (keep-alives) are skipped."""
    event, data = "", list[str]()
    async for raw in lines:
        line = raw.rstrip("\r")
        if not line:
            if data:
                yield event or "message", "\n".join(data)
            event, data = "", list[str]()
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
    if data:
        yield event or "message", "\n".join(data)
