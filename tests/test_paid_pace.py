"""The paid-broadcast pace: never more than its rate in any second, and a late start made
up rather than lost (on a clock moved by hand)."""

from __future__ import annotations

from itertools import pairwise

import pytest

from bot.sender import WindowGate


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def _gate(clock: Clock, rate: float = 100.0) -> WindowGate:
    return WindowGate(rate, clock=clock, sleep=clock.sleep)


def _most_in_one_second(starts: list[float]) -> int:
    return max(sum(1 for t in starts if s <= t < s + 1.0) for s in starts)


async def test_never_more_than_the_rate_in_any_second() -> None:
    clock = Clock()
    gate = _gate(clock)
    starts = []
    for _ in range(500):
        await gate.wait()
        starts.append(clock.now)
    assert _most_in_one_second(starts) <= 100
    assert min(b - a for a, b in pairwise(starts)) >= 0.005 - 1e-9
    # 500 at 100 a second: 5 seconds, give or take the first second's start.
    assert 4.0 <= starts[-1] - starts[0] <= 5.0


async def test_a_stall_is_made_up_within_the_second_allowance() -> None:
    clock = Clock()
    gate = _gate(clock)
    starts = []
    for n in range(1000):
        if n % 100 == 50:
            clock.now += 0.2  # the process lost its core for 200 ms, ten times over
        await gate.wait()
        starts.append(clock.now)
    assert _most_in_one_second(starts) <= 100
    # A fixed grid would have lost the 2 s of stalls: 1000 at 100/s took 12 s, not 10.
    assert starts[-1] - starts[0] < 10.1


async def test_a_new_broadcast_starts_at_its_pace_not_in_a_burst() -> None:
    clock = Clock()
    gate = _gate(clock)
    starts = []
    for _ in range(50):
        await gate.wait()
        starts.append(clock.now)
    clock.now += 5.0  # idle, then the next broadcast
    for _ in range(50):
        await gate.wait()
        starts.append(clock.now)
    assert all(b - a >= 0.01 - 1e-9 for a, b in pairwise(starts))


async def test_nothing_starts_before_a_hold() -> None:
    clock = Clock()
    gate = _gate(clock)
    await gate.wait()
    held = clock.now + 3.0
    gate.hold_until(held)
    assert gate.delay() == pytest.approx(3.0)
    await gate.wait()
    assert clock.now == pytest.approx(held)
