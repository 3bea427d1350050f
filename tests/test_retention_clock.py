"""Retention and a clock that jumped: a warning dated in the future is void, and nobody is
erased without a warning sent at least 30 days earlier by a clock that was right."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from bot.jobs import retention
from bot.services import Services
from tests.factories import make_volunteer
from tests.fakes.chat import Chat
from tests.fakes.clock import FakeClock


async def statuses(services: Services) -> dict[str, str]:
    rows = await services.db.fetch_all(
        "SELECT i.user_id, v.status FROM volunteers v LEFT JOIN identities i"
        " ON i.volunteer_id = v.id ORDER BY v.id"
    )
    return {r["user_id"] or f"erased-{n}": r["status"] for n, r in enumerate(rows)}


async def warnings_to(services: Services) -> list[tuple[int, str]]:
    rows = await services.db.fetch_all(
        "SELECT volunteer_id, created_at FROM outbox WHERE kind = 'notice' ORDER BY id"
    )
    return [(r["volunteer_id"], r["created_at"]) for r in rows]


async def test_a_clock_three_years_ahead_erases_nobody_once_it_is_right_again(
    services: Services, clock: FakeClock, chat: Callable[..., Chat]
) -> None:
    people = [await make_volunteer(services, str(300 + n), first_name=f"V{n}") for n in range(4)]
    clock.advance(days=690)  # inactive for 690 days: not yet due for a warning (700)
    await retention(services)
    assert await warnings_to(services) == []
    right = clock.now()

    clock.advance(days=3 * 365)  # the host's clock jumps three years ahead
    await retention(services)
    assert len(await warnings_to(services)) == 4  # everyone was warned, by a wrong clock

    clock.set(right + timedelta(hours=1))  # the clock is right again
    back = chat("301")
    await back.send("/help")  # one volunteer is active after the fix
    for _day in range(45):  # 45 daily runs with a right clock
        clock.advance(days=1)
        await retention(services)
    # The three still inactive were warned again at day 700 by the right clock, and are
    # not erased before 30 days have passed since that warning (day 730 is the 40th run).
    again = [(v, at) for v, at in (await warnings_to(services))[4:]]
    assert [v for v, _ in again] == [people[0].id, people[2].id, people[3].id]
    assert all(at < (right + timedelta(days=12)).isoformat() for _, at in again)
    state = await statuses(services)
    assert state["301"] == "active"  # active after the fix: kept, not even warned again
    assert sum(1 for s in state.values() if s == "erased") == 3


async def test_a_second_jump_ahead_does_not_turn_the_void_warnings_into_erasure(
    services: Services, clock: FakeClock, chat: Callable[..., Chat]
) -> None:
    for n in range(3):
        await make_volunteer(services, str(400 + n), first_name=f"W{n}")
    right = clock.now()
    clock.advance(days=3 * 365)
    await retention(services)  # all warned, dated three years ahead
    clock.set(right + timedelta(days=1))
    await chat("401").send("/help")  # active after the fix
    await retention(services)  # the right clock voids the warnings
    clock.set(right + timedelta(days=3 * 365 + 31))  # a second jump, 31 days after the first
    await retention(services)
    state = await statuses(services)
    assert set(state.values()) == {"active"}, state  # warned again, erased nobody
    clock.advance(days=29)
    await retention(services)
    assert set((await statuses(services)).values()) == {"active"}
