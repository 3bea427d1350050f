"""Every flow written once, run on Telegram, Signal and the console, in French and English.

Each scenario is what a person types or picks and what must be stored afterwards. The same
script runs against the whole app on Telegram (real PTB, fake Bot API), the whole app on
Signal (the real adapter, fake signal-cli) and the console chat, with the same assertions:
a flow that works only with Telegram buttons fails here on the other two.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

import handlers
from bot.config import Settings
from bot.i18n import set_language
from bot.router import FloodGate, Router
from bot.services import Services
from bot.storage.db import Database
from bot.storage.tasks import TaskDraft
from tests.factories import make_volunteer
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.clock import FakeClock
from tests.fakes.relais import running_relais, telegram_env
from tests.fakes.signal_cli import FakeSignalCli, signal_env
from tests.scenarios import ConsolePerson, Expect, Person, SignalPerson, TelegramPerson

MESSENGERS = ("telegram", "signal", "console")


@dataclass
class World:
    """One messenger running Relais on a fresh database, and a way to meet people there."""

    messenger: str
    services: Services
    person: Callable[[str, str], Person]

    def user(self, number: int) -> str:
        """A user id of this messenger (Signal knows people by UUID)."""
        if self.messenger == "signal":
            return f"5c0e0000-0000-4000-8000-{number:012d}"
        return str(number)


@contextlib.asynccontextmanager
async def world(messenger: str, tmp_path: Path, clock: FakeClock) -> AsyncIterator[World]:
    database = tmp_path / "relais.sqlite3"
    if messenger == "telegram":
        async with FakeBotAPI() as api, running_relais(telegram_env(api, database), clock) as r:
            yield World(messenger, r.services, lambda uid, lang: TelegramPerson(api, uid, lang))
    elif messenger == "signal":
        async with FakeSignalCli() as fake, running_relais(signal_env(fake, database), clock) as r:
            await fake.wait_for_connections(1)
            yield World(messenger, r.services, lambda uid, lang: SignalPerson(fake, uid, lang))
    else:
        settings = Settings.from_env(
            {"DATABASE_URL": f"sqlite:///{database}", "RELAIS_PSEUDONYM_KEY": "test-key"}
        )
        db = Database(settings.database_path)
        await db.open()
        await db.migrate()
        try:
            services = Services.build(settings, clock, db)
            router = Router(services, FloodGate(limit=1000))
            handlers.register(router)
            set_language("fr")
            yield World(
                messenger,
                services,
                lambda uid, lang: ConsolePerson(router, services, uid, lang),
            )
        finally:
            await db.close()


@pytest.fixture(params=MESSENGERS)
async def place(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[World]:
    async with world(request.param, tmp_path, clock) as running:
        yield running


both_languages = pytest.mark.parametrize("language", ["fr", "en"])


# -- joining -------------------------------------------------------------------------------


@both_languages
async def test_joining(place: World, language: str) -> None:
    uid = place.user(42)
    ana = place.person(uid, language)
    # Signal tells nothing of a person's language: the campaign's is spoken until picked.
    await ana.say("/start", "Relais")
    await ana.choose(
        "Français" if language == "fr" else "English",
        Expect("Avant de commencer : vos données", "Before we start: your data"),
    )
    await ana.choose("✅ I agree", Expect("Étape 3 sur 6", "Step 3 of 6"))
    await ana.say("Ana", Expect("Où êtes-vous ?", "Where are you?"))
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


# -- tasks: accept, skip, later, done with counts -------------------------------------------


@both_languages
async def test_a_canvass_reported_with_typed_counts(place: World, language: str) -> None:
    uid = place.user(50)
    await make_volunteer(place.services, uid, channel=place.messenger, language=language)
    services = place.services
    await services.tasks.create(None, TaskDraft(kind="custom", title="Poster"))
    await services.tasks.create(None, TaskDraft(kind="custom", title="Flyers"))
    doors = await services.tasks.create(None, TaskDraft(kind="canvass", title="Doors"))
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


# -- riposte: the target is typed ------------------------------------------------------------


@both_languages
async def test_a_riposte_with_a_typed_target(place: World, language: str) -> None:
    uid = place.user(70)
    await make_volunteer(
        place.services, uid, channel=place.messenger, language=language, role="admin"
    )
    lea = place.person(uid, language)
    await lea.say(
        "/riposte https://x.com/Candidat/status/1862599999999999999",
        Expect("Proposez un texte", "Suggest a text"),
    )
    await lea.choose("Skip", Expect("Combien de militants", "How many volunteers"))
    await lea.say("3", Expect("Objectif : 3", "Target: 3"))
    await lea.choose("⚡ Send now", Expect("Riposte n° 1", "Riposte #1"))
    target = await place.services.db.fetch_value("SELECT target FROM ripostes")
    assert target == 3


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


# -- organizers: /newtask and the broadcast wizard ------------------------------------------


@both_languages
async def test_newtask_with_a_typed_quota(place: World, language: str) -> None:
    uid = place.user(90)
    await make_volunteer(
        place.services, uid, channel=place.messenger, language=language, role="admin"
    )
    org = place.person(uid, language)
    await org.say("/newtask", Expect("De quel type", "Which kind"))
    await org.choose("Task", Expect("Pour quelle équipe", "For which team"))
    await org.choose("Whole campaign", Expect("Le titre de la tâche", "Title of the task"))
    await org.say("Affiche en vitrine", Expect("consignes", "Instructions"))
    await org.say("-", Expect("départements", "départements"))
    await org.say("-", Expect("Seulement certains bénévoles", "Only some volunteers"))
    # A wrong word, then the list is still answerable (before: forgotten on Signal/console).
    await org.say("deux cents", Expect("Je ne connais pas", "I don't know"))
    await org.choose("Everyone", Expect("Combien de réalisations", "How many completions"))
    await org.say("3", Expect("Quand se termine-t-elle", "When does it close"))
    await org.say("-", "3")
    await org.choose("Publish", Expect("Publiée : tâche n°1", "Published: task #1"))
    row = await place.services.db.fetch_one("SELECT title, quota, status FROM tasks")
    assert row is not None
    assert (row["title"], row["quota"], row["status"]) == ("Affiche en vitrine", 3, "open")


@both_languages
async def test_broadcast_wizard(place: World, language: str) -> None:
    uid = place.user(91)
    await make_volunteer(
        place.services, uid, channel=place.messenger, language=language, role="admin"
    )
    await make_volunteer(place.services, place.user(92), channel=place.messenger)
    org = place.person(uid, language)
    await org.say("/broadcast", Expect("Nouvelle diffusion", "New broadcast"))
    await org.say("<b>Rassemblement</b> ce soir", Expect("Ajouter un bouton", "Add a button"))
    await org.choose("No button", Expect("Qui doit le recevoir", "Who should receive it"))
    await org.choose(Expect("Tout le monde", "Everyone"), Expect("Destinataires", "Audience"))
    await org.choose("✅ Send now", Expect("est en route vers 2", "is on its way to 2"))
    row = await place.services.db.fetch_one("SELECT body, recipients FROM broadcasts")
    assert row is not None
    assert (row["body"], row["recipients"]) == ("<b>Rassemblement</b> ce soir", 2)


# -- profile and duty ------------------------------------------------------------------------


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


@both_languages
async def test_going_on_and_off_duty(place: World, language: str) -> None:
    uid = place.user(110)
    await make_volunteer(
        place.services, uid, channel=place.messenger, language=language, role="admin"
    )
    lea = place.person(uid, language)
    await lea.say("/duty", "/duty on")
    await lea.choose("🟢 I'm on duty", Expect("De permanence maintenant", "On duty now"))
    state = await place.services.db.fetch_value("SELECT state FROM duty")
    assert state == "on"
    await lea.choose("⚪ Off duty", "/duty off")
    on_duty = "SELECT COUNT(*) FROM duty WHERE state = 'on'"
    assert await place.services.db.fetch_value(on_duty) == 0


# -- phone bank, alert, report ---------------------------------------------------------------


@both_languages
async def test_phone_bank_one_call(place: World, language: str) -> None:
    uid = place.user(120)
    services = place.services
    caller = await make_volunteer(services, uid, channel=place.messenger, language=language)
    calls = await services.tasks.create(None, TaskDraft(kind="call", title="Appels"))
    await services.calls.import_list(calls.id, b"name,phone\nCamille Martin,06 12 34 56 78\n")
    await services.tasks.accept(caller.id, calls.id)
    sam = place.person(uid, language)
    await sam.say("/mytasks", "Appels")
    await sam.choose("Start calling", Expect("Appelez", "Call"))
    await sam.choose("👍 Supporter", Expect("Noté : Camille Martin", "Noted: Camille Martin"))
    await sam.choose("Finished calling", "+")
    summary = await services.calls.calls.summary(calls.id)
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


@both_languages
async def test_report_for_another_period(place: World, language: str) -> None:
    uid = place.user(140)
    await make_volunteer(
        place.services, uid, channel=place.messenger, language=language, role="admin"
    )
    org = place.person(uid, language)
    await org.say(
        "/rapport" if language == "fr" else "/report", Expect("Cette semaine", "This week")
    )
    await org.choose("This month", Expect("Ce mois-ci", "This month"))
