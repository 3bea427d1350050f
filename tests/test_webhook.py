"""The webhook as Telegram and an attacker meet it: Relais running in webhook mode, raw HTTP.

The secret is checked before a byte of the body is read, bodies over 1 MB are refused
whether announced or streamed, and the server listens where RELAIS_WEBHOOK_LISTEN says
(loopback by default, behind the HTTPS proxy).
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket

import pytest

from bot.config import ConfigError, Settings
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.relais import running_relais, telegram_env
from tests.test_faults import hold_lock

SECRET = "s3cret-token"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _update(update_id: int, user: int, text: str) -> bytes:
    return json.dumps(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 1_700_000_000,
                "chat": {"id": user, "type": "private", "first_name": "Web"},
                "from": {"id": user, "is_bot": False, "first_name": "Web", "language_code": "en"},
                "text": text,
                "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
            },
        }
    ).encode()


async def _exchange(host: str, port: int, head: str, body: bytes = b"") -> int:
    """Send a raw request (headers, then `body` if any) and return the status code.

    The response is read without sending anything more: a server that waited for the
    announced body before answering would leave this waiting, and the test would time out.
    """
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(head.encode() + body)
        await writer.drain()
        status = await asyncio.wait_for(reader.readline(), 20)
    finally:
        writer.close()
    return int(status.split()[1])


def _head(port: int, length: int | None, secret: str | None, chunked: bool = False) -> str:
    lines = [
        "POST /telegram HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Content-Type: application/json",
    ]
    if secret is not None:
        lines.append(f"X-Telegram-Bot-Api-Secret-Token: {secret}")
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    return "\r\n".join(lines) + "\r\n\r\n"


@pytest.fixture
def port() -> int:
    return _free_port()


def _env(api: FakeBotAPI, database_url: str, port: int, **extra: str) -> dict[str, str]:
    return telegram_env(
        api,
        database_url,
        RELAIS_WEBHOOK_URL="https://relais.example.org",
        RELAIS_WEBHOOK_SECRET=SECRET,
        PORT=str(port),
        **extra,
    )


async def test_the_secret_is_checked_before_the_body_and_bodies_stay_under_1_mb(
    bot_api: FakeBotAPI, database_url: str, port: int
) -> None:
    async with running_relais(_env(bot_api, database_url, port)):
        assert bot_api.webhook_url == "https://relais.example.org/telegram"
        # 95 MB announced, no secret (or a wrong one): refused before any of it is sent.
        assert await _exchange("127.0.0.1", port, _head(port, 95_000_000, None)) == 403
        assert await _exchange("127.0.0.1", port, _head(port, 95_000_000, "wrong")) == 403
        # With the secret, a body announced over 1 MB is refused before it is read.
        assert await _exchange("127.0.0.1", port, _head(port, 1024 * 1024 + 1, SECRET)) == 413
        # A chunked body (no length announced) is cut off once it passes 1 MB.
        chunk = b"x" * 65536
        stream = (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 17 + b"0\r\n\r\n"
        head = _head(port, None, SECRET, chunked=True)
        assert await _exchange("127.0.0.1", port, head, stream) == 413
        # Not an update: dropped (Telegram would send it again after any error), unanswered.
        junk = b'{"hello": 1}'
        assert await _exchange("127.0.0.1", port, _head(port, len(junk), SECRET), junk) == 200
        assert not bot_api.messages_to(321)
        # A real update with the secret is handled.
        update = _update(5, 321, "/help")
        assert await _exchange("127.0.0.1", port, _head(port, len(update), SECRET), update) == 200
        await bot_api.wait_for_text(321, "Here is what I can do", timeout=10)


def _post(port: int, body: bytes) -> tuple[str, int, str, bytes]:
    return "127.0.0.1", port, _head(port, len(body), SECRET), body


async def test_an_update_relais_cannot_read_is_dropped_not_sent_again_and_again(
    bot_api: FakeBotAPI, database_url: str, port: int, caplog: pytest.LogCaptureFixture
) -> None:
    """Telegram sends an update again after any answer but 2xx: one it cannot read would
    come back forever, and each time hold its chat's later updates."""
    no_sender = json.loads(_update(7, 321, "/help"))
    del no_sender["message"]["from"]["id"]
    no_chat_id = json.loads(_update(8, 321, "/help"))
    del no_chat_id["message"]["chat"]["id"]
    odd_tap = {"update_id": 9, "callback_query": {"id": "q1", "from": {"id": 5}, "message": 5}}
    unreadable = [
        b'{"update_id": 6, "message": {',  # cut off
        json.dumps(no_sender).encode(),
        json.dumps(no_chat_id).encode(),
        json.dumps(odd_tap).encode(),
        json.dumps({"update_id": 10, "message": "hello"}).encode(),
    ]
    async with running_relais(_env(bot_api, database_url, port)):
        with caplog.at_level(logging.WARNING):
            for body in unreadable:
                assert await _exchange(*_post(port, body)) == 200
        assert caplog.text.count("dropped") == len(unreadable)
        # Nothing of the update in the log: only its number.
        assert "/help" not in caplog.text and "321" not in caplog.text
        update = _update(11, 321, "/help")
        assert await _exchange(*_post(port, update)) == 200
        await bot_api.wait_for_text(321, "Here is what I can do", timeout=10)
        assert len(bot_api.messages_to(321)) == 1


