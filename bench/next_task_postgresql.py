"""The next task on PostgreSQL at 100,000 volunteers, 10,000 open tasks and 1,000,000 past
assignments (bench/next_task.py --postgresql, on RELAIS_BENCH_POSTGRES or the local server).

    python -m bench next_task_postgresql
    python -m bench.next_task_postgresql --scale 0.01   # a quick look: 1,000 volunteers…
"""

from __future__ import annotations

import argparse
import asyncio

from bench.cluster import SERVER
from bench.next_task import main

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="of the campaign above")
    scale = parser.parse_args().scale
    sizes = (round(100_000 * scale), max(1, round(10_000 * scale)), round(1_000_000 * scale))
    asyncio.run(main(*sizes, 2_000, SERVER))
