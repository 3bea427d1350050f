"""Start-up: time from launching `python -m bot` to its first getUpdates, on a database
that is already up to date (as after any restart)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.bot_api import FakeBotAPI  # noqa: E402
from tests.fakes.relais import telegram_env  # noqa: E402

RUNS = 5


async def _once(api: FakeBotAPI, env: dict[str, str]) -> float:
    polls = api.stats.requests.get("getUpdates", 0)
    start = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=ROOT,
        env={**os.environ, **env},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    while api.stats.requests.get("getUpdates", 0) == polls:
        await asyncio.sleep(0.005)
    elapsed = time.monotonic() - start
    process.send_signal(signal.SIGTERM)
    await asyncio.wait_for(process.wait(), 30)
    return elapsed


async def main() -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeBotAPI(strict=False) as api:
            env = {
                **telegram_env(api, Path(tmp) / "startup.sqlite3"),
                "RELAIS_LOG_LEVEL": "WARNING",
            }
            await _once(api, env)  # first run creates and migrates the database
            times = [await _once(api, env) for _ in range(RUNS)]
    median = statistics.median(times)
    return {
        "title": "Start-up",
        "command": "python -m bench.startup",
        "results": [
            {
                "metric": "launch to first getUpdates, median",
                "value": round(median, 3),
                "unit": "s",
                "target": "< 2",
                "met": median < 2.0,
            },
            {
                "metric": "launch to first getUpdates, worst",
                "value": round(max(times), 3),
                "unit": "s",
            },
        ],
        "notes": f"{RUNS} restarts of `python -m bot` on an up-to-date database",
    }


def run() -> dict[str, object]:
    return asyncio.run(main())


if __name__ == "__main__":
    print(json.dumps(run()))
