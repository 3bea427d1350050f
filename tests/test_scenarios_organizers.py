"""Organizers' flows written once, run on Telegram, Signal and the console, in French and
English: /newtask with a typed quota, the broadcast wizard, a riposte with a typed target,
going on and off duty, the report for another period (see test_scenarios.py).
"""

from __future__ import annotations

from datetime import timedelta

from bot.messaging import Outbound
from bot.services.people import Actor
from tests.factories import make_volunteer
from tests.scenarios import Expect, Person, World, both_languages, place, translated
from tests.task_factories import task

__all__ = ["place"]  # the fixture every scenario runs in, one per messenger


async def to_schedule(org: Person) -> None:
    """A broadcast "Rassemblement" to everyone, at its question "When should it go?"."""
    await org.say("/broadcast", Expect("Nouvelle diffusion", "New broadcast"))
    await org.say("Rassemblement", Expect("Ajouter un bouton", "Add a button"))
    await org.choose("No button", Expect("Qui doit le recevoir", "Who should receive it"))
    await org.choose(Expect("Tout le monde", "Everyone"), Expect("Destinataires", "Audience"))
    await org.choose("🕒 Schedule", Expect("Quand l'envoyer", "When should it go"))


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
async def test_newtask_reads_a_quota_as_every_count(place: World, language: str) -> None:
    """ "1.200" and "1 000" are counts as in every other answer; "1.2" is none."""
    uid = place.user(95)
    await make_volunteer(
        place.services, uid, channel=place.messenger, language=language, role="admin"
    )
    org = place.person(uid, language)
    await org.say("/newtask", Expect("De quel type", "Which kind"))
    await org.choose("Task", Expect("Pour quelle équipe", "For which team"))
    await org.choose("Whole campaign", Expect("Le titre de la tâche", "Title of the task"))
    await org.say("Tractage", Expect("consignes", "Instructions"))
    await org.say("-", Expect("départements", "départements"))
    await org.say("-", Expect("Seulement certains bénévoles", "Only some volunteers"))
    await org.choose("Everyone", Expect("Combien de réalisations", "How many completions"))
    await org.say("1.2", Expect("Envoyez un nombre", "Please send a number"))
    await org.say("1 000", Expect("Quand se termine-t-elle", "When does it close"))
    await org.say("-", Expect("Quota : 1000", "Quota: 1000"))


@both_languages
async def test_newtask_reads_a_distance_and_a_count_with_their_units(
    place: World, language: str
) -> None:
    """The question says "km" and "doors": "5 km" and "200 portes" are answers."""
    uid = place.user(93)
    await make_volunteer(
        place.services, uid, channel=place.messenger, language=language, role="admin"
    )
    org = place.person(uid, language)
    await org.say("/newtask", Expect("De quel type", "Which kind"))
    await org.choose("Canvassing", Expect("Pour quelle équipe", "For which team"))
    await org.choose("Whole campaign", Expect("Le titre de la tâche", "Title of the task"))
    await org.say("Porte-à-porte Gratte-Ciel", Expect("consignes", "Instructions"))
    await org.say("-", Expect("point de rendez-vous", "meeting point"))
    await org.say("Villeurbanne", Expect("combien de km", "how many km"))
    await org.say("5 km", Expect("Quelles rues", "Which streets"))
    await org.say("-", Expect("Combien de portes", "How many doors"))
    await org.say(
        Expect("200 portes", "200 doors").said(language),
        Expect("Quand commence-t-elle", "When does it start"),
    )
    await org.say(
        Expect("samedi 10h", "saturday 10am").said(language),
        Expect("départements", "départements"),
    )
    await org.say("-", Expect("Seulement certains bénévoles", "Only some volunteers"))
    await org.choose("Everyone", Expect("Combien de réalisations", "How many completions"))
    await org.say("-", Expect("Quand se termine-t-elle", "When does it close"))
    await org.say("-", "Porte-à-porte Gratte-Ciel")  # the preview
    await org.choose("Publish", Expect("Publiée : tâche n°1", "Published: task #1"))
    row = await place.services.db.fetch_one("SELECT radius_km, doors FROM tasks")
    assert row is not None and (row["radius_km"], row["doors"]) == (5.0, 200)


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


