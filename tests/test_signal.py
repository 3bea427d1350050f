"""Relais on Signal, end to end: the whole app against a fake signal-cli daemon on loopback.

What a Signal volunteer sees: commands with or without the slash, choices as a numbered
list answered by number or word, requests for a location or a number as text, pictures as
attachments; and what happens when Signal pushes back: rate limits, CAPTCHAs, unregistered
recipients, the event stream dropping, signal-cli down.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import handlers
from bot.app import Relais
from bot.messaging import Outbound
from bot.services import Services
from bot.storage.outbox import URGENT, Envelope
from bot.transports import signal as signal_transport
from tests import signal_demo_flow
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.clock import FakeClock
from tests.fakes.relais import running_relais, telegram_env
from tests.fakes.signal_cli import FakeSignalCli, signal_env

ANA = "a0a0a0a0-1111-4222-8333-444444444444"
BOB = "b0b0b0b0-1111-4222-8333-444444444444"
ADMIN_NUMBER = "+33611111111"
ADMIN_UUID = "ad000000-1111-4222-8333-444444444444"


@pytest.fixture(autouse=True)
def demo_flow(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register the test-only flow (offers, location, phone, chart) beside the real ones."""
    monkeypatch.setattr(handlers, "FLOWS", (*handlers.FLOWS, signal_demo_flow))


