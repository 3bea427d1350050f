"""The next task on PostgreSQL at 100,000 volunteers, 10,000 open tasks and 1,000,000 past
assignments (bench/next_task.py --postgresql, on RELAIS_BENCH_POSTGRES or the local server).

    python -m bench next_task_postgresql
"""

from __future__ import annotations

import asyncio

from bench.cluster import SERVER
from bench.next_task import main

if __name__ == "__main__":
    asyncio.run(main(100_000, 10_000, 1_000_000, 2_000, SERVER))