@both_languages
async def test_a_broadcast_written_in_the_other_language(place: World, language: str) -> None:
    """The main text is not always in the author's language: the preview says which it is
    in and lets them change it; the version then offered is in the author's own language,
    and each volunteer gets the text in theirs."""
    uid = place.user(93)
    await make_volunteer(
        place.services, uid, channel=place.messenger, language=language, role="admin"
    )
    other = "en" if language == "fr" else "fr"
    await make_volunteer(place.services, place.user(94), channel=place.messenger, language=other)
    await make_volunteer(place.services, place.user(95), channel=place.messenger, language=language)
    texts = {"fr": "Rassemblement ce soir", "en": "Rally tonight"}
    org = place.person(uid, language)
    await org.say("/broadcast", Expect("Nouvelle diffusion", "New broadcast"))
    await org.say(texts[other], Expect("Ajouter un bouton", "Add a button"))
    await org.choose("No button", Expect("Qui doit le recevoir", "Who should receive it"))
    in_words = {"fr": Expect("français", "French"), "en": Expect("anglais", "English")}
    mine, theirs = in_words[language].said(language), in_words[other].said(language)
    main = Expect("Texte principal en : {}.", "Main text in: {}.").said(language)
    await org.choose(Expect("Tout le monde", "Everyone"), main.format(mine))
    await org.choose(
        Expect("Le texte principal est en ", "The main text is in ").said(language) + theirs,
        main.format(theirs),
    )
    # Offered now (before, the only version offered was in the language of the text itself).
    await org.choose(
        Expect("Ajouter une version en ", "Add a version in ").said(language) + mine,
        Expect("Envoyez le message en", "Send the message in"),
    )
    await org.say(texts[language], main.format(theirs))
    await org.choose("✅ Send now", Expect("est en route vers 3", "is on its way to 3"))
    row = await place.services.db.fetch_one("SELECT language, body, variants FROM broadcasts")
    assert row is not None
    assert (row["language"], row["body"]) == (other, texts[other])
    assert texts[language] in row["variants"] and texts[other] not in row["variants"]
    for user, wanted in ((place.user(94), other), (place.user(95), language)):
        payload = await place.services.db.fetch_value(
            "SELECT payload FROM outbox WHERE kind = 'broadcast' AND chat_id = :chat",
            {"chat": user},
        )
        assert texts[wanted] in Outbound.from_json(str(payload)).text


@both_languages
async def test_a_broadcast_scheduled_in_words(place: World, language: str) -> None:
    """A delay is counted from now; a day/month that cannot exist or a date years ahead is
    refused with the reason (the clock: Saturday 15:00 in Paris)."""
    uid = place.user(93)
    await make_volunteer(
        place.services, uid, channel=place.messenger, language=language, role="admin"
    )
    org = place.person(uid, language)
    await to_schedule(org)
    await org.say(
        "12/25", Expect("« 12/25 » n’est pas une date : écrivez le jour", "“12/25” is not a date")
    )
    await org.say("25/12/2099", Expect("dans plus de deux ans", "more than two years from now"))
    await org.say(
        Expect("dans 2h", "in 2h").said(language),
        Expect(
            "programmée pour le samedi 28 novembre 2026 à 17:00",
            "scheduled for Saturday, November 28, 2026 at 5:00",
        ),
    )
    assert await place.services.db.fetch_value("SELECT COUNT(*) FROM broadcasts") == 1


