"""Reports on PostgreSQL at 100,000 volunteers and 1,000,000 assignments (bench/report.py
--postgresql, on RELAIS_BENCH_POSTGRES or the local server).

    python -m bench report_postgresql
"""

from __future__ import annotations

import json

from bench.cluster import SERVER
from bench.report import run

if __name__ == "__main__":
    print(json.dumps(run(SERVER)))
