"""Joining Relais from /start, as a person would, in French and in English."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.router import Router
from bot.services import Services
from bot.services import volunteers as volunteers_service
from tests.fakes.chat import Chat

ChatFactory = Callable[..., Chat]


async def count(services: Services, table: str) -> int:
    return int(await services.db.fetch_value(f"SELECT COUNT(*) FROM {table}") or 0)


async def join(c: Chat, *, postcode: str = "75011") -> None:
    """The whole onboarding with the messenger's name, a postcode, one skill, one slot."""
    await c.send("/start")
    await c.tap("ob:lang:" + c.language)
    await c.tap("ob:consent:yes")
    await c.tap("ob:name:keep")
    await c.send(postcode)
    await c.tap("ob:skill:canvass")
    await c.tap("ob:skill:done")
    await c.tap("ob:avail:evenings")
    await c.tap("ob:avail:done")


async def test_refusing_consent_stores_nothing_and_says_goodbye(
    chat: ChatFactory, services: Services
) -> None:
    zoe = chat("42", language="fr", first_name="Zoé")
    await zoe.send("/start")
    assert "Bonjour Zoé ! Je suis Relais" in zoe.last_text
    assert "Étape 1 sur 6" in zoe.last_text
    await zoe.tap("Français")
    assert "Avant de commencer : vos données" in zoe.last_text
    assert "730 jours" in zoe.last_text and "/forget" in zoe.last_text
    await zoe.tap("❌ Non")
    assert "rien n'a été enregistré sur vous" in zoe.last_text
    assert await count(services, "volunteers") == 0
    assert await count(services, "identities") == 0
    assert await count(services, "conversations") == 0
    await zoe.tap_data("ob:consent:yes")  # the old button, tapped again
    assert zoe.last_text == "Ce bouton a expiré. Rien n'a été modifié."
    assert await count(services, "volunteers") == 0


async def test_joining_in_french_in_six_steps(chat: ChatFactory, services: Services) -> None:
    zoe = chat("42", language="fr", first_name="Zoé")
    await zoe.send("/start")
    await zoe.tap("Français")
    await zoe.tap("J'accepte")
    assert "Vous avez accepté." in zoe.texts(zoe.replies[-3:])
    assert "Étape 3 sur 6" in zoe.last_text
    await zoe.tap("Garder « Zoé »")
    assert "Où êtes-vous ?" in zoe.last_text and zoe.last.request == "location"
    await zoe.send("20090")
    assert "Qu'êtes-vous prêt·e à faire" in zoe.last_text
    await zoe.tap("Porte-à-porte")
    assert "✅ 🚪 Porte-à-porte" in [c.label for row in zoe.last.choices for c in row]
    assert zoe.last.edit
    await zoe.tap("Appeler")
    await zoe.tap("Porte-à-porte")  # changed her mind
    await zoe.tap("Terminé")
    assert "Quand êtes-vous" in zoe.last_text
    await zoe.tap("Terminé")
    assert zoe.last_text == "Choisissez-en au moins un, puis touchez Terminé."
    await zoe.tap("Week-ends")
    await zoe.tap("En journée")
    await zoe.tap("Terminé")
    assert "Bienvenue dans l'équipe, Zoé ! 🎉" in zoe.last_text
    assert "/invite" in zoe.last_text and "/mydata" in zoe.last_text
    volunteer = await services.volunteers.by_identity("telegram", "42")
    assert volunteer is not None
    assert (volunteer.status, volunteer.first_name, volunteer.language) == ("active", "Zoé", "fr")
    assert (volunteer.postcode, volunteer.department) == ("20090", "2A")
    assert volunteer.skills == {"call"} and volunteer.availability == {"weekends", "daytime"}
    consents = await services.volunteers.consents(volunteer.id)
    assert len(consents) == 1 and consents[0].update_key and len(consents[0].text_sha256) == 64
    assert await count(services, "conversations") == 0


async def test_start_in_the_middle_keeps_the_skills_already_ticked(
    chat: ChatFactory, services: Services
) -> None:
    zoe = chat("43", language="fr", first_name="Zoé")
    await zoe.send("/start")
    await zoe.tap("Français")
    await zoe.tap("J'accepte")
    await zoe.tap("Garder « Zoé »")
    await zoe.send("20090")
    await zoe.tap("Porte-à-porte")
    await zoe.tap("Appeler")
    await zoe.send("/start")  # lost, or curious: where was I?
    labels = [c.label for row in zoe.last.choices for c in row]
    assert "Qu'êtes-vous prêt·e à faire" in zoe.last_text
    assert "✅ 🚪 Porte-à-porte" in labels
    assert any(label.startswith("✅") and "Appeler" in label for label in labels)
    await zoe.tap("Terminé")
    assert "Quand êtes-vous" in zoe.last_text
    volunteer = await services.volunteers.by_identity("telegram", "43")
    assert volunteer is not None and volunteer.skills == {"canvass", "call"}


