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

import pytest

from bot.app import Relais
from bot.domain.tasks import Task, TaskDraft
from bot.messaging import Outbound
from bot.services import Services
from bot.services.people import Actor
from bot.storage.outbox import URGENT, Envelope
from bot.storage.tasks import TaskRepository
from bot.task_text import offer_card
from bot.transports import signal as signal_transport
from bot.transports.signal import to_inbound
from tests.factories import make_volunteer
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.clock import FakeClock
from tests.fakes.relais import running_relais, telegram_env
from tests.fakes.signal_cli import FakeSignalCli, signal_env

ANA = "a0a0a0a0-1111-4222-8333-444444444444"
BOB = "b0b0b0b0-1111-4222-8333-444444444444"
ADMIN_NUMBER = "+33611111111"
ADMIN_UUID = "ad000000-1111-4222-8333-444444444444"


@pytest.fixture
async def signal_relais(
    signal_cli: FakeSignalCli, database_url: str, clock: FakeClock
) -> AsyncIterator[Relais]:
    env = signal_env(signal_cli, database_url, RELAIS_ADMINS=f"signal:{ADMIN_NUMBER}")
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


async def a_task(relais: Relais, kind: str = "custom", title: str = "Coller une affiche") -> Task:
    return await services_of(relais).tasks.create(Actor.system(), TaskDraft(kind=kind, title=title))


async def offer_to(relais: Relais, *uuids: str, ref: int = 1) -> None:
    """A real task card offered through the outbox, as the offer job sends it."""
    services = services_of(relais)
    task = await TaskRepository(relais.db).get(1) or await a_task(relais)
    card = offer_card(task, "", services.settings.timezone, offered=True)
    await services.notifier.send(
        Envelope("offer", "signal", uuid, card, ref_id=ref) for uuid in uuids
    )


async def outbox_statuses(relais: Relais, kind: str = "") -> list[str]:
    """Signal's outbox rows, or those of one kind (answers to a step that changed something
    are rows too, written with its change)."""
    rows = await services_of(relais).db.fetch_all(
        "SELECT status FROM outbox WHERE channel = 'signal' AND (kind = :kind OR :kind = '')"
        " ORDER BY id",
        {"kind": kind},
    )
    return [row["status"] for row in rows]


