"""Relais's Signal adapter against the real signal-cli daemon, and the fake held to the same
answers.

The real daemon (tests/real_signal_cli.py) holds no account and cannot reach Signal, so
what can be checked is every answer that does not need Signal's servers: the health
check, `version`, `listAccounts`, the event stream, and the errors of each call the
adapter makes (`send`, `getAttachment`) for an account the daemon does not hold. Each
check runs on the real daemon and on the fake in the same state (no account), with the
same assertions, so the fake cannot drift from signal-cli. Then Relais itself starts on
both and says in one line that its Signal account is not registered, and how to fix it;
on the fake holding the account it says nothing of the sort. Relais starts on a SQLite
file and on PostgreSQL (tests/postgres.py), where it runs as one of several processes: the
Signal reader is then an elected role, and it says the same.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.messaging import InboundFile, Outbound
from bot.services import Services
from bot.transports import PermanentFailure, RateLimited
from bot.transports.signal import SignalTransport
from bot.transports.signal_client import (
    METHOD_NOT_FOUND,
    RpcError,
    SignalClient,
    SignalCliHttpError,
)
from tests.fakes.relais import running_relais
from tests.fakes.signal_cli import ACCOUNT, FakeSignalCli, signal_env
from tests.real_signal_cli import VERSION, RealSignalCli, open_event_stream

ANA = "a0a0a0a0-1111-4222-8333-444444444444"
NOT_HELD = "+33699999999"
REGISTER_HINT = f"`signal-cli -a {NOT_HELD} register`"
LINK_HINT = "`signal-cli link -n Relais`"


class Daemon:
    """A signal-cli daemon holding no account: the real one, or the fake in that state."""

    def __init__(self, url: str, real: RealSignalCli | None = None) -> None:
        self.url = url
        self.real = real

    def client(self, account: str = "") -> SignalClient:
        return SignalClient(self.url, account)

    async def post(self, body: bytes, content_type: str = "application/json") -> httpx.Response:
        async with httpx.AsyncClient() as http:
            return await http.post(
                self.url + "/api/v1/rpc", content=body, headers={"Content-Type": content_type}
            )


@pytest.fixture(params=["real", "fake"])
async def daemon(request: pytest.FixtureRequest) -> AsyncIterator[Daemon]:
    if request.param == "real":
        real: RealSignalCli = request.getfixturevalue("real_signal_cli")
        yield Daemon(real.url, real)
        return
    async with FakeSignalCli() as fake:
        fake.accounts = []  # the state of a fresh daemon, like the real one here
        yield Daemon(fake.url)


async def rpc_error(client: SignalClient, method: str, params: dict[str, Any]) -> RpcError:
    try:
        with pytest.raises(RpcError) as caught:
            await client.rpc(method, params)
    finally:
        await client.close()
    return caught.value


# -- what the daemon itself answers -----------------------------------------------------


async def test_the_health_check_answers(daemon: Daemon) -> None:
    client = daemon.client(NOT_HELD)
    assert await client.check()
    await client.close()


async def test_version_names_the_signal_cli_release(daemon: Daemon) -> None:
    client = daemon.client(NOT_HELD)  # the account is not sent: version is not about one
    assert await client.version() == VERSION
    await client.close()


async def test_list_accounts_is_a_list_of_numbers(daemon: Daemon) -> None:
    client = daemon.client(NOT_HELD)
    assert await client.rpc("listAccounts") == []  # a fresh daemon holds none
    assert await client.accounts() == []
    await client.close()


# -- the calls the adapter makes, for an account the daemon does not hold ---------------

CALLS = [
    ("send", {"recipient": [ANA], "message": "Bonjour", "textStyle": ["0:7:BOLD"]}),
    ("send", {"groupId": "Z3JvdXA=", "message": "Bonjour"}),
    ("send", {"recipient": [ANA], "message": "Bonjour", "editTimestamp": 1700000000000}),
    ("send", {"recipient": [ANA], "message": "", "attachments": ["data:text/plain;base64,eA=="]}),
    ("getAttachment", {"id": "att1.bin"}),
]


@pytest.mark.parametrize(("method", "params"), CALLS, ids=[c[0] for c in CALLS])
async def test_a_call_for_an_account_not_held_says_it_does_not_exist(
    daemon: Daemon, method: str, params: dict[str, Any]
) -> None:
    error = await rpc_error(daemon.client(NOT_HELD), method, params)
    assert (error.code, error.message, error.data) == (
        -32602,
        "Specified account does not exist",
        None,
    )
    assert error.unknown_account and error.results == []


@pytest.mark.parametrize(("method", "params"), CALLS[:1] + CALLS[-1:], ids=["send", "file"])
async def test_a_call_naming_no_account_is_refused_when_the_daemon_holds_none(
    daemon: Daemon, method: str, params: dict[str, Any]
) -> None:
    error = await rpc_error(daemon.client(), method, params)
    assert (error.code, error.message) == (-32602, "Method requires valid account parameter")
    assert error.unknown_account


async def test_an_unknown_method_is_not_implemented(daemon: Daemon) -> None:
    error = await rpc_error(daemon.client(NOT_HELD), "sendSmokeSignal", {})
    assert (error.code, error.message) == (METHOD_NOT_FOUND, "Method not implemented")


async def test_the_http_answers_around_json_rpc(daemon: Daemon) -> None:
    notification = await daemon.post(b'{"jsonrpc":"2.0","method":"version"}')
    assert (notification.status_code, notification.content) == (201, b"")
    assert (await daemon.post(b"{}", content_type="text/plain")).status_code == 415
    async with httpx.AsyncClient() as http:
        assert (await http.get(daemon.url + "/api/v1/rpc")).status_code == 405
    garbled = (await daemon.post(b"not json")).json()
    assert (garbled["error"]["code"], garbled["id"]) == (-32700, None)
    old = (await daemon.post(b'{"jsonrpc":"1.0","method":"version","id":4}')).json()
    assert old["error"] == {
        "code": -32600,
        "message": "only jsonrpc version 2.0 is supported",
        "data": None,
    }
    assert old["id"] == 4


# -- the event stream -------------------------------------------------------------------


async def test_the_event_stream_of_an_account_not_held_is_refused(daemon: Daemon) -> None:
    with pytest.raises(SignalCliHttpError) as caught:
        await open_event_stream(daemon.url, NOT_HELD)
    assert caught.value.status == 400


async def test_the_event_stream_opens_with_its_first_keepalive(daemon: Daemon) -> None:
    if daemon.real is None:
        assert await open_event_stream(daemon.url)
        return
    # The real daemon writes nothing, headers included, until its first keep-alive 15 s
    # in: a thread opened the stream when the daemon booted.
    assert await asyncio.to_thread(daemon.real.stream_probe) == "opened"


# -- what Relais makes of it ------------------------------------------------------------


async def test_a_message_waits_in_the_outbox_while_the_account_is_not_registered(
    daemon: Daemon, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    async def dispatch(_inbound: Any) -> list[Outbound]:
        return []

    transport = SignalTransport(daemon.client(NOT_HELD), dispatch, services.chats, account=NOT_HELD)
    with caplog.at_level(logging.ERROR, logger="bot.transports.signal"):
        for _ in range(2):
            with pytest.raises(RateLimited):  # not a failure: retried, attempts kept
                await transport.deliver(ANA, Outbound("Bonjour"))
    with pytest.raises(PermanentFailure):
        await transport.download(InboundFile("photo", "att1.bin"))
    await transport.client.close()
    assert transport.registered is False
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and REGISTER_HINT in lines[0] and LINK_HINT in lines[0]


def registration_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and "register" in r.getMessage()
    ]


async def test_relais_says_at_start_that_its_signal_account_is_not_registered(
    daemon: Daemon, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    env = {
        "SIGNAL_CLI_URL": daemon.url,
        "SIGNAL_ACCOUNT": NOT_HELD,
        "DATABASE_URL": database_url,
        "RELAIS_PSEUDONYM_KEY": "test-key",
    }
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="bot.transports.signal")
    async with running_relais(env) as relais:
        assert relais.signal is not None and relais.signal.registered is False
        # The event stream is refused too, quietly: the line above was enough.
        await wait_for_log(caplog, "event stream refused")
    (line,) = registration_lines(caplog)
    assert f"Signal account {NOT_HELD} is not registered in signal-cli at {daemon.url}" in line
    assert "(it holds: none)" in line
    assert REGISTER_HINT in line and LINK_HINT in line
    messages = [r.getMessage() for r in caplog.records]
    assert "Relais is running (signal: account not registered, see above)" in messages
    assert not any("Signal event stream connected" in m for m in messages)


async def test_relais_on_a_daemon_holding_its_account_says_it_is_ready(
    signal_cli: FakeSignalCli, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.transports.signal")
    async with running_relais(signal_env(signal_cli, database_url)) as relais:
        assert relais.signal is not None
        await asyncio.wait_for(relais.signal.connected.wait(), 5)
        assert relais.signal.registered is True
        signal_cli.send_text(ANA, "/help")
        await signal_cli.wait_for(lambda m: m.recipient == ANA)
    assert registration_lines(caplog) == []
    assert any(f"Signal account {ACCOUNT} is ready" in r.getMessage() for r in caplog.records)
    # Every call named the account, as a daemon holding several needs.
    sends = [c for c in signal_cli.calls if c["method"] == "send"]
    assert sends and all(c["params"]["account"] == ACCOUNT for c in sends)


async def test_relais_without_signal_account_on_a_daemon_holding_several_says_so(
    signal_cli: FakeSignalCli, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    signal_cli.accounts = [ACCOUNT, "+33611112222"]
    env = {**signal_env(signal_cli, database_url), "SIGNAL_ACCOUNT": ""}
    async with running_relais(env) as relais:
        assert relais.signal is not None and relais.signal.registered is False
    (line,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert re.search(r"SIGNAL_ACCOUNT is not set .* holds 2 accounts \(\+33600000000, ", line)


async def wait_for_log(caplog: pytest.LogCaptureFixture, text: str, timeout: float = 10) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not any(text in r.getMessage() for r in caplog.records):
        if loop.time() > deadline:
            seen = json.dumps([r.getMessage() for r in caplog.records][-5:], indent=1)
            raise AssertionError(f"no log line with {text!r} within {timeout}s: {seen}")
        await asyncio.sleep(0.02)