async def test_joining_in_english_with_a_typed_name_and_a_place_abroad(
    chat: ChatFactory, services: Services
) -> None:
    sam = chat("55", language="en-GB", first_name="Sam")
    await sam.send("/start")
    assert "Hello Sam! I am Relais" in sam.last_text
    labels = [c.label for row in sam.last.choices for c in row]
    assert labels == ["✓ English", "Français"]  # the messenger's language comes first
    await sam.tap("English")
    assert "Before we start: your data" in sam.last_text
    await sam.tap("I agree")
    await sam.send("  Samuel\u200b  ")
    assert "Where are you?" in sam.last_text
    await sam.send("Bruxelles, Belgique")
    await sam.tap("Share online")
    await sam.tap("Done")
    await sam.tap("Weekday evenings")
    await sam.tap("Done")
    assert "Welcome to the team, Samuel! 🎉" in sam.last_text
    volunteer = await services.volunteers.by_identity("telegram", "55")
    assert volunteer is not None
    assert (volunteer.first_name, volunteer.language, volunteer.place) == (
        "Samuel",
        "en",
        "Bruxelles, Belgique",
    )
    assert volunteer.postcode == "" and volunteer.department == ""


async def test_switching_language_at_the_first_step(chat: ChatFactory, services: Services) -> None:
    sam = chat("56", language="fr", first_name="Sam")
    await sam.send("/start")
    await sam.tap("English")
    assert "Before we start" in sam.last_text
    await sam.tap("I agree")
    assert "What first name" in sam.last_text
    volunteer = await services.volunteers.by_identity("telegram", "56")
    assert volunteer is not None and volunteer.language == "en"


async def test_a_shared_location_is_stored_as_coordinates(
    chat: ChatFactory, services: Services
) -> None:
    ana = chat("57", language="fr")
    await ana.send("/start")
    await ana.tap("Français")
    await ana.tap("J'accepte")
    await ana.tap("Garder")
    await ana.send(location=(48.8566123, 2.3522219))
    assert "Qu'êtes-vous prêt·e à faire" in ana.last_text
    volunteer = await services.volunteers.by_identity("telegram", "57")
    assert volunteer is not None
    assert (volunteer.latitude, volunteer.longitude) == (48.85661, 2.35222)


async def test_start_again_resumes_where_they_were(
    chat: ChatFactory, services: Services, router: Router
) -> None:
    ana = chat("60", language="fr")
    await ana.send("/start")
    await ana.tap("Français")
    await ana.send("/start")  # before consent: the consent question again
    assert "Avant de commencer" in ana.last_text
    await ana.tap("J'accepte")
    await ana.tap("Garder")
    await ana.send("/start")
    assert "Étape 4 sur 6" in ana.last_text and "Où êtes-vous ?" in ana.last_text
    await ana.send("13001")
    await ana.tap("Appeler")
    # Interrupted: /cancel, then much later /start again, from a fresh router (a restart).
    await ana.send("/cancel")
    assert "Annulé" in ana.last_text
    fresh = Router(services)
    import handlers

    handlers.register(fresh)
    ana.router = fresh
    await ana.send("/start")
    assert "Étape 5 sur 6" in ana.last_text
    await ana.tap("Appeler")
    await ana.tap("Terminé")
    await ana.tap("Soirs")
    await ana.tap("Terminé")
    assert "Bienvenue dans l'équipe, Ana" in ana.last_text
    volunteer = await services.volunteers.by_identity("telegram", "60")
    assert volunteer is not None and volunteer.department == "13"
    assert len(await services.volunteers.consents(volunteer.id)) == 1


async def test_a_member_sending_start_is_welcomed_back(chat: ChatFactory) -> None:
    ana = chat("61", language="en")
    await join(ana)
    await ana.send("/start")
    assert ana.last_text.startswith("Welcome back, Ana!")


async def test_the_admin_from_settings_joins_like_anyone(
    admin_chat: Chat, services: Services
) -> None:
    await admin_chat.send("/start")
    await admin_chat.tap("Français")
    await admin_chat.tap("J'accepte")
    assert "Étape 3 sur 6" in admin_chat.last_text
    volunteer = await services.volunteers.by_identity("telegram", "1")
    assert volunteer is not None and volunteer.status == "onboarding"


