"""Ripostes: the rapid-response ring is called, answers count once, the call widens once,
and stopped, paused and opted-out volunteers are never reached."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from bot.messaging import Outbound
from bot.services import Services
from bot.storage.outbox import CALL
from tests import alert_factories as make
from tests.fakes.chat import Chat
from tests.fakes.clock import FakeClock
from tests.fakes.services import services_on

ANSWER = "https://x.com/Candidate/status/1862599999999999999"


async def ring(services: Services, clock: FakeClock) -> None:
    """Rapid-response volunteers 201-203, and every kind of volunteer never to be called."""
    await make.volunteer(services, "201", name="Alice", rapid_response=True, skills="share")
    await make.volunteer(services, "202", name="Bruno", rapid_response=True)
    await make.volunteer(services, "203", name="Chloé", rapid_response=True, language="en")
    await make.volunteer(
        services,
        "204",
        name="Back",
        status="paused",
        rapid_response=True,
        paused_until=clock.now() - timedelta(days=1),
    )
    # Never called:
    await make.volunteer(
        services, "301", name="Stop", status="stopped", rapid_response=True, skills="share"
    )
    await make.volunteer(
        services,
        "302",
        name="Pause",
        status="paused",
        rapid_response=True,
        skills="share",
        paused_until=clock.now() + timedelta(days=7),
    )
    await make.volunteer(
        services, "303", name="Night", rapid_response=True, quiet_hours="14:00-16:00"
    )
    await make.volunteer(services, "304", name="Onb", status="onboarding", rapid_response=True)
    # Widening reaches these (share skill, not in the rapid-response ring):
    await make.volunteer(services, "401", name="Sharer", skills="canvass,share")
    await make.volunteer(services, "402", name="Canvasser", skills="canvass")


async def send_riposte(organizer: Chat, target: str = "10") -> None:
    await organizer.send("/riposte")
    await organizer.send(f"Notre réponse : {ANSWER}?s=20")
    await organizer.send("La vérité sur cette photo de 2012 👇")
    await organizer.send(target)
    await organizer.tap("rpf:send")


def called(rows: list[dict[str, object]]) -> list[str]:
    return sorted(str(r["chat_id"]) for r in rows)


async def board(services: Services) -> str:
    rows = await make.outbox(services, "riposte_board")
    return Outbound.from_json(str(rows[-1]["payload"])).text


async def test_an_organizer_sends_a_riposte_to_the_rapid_response_ring_in_french(
    services: Services, chat: Callable[..., Chat], clock: FakeClock
) -> None:
    await ring(services, clock)
    await make.comms(services, "7", name="Léa")
    lea = chat("7")
    await lea.send("/riposte")
    assert "envoyez-moi le lien" in lea.last_text
    await lea.send("pas de lien ici")
    assert "Il me faut un lien" in lea.last_text
    await lea.send(f"Notre réponse : {ANSWER}?s=20")
    assert "Proposez un texte" in lea.last_text
    await lea.send("La vérité sur cette photo de 2012 👇")
    await lea.send("zéro")
    assert "Envoyez un nombre de 1 à 10000" in lea.last_text
    await lea.send("2")
    assert "4 militants du cercle de riposte sont joignables maintenant" in lea.last_text
    assert "Objectif : 2 militants" in lea.last_text
    await lea.tap("Envoyer maintenant")
    assert "Riposte n° 1 envoyée" in lea.last_text
    calls = await make.outbox(services, "riposte")
    assert called(calls) == ["201", "202", "203", "204"]
    # Behind pages and people's answers, ahead of offers and broadcasts.
    assert {r["priority"] for r in calls} == {CALL}
    card = Outbound.from_json(str(next(r for r in calls if r["chat_id"] == "201")["payload"]))
    assert "la campagne a besoin de vous" in card.text
    assert "https://x.com/i/status/1862599999999999999" in card.text
    assert "La vérité sur cette photo de 2012" in card.text
    english = Outbound.from_json(str(next(r for r in calls if r["chat_id"] == "203")["payload"]))
    assert "the campaign needs you now" in english.text
    assert "4 militants appelés" in await board(services)


async def test_answers_count_once_per_volunteer_and_the_board_shows_them(
    services: Services, chat: Callable[..., Chat], clock: FakeClock
) -> None:
    await ring(services, clock)
    await make.comms(services, "7", name="Léa")
    await send_riposte(chat("7"))
    alice, bruno, chloe = chat("201"), chat("202"), chat("203", language="en")
    await alice.tap_data("rip:on:1")
    assert "Touchez C'est fait" in alice.last_text and alice.last.edit
    await alice.tap_data("rip:on:1")
    await alice.tap_data("rip:no:1")  # an "on it" is not taken back
    await bruno.tap_data("rip:no:1")
    assert "Pas de souci" in bruno.last_text
    await bruno.tap_data("rip:on:1")  # changed their mind: counted once
    await chloe.tap_data("rip:no:1")
    await chloe.tap_data("rip:no:1")
    await alice.tap("C'est fait")
    assert "Merci, c'est comme ça qu'on gagne" in alice.last_text
    await alice.tap_data("rip:done:1")
    text = await board(services)
    assert "En cours : 2 · 🏁 Faits : 1 · ❌ Pas dispo : 1 · ⏳ Sans réponse : 1" in text
    # The board was never sent, so it stayed one message rewritten in place.
    assert len(await make.outbox(services, "riposte_board")) == 1


async def test_the_board_is_edited_once_sent_and_bursts_cost_one_edit(
    services: Services, chat: Callable[..., Chat], clock: FakeClock
) -> None:
    await ring(services, clock)
    await make.comms(services, "7", name="Léa")
    await send_riposte(chat("7"))
    await make.deliver_all(services, first_message_id=900)
    board_id = next(r["message_id"] for r in await make.outbox(services, "riposte_board"))
    await chat("201").tap_data("rip:on:1")
    await chat("202").tap_data("rip:on:1")
    rows = await make.outbox(services, "riposte_board")
    assert len(rows) == 2
    edit = Outbound.from_json(str(rows[1]["payload"]))
    assert edit.edit_message_id == board_id
    assert "En cours : 2" in edit.text


async def test_strangers_and_volunteers_cannot_use_riposte_buttons(
    services: Services, chat: Callable[..., Chat], clock: FakeClock
) -> None:
    await ring(services, clock)
    await make.comms(services, "7", name="Léa")
    await send_riposte(chat("7"))
    outsider = chat("402")
    await outsider.tap_data("rip:on:1")
    assert "Ce bouton a expiré" in outsider.last_text
    await outsider.tap_data("rip:on:abc")
    assert "Ce bouton a expiré" in outsider.last_text
    await outsider.send("/riposte")
    assert "réservé aux organisateurs" in outsider.last_text
    assert "⏳ Sans réponse : 4" in await board(services)


async def test_a_riposte_short_of_its_target_widens_once_to_sharers(
    services: Services, chat: Callable[..., Chat], clock: FakeClock
) -> None:
    await ring(services, clock)
    await make.comms(services, "7", name="Léa")
    await send_riposte(chat("7"), target="10")
    await chat("201").tap_data("rip:on:1")
    clock.advance(minutes=14)
    await services.alerts.sweep()
    assert len(await make.outbox(services, "riposte")) == 4
    clock.advance(minutes=1)
    for _ in range(3):
        await services.alerts.sweep()
    calls = await make.outbox(services, "riposte")
    # Alice (share skill) is already called; the stopped and paused sharers never are.
    assert called(calls) == ["201", "202", "203", "204", "401"]
    clock.advance(hours=1)
    await services.alerts.sweep()
    assert len(await make.outbox(services, "riposte")) == 5
    assert "Élargie à 15:15 aux militants qui partagent des posts (1 de plus)" in await board(
        services
    )
    await chat("401").tap_data("rip:on:1")
    assert "En cours : 2" in await board(services)


async def test_a_riposte_that_meets_its_target_does_not_widen(
    services: Services, chat: Callable[..., Chat], clock: FakeClock
) -> None:
    await ring(services, clock)
    await make.comms(services, "7", name="Léa")
    lea = chat("7")
    await send_riposte(lea, target="5")
    riposte = await services.riposte_repo.get(1)
    assert riposte is not None and riposte.target == 5
    for user in ("201", "202", "203", "204"):
        await chat(user).tap_data("rip:on:1")
    # Four of five is short: widen. Set the target to four on a second riposte instead.
    await lea.send("/riposte " + ANSWER)
    await lea.tap("Passer")
    await lea.send("4")
    await lea.tap("Envoyer maintenant")
    for user in ("201", "202", "203", "204"):
        await chat(user).tap_data("rip:on:2")
    clock.advance(minutes=16)
    await services.alerts.sweep()
    rows = await make.outbox(services, "riposte")
    assert called([r for r in rows if r["ref_id"] == 1]) == ["201", "202", "203", "204", "401"]
    assert called([r for r in rows if r["ref_id"] == 2]) == ["201", "202", "203", "204"]


async def test_a_team_organizer_reaches_only_their_team(
    services: Services, chat: Callable[..., Chat], clock: FakeClock
) -> None:
    await make.volunteer(services, "201", rapid_response=True, team="Lyon")
    await make.volunteer(services, "202", rapid_response=True, team="Paris")
    await make.organizer(services, "9", name="Org", team="Lyon")
    await send_riposte(chat("9"))
    assert called(await make.outbox(services, "riposte")) == ["201"]


async def test_english_organizer_cancels_and_nobody_is_called(
    services: Services, chat: Callable[..., Chat], clock: FakeClock
) -> None:
    await ring(services, clock)
    await make.comms(services, "7", name="Sam", language="en")
    sam = chat("7", language="en")
    await sam.send(f"/riposte {ANSWER}")
    assert "Suggest a text" in sam.last_text
    await sam.tap("Skip")
    await sam.send("25")
    assert "If fewer than 25 are on it after 15 min" in sam.last_text
    await sam.tap("Cancel")
    assert "Nobody was called" in sam.last_text
    assert await make.outbox(services, "riposte") == []


async def test_incidents_report_shows_riposte_milestones_and_incident_times(
    services: Services, chat: Callable[..., Chat], clock: FakeClock
) -> None:
    await ring(services, clock)
    await make.comms(services, "7", name="Léa")
    lea = chat("7")
    await lea.send("/duty on")
    await make.volunteer(services, "42")
    await chat("42").send(f"/alerte {ANSWER} attaque")
    clock.advance(minutes=2)
    await lea.tap_data("inc:take:1")
    await lea.tap("Riposte")
    assert "Riposte à l'alerte n° 1" in lea.last_text
    await lea.send(ANSWER)
    await lea.tap("Passer")
    await lea.send("2")
    await lea.tap("Envoyer maintenant")
    clock.advance(minutes=1)
    await chat("201").tap_data("rip:done:1")
    clock.advance(minutes=2)
    await chat("202").tap_data("rip:done:1")
    await lea.send("/incidents")
    text = lea.last_text
    assert "#1 ✋ prise en charge · 1 signalement" in text
    assert "prévenus après 0 s · réponse après 2 min · escalades : 0" in text
    assert "faits 2/2 · en cours 2 · appelés 4" in text
    assert "10 % en 1 min · 50 % en 1 min · 90 % en 3 min" in text
    riposte = await services.riposte_repo.get(1)
    assert riposte is not None and riposte.incident_id == 1
    await lea.send("/incidents 1")
    assert "Chronologie" in lea.last_text and "prise en charge par Léa" in lea.last_text
    reporter = chat("42")
    await reporter.send("/incidents")
    assert "réservé aux organisateurs" in reporter.last_text


async def test_calls_written_before_a_crash_are_queued_once_by_the_sweep(
    services: Services, chat: Callable[..., Chat], clock: FakeClock
) -> None:
    await ring(services, clock)
    # The riposte and its calls were written, then Relais stopped before queuing them.
    callers = await services.riposte_repo.callable_volunteers(
        clock.now(), scope=None, rapid_response=True
    )
    await services.riposte_repo.create(
        organizer_id=None,
        channel="telegram",
        chat_id="1",
        language="fr",
        incident_id=None,
        url=ANSWER,
        suggested_text="",
        target=3,
        scope=None,
        widen_at=clock.now() + timedelta(minutes=15),
        callers=callers,
        now=clock.now(),
    )
    assert await make.outbox(services, "riposte") == []
    restarted = services_on(services.settings, clock, services.db)
    await restarted.alerts.sweep()
    await restarted.alerts.sweep()
    assert called(await make.outbox(services, "riposte")) == ["201", "202", "203", "204", "303"]


async def test_a_new_page_leaves_before_the_calls_of_a_riposte_in_progress(
    services: Services, chat: Callable[..., Chat], clock: FakeClock
) -> None:
    await ring(services, clock)
    await make.comms(services, "7", name="Léa")
    lea = chat("7")
    await lea.send("/duty on")
    await send_riposte(lea)
    await make.volunteer(services, "42")
    await chat("42").send("/alerte https://example.org/post/1 encore une attaque")
    claimed = await services.outbox.claim("telegram", clock.now(), 2)
    assert [d.kind for d in claimed] == ["riposte_board", "alert"]
