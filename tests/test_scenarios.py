"""Volunteers' flows written once, run on Telegram, Signal and the console, in French and
English: joining, tasks with typed counts, pause, profile, /mydata and /forget, a phone
bank call, raising the alarm on a pasted link.

Each scenario is what a person types or picks and what must be stored afterwards. The same
script runs against the whole app on Telegram (real PTB, fake Bot API), the whole app on
Signal (the real adapter, fake signal-cli) and the console chat, with the same assertions:
a flow that works only with Telegram buttons fails here on the other two
(tests/scenarios.py says how each messenger is driven).
"""

from __future__ import annotations

import re
from pathlib import Path

from bot.domain.tasks import TaskDraft
from bot.messaging import Outbound
from bot.services.people import Actor
from tests.alert_factories import comms
from tests.factories import make_volunteer
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.clock import FakeClock
from tests.fakes.relais import running_relais, telegram_env
from tests.fakes.signal_cli import FakeSignalCli, signal_env
from tests.scenarios import (
    Expect,
    Person,
    SignalPerson,
    TelegramPerson,
    World,
    both_languages,
    place,
)

__all__ = ["place"]  # the fixture every scenario runs in, one per messenger


async def to_where(ana: Person, language: str) -> str:
    """/start, the language, consent and the name "Ana": the question "Where are you?"."""
    await ana.say("/start", "Relais")
    await ana.choose(
        "Français" if language == "fr" else "English",
        Expect("Avant de commencer : vos données", "Before we start: your data"),
    )
    await ana.choose("✅ I agree", Expect("Étape 3 sur 6", "Step 3 of 6"))
    return await ana.say("Ana", Expect("Où êtes-vous ?", "Where are you?"))


# -- joining -------------------------------------------------------------------------------


@both_languages
async def test_joining(place: World, language: str) -> None:
    uid = place.user(42)
    ana = place.person(uid, language)
    # Signal tells nothing of a person's language: the campaign's is spoken until picked.
    where = await to_where(ana, language)
    if place.messenger != "telegram":
        assert "bouton" not in where and "button" not in where  # there is none to tap
    await ana.say("75011", Expect("Qu'êtes-vous prêt·e à faire", "What are you willing to do"))
    await ana.choose("🚪 Canvass", Expect("Qu'êtes-vous prêt·e à faire", "What are you willing"))
    # Nothing picked for "when" yet: Done explains, and the list stays answerable.
    await ana.choose("Done ▶", Expect("Quand êtes-vous", "When are you usually available"))
    await ana.choose("Done ▶", Expect("Choisissez-en au moins un", "Pick at least one"))
    await ana.choose(
        "🌙 Weekday evenings", Expect("Quand êtes-vous", "When are you usually available")
    )
    await ana.choose("Done ▶", Expect("Bienvenue dans l'équipe, Ana", "Welcome to the team, Ana"))
    volunteer = await place.services.volunteers.by_identity(place.messenger, uid)
    assert volunteer is not None
    assert (volunteer.status, volunteer.first_name, volunteer.language) == (
        "active",
        "Ana",
        language,
    )
    assert volunteer.postcode == "75011" and volunteer.skills == {"canvass"}
    assert volunteer.availability == {"evenings"}


@both_languages
async def test_joining_with_skills_and_times_typed_in_either_language(
    place: World, language: str
) -> None:
    """Words typed instead of numbers or taps tick choices, in French or English whatever
    the person's language: "week-end" and "canvassing" in French, "porte-à-porte" in English."""
    uid = place.user(43)
    ana = place.person(uid, language)
    await to_where(ana, language)
    await ana.say("75011", Expect("Qu'êtes-vous prêt·e à faire", "What are you willing to do"))
    typed = "canvassing, appels" if language == "fr" else "porte-à-porte and calls"
    await ana.say(typed, Expect("Qu'êtes-vous prêt·e à faire", "What are you willing to do"))
    refusal = Expect("Répondez avec les boutons", "Please answer with the buttons")
    if place.messenger != "telegram":
        refusal = Expect("Répondez par le numéro", "Please answer with the number")
    await ana.say("n'importe quoi", refusal)
    await ana.choose("Done ▶", Expect("Quand êtes-vous", "When are you usually available"))
    await ana.say("week-end", Expect("Quand êtes-vous", "When are you usually available"))
    await ana.choose("Done ▶", Expect("Bienvenue dans l'équipe, Ana", "Welcome to the team, Ana"))
    volunteer = await place.services.volunteers.by_identity(place.messenger, uid)
    assert volunteer is not None
    assert volunteer.skills == {"canvass", "call"} and volunteer.availability == {"weekends"}


