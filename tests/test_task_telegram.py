"""Tasks on Telegram end to end: an offer from the outbox, taps on the real inline keyboard."""

from __future__ import annotations

from bot.app import Relais
from bot.domain.tasks import TaskDraft
from bot.services.people import Actor
from bot.task_text import offered_card
from tests.fakes.bot_api import FakeBotAPI
from tools import seed


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
        Actor.system(),
        TaskDraft(kind="share", title="Partagez la vidéo", link="https://example.org/v"),
    )
    await services.offers.offer_round(services.clock.now(), offered_card)
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
        Actor.system(),
        TaskDraft(kind="call", title="Call 93", instructions="Hello, I volunteer for…"),
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


async def tap_and_wait(api: FakeBotAPI, chat: int, label: str, expect: str) -> None:
    """Tap a button of the newest message to `chat` and wait for the answer."""
    message = api.last_message(chat)
    assert message is not None
    since = len(api.sent)
    api.tap(chat, button(api, chat, label), message_id=message["message_id"], language_code="en")
    await api.wait_for_text(chat, expect, since=since)


async def say_and_wait(api: FakeBotAPI, chat: int, text: str, expect: str) -> None:
    since = len(api.sent)
    api.send_text(chat, text, language_code="en")
    await api.wait_for_text(chat, expect, since=since)


async def test_every_task_kind_from_creation_to_outcome_on_telegram(
    telegram_relais: Relais, bot_api: FakeBotAPI
) -> None:
    services = telegram_relais.services
    now = services.clock.now()
    await seed.add_volunteer(services.db, now, user_id="1", language="en")  # the admin
    await seed.add_volunteer(
        services.db, now, user_id="720", language="en", latitude=48.85, longitude=2.35
    )
    await seed.add_volunteer(services.db, now, user_id="721", language="en")
    # The organizer creates a custom task through the wizard.
    await say_and_wait(bot_api, 1, "/newtask", "Which kind")
    await tap_and_wait(bot_api, 1, "Task", "For which team")
    await tap_and_wait(bot_api, 1, "Whole campaign", "Title")
    await say_and_wait(bot_api, 1, "Poster in your window", "Instructions")
    await say_and_wait(bot_api, 1, "Ask your team for a poster", "départements")
    await say_and_wait(bot_api, 1, "-", "Only some volunteers")
    await tap_and_wait(bot_api, 1, "Everyone", "How many completions")
    await say_and_wait(bot_api, 1, "-", "When does it close")
    await say_and_wait(bot_api, 1, "-", "reaches 3 volunteers")
    await tap_and_wait(bot_api, 1, "Publish", "Published: task #1")
    for draft in (
        TaskDraft(kind="share", title="Share the clip", link="https://example.org/c"),
        TaskDraft(kind="canvass", title="Doors", latitude=48.86, longitude=2.36, radius_km=5),
        TaskDraft(kind="text", title="Text friends", suggested_message="Vote Sunday!"),
        TaskDraft(kind="event", title="Rally", place="Town hall"),
    ):
        await services.tasks.create(Actor.system(), draft)

    v = 720
    # A field task near the volunteer comes first among equal priorities.
    await say_and_wait(bot_api, v, "/task", "Doors")
    await tap_and_wait(bot_api, v, "Accept", "Tap Done")
    await tap_and_wait(bot_api, v, "Done", "How many doors")
    await say_and_wait(bot_api, v, "30", "How many conversations")
    await say_and_wait(bot_api, v, "10", "How many supporters")
    await say_and_wait(bot_api, v, "3", "Anything to tell")
    await tap_and_wait(bot_api, v, "No comment", "+1 point")

    await say_and_wait(bot_api, v, "/task", "Poster in your window")
    await tap_and_wait(bot_api, v, "Accept", "Tap Done")
    await tap_and_wait(bot_api, v, "Done", "+1 point")

    await say_and_wait(bot_api, v, "/task", "Share the clip")
    await tap_and_wait(bot_api, v, "Accept", "Tap Done")
    await tap_and_wait(bot_api, v, "Done", "link to your post")
    await say_and_wait(bot_api, v, "https://social.example/p/1", "+1 point")

    # A second volunteer (without a location, so the canvass is out of reach) skips the
    # tasks already tried and takes the others; the flood gate allows 15 updates per 10 s.
    v = 721
    await say_and_wait(bot_api, v, "/task", "Poster in your window")
    await tap_and_wait(bot_api, v, "Skip", "Share the clip")
    await tap_and_wait(bot_api, v, "Skip", "Text friends")
    await tap_and_wait(bot_api, v, "Accept", "Vote Sunday!")
    await tap_and_wait(bot_api, v, "Done", "How many people")
    await say_and_wait(bot_api, v, "4", "+1 point")

    await say_and_wait(bot_api, v, "/task", "Rally")
    await tap_and_wait(bot_api, v, "I'm going", "You're going")
    await tap_and_wait(bot_api, v, "I was there", "+1 point")

    await say_and_wait(bot_api, v, "/me", "2 points")
    await say_and_wait(bot_api, 1, "/tasks", "Your tasks")

    # What was stored is what was typed and tapped, task by task.
    rows = await services.db.fetch_all(
        "SELECT t.title, v.id AS volunteer, o.doors_knocked, o.conversations, o.supporters,"
        " o.people_reached, o.attended, o.proof FROM outcomes o"
        " JOIN tasks t ON t.id = o.task_id JOIN volunteers v ON v.id = o.volunteer_id"
        " ORDER BY o.assignment_id"
    )
    outcomes = [tuple(row) for row in rows]
    first, second = outcomes[0][1], outcomes[-1][1]
    assert outcomes == [
        ("Doors", first, 30, 10, 3, None, None, None),
        ("Poster in your window", first, None, None, None, None, None, None),
        ("Share the clip", first, None, None, None, None, None, "https://social.example/p/1"),
        ("Text friends", second, None, None, None, 4, None, None),
        ("Rally", second, None, None, None, None, 1, None),
    ]
