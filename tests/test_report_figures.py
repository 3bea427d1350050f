"""Every report figure checked against the hand-built campaign in tests/report_data.py."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import Identity
from bot.services import Services
from bot.services.people import Actor, NotAllowed
from bot.services.reports import period_window
from bot.storage.reports import Breakdown, ReportRepository, Scope, Window
from bot.storage.volunteers import Role
from tests.report_data import EVRY, PARIS, build_campaign

NOW = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
PARIS_TZ = ZoneInfo("Europe/Paris")


def organizer(volunteer_id: int, team: int) -> Actor:
    return Actor(
        Identity("telegram", str(500 + volunteer_id)),
        str(500 + volunteer_id),
        None,
        (Role("organizer", team),),
        False,
    )


ADMIN = Actor(Identity("telegram", "1"), "1", None, (), True)
VOLUNTEER = Actor(Identity("telegram", "507"), "507", None, (), False)


@pytest.fixture
async def campaign(services: Services) -> Services:
    await build_campaign(services.db)
    return services


def funnel(figures):  # type: ignore[no-untyped-def]
    return {
        s.kind: (s.offered, s.accepted, s.done)
        for s in figures.funnel
        if any((s.offered, s.accepted, s.done))
    }


def test_periods_start_at_local_midnight() -> None:
    from zoneinfo import ZoneInfo

    paris = ZoneInfo("Europe/Paris")
    assert period_window("today", NOW, paris).since == datetime(2026, 11, 27, 23, tzinfo=UTC)
    assert period_window("week", NOW, paris).since == datetime(2026, 11, 22, 23, tzinfo=UTC)
    assert period_window("month", NOW, paris).since == datetime(2026, 10, 31, 23, tzinfo=UTC)
    assert period_window("campaign", NOW, paris).since is None
    # Summer time: midnight in Paris is 22:00 UTC.
    july = datetime(2026, 7, 15, 12, tzinfo=UTC)
    assert period_window("today", july, paris).since == datetime(2026, 7, 14, 22, tzinfo=UTC)


async def test_whole_campaign(campaign: Services) -> None:
    report = await campaign.reports.report(ADMIN, "campaign")
    f = report.figures
    p = f.people
    assert (p.total, p.new, p.active_status, p.paused, p.stopped, p.erased) == (7, 7, 4, 1, 1, 1)
    assert (p.active_1d, p.active_7d, p.active_30d) == (3, 4, 6)
    assert funnel(f) == {
        "share": (2, 4, 4),
        "canvass": (1, 4, 3),  # the double tap on Done counts once
        "call": (3, 1, 1),
        "event": (0, 2, 1),
        "text": (0, 2, 2),  # cap 2: both count
    }
    w = f.work
    assert (w.done, w.doors_knocked, w.conversations, w.supporters) == (11, 95, 27, 10)
    assert (w.people_reached, w.shares, w.events_attended) == (18, 4, 1)
    assert f.calls.made == 5
    assert dict(f.calls.results) == {
        "supporter": 1,
        "undecided": 1,
        "opposed": 1,
        "no_answer": 1,
        "callback": 1,
    }
    assert (f.deliveries.broadcasts, f.deliveries.messages) == (2, 6)
    assert dict(f.deliveries.statuses) == {"sent": 3, "pending": 1, "failed": 1, "blocked": 1}
    # members, active in 7 days, done, doors, conversations, calls
    assert f.teams == (
        Breakdown("Évry Sud", 4, 2, 7, 95, 27, 1),
        Breakdown("Paris 11e", 2, 1, 3, 0, 0, 4),
    )
    areas = {a.key: a for a in f.areas}
    assert areas["91"] == Breakdown("91", 3, 2, 6, 65, 18, 1)
    assert areas["75"] == Breakdown("75", 3, 2, 4, 0, 0, 4)
    # The erased volunteer still counts, in an area nobody can name.
    assert areas[""] == Breakdown("", 1, 0, 1, 30, 9, 0)


async def test_this_week(campaign: Services) -> None:
    f = (await campaign.reports.report(ADMIN, "week")).figures
    assert f.people.new == 3
    assert funnel(f) == {
        "share": (2, 3, 3),
        "canvass": (1, 3, 2),
        "call": (2, 1, 1),
        "text": (0, 2, 2),
    }
    assert (f.work.done, f.work.doors_knocked, f.work.conversations) == (8, 65, 18)
    assert (f.work.supporters, f.work.events_attended) == (7, 0)
    assert f.calls.made == 4


async def test_today(campaign: Services) -> None:
    f = (await campaign.reports.report(ADMIN, "today")).figures
    assert f.people.new == 1
    assert f.work.done == 4
    assert f.work.doors_knocked == 40
    assert f.calls.made == 3
    assert f.deliveries.messages == 2


async def test_organizer_sees_only_their_team(campaign: Services) -> None:
    f = (await campaign.reports.report(organizer(1, EVRY), "campaign")).figures
    p = f.people
    assert (p.total, p.active_status, p.paused, p.stopped, p.erased) == (4, 2, 1, 0, 1)
    assert (p.active_1d, p.active_7d, p.active_30d) == (1, 2, 4)
    assert funnel(f) == {
        "share": (2, 1, 1),
        "canvass": (1, 4, 3),
        "call": (1, 0, 0),
        "event": (0, 2, 1),
        "text": (0, 2, 2),
    }
    assert (f.work.done, f.work.doors_knocked, f.work.shares) == (7, 95, 1)
    assert dict(f.calls.results) == {"undecided": 1}
    assert (f.deliveries.broadcasts, f.deliveries.messages) == (2, 4)
    assert [t.key for t in f.teams] == ["Évry Sud"]
    assert f.areas == ()  # areas are for admins


async def test_other_team_organizer(campaign: Services) -> None:
    f = (await campaign.reports.report(organizer(5, PARIS), "week")).figures
    assert (f.people.total, f.people.new) == (2, 1)
    assert funnel(f) == {"share": (0, 1, 1), "call": (1, 1, 1)}
    assert dict(f.calls.results) == {"supporter": 1, "no_answer": 1, "opposed": 1}
    assert [t.key for t in f.teams] == ["Paris 11e"]
    assert f.work.doors_knocked == 0


async def test_scope_is_enforced(campaign: Services) -> None:
    alice = organizer(1, EVRY)
    with pytest.raises(NotAllowed):
        await campaign.reports.report(alice, "week", team_id=PARIS)
    with pytest.raises(NotAllowed):
        await campaign.reports.report(alice, "week", department="75")
    with pytest.raises(NotAllowed):
        await campaign.reports.report(VOLUNTEER, "week")


async def test_admin_picks_a_team_or_an_area(campaign: Services) -> None:
    team = await campaign.reports.report(ADMIN, "campaign", team_id=PARIS)
    assert team.scope_name == "Paris 11e"
    assert team.figures.people.total == 2
    area = await campaign.reports.report(ADMIN, "campaign", department="75")
    assert area.figures.people.total == 3
    assert area.figures.work.done == 4
    assert area.figures.calls.made == 4


async def test_activity_series_by_local_day(campaign: Services) -> None:
    window = period_window("week", NOW, campaign.settings.timezone)
    days = await campaign.reports.activity_days(Scope(), window)
    assert days[0][0].isoformat() == "2026-11-23"
    assert len(days) == 6
    per_day = {d.isoformat(): counts for d, counts in days}
    assert per_day["2026-11-24"] == {"canvass": 1}
    assert per_day["2026-11-27"] == {"text": 2}
    assert per_day["2026-11-28"] == {"canvass": 1, "share": 2, "call": 1}


async def test_empty_database_reports_zeros(services: Services) -> None:
    report = await services.reports.build(Scope(), Window(None, NOW), "campaign")
    assert report.figures.people.total == 0
    assert report.figures.work.done == 0
    assert report.figures.teams == ()


@pytest.mark.sqlite_only("the seed's bulk loader rebuilds the roll-up around SQLite's triggers")
async def test_rebuilding_the_rollup_gives_the_same_figures(campaign: Services) -> None:
    """Migration 0007's backfill (existing data) and its triggers (new rows) agree."""
    import sqlite3

    from bot.storage import bulk

    query = "SELECT * FROM report_rollup ORDER BY axis, unit, span, hour, kind"
    before = [tuple(r) for r in await campaign.db.fetch_all(query)]
    assert before
    conn = sqlite3.connect(campaign.db.path)
    try:
        with bulk.rollup_rebuilt_after(conn):
            pass
    finally:
        conn.close()
    after = [tuple(r) for r in await campaign.db.fetch_all(query)]
    assert after == before
    triggers = await campaign.db.fetch_value(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'report_%'"
    )
    assert triggers == 8


