"""Volunteers at campaign scale: one onboarding step, the organizer directory, /forget
(erasure + WAL checkpoint) and a retention sweep, on a database of N volunteers.

Run: `.venv/bin/python bench/volunteers.py [N]` (prints JSON).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import handlers  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.core import open_core  # noqa: E402
from bot.jobs import retention  # noqa: E402
from bot.router import FloodGate, Router  # noqa: E402
from bot.services import Services  # noqa: E402
from tests.factories import make_volunteer  # noqa: E402
from tests.fakes.chat import Chat  # noqa: E402
from tests.fakes.clock import FakeClock  # noqa: E402

SKILLS = ("share", "canvass", "call", "text", "events")
SLOTS = ("evenings", "weekends", "daytime")


async def _timed(action: object) -> float:
    start = time.perf_counter()
    await action  # type: ignore[misc]
    return time.perf_counter() - start


async def main(n: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        settings = Settings.from_env(
            {"DATABASE_URL": f"sqlite:///{path}", "RELAIS_ADMINS": "telegram:1"}
        )
        clock = FakeClock()
        async with open_core(settings, clock) as services:
            return await _measure(n, settings, clock, services)


async def _measure(
    n: int, settings: Settings, clock: FakeClock, services: Services
) -> dict[str, object]:
    router = Router(services, FloodGate(limit=10**9))
    handlers.register(router)
    seed_start = time.perf_counter()
    for i in range(n):
        await make_volunteer(
            services,
            str(10_000 + i),
            first_name=f"V{i}",
            postcode=f"{1 + i % 95:02d}100" if i % 95 != 19 else "20100",
            skills=(SKILLS[i % 5], SKILLS[(i + 2) % 5]),
            availability=(SLOTS[i % 3],),
            teams=(f"Team {i % 50}",),
        )
    seed_s = time.perf_counter() - seed_start

    steps = []
    for k in range(20):
        chat = Chat(router, user_id=str(500 + k), language="fr")
        for action in (
            chat.send("/start"),
            chat.tap("ob:lang:fr"),
            chat.tap("ob:consent:yes"),
            chat.tap("ob:name:keep"),
            chat.send("75011"),
            chat.tap("ob:skill:call"),
            chat.tap("ob:skill:done"),
            chat.tap("ob:avail:weekends"),
            chat.tap("ob:avail:done"),
        ):
            steps.append(await _timed(action))
    admin = Chat(router, user_id="1", language="fr")
    directory = [await _timed(admin.send("/volunteers")) for _ in range(5)]
    directory_filtered = [
        await _timed(admin.send("/volunteers 69 canvass weekends")) for _ in range(5)
    ]
    forgets = []
    for k in range(10):
        chat = Chat(router, user_id=str(10_000 + k), language="fr")
        await chat.send("/forget")
        forgets.append(await _timed(chat.tap("fg:yes")))
    clock.advance(days=settings.retention_days - 30)
    warn_s = await _timed(retention(services))
    clock.advance(days=30)
    erase_start = time.perf_counter()
    await retention(services)
    erase_s = time.perf_counter() - erase_start
    ms = 1000.0
    return {
        "name": "volunteers",
        "volunteers": n,
        "seed_s": round(seed_s, 1),
        "onboarding_step_median_ms": round(statistics.median(steps) * ms, 2),
        "onboarding_step_max_ms": round(max(steps) * ms, 2),
        "directory_all_median_ms": round(statistics.median(directory) * ms, 1),
        "directory_filtered_median_ms": round(statistics.median(directory_filtered) * ms, 1),
        "forget_median_ms": round(statistics.median(forgets) * ms, 1),
        "retention_warn_all_s": round(warn_s, 2),
        "retention_erase_all_s": round(erase_s, 2),
        "targets": {
            "onboarding step < 50 ms": statistics.median(steps) < 0.05,
            "directory < 500 ms": statistics.median(directory) < 0.5,
            "forget < 1 s": statistics.median(forgets) < 1.0,
        },
    }


def run(n: int = 2000) -> dict[str, object]:
    return asyncio.run(main(n))


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 2000), indent=2))
