"""Every message in the reader's language, with words instead of codes: consent, numbered
choices, the broadcast wizard, task targeting, /help."""

from __future__ import annotations

from collections.abc import Callable

from bot.answers import parse_count, parse_distance
from bot.audit_text import action_in_words
from bot.i18n import use_language
from bot.messaging import Choice, Outbound, choices
from bot.router import FloodGate
from bot.services import Services
from bot.storage.db import Database
from bot.transports.numbered import render_numbered
from bot.transports.telegram import request_keyboard
from tests.broadcast_factories import SeedVolunteer, seed
from tests.fakes.chat import Chat
from tests.test_link import UUID, code_in, joined

ChatFactory = Callable[..., Chat]


def unhurried(chat: Chat) -> None:
    chat.router.flood = FloodGate(limit=1000)


def commands(text: str) -> set[str]:
    return {word.split()[0] for word in text.split("\n") if word.startswith("/")}


async def test_the_consent_names_the_campaign_team_in_each_language(chat: ChatFactory) -> None:
    sam = chat("55", language="en")
    await sam.send("/start")
    await sam.tap("English")
    assert "Joining means telling the campaign team that you support" in sam.last_text
    assert "la campagne" not in sam.last_text
    zoe = chat("56", language="fr")
    await zoe.send("/start")
    await zoe.tap("Français")
    assert "indiquer à l'équipe de campagne que vous soutenez la campagne" in zoe.last_text
    assert "après 730 jours sans activité" in zoe.last_text


def test_numbered_choices_speak_the_recipients_language_wherever_they_are_rendered() -> None:
    with use_language("en"):
        offer = Outbound("Task 7", choices=choices(Choice("Accept", "task:7")))
    # The sender renders it later, in a job whose language is the campaign's (French).
    with use_language("fr"):
        text, _payloads = render_numbered(Outbound.from_json(offer.to_json()))
    assert "(reply with a number)" in text
    assert "répondez" not in text


def test_telegram_request_buttons_speak_the_recipients_language() -> None:
    with use_language("en"):
        question = Outbound("Where are you?", request="location")
    with use_language("fr"):  # rendered by the sender, in the campaign's language context
        keyboard = request_keyboard(question)
    assert keyboard is not None
    assert keyboard.keyboard[0][0].text == "📍 Share my location"


async def test_help_lists_the_readers_commands_in_their_language(
    chat: ChatFactory, admin_chat: Chat, services: Services, db: Database
) -> None:
    await joined(services, db, "telegram", "42", language="en")
    sam = chat("42", language="en")
    await sam.send("/help")
    shown = commands(sam.last_text)
    assert "/alert" in shown and "/alerte" not in shown
    assert {"/help", "/task", "/ring", "/quiet", "/timezone"} <= shown  # English names
    assert "/newtask" not in shown and "/promote" not in shown  # organizers', admins'
    assert "/link" not in shown  # one messenger, nothing to link yet
    assert "Here is what I can do" in sam.last_text

    await sam.send("/link")
    await chat(UUID, channel="signal").send(f"/link {code_in(sam.last_text)}")
    await sam.send("/help")
    assert "/link" in commands(sam.last_text)  # now it chooses where messages arrive

    await admin_chat.send("/help")
    shown = commands(admin_chat.last_text)
    assert "/alerte" in shown and "/alert" not in shown
    # French names in French (the English ones work too)
    assert {"/aide", "/nouvelletache", "/diffuser", "/promouvoir", "/journal"} <= shown
    assert {"/cercle", "/classement", "/calme", "/fuseau", "/start"} <= shown
    assert "/newtask" not in shown and "/help" not in shown
    assert "/annuler arrête" in admin_chat.last_text
    assert "Pour les admins" in admin_chat.last_text
    await joined(services, db, "telegram", "43")
    ana = chat("43")
    await ana.send("/cercle")  # what /help shows works
    assert "Vous n'êtes pas dans le cercle de riposte" in ana.last_text


