"""An aiohttp backend for python-telegram-bot's requests.

PTB's default backend (httpx) tops out near 400 sends a second on a 2-core machine; paid
broadcasts may go at 1000. aiohttp (already a dependency) drives the same loopback server
several times faster, so Relais plugs it in through PTB's `BaseRequest` interface.

Errors keep the meaning the outbox relies on: a failure before the request left (connect
error or timeout, no free connection) is a `NetworkError` (safe to retry); a timeout while
waiting for the answer is `TimedOut` (the message may have been delivered).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import aiohttp
from aiohttp.payload import BytesPayload
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import BaseRequest, RequestData

_JSON = "application/json"
log = logging.getLogger(__name__)


def _pick(value: Any, default: float | None) -> float | None:
    return default if value is BaseRequest.DEFAULT_NONE else value


class AiohttpRequest(BaseRequest):
    """PTB requests over one pooled aiohttp session."""

    def __init__(
        self,
        connection_pool_size: int = 64,
        read_timeout: float | None = 10.0,
        write_timeout: float | None = 10.0,
        connect_timeout: float | None = 5.0,
        media_write_timeout: float | None = 30.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._media_write_timeout = media_write_timeout
        # The same for every `call` (made once: building one costs more than it seems).
        self._call_timeout = aiohttp.ClientTimeout(
            total=None, connect=connect_timeout, sock_read=read_timeout
        )
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_size, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def call(self, url: str, params: Mapping[str, Any]) -> Any:
        """One Bot API call from plain values; its result as plain JSON (no PTB objects:
        decoding the Message a send returns cost a fifth of answering someone). Errors are
        PTB's, as for any other call."""
        # The method only: the address holds the bot's token.
        log.debug("Bot API call %s", url.rsplit("/", 1)[-1])
        # A ready payload: aiohttp's look-up of a payload type for raw bytes costs more
        # than the encoding.
        body = BytesPayload(json.dumps(params, ensure_ascii=False).encode(), content_type=_JSON)
        code, payload = await self._exchange("POST", url, body, None, self._call_timeout)
        if 200 <= code <= 299:
            return self.parse_json_payload(payload)["result"]
        raise _error(code, payload)

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send one Bot API call; return its HTTP status and body."""
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        files = request_data.multipart_data if request_data else None
        read = _pick(read_timeout, self._read_timeout)
        write = _pick(write_timeout, self._media_write_timeout if files else self._write_timeout)
        # Waiting for a pooled connection counts as connecting: nothing has left yet.
        connect = _pick(connect_timeout, self._connect_timeout)
        pool = _pick(pool_timeout, None)
        if connect is not None and pool is not None:
            connect = connect + pool
        # aiohttp has no write timeout: a large upload gets the media write time to read.
        sock_read = read if not files or read is None else max(read, write or 0.0)
        timeout = aiohttp.ClientTimeout(total=None, connect=connect, sock_read=sock_read)
        body: Any = None
        headers = None
        if request_data is not None:
            if files:
                form = aiohttp.FormData()
                for name, value in request_data.json_parameters.items():
                    form.add_field(name, value)
                for name, (filename, content, mimetype) in files.items():
                    form.add_field(name, content, filename=filename, content_type=mimetype)
                body = form
            else:
                body = request_data.json_parameters
        return await self._exchange(method, url, body, headers, timeout)

    async def _exchange(
        self, method: str, url: str, body: Any, headers: Any, timeout: aiohttp.ClientTimeout
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        try:
            async with self._session.request(
                method, url, data=body, headers=headers, timeout=timeout
            ) as res:
                return res.status, await res.read()
        except aiohttp.ConnectionTimeoutError as exc:
            raise NetworkError(f"aiohttp: connection timed out: {exc}") from exc
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise TimedOut("aiohttp: no answer in time; the request may have arrived") from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc


def _error(code: int, payload: bytes) -> TelegramError:
    """The error PTB raises for this answer (as in BaseRequest._request_wrapper), so that a
    call made here fails as one made through PTB does."""
    try:
        answer = json.loads(payload)
    except ValueError:
        answer = {}
    if not isinstance(answer, dict):
        answer = {}
    message = answer.get("description") or f"HTTP error {code}"
    parameters = answer.get("parameters") or {}
    if parameters.get("migrate_to_chat_id"):
        return ChatMigrated(parameters["migrate_to_chat_id"])
    if parameters.get("retry_after"):
        return RetryAfter(parameters["retry_after"])
    if code == HTTPStatus.FORBIDDEN:
        return Forbidden(message)
    if code in (HTTPStatus.NOT_FOUND, HTTPStatus.UNAUTHORIZED):
        return InvalidToken(message)
    if code == HTTPStatus.BAD_REQUEST:
        return BadRequest(message)
    if code == HTTPStatus.CONFLICT:
        return Conflict(message)
    return NetworkError(message)
