"""/incidents: the comms team and admins read every alert; an organizer only those their
own teams' members reported, with only their comments."""

from __future__ import annotations

from collections.abc import Callable

from bot.services import Services
from tests import alert_factories as make
from tests.fakes.chat import Chat

NORD_POST = "https://x.com/Opposant/status/1111111111111111111"
SUD_POST = "https://x.com/Opposant/status/2222222222222222222"


async def two_teams_alerting(services: Services, chat: Callable[..., Chat]) -> None:
    await make.comms(services, "7", name="Léa")
    await make.organizer(services, "8", name="Nour", team="Nord", language="en")
    await make.organizer(services, "9", name="Sacha", team="Sud", language="en")
    await make.volunteer(services, "41", name="Ana", team="Nord")
    await make.volunteer(services, "42", name="Bea", team="Sud")
    await chat("41").send(f"/alerte {NORD_POST} Commentaire de la Nord, confidentiel")
    await chat("42").send(f"/alerte {SUD_POST} Témoin Sud, ne pas diffuser")
    await chat("42").send(f"/alerte {NORD_POST} Vu aussi depuis le Sud")


async def test_an_organizer_sees_only_what_their_teams_reported(
    services: Services, chat: Callable[..., Chat]
) -> None:
    await two_teams_alerting(services, chat)
    nour = chat("8", language="en")
    await nour.send("/incidents")
    assert "#1 " in nour.last_text and "#2 " not in nour.last_text
    await nour.send("/incidents 1")
    assert "Commentaire de la Nord, confidentiel" in nour.last_text
    assert "Vu aussi depuis le Sud" not in nour.last_text  # another team's reporter
    await nour.send("/incidents 2")
    assert nour.last_text == "There is no alert #2."  # not even that it exists
    assert "Témoin Sud" not in nour.last_text
    reads = [e.subject for e in await services.audit.recent() if e.action == "incident.read"]
    assert reads == ["1"]

    sacha = chat("9", language="en")
    await sacha.send("/incidents")
    assert "#1 " in sacha.last_text and "#2 " in sacha.last_text
    await sacha.send("/incidents 1")
    assert "Vu aussi depuis le Sud" in sacha.last_text
    assert "Commentaire de la Nord" not in sacha.last_text


async def test_the_comms_team_and_admins_read_every_alert_with_every_comment(
    services: Services, chat: Callable[..., Chat], admin_chat: Chat
) -> None:
    await two_teams_alerting(services, chat)
    for reader in (chat("7"), admin_chat):
        await reader.send("/incidents 1")
        assert "Commentaire de la Nord, confidentiel" in reader.last_text
        assert "Vu aussi depuis le Sud" in reader.last_text
        await reader.send("/incidents 2")
        assert "Témoin Sud, ne pas diffuser" in reader.last_text
    volunteer = chat("41")
    await volunteer.send("/incidents 1")
    assert "réservé aux organisateurs" in volunteer.last_text