async def test_the_broadcast_wizard_shows_french_words_to_a_french_organizer(
    chat: ChatFactory, services: Services
) -> None:
    await seed(
        services,
        SeedVolunteer("200", roles=(("organizer", "Lyon 3e"),)),
        SeedVolunteer("300", teams=("Lyon 3e",), skills="share", department="69"),
        SeedVolunteer("301", teams=("Lyon 3e",), skills="call", department="69"),
    )
    ana = chat("200", language="fr")
    unhurried(ana)
    await ana.send("/broadcast")
    await ana.send("Rassemblement samedi")
    await ana.tap("Aucun bouton")
    hint = ana.last_text
    assert "compétence:partage|porte-à-porte|appels|sms|événements" in hint
    assert "share" not in hint and "canvass" not in hint and "area:" not in hint
    await ana.send("compétence:voler")
    assert "Je ne connais pas la compétence « voler »" in ana.last_text
    assert "partage, porte-à-porte, appels, sms, événements" in ana.last_text
    await ana.send("secteur:69 compétence:partage")
    assert "Destinataires : secteur 69 · compétence : partage — 1 bénévole en ce moment." in (
        ana.last_text
    )
    assert "Ajouter une version en anglais" in [c.label for row in ana.last.choices for c in row]
    await ana.tap("Ajouter une version en anglais")
    assert "Envoyez le message en anglais" in ana.last_text
    await ana.send("Rally on Saturday")
    assert "Anglais" in ana.texts()
    await ana.tap("Envoyer maintenant")
    await ana.send("/broadcasts")
    assert "secteur 69 · compétence : partage" in ana.last_text
    assert "skill:" not in ana.last_text and "area:" not in ana.last_text


async def test_a_share_task_targets_the_skill_in_the_readers_words(
    admin_chat: Chat,
) -> None:
    unhurried(admin_chat)
    await admin_chat.send("/newtask")
    await admin_chat.tap("Partage")
    await admin_chat.tap("Toute la campagne")
    await admin_chat.send("Partager la vidéo")
    await admin_chat.send("-")
    await admin_chat.send("https://example.org/video")
    await admin_chat.send("Nos retraites")
    await admin_chat.send("-")
    labels = [c.label for row in admin_chat.last.choices for c in row]
    assert "Seulement ceux qui ont choisi « partage »" in labels


def test_audit_entries_read_as_sentences_without_codes() -> None:
    with use_language("en"):
        assert action_in_words("role.grant.organizer", "volunteer:5") == (
            "made volunteer #5 an organizer"
        )
        assert action_in_words("task.import", "added:2 updated:1") == (
            "imported tasks from a file (2 added, 1 updated)"
        )
        assert action_in_words("volunteers.list", "team:3 area:69 skill:share") == (
            "listed volunteers (team #3, area 69, sharing)"
        )
        assert action_in_words("export", "outcomes: 12 rows, teams 1,2") == (
            "exported outcomes: 12 rows, team #1, team #2"
        )
        assert action_in_words("broadcast.create", "broadcast:4 skill:call") == (
            "created broadcast #4"
        )
        named = action_in_words("team.create", "team:3", {3: "Lyon 3e"})
        assert named == "created team Lyon 3e"
    with use_language("fr"):
        assert action_in_words("role.revoke.comms", "7") == (
            "a retiré bénévole n°7 de l'équipe comm"
        )
        assert action_in_words("export", "volunteers: 1 rows, all teams") == (
            "a exporté bénévoles : 1 ligne, toutes les équipes"
        )


def test_a_count_or_a_distance_is_read_with_the_unit_the_question_named() -> None:
    assert [parse_count(t) for t in ("200", "1 200", "200 portes", "12 people", "1.200 doors")] == [
        200,
        1200,
        200,
        12,
        1200,
    ]
    # Not a count: a decimal, words only, two numbers, a unit glued to the number.
    assert [parse_count(t) for t in ("1.2", "deux", "2 ou 3", "5e", "200 portes !")] == [None] * 5
    assert [parse_distance(t) for t in ("5", "2,5", "5 km", "10 kilomètres", "5km")] == [
        5.0,
        2.5,
        5.0,
        10.0,
        5.0,
    ]
    assert [parse_distance(t) for t in ("km", "5 miles", "-1", "cinq")] == [None] * 4