@both_languages
async def test_a_short_town_name_is_a_choice_and_the_place_is_said_back(
    place: World, language: str
) -> None:
    uid = place.user(43)
    ana = place.person(uid, language)
    await to_where(ana, language)
    await ana.say("Boulogne", Expect("Plusieurs communes", "Several communes"))
    await ana.choose(
        "Boulogne-Billancourt (92)",
        Expect(
            "📍 C’est noté : Boulogne-Billancourt (92100).",
            "📍 Noted: Boulogne-Billancourt (92100).",
        ),
    )
    volunteer = await place.services.volunteers.by_identity(place.messenger, uid)
    assert volunteer is not None and (volunteer.commune, volunteer.department) == ("92012", "92")


@both_languages
async def test_a_gmt_offset_is_the_zone_people_mean(place: World, language: str) -> None:
    """ "GMT+2" is two hours east of Greenwich, whatever the sign of its POSIX name."""
    uid = place.user(44)
    await make_volunteer(place.services, uid, channel=place.messenger, language=language)
    ana = place.person(uid, language)
    command = "/fuseau" if language == "fr" else "/timezone"
    await ana.say(f"{command} GMT+2", Expect("fuseau horaire UTC+2.", "time zone UTC+2."))
    volunteer = await place.services.volunteers.by_identity(place.messenger, uid)
    assert volunteer is not None and volunteer.timezone == "Etc/GMT-2"
    await ana.say(f"{command} UTC-5", Expect("fuseau horaire UTC−5.", "time zone UTC−5."))
    await ana.say(
        f"{command} London",
        Expect(
            "fuseau horaire Europe/London (actuellement UTC).",
            "time zone Europe/London (now UTC).",
        ),
    )


@both_languages
async def test_a_thank_you_at_the_consent_question_asks_again(place: World, language: str) -> None:
    """Only a clear no declines: "Merci !" (a word of "Non, merci" once) is asked again."""
    uid = place.user(46)
    ana = place.person(uid, language)
    await ana.say("/start", "Relais")
    await ana.choose(
        "Français" if language == "fr" else "English",
        Expect("Avant de commencer : vos données", "Before we start: your data"),
    )
    await ana.say(Expect("Merci !", "Thanks!").said(language), Expect("Répondez", "Please answer"))
    assert await place.services.volunteers.by_identity(place.messenger, uid) is None
    await ana.choose("✅ I agree", Expect("Étape 3 sur 6", "Step 3 of 6"))


@both_languages
async def test_a_number_that_is_no_choice_is_not_a_first_name(place: World, language: str) -> None:
    uid = place.user(47)
    ana = place.person(uid, language)
    await ana.say("/start", "Relais")
    await ana.choose(
        "Français" if language == "fr" else "English",
        Expect("Avant de commencer : vos données", "Before we start: your data"),
    )
    await ana.choose("✅ I agree", Expect("Étape 3 sur 6", "Step 3 of 6"))
    await ana.say("7", Expect("« 7 » n’est pas un prénom", "“7” is not a first name"))
    await ana.say("Ana", Expect("Où êtes-vous ?", "Where are you?"))
    volunteer = await place.services.volunteers.by_identity(place.messenger, uid)
    assert volunteer is not None and volunteer.first_name == "Ana"


# -- tasks: accept, skip, later, done with counts -------------------------------------------


@both_languages
async def test_a_canvass_reported_with_typed_counts(place: World, language: str) -> None:
    uid = place.user(50)
    await make_volunteer(place.services, uid, channel=place.messenger, language=language)
    services = place.services
    await services.tasks.create(Actor.system(), TaskDraft(kind="custom", title="Poster"))
    await services.tasks.create(Actor.system(), TaskDraft(kind="custom", title="Flyers"))
    doors = await services.tasks.create(Actor.system(), TaskDraft(kind="canvass", title="Doors"))
    ana = place.person(uid, language)
    await ana.say("/task", "Poster")
    await ana.choose("Later", "Flyers")
    await ana.choose("Skip", "Doors")
    await ana.choose("Accept", Expect("Voici quoi faire", "Here is what to do"))
    await ana.choose("Done", Expect("combien de portes", "How many doors"))
    await ana.say("²", Expect("nombre entier", "whole number"))  # not a count: asked again
    await ana.say("30", Expect("Combien de conversations", "How many conversations"))
    await ana.say("12", Expect("Combien de sympathisants", "How many supporters"))
    await ana.say("4", Expect("Quelque chose à dire", "Anything to tell"))
    await ana.choose("No comment", "+")
    row = await services.db.fetch_one(
        "SELECT o.doors_knocked, o.conversations, o.supporters, o.comment FROM outcomes o"
        " JOIN assignments a ON a.id = o.assignment_id WHERE a.task_id = ?",
        (doors.id,),
    )
    assert row is not None
    assert (row["doors_knocked"], row["conversations"], row["supporters"]) == (30, 12, 4)
    assert row["comment"] is None
    states = await services.db.fetch_all("SELECT state FROM assignments ORDER BY task_id")
    assert [r["state"] for r in states] == ["later", "skipped", "done"]


