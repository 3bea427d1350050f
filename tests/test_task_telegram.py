"""Tasks on Telegram end to end: an offer from the outbox, taps on the real inline keyboard."""

from __future__ import annotations

from bot.app import Relais
from bot.storage import seed
from bot.storage.tasks import TaskDraft
from tests.fakes.bot_api import FakeBotAPI


def button(api: FakeBotAPI, chat: int, label: str) -> str:
    for row in api.last_keyboard(chat):
        for text, data in row:
            if label in text and data:
                return data
    raise AssertionError(f"no button {label!r} in {api.last_keyboard(chat)}")


async def test_an_offered_share_task_is_accepted_and_reported_in_french(
    telegram_relais: Relais, bot_api: FakeBotAPI
) -> None:
    services = telegram_relais.services
    await seed.add_volunteer(services.db, services.clock.now(), user_id="700", first_name="Léa")
    await services.tasks.create(
        None,
        TaskDraft(kind="share", title="Partagez la vidéo", link="https://example.org/v"),
    )
    await services.offers.offer_round(services.clock.now())
    offer = await bot_api.wait_for_text(700, "Une tâche pour vous")
    assert offer.message_id is not None
    since = len(bot_api.sent)
    bot_api.tap(700, button(bot_api, 700, "Accepter"), message_id=offer.message_id)
    accepted = await bot_api.wait_for_text(700, "Touchez Fait", since=since)
    assert accepted.method == "editMessageText"
    since = len(bot_api.sent)
    bot_api.tap(700, button(bot_api, 700, "Fait"), message_id=offer.message_id)
    await bot_api.wait_for_text(700, "lien de votre publication", since=since)
    bot_api.tap(700, button(bot_api, 700, "Sans preuve"), message_id=offer.message_id + 1)
    await bot_api.wait_for_text(700, "+1 point", since=since)
    bot_api.send_text(700, "/me", language_code="fr")
    await bot_api.wait_for_text(700, "1 point", since=since)


async def test_a_phone_bank_caller_on_telegram_in_english(
    telegram_relais: Relais, bot_api: FakeBotAPI
) -> None:
    services = telegram_relais.services
    await seed.add_volunteer(services.db, services.clock.now(), user_id="710", language="en")
    call = await services.tasks.create(
        None, TaskDraft(kind="call", title="Call 93", instructions="Hello, I volunteer for…")
    )
    await services.calls.import_list(call.id, b"name,phone\nCamille <b>,0612345678\n")
    bot_api.send_text(710, "/task", language_code="en")
    card = await bot_api.wait_for_text(710, "Call 93")
    assert card.message_id is not None
    bot_api.tap(710, button(bot_api, 710, "Accept"), message_id=card.message_id)
    await bot_api.wait_for_text(710, "one person at a time")
    since = len(bot_api.sent)
    bot_api.tap(710, button(bot_api, 710, "Start calling"), message_id=card.message_id)
    contact = await bot_api.wait_for_text(710, "+33 6 12 34 56 78", since=since)
    assert "Camille <b>" in (contact.text or "").replace("&lt;", "<").replace("&gt;", ">")
    since = len(bot_api.sent)
    assert contact.message_id is not None
    bot_api.tap(710, button(bot_api, 710, "Supporter"), message_id=contact.message_id)
    await bot_api.wait_for_text(710, "Nobody left to call", since=since)