async def test_a_window_ending_on_the_hour_leaves_that_hour_out(campaign: Services) -> None:
    """Last week ends at Monday 00:00 in Paris (23:00 UTC): a door knocked at 00:30 on
    Monday belongs to this week, one at 23:30 on Sunday to last week."""
    from bot.storage import bulk

    columns = ("id", "task_id", "volunteer_id", "state", "finished_at", "created_at", "updated_at")
    sunday, monday = "2026-11-29T22:30:00.000000Z", "2026-11-29T23:30:00.000000Z"
    await bulk.insert(
        campaign.db,
        "assignments",
        columns,
        [(20, 4, 1, "done", sunday, sunday, sunday), (21, 4, 5, "done", monday, monday, monday)],
    )
    await bulk.insert(
        campaign.db,
        "outcomes",
        ("assignment_id", "task_id", "volunteer_id", "kind", "attended", "recorded_at"),
        [(20, 4, 1, "event", 1, sunday), (21, 4, 5, "event", 1, monday)],
    )
    last_week = Window(
        datetime(2026, 11, 22, 23, tzinfo=UTC), datetime(2026, 11, 29, 23, tzinfo=UTC)
    )
    figures = await campaign.report_repo.figures(Scope(), last_week)
    assert figures.work.events_attended == 1
    this_week = Window(
        datetime(2026, 11, 29, 23, tzinfo=UTC), datetime(2026, 11, 30, 9, tzinfo=UTC)
    )
    figures = await campaign.report_repo.figures(Scope(), this_week)
    assert figures.work.events_attended == 1
    assert [f.done for f in figures.funnel if f.kind == "event"] == [1]