# -- pause and resume ------------------------------------------------------------------------


@both_languages
async def test_pause_then_resume(place: World, language: str) -> None:
    uid = place.user(60)
    await make_volunteer(place.services, uid, channel=place.messenger, language=language)
    ana = place.person(uid, language)
    await ana.say("/pause", Expect("Faites une pause", "Take a break"))
    await ana.choose("One week", Expect("pause", "break"))
    volunteer = await place.services.volunteers.by_identity(place.messenger, uid)
    assert volunteer is not None and volunteer.paused_until
    await ana.say("/resume", Expect("retour", "back"))
    volunteer = await place.services.volunteers.by_identity(place.messenger, uid)
    assert volunteer is not None and not volunteer.paused_until


# -- /mydata and /forget ---------------------------------------------------------------------


@both_languages
async def test_forget_erases_after_a_confirmation(place: World, language: str) -> None:
    uid = place.user(80)
    await make_volunteer(place.services, uid, channel=place.messenger, language=language)
    ana = place.person(uid, language)
    await ana.say("/mydata", Expect("tout ce que Relais", "everything Relais"))
    await ana.say("/forget", Expect("Tout effacer", "Erase everything"))
    await ana.choose("No, keep it", Expect("Rien n'a été effacé", "Nothing was erased"))
    await ana.say("/oublier" if language == "fr" else "/forget", Expect("effacer", "rase"))
    await ana.choose(
        "🗑 Yes, erase everything",
        Expect("tout ce qui vous concernait a été effacé", "everything about you was erased"),
    )
    assert await place.services.volunteers.by_identity(place.messenger, uid) is None


async def test_after_forget_nothing_of_the_persons_lists_remains(place: World) -> None:
    """On Signal and the console the lists on screen quote the person (their name, their
    ticks): /forget leaves none of them, in the database or in the messenger's memory."""
    uid = place.user(81)
    await make_volunteer(place.services, uid, channel=place.messenger, language="fr")
    ana = place.person(uid, "fr")
    await ana.say("/profil", "Votre profil")
    await ana.say("/oublier", "Tout effacer")
    await ana.choose("🗑 Yes, erase everything", "tout ce qui vous concernait a été effacé")
    if place.messenger != "telegram":
        # Before: "1" still picked the profile's first choice from the lists kept.
        await ana.say("1", "Ce choix a expiré")
    lists = await place.services.db.fetch_value(
        "SELECT COUNT(*) FROM numbered_choices WHERE chat_id = :chat", {"chat": uid}
    )
    assert lists == 0


# -- profile ------------------------------------------------------------------------


@both_languages
async def test_profile_name_change(place: World, language: str) -> None:
    uid = place.user(100)
    await make_volunteer(place.services, uid, channel=place.messenger, language=language)
    ana = place.person(uid, language)
    await ana.say(
        "/profil" if language == "fr" else "/profile", Expect("Votre profil", "Your profile")
    )
    await ana.choose("✏️ Name", Expect("Quel prénom", "What first name"))
    await ana.say("Zoé", "Zoé")
    volunteer = await place.services.volunteers.by_identity(place.messenger, uid)
    assert volunteer is not None and volunteer.first_name == "Zoé"


