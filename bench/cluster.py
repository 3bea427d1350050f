"""Several processes on PostgreSQL: updates at the webhook with 1, 2 and 4 workers beside one
on SQLite, the broadcast pace with 2 workers under Telegram's limits, and how long the
sender takes to move to another worker after a kill -9.

Every worker is `python -m bot` in webhook mode, as deployed, against the fake Bot API
(this process). Updates are posted to the workers in turn, as a proxy's round robin would,
by CLIENTS connections at once; an update counts when its POST is answered, which Relais
does once the update is handled (its answers queued). The campaign is the same seeded one
on both backends (`python -m bot seed`, moved to PostgreSQL with `copy-database`).

    python -m bench.cluster [--volunteers 2000] [--updates 3000] [--only updates,broadcast,failover]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.cluster import NOTIFY_CHANNEL  # noqa: E402
from bot.messaging import Outbound  # noqa: E402
from bot.storage.connect import database_for  # noqa: E402
from bot.storage.outbox import URGENT_BROADCAST, Envelope, OutboxRepository  # noqa: E402
from tests.fakes.bot_api import FakeBotAPI  # noqa: E402
from tests.fakes.deployment import Deployment, text_update  # noqa: E402

SERVER = os.environ.get("RELAIS_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
FIRST_USER = 10_000
CLIENTS = 32
TEXT = "<b>Mobilisation</b> : rendez-vous samedi 10 h place de la République"
COMMAND = "python -m bench.cluster --volunteers {v} --updates {u}"


@asynccontextmanager
async def database(kind: str, folder: Path) -> AsyncIterator[str]:
    """A new empty database: a SQLite file, or a PostgreSQL database dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'relais.sqlite3'}"
        return
    name = f"relais_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(f"{SERVER}/postgres")
    try:
        await admin.execute(f"CREATE DATABASE \"{name}\" TEMPLATE template0 LOCALE 'C.UTF-8'")
        yield f"{SERVER}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def seed(deployment: Deployment, volunteers: int) -> None:
    """The same synthetic campaign on either backend."""
    args = ["--volunteers", str(volunteers), "--tasks", str(volunteers // 2)]
    args += ["--id-base", str(FIRST_USER)]
    deployment.run_cli("migrate")
    if not deployment.env["DATABASE_URL"].startswith("postgres"):
        deployment.run_cli("seed", *args)
        return
    sqlite = {"DATABASE_URL": f"sqlite:///{deployment.folder / 'seed.sqlite3'}"}
    deployment.run_cli("migrate", env=sqlite)
    deployment.run_cli("seed", *args, env=sqlite)
    deployment.run_cli("copy-database", "--to", deployment.env["DATABASE_URL"], env=sqlite)


async def post_all(deployment: Deployment, updates: list[dict[str, Any]]) -> dict[str, float]:
    """Post every update, CLIENTS at a time; rate and latency at the webhook."""
    latencies: list[float] = []
    refused = 0
    queue = list(reversed(updates))

    async def client() -> None:
        nonlocal refused
        while queue:
            update = queue.pop()
            start = time.monotonic()
            status = await deployment.post(update)
            latencies.append((time.monotonic() - start) * 1000)
            refused += status != 200

    start = time.monotonic()
    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    elapsed = time.monotonic() - start
    latencies.sort()
    return {
        "rate": round(len(updates) / elapsed, 1),
        "p50": round(statistics.median(latencies), 1),
        "p99": round(latencies[int(len(latencies) * 0.99) - 1], 1),
        "refused": refused,
    }


async def updates_run(kind: str, workers: int, volunteers: int, count: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="relais-bench-") as tmp:
        folder = Path(tmp)
        async with database(kind, folder) as url, FakeBotAPI(strict=False) as api:
            deployment = Deployment(api, url, folder)
            seed(deployment, volunteers)
            try:
                await deployment.start(workers)
                users = [FIRST_USER + n for n in range(volunteers)]
                warm = [text_update(n + 1, users[n % len(users)], "/task") for n in range(200)]
                await post_all(deployment, warm)
                # Each person once or twice: the per-person flood gate never trips.
                measured = [
                    text_update(1000 + n, users[(n * 7 + 300) % len(users)], "/task")
                    for n in range(count)
                ]
                return await post_all(deployment, measured)
            finally:
                await deployment.stop()


async def queue_broadcast(url: str, chats: list[int], text: str = TEXT) -> None:
    """A broadcast's rows, as its fan-out queues them, then the NOTIFY that wakes the sender."""
    db = database_for(Path("unused.sqlite3"), url)
    await db.open()
    try:
        envelopes = [
            Envelope("broadcast", "telegram", str(chat), Outbound(text), priority=URGENT_BROADCAST)
            for chat in chats
        ]
        await OutboxRepository(db).add(envelopes, datetime.now(UTC))
    finally:
        await db.close()
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(f"NOTIFY {NOTIFY_CHANNEL}")
    finally:
        await connection.close()


def delivered(api: FakeBotAPI, text: str = TEXT) -> list[float]:
    return sorted(c.timestamp for c in api.sent if c.ok and c.text == text)


async def broadcast_run(recipients: int) -> dict[str, float]:
    """2 workers under Telegram's limits: the pace at the server and the 429s provoked."""
    with tempfile.TemporaryDirectory(prefix="relais-bench-") as tmp:
        folder = Path(tmp)
        api = FakeBotAPI(strict=False, limit_global_per_s=30, limit_per_chat_per_s=1)
        async with database("postgresql", folder) as url, api:
            deployment = Deployment(api, url, folder)
            deployment.run_cli("migrate")
            chats = await deployment.add_volunteers(recipients, FIRST_USER)
            try:
                await deployment.start(2)
                await queue_broadcast(url, chats)
                deadline = time.monotonic() + 60 + recipients / 20
                while len(delivered(api)) < recipients and time.monotonic() < deadline:
                    await asyncio.sleep(0.2)
                times = delivered(api)
                return {
                    "sent": len(times),
                    "rate": round((len(times) - 1) / (times[-1] - times[0]), 2),
                    "too_many_requests": api.stats.too_many_requests,
                }
            finally:
                await deployment.stop()


async def failover_run() -> float:
    """Seconds from the sender's SIGKILL to the next message the new sender delivers."""
    with tempfile.TemporaryDirectory(prefix="relais-bench-") as tmp:
        folder = Path(tmp)
        async with database("postgresql", folder) as url, FakeBotAPI(strict=False) as api:
            deployment = Deployment(api, url, folder)
            deployment.run_cli("migrate")
            chats = await deployment.add_volunteers(600, FIRST_USER)
            try:
                (first,) = await deployment.start(1)
                await deployment.start(1)
                await queue_broadcast(url, chats)
                while len(delivered(api)) < 60:
                    await asyncio.sleep(0.05)
                await deployment.kill(first)
                killed = time.monotonic()
                while not [t for t in delivered(api) if t > killed]:
                    await asyncio.sleep(0.01)
                return round(min(t for t in delivered(api) if t > killed) - killed, 2)
            finally:
                await deployment.stop()


async def main(volunteers: int, updates: int, only: set[str]) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    load = os.getloadavg()[0]
    notes = [f"Load average when it started: {load:.1f} on {os.cpu_count()} cores."]
    if "updates" in only:
        runs = [("sqlite", 1), ("postgresql", 1), ("postgresql", 2), ("postgresql", 4)]
        figures = {}
        for kind, workers in runs:
            figures[(kind, workers)] = f = await updates_run(kind, workers, volunteers, updates)
            print(json.dumps({"run": f"{kind} x{workers}", **f}), file=sys.stderr, flush=True)
            label = f"{'SQLite' if kind == 'sqlite' else 'PostgreSQL'}, {workers} process"
            label += "es" if workers > 1 else ""
            results += [
                {"metric": f"{label}: updates handled", "value": f["rate"], "unit": "updates/s"},
                {
                    "metric": f"{label}: at the webhook, p50 / p99",
                    "value": f"{f['p50']} / {f['p99']}",
                    "unit": "ms",
                },
            ]
        ratio = figures[("postgresql", 2)]["rate"] / figures[("postgresql", 1)]["rate"]
        results.append(
            {
                "metric": "PostgreSQL, 2 processes ÷ 1",
                "value": round(ratio, 2),
                "unit": "×",
                "target": ">= 1.6",
                "met": ratio >= 1.6,
            }
        )
        notes.append(
            f"Updates: {volunteers} seeded volunteers, {volunteers // 2} open tasks; "
            f"{updates} `/task` from as many people, {CLIENTS} POSTs at a time, spread over "
            "the workers in turn, after 200 to warm up; a POST is answered once the update "
            "is handled (its answers queued: in memory on SQLite, in the outbox on "
            "PostgreSQL, where the elected sender sends them at Telegram's pace)."
        )
    if "broadcast" in only:
        b = await broadcast_run(1000)
        results += [
            {
                "metric": "broadcast, 2 processes, under Telegram's limits (30/s, 1/s per chat)",
                "value": b["rate"],
                "unit": "msg/s",
                "target": ">= 28.5",
                "met": b["rate"] >= 28.5,
            },
            {
                "metric": "429 answers provoked",
                "value": b["too_many_requests"],
                "unit": "",
                "target": "0",
                "met": b["too_many_requests"] == 0,
            },
        ]
        notes.append(f"Broadcast: {b['sent']} of 1000 recipients, counted at the fake server.")
    if "failover" in only:
        moves = [await failover_run() for _ in range(3)]
        results.append(
            {
                "metric": "sender moved after kill -9 (next message out), worst of 3",
                "value": max(moves),
                "unit": "s",
                "target": "< 10",
                "met": max(moves) < 10,
            }
        )
        notes.append(
            f"Failover: {moves} s (a broadcast under way, the sending worker killed; counted "
            "from the kill to the first message the other worker delivers, its in-flight "
            "rows put back first)."
        )
    return {
        "title": "Several processes on PostgreSQL",
        "command": COMMAND.format(v=volunteers, u=updates),
        "results": results,
        "notes": " ".join(notes),
    }


def run() -> dict[str, Any]:
    return asyncio.run(main(2000, 3000, {"updates", "broadcast", "failover"}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--volunteers", type=int, default=2000)
    parser.add_argument("--updates", type=int, default=3000)
    parser.add_argument("--only", default="updates,broadcast,failover")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.volunteers, args.updates, set(args.only.split(","))))))
