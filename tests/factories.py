"""Shared test data: volunteers inserted straight through the repositories."""

from __future__ import annotations

from collections.abc import Iterable

from bot.services import Services
from bot.services.volunteers import CONSENT_VERSION, consent_fingerprint
from bot.storage.volunteers import Volunteer
from handlers.joining_text import consent_text


async def make_volunteer(
    services: Services,
    user_id: str = "100",
    *,
    channel: str = "telegram",
    first_name: str = "Ana",
    language: str = "fr",
    postcode: str = "75011",
    skills: Iterable[str] = ("share",),
    availability: Iterable[str] = ("evenings",),
    status: str = "active",
    teams: Iterable[str | int] = (),
    latitude: float | None = None,
    longitude: float | None = None,
    role: str | None = None,
    team_role: str | None = None,
) -> Volunteer:
    """A complete, consented volunteer reachable at (channel, user_id).

    `teams` are team names (created if missing) or ids; `role` 'admin' or 'comms' is
    granted everywhere; `team_role` 'organizer' makes them organizer of every team given.
    """
    from bot.services.areas import parse_postcode

    consent = (
        CONSENT_VERSION,
        consent_fingerprint(consent_text(services.settings)),
        f"factory:{user_id}",
    )
    volunteer = await services.volunteers.join(channel, user_id, user_id, language, consent)
    parsed = parse_postcode(postcode) if postcode else None
    volunteer = await services.volunteers.update(
        volunteer.id,
        first_name=first_name,
        postcode=parsed.code if parsed else None,
        department=parsed.department if parsed else None,
        latitude=latitude,
        longitude=longitude,
        skills=frozenset(skills),
        availability=frozenset(availability),
    )
    volunteer = await services.volunteers.set_status(volunteer.id, "active")
    repo = services.team_repo
    existing = {t.name: t.id for t in await repo.in_scope(None)}
    for team in teams:
        if isinstance(team, int):
            team_id = team
        else:
            team_id = existing.get(team) or (await repo.create(team)).id
            existing[team] = team_id
        await repo.add_member(team_id, volunteer.id)
        if team_role:
            await services.volunteers.grant_role(volunteer.id, team_role, team_id, None)
    if role:
        await services.volunteers.grant_role(volunteer.id, role, None, None)
    if status in ("paused", "stopped"):
        from datetime import timedelta

        until = services.clock.now() + timedelta(days=7) if status == "paused" else None
        volunteer = await services.volunteers.set_status(volunteer.id, status, until)
    found = await services.volunteers.get(volunteer.id)
    assert found is not None
    return found
