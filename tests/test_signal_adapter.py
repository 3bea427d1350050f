"""The Signal adapter's pieces: the event-stream parser, envelopes, numbered answers, and
how signal-cli's answers become outbox outcomes."""

from __future__ import annotations

import asyncio
import sqlite3
import string
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import ConfigError, Settings
from bot.messaging import Choice, Outbound, choices
from bot.services import Services
from bot.storage.db import Database, available_migrations
from bot.transports import (
    PermanentFailure,
    RateLimited,
    TransientFailure,
    Unreachable,
    signal_client,
)
from bot.transports import signal as signal_transport
from bot.transports.numbered import Board, Offer, resolve_numbered
from bot.transports.signal import (
    Captcha,
    SignalTransport,
    check_results,
    text_styles,
    to_inbound,
)
from bot.transports.signal_client import SignalClient, parse_sse
from tests.fakes.clock import FakeClock
from tests.fakes.signal_cli import ACCOUNT, FakeSignalCli

ANA = "a0a0a0a0-1111-4222-8333-444444444444"


async def lines(*items: str) -> AsyncIterator[str]:
    for item in items:
        yield item


async def test_sse_parser_skips_keepalives_and_joins_data_lines() -> None:
    stream = lines(":", "", "event:receive", 'data:{"a":1}', "", ":", "data: x", "data: y", "")
    assert [pair async for pair in parse_sse(stream)] == [
        ("receive", '{"a":1}'),
        ("message", "x\ny"),
    ]


def envelope(**data: Any) -> dict[str, Any]:
    return {
        "source": "+33612345678",
        "sourceNumber": "+33612345678",
        "sourceUuid": ANA,
        "sourceName": "\u202eAna Dupont",
        "timestamp": 1700000000123,
        "dataMessage": {"timestamp": 1700000000123, "message": "hello", **data},
    }


def test_an_envelope_becomes_a_private_message_keyed_by_timestamp_and_sender() -> None:
    inbound = to_inbound(envelope())
    assert inbound is not None
    assert (inbound.channel, inbound.user_id, inbound.chat_id, inbound.private) == (
        "signal",
        ANA,
        ANA,
        True,
    )
    assert inbound.text == "hello"
    assert inbound.first_name == "Ana"  # direction override stripped, first name only
    assert inbound.update_key == f"1700000000123:{ANA}"


@pytest.mark.parametrize(
    "ignored",
    [
        {"sourceUuid": ANA, "timestamp": 1, "receiptMessage": {"isDelivery": True}},
        {"sourceUuid": ANA, "timestamp": 1, "typingMessage": {"action": "STARTED"}},
        {"sourceUuid": ANA, "timestamp": 1, "syncMessage": {"sentMessage": {"message": "hi"}}},
        {"sourceUuid": ANA, "timestamp": 1, "dataMessage": {"message": ""}},
        {**envelope(), "sourceNumber": ACCOUNT},
        {
            **envelope(groupInfo={"groupId": "g=="}),
            "dataMessage": {"message": "help", "groupInfo": {"groupId": "g=="}},
        },
    ],
)
def test_what_relais_ignores(ignored: dict[str, Any]) -> None:
    assert to_inbound(ignored, account=ACCOUNT, commands={"help"}) is None


def test_a_slash_command_in_a_group_is_a_group_message() -> None:
    env = envelope(groupInfo={"groupId": "g=="})
    env["dataMessage"]["message"] = "/help"
    inbound = to_inbound(env, commands={"help"})
    assert inbound is not None
    assert (inbound.chat_id, inbound.private, inbound.command) == ("group:g==", False, "help")


def test_a_command_word_gets_its_slash_but_other_text_does_not() -> None:
    env = envelope()
    env["dataMessage"]["message"] = "Link abcd-efgh"
    inbound = to_inbound(env, commands={"link", "help"})
    assert inbound is not None and (inbound.command, inbound.args) == ("link", "abcd-efgh")
    env["dataMessage"]["message"] = "linking is great"
    inbound = to_inbound(env, commands={"link"})
    assert inbound is not None and inbound.command == "" and inbound.text == "linking is great"
    env["dataMessage"]["message"] = "STOP !"
    inbound = to_inbound(env, commands={"stop"})
    assert inbound is not None and (inbound.command, inbound.args) == ("stop", "")
    # The router decides whether more words make it a command or a sentence (test_command_words).
    env["dataMessage"]["message"] = "Stop, à la réforme"
    inbound = to_inbound(env, commands={"stop"})
    assert inbound is not None and inbound.command == "" and inbound.text == "Stop, à la réforme"
    env["dataMessage"]["message"] = "Stop à la réforme"
    inbound = to_inbound(env, commands={"stop"})
    assert inbound is not None and inbound.worded and inbound.text == "/Stop à la réforme"