async def settled_statuses(relais: Relais, timeout: float = 5.0, *, kind: str = "") -> list[str]:
    """Outbox statuses once nothing is pending or being sent any more."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        statuses = await outbox_statuses(relais, kind)
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
    await signal_cli.wait_for_text(ANA, "Pour nous rejoindre, envoyez /start.")
    signal_cli.send_text(ANA, "aide")  # French command words work without the slash too
    await signal_cli.wait_for_text(ANA, "Voici ce que je sais faire", since=len(signal_cli.sent))


async def test_english_campaign_speaks_english_on_signal(
    signal_cli: FakeSignalCli, database_url: str, clock: FakeClock
) -> None:
    env = signal_env(signal_cli, database_url, RELAIS_LANGUAGE="en")
    async with running_relais(env, clock):
        await signal_cli.wait_for_connections(1)
        signal_cli.send_text(BOB, "start", name="Bob")
        reply = await signal_cli.wait_for_text(BOB, "Hello Bob!")
        assert "(reply with a number)" in reply.message


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
    assert ADMIN_UUID in {i.user_id for i in signal_relais.services.admins}
    signal_cli.send_text(BOB, "help", number="+33622222222")
    reply = await signal_cli.wait_for_text(BOB, "Voici ce que je sais faire")
    assert "Pour tout le monde" not in reply.message


# -- numbered choices: the real task flows ----------------------------------------------


async def ana_joined(relais: Relais) -> None:
    await make_volunteer(services_of(relais), ANA, channel="signal", first_name="Ana")


async def test_a_task_offer_is_taken_by_number_and_done_by_word(
    signal_relais: Relais, signal_cli: FakeSignalCli
) -> None:
    await ana_joined(signal_relais)
    await offer_to(signal_relais, ANA)
    offer = await signal_cli.wait_for_text(ANA, "Coller une affiche")
    assert "A1. ✅ Accepter\nA2. Passer\nA3. ⏰ Plus tard" in offer.message
    assert "(répondez par un numéro)" in offer.message
    signal_cli.send_text(ANA, "1")
    accepted = await signal_cli.wait_for_text(ANA, "Voici quoi faire")
    # Worded for Signal: there is no button to touch.
    assert "Touchez" not in accepted.message and "Répondez « Fait »" in accepted.message
    signal_cli.send_text(ANA, "fait")
    await signal_cli.wait_for_text(ANA, "+1 point")
    # The offer's choices are used up: its numbers now say so and change nothing.
    signal_cli.send_text(ANA, "A1")
    await signal_cli.wait_for_text(ANA, "Ce choix a expiré")
    assert await settled_statuses(signal_relais, kind="offer") == ["sent"]
    # The answers to "1" and "fait" were written with what they changed, then sent once.
    answers = await settled_statuses(signal_relais, kind="reply")
    assert answers and set(answers) == {"sent"}
    assert (
        await services_of(signal_relais).db.fetch_value(
            "SELECT COUNT(*) FROM assignments WHERE state = 'done'"
        )
        == 1
    )


async def test_a_number_out_of_range_is_text_and_the_choices_stay(
    signal_relais: Relais, signal_cli: FakeSignalCli
) -> None:
    await ana_joined(signal_relais)
    await a_task(signal_relais)
    await a_task(signal_relais, title="Distribuer des tracts")
    signal_cli.send_text(ANA, "task")
    await signal_cli.wait_for_text(ANA, "Coller une affiche")
    signal_cli.send_text(ANA, "7")
    await signal_cli.wait_for_text(ANA, "Je n'ai pas compris")
    signal_cli.send_text(ANA, "2️⃣")  # still the card's second choice: Skip
    await signal_cli.wait_for_text(ANA, "Distribuer des tracts")


async def test_a_count_is_the_number_typed_never_a_position_in_a_list(
    signal_relais: Relais, signal_cli: FakeSignalCli
) -> None:
    await ana_joined(signal_relais)
    await a_task(signal_relais, kind="text", title="Écrire à des amis")
    signal_cli.send_text(ANA, "task")
    await signal_cli.wait_for_text(ANA, "Écrire à des amis")
    signal_cli.send_text(ANA, "1")
    await signal_cli.wait_for_text(ANA, "Voici quoi faire")
    signal_cli.send_text(ANA, "1")  # Done
    question = await signal_cli.wait_for_text(ANA, "À combien de personnes")
    assert "1." not in question.message  # no list of numbers to pick from
    signal_cli.send_text(ANA, "²")
    await signal_cli.wait_for_text(ANA, "nombre entier")
    signal_cli.send_text(ANA, "3")
    await signal_cli.wait_for_text(ANA, "+1 point")
    reached = await services_of(signal_relais).db.fetch_value("SELECT people_reached FROM outcomes")
    assert reached == 3


async def test_a_page_that_comes_while_a_count_is_asked_leaves_the_number_to_the_count(
    signal_relais: Relais, signal_cli: FakeSignalCli
) -> None:
    """Léa types a riposte's target when a page arrives: "2" is still her target, and the
    page's choices are answered by their letter, as the page itself says."""
    services = services_of(signal_relais)
    await make_volunteer(services, BOB, channel="signal", first_name="Léa", role="comms")
    await ana_joined(signal_relais)
    for typed, answer in [
        ("/duty on", "permanence"),
        ("/riposte", "lien"),
        ("https://example.org/reponse", "texte"),
        ("Partagez notre réponse", "Combien de militants"),
    ]:
        since = len(signal_cli.sent)
        signal_cli.send_text(BOB, typed)
        await signal_cli.wait_for_text(BOB, answer, since=since)
    signal_cli.send_text(ANA, "/alerte https://x.com/Opposant/status/1862512345678901234 vite")
    page = await signal_cli.wait_for_text(BOB, "Alerte n° 1")
    assert "(une question plus haut attend encore votre réponse" in page.message
    assert "(répondez par un numéro)" not in page.message
    tag = page.message.split("1. ✋", 1)[0][-1]
    signal_cli.send_text(BOB, "2")
    # Before: "↪ B2 · 🚫 Pas pertinent", the incident dismissed and the riposte still waiting.
    await signal_cli.wait_for_text(BOB, "Objectif : 2")
    assert await services.db.fetch_value("SELECT status FROM incidents") == "new"
    since = len(signal_cli.sent)
    signal_cli.send_text(BOB, f"{tag}1")
    taken = await signal_cli.wait_for_text(BOB, f"↪ {tag}1 · ✋ Je m'en occupe", since=since)
    assert await services.db.fetch_value("SELECT status FROM incidents") == "taken"
    # No button to touch on Signal: the next steps are answered by their names or numbers.
    assert "puis répondez « Traitée »" in taken.message and "ouchez" not in taken.message


