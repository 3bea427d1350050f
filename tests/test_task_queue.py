"""The task queue: targeting, the next best task, quotas, caps and concurrent claims."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.config import Settings
from bot.domain.tasks import ClaimRefused, Outcome, TaskDraft
from bot.services import Services
from bot.storage.connect import database_for
from bot.storage.db import Database
from bot.storage.tasks import TaskRepository
from tests.fakes.clock import FakeClock
from tests.fakes.services import services_on
from tests.postgres import fresh_schema
from tests.task_factories import task, team, volunteer


async def test_a_volunteer_outside_the_target_never_gets_the_task(services: Services) -> None:
    north = await team(services, "Nord")
    south = await team(services, "Sud")
    ana = await volunteer(services, "10", teams=[north], department="59", skills=["call"])
    bob = await volunteer(services, "11", teams=[south], department="13", skills=["share"])
    for targets in (
        {"team": (str(north),)},
        {"department": ("59",)},
        {"skill": ("call",)},
        {"team": (str(north),), "skill": ("call", "text")},
    ):
        t = await task(services, targets=targets)
        assert (await services.tasks.next_task(ana)) == t
        assert await services.tasks.next_task(bob) is None
        with pytest.raises(ClaimRefused):
            await services.tasks.accept(bob, t.id)
        await services.task_repo.expire(t.id, services.clock.now())


async def test_language_availability_postcode_and_distance_targets(services: Services) -> None:
    paris = await volunteer(
        services, "20", language="en", postcode="75005", latitude=48.85, longitude=2.35,
        availability=["evenings"],
    )  # fmt: skip
    lyon = await volunteer(services, "21", postcode="69001", latitude=45.76, longitude=4.83)
    for fields in (
        {"targets": {"language": ("en",)}},
        {"targets": {"availability": ("evenings", "weekends")}},
        {"targets": {"postcode": ("75005",)}},
        {"kind": "canvass", "latitude": 48.86, "longitude": 2.34, "radius_km": 10},
    ):
        t = await task(services, **fields)
        assert await services.tasks.next_task(paris) == t
        assert await services.tasks.next_task(lyon) is None
        await services.task_repo.expire(t.id, services.clock.now())


async def test_reach_counts_only_active_reachable_volunteers_in_the_target(
    services: Services,
) -> None:
    north = await team(services, "Nord")
    await volunteer(services, "30", teams=[north])
    await volunteer(services, "31", teams=[north], status="stopped")
    await volunteer(services, "32", teams=[north], status="onboarding")
    await volunteer(
        services, "33", teams=[north], status="paused",
        paused_until=services.clock.now() - timedelta(days=1),
    )  # fmt: skip
    await volunteer(services, "34")
    draft = TaskDraft(kind="share", title="x", targets={"team": (str(north),)})
    assert await services.tasks.reach(draft) == 2
    assert await services.tasks.reach(TaskDraft(kind="share", title="x")) == 3


async def test_next_task_prefers_priority_then_the_nearest_field_task(
    services: Services,
) -> None:
    me = await volunteer(services, "40", latitude=48.85, longitude=2.35)
    await task(services, title="low", priority=0)
    far = await task(services, "canvass", title="far", priority=5, latitude=45.0, longitude=4.0)
    near = await task(services, "canvass", title="near", priority=5, latitude=48.86, longitude=2.36)
    assert await services.tasks.next_task(me) == near
    await services.tasks.skip(me, near.id, later=False)
    assert await services.tasks.next_task(me) == far
    await services.tasks.skip(me, far.id, later=True)
    assert (await services.tasks.next_task(me)).title == "low"  # type: ignore[union-attr]
    services.clock.advance(hours=5)  # type: ignore[attr-defined]
    assert await services.tasks.next_task(me) == far  # "later" comes back, "skip" does not


async def test_closed_paused_unopened_and_full_tasks_are_not_offered(services: Services) -> None:
    me = await volunteer(services, "50")
    other = await volunteer(services, "51")
    now = services.clock.now()
    await task(services, title="future", opens_at=now + timedelta(hours=1))
    await task(
        services,
        title="past",
        closes_at=now - timedelta(minutes=1),
        opens_at=now - timedelta(days=1),
    )
    paused = await task(services, title="paused")
    await services.task_repo.set_status(paused.id, "paused", now)
    full = await task(services, title="full", quota=1)
    await services.tasks.accept(other, full.id)
    assert await services.tasks.next_task(me) is None
    with pytest.raises(ClaimRefused) as refusal:
        await services.tasks.accept(me, full.id)
    assert refusal.value.reason == "full"


async def test_quota_counts_slots_and_cant_gives_a_slot_back(services: Services) -> None:
    a = await volunteer(services, "60")
    b = await volunteer(services, "61")
    t = await task(services, quota=1)
    first = await services.tasks.accept(a, t.id)
    with pytest.raises(ClaimRefused):
        await services.tasks.accept(b, t.id)
    assert await services.tasks.give_up(a, first.id)
    second = await services.tasks.accept(b, t.id)
    assert await services.tasks.complete(b, second.id, Outcome()) == 1
    with pytest.raises(ClaimRefused) as refusal:
        await services.tasks.accept(a, t.id)
    assert refusal.value.reason == "full"


async def test_per_volunteer_cap(services: Services) -> None:
    me = await volunteer(services, "70")
    t = await task(services, per_volunteer_cap=2, points=3)
    for _ in range(2):
        assignment = await services.tasks.accept(me, t.id)
        with pytest.raises(ClaimRefused) as refusal:
            await services.tasks.accept(me, t.id)
        assert refusal.value.reason == "taken"
        assert await services.tasks.complete(me, assignment.id, Outcome()) == 3
    assert await services.tasks.next_task(me) is None
    with pytest.raises(ClaimRefused):
        await services.tasks.accept(me, t.id)
    assert (await services.tasks.standing(me, "")).points == 6


async def test_an_outcome_is_recorded_once_and_only_by_its_owner(services: Services) -> None:
    me = await volunteer(services, "80")
    intruder = await volunteer(services, "81")
    t = await task(services, "canvass")
    assignment = await services.tasks.accept(me, t.id)
    assert await services.tasks.complete(intruder, assignment.id, Outcome()) is None
    assert not await services.tasks.give_up(intruder, assignment.id)
    assert await services.tasks.complete(me, assignment.id, Outcome(doors_knocked=4)) == 1
    assert await services.tasks.complete(me, assignment.id, Outcome(doors_knocked=9)) is None


async def test_many_concurrent_claims_never_exceed_the_quota(
    services: Services, settings: Settings, db: Database, clock: FakeClock
) -> None:
    """Forty volunteers on four separate connections race for five slots."""
    people = [await volunteer(services, str(1000 + i)) for i in range(40)]
    t = await task(services, quota=5)
    extra = [database_for(settings.database_path, settings.database_url) for _ in range(3)]
    for database in extra:
        await database.open()
    try:
        repositories = [TaskRepository(d) for d in (db, *extra)]

        async def claim(index: int) -> bool:
            repo = repositories[index % len(repositories)]
            try:
                fit = await repo.fit(people[index])
                assert fit is not None
                await repo.claim(t.id, fit, clock.now())
            except ClaimRefused:
                return False
            return True

        results = await asyncio.gather(*(claim(i) for i in range(len(people))))
    finally:
        for database in extra:
            await database.close()
    assert sum(results) == 5
    refreshed = await services.task_repo.get(t.id)
    assert refreshed is not None and refreshed.slots_taken == 5
    progress = await services.task_repo.progress(None)
    assert progress[0].accepted == 5


async def test_one_volunteer_tapping_accept_many_times_at_once_gets_one_slot(
    services: Services,
) -> None:
    me = await volunteer(services, "90")
    t = await task(services, quota=10, per_volunteer_cap=3)
    results = await asyncio.gather(
        *(services.tasks.accept(me, t.id) for _ in range(8)), return_exceptions=True
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    refreshed = await services.task_repo.get(t.id)
    assert refreshed is not None and refreshed.slots_taken == 1


async def test_organizers_create_only_within_their_teams(services: Services) -> None:
    from bot.config import Identity
    from bot.services.people import NotAllowed

    mine = await team(services, "Mine")
    theirs = await team(services, "Theirs")
    organizer = await volunteer(services, "95", organizer_of=[mine])
    actor = await services.people.actor(Identity("telegram", "95"), "95")
    assert actor.volunteer_id == organizer
    created = await services.tasks.create(
        actor, TaskDraft(kind="custom", title="ok", team_id=mine, targets={"team": (str(mine),)})
    )
    assert created.created_by == organizer
    for draft in (
        TaskDraft(kind="custom", title="no", team_id=theirs),
        TaskDraft(kind="custom", title="no"),
        TaskDraft(kind="custom", title="no", team_id=mine, targets={"team": (str(theirs),)}),
    ):
        with pytest.raises(NotAllowed):
            await services.tasks.create(actor, draft)
    assert await services.tasks.manageable(actor, created.id) is not None
    other = await task(services, team_id=theirs)
    assert await services.tasks.manageable(actor, other.id) is None
    assert await services.tasks.set_status(actor, other.id, "paused") is None


@pytest.mark.sqlite_only("reads SQLite's own query plan (EXPLAIN QUERY PLAN)")
async def test_the_next_task_query_walks_indexes_not_whole_tables(services: Services) -> None:
    me = await volunteer(services, "99", latitude=48.85, longitude=2.35, skills=["call"])
    fit = await services.task_repo.fit(me)
    assert fit is not None
    plan = await services.task_repo.next_task_plan(fit, services.clock.now())
    assert any("USING INDEX tasks_queue" in step for step in plan), plan
    assert not any("TEMP B-TREE" in step for step in plan), plan  # no sort of all tasks
    lookups = [step for step in plan if "assignments" in step or "task_targets" in step]
    assert lookups and all("INDEX" in step for step in lookups), plan


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> object:
    yield from fresh_schema(request)


async def test_the_next_task_on_postgresql_finds_targeted_tasks_through_their_index(
    pg_url: str, clock: FakeClock
) -> None:
    """With thousands of open tasks, each aimed at a department, PostgreSQL gathers the
    tasks aimed at this volunteer's values through task_targets(kind, value, task_id)
    (migration 0014) instead of reading every task's targets: the /task query the
    repository runs, planned on analysed tables."""
    settings = Settings.from_env({"DATABASE_URL": pg_url, "RELAIS_PSEUDONYM_KEY": "k"})
    db = database_for(settings.database_path, settings.database_url)
    await db.open()
    try:
        await db.migrate()
        services = services_on(settings, clock, db)
        me = await volunteer(services, "99", department="59", skills=["call"])
        departments = [f"{n:02d}" for n in range(1, 96)]
        drafts = [
            TaskDraft(
                kind="call",
                title=f"Appels {n}",
                priority=n % 3,
                targets={"department": (departments[n % len(departments)],), "skill": ("call",)},
            )
            for n in range(3000)
        ]
        await services.task_repo.create_many(drafts, clock.now())
        async with db.transaction() as tx:
            await tx.execute("ANALYZE task_targets")
            await tx.execute("ANALYZE tasks")
        fit = await services.task_repo.fit(me)
        assert fit is not None
        found = await services.task_repo.next_for(fit, clock.now())
        assert found is not None and found.task.title.startswith("Appels")
        plan = "\n".join(await services.task_repo.next_task_plan(fit, clock.now()))
        assert "task_targets_by_value on task_targets" in plan, plan
        assert "Seq Scan on task_targets" not in plan, plan
    finally:
        await db.close()


async def test_a_timed_task_goes_to_people_free_at_that_time(services: Services) -> None:
    from datetime import UTC, datetime

    evenings = await volunteer(services, "97", availability=["evenings"])
    weekends = await volunteer(services, "98", availability=["weekends"])
    unsaid = await volunteer(services, "96")
    # Tuesday 1 December 2026, 19:30 in Paris: an evening on a weekday.
    t = await task(services, "event", starts_at=datetime(2026, 12, 1, 18, 30, tzinfo=UTC))
    assert t.starts_slots == ",evenings,"
    assert await services.tasks.next_task(evenings) == t
    assert await services.tasks.next_task(unsaid) == t  # never said: not filtered
    assert await services.tasks.next_task(weekends) is None
    # Saturday 5 December, 10:00 in Paris.
    saturday = await task(
        services, "canvass", starts_at=datetime(2026, 12, 5, 9, 0, tzinfo=UTC), priority=1
    )
    assert await services.tasks.next_task(weekends) == saturday
