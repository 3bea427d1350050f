"""Files end to end: real PTB against the fake Bot API (getFile, download), and Signal."""

from __future__ import annotations

import re
from typing import Any

from bot.app import Relais
from bot.domain.tasks import TaskDraft
from bot.messaging import InboundFile
from bot.services.people import Actor
from bot.task_text import offered_card
from bot.transports.signal import to_inbound as signal_inbound
from bot.transports.telegram import file_base_url
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.clock import FakeClock
from tests.fakes.relais import running_relais
from tests.fakes.signal_cli import FakeSignalCli, signal_env
from tests.test_files import LIST
from tests.test_task_telegram import button
from tools import seed

ADMIN = "+33611111111"
ADMIN_UUID = "ad000000-1111-4222-8333-444444444444"


async def tap_newest(api: FakeBotAPI, chat: int, label: str, expect: str, lang: str) -> None:
    message = api.last_message(chat)
    assert message is not None
    since = len(api.sent)
    api.tap(chat, button(api, chat, label), message_id=message["message_id"], language_code=lang)
    await api.wait_for_text(chat, expect, since=since)


def test_files_are_downloaded_next_to_the_api_address() -> None:
    assert file_base_url("https://api.telegram.org/bot") == "https://api.telegram.org/file/bot"
    assert file_base_url("http://127.0.0.1:8081/bot/") == "http://127.0.0.1:8081/file/bot"
    assert file_base_url("http://proxy/x/bot{token}") == "http://proxy/x/file/bot{token}"
    assert file_base_url("http://proxy/telegram") is None  # PTB's default file server


async def test_a_volunteer_sends_a_screenshot_as_proof_in_french(
    telegram_relais: Relais, bot_api: FakeBotAPI
) -> None:
    services = telegram_relais.services
    await seed.add_volunteer(services.db, services.clock.now(), user_id="720", first_name="Léa")
    await services.tasks.create(
        Actor.system(),
        TaskDraft(kind="share", title="Partagez la vidéo", link="https://example.org/v"),
    )
    await services.offers.offer_round(services.clock.now(), offered_card)
    await bot_api.wait_for_text(720, "Une tâche pour vous")
    await tap_newest(bot_api, 720, "Accepter", "Touchez Fait", "fr")
    await tap_newest(bot_api, 720, "Fait", "capture d’écran", "fr")
    since = len(bot_api.sent)
    bot_api.send_photo(720)
    await bot_api.wait_for_text(720, "+1 point", since=since)
    proof = await services.db.fetch_value("SELECT proof FROM outcomes")
    # The largest of the three sizes Telegram sends is the one kept.
    assert proof == "telegram-photo:" + list(bot_api.user_files)[-1]
    assert bot_api.stats.requests["getFile"] == 0  # a proof is a reference, never downloaded


async def test_an_organizer_sends_a_call_list_file_in_english(
    telegram_relais: Relais, bot_api: FakeBotAPI
) -> None:
    services = telegram_relais.services
    await seed.add_volunteer(services.db, services.clock.now(), user_id="1", language="en")
    await services.tasks.create(Actor.system(), TaskDraft(kind="call", title="Call 93"))
    since = len(bot_api.sent)
    bot_api.send_text(1, "/tasks", language_code="en")
    await bot_api.wait_for_text(1, "Call 93", since=since)
    await tap_newest(bot_api, 1, "Add people to call", "send a CSV file", "en")

    async def send(name: str, content: bytes, expect: str, mime: str = "text/csv") -> str:
        since = len(bot_api.sent)
        bot_api.send_document(1, name, content, mime_type=mime, language_code="en")
        answer = await bot_api.wait_for_text(1, expect, since=since)
        return answer.text or ""

    text = await send("list.csv", LIST + b"Bad Row,42\n", "Nothing was added")
    assert "line 5: “42” is not a valid phone number" in text
    assert await services.db.fetch_value("SELECT COUNT(*) FROM call_contacts") == 0
    await send("big.csv", b"name,phone\n" + b"x" * 2_000_000, "the file is over 1 MB")
    await send("list.pdf", b"%PDF-1.7 fake", "CSV or text file", mime="application/pdf")
    # Telegram fails to hand the file over: said so, nothing added; sending again works.
    bot_api.fail_next("getFile", 400, "Bad Request: file is temporarily unavailable")
    await send("list.csv", LIST, "I could not fetch the file")
    text = await send("list.csv", LIST, "Added 3 people")
    assert "Call list: 3 people, to call 3" in text
    assert await services.db.fetch_value("SELECT COUNT(*) FROM call_contacts") == 3
    # Only the two CSV files were fetched; the big one and the PDF were refused unread.
    assert len(bot_api.downloads) == 2
    assert bot_api.stats.requests["getFile"] == 3


