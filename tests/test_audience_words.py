"""Audiences as organizers type them, in French or English, on the command line and in the
wizard: unknown teams, areas and skills are refused with the known ones, team names with
spaces need no quotes, and the command line wants an explicit --to."""

from __future__ import annotations

import pytest

from bot.broadcast_text import refusal
from bot.i18n import use_language
from bot.router import FloodGate
from bot.services import Services
from bot.services.broadcasts import BroadcastError, parse_audience
from tests.broadcast_factories import SeedVolunteer, actor_for, seed
from tests.fakes.chat import Chat
from tests.fakes.clock import FakeClock
from tests.postgres import url_of
from tests.test_broadcast_audience import _run_cli


async def _campaign(services: Services) -> None:
    await seed(
        services,
        SeedVolunteer("200", roles=(("organizer", "Lyon 3e"),)),
        SeedVolunteer("300", teams=("Lyon 3e",), skills="share", department="69"),
        SeedVolunteer("301", teams=("Lyon 3e",), skills="call", department="69"),
        SeedVolunteer("302", teams=("Nord",), skills="share", department="59"),
    )


async def test_the_command_line_speaks_french_and_refuses_what_it_cannot_send(
    services: Services, clock: FakeClock
) -> None:
    await _campaign(services)
    env = {
        "DATABASE_URL": url_of(services.settings),
        "RELAIS_LANGUAGE": "fr",
        "PATH": "/usr/bin:/bin",
        "NOW": clock.now().isoformat(),
    }
    code, out, err = await _run_cli(env, "--text", "Bonjour")
    assert code == 2 and "--to tous" in err and "Rien n'a été programmé" in err
    code, out, err = await _run_cli(env, "--text", "Bonjour", "--to", "team:Lyon_3")
    assert code == 2
    assert "Diffusion refusée : Aucune équipe « Lyon_3 » parmi les vôtres." in err
    assert "Vos équipes : Lyon 3e, Nord." in err
    code, out, err = await _run_cli(env, "--text", "Bonjour", "--to", "area:99")
    assert code == 2 and "pas de secteur « 99 »" in err and "69, 59" in err
    code, out, err = await _run_cli(env, "--text", "Bonjour", "--to", "lang:en")
    assert code == 2 and "Personne ne correspond" in err  # nobody: nothing queued silently
    code, out, err = await _run_cli(env, "--text", "x", "--to", "all", "--at", "bientôt")
    assert code == 2 and "--at : une date et une heure sont attendues" in err
    assert "expected" not in err
    code, out, err = await _run_cli(
        env, "--text", "Bonjour", "--to", "équipe:Lyon", "3e", "--to", "compétence:partage"
    )
    assert code == 0, err
    assert "Diffusion n°1 programmée" in out
    assert "équipe Lyon 3e · compétence : partage (1 bénévole en ce moment)" in out
    code, out, err = await _run_cli(env, "--text", "Hello", "--to", "skill:share")
    assert code == 0, err
    assert "compétence : partage (2 bénévoles en ce moment)" in out
    rows = await services.db.fetch_all("SELECT audience FROM broadcasts ORDER BY id")
    assert [row["audience"] for row in rows] == ["'team:Lyon 3e' skill:share", "skill:share"]


async def test_the_wizard_takes_the_words_it_shows_in_both_languages(
    services: Services,
) -> None:
    await _campaign(services)
    organizer = await actor_for(services, "200")
    audience = services.broadcasts.audience
    for text in ("équipe:Lyon 3e compétence:partage", "team:lyon 3e skill:sharing", "skill:share"):
        found, count = await audience(organizer, text)
        assert found.teams in ((), ("Lyon 3e",)) and found.skills == ("share",)
        assert count == 1, text
    assert (await audience(organizer, "secteur:69 compétence:appels actifs:30"))[1] == 1
    assert (await audience(organizer, "tous"))[1] == 2
    with use_language("en"), pytest.raises(BroadcastError) as refused:
        await audience(organizer, "team:Nord")
    with use_language("en"):  # an organizer sees only theirs
        assert "Your teams: Lyon 3e." in refusal(refused.value)
    with use_language("en"), pytest.raises(BroadcastError) as refused:
        await audience(organizer, "skill:juggling")
    with use_language("en"):
        assert "The skills are: sharing, canvassing, calls, texts, events." in refusal(
            refused.value
        )


def test_an_unquoted_team_name_stops_where_no_known_team_goes_on() -> None:
    names = ["Lyon 3e", "Lyon", "Paris Nord Est"]
    assert parse_audience("équipe:Lyon 3e secteur:69", names).teams == ("Lyon 3e",)
    assert parse_audience("team:Lyon secteur:69", names).teams == ("Lyon",)
    assert parse_audience("équipe: Paris Nord Est", names).teams == ("Paris Nord Est",)
    assert parse_audience("team:'Lyon 3e'", names).teams == ("Lyon 3e",)
    with pytest.raises(BroadcastError):
        parse_audience("team:Lyon 4e", names)  # "4e" continues no team: not understood


async def test_a_task_targets_known_areas_and_skills_typed_either_way(admin_chat: Chat) -> None:
    admin_chat.router.flood = FloodGate(limit=1000)
    await admin_chat.send("/newtask")
    await admin_chat.tap("Tâche")
    await admin_chat.tap("Toute la campagne")
    await admin_chat.send("Affiche à la fenêtre")
    await admin_chat.send("-")
    await admin_chat.send("99, 75")
    assert "pas de département ni de code postal « 99 »" in admin_chat.last_text
    await admin_chat.send("75, 2A")
    await admin_chat.send("porte-a-porte, soirs")  # without the accent, in French
    assert "Combien de réalisations vous faut-il" in admin_chat.last_text
