"""A volunteer's own settings, from /profile and as commands: the rapid-response ring, the
leaderboard, quiet hours and time zone — stored, shown, and used by ripostes."""

from __future__ import annotations

from collections.abc import Callable

from bot.services import Services
from tests.broadcast_factories import actor_for
from tests.factories import make_volunteer
from tests.fakes.chat import Chat

ChatFactory = Callable[..., Chat]


async def stored(services: Services, user_id: str) -> tuple[bool, bool, str | None, str]:
    volunteer = await services.volunteers.by_identity("telegram", user_id)
    assert volunteer is not None
    return (
        volunteer.rapid_response,
        volunteer.leaderboard,
        volunteer.quiet_hours,
        volunteer.timezone,
    )


async def test_a_volunteer_joins_the_ring_and_a_riposte_can_reach_them(
    chat: ChatFactory, services: Services
) -> None:
    await make_volunteer(services, "42", first_name="Ana")
    admin = await actor_for(services, "1")
    assert await services.alerts.first_ring(admin) == []  # nobody could join before
    ana = chat("42")
    await ana.send("/ring")
    assert "Vous n'êtes pas dans le cercle de riposte" in ana.last_text
    await ana.tap("⚡ Rejoindre le cercle")
    assert "vous êtes dans le cercle de riposte" in ana.last_text
    await ana.send("/quiet off")  # reachable at any hour, whatever the test clock says
    assert "heures calmes aucune" in ana.last_text
    assert await stored(services, "42") == (True, False, "", "")
    assert [p.chat_id for p in await services.alerts.first_ring(admin)] == ["42"]
    await ana.send("/ring off")
    assert await stored(services, "42") == (False, False, "", "")
    assert await services.alerts.first_ring(admin) == []


async def test_profile_shows_and_changes_every_setting_in_english(
    chat: ChatFactory, services: Services
) -> None:
    await make_volunteer(services, "43", first_name="Sam", language="en")
    sam = chat("43", language="en")
    await sam.send("/profile")
    card = sam.last_text
    assert "Rapid-response ring: no" in card
    assert "Leaderboard: hidden" in card
    assert "Quiet hours: 21:00–09:00 (the campaign's)" in card
    assert "Time zone: Europe/Paris (the campaign's)" in card
    await sam.tap("🏆 Show me")
    assert "appear on the leaderboard" in sam.last_text
    await sam.send("/me")
    assert "Only you see this" not in sam.last_text  # on the leaderboard now

    await sam.send("/profile")
    await sam.tap("🌙 Quiet hours")
    await sam.send("after dinner")
    assert "like 22:00-08:00" in sam.last_text  # refused, nothing changed
    assert (await stored(services, "43"))[2] is None
    await sam.send("22h30-7h")
    assert "quiet hours 22:30–07:00" in sam.last_text
    await sam.send("/profile")
    await sam.tap("🌍 Time zone")
    await sam.send("Narnia")
    assert "I don't know the time zone “Narnia”" in sam.last_text
    await sam.send("london")
    assert "time zone Europe/London" in sam.last_text
    assert await stored(services, "43") == (False, True, "22:30-07:00", "Europe/London")

    await sam.send("/profile")
    assert "Quiet hours: 22:30–07:00" in sam.last_text and "Time zone: Europe/London" in (
        sam.last_text
    )
    await sam.tap("🌙 Quiet hours")
    await sam.tap("The campaign's (21:00–09:00)")
    await sam.send("/timezone campaign")
    assert await stored(services, "43") == (False, True, None, "")


async def test_settings_wait_for_joining(chat: ChatFactory) -> None:
    newcomer = chat("44", language="en")
    await newcomer.send("/ring on")
    assert "/start" in newcomer.last_text
