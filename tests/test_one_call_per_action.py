"""One action, one use case (issue #13): for each thing a person does, the handler makes one
service call, and that call returns everything the answer shows.

Counted by tests/service_calls.py: the calls the handler makes on the services bundle
during the update (the router's own, and services' calls on each other, left out).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from bot.config import Identity
from bot.i18n import format_datetime, set_language
from bot.router import Router
from bot.services import Services
from bot.services.people import Actor
from tests.broadcast_factories import seed, team_of
from tests.factories import make_volunteer
from tests.fakes.chat import Chat
from tests.service_calls import service_calls
from tests.task_factories import task
from tools.seed import SeedVolunteer

ChatFactory = Callable[..., Chat]


async def test_each_onboarding_answer_is_one_call_the_last_one_included(
    chat: ChatFactory, router: Router, services: Services
) -> None:
    sam = chat("300", language="fr", first_name="Sam")
    await sam.send("/start")
    await sam.tap("ob:lang:fr")
    await sam.tap("ob:consent:yes")
    with service_calls(router) as named:
        await sam.tap("ob:name:keep")
    with service_calls(router) as placed:
        await sam.send("75011")
    await sam.tap("ob:skill:canvass")
    with service_calls(router) as skilled:
        await sam.tap("ob:skill:done")
    await sam.tap("ob:avail:evenings")
    with service_calls(router) as last:
        await sam.tap("ob:avail:done")
    assert "Bienvenue dans l'équipe, Sam" in sam.last_text
    sam_now = await services.people.known_as(Identity("telegram", "300"))
    assert sam_now is not None and sam_now.status == "active"
    for calls in (named, placed, skilled, last):
        assert calls == ["joining.answer"]


async def test_a_profile_edit_is_one_call_that_brings_the_card_back(
    chat: ChatFactory, router: Router, services: Services
) -> None:
    await make_volunteer(services, "100", first_name="Ana", teams=("Paris 11e",), role="admin")
    ana = chat("100", language="fr")
    await ana.send("/profile")
    await ana.tap("Prénom")
    with service_calls(router) as renamed:
        await ana.send("Anaïs")
    card = ana.last_text
    assert "Prénom : Anaïs" in card and "Équipes : Paris 11e" in card and "Rôles : admin" in card
    await ana.tap("Quand")
    await ana.tap("Week-ends")
    with service_calls(router) as available:
        await ana.tap("Terminé")
    assert "Disponibilités : 🌙 Soirs de semaine, ☀️ Week-ends" in ana.last_text
    assert renamed == ["joining.answer"] and available == ["joining.answer"]


async def test_a_radius_at_the_newtask_area_step_is_one_call(
    chat: ChatFactory, router: Router, services: Services
) -> None:
    await make_volunteer(services, "240", postcode="69100", latitude=45.77, longitude=4.88)
    await make_volunteer(services, "249", role="admin")
    org = chat("249", language="fr")
    await org.send("/newtask")
    await org.tap("nt:kind:call")
    await org.tap("nt:team:0")
    await org.send("Appels du soir")
    await org.send("-")
    with service_calls(router) as counted:
        await org.send("10 km autour de Villeurbanne")
    assert "10 km autour de Villeurbanne (69) : 1 bénévole en ce moment." in org.texts()
    assert "Seulement certains bénévoles" in org.last_text  # the next question
    assert counted == ["tasks.reach"]


async def _broadcast_campaign(services: Services) -> None:
    await seed(
        services,
        SeedVolunteer("200", language="en", roles=(("organizer", "Nord"),), teams=("Nord",)),
        *team_of("Nord", 300, 2, skills="call,share", department="59"),
    )


async def test_each_broadcast_preview_is_one_call(
    chat: ChatFactory, router: Router, services: Services
) -> None:
    await _broadcast_campaign(services)
    c = chat("200", language="en")
    await c.send("/broadcast")
    await c.send("Rally tonight")
    await c.tap("No button")
    with service_calls(router) as typed:
        await c.send("skill:call")
    assert "Audience: skill: calls — 2 volunteers right now" in c.last_text
    with service_calls(router) as urgent:
        await c.tap("Mark as urgent")
    assert "Urgent: yes" in c.last_text
    await c.tap("Add a version in French")
    with service_calls(router) as variant:
        await c.send("Rassemblement ce soir")
    assert "Rassemblement ce soir" in c.texts(c.replies[-4:])
    await c.send("/broadcast")
    await c.send("Rally tonight")
    await c.tap("No button")
    with service_calls(router) as everyone:
        await c.tap("All my teams")
    await c.send("/broadcast")
    await c.send("Rally tonight")
    await c.tap("No button")
    with service_calls(router) as team:
        await c.tap("Nord")
    assert "Audience: team Nord — 3 volunteers right now" in c.last_text
    for calls in (typed, urgent, variant, everyone, team):
        assert calls == ["broadcasts.preview"]


async def test_a_closing_time_refused_is_one_call_that_says_the_start(
    chat: ChatFactory, router: Router, services: Services
) -> None:
    await make_volunteer(services, "94", language="en", role="admin")
    now = services.clock.now()
    rally = await task(
        services,
        "event",
        title="Rally",
        starts_at=now + timedelta(days=5),
        closes_at=now + timedelta(days=6),
    )
    org = chat("94", language="en")
    await org.send("/tasks")
    await org.tap("Edit")
    await org.tap("Closing time")
    with service_calls(router) as refused:
        await org.send("tomorrow 10am")
    assert rally.starts_at is not None
    set_language("en")
    start = format_datetime(rally.starts_at, services.settings.timezone)
    assert f"The task must close after it starts ({start})." in org.last_text
    kept = await services.tasks.manageable(Actor.system(), rally.id)
    assert kept is not None and kept.closes_at == rally.closes_at
    assert refused == ["tasks.edit"]


async def test_start_again_with_every_answer_given_welcomes_in_one_call(
    chat: ChatFactory, router: Router, services: Services
) -> None:
    """Someone still joining whose answers are all there (given before a crash, say): /start
    makes them active and welcomes them, in the same one call."""
    lea = await make_volunteer(services, "120", first_name="Léa")
    async with services.db.transaction() as tx:  # every answer there, still joining
        await tx.execute(
            "UPDATE volunteers SET status = 'onboarding' WHERE id = :id", {"id": lea.id}
        )
    back = chat("120", language="fr")
    with service_calls(router) as restarted:
        await back.send("/start")
    assert "Bienvenue dans l'équipe, Léa" in back.last_text
    lea_now = await services.people.known_as(Identity("telegram", "120"))
    assert lea_now is not None and lea_now.status == "active"
    assert restarted == ["joining.restart"]