def test_a_shown_choice_wins_over_a_command_word() -> None:
    env = envelope()
    env["dataMessage"]["message"] = "help"
    shown = Board((Offer("A", "1", ("x:help:1", "x:skip:1"), ("Help", "Skip")),))
    inbound = to_inbound(env, commands={"help"}, shown=shown)
    assert inbound is not None and inbound.choice == "x:help:1"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("1", "t:accept:7"),
        (" 2. ", "t:skip:7"),
        ("#2", "t:skip:7"),
        ("2️⃣", "t:skip:7"),
        ("ACCEPTÉ", "t:accept:7"),
        ("accepte", "t:accept:7"),
        ("plus tard", "t:later:7"),
        ("tard", "t:later:7"),
        ("3", "t:later:7"),
        ("4", ""),
        ("0", ""),
        ("1 2", ""),
        ("", ""),
        ("je ne sais pas", ""),
    ],
)
def test_numbered_answers(answer: str, expected: str) -> None:
    payloads = ["t:accept:7", "t:skip:7", "t:later:7"]
    labels = ["✅ Accepté", "<b>Passer</b>", "Plus tard"]
    assert resolve_numbered(answer, payloads, labels) == expected


def test_a_word_in_two_labels_is_ambiguous() -> None:
    assert resolve_numbered("task", ["a", "b"], ["Take the task", "Drop the task"]) == ""
    assert resolve_numbered("take", ["a", "b"], ["Take the task", "Drop the task"]) == "a"


@given(
    st.lists(
        st.text(alphabet=string.ascii_letters + "éà ", min_size=1, max_size=12).filter(
            lambda s: s.strip() and not s.strip().isdigit()
        ),
        min_size=1,
        max_size=8,
        unique_by=lambda s: " ".join(s.lower().split()),
    )
)
def test_every_choice_is_reachable_by_number_and_by_label(labels: list[str]) -> None:
    payloads = [f"p:{i}" for i in range(len(labels))]
    for index, label in enumerate(labels):
        assert resolve_numbered(str(index + 1), payloads, labels) == payloads[index]
        found = resolve_numbered(label.upper(), payloads, labels)
        # A label equal to another after dropping accents may match the first such one.
        assert found in payloads
    assert resolve_numbered(str(len(labels) + 1), payloads, labels) == ""


def test_a_group_message_counts_as_sent_when_anyone_got_it() -> None:
    check_results(
        {"results": [{"type": "UNREGISTERED_FAILURE"}, {"type": "SUCCESS"}], "timestamp": 1}
    )
    with pytest.raises(Unreachable):
        check_results({"results": [{"type": "UNREGISTERED_FAILURE"}]})
    with pytest.raises(PermanentFailure):
        check_results({"results": [{"type": "IDENTITY_FAILURE"}]})


# -- delivery outcomes against the fake daemon ----------------------------------------


class Transport:
    """A SignalTransport on the fake daemon, with its CAPTCHA reports collected."""

    def __init__(self, fake: FakeSignalCli, services: Services, url: str = "") -> None:
        self.captchas: list[Captcha] = []

        async def on_captcha(captcha: Captcha) -> None:
            self.captchas.append(captcha)

        async def dispatch(_inbound: Any) -> list[Outbound]:
            return []

        self.signal = SignalTransport(
            SignalClient(url or fake.url, ACCOUNT),
            dispatch,
            services.chats,
            account=ACCOUNT,
            clock=services.clock,
            on_captcha=on_captcha,
        )


@pytest.fixture
async def adapter(signal_cli: FakeSignalCli, services: Services) -> AsyncIterator[Transport]:
    transport = Transport(signal_cli, services)
    yield transport
    await transport.signal.client.close()


