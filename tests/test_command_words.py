"""Commands in the person's language, near misses, and a way in for people not yet joined."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.router import ALIASES, Router
from bot.services import Services
from tests.factories import make_volunteer
from tests.fakes.chat import Chat


@pytest.mark.parametrize(
    ("typed", "answer"),
    [
        ("/aide", "Voici ce que je sais faire"),
        ("/tâche", "Aucune tâche ne vous correspond"),
        ("/tache", "Aucune tâche ne vous correspond"),
        ("/mestaches", "aucune tâche en cours"),
        ("/profil", "Votre profil"),
        ("/données", "tout ce que Relais enregistre"),
        ("/Oublier", "Tout effacer"),
        ("/reprendre", ""),
    ],
)
async def test_french_command_names_work_with_or_without_accents(
    services: Services, chat: Callable[..., Chat], typed: str, answer: str
) -> None:
    await make_volunteer(services, "100")
    ana = chat("100")
    replies = await ana.send(typed)
    shown = ana.texts(replies)
    assert "Je ne connais pas la commande" not in shown
    assert answer in shown


def test_every_alias_names_a_command_that_exists(router: Router) -> None:
    for alias, name in ALIASES.items():
        assert router.command_name(alias) == name, alias
        assert alias not in router.commands  # an alias never hides a real command


async def test_a_near_miss_gets_a_did_you_mean(
    services: Services, chat: Callable[..., Chat]
) -> None:
    await make_volunteer(services, "100")
    ana = chat("100")
    await ana.send("/strat")
    assert ana.last_text == "Je ne connais pas la commande /strat. Vouliez-vous dire /start ?"
    await ana.send("/aidee")
    assert "Vouliez-vous dire /aide ?" in ana.last_text
    await ana.send("/xyzzy")
    assert "Envoyez /help" in ana.last_text
    # Commands above the person's rank are never suggested.
    await ana.send("/promot")
    assert "/promote" not in ana.last_text


async def test_someone_who_has_not_joined_is_pointed_to_start(chat: Callable[..., Chat]) -> None:
    stranger = chat("555")
    await stranger.send("bonjour")
    # Before: "Je n'ai pas compris. Envoyez /help…"
    assert "Pour nous rejoindre, envoyez /start." in stranger.last_text
    english = chat("556", language="en")
    await english.send("hello?")
    assert "To join, send /start." in english.last_text


async def test_the_cancel_alias_stops_a_flow(services: Services, chat: Callable[..., Chat]) -> None:
    await make_volunteer(services, "100")
    ana = chat("100")
    await ana.send("/pause")
    await ana.send("/annuler")
    assert "Annulé" in ana.last_text


async def test_a_command_typed_without_its_slash_is_that_command_only_alone_or_with_its_words(
    services: Services, chat: Callable[..., Chat]
) -> None:
    """Signal reads "aide" as /aide: a sentence that merely starts with a command's name is
    text, and while a flow waits for an answer only the command word alone is a command."""
    await make_volunteer(services, "100")
    ana = chat("100")

    async def status() -> str:
        volunteer = await services.volunteers.by_identity("telegram", "100")
        assert volunteer is not None
        return volunteer.status

    await ana.send("/Stop à la réforme !", worded=True)  # /stop reads no words after it
    assert ana.last_text.startswith("Je n'ai pas compris.")
    assert await status() == "active"
    await ana.send("/pause", worded=True)
    assert "Pour combien de temps" in ana.last_text
    await ana.send("/alerte https://x.com/Opposant/status/1862512345678901234", worded=True)
    assert ana.last_text.startswith("Je n'ai pas compris cette date")  # the flow's text
    await ana.send("/annuler", worded=True)
    assert ana.last_text.startswith("Annulé")
    await ana.send("/pause dans 3 semaines", worded=True)  # no flow: /pause with its words
    assert ana.last_text.startswith("Bonne pause !")
    await ana.send("/Stop", worded=True)
    assert await status() == "stopped"