async def test_each_card_on_screen_is_answered_by_letter_or_by_quoting_it(
    signal_relais: Relais, signal_cli: FakeSignalCli
) -> None:
    await ana_joined(signal_relais)
    first = await a_task(signal_relais, title="Coller une affiche")
    second = await a_task(signal_relais, title="Distribuer des tracts")
    services = services_of(signal_relais)
    volunteer = await services.volunteers.by_identity("signal", ANA)
    assert volunteer is not None
    await services.tasks.accept(volunteer.id, first.id)
    await services.tasks.accept(volunteer.id, second.id)
    signal_cli.send_text(ANA, "mytasks")
    card_a = await signal_cli.wait_for_text(ANA, "Coller une affiche")
    card_b = await signal_cli.wait_for_text(ANA, "Distribuer des tracts")
    assert "A1. ✅ Fait" in card_a.message and "B1. ✅ Fait" in card_b.message
    # "A2" reaches the older card (Can't on the poster), and Relais says which it took.
    signal_cli.send_text(ANA, "A2")
    gave_up = await signal_cli.wait_for_text(ANA, "Pas de souci")
    assert gave_up.message.startswith("↪ A2 · Impossible")
    # Quoting the other card answers that one, whatever the number's letter.
    signal_cli.send_text(ANA, "1", quote=card_b.timestamp)
    await signal_cli.wait_for_text(ANA, "+1 point")
    rows = await services.db.fetch_all("SELECT task_id, state FROM assignments ORDER BY task_id")
    assert [(r["task_id"], r["state"]) for r in rows] == [
        (first.id, "cant"),
        (second.id, "done"),
    ]


async def test_numbered_choices_survive_a_restart(
    signal_cli: FakeSignalCli, database_url: str, clock: FakeClock
) -> None:
    env = signal_env(signal_cli, database_url)
    async with running_relais(env, clock) as relais:
        await signal_cli.wait_for_connections(1)
        await ana_joined(relais)
        await a_task(relais)
        await a_task(relais, title="Distribuer des tracts")
        await offer_to(relais, ANA)
        await signal_cli.wait_for_text(ANA, "Coller une affiche")
        assert await settled_statuses(relais) == ["sent"]
    async with running_relais(env, clock) as relais:
        await signal_cli.wait_for_connections(2)
        signal_cli.send_text(ANA, "2")
        await signal_cli.wait_for_text(ANA, "Distribuer des tracts")
        # A letter nothing on screen has: expired, nothing changed.
        signal_cli.send_text(ANA, "K3")
        await signal_cli.wait_for_text(ANA, "Ce choix a expiré")


async def test_a_number_with_nothing_on_screen_says_the_choice_expired(
    signal_relais: Relais, signal_cli: FakeSignalCli
) -> None:
    await ana_joined(signal_relais)
    signal_cli.send_text(ANA, "1")
    await signal_cli.wait_for_text(ANA, "Ce choix a expiré. Rien n'a été modifié.")


@pytest.mark.parametrize("erasure", ["command line", "retention"])
async def test_an_erasure_outside_the_chat_leaves_none_of_their_lists_in_memory(
    signal_relais: Relais, signal_cli: FakeSignalCli, erasure: str
) -> None:
    """`python -m bot forget` (here run in the bot's process) and the retention job erase
    outside any update of the chat: the adapter forgets the lists it kept for that chat
    (they quote the person) as /forget in the chat does. Before, "1" still picked the
    profile's first choice from memory."""
    await ana_joined(signal_relais)
    signal_cli.send_text(ANA, "profile")
    await signal_cli.wait_for_text(ANA, "Votre profil")
    adapter = signal_relais.signal
    assert adapter is not None
    for _ in range(500):  # the list is remembered once signal-cli has taken it
        if ANA in adapter._memory and adapter._memory[ANA].offers:
            break
        await asyncio.sleep(0.01)
    assert adapter._memory[ANA].offers
    services = services_of(signal_relais)
    volunteer = await services.volunteers.by_identity("signal", ANA)
    assert volunteer is not None
    if erasure == "command line":
        await services.privacy.erase_at_command_line(volunteer.id)
    else:
        await services.privacy.erase(volunteer.id, checkpoint=False)
    assert ANA not in adapter._memory
    since = len(signal_cli.sent)
    signal_cli.send_text(ANA, "1")
    await signal_cli.wait_for_text(ANA, "Ce choix a expiré", since=since)


# -- requests and files -----------------------------------------------------------------


