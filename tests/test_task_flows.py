"""Tasks driven as people would: an organizer creates, a volunteer takes and reports."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from bot.clock import from_iso
from bot.domain.tasks import Outcome
from bot.router import FloodGate
from bot.services import Services
from tests.fakes.chat import Chat
from tests.fakes.clock import FakeClock
from tests.task_factories import task, team, volunteer

ChatFactory = Callable[..., Chat]
EXPIRED_EN = "This button has expired"


def unhurried(chat: Chat) -> None:
    """A wizard typed by a test is faster than any person: lift the flood gate."""
    chat.router.flood = FloodGate(limit=1000)


def labels(chat: Chat) -> str:
    return " ".join(c.label for row in chat.last.choices for c in row)


async def test_share_task_from_wizard_to_outcome_in_english(
    services: Services, chat: ChatFactory, admin_chat: Chat
) -> None:
    await volunteer(services, "200", language="en", skills=["share"])
    await volunteer(services, "201", language="en", skills=["call"])
    await volunteer(services, "202", language="fr", skills=["share"])
    admin_chat.language = "en"
    unhurried(admin_chat)
    await admin_chat.send("/newtask")
    assert "Which kind" in admin_chat.last_text
    await admin_chat.tap("Share")
    await admin_chat.tap("Whole campaign")
    await admin_chat.send("Share the pension video")
    await admin_chat.send("Post it on your networks")
    await admin_chat.send("not a link")
    assert "https://" in admin_chat.last_text
    await admin_chat.send("https://example.org/video")
    await admin_chat.send("Our pensions deserve better")
    await admin_chat.send("-")
    assert "Only those who chose “sharing”" in labels(admin_chat)
    await admin_chat.send("juggling, en")
    assert "I don't know “juggling”" in admin_chat.last_text
    await admin_chat.send("English, share")
    await admin_chat.send("ten")
    assert "number" in admin_chat.last_text
    await admin_chat.send("10")
    await admin_chat.send("-")
    assert "Preview" in admin_chat.last_text
    assert "reaches 1 volunteer right now" in admin_chat.last_text  # English and sharing
    await admin_chat.tap("Publish")
    assert "Published: task #1" in admin_chat.last_text
    for outsider, nothing in (("201", "No task fits"), ("202", "Aucune tâche")):
        other = chat(outsider)
        await other.send("/task")
        assert nothing in other.last_text

    ana = chat("200", language="en")
    await ana.send("/task")
    assert "Share the pension video" in ana.last_text
    assert "https://example.org/video" in ana.last_text
    await ana.tap("Accept")
    assert "Tap Done" in ana.last_text
    await ana.tap("Done")
    assert "link to your post" in ana.last_text
    await ana.send("my post")
    assert "https://" in ana.last_text
    await ana.send("https://social.example/ana/1")
    assert "+1 point" in ana.last_text
    await ana.send("/me")
    assert "1 point" in ana.last_text
    assert "1 task done this week" in ana.last_text
    assert "Streak: 1 day" in ana.last_text

    await admin_chat.send("/tasks")
    assert "Done 1 / 10" in admin_chat.texts(admin_chat.replies[-2:])


async def test_canvass_from_wizard_with_a_meeting_point_only_reaches_people_nearby_in_french(
    services: Services, chat: ChatFactory, admin_chat: Chat, clock: FakeClock
) -> None:
    await volunteer(services, "210", department="75", latitude=48.853, longitude=2.349)
    await volunteer(services, "211", latitude=43.30, longitude=5.37)  # Marseille
    unhurried(admin_chat)
    await admin_chat.send("/newtask")
    await admin_chat.tap("Porte-à-porte")
    await admin_chat.tap("Toute la campagne")
    await admin_chat.send("Porte-à-porte Saint-Michel")
    await admin_chat.send("Binômes, tracts fournis")
    assert admin_chat.last.request == "location"
    await admin_chat.send(location=(48.8530, 2.3440))
    await admin_chat.send("5")
    await admin_chat.send("Rue de la Harpe")
    await admin_chat.send("120")
    await admin_chat.send("la semaine des quatre jeudis")
    assert "05/12 18:30" in admin_chat.last_text
    await admin_chat.send("hier soir")
    assert "Ce moment est déjà passé" in admin_chat.last_text
    await admin_chat.send("05/12 10:00")
    await admin_chat.send("75")
    await admin_chat.tap("Tout le monde")
    await admin_chat.send("-")
    await admin_chat.send("06/12 13:00")
    assert "1 bénévole" in admin_chat.last_text
    await admin_chat.tap("Publier")

    far = chat("211")
    await far.send("/task")
    assert "Aucune tâche" in far.last_text

    near = chat("210")
    await near.send("/task")
    assert "Porte-à-porte Saint-Michel" in near.last_text
    assert "Rue de la Harpe" in near.last_text
    assert "openstreetmap.org" in near.last_text
    await near.tap("Accepter")
    await near.tap("Fait")
    assert "Cette tâche commence" in near.last_text  # not before it starts
    starts = await services.db.fetch_value("SELECT starts_at FROM tasks")
    clock.set(from_iso(str(starts)) + timedelta(hours=2))
    await near.tap("Fait")
    assert "portes" in near.last_text
    await near.send("20")
    await near.send("30")
    assert "plus de conversations que de portes" in near.last_text
    await near.send("12")
    await near.send("5")
    await near.send("Très bon accueil")
    assert "+5 points" in near.last_text
    rows = await services.db.fetch_all(
        "SELECT doors_knocked, conversations, supporters, comment FROM outcomes"
    )
    assert [tuple(r) for r in rows] == [(20, 12, 5, "Très bon accueil")]


async def test_event_text_and_custom_tasks_to_their_outcomes(
    services: Services, chat: ChatFactory
) -> None:
    await volunteer(services, "220", language="en")
    ana = chat("220", language="en")
    await task(services, "event", title="Rally", place="Town hall", points=3, priority=3)
    await task(services, "text", title="Text three friends", points=2, priority=2)
    await task(services, "custom", title="Poster in your window", priority=1)

    await ana.send("/task")
    assert "Rally" in ana.last_text
    await ana.tap("I'm going")
    assert "You're going" in ana.last_text
    assert await services.db.fetch_value("SELECT rsvp FROM assignments") == "going"
    await ana.tap("I was there")
    assert "+3 points" in ana.last_text

    await ana.send("/task")
    assert "Text three friends" in ana.last_text
    await ana.tap("Accept")
    await ana.tap("Done")
    assert "How many people" in ana.last_text
    await ana.send("3")
    assert "+2 points" in ana.last_text

    await ana.send("/task")
    await ana.tap("Accept")
    await ana.send("/mytasks")
    assert "Poster in your window" in ana.last_text
    await ana.tap("Done")
    assert "+1 point" in ana.last_text
    await ana.send("/me")
    assert "6 points" in ana.last_text
    await ana.send("/task")
    assert "No task fits you right now" in ana.last_text
    await task(services, "custom", title="Tonight", opens_at=services.clock.now().replace(hour=19))
    await ana.send("/task")
    assert "Come back after 8:00" in ana.last_text  # 19:00 UTC is 20:00 in Paris


async def test_stale_foreign_and_forged_taps_change_nothing(
    services: Services, chat: ChatFactory
) -> None:
    await volunteer(services, "230", language="en")
    await volunteer(services, "231", language="en")
    north = await team(services, "North")
    t = await task(services, "custom", title="Only for the north", targets={"team": (str(north),)})
    open_task = await task(services, "custom", title="For all")
    ana, bob = chat("230", language="en"), chat("231", language="en")
    await ana.send("/task")
    skip_payload = ana.find_choice("Skip")
    await ana.tap("Accept")
    done_payload = ana.find_choice("Done")
    await ana.tap_data(skip_payload)  # the card she already accepted
    assert EXPIRED_EN in ana.last_text
    for forged in (
        done_payload,  # someone else's assignment
        f"task:acc:{t.id}",  # a task outside their target
        "task:acc:99999",
        "task:acc:abc",
        "task:done:1:2",
        "out:doors_knocked:5",
        "tadm:close:1",
        "nt:kind:share",
        "call:r:1:sup",
        f"task:skip:{t.id}",  # another team's task: skipping it must write nothing either
        f"task:later:{t.id}",
        "task:skip:²",  # superscript digits pass str.isdigit() but not int()
        "task:acc:¹²",
    ):
        await bob.tap_data(forged)
        assert EXPIRED_EN in bob.last_text, forged
    bob_id = await services.db.fetch_value(
        "SELECT volunteer_id FROM identities WHERE user_id = '231'"
    )
    assert not await services.db.fetch_value(
        "SELECT COUNT(*) FROM assignments WHERE volunteer_id = ?", (bob_id,)
    )
    await ana.tap("Done")
    await ana.tap_data(done_payload)  # an old card
    assert EXPIRED_EN in ana.last_text
    assert await services.db.fetch_value("SELECT COUNT(*) FROM outcomes") == 1
    refreshed = await services.task_repo.get(open_task.id)
    assert refreshed is not None and refreshed.slots_taken == 1


async def test_organizer_pauses_resumes_and_closes_a_task(
    services: Services, chat: ChatFactory
) -> None:
    mine = await team(services, "Mine")
    await volunteer(services, "240", language="en", organizer_of=[mine])
    await volunteer(services, "241", language="en", teams=[mine])
    await task(services, title="Leaflets", team_id=mine, targets={"team": (str(mine),)}, quota=3)
    await task(services, title="Not mine")
    boss, ana = chat("240", language="en"), chat("241", language="en")
    await boss.send("/tasks")
    shown = boss.texts(boss.replies[-2:])
    assert "Leaflets" in shown and "Not mine" not in shown
    await boss.tap("Pause")
    assert "Paused" in boss.last_text
    await ana.send("/task")
    assert "Not mine" in ana.last_text  # the paused one is not offered
    await ana.tap("Skip")
    assert "No task fits" in ana.last_text
    await boss.tap_data(boss.find_choice("Resume"))
    await ana.send("/task")
    assert "Leaflets" in ana.last_text
    await ana.tap("Accept")
    await boss.send("/tasks")
    await boss.tap("Edit")
    await boss.tap("Quota")
    await boss.send("5")
    assert "Saved" in boss.last_text
    await boss.send("/tasks")
    await boss.tap("Close")
    await boss.tap("Yes, close it")
    assert "Closed" in boss.last_text
    await ana.send("/mytasks")
    assert "no task in progress" in ana.last_text
    await ana.send("/task")
    assert "No task fits" in ana.last_text


async def test_volunteers_cannot_create_tasks_and_people_who_have_not_joined_are_told_how(
    services: Services, chat: ChatFactory
) -> None:
    await volunteer(services, "250", language="en")
    ana = chat("250", language="en")
    await ana.send("/newtask")
    assert "organizers only" in ana.last_text
    await ana.send("/tasks")
    assert "organizers only" in ana.last_text
    stranger = chat("251", language="en")
    await stranger.send("/task")
    assert "/start" in stranger.last_text


async def test_me_counts_a_streak_of_days_and_shows_the_leaderboard_only_to_who_opted_in(
    services: Services, chat: ChatFactory
) -> None:
    ana_id = await volunteer(services, "260", language="en", first_name="Ana", leaderboard=True)
    bob_id = await volunteer(services, "261", language="en", first_name="Bob")
    await volunteer(services, "262", language="en", first_name="Chloé", leaderboard=True)
    for day in range(3):
        for who in (ana_id, bob_id):
            t = await task(services, "custom", title=f"Day {day}", points=2)
            assignment = await services.tasks.accept(who, t.id)
            await services.tasks.complete(who, assignment.id, Outcome())
        services.clock.advance(days=1)  # type: ignore[attr-defined]
    ana, bob = chat("260", language="en"), chat("261", language="en")
    await ana.send("/me")
    assert "6 points" in ana.last_text
    assert "Streak: 3 days in a row" in ana.last_text  # yesterday counts until today ends
    assert "Leaderboard" in ana.last_text and "1. Ana — 6" in ana.last_text
    assert "Bob" not in ana.last_text and "Chloé" not in ana.last_text  # no points, no line
    await bob.send("/me")
    assert "Leaderboard" not in bob.last_text and "Only you see this" in bob.last_text
    services.clock.advance(days=1)  # type: ignore[attr-defined]
    await ana.send("/me")
    assert "Streak: 0 days" in ana.last_text


async def test_mydata_lists_tasks_and_forget_erases_the_proof_but_keeps_the_count(
    services: Services, chat: ChatFactory
) -> None:
    await volunteer(services, "210", language="en", skills=["share"])
    await task(services, "share", link="https://example.org/v", proof_wanted=True)
    ana = chat("210", language="en")
    await ana.send("/task")
    await ana.tap("Accept")
    await ana.tap("Done")
    await ana.send("https://social.example/qzxv-proof")
    await ana.send("/mydata")
    assert ana.last.attachment is not None
    document = ana.last.attachment.content
    assert b'"tasks"' in document and b"qzxv-proof" in document
    await ana.send("/forget")
    await ana.tap("fg:yes")
    assert await services.db.fetch_value("SELECT COUNT(*) FROM outcomes") == 1
    assert await services.db.fetch_value("SELECT proof FROM outcomes") is None