async def test_a_photo_nobody_asked_for_gets_a_helpful_answer(
    telegram_relais: Relais, bot_api: FakeBotAPI
) -> None:
    services = telegram_relais.services
    await seed.add_volunteer(services.db, services.clock.now(), user_id="730", language="en")
    since = len(bot_api.sent)
    bot_api.send_photo(730, caption="look at this", language_code="en")
    await bot_api.wait_for_text(730, "I only use files when I ask for one", since=since)
    since = len(bot_api.sent)
    bot_api.send_document(731, "notes.csv", b"a,b\n", language_code="fr")
    await bot_api.wait_for_text(731, "Je n’utilise un fichier que", since=since)
    # Files nobody asked for are never fetched.
    assert bot_api.downloads == [] and bot_api.stats.requests["getFile"] == 0


# -- Signal: attachments in envelopes, fetched with getAttachment ------------------------


def test_signal_attachments_become_files() -> None:
    envelope: dict[str, Any] = {
        "sourceUuid": "a0a0a0a0-1111-4222-8333-444444444444",
        "timestamp": 1,
        "dataMessage": {
            "timestamp": 1,
            "message": "ma preuve",
            "attachments": [
                {"contentType": "image/jpeg", "filename": None, "id": "x1.jpg", "size": 9000}
            ],
        },
    }
    inbound = signal_inbound(envelope)
    assert inbound is not None and inbound.text == "ma preuve"
    assert inbound.file == InboundFile("photo", "x1.jpg", size=9000, mime="image/jpeg")
    envelope["dataMessage"]["attachments"] = [
        {"contentType": "text/csv", "filename": "liste.csv", "id": "x2", "size": 40}
    ]
    inbound = signal_inbound(envelope)
    assert inbound is not None
    assert inbound.file == InboundFile("document", "x2", "liste.csv", 40, "text/csv")


async def test_an_organizer_sends_a_call_list_file_on_signal(
    signal_cli: FakeSignalCli, database_url: str, clock: FakeClock
) -> None:
    env = signal_env(signal_cli, database_url, RELAIS_ADMINS="signal:" + ADMIN)
    async with running_relais(env, clock) as relais:
        await signal_cli.wait_for_connections(1)
        services = relais.services
        await seed.add_volunteer(
            services.db, services.clock.now(), user_id=ADMIN_UUID, channel="signal"
        )
        await services.tasks.create(Actor.system(), TaskDraft(kind="call", title="Appels 93"))
        signal_cli.send_text(ADMIN_UUID, "/tasks", number=ADMIN)
        listing = await signal_cli.wait_for_text(ADMIN_UUID, "Ajouter des personnes à appeler")
        number = re.search(r"(\d+)\D{0,6}Ajouter des personnes", listing.message)
        assert number is not None
        since = len(signal_cli.sent)
        signal_cli.send_text(ADMIN_UUID, number[1], number=ADMIN)
        await signal_cli.wait_for_text(ADMIN_UUID, "fichier CSV", since=since)
        since = len(signal_cli.sent)
        signal_cli.send_text(
            ADMIN_UUID, "", number=ADMIN, attachment=("liste.csv", "text/csv", LIST)
        )
        await signal_cli.wait_for_text(ADMIN_UUID, "3 personnes ajoutées", since=since)
        assert await services.db.fetch_value("SELECT COUNT(*) FROM call_contacts") == 3
        assert [c["method"] for c in signal_cli.calls].count("getAttachment") == 1
        # signal-cli no longer has the attachment: said so, nothing more added.
        since = len(signal_cli.sent)
        more = b"nom,telephone\nAlix,0612121212\n"
        signal_cli.send_text(ADMIN_UUID, "", number=ADMIN, attachment=("b.csv", "text/csv", more))
        signal_cli.attachments.clear()  # before Relais reads the message: no await between
        await signal_cli.wait_for_text(ADMIN_UUID, "pas pu récupérer le fichier", since=since)
        assert await services.db.fetch_value("SELECT COUNT(*) FROM call_contacts") == 3
