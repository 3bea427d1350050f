"""How fast is "the next best task" at campaign scale? Prints p50 / p99 in milliseconds.

    python -m bench.next_task [--volunteers 100000 --tasks 10000 --history 1000000]
    python -m bench.next_task --postgresql [postgresql://postgres@127.0.0.1:5432]

Builds a throwaway database (100,000 volunteers, 10,000 open tasks, 1,000,000 past
assignments), then asks for the next task of random volunteers, as /task does. With
--postgresql, the same rows are moved into a new database on that server (copy-database,
dropped afterwards) and asked there.
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
from typing import cast

from bench.cluster import SERVER, database
from bot.storage.copy import copy_campaign
from bot.storage.db import Database
from bot.storage.postgres import PostgresDatabase
from bot.storage.tasks import TaskRepository
from tools.seed import bulk_load


async def main(volunteers: int, tasks: int, history: int, samples: int, server: str) -> None:
    now = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as folder:
        db = Database(Path(folder) / "bench.sqlite3")
        await db.open()
        try:
            await db.migrate()
            started = time.perf_counter()
            await bulk_load(db, now, volunteers=volunteers, tasks=tasks, assignments=history)
            print(f"loaded in {time.perf_counter() - started:.1f} s")
            if server:
                async with database("postgresql", Path(folder), server) as url:
                    target = PostgresDatabase(url)
                    await target.open()
                    try:
                        await copy_campaign(db, target)
                        await target.pool.execute("ANALYZE")
                        print(f"copied to PostgreSQL in {time.perf_counter() - started:.1f} s")
                        await measure(target, now, volunteers, tasks, history, samples, server)
                    finally:
                        await target.close()
            else:
                await measure(db, now, volunteers, tasks, history, samples, server)
        finally:
            await db.close()


async def measure(
    db: Database | PostgresDatabase,
    now: datetime,
    volunteers: int,
    tasks: int,
    history: int,
    samples: int,
    server: str,
) -> None:
    repo = TaskRepository(cast(Database, db))
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
                "title": "Next task on PostgreSQL" if server else "Next task",
                "command": "python -m bench.next_task" + (" --postgresql" if server else ""),
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
                f"assignments; {samples} random volunteers, {found} found a task"
                + (" (PostgreSQL on this machine)" if server else ""),
            }
        )
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--volunteers", type=int, default=100_000)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--history", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=2_000)
    parser.add_argument("--postgresql", nargs="?", const=SERVER, default="", metavar="SERVER")
    args = parser.parse_args()
    asyncio.run(main(args.volunteers, args.tasks, args.history, args.samples, args.postgresql))