@both_languages
async def test_a_closing_time_before_the_start_is_refused(place: World, language: str) -> None:
    uid = place.user(94)
    await make_volunteer(
        place.services, uid, channel=place.messenger, language=language, role="admin"
    )
    now = place.services.clock.now()
    rally = await task(
        place.services,
        "event",
        title="Rally",
        starts_at=now + timedelta(days=5),
        closes_at=now + timedelta(days=6),
    )
    org = place.person(uid, language)
    await org.say("/tasks", "Rally")
    await org.choose("Edit", Expect("modifier", "What do you want to change"))
    await org.choose("Closing time", Expect("Nouvelle heure de clôture", "New closing time"))
    await org.say(
        Expect("demain 10h", "tomorrow 10am").said(language),
        Expect("La tâche doit se terminer après son début", "The task must close after it starts"),
    )
    kept = await place.services.tasks.manageable(Actor.system(), rally.id)
    assert kept is not None and kept.closes_at == rally.closes_at


async def test_a_broadcast_that_starts_with_a_command_word_is_its_text(place: World) -> None:
    """On Signal a command works without its slash ("stop"), but a message that merely
    starts with a command's name is the broadcast, as on Telegram and the console."""
    uid = place.user(96)
    await make_volunteer(place.services, uid, channel=place.messenger, language="fr", role="admin")
    org = place.person(uid, "fr")
    bodies = [
        "Stop à la réforme ! Rendez-vous samedi 10h place Bellecour",
        "Aide aux devoirs samedi : on cherche des bénévoles",
        "Help us canvass on Saturday",
        "Pause café à 16h devant la mairie",
    ]
    for body in bodies:
        await org.say("/broadcast", "Nouvelle diffusion")
        await org.say(body, "Ajouter un bouton")
        await org.say("/cancel", "Annulé")
    volunteer = await place.services.volunteers.by_identity(place.messenger, uid)
    assert volunteer is not None and volunteer.status == "active"


async def test_a_broadcast_that_gives_a_map_link_keeps_it_in_its_text(place: World) -> None:
    """A map link is a position only where Relais asks where someone is."""
    uid = place.user(94)
    await make_volunteer(place.services, uid, channel=place.messenger, language="fr", role="admin")
    org = place.person(uid, "fr")
    await org.say("/broadcast", "Nouvelle diffusion")
    body = "Rassemblement samedi 10h ici : https://maps.google.com/?q=45.7578,4.8320"
    # Before, on Signal: "Répondez par un texte, ou /cancel." and the message was lost.
    await org.say(body, "Ajouter un bouton")
    await org.choose("No button", "Qui doit le recevoir")
    await org.choose(Expect("Tout le monde", "Everyone"), "Destinataires")
    await org.choose("✅ Send now", "est en route")
    assert await place.services.db.fetch_value("SELECT body FROM broadcasts") == body


@both_languages
async def test_an_admin_puts_a_volunteer_on_the_comms_team_by_their_number(
    place: World, language: str
) -> None:
    """On Signal a volunteer is known by a UUID nobody sees: the number /volunteers shows
    is what an admin types."""
    uid = place.user(96)
    await make_volunteer(
        place.services, uid, channel=place.messenger, language=language, role="admin"
    )
    lea = await make_volunteer(place.services, place.user(97), channel=place.messenger)
    admin = place.person(uid, language)
    await admin.say(
        f"/comms add #{lea.id}",
        Expect(
            "fait maintenant partie de l'équipe communication",
            "is now on the comms team",
        ),
    )
    await admin.say("/comms add #9999", Expect("le numéro 9999", "the number 9999"))
    await admin.say("/comms", Expect("Équipe communication : ", "Comms team: "))
    await admin.say(f"/comms remove #{lea.id}", Expect("ne fait plus partie", "no longer on"))


