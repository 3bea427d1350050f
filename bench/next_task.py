"""How fast is "the next best task" at campaign scale? Prints p50 / p99 in milliseconds.

    .venv/bin/python bench/next_task.py [--volunteers 100000 --tasks 10000 --history 1000000]

Builds a throwaway database (100,000 volunteers, 10,000 open tasks, 1,000,000 past
assignments), then asks for the next task of random volunteers, as /task does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.storage.db import Database
from bot.storage.tasks import TaskRepository
from tools.seed import bulk_load


async def main(volunteers: int, tasks: int, history: int, samples: int) -> None:
    now = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as folder:
        db = Database(Path(folder) / "bench.sqlite3")
        await db.open()
        try:
            await db.migrate()
            started = time.perf_counter()
            await bulk_load(db, now, volunteers=volunteers, tasks=tasks, assignments=history)
            print(f"loaded in {time.perf_counter() - started:.1f} s")
            repo = TaskRepository(db)
            rng = random.Random(1)
            timings = []
            found = 0
            for _ in range(samples):
                volunteer_id = rng.randint(1, volunteers)
                begin = time.perf_counter()
                fit = await repo.fit(volunteer_id)
                assert fit is not None
                task = await repo.next_for(fit, now)
                timings.append((time.perf_counter() - begin) * 1000)
                found += task is not None
            timings.sort()
            p50 = statistics.median(timings)
            p99 = timings[int(len(timings) * 0.99) - 1]
            print(
                f"next task for {samples} volunteers ({volunteers} volunteers, {tasks} open "
                f"tasks, {history} past assignments): p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
                f"max {timings[-1]:.2f} ms; {found} found a task"
            )
            print(
                json.dumps(
                    {
                        "title": "Next task",
                        "command": "python -m bench.next_task",
                        "results": [
                            {"metric": "p50", "value": round(p50, 2), "unit": "ms"},
                            {
                                "metric": "p99",
                                "value": round(p99, 2),
                                "unit": "ms",
                                "target": "< 10",
                                "met": p99 < 10,
                            },
                            {"metric": "max", "value": round(timings[-1], 2), "unit": "ms"},
                        ],
                        "notes": f"{volunteers} volunteers, {tasks} open tasks, {history} past "
                        f"assignments; {samples} random volunteers, {found} found a task",
                    }
                )
            )
        finally:
            await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--volunteers", type=int, default=100_000)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--history", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=2_000)
    args = parser.parse_args()
    asyncio.run(main(args.volunteers, args.tasks, args.history, args.samples))
