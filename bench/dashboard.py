"""The dashboard at campaign scale: each page's server time for an admin (who sees every
volunteer) on a synthetic campaign of N volunteers (100,000 by default), through the real
aiohttp application on loopback.

Run: `.venv/bin/python bench/dashboard.py [N]` (prints JSON). Target: every page < 200 ms
(median); the charts (PNG drawn by matplotlib) are listed apart.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiohttp.test_utils import TestClient, TestServer  # noqa: E402

from bot.config import Identity, Settings  # noqa: E402
from bot.core import open_core  # noqa: E402
from bot.dashboard.server import COOKIE, build_app  # noqa: E402
from tests.fakes.clock import FakeClock  # noqa: E402
from tools.seed import synthetic_campaign  # noqa: E402

PAGES = (
    "/figures",
    "/figures?period=campaign",
    "/volunteers",
    "/volunteers?area=69&skill=call&status=active",
    "/volunteers?offset=50000",
    "/map",
    "/map?skill=share",
    "/tasks",
    "/broadcasts",
    "/broadcasts/audience?audience=area:69+skill:call",
    "/incidents",
    "/calls",
)
CHARTS = ("/figures/activity.png?period=month", "/figures/funnel.png?period=month")
TARGET_MS = 200.0
ROUNDS = 7


async def main(n: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        settings = Settings.from_env(
            {"DATABASE_URL": f"sqlite:///{path}", "RELAIS_ADMINS": "telegram:1"}
        )
        clock = FakeClock()
        async with open_core(settings, clock):
            pass  # migrated
        started = time.perf_counter()
        conn = sqlite3.connect(path)
        try:
            synthetic_campaign(
                conn,
                clock.now(),
                volunteers=n,
                tasks=max(20, n // 500),
                assignments=n * 2,
                id_base=100_000,
            )
            conn.commit()
        finally:
            conn.close()
        seed_s = time.perf_counter() - started
        async with open_core(settings, clock) as services:
            actor = await services.people.actor(Identity("telegram", "1"), "1")
            code = await services.dashboard.link_code(actor)
            opened = await services.dashboard.open_with_code(code)
            assert opened is not None
            cookie = {"Cookie": f"{COOKIE}={opened[0]}"}
            client = TestClient(TestServer(build_app(services)))
            await client.start_server()
            try:
                load = os.getloadavg()[0]
                pages = {p: await _time(client, p, cookie) for p in PAGES}
                charts = {p: await _time(client, p, cookie, rounds=3) for p in CHARTS}
            finally:
                await client.close()
    results = [
        {
            "metric": f"GET {page}",
            "value": round(statistics.median(times), 1),
            "unit": "ms (median)",
            "target": f"< {TARGET_MS:.0f}",
            "met": statistics.median(times) < TARGET_MS,
        }
        for page, times in pages.items()
    ] + [
        {
            "metric": f"GET {page} (chart, matplotlib)",
            "value": round(statistics.median(times), 1),
            "unit": "ms (median)",
        }
        for page, times in charts.items()
    ]
    return {
        "title": f"Dashboard pages at {n:,} volunteers",
        "command": f".venv/bin/python bench/dashboard.py {n}",
        "results": results,
        "notes": (
            f"Load average when the pages were timed: {load:.1f} on {os.cpu_count()} cores. "
            f"An admin's session (every volunteer in scope), {ROUNDS} requests per page "
            f"after one warm-up, through aiohttp on loopback; synthetic campaign seeded in "
            f"{seed_s:.0f} s. Each page view also writes its audit entry. The volunteers table "
            "stops at offset 10,000 (deeper pages ask for narrower filters). /figures is the "
            "chat's /report (the report service) plus the page; the charts are drawn by "
            "matplotlib in a worker thread."
        ),
    }


async def _time(
    client: TestClient, path: str, cookie: dict[str, str], rounds: int = ROUNDS
) -> list[float]:
    response = await client.get(path, headers=cookie, allow_redirects=False)
    assert response.status == 200, (path, response.status, await response.text())
    await response.read()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        response = await client.get(path, headers=cookie, allow_redirects=False)
        await response.read()
        times.append((time.perf_counter() - start) * 1000)
    return times


def run(n: int = 100_000) -> dict[str, object]:
    return asyncio.run(main(n))


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000), indent=2))
