"""The webhook Telegram posts updates to, behind the campaign's HTTPS reverse proxy.

Checked in the order that costs an attacker the most and Relais the least: the secret
token header first (403 before a byte of the body is read), then the size (413 if
Content-Length or the bytes actually streamed pass 1 MB; Telegram's updates are a few KB),
then the JSON. What is not an update is dropped (200: Telegram sends again anything else);
an update that could not be handled (the database busy) gets a 500, and comes back. It
listens on loopback unless told otherwise: the proxy faces the internet.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

PATH = "/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1024 * 1024
_CHUNK = 64 * 1024

# Takes an update; returns a Bot API method call to make in the response, if any.
Receive = Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]


class WebhookServer:
    """An HTTP server with one route, POST /telegram, handing each update to `receive`.

    Telegram runs a method call given as the response (its parameters and "method", as
    JSON): `receive` may answer an update that way instead of with a request of its own.
    """

    def __init__(
        self, host: str, port: int, secret: str, receive: Receive, *, reuse_port: bool = False
    ) -> None:
        self.host = host
        self.port = port
        # Several processes on one PostgreSQL database may share one port (SO_REUSEPORT):
        # the kernel spreads connections over them.
        self.reuse_port = reuse_port
        self.secret = secret.encode()
        self.receive = receive
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post(PATH, self._on_post)
        # No access log: request lines and addresses say who uses the campaign's bot.
        self._runner = web.AppRunner(app, access_log=None)

    async def start(self) -> None:
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port, reuse_port=self.reuse_port).start()

    async def stop(self) -> None:
        await self._runner.cleanup()

    async def _on_post(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self.secret):
            return web.Response(status=403, text="forbidden")
        if request.content_length is not None and request.content_length > MAX_BODY:
            return web.Response(status=413, text="too large")
        body = bytearray()
        async for chunk in request.content.iter_chunked(_CHUNK):
            body += chunk
            if len(body) > MAX_BODY:  # chunked, or a Content-Length that lied
                return web.Response(status=413, text="too large")
        try:
            update = json.loads(body)
        except ValueError:
            update = None
        if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
            # Telegram sends again whatever is not answered 2xx: this would come back forever.
            log.warning("a webhook request that is not an update was dropped")
            return web.Response(text="dropped")
        try:
            reply = await self.receive(update)
        except Exception:
            # Not stored (the database busy, …): an error, so that Telegram sends it again.
            log.exception(
                "Telegram update %s not handled; Telegram will send it again", update["update_id"]
            )
            return web.Response(status=500, text="not handled")
        if reply is not None:
            return web.json_response(reply)
        return web.Response(text="ok")