async def test_coordinates_typed_the_french_way_are_a_position(place: World) -> None:
    """Where a place is asked, "48,8566, 2,3522" is a position on every messenger (before:
    a town abroad on Telegram and the console), and "0, 0" is refused."""
    uid = place.user(101)
    await make_volunteer(place.services, uid, channel=place.messenger, language="fr")
    ana = place.person(uid, "fr")
    await ana.say("/profil", "Votre profil")
    await ana.choose("📍 Where", "Où êtes-vous")
    await ana.say("0, 0", "Cette position semble erronée")
    await ana.say("48,8566, 2,3522", "Votre profil")
    volunteer = await place.services.volunteers.by_identity(place.messenger, uid)
    assert volunteer is not None
    assert (volunteer.department, volunteer.latitude, volunteer.longitude) == (
        "75",
        48.8566,
        2.3522,
    )


@both_languages
async def test_whole_numbers_at_the_place_question_are_no_position(
    place: World, language: str
) -> None:
    """ "48 2" is no position (before, on Signal and the console: a point near Orléans was
    stored); it is read as a postcode typed with a space, and refused with what to type."""
    uid = place.user(102)
    await make_volunteer(place.services, uid, channel=place.messenger, language=language)
    ana = place.person(uid, language)
    await ana.say("/profil", Expect("Votre profil", "Your profile"))
    await ana.choose("📍 Where", Expect("Où êtes-vous", "Where are you"))
    await ana.say(
        "48 2", Expect("482 n'est pas un code postal français", "482 is not a French postcode")
    )
    await ana.say("48.8566 2.3522", Expect("Votre profil", "Your profile"))
    volunteer = await place.services.volunteers.by_identity(place.messenger, uid)
    assert volunteer is not None
    assert (volunteer.latitude, volunteer.longitude) == (48.8566, 2.3522)


@both_languages
async def test_a_plain_villeneuve_is_offered_among_the_bigger_villeneuve_towns(
    place: World, language: str
) -> None:
    uid = place.user(103)
    await make_volunteer(place.services, uid, channel=place.messenger, language=language)
    ana = place.person(uid, language)
    await ana.say("/profil", Expect("Votre profil", "Your profile"))
    await ana.choose("📍 Where", Expect("Où êtes-vous", "Where are you"))
    await ana.say("Villeneuve", Expect("Plusieurs communes", "Several communes"))
    # Before: only eight Villeneuve-* were offered, none of the six plain Villeneuve.
    await ana.choose("Villeneuve (12)", Expect("Votre profil", "Your profile"))
    volunteer = await place.services.volunteers.by_identity(place.messenger, uid)
    assert volunteer is not None and volunteer.department == "12"


# -- phone bank, alert ---------------------------------------------------------------


@both_languages
async def test_phone_bank_one_call(place: World, language: str) -> None:
    uid = place.user(120)
    services = place.services
    caller = await make_volunteer(services, uid, channel=place.messenger, language=language)
    calls = await services.tasks.create(Actor.system(), TaskDraft(kind="call", title="Appels"))
    await services.calls.import_list(calls.id, b"name,phone\nCamille Martin,06 12 34 56 78\n")
    await services.tasks.accept(caller.id, calls.id)
    sam = place.person(uid, language)
    await sam.say("/mytasks", "Appels")
    await sam.choose("Start calling", Expect("Appelez", "Call"))
    await sam.choose("👍 Supporter", Expect("Noté : Camille Martin", "Noted: Camille Martin"))
    await sam.choose("Finished calling", "+")
    summary = await services.call_repo.summary(calls.id)
    assert summary.get("result_supporter") == 1


@both_languages
async def test_raising_the_alarm_on_a_pasted_link(place: World, language: str) -> None:
    uid = place.user(130)
    await make_volunteer(place.services, uid, channel=place.messenger, language=language)
    ana = place.person(uid, language)
    await ana.say(
        "https://x.com/Candidat/status/1862599999999999999",
        Expect("Est-ce un post qui attaque", "Is this a post attacking"),
    )
    await ana.choose("🚨 Raise the alarm", Expect("Bien reçu", "Got it"))
    await ana.choose("🚨 Send without comment", Expect("Merci", "Thank you"))
    assert await place.services.db.fetch_value("SELECT COUNT(*) FROM incidents") == 1