@pytest.fixture
async def signal_relais(
    signal_cli: FakeSignalCli, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[Relais]:
    env = signal_env(
        signal_cli, tmp_path / "relais.sqlite3", RELAIS_ADMINS=f"signal:{ADMIN_NUMBER}"
    )
    async with running_relais(env, clock) as relais:
        await signal_cli.wait_for_connections(1)
        yield relais


@contextlib.asynccontextmanager
async def time_passing(clock: FakeClock) -> AsyncIterator[None]:
    """Let the fake clock run (a second every 20 ms) so postponed outbox rows fall due."""

    async def tick() -> None:
        while True:
            await asyncio.sleep(0.02)
            clock.advance(seconds=1)

    task = asyncio.create_task(tick())
    try:
        yield
    finally:
        task.cancel()


def services_of(relais: Relais) -> Services:
    return relais.services


async def offer_to(relais: Relais, *uuids: str, ref: int = 1) -> None:
    await services_of(relais).send_later(
        Envelope("offer", "signal", uuid, signal_demo_flow.offer(7), ref_id=ref) for uuid in uuids
    )


async def outbox_statuses(relais: Relais) -> list[str]:
    rows = await services_of(relais).db.fetch_all("SELECT status FROM outbox ORDER BY id")
    return [row["status"] for row in rows]


async def settled_statuses(relais: Relais, timeout: float = 5.0) -> list[str]:
    """Outbox statuses once nothing is pending or being sent any more."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        statuses = await outbox_statuses(relais)
        if not {"pending", "sending"} & set(statuses) or loop.time() > deadline:
            return statuses
        await asyncio.sleep(0.02)


# -- commands, language -----------------------------------------------------------------


async def test_commands_work_with_or_without_the_slash(
    signal_relais: Relais, signal_cli: FakeSignalCli
) -> None:
    signal_cli.send_text(ANA, "start", name="Ana Dupont")
    reply = await signal_cli.wait_for_text(ANA, "Bonjour Ana !")
    assert "<" not in reply.message  # Relais markup is flattened to plain text
    signal_cli.send_text(ANA, "/help")
    await signal_cli.wait_for_text(ANA, "Voici ce que je sais faire")
    since = len(signal_cli.sent)
    signal_cli.send_text(ANA, "Help")
    await signal_cli.wait_for_text(ANA, "Voici ce que je sais faire", since=since)
    signal_cli.send_text(ANA, "cancel")  # leave the joining questions /start opened
    await signal_cli.wait_for_text(ANA, "Annulé")
    signal_cli.send_text(ANA, "bonjour ?")
    await signal_cli.wait_for_text(ANA, "Je n'ai pas compris")


async def test_english_campaign_speaks_english_on_signal(
    signal_cli: FakeSignalCli, tmp_path: Path, clock: FakeClock
) -> None:
    env = signal_env(signal_cli, tmp_path / "relais.sqlite3", RELAIS_LANGUAGE="en")
    async with running_relais(env, clock):
        await signal_cli.wait_for_connections(1)
        signal_cli.send_text(BOB, "start", name="Bob")
        await signal_cli.wait_for_text(BOB, "Hello Bob!")
        signal_cli.send_text(BOB, "where")
        reply = await signal_cli.wait_for_text(BOB, "Where are you?")
        assert "(send your location, or type your postcode)" in reply.message


async def test_a_replayed_message_is_answered_once(
    signal_relais: Relais, signal_cli: FakeSignalCli
) -> None:
    stamp = signal_cli.send_text(ANA, "help")
    await signal_cli.wait_for_text(ANA, "Voici ce que je sais faire")
    signal_cli.send_text(ANA, "help", timestamp=stamp)
    signal_cli.send_text(ANA, "start")
    await signal_cli.wait_for_text(ANA, "Bonjour")
    assert [m.message.startswith("Voici") for m in signal_cli.messages_to(ANA)] == [True, False]


async def test_in_groups_only_slash_commands_wake_relais(
    signal_relais: Relais, signal_cli: FakeSignalCli
) -> None:
    group = "Z3JvdXAtaWQtMTIzNDU2Nzg5MA=="
    signal_cli.send_text(ANA, "help me carry the leaflets", group_id=group)
    signal_cli.send_text(ANA, "/help", group_id=group)
    reply = await signal_cli.wait_for_text(f"group:{group}", "Voici ce que je sais faire")
    assert signal_cli.messages_to(f"group:{group}") == [reply]
    signal_cli.send_text(ANA, "/link", group_id=group)
    await signal_cli.wait_for_text(f"group:{group}", "en message privé")


async def test_an_admin_named_by_number_is_an_admin_on_signal(
    signal_relais: Relais, signal_cli: FakeSignalCli
) -> None:
    signal_cli.send_text(ADMIN_UUID, "help", number=ADMIN_NUMBER)
    reply = await signal_cli.wait_for_text(ADMIN_UUID, "Voici ce que je sais faire")
    # Help lists commands by section only for organizers and admins.
    assert "Pour tout le monde" in reply.message
    assert ADMIN_UUID in {i.user_id for i in signal_relais.settings.admins}
    signal_cli.send_text(BOB, "help", number="+33622222222")
    reply = await signal_cli.wait_for_text(BOB, "Voici ce que je sais faire")
    assert "Pour tout le monde" not in reply.message


# -- numbered choices -------------------------------------------------------------------


async def test_a_task_offer_is_taken_by_number_and_done_by_word(
    signal_relais: Relais, signal_cli: FakeSignalCli
) -> None:
    await offer_to(signal_relais, ANA)
    offer = await signal_cli.wait_for_text(ANA, "Task 7")
    assert "1. ✅ Accept\n2. Skip" in offer.message
    assert "• Read the post: https://example.org/post" in offer.message
    assert "(répondez par un numéro)" in offer.message
    signal_cli.send_text(ANA, "1")
    accepted = await signal_cli.wait_for_text(ANA, "Accepted task 7")
    assert "1. Done\n2. Give up" in accepted.message
    signal_cli.send_text(ANA, "done")
    await signal_cli.wait_for_text(ANA, "Well done, task 7 is complete!")
    # The choices are used up: a number now is plain text.
    signal_cli.send_text(ANA, "2")
    await signal_cli.wait_for_text(ANA, "Je n'ai pas compris")
    assert await settled_statuses(signal_relais) == ["sent"]


async def test_a_number_out_of_range_is_text_and_the_choices_stay(
    signal_relais: Relais, signal_cli: FakeSignalCli
) -> None:
    signal_cli.send_text(ANA, "offer")
    await signal_cli.wait_for_text(ANA, "Task 7")
    signal_cli.send_text(ANA, "3")
    await signal_cli.wait_for_text(ANA, "Je n'ai pas compris")
    # A number beyond the list chose nothing.
    assert not any("task 7" in m.message for m in signal_cli.messages_to(ANA))
    signal_cli.send_text(ANA, "offer")
    since = len(signal_cli.sent)
    signal_cli.send_text(ANA, "2️⃣")
    skipped = await signal_cli.wait_for_text(ANA, "Skipped task 7.", since=since)
    assert skipped.message == "Skipped task 7."


async def test_a_free_answer_after_choices_reaches_the_flow(
    signal_relais: Relais, signal_cli: FakeSignalCli
) -> None:
    signal_cli.send_text(ANA, "offer")
    await signal_cli.wait_for_text(ANA, "Task 7")
    signal_cli.send_text(ANA, "count")
    await signal_cli.wait_for_text(ANA, "How many doors")
    signal_cli.send_text(ANA, "2")
    await signal_cli.wait_for_text(ANA, "Counted 2")
    # "cancel" without its slash stops a flow, as /cancel does.
    signal_cli.send_text(ANA, "count")
    signal_cli.send_text(ANA, "Cancel")
    await signal_cli.wait_for_text(ANA, "Annulé. Rien de plus n'a été enregistré.")
    counted = [m.message for m in signal_cli.messages_to(ANA) if m.message.startswith("Counted")]
    assert counted == ["Counted 2"]  # "Cancel" was not taken for an answer


async def test_numbered_choices_survive_a_restart(
    signal_cli: FakeSignalCli, tmp_path: Path, clock: FakeClock
) -> None:
    env = signal_env(signal_cli, tmp_path / "relais.sqlite3")
    async with running_relais(env, clock) as relais:
        await signal_cli.wait_for_connections(1)
        await offer_to(relais, ANA)
        await signal_cli.wait_for_text(ANA, "Task 7")
        assert await settled_statuses(relais) == ["sent"]
    async with running_relais(env, clock):
        await signal_cli.wait_for_connections(2)
        signal_cli.send_text(ANA, "2")
        await signal_cli.wait_for_text(ANA, "Skipped task 7.")


# -- requests and files -----------------------------------------------------------------


async def test_a_location_request_accepts_coordinates_a_map_link_or_a_postcode(
    signal_relais: Relais, signal_cli: FakeSignalCli
) -> None:
    signal_cli.send_text(ANA, "where")
    question = await signal_cli.wait_for_text(ANA, "Where are you?")
    assert "(envoyez votre position, ou tapez votre code postal)" in question.message
    signal_cli.send_text(ANA, "48,8566 ; 2,3522")
    await signal_cli.wait_for_text(ANA, "Location 48.86, 2.35")
    signal_cli.send_text(ANA, "where")
    signal_cli.send_text(ANA, "https://maps.google.com/maps?q=45.7640%2C4.8357")
    await signal_cli.wait_for_text(ANA, "Location 45.76, 4.84")
    signal_cli.send_text(ANA, "where")
    signal_cli.send_text(ANA, "75011")
    await signal_cli.wait_for_text(ANA, "Place 75011")


async def test_a_phone_request_takes_a_typed_number_or_ones_own_contact_card(
    signal_relais: Relais, signal_cli: FakeSignalCli
) -> None:
    signal_cli.send_text(ANA, "phone")
    question = await signal_cli.wait_for_text(ANA, "Your number?")
    assert "(tapez votre numéro de téléphone)" in question.message
    signal_cli.send_text(ANA, "06 12 34 56 78")
    await signal_cli.wait_for_text(ANA, "Phone 06 12 34 56 78")
    card = [{"phone": [{"value": "+33 6 99 99 99 99", "type": "MOBILE"}]}]
    signal_cli.send_text(ANA, "phone", number="+33699999999")
    signal_cli.send_text(ANA, "", number="+33699999999", contacts=card)
    await signal_cli.wait_for_text(ANA, "Phone +33 6 99 99 99 99")
    # Someone else's card is just text, not the sender's own number.
    signal_cli.send_text(ANA, "phone", number="+33699999999")
    other = [{"phone": [{"value": "+33 7 00 00 00 00"}]}]
    signal_cli.send_text(ANA, "", number="+33699999999", contacts=other)
    await signal_cli.wait_for_text(ANA, "Text +33 7 00 00 00 00")


async def test_a_chart_goes_out_as_a_picture_attachment(
    signal_relais: Relais, signal_cli: FakeSignalCli
) -> None:
    signal_cli.send_text(ANA, "chart")
    sent = await signal_cli.wait_for_text(ANA, "Your chart")
    assert sent.message == "Your chart"
    assert sent.text_styles == ["5:5:BOLD"]
    assert sent.attachments == [("image/png", "chart.png", signal_demo_flow.PNG)]


# -- limits and faults ------------------------------------------------------------------


async def test_a_broadcast_pauses_on_a_rate_limit_and_resumes(
    signal_relais: Relais, signal_cli: FakeSignalCli, clock: FakeClock
) -> None:
    people = [f"c0c0c0c0-1111-4222-8333-00000000000{i}" for i in range(4)]
    signal_cli.fail_next("rate_limit", retry_after=1)
    await offer_to(signal_relais, *people)
    async with time_passing(clock):
        for person in people:
            await signal_cli.wait_for_text(person, "Task 7")
    assert await settled_statuses(signal_relais) == ["sent"] * 4
    # Nothing was tried during the pause: one refusal, then one message per person.
    assert [m.error for m in signal_cli.sent] == ["rate_limit", "", "", "", ""]
    assert sorted(m.recipient for m in signal_cli.sent if m.ok) == people


async def test_a_reply_refused_by_a_rate_limit_comes_later_through_the_outbox(
    signal_relais: Relais, signal_cli: FakeSignalCli, clock: FakeClock
) -> None:
    signal_cli.fail_next("rate_limit", retry_after=1)
    signal_cli.send_text(ANA, "offer")
    async with time_passing(clock):
        await signal_cli.wait_for_text(ANA, "Task 7")
    signal_cli.send_text(ANA, "accept")
    await signal_cli.wait_for_text(ANA, "Accepted task 7")
    # Refused once, then delivered once: nothing dropped, nothing doubled.
    offers = [m.error for m in signal_cli.sent if "Task 7" in m.message]
    assert offers == ["rate_limit", ""]


async def test_the_event_stream_drops_and_relais_reconnects(
    signal_relais: Relais, signal_cli: FakeSignalCli
) -> None:
    signal_cli.drop_stream()
    await signal_cli.wait_for_connections(2)
    signal_cli.send_text(ANA, "help")
    await signal_cli.wait_for_text(ANA, "Voici ce que je sais faire")
    # The message sent after the reconnection was read once, on the new stream.
    helps = [m for m in signal_cli.messages_to(ANA) if "Voici ce que je sais faire" in m.message]
    assert len(helps) == 1 and signal_cli.stream_connections == 2


async def test_an_unregistered_recipient_is_marked_unreachable(
    signal_relais: Relais, signal_cli: FakeSignalCli, clock: FakeClock
) -> None:
    services = services_of(signal_relais)
    gone = await services.volunteers.create("signal", BOB, BOB, "fr", "Bob")
    signal_cli.unregistered.add(BOB)
    await offer_to(signal_relais, BOB, ref=1)
    await offer_to(signal_relais, BOB, ANA, ref=2)
    await signal_cli.wait_for_text(ANA, "Task 7")
    assert [m.error for m in signal_cli.sent if m.recipient == BOB] == ["unregistered"]
    assert await settled_statuses(signal_relais) == ["blocked", "blocked", "sent"]
    assert await services.volunteers.addresses(gone.id) == []
    # Writing again (a while later) makes the person reachable again.
    clock.advance(minutes=11)
    signal_cli.unregistered.discard(BOB)
    signal_cli.send_text(BOB, "help")
    await signal_cli.wait_for_text(BOB, "Voici")
    assert [a.chat_id for a in await services.volunteers.addresses(gone.id)] == [BOB]


async def test_a_captcha_pauses_signal_and_tells_the_admins_once(
    signal_cli: FakeSignalCli, bot_api: FakeBotAPI, tmp_path: Path, clock: FakeClock
) -> None:
    env = {
        **telegram_env(bot_api, tmp_path / "relais.sqlite3"),
        **signal_env(signal_cli, tmp_path / "relais.sqlite3"),
        "RELAIS_ADMINS": "telegram:1",
    }
    async with running_relais(env, clock) as relais:
        await signal_cli.wait_for_connections(1)
        signal_cli.fail_next("captcha", count=2, token="tok-123", retry_after=1)
        await offer_to(relais, ANA, BOB)
        notice = await bot_api.wait_for_text(1, "CAPTCHA")
        assert "signal-cli -a +33600000000 submitRateLimitChallenge --challenge tok-123" in (
            notice.text or ""
        )
        assert "https://signalcaptchas.org/challenge/generate.html" in (notice.text or "")
        async with time_passing(clock):
            await signal_cli.wait_for_text(ANA, "Task 7")
            await signal_cli.wait_for_text(BOB, "Task 7")
        assert [m.error for m in signal_cli.sent][:2] == ["captcha", "captcha"]
        notices = [c for c in bot_api.messages_to(1) if "CAPTCHA" in (c.text or "")]
        assert len(notices) == 1
        # Telegram kept working all along.
        bot_api.send_text(1, "/help", language_code="fr")
        await bot_api.wait_for_text(1, "Voici ce que je sais faire")


async def test_when_signal_cli_is_down_telegram_works_and_signal_waits(
    signal_cli: FakeSignalCli,
    bot_api: FakeBotAPI,
    tmp_path: Path,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(signal_transport, "DOWN_RETRY", 0.2)
    env = {
        **telegram_env(bot_api, tmp_path / "relais.sqlite3"),
        **signal_env(signal_cli, tmp_path / "relais.sqlite3"),
    }
    async with running_relais(env, clock) as relais:
        await signal_cli.wait_for_connections(1)
        await signal_cli.go_down()
        await offer_to(relais, ANA)
        bot_api.send_text(42, "/start", first_name="Sam", language_code="en")
        await bot_api.wait_for_text(42, "Hello Sam")
        assert await outbox_statuses(relais) in (["pending"], ["sending"])
        await signal_cli.come_back()
        async with time_passing(clock):
            await signal_cli.wait_for_text(ANA, "Task 7", timeout=10)
        await signal_cli.wait_for_connections(2, timeout=10)
        assert await settled_statuses(relais) == ["sent"]


async def test_an_urgent_notice_jumps_the_signal_queue(
    signal_relais: Relais, signal_cli: FakeSignalCli, clock: FakeClock
) -> None:
    signal_cli.fail_next("rate_limit", retry_after=1)
    await offer_to(signal_relais, ANA)
    await signal_cli.wait_for(lambda m: m.error == "rate_limit")
    await offer_to(signal_relais, BOB, ref=2)
    await services_of(signal_relais).send_later(
        [Envelope("alert", "signal", BOB, Outbound("Alerte : riposte"), priority=URGENT)]
    )
    async with time_passing(clock):
        await signal_cli.wait_for_text(ANA, "Task 7")
        await signal_cli.wait_for_text(BOB, "Task 7")
    delivered = [m.message.split("\n")[0] for m in signal_cli.sent if m.ok]
    assert delivered[0] == "Alerte : riposte"


async def test_on_signal_a_page_goes_first_then_a_persons_answer_then_the_rest(
    signal_relais: Relais, signal_cli: FakeSignalCli, clock: FakeClock
) -> None:
    carol = "c1c1c1c1-1111-4222-8333-444444444444"
    signal_cli.fail_next("rate_limit", retry_after=1)
    await offer_to(signal_relais, ANA)
    await signal_cli.wait_for(lambda m: m.error == "rate_limit")
    # While Signal makes the lane wait: another offer, someone asking for help, a page.
    await offer_to(signal_relais, BOB, ref=2)
    signal_cli.send_text(carol, "help", name="Carol")
    await services_of(signal_relais).send_later(
        [Envelope("alert", "signal", BOB, Outbound("Alerte : riposte"), priority=URGENT)]
    )
    async with time_passing(clock):
        await signal_cli.wait_for_text(ANA, "Task 7")
        await signal_cli.wait_for_text(BOB, "Task 7")
    delivered = [(m.recipient, m.message.split("\n")[0]) for m in signal_cli.sent if m.ok]
    assert delivered[0] == (BOB, "Alerte : riposte")
    assert delivered[1][0] == carol and "Voici ce que je sais faire" in delivered[1][1]
    assert [who for who, _text in delivered[2:]] == [ANA, BOB]
