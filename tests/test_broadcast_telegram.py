"""A broadcast end to end on Telegram: the organizer's wizard through the fake Bot API,
one progress message edited in place, the delivery report, replies not held up."""

from __future__ import annotations

from bot.app import Relais
from tests.fakes.bot_api import FakeBotAPI
from tools.seed import SeedVolunteer, add_volunteers


def _last_id(api: FakeBotAPI, chat: int) -> int:
    message = api.last_message(chat)
    assert message is not None
    return int(message["message_id"])


async def test_organizer_broadcasts_and_gets_progress_and_report(
    telegram_relais: Relais, bot_api: FakeBotAPI
) -> None:
    services = telegram_relais.services
    people = [SeedVolunteer(str(1000 + n), quiet_hours="") for n in range(150)]
    people.append(SeedVolunteer("1150", quiet_hours="", status="stopped"))
    await add_volunteers(services.db, people, services.clock.now())

    bot_api.send_text(1, "/broadcast", language_code="en")
    await bot_api.wait_for_text(1, "New broadcast")
    bot_api.send_text(1, "<b>Rally</b> at 7pm", language_code="en")
    await bot_api.wait_for_text(1, "Add a button")
    bot_api.send_text(1, "Details https://example.org/rally", language_code="en")
    await bot_api.wait_for_text(1, "Button added")
    bot_api.tap(1, "bc:audience", message_id=_last_id(bot_api, 1), language_code="en")
    await bot_api.wait_for_text(1, "Who should receive it?")
    assert bot_api.last_keyboard(1)[0] == [("Everyone (150)", "bc:all")]
    bot_api.tap(1, "bc:all", message_id=_last_id(bot_api, 1), language_code="en")
    preview = await bot_api.wait_for_text(1, "Rally")
    assert preview.text == "<b>Rally</b> at 7pm"
    await bot_api.wait_for_text(1, "150 volunteers right now")
    start = len(bot_api.sent)
    bot_api.tap(1, "bc:now", message_id=_last_id(bot_api, 1), language_code="en")
    await bot_api.wait_for_text(1, "on its way to 150 volunteers", since=start)

    # A volunteer writes while the broadcast runs: the answer does not wait for the end.
    bot_api.send_text(1005, "/help", language_code="en")
    reply = await bot_api.wait_for_text(1005, "Voici ce que je sais faire", timeout=10)
    report = await bot_api.wait_for_text(1, "Delivery report", timeout=30)
    assert "Delivered: 150" in (report.text or "")
    rally = [c for c in bot_api.sent if c.ok and c.text == "<b>Rally</b> at 7pm" and c.chat_id != 1]
    assert sorted(c.chat_id for c in rally) == list(range(1000, 1150))
    assert rally[0].reply_markup == {
        "inline_keyboard": [[{"text": "Details", "url": "https://example.org/rally"}]]
    }
    assert reply.timestamp < max(c.timestamp for c in rally)
    assert bot_api.stats.too_many_requests == 0

    # One progress message, edited in place, never a pile of new ones.
    progress = [c for c in bot_api.messages_to(1) if "📣 Broadcast #1" in (c.text or "")]
    assert progress[0].method == "sendMessage"
    assert {c.method for c in progress[1:]} <= {"editMessageText"}
    assert "finished" in (progress[-1].text or "")
    assert "Sent 150" in (progress[-1].text or "")

    bot_api.send_text(1, "/broadcasts", language_code="en")
    listing = await bot_api.wait_for_text(1, "Recent broadcasts")
    assert "#1" in (listing.text or "") and "Sent 150" in (listing.text or "")


async def test_organizer_schedules_then_cancels_in_french(
    telegram_relais: Relais, bot_api: FakeBotAPI
) -> None:
    services = telegram_relais.services
    people = [SeedVolunteer(str(2000 + n)) for n in range(3)]
    await add_volunteers(services.db, people, services.clock.now())

    bot_api.send_text(1, "/broadcast", language_code="fr")
    await bot_api.wait_for_text(1, "Nouvelle diffusion")
    bot_api.send_text(1, "Porte-à-porte dimanche", language_code="fr")
    await bot_api.wait_for_text(1, "Ajouter un bouton")
    bot_api.tap(1, "bc:audience", message_id=_last_id(bot_api, 1))
    await bot_api.wait_for_text(1, "Qui doit le recevoir")
    bot_api.send_text(1, "équipe:Fantôme", language_code="fr")
    await bot_api.wait_for_text(1, "Aucune équipe « Fantôme »")
    bot_api.send_text(1, "tous", language_code="fr")
    await bot_api.wait_for_text(1, "3 bénévoles en ce moment")
    bot_api.tap(1, "bc:schedule", message_id=_last_id(bot_api, 1))
    await bot_api.wait_for_text(1, "Quand l'envoyer")
    bot_api.send_text(1, "29/11/2026 18:30", language_code="fr")
    await bot_api.wait_for_text(1, "programmée pour le")
    bot_api.send_text(1, "/broadcasts", language_code="fr")
    listing = await bot_api.wait_for_text(1, "Diffusions récentes")
    assert "programmée pour le" in (listing.text or "")
    assert bot_api.last_keyboard(1) == [[("Annuler n° 1", "bc:cancel:1")]]
    bot_api.tap(1, "bc:cancel:1", message_id=_last_id(bot_api, 1))
    await bot_api.wait_for_text(1, "Diffusion n° 1 annulée : 0 message non envoyé")
    await services.broadcasts.sweep()
    assert not [c for c in bot_api.sent if c.text == "Porte-à-porte dimanche" and c.chat_id != 1]