async def test_an_alarm_comment_that_starts_with_a_command_word_is_the_comment(
    place: World,
) -> None:
    """ "Stop à cette intox…" is a comment on Signal too, not /stop: the alarm is raised and
    the volunteer stays; a command that takes words ("alerte …") is text mid-flow too."""
    uid = place.user(131)
    await make_volunteer(place.services, uid, channel=place.messenger, language="fr")
    ana = place.person(uid, "fr")
    comments = [
        "Stop à cette intox qui tourne depuis ce matin",
        "Alerte : ce post est repris partout",
    ]
    for number, comment in enumerate(comments, start=1):
        await ana.say("/alerte", "Envoyez-moi le lien")
        await ana.say(f"https://x.com/Opposant/status/18625123456789012{number:02d}", "commentaire")
        await ana.say(comment, "Merci")
    stored = await place.services.db.fetch_all(
        "SELECT comment FROM incident_reports ORDER BY incident_id"
    )
    assert [row["comment"] for row in stored] == comments
    volunteer = await place.services.volunteers.by_identity(place.messenger, uid)
    assert volunteer is not None and volunteer.status == "active"


@both_languages
async def test_the_words_typed_beside_the_alarm_link_are_the_comment(
    place: World, language: str
) -> None:
    """ "/alert <link> urgent!!", or /alert then "<link> urgent!!": the words beside the link
    are the comment, as typed; Relais does not ask for one again, and the page to the comms
    team shows them among what reporters said, not as what the post says."""
    uid = place.user(132)
    await make_volunteer(place.services, uid, channel=place.messenger, language=language)
    await comms(place.services, place.user(133), name="Léa", language=language)
    ana = place.person(uid, language)
    command = "/alerte" if language == "fr" else "/alert"
    asked = Expect("Ajoutez un commentaire", "Add a comment").said(language)
    thanks = Expect("Merci", "Thank you")
    answer = await ana.say(f"{command} https://x.com/foo/status/123 urgent!!", thanks)
    assert asked not in answer
    await ana.say(command, Expect("Envoyez-moi le lien", "Send me the link"))
    answer = await ana.say("https://x.com/bar/status/456 : vu 3 fois ce matin !", thanks)
    assert asked not in answer
    stored = await place.services.db.fetch_all(
        "SELECT comment FROM incident_reports ORDER BY incident_id"
    )
    assert [row["comment"] for row in stored] == ["urgent!!", "vu 3 fois ce matin !"]
    summaries = await place.services.db.fetch_all("SELECT summary FROM incidents")
    assert [row["summary"] for row in summaries] == ["", ""]
    pages = await place.services.db.fetch_all(
        "SELECT payload FROM outbox WHERE kind = 'alert' ORDER BY id"
    )
    said = Expect("Ce qu'en disent les militants :", "What reporters said:").said(language)
    for row, comment in zip(pages, ["urgent!!", "vu 3 fois ce matin !"], strict=True):
        assert f"{said}\n• {comment}" in Outbound.from_json(str(row["payload"])).text


# -- linking: one volunteer on Telegram and Signal -------------------------------------------


@both_languages
async def test_linking_telegram_and_signal_then_choosing_telegram(
    tmp_path: Path, clock: FakeClock, language: str
) -> None:
    database = tmp_path / "relais.sqlite3"
    async with FakeBotAPI() as api, FakeSignalCli() as fake:
        env = {**telegram_env(api, database), **signal_env(fake, database)}
        async with running_relais(env, clock) as relais:
            await fake.wait_for_connections(1)
            services = relais.services
            await make_volunteer(services, "42", channel="telegram", language=language)
            on_signal = SignalPerson(fake, "5c0e0000-0000-4000-8000-000000000042", language)
            on_telegram = TelegramPerson(api, "42", language)
            shown = await on_telegram.say("/link", "/link ")
            code = re.search(r"/link ([A-Z0-9]{4}-[A-Z0-9]{4})", shown)
            assert code is not None
            # On Signal the command needs no slash (and "lier" is its French name).
            word = "lier" if language == "fr" else "link"
            # Before linking, Signal does not know the person: the campaign's language answers.
            await on_signal.say(f"{word} {code[1].lower()}", "Signal")
            await on_signal.say("/link", Expect("Les recevoir sur", "Receive them on"))
            # Whichever was chosen last gets offers and broadcasts: Signal, then Telegram.
            signal = Expect("Les recevoir sur Signal", "Receive them on Signal")
            await on_signal.choose(signal, "Signal")
            await on_telegram.say("/link", Expect("arrivent sur Signal", "arrive on Signal"))
            telegram = Expect("Les recevoir sur Telegram", "Receive them on Telegram")
            await on_telegram.choose(telegram, "Telegram")
            volunteer = await services.volunteers.by_identity("signal", on_signal.user_id)
            assert volunteer is not None
            addresses = await services.volunteers.addresses(volunteer.id)
            assert [a.channel for a in addresses] == ["telegram", "signal"]