async def test_a_location_request_accepts_coordinates_or_a_map_link(
    signal_relais: Relais, signal_cli: FakeSignalCli
) -> None:
    await ana_joined(signal_relais)
    signal_cli.send_text(ANA, "profile")
    await signal_cli.wait_for_text(ANA, "Votre profil")
    signal_cli.send_text(ANA, "secteur")
    question = await signal_cli.wait_for_text(ANA, "code postal")
    assert "(envoyez votre position, ou tapez une ville ou un code postal)" in question.message
    signal_cli.send_text(ANA, "48,8566 ; 2,3522")
    await signal_cli.wait_for_text(ANA, "Secteur : Paris 4e Arrondissement (75004)")
    volunteer = await services_of(signal_relais).volunteers.by_identity("signal", ANA)
    assert volunteer is not None and round(volunteer.latitude or 0, 2) == 48.86


def test_a_phone_request_takes_a_typed_number_or_ones_own_contact_card() -> None:
    from bot.transports.numbered import Board

    asked = Board(request="contact")

    def message(text: str = "", **data: object) -> dict[str, object]:
        return {
            "sourceUuid": ANA,
            "sourceNumber": "+33699999999",
            "timestamp": 1,
            "dataMessage": {"timestamp": 1, "message": text, **data},
        }

    typed = to_inbound(message("06 12 34 56 78"), shown=asked)
    assert typed is not None and typed.contact_phone == "06 12 34 56 78"
    own = [{"phone": [{"value": "+33 6 99 99 99 99", "type": "MOBILE"}]}]
    card = to_inbound(message(contacts=own), shown=asked)
    assert card is not None and card.contact_phone == "+33 6 99 99 99 99"
    # Someone else's card is just text, not the sender's own number.
    other = [{"phone": [{"value": "+33 7 00 00 00 00"}]}]
    card = to_inbound(message(contacts=other), shown=asked)
    assert card is not None and card.contact_phone == "" and card.text == "+33 7 00 00 00 00"


async def test_a_chart_goes_out_as_a_picture_attachment(
    signal_relais: Relais, signal_cli: FakeSignalCli
) -> None:
    signal_cli.send_text(ADMIN_UUID, "report", number=ADMIN_NUMBER)
    await signal_cli.wait_for_text(ADMIN_UUID, "Graphique")
    signal_cli.send_text(ADMIN_UUID, "graphique", number=ADMIN_NUMBER)
    # Drawing the chart takes a while on a busy machine: wait for the file, not a time.
    sent = await signal_cli.wait_for(lambda m: bool(m.attachments), timeout=30)
    assert sent.attachments[0][0] == "image/png"
    assert sent.attachments[0][2].startswith(b"\x89PNG")


# -- limits and faults ------------------------------------------------------------------


async def test_a_broadcast_pauses_on_a_rate_limit_and_resumes(
    signal_relais: Relais, signal_cli: FakeSignalCli, clock: FakeClock
) -> None:
    people = [f"c0c0c0c0-1111-4222-8333-00000000000{i}" for i in range(4)]
    signal_cli.fail_next("rate_limit", retry_after=1)
    await offer_to(signal_relais, *people)
    async with time_passing(clock):
        for person in people:
            await signal_cli.wait_for_text(person, "Coller une affiche")
    assert await settled_statuses(signal_relais) == ["sent"] * 4
    # Nothing was tried during the pause: one refusal, then one message per person.
    assert [m.error for m in signal_cli.sent] == ["rate_limit", "", "", "", ""]
    assert sorted(m.recipient for m in signal_cli.sent if m.ok) == people


async def test_a_reply_refused_by_a_rate_limit_comes_later_through_the_outbox(
    signal_relais: Relais, signal_cli: FakeSignalCli, clock: FakeClock
) -> None:
    await ana_joined(signal_relais)
    await a_task(signal_relais)
    signal_cli.fail_next("rate_limit", retry_after=1)
    signal_cli.send_text(ANA, "task")
    async with time_passing(clock):
        await signal_cli.wait_for_text(ANA, "Coller une affiche")
    signal_cli.send_text(ANA, "accepter")
    await signal_cli.wait_for_text(ANA, "Voici quoi faire")
    # Refused once, then delivered once: nothing dropped, nothing doubled.
    offers = [m.error for m in signal_cli.sent if "prochaine tâche" in m.message]
    assert offers == ["rate_limit", ""]


