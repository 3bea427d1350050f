"""A 429 storm in the middle of a broadcast: interactive users keep being served, and the
broadcast finishes with exactly one copy per recipient."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.app import Relais
from bot.services.broadcasts import parse_audience
from bot.services.people import Actor
from tests.broadcast_factories import seed, team_of
from tests.fakes.bot_api import FakeBotAPI
from tools.seed import SeedVolunteer

RECIPIENTS = 40
TEXT = "Tempête : on tient bon"


@pytest.mark.slow
async def test_a_429_storm_slows_the_broadcast_but_people_are_still_answered(
    telegram_relais: Relais, bot_api: FakeBotAPI
) -> None:
    services = telegram_relais.services
    await seed(services, *team_of("Nord", 5000, RECIPIENTS, quiet_hours=""))
    await seed(services, SeedVolunteer("9999", quiet_hours=""))
    # One sendMessage in five answered 429 (retry after 1 s) for the next 6 seconds.
    bot_api.fail_every("sendMessage", 5, 429, for_seconds=6, retry_after=1)
    await services.broadcasts.create(
        Actor.system(), language="fr", body=TEXT, audience=parse_audience("team:Nord")
    )
    await services.broadcasts.sweep()

    answered = 0
    started = time.monotonic()
    for _ in range(5):  # someone keeps talking to the bot during the storm
        since = len(bot_api.sent)
        bot_api.send_text(9999, "/help", language_code="fr")
        await bot_api.wait_for_text(9999, "Voici ce que je sais faire", since=since, timeout=5)
        answered += 1
        await asyncio.sleep(1.1)
    assert answered == 5

    def copies() -> dict[int, int]:
        counts = dict.fromkeys(range(5000, 5000 + RECIPIENTS), 0)
        for call in bot_api.sent:
            if call.ok and call.text == TEXT and call.chat_id is not None:
                counts[int(call.chat_id)] += 1
        return counts

    while min(copies().values()) == 0 and time.monotonic() - started < 60:
        await asyncio.sleep(0.2)
    assert set(copies().values()) == {1}
    assert bot_api.stats.too_many_requests > 0 or bot_api.stats.errors.get(429, 0) > 0
