"""A member looks after their profile: change answers, language, pause, stop, come back."""

from __future__ import annotations

from collections.abc import Callable

from bot.services import Services
from tests.factories import make_volunteer
from tests.fakes.chat import Chat
from tests.fakes.clock import FakeClock

ChatFactory = Callable[..., Chat]


async def test_the_profile_shows_everything_and_each_answer_can_change(
    chat: ChatFactory, services: Services
) -> None:
    await make_volunteer(services, "100", first_name="Ana", teams=("Paris 11e",))
    ana = chat("100", language="fr")
    await ana.send("/profile")
    card = ana.last_text
    for line in (
        "Votre profil",
        "Prénom : Ana",
        "Langue : Français",
        "Secteur : 75011 (75)",
        "Prêt·e à : 📣 Partager en ligne",
        "Disponibilités : 🌙 Soirs de semaine",
        "Statut : actif",
        "Équipes : Paris 11e",
    ):
        assert line in card
    await ana.tap("Prénom")
    await ana.send("Anaïs")
    assert "Prénom : Anaïs" in ana.last_text  # back to the card
    await ana.tap("Secteur")
    await ana.send("123")
    assert "123 n'est pas un code postal français" in ana.texts(ana.replies[-2:])
    await ana.send("33000")
    assert "Secteur : Bordeaux (33000)" in ana.last_text
    await ana.tap("Quoi")
    labels = [c.label for row in ana.last.choices for c in row]
    assert "✅ 📣 Partager en ligne" in labels  # current answers are pre-ticked
    await ana.tap("Porte-à-porte")
    await ana.tap("Terminé")
    assert "Prêt·e à : 📣 Partager en ligne, 🚪 Porte-à-porte" in ana.last_text
    await ana.tap("Quand")
    await ana.tap("Soirs")
    await ana.tap("Terminé")
    assert ana.last_text == "Choisissez-en au moins un, puis touchez Terminé."
    await ana.tap("Week-ends")
    await ana.tap("Terminé")
    assert "Disponibilités : ☀️ Week-ends" in ana.last_text


async def test_language_can_be_switched(chat: ChatFactory, services: Services) -> None:
    await make_volunteer(services, "101")
    ana = chat("101", language="fr")
    await ana.send("/language")
    await ana.tap("English")
    assert ana.last_text == "Done: I will speak English with you."
    await ana.send("/profile")
    assert "Language: English" in ana.last_text
    await ana.tap("Language")
    await ana.tap("Français")
    assert ana.last_text == "C'est fait : je vous parlerai en Français."
    await ana.tap_data("lg:de")
    assert "Ce bouton a expiré" in ana.last_text


async def test_pause_for_a_week_then_resume(
    chat: ChatFactory, services: Services, clock: FakeClock
) -> None:
    volunteer = await make_volunteer(services, "102")
    ana = chat("102", language="fr")
    await ana.send("/pause")
    await ana.tap("Une semaine")
    assert ana.last_text.startswith("Bonne pause ! Je ne vous enverrai rien jusqu'au 5 décembre")
    assert await services.volunteers.reachable_for_unsolicited(clock.now(), [volunteer.id]) == []
    await ana.send("/profile")
    assert "Statut : en pause jusqu'au 5 décembre 2026" in ana.last_text
    clock.advance(days=8)  # the pause is over: reachable again, even before the job runs
    assert len(await services.volunteers.reachable_for_unsolicited(clock.now())) == 1
    await ana.send("/resume")
    assert "Bon retour" in ana.last_text
    again = await services.volunteers.get(volunteer.id)
    assert again is not None and again.status == "active" and not again.paused_until