async def test_an_answer_the_network_keeps_refusing_comes_later_through_the_outbox(
    signal_relais: Relais, signal_cli: FakeSignalCli, clock: FakeClock
) -> None:
    # The reply policy every messenger shares: a few tries from memory, then the outbox
    # (with several processes, on PostgreSQL, the outbox from the start: its retries wait
    # on the campaign's clock).
    await ana_joined(signal_relais)
    signal_cli.fail_next("network", count=3)
    signal_cli.send_text(ANA, "help")
    async with time_passing(clock):
        await signal_cli.wait_for_text(ANA, "Voici ce que je sais faire", timeout=15)
    helps = [m.error for m in signal_cli.sent if m.recipient == ANA]
    assert helps == ["network", "network", "network", ""]
    assert await settled_statuses(signal_relais) == ["sent"]


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
    await signal_cli.wait_for_text(ANA, "Coller une affiche")
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
    signal_cli: FakeSignalCli, bot_api: FakeBotAPI, database_url: str, clock: FakeClock
) -> None:
    env = {
        **telegram_env(bot_api, database_url),
        **signal_env(signal_cli, database_url),
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
            await signal_cli.wait_for_text(ANA, "Coller une affiche")
            await signal_cli.wait_for_text(BOB, "Coller une affiche")
        assert [m.error for m in signal_cli.sent][:2] == ["captcha", "captcha"]
        notices = [c for c in bot_api.messages_to(1) if "CAPTCHA" in (c.text or "")]
        assert len(notices) == 1
        # Telegram kept working all along.
        bot_api.send_text(1, "/help", language_code="fr")
        await bot_api.wait_for_text(1, "Voici ce que je sais faire")


async def test_when_signal_cli_is_down_telegram_works_and_signal_waits(
    signal_cli: FakeSignalCli,
    bot_api: FakeBotAPI,
    database_url: str,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(signal_transport, "DOWN_RETRY", 0.2)
    env = {
        **telegram_env(bot_api, database_url),
        **signal_env(signal_cli, database_url),
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
            await signal_cli.wait_for_text(ANA, "Coller une affiche", timeout=10)
        await signal_cli.wait_for_connections(2, timeout=10)
        assert await settled_statuses(relais) == ["sent"]


async def test_an_urgent_notice_jumps_the_signal_queue(
    signal_relais: Relais, signal_cli: FakeSignalCli, clock: FakeClock
) -> None:
    signal_cli.fail_next("rate_limit", retry_after=1)
    await offer_to(signal_relais, ANA)
    await signal_cli.wait_for(lambda m: m.error == "rate_limit")
    await offer_to(signal_relais, BOB, ref=2)
    await services_of(signal_relais).notifier.send(
        [Envelope("alert", "signal", BOB, Outbound("Alerte : riposte"), priority=URGENT)]
    )
    async with time_passing(clock):
        await signal_cli.wait_for_text(ANA, "Coller une affiche")
        await signal_cli.wait_for_text(BOB, "Coller une affiche")
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
    await services_of(signal_relais).notifier.send(
        [Envelope("alert", "signal", BOB, Outbound("Alerte : riposte"), priority=URGENT)]
    )
    async with time_passing(clock):
        await signal_cli.wait_for_text(ANA, "Coller une affiche")
        await signal_cli.wait_for_text(BOB, "Coller une affiche")
    delivered = [(m.recipient, m.message.split("\n")[0]) for m in signal_cli.sent if m.ok]
    assert delivered[0] == (BOB, "Alerte : riposte")
    assert delivered[1][0] == carol and "Voici ce que je sais faire" in delivered[1][1]
    assert [who for who, _text in delivered[2:]] == [ANA, BOB]


async def test_a_later_message_with_choices_does_not_take_over_an_earlier_one(
    signal_relais: Relais, signal_cli: FakeSignalCli
) -> None:
    await ana_joined(signal_relais)
    services = services_of(signal_relais)
    poster = await a_task(signal_relais, title="Coller une affiche")
    leaflets = await a_task(signal_relais, title="Distribuer des tracts")
    zone = services.settings.timezone
    await services.notifier.send(
        [Envelope("offer", "signal", ANA, offer_card(poster, "", zone, offered=True), ref_id=1)]
    )
    first = await signal_cli.wait_for_text(ANA, "Coller une affiche")
    await services.notifier.send(
        [Envelope("offer", "signal", ANA, offer_card(leaflets, "", zone, offered=True), ref_id=2)]
    )
    second = await signal_cli.wait_for_text(ANA, "Distribuer des tracts")
    assert "A1. ✅ Accepter" in first.message and "B1. ✅ Accepter" in second.message
    # Before: the second offer's numbers replaced the first's; "A1" still means the poster.
    signal_cli.send_text(ANA, "A1")
    accepted = await signal_cli.wait_for_text(ANA, "Voici quoi faire")
    assert "Coller une affiche" in accepted.message
    assert accepted.message.startswith("↪ A1 · ✅ Accepter")
