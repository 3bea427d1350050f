"""Volunteers for broadcast tests, written straight into the database."""

from __future__ import annotations

from datetime import datetime

from bot.config import Identity
from bot.services import Services
from bot.services.people import Actor
from tools.seed import SeedVolunteer, add_volunteers

__all__ = ["SeedVolunteer", "actor_for", "seed", "team_of"]


async def seed(
    services: Services, *people: SeedVolunteer, now: datetime | None = None
) -> list[int]:
    """Insert volunteers (with identity, teams, roles); return their ids."""
    return await add_volunteers(services.db, people, now or services.clock.now())


def team_of(team: str, first: int, count: int, **fields: object) -> list[SeedVolunteer]:
    """`count` active volunteers of one team, Telegram user ids first, first+1, …"""
    return [
        SeedVolunteer(str(first + n), teams=(team,), **fields)  # type: ignore[arg-type]
        for n in range(count)
    ]


async def actor_for(services: Services, user_id: str) -> Actor:
    """The actor behind a Telegram user, as the router would resolve it."""
    return await services.people.actor(Identity("telegram", user_id), user_id)