@both_languages
async def test_promote_offers_the_comms_team(place: World, language: str) -> None:
    """/promote offers the comms team beside organizer and admin (before: only /comms add
    gave it): tapped on Telegram, typed as its number or its word on Signal and the console.
    The person is told, in their language."""
    uid = place.user(99)
    await make_volunteer(
        place.services, uid, channel=place.messenger, language=language, role="admin"
    )
    lea = await make_volunteer(
        place.services, place.user(100), channel=place.messenger, first_name="Léa"
    )
    admin = place.person(uid, language)
    await admin.say(f"/promote {lea.id}", Expect("Quel rôle pour", "Which role for"))
    await admin.choose(
        "Comms team (alerts, duty)",
        Expect(f"C'est fait : #{lea.id} a le nouveau rôle.", f"Done: #{lea.id} has the new role."),
    )
    assert "Léa" in await admin.say("/comms", Expect("Équipe communication", "Comms team"))
    told = await place.services.db.fetch_value(
        "SELECT payload FROM outbox WHERE chat_id = :chat", {"chat": place.user(100)}
    )
    assert "/duty vous met de permanence" in str(told)  # Léa's language: French
    if place.messenger != "telegram":
        bob = await make_volunteer(
            place.services, place.user(101), channel=place.messenger, first_name="Bob"
        )
        await admin.say(f"/promote {bob.id}", Expect("Quel rôle pour", "Which role for"))
        await admin.say(
            Expect("communication", "comms").said(language),
            Expect(f"C'est fait : #{bob.id}", f"Done: #{bob.id}"),
        )
        assert "Bob" in await admin.say("/comms", Expect("Équipe communication", "Comms team"))


@both_languages
async def test_demote_tells_the_person_what_they_no_longer_are(place: World, language: str) -> None:
    """A promotion tells the person; a demotion does too (before: nothing), in their own
    language, through the outbox: organizer of a team, admin, comms team."""
    uid = place.user(102)
    await make_volunteer(
        place.services, uid, channel=place.messenger, language=language, role="admin"
    )
    other = "en" if language == "fr" else "fr"
    lea = await make_volunteer(
        place.services,
        place.user(103),
        channel=place.messenger,
        first_name="Léa",
        language=other,
        teams=("Lyon",),
        team_role="organizer",
        role="admin",
    )
    await place.services.volunteers.grant_role(lea.id, "comms", None, None)
    admin = place.person(uid, language)
    roles = {
        "Organizer of {team}": Expect(
            "Vous n'êtes plus organisateur de Lyon.",
            "You are no longer an organizer of Lyon.",
        ),
        "Admin (everything)": Expect(
            "Vous n'êtes plus admin de Relais.", "You are no longer an admin of Relais."
        ),
        "Comms team (alerts, duty)": Expect(
            "Vous ne faites plus partie de l'équipe communication",
            "You are no longer on the comms team",
        ),
    }
    for label, notice in roles.items():
        await admin.say(f"/demote {lea.id}", Expect("Quel rôle", "Which role"))
        shown = translated(label, language).format(team="Lyon")
        await admin.choose(
            shown, Expect(f"C'est fait : #{lea.id} n'a plus", f"Done: #{lea.id} lost this role")
        )
        told = await place.services.db.fetch_value(
            "SELECT payload FROM outbox WHERE chat_id = :chat ORDER BY id DESC LIMIT 1",
            {"chat": place.user(103)},
        )
        assert told is not None, label
        assert notice.said(other) in Outbound.from_json(str(told)).text
    assert await place.services.volunteers.roles(lea.id) == ()


# -- duty -------------------------------------------------------------------------------


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


# -- report -----------------------------------------------------------------------------


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


@both_languages
async def test_a_broadcast_time_typed_as_now_is_sent_now(place: World, language: str) -> None:
    """ "maintenant" at the sending-time question is a time, read by the date parser: before,
    on Signal and the console, it picked "✅ Send now" of the preview above (one word of its
    label) and the answer was "this choice has expired"."""
    uid = place.user(98)
    await make_volunteer(
        place.services, uid, channel=place.messenger, language=language, role="admin"
    )
    org = place.person(uid, language)
    await to_schedule(org)
    await org.say(
        Expect("maintenant", "now").said(language), Expect("est en route", "is on its way")
    )
    assert await place.services.db.fetch_value("SELECT COUNT(*) FROM broadcasts") == 1
