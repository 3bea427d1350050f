"""Bad input, everywhere: every command, as a stranger and as an admin, with hostile text.

Whatever is typed, Relais answers with something meant for a person — never the "something
went wrong" of an unexpected error — and a stranger changes nothing stored.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.router import FloodGate, Router
from bot.services import Services
from tests.factories import make_volunteer
from tests.fakes.chat import Chat

NASTY = (
    "x" * 5000,
    "<b>bold</b><script>alert(1)</script>&amp;",
    "*_[]()~`>#+-=|{}.! \\",
    "\u202eevil\u202c \u2066isolate\u2069",
    "zero\u200bwidth\ufeff",
    "e\u0301\u0301\u0301\u0301",
    "👩‍👩‍👧‍👦🏳️‍🌈",
    "مرحبا بالعالم",
    "abc",
    "1e9",
    "٣",
    "²",
    "-5",
    "99999999999999999999",
    "3000000000",
    "  12  ",
    "0",
    "/start /start",
)
CRASH = ("Something went wrong", "Un problème est survenu")
TABLES = ("volunteers", "teams", "roles", "tasks", "broadcasts", "incidents", "invites")


async def counts(services: Services) -> dict[str, int]:
    return {
        table: await services.db.fetch_value(f"SELECT COUNT(*) FROM {table}") for table in TABLES
    }


async def hammer(person: Chat, commands: list[str]) -> list[str]:
    """Every command with every hostile argument, then the same text as a flow's answer."""
    crashes = []
    for command in commands:
        for nasty in NASTY:
            for text in (f"/{command} {nasty}", nasty):
                replies = await person.send(text)
                shown = person.texts(replies)
                if any(marker in shown for marker in CRASH):
                    crashes.append(f"{text[:60]!r} after /{command}")
            await person.send("/cancel")
    return crashes


async def test_hostile_text_never_crashes_a_command_nor_lets_a_stranger_change_anything(
    router: Router, services: Services, chat: Callable[..., Chat], admin_chat: Chat
) -> None:
    router.flood = FloodGate(limit=100_000)
    commands = sorted(c for c in router.commands if c not in ("forget", "stop"))
    await make_volunteer(services, "1")  # the admin is a member too
    before = await counts(services)
    stranger = chat("31337", language="en")
    assert await hammer(stranger, commands) == []
    assert await counts(services) == before
    assert await hammer(admin_chat, commands) == []


async def test_a_megabyte_paste_gets_a_clear_answer(chat: Callable[..., Chat]) -> None:
    person = chat("31338", language="fr")
    replies = await person.send("a" * (1 << 20))
    assert "trop long" in person.texts(replies)


async def test_forged_buttons_of_every_flow_change_nothing(
    router: Router, services: Services, chat: Callable[..., Chat], admin_chat: Chat
) -> None:
    router.flood = FloodGate(limit=100_000)
    await make_volunteer(services, "1")
    before = await counts(services)
    stranger = chat("31339", language="en")
    for prefix in sorted(router.choices):
        for forged in (
            f"{prefix}",
            f"{prefix}:",
            f"{prefix}:x:99999999999999999999",
            f"{prefix}:x:3000000000",
            f"{prefix}:acc:-1",
            f"{prefix}:x:²",
            f"{prefix}:yes:1:2:3:4",
            f"{prefix}:<b>:'; DROP TABLE volunteers; --",
        ):
            for person in (stranger, admin_chat):
                replies = await person.tap_data(forged)
                shown = person.texts(replies)
                assert not any(marker in shown for marker in CRASH), (forged, shown)
            await stranger.send("/cancel")
            await admin_chat.send("/cancel")
    assert (await counts(services))["volunteers"] == before["volunteers"]