async def test_pause_until_a_typed_date(chat: ChatFactory, services: Services) -> None:
    await make_volunteer(services, "103", language="en")
    sam = chat("103", language="en")
    await sam.send("/pause")
    await sam.send("someday")
    assert sam.last_text == (
        "I did not understand that date. Type it like 15/01/2027, “in 3 weeks” or “monday”."
    )
    await sam.send("01/01/2020")
    assert sam.last_text == "That date is already past. Please give a date in the future."
    await sam.send("01/01/2030")
    assert sam.last_text == "Please pause for a year at most."
    await sam.send("15/01/2027")
    assert "I will not send you anything until January 15, 2027" in sam.last_text
    await sam.send("/pause 2027-02-01")
    assert "until February 1, 2027" in sam.last_text


async def test_stop_ends_unsolicited_messages_and_start_brings_them_back(
    chat: ChatFactory, services: Services, clock: FakeClock
) -> None:
    volunteer = await make_volunteer(services, "104", first_name="Léa")
    other = await make_volunteer(services, "105")
    lea = chat("104", language="fr")
    await lea.send("/stop")
    assert "je ne vous enverrai plus aucune action" in lea.last_text
    reachable = await services.volunteers.reachable_for_unsolicited(clock.now())
    assert [a.volunteer_id for a in reachable] == [other.id]
    stopped = await services.volunteers.get(volunteer.id)
    assert stopped is not None and not stopped.accepts_unsolicited(clock.now())
    await lea.send("/profile")
    assert "Statut : arrêté : aucun message non demandé" in lea.last_text
    await lea.send("/start")
    assert lea.last_text.startswith("Bon retour, Léa ! Les messages sont réactivés.")
    reachable = await services.volunteers.reachable_for_unsolicited(clock.now())
    assert {a.volunteer_id for a in reachable} == {volunteer.id, other.id}


async def test_a_blocked_chat_is_not_reachable(services: Services, clock: FakeClock) -> None:
    volunteer = await make_volunteer(services, "106")
    await services.outbox.mark_unreachable("telegram", "106", clock.now())
    assert await services.volunteers.reachable_for_unsolicited(clock.now(), [volunteer.id]) == []


async def test_profile_commands_need_a_member(chat: ChatFactory) -> None:
    stranger = chat("107", language="en")
    for command in ("/profile", "/pause", "/resume", "/stop", "/language", "/invite"):
        await stranger.send(command)
        assert stranger.last_text == "You have not joined yet. Send /start to join.", command
    await stranger.send("/start")
    await stranger.tap("English")
    await stranger.tap("I agree")
    await stranger.send("/profile")
    assert stranger.last_text == "You have not finished joining. Send /start to continue."
    await stranger.tap_data("pf:name")
    assert "This button has expired" in stranger.last_text


async def test_a_paused_member_hears_about_it_at_start(
    chat: ChatFactory, services: Services, clock: FakeClock
) -> None:
    volunteer = await make_volunteer(services, "108", status="paused", language="en")
    ana = chat("108", language="en")
    await ana.send("/start")
    assert "You are on a break. Send /resume" in ana.last_text
    still = await services.volunteers.get(volunteer.id)
    assert still is not None and still.status == "paused"  # /start does not end a break
    assert not still.accepts_unsolicited(clock.now())


async def test_keep_at_the_name_question_keeps_the_name_the_team_knows(
    chat: ChatFactory, services: Services
) -> None:
    """Editing a profile, "Keep" offers the current name, not the messenger's account name
    (typed on the console: tests/test_numbered_choices.py)."""
    await make_volunteer(services, "100", first_name="Jean-Pierre")
    await make_volunteer(services, "101", first_name="Bob", language="en")
    ana = chat("100", language="fr", first_name="User100")
    await ana.send("/profile")
    await ana.tap("Prénom")
    assert [c.label for row in ana.last.choices for c in row] == ["Garder « Jean-Pierre »"]
    await ana.tap("Garder")
    assert "Prénom : Jean-Pierre" in ana.last_text
    bob = chat("101", language="en", first_name="User101")
    await bob.send("/profile")
    await bob.tap("Name")
    await bob.tap("Keep")
    assert "First name: Bob" in bob.last_text