async def test_a_corrected_outcome_moves_its_numbers(campaign: Services) -> None:
    async with campaign.db.transaction() as tx:
        await tx.execute("UPDATE outcomes SET doors_knocked = 45 WHERE assignment_id = 1")
        # Correcting the double tap changes nothing: it never counted.
        await tx.execute("UPDATE outcomes SET doors_knocked = 99 WHERE assignment_id = 3")
        await tx.execute("UPDATE outcomes SET conversations = 7 WHERE assignment_id = 2")
    f = (await campaign.reports.report(ADMIN, "campaign")).figures
    assert (f.work.doors_knocked, f.work.conversations) == (100, 28)
    team = (await campaign.reports.report(organizer(1, EVRY), "campaign")).figures
    assert team.work.doors_knocked == 100
    assert team.teams[0].doors_knocked == 100


async def test_upgrading_a_database_with_activity_backfills_the_rollup(tmp_path: Path) -> None:
    """Tasks done before migration 0007 count exactly as those done after."""
    import sqlite3

    from bot.storage.db import Database, available_migrations

    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    for number, sql in available_migrations():
        if number < 7:
            conn.executescript(sql)
            conn.execute(f"PRAGMA user_version = {number}")
    conn.close()
    db = Database(path)
    await db.open()
    try:
        await build_campaign(db, joined_at=False)  # no roll-up yet: the data predates it
        assert (await db.migrate())[0] == 7
        repo = ReportRepository(db)
        f = await repo.figures(Scope(), Window(None, NOW))
        assert f.people.new == 7  # joined when they came (migration 0018), as counted before
        assert funnel(f)["canvass"] == (1, 4, 3)
        assert (f.work.done, f.work.doors_knocked, f.calls.made) == (11, 95, 5)
        week = await repo.figures(
            Scope(teams=frozenset({EVRY})), period_window("week", NOW, PARIS_TZ)
        )
        assert (week.work.done, week.work.doors_knocked) == (5, 65)
    finally:
        await db.close()


async def test_people_still_joining_are_members_of_no_area_and_no_team(
    campaign: Services,
) -> None:
    """Someone who opened the chat today and stopped at the name question (through a team's
    link) is no member yet: before, the area breakdown counted them in the area nobody can
    name ("inconnu"), and the team breakdown in the team."""
    async with campaign.db.transaction() as tx:
        await tx.execute(
            "INSERT INTO volunteers (id, status, language, created_at, last_active_at)"
            " VALUES (8, 'onboarding', 'fr', :now, :now)",
            {"now": "2026-11-28T13:00:00.000000Z"},
        )
        await tx.execute(
            "INSERT INTO team_members (team_id, volunteer_id, joined_at) VALUES (:team, 8, :now)",
            {"team": EVRY, "now": "2026-11-28T13:00:00.000000Z"},
        )
    f = (await campaign.reports.report(ADMIN, "campaign")).figures
    assert (f.people.new, f.people.onboarding) == (7, 1)
    areas = {a.key: a for a in f.areas}
    assert areas[""] == Breakdown("", 1, 0, 1, 30, 9, 0)
    assert f.teams[0] == Breakdown("Évry Sud", 4, 2, 7, 95, 27, 1)