async def test_a_rate_limit_answer_asks_to_wait_and_pauses_every_send(
    adapter: Transport, signal_cli: FakeSignalCli
) -> None:
    signal_cli.fail_next("rate_limit", retry_after=7)
    with pytest.raises(RateLimited) as caught:
        await adapter.signal.deliver(ANA, Outbound("hello"))
    assert caught.value.retry_after == 7
    with pytest.raises(RateLimited):
        await adapter.signal.deliver("someone-else", Outbound("hello"))
    assert len(signal_cli.sent) == 1  # the second was not even tried


async def test_a_captcha_is_reported_once_per_pause(
    adapter: Transport, signal_cli: FakeSignalCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(signal_transport, "CAPTCHA_RETRY", 0.0)
    signal_cli.fail_next("captcha", count=2, token="tok", retry_after=0)
    for _ in range(2):
        with pytest.raises(RateLimited):
            await adapter.signal.deliver(ANA, Outbound("hello"))
    assert [c.token for c in adapter.captchas] == ["tok"]
    assert await adapter.signal.deliver(ANA, Outbound("hello"))
    signal_cli.fail_next("captcha", token="tok2", retry_after=0)
    with pytest.raises(RateLimited):
        await adapter.signal.deliver(ANA, Outbound("hello"))
    assert [c.token for c in adapter.captchas] == ["tok", "tok2"]


@pytest.mark.parametrize(
    ("fault", "error"), [("network", TransientFailure), ("internal", TransientFailure)]
)
async def test_failures_worth_retrying(
    adapter: Transport, signal_cli: FakeSignalCli, fault: str, error: type[Exception]
) -> None:
    signal_cli.fail_next(fault)
    with pytest.raises(error):
        await adapter.signal.deliver(ANA, Outbound("hello"))


async def test_an_unregistered_recipient_is_asked_only_once(
    adapter: Transport, signal_cli: FakeSignalCli
) -> None:
    signal_cli.unregistered.add(ANA)
    for _ in range(2):
        with pytest.raises(Unreachable):
            await adapter.signal.deliver(ANA, Outbound("hello"))
    assert len(signal_cli.sent) == 1


async def test_signal_cli_down_or_misaddressed_means_wait(
    signal_cli: FakeSignalCli, services: Services
) -> None:
    wrong = Transport(signal_cli, services, url=signal_cli.url + "/nope")
    with pytest.raises(RateLimited):
        await wrong.signal.deliver(ANA, Outbound("hello"))
    await wrong.signal.client.close()
    await signal_cli.go_down()
    down = Transport(signal_cli, services)
    with pytest.raises(RateLimited):
        await down.signal.deliver(ANA, Outbound("hello"))
    assert not await down.signal.client.check()
    await down.signal.client.close()


async def test_a_long_text_is_cut_and_the_choices_come_last(
    adapter: Transport, signal_cli: FakeSignalCli
) -> None:
    text = "\n".join(f"Ligne {i:03d} " + "x" * 60 for i in range(80))
    outbound = Outbound(text, choices=choices(Choice("Accept", "t:a:1")))
    await adapter.signal.deliver(ANA, outbound)
    parts = [m.message for m in signal_cli.sent]
    assert len(parts) == 3 and all(len(p) <= 2000 for p in parts)
    assert parts[-1].endswith("1. Accept\n(répondez par un numéro)")
    assert "\n".join(parts).count("Ligne") == 80


async def test_the_fake_daemon_checks_the_content_type(signal_cli: FakeSignalCli) -> None:
    async with httpx.AsyncClient(base_url=signal_cli.url) as http:
        refused = await http.post(
            "/api/v1/rpc", content=b"{}", headers={"Content-Type": "text/plain"}
        )
        wrong_method = await http.get("/api/v1/rpc")
        health = await http.get("/api/v1/check")
    assert (refused.status_code, wrong_method.status_code, health.status_code) == (415, 405, 200)


async def test_migration_0006_upgrades_a_database_with_volunteers(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    first = dict(available_migrations())[1]
    with sqlite3.connect(path) as conn:
        conn.executescript(first + "\nPRAGMA user_version = 1;")
        conn.execute(
            "INSERT INTO volunteers (status, language, created_at, last_active_at)"
            " VALUES ('active', 'fr', '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z')"
        )
    db = Database(path)
    await db.open()
    try:
        assert 6 in await db.migrate()
        assert await db.fetch_value("SELECT COUNT(*) FROM volunteers") == 1
        assert await db.fetch_value("SELECT COUNT(*) FROM link_codes") == 0
        assert await db.fetch_value("SELECT COUNT(*) FROM numbered_choices") == 0
    finally:
        await db.close()


@pytest.mark.parametrize(
    ("markup", "plain", "styles"),
    [
        ("<b>Task 7</b>: share", "Task 7: share", ["0:6:BOLD"]),
        ("🎉 <b>Go</b> <i>now</i>", "🎉 Go now", ["3:2:BOLD", "6:3:ITALIC"]),
        ("A &amp; <code>x&lt;y</code>", "A & x<y", ["4:3:MONOSPACE"]),
        (
            'Read <a href="https://x.org/?a=1&amp;b=2">the <b>post</b></a>!',
            "Read the post (https://x.org/?a=1&b=2)!",
            ["9:4:BOLD"],
        ),
        ("<b>unclosed", "unclosed", []),
        ("plain", "plain", []),
    ],
)
def test_markup_becomes_signal_text_styles(markup: str, plain: str, styles: list[str]) -> None:
    assert text_styles(markup) == (plain, styles)


async def test_bold_goes_out_as_a_signal_text_style(
    adapter: Transport, signal_cli: FakeSignalCli
) -> None:
    await adapter.signal.deliver(ANA, Outbound("<b>Task 7</b>: share the post"))
    assert signal_cli.sent[0].text_styles == ["0:6:BOLD"]


async def test_a_message_kept_up_to_date_is_edited_in_place(
    adapter: Transport, signal_cli: FakeSignalCli, clock: FakeClock
) -> None:
    signal_cli.set_time(int(clock.now().timestamp() * 1000))
    first = await adapter.signal.deliver(ANA, Outbound("Sent: 10/100"))
    again = await adapter.signal.deliver(ANA, Outbound("Sent: 50/100", edit_message_id=first))
    assert again == first
    assert [(m.message, m.edit_of) for m in signal_cli.sent] == [
        ("Sent: 10/100", 0),
        ("Sent: 50/100", int(first)),
    ]
    # A message Signal cannot edit any more is sent anew.
    fresh = await adapter.signal.deliver(ANA, Outbound("Sent: 100/100", edit_message_id="42"))
    assert fresh != "42" and signal_cli.sent[-1].edit_of == 0
    # Signal apps ignore edits of day-old messages: those are sent anew, without asking.
    clock.advance(hours=25)
    later = await adapter.signal.deliver(ANA, Outbound("Sent: 100/100", edit_message_id=first))
    assert later != first and signal_cli.sent[-1].edit_of == 0


async def test_a_silent_event_stream_is_taken_for_dead_and_reopened(
    adapter: Transport, signal_cli: FakeSignalCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(signal_client, "STREAM_SILENCE", 0.3)
    signal_cli.keepalive = 0.05
    adapter.signal.backoff = (0.05, 0.1)
    await adapter.signal.start()
    try:
        # signal-cli sends the stream's headers with its first keep-alive: once open...
        await asyncio.wait_for(adapter.signal.connected.wait(), 5)
        signal_cli.keepalive = 30  # ...it goes half-open: not even keep-alives arrive
        await signal_cli.wait_for_connections(2)
        # Reopened by the adapter itself, while still running: nobody restarted it.
        assert signal_cli.stream_connections >= 2 and adapter.signal.reconnects >= 1
    finally:
        await adapter.signal.stop()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("RELAIS_SIGNAL_RATE", "fast", "RELAIS_SIGNAL_RATE: expected messages per second"),
        ("RELAIS_SIGNAL_RATE", "0", "RELAIS_SIGNAL_RATE: expected messages per second"),
        ("SIGNAL_CLI_URL", "127.0.0.1:8080", "SIGNAL_CLI_URL: expected http://host:port"),
    ],
)
def test_bad_signal_settings_are_named(variable: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env({variable: value})


def test_signal_settings_default_to_a_slow_lane() -> None:
    settings = Settings.from_env({"SIGNAL_CLI_URL": "http://127.0.0.1:8080/"})
    assert (settings.signal_cli_url, settings.signal_rate) == ("http://127.0.0.1:8080", 0.5)
