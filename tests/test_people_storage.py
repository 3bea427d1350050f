"""The people's storage: domain values at its edge, one rule for who may be messaged
unprompted, roles through their own repository, team names unique through Conflict. Runs on
SQLite and PostgreSQL (tests/postgres.py)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, timedelta

import pytest

from bot.domain.volunteers import Role, VolunteerStatus
from bot.services import Services
from bot.storage.bulk import rollup_triggers
from bot.storage.db import Database
from bot.storage.roles import RoleRepository
from bot.storage.teams import NameTaken, TeamRepository
from bot.storage.volunteers import VolunteerRepository, unsolicited
from tests.fakes.clock import FakeClock


async def _joined(volunteers: VolunteerRepository, user_id: str) -> int:
    volunteer = await volunteers.create("telegram", user_id, user_id, "fr", "Ana")
    await volunteers.set_status(volunteer.id, "active")
    return volunteer.id


async def test_a_volunteer_comes_back_with_utc_datetimes_and_a_status_enum(
    services: Services, clock: FakeClock
) -> None:
    created = await services.volunteers.create("telegram", "501", "501", "fr", "Ana")
    assert created.status is VolunteerStatus.ONBOARDING
    assert created.created_at == clock.now().replace(microsecond=created.created_at.microsecond)
    assert created.created_at.tzinfo is not None
    assert created.created_at.utcoffset() == timedelta(0)
    until = clock.now() + timedelta(days=3)
    paused = await services.volunteers.set_status(created.id, "paused", until)
    assert paused.status is VolunteerStatus.PAUSED
    assert paused.paused_until == until.astimezone(UTC)


@pytest.mark.parametrize(
    ("status", "pause", "reachable"),
    [
        ("active", None, True),
        ("paused", timedelta(days=-1), True),  # the pause is over
        ("paused", timedelta(days=1), False),
        ("stopped", None, False),
    ],
)
async def test_the_sql_rule_and_the_volunteer_agree_on_who_may_be_messaged_unprompted(
    services: Services,
    db: Database,
    clock: FakeClock,
    status: str,
    pause: timedelta | None,
    reachable: bool,
) -> None:
    volunteer_id = await _joined(services.volunteers, "502")
    now = clock.now()
    volunteer = await services.volunteers.set_status(
        volunteer_id, status, now + pause if pause is not None else None
    )
    assert volunteer.accepts_unsolicited(now) is reachable
    found = await db.fetch_value(
        f"SELECT COUNT(*) FROM volunteers v WHERE v.id = :id AND {unsolicited(now='at')}",
        {"id": volunteer_id, "at": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")},
    )
    assert bool(found) is reachable
    addresses = await services.volunteers.reachable_for_unsolicited(now, [volunteer_id])
    assert bool(addresses) is reachable


async def test_roles_are_written_by_their_repository_and_read_through_the_volunteers(
    db: Database, clock: FakeClock
) -> None:
    volunteers = VolunteerRepository(db, clock)
    roles = RoleRepository(db, clock)
    volunteer_id = await _joined(volunteers, "503")
    assert await roles.grant(volunteer_id, "comms", None, None)
    assert not await roles.grant(volunteer_id, "comms", None, None)
    assert await volunteers.grant_role(volunteer_id, "admin", None, None)
    assert await volunteers.roles(volunteer_id) == (Role("admin", None), Role("comms", None))
    assert await roles.holders("comms") == [volunteer_id]
    assert await roles.revoke(volunteer_id, "comms", None)
    assert not await volunteers.revoke_role(volunteer_id, "comms", None)
    assert await roles.of(volunteer_id) == (Role("admin", None),)


async def test_a_team_name_already_taken_is_refused_whatever_the_error_text(
    db: Database, clock: FakeClock
) -> None:
    teams = TeamRepository(db, clock)
    lyon = await teams.create("Lyon 3e")
    nord = await teams.create("Nord")
    with pytest.raises(NameTaken):
        await teams.create("Lyon 3e")
    with pytest.raises(NameTaken):
        await teams.rename(nord.id, "Lyon 3e")
    assert [t.name for t in await teams.in_scope(frozenset({lyon.id, nord.id}))] == [
        "Lyon 3e",
        "Nord",
    ]
    assert await teams.in_scope(frozenset()) == []


@pytest.mark.sqlite_only
async def test_bulk_loads_switch_off_exactly_the_roll_up_triggers_the_database_has(
    db: Database,
) -> None:
    with sqlite3.connect(db.path) as conn:
        created = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'report_%'"
        ).fetchall()
    assert dict(rollup_triggers()) == dict(created)