async def test_bad_names_are_refused_or_cleaned_and_escaped(
    chat: ChatFactory, services: Services
) -> None:
    eve = chat("70", language="en", first_name="")
    await eve.send("/start")
    await eve.tap("English")
    await eve.tap("I agree")
    assert eve.last.choices == ()  # no messenger name to offer
    await eve.send("x" * 201)
    assert "too long (over 200 characters)" in eve.texts(eve.replies[-2:])
    await eve.send("\u202e\u2066\u200b\ufeff")
    assert "Please type your first name." in eve.texts(eve.replies[-2:])
    volunteer = await services.volunteers.by_identity("telegram", "70")
    assert volunteer is not None and volunteer.first_name == ""
    await eve.send("<b>Eve</b> & \u202eco")
    await eve.send("75011")
    await eve.tap("Call")
    await eve.tap("Done")
    await eve.tap("Daytime")
    await eve.tap("Done")
    assert "&lt;b&gt;Eve&lt;/b&gt; &amp; co" in eve.last.text
    volunteer = await services.volunteers.by_identity("telegram", "70")
    assert volunteer is not None and volunteer.first_name == "<b>Eve</b> & co"


async def test_bad_postcodes_are_refused_and_change_nothing(
    chat: ChatFactory, services: Services
) -> None:
    ana = chat("71", language="fr")
    await ana.send("/start")
    await ana.tap("Français")
    await ana.tap("J'accepte")
    await ana.tap("Garder")
    for bad in ("7500", "750011", "00100", "96000", "20800", "99999", "97900"):
        await ana.send(bad)
        assert f"{bad} n'est pas un code postal français" in ana.texts(ana.replies[-2:])
        assert "Où êtes-vous ?" in ana.last_text
    volunteer = await services.volunteers.by_identity("telegram", "71")
    assert volunteer is not None and not volunteer.has_place
    await ana.send("x" * 201)
    assert "trop long" in ana.texts(ana.replies[-2:])
    await ana.send("97411")
    volunteer = await services.volunteers.by_identity("telegram", "71")
    assert volunteer is not None and volunteer.department == "974"


async def test_old_and_forged_buttons_expire(chat: ChatFactory, services: Services) -> None:
    ana = chat("72", language="fr")
    await ana.tap_data("ob:skill:call")  # no flow at all
    assert "Ce bouton a expiré" in ana.last_text
    await ana.send("/start")
    await ana.tap("Français")
    await ana.tap("J'accepte")
    for forged in ("ob:skill:call", "ob:consent:yes", "ob:lang:fr", "ob:name:keep:x", "ob:", "ob"):
        await ana.tap_data(forged)
        assert "Ce bouton a expiré" in ana.last_text, forged
    assert await count(services, "consents") == 1
    await ana.send("je ne sais pas")  # the name step takes text: this becomes her name
    assert "Où êtes-vous" in ana.last_text
    await ana.tap_data("ob:skill:nonsense")
    assert "Ce bouton a expiré" in ana.last_text


async def test_typing_instead_of_tapping_repeats_the_question(chat: ChatFactory) -> None:
    ana = chat("73", language="en")
    await ana.send("/start")
    await ana.send("yes")
    assert ana.texts(ana.replies[-2:-1]) == "Please answer with the buttons below."
    assert "Which language" in ana.last_text


async def test_start_in_a_group_is_refused(chat: ChatFactory, services: Services) -> None:
    group = chat("74", language="fr", private=False)
    await group.send("/start")
    assert group.last_text == "Écrivez-moi en message privé pour cela."
    assert await count(services, "conversations") == 0


async def test_a_new_consent_text_is_asked_again_and_kept_in_the_history(
    chat: ChatFactory, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    ana = chat("80", language="fr")
    await join(ana)
    bo = chat("81", language="en")
    await join(bo)
    monkeypatch.setattr(volunteers_service, "CONSENT_VERSION", "2027-01-1")
    await ana.send("/start")
    assert "Notre information sur vos données a changé" in ana.texts(ana.replies[-2:])
    await ana.tap("J'accepte")
    assert ana.last_text == "Merci. Envoyez /help pour voir ce que je sais faire."
    volunteer = await services.volunteers.by_identity("telegram", "80")
    assert volunteer is not None
    versions = [c.text_version for c in await services.volunteers.consents(volunteer.id)]
    assert versions == ["2026-11-1", "2027-01-1"]
    await ana.send("/start")
    assert ana.last_text.startswith("Bon retour, Ana !")

    await bo.send("/start")
    await bo.tap("❌ No")
    assert "I will not send you anything more. Send /forget" in bo.last_text
    refused = await services.volunteers.by_identity("telegram", "81")
    assert refused is not None and refused.status == "stopped"
