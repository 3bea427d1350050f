"""/broadcast and /broadcasts, driven through the router as an organizer would."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

from bot.domain.tasks import Task
from bot.messaging import Outbound
from bot.payloads import TaskCard
from bot.router import FloodGate
from bot.services import Services
from tests.broadcast_factories import seed, team_of
from tests.fakes.chat import Chat
from tests.fakes.clock import FakeClock
from tools.seed import SeedVolunteer


async def _campaign(services: Services) -> None:
    """Organizer 200 runs team Nord (3 reachable volunteers); team Sud has 2 more."""
    await seed(
        services,
        SeedVolunteer("200", language="en", roles=(("organizer", "Nord"),), teams=("Nord",)),
        *team_of("Nord", 300, 2, skills="call,share", department="59"),
        SeedVolunteer("310", status="stopped", teams=("Nord",)),
        SeedVolunteer("311", status="onboarding", teams=("Nord",)),
        SeedVolunteer("312", teams=("Nord",), unreachable=True),
        *team_of("Sud", 400, 2, skills="canvass", department="13"),
    )


async def _outbox(services: Services) -> list[tuple[str, str]]:
    rows = await services.db.fetch_all(
        "SELECT chat_id, payload FROM outbox WHERE kind = 'broadcast' ORDER BY chat_id"
    )
    return [(r["chat_id"], Outbound.from_json(r["payload"]).text) for r in rows]


async def test_organizer_writes_previews_and_sends_to_their_team(
    services: Services, chat: Callable[..., Chat]
) -> None:
    await _campaign(services)
    c = chat("200", language="en")
    await c.send("/broadcast")
    assert "New broadcast" in c.last_text
    await c.send("<b>Rally tonight")
    assert "<b> is never closed" in c.last_text
    await c.send("<b>Rally</b> tonight at 19:00 & bring friends")
    assert "&amp;" in c.last_text
    await c.send("<b>Rally</b> tonight at 19:00 &amp; bring friends")
    assert "Add a button" in c.last_text
    await c.send("Sign up example.org")
    assert "https://" in c.last_text
    await c.send("Sign up https://example.org/rally")
    assert "Button added" in c.last_text
    await c.tap("Continue")
    assert "Who should receive it?" in c.last_text
    labels = [choice.label for row in c.last.choices for choice in row]
    assert labels == ["All my teams (3)", "Nord"]
    await c.send("team:Sud")
    assert "no team “Sud” among yours" in c.last_text
    await c.send("skill:flying")
    assert "I don't know the skill “flying”" in c.last_text
    assert "sharing, canvassing, calls, texts, events" in c.last_text
    await c.send("area:13")
    assert "Nobody matches" in c.last_text
    replies = await c.send("skill:call area:59")
    preview, _summary = replies
    assert preview.text == "<b>Rally</b> tonight at 19:00 &amp; bring friends"
    assert preview.choices[0][0].url == "https://example.org/rally"
    assert "Audience: area 59 · skill: calls — 2 volunteers right now" in c.last_text
    assert "held until the end of each volunteer's quiet hours" in c.last_text
    await c.tap("Add a version in French")
    await c.send("<b>Rassemblement</b> ce soir à 19 h")
    assert "French" in c.texts()
    await c.tap("Send now")
    assert "Broadcast #1 is on its way to 2 volunteers" in c.last_text
    assert await _outbox(services) == [
        ("300", "<b>Rassemblement</b> ce soir à 19 h"),
        ("301", "<b>Rassemblement</b> ce soir à 19 h"),
    ]


async def test_the_main_text_becomes_the_version_already_written_in_its_language(
    services: Services, chat: Callable[..., Chat]
) -> None:
    """Saying the main text is in French when a French version exists swaps them: the French
    text is the main one, the English text its English version; nothing typed is lost."""
    await _campaign(services)
    c = chat("200", language="en")
    await c.send("/broadcast")
    await c.send("Rally tonight")
    await c.tap("No button")
    await c.tap("Nord")
    assert "Main text in: English." in c.last_text
    await c.tap("Add a version in French")
    await c.send("Rassemblement ce soir")
    await c.tap("The main text is in French")
    assert "Main text in: French." in c.last_text
    labels = [choice.label for row in c.last.choices for choice in row]
    assert "Add a version in French" not in labels and "Add a version in English" not in labels
    assert "The main text is in English" in labels
    await c.tap("Send now")
    row = await services.db.fetch_one("SELECT language, body, variants FROM broadcasts")
    assert row is not None
    assert (row["language"], row["body"]) == ("fr", "Rassemblement ce soir")
    assert json.loads(row["variants"]) == {"en": "Rally tonight"}
    assert await _outbox(services) == [
        ("200", "Rally tonight"),  # the English-speaking author is on the team too
        ("300", "Rassemblement ce soir"),
        ("301", "Rassemblement ce soir"),
    ]


async def test_an_english_speaking_volunteer_gets_the_english_version(
    services: Services, chat: Callable[..., Chat]
) -> None:
    await seed(
        services,
        SeedVolunteer("200", language="fr", roles=(("organizer", "Nord"),), teams=("Nord",)),
        SeedVolunteer("300", language="en", teams=("Nord",)),
        SeedVolunteer("301", language="fr", teams=("Nord",)),
    )
    c = chat("200", language="fr")
    await c.send("/broadcast")
    await c.send("Réunion demain")
    await c.tap("bc:audience")
    await c.tap("bc:all")
    await c.tap("bc:variant:en")
    await c.send("Meeting tomorrow")
    await c.tap("bc:now")
    assert await _outbox(services) == [
        ("200", "Réunion demain"),
        ("300", "Meeting tomorrow"),
        ("301", "Réunion demain"),
    ]


async def test_a_scheduled_broadcast_waits_and_can_be_cancelled(
    services: Services, chat: Callable[..., Chat], clock: FakeClock
) -> None:
    await _campaign(services)
    c = chat("200", language="en")
    await c.send("/broadcast")
    await c.send("Door-knocking on Sunday")
    await c.tap("No button")
    await c.tap("Nord")
    await c.tap("Schedule")
    assert "When should it go?" in c.last_text
    await c.send("whenever")
    assert "could not read that time" in c.last_text
    await c.send("2026-11-20 10:00")
    assert "in the past" in c.last_text
    await c.send("2026-11-29 18:30")
    assert "Broadcast #1 is scheduled for" in c.last_text
    await services.broadcasts.sweep()
    assert await _outbox(services) == []
    await c.send("/broadcasts")
    assert "#1 · scheduled for" in c.last_text
    assert "Door-knocking on Sunday" in c.last_text
    clock.set(datetime(2026, 11, 29, 17, 31, tzinfo=UTC))
    await c.tap("Cancel #1")
    assert "Broadcast #1 cancelled" in c.last_text
    await services.broadcasts.sweep()
    assert await _outbox(services) == []
    await c.tap_data("bc:cancel:1")
    assert "expired" in c.last_text


async def test_a_scheduled_broadcast_starts_when_due(
    services: Services, chat: Callable[..., Chat], clock: FakeClock
) -> None:
    await _campaign(services)
    c = chat("200", language="en")
    await c.send("/broadcast")
    await c.send("Door-knocking on Sunday")
    await c.tap("No button")
    await c.tap("All my teams")
    await c.tap("Schedule")
    await c.send("29/11/2026 11:00")
    await services.broadcasts.sweep()
    assert await _outbox(services) == []
    clock.set(datetime(2026, 11, 29, 10, 0, 1, tzinfo=UTC))
    await services.broadcasts.sweep()
    await services.broadcasts.sweep()  # a second wake-up queues nobody twice
    assert [chat_id for chat_id, _t in await _outbox(services)] == ["200", "300", "301"]


async def test_volunteers_and_strangers_cannot_broadcast(
    services: Services, chat: Callable[..., Chat]
) -> None:
    await _campaign(services)
    volunteer = chat("300", language="en")
    await volunteer.send("/broadcast")
    assert "réservé aux organisateurs" in volunteer.last_text
    await volunteer.tap_data("bc:cancel:1")
    assert "expiré" in volunteer.last_text
    await volunteer.tap_data("bc:now")
    assert "expiré" in volunteer.last_text


async def test_cancel_and_the_wizard_leaves_nothing(
    services: Services, chat: Callable[..., Chat]
) -> None:
    await _campaign(services)
    c = chat("200", language="en")
    await c.send("/broadcast")
    await c.send("Hello")
    await c.tap("No button")
    await c.tap("All my teams")
    await c.tap("Cancel")
    assert "Nothing was sent" in c.last_text
    await c.send("/broadcasts")
    assert "No broadcast yet" in c.last_text


async def test_admin_reaches_everyone_and_french_organizer_sees_french(
    services: Services, chat: Callable[..., Chat], admin_chat: Chat
) -> None:
    await _campaign(services)
    await admin_chat.send("/broadcast")
    assert "Nouvelle diffusion" in admin_chat.last_text
    await admin_chat.send("Bonjour à toutes et tous")
    await admin_chat.tap("Aucun bouton")
    labels = [choice.label for row in admin_chat.last.choices for choice in row]
    assert labels[0] == "Tout le monde (5)"
    await admin_chat.tap("Tout le monde")
    assert "5 bénévoles" in admin_chat.last_text
    await admin_chat.tap("Envoyer maintenant")
    assert "La diffusion n° 1 est en route vers 5 bénévoles" in admin_chat.last_text


async def test_a_task_from_the_queue_becomes_a_button_volunteers_can_tap(
    services: Services, chat: Callable[..., Chat]
) -> None:
    from tests.task_factories import task

    await _campaign(services)
    offered = await task(services, "custom", title="Take it")

    async def task_to_offer(actor: object, task_id: int) -> Task | None:
        return offered if task_id == 5 else None

    services.broadcasts.task_to_offer = task_to_offer
    c = chat("200", language="en")
    await c.send("/broadcast")
    await c.send("Flyers needed at the market")
    assert "task:N" in c.last_text
    await c.send("task:9")
    assert "no open task #9" in c.last_text
    await c.send("task:5")
    assert "Button added" in c.last_text
    await c.tap("Continue")
    preview, _summary = await c.tap("All my teams")
    assert preview.choices[0][0].data == TaskCard("acc", offered.id).pack()
    await c.tap("Send now")
    row = await services.db.fetch_value("SELECT payload FROM outbox LIMIT 1")
    assert Outbound.from_json(row).choices[0][0].data == TaskCard("acc", offered.id).pack()


async def test_a_real_task_button_in_a_broadcast_is_accepted_by_the_volunteer_who_taps_it(
    services: Services, chat: Callable[..., Chat]
) -> None:
    from tests.task_factories import task

    await _campaign(services)
    nord = await services.db.fetch_value("SELECT id FROM teams WHERE name = 'Nord'")
    sud = await services.db.fetch_value("SELECT id FROM teams WHERE name = 'Sud'")
    mine = await task(services, "custom", title="Flyers at the market", team_id=nord)
    theirs = await task(services, "custom", title="Sud only", team_id=sud)
    c = chat("200", language="en")
    c.router.flood = FloodGate(limit=1000)
    await c.send("/broadcast")
    await c.send("Flyers needed at the market")
    await c.send(f"task:{theirs.id}")
    assert f"no open task #{theirs.id}" in c.last_text  # another team's task
    await c.send(f"task:{mine.id}")
    assert "Button added" in c.last_text
    await c.tap("Continue")
    await c.tap("All my teams")
    await c.tap("Send now")
    volunteer = chat("300", language="en")
    await volunteer.tap_data(f"task:acc:{mine.id}")
    assert "Flyers at the market" in volunteer.last_text
    state = await services.db.fetch_value(
        "SELECT state FROM assignments WHERE task_id = ?", (mine.id,)
    )
    assert state == "accepted"
