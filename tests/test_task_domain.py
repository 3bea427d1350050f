"""The task queue speaks in the campaign's types: UTC datetimes and enums, not stored text."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from bot.domain.tasks import (
    AssignmentState,
    ClaimRefused,
    Outcome,
    Refusal,
    TaskKind,
    TaskStatus,
)
from bot.services import Services
from tests.task_factories import task, volunteer


async def test_tasks_and_assignments_carry_utc_datetimes_and_enums(services: Services) -> None:
    now = services.clock.now()
    me = await volunteer(services, "700")
    event = await task(
        services,
        "event",
        quota=1,
        starts_at=now + timedelta(hours=2),
        closes_at=now + timedelta(days=1),
    )
    assert event.kind is TaskKind.EVENT and event.status is TaskStatus.OPEN
    assert event.starts_at == now + timedelta(hours=2)
    assert event.closes_at is not None and event.closes_at.tzinfo == UTC
    assert event.opens_at == now and event.created_at == now

    assignment = await services.tasks.accept(me, event.id)
    assert assignment.state is AssignmentState.ACCEPTED
    assert assignment.accepted_at == now and assignment.rsvp == "going"
    held = await services.tasks.held(me, assignment.id)
    assert held is not None and held.task.slots_taken == 1 and held.task.full


async def test_a_refused_claim_says_why(services: Services) -> None:
    me = await volunteer(services, "710")
    other = await volunteer(services, "711")
    full = await task(services, quota=1)
    await services.tasks.accept(other, full.id)
    with pytest.raises(ClaimRefused) as refused:
        await services.tasks.accept(me, full.id)
    assert refused.value.reason is Refusal.FULL

    mine = await task(services, quota=5)
    await services.tasks.accept(me, mine.id)
    with pytest.raises(ClaimRefused) as refused:
        await services.tasks.accept(me, mine.id)
    assert refused.value.reason is Refusal.TAKEN

    with pytest.raises(ClaimRefused) as refused:
        await services.tasks.accept(me, 9999)
    assert refused.value.reason is Refusal.TARGET


async def test_points_and_the_streak_read_datetimes(services: Services) -> None:
    me = await volunteer(services, "720")
    t = await task(services, "canvass", points=3)
    assignment = await services.tasks.accept(me, t.id)
    assert await services.tasks.complete(me, assignment.id, Outcome(doors_knocked=5)) == 3
    times = await services.assignment_repo.outcome_times(me, services.clock.now())
    assert times == [services.clock.now()]
    standing = await services.tasks.standing(me, "Europe/Paris")
    assert (standing.points, standing.this_week, standing.streak) == (3, 1, 1)