@pytest.mark.sqlite_only("SQLite's write lock held by another process")
async def test_an_update_that_cannot_be_stored_is_refused_so_telegram_sends_it_again(
    bot_api: FakeBotAPI, database_url: str, port: int
) -> None:
    blocked = json.dumps(
        {
            "update_id": 12,
            "my_chat_member": {
                "chat": {"id": 321, "type": "private", "first_name": "Web"},
                "from": {"id": 321, "is_bot": False, "first_name": "Web"},
                "date": 1_700_000_000,
                "old_chat_member": {"status": "member", "user": {"id": 1, "is_bot": True}},
                "new_chat_member": {"status": "kicked", "user": {"id": 1, "is_bot": True}},
            },
        }
    ).encode()
    async with running_relais(_env(bot_api, database_url, port)) as relais:
        # Busy after 0.2 s rather than 10: the database is locked for as long as it takes.
        await relais.db.writer.execute("PRAGMA busy_timeout=200")
        locker = await hold_lock(relais.settings.database_path, 60)
        try:
            assert await _exchange(*_post(port, blocked)) == 500
        finally:
            locker.kill()
            await locker.wait()
        assert await _exchange(*_post(port, blocked)) == 200


async def _refused(host: str, port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection(host, port)
    except ConnectionRefusedError:
        return True
    writer.close()
    return False


async def test_the_webhook_listens_on_loopback_unless_told_otherwise(
    bot_api: FakeBotAPI, database_url: str, port: int
) -> None:
    # 127.0.0.2 stands for "any other address of this machine": loopback, yet not 127.0.0.1.
    async with running_relais(_env(bot_api, database_url, port)):
        assert not await _refused("127.0.0.1", port)
        assert await _refused("127.0.0.2", port)
    other = _free_port()
    env = _env(bot_api, database_url, other, RELAIS_WEBHOOK_LISTEN="127.0.0.2")
    async with running_relais(env):
        assert await _refused("127.0.0.1", other)
        update = _update(6, 654, "/help")
        head = _head(other, len(update), SECRET)
        assert await _exchange("127.0.0.2", other, head, update) == 200
        await bot_api.wait_for_text(654, "Here is what I can do", timeout=10)


def test_the_listen_address_is_checked_at_start() -> None:
    assert Settings.from_env({}).webhook_listen == "127.0.0.1"
    assert Settings.from_env({"RELAIS_WEBHOOK_LISTEN": "::"}).webhook_listen == "::"
    with pytest.raises(ConfigError, match="RELAIS_WEBHOOK_LISTEN"):
        Settings.from_env({"RELAIS_WEBHOOK_LISTEN": "relais.example.org"})
