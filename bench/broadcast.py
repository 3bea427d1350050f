"""Broadcast throughput: the real bot (`python -m bot`, its own process) against the fake
Bot API (this process), with synthetic volunteers.

1. Telegram's limits enforced by the fake (30/s overall, 1/s per chat): messages per second
   achieved and how many 429 answers the bot provoked.
2. No limits, paid-broadcast mode: the bot's own ceiling in messages per second, and its
   peak memory (VmHWM of the bot process) at two audience sizes, to show it does not grow
   with the number of recipients.

The bot and the fake server run in separate processes, so that neither one's event loop
carries the other (both share the machine's cores). Rates are measured at the server, from
the first to the last broadcast message it received.

    python -m bench.broadcast [--recipients 10000] [--skip-limited]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.clock import SystemClock
from bot.storage.db import Database
from bot.storage.seed import SeedVolunteer, add_volunteers
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.relais import telegram_env

TEXT = "<b>Mobilisation</b> : rendez-vous samedi 10 h place de la République"
COMMAND = "python -m bench.broadcast --recipients {n}"
CAMPAIGN = 100_000


async def _prepare(folder: Path, recipients: int) -> Path:
    database = folder / "relais.sqlite3"
    db = Database(database)
    await db.open()
    await db.migrate()
    people = (
        SeedVolunteer(str(10_000_000 + n), quiet_hours="", skills="share")
        for n in range(recipients)
    )
    await add_volunteers(db, people, SystemClock().now())
    await db.close()
    return database


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _peak_rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


async def _run_once(
    recipients: int, *, limited: bool, paid: bool, paid_rate: int = 990
) -> dict[str, Any]:
    """Queue one broadcast with the CLI, run the bot until every message arrived."""
    with tempfile.TemporaryDirectory(prefix="relais-bench-") as tmp:
        folder = Path(tmp)
        database = await _prepare(folder, recipients)
        api = FakeBotAPI(limit_global_per_s=30, limit_per_chat_per_s=1) if limited else FakeBotAPI()
        async with api:
            extra = (
                {"RELAIS_PAID_BROADCAST": "yes", "RELAIS_PAID_BROADCAST_RATE": str(paid_rate)}
                if paid
                else {}
            )
            env = {
                **os.environ,
                **telegram_env(api, database, **extra),
                "RELAIS_LOG_LEVEL": "WARNING",
            }
            log = (folder / "bot.log").open("ab")
            args = ["broadcast", "--text", TEXT, "--to", "all"] + (["--paid"] if paid else [])
            cli = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", *args, env=env, stdout=log, stderr=log
            )
            if await cli.wait() != 0:
                raise RuntimeError((folder / "bot.log").read_text())
            # RELAIS_BENCH_PROFILE=FILE profiles the bot process (cProfile) for one run.
            profile = os.environ.get("RELAIS_BENCH_PROFILE")
            runner = ["-m", "cProfile", "-o", profile] if profile else []
            bot = await asyncio.create_subprocess_exec(
                sys.executable, *runner, "-m", "bot", env=env, stdout=log, stderr=log
            )
            delivered: list[float] = []
            seen = 0
            deadline = time.monotonic() + 60 + recipients / (25 if limited else 200)
            peak = 0
            cpu_start = cpu_end = 0.0
            try:
                while len(delivered) < recipients:
                    if time.monotonic() > deadline or bot.returncode is not None:
                        raise RuntimeError(
                            f"only {len(delivered)} of {recipients} delivered\n"
                            + (folder / "bot.log").read_text()[-3000:]
                        )
                    for call in api.sent[seen:]:
                        if call.ok and call.text == TEXT:
                            delivered.append(call.timestamp)
                    seen = len(api.sent)
                    peak = max(peak, _peak_rss_kib(bot.pid))
                    if delivered and not cpu_start:
                        cpu_start = _cpu_seconds(bot.pid)
                    await asyncio.sleep(0.2)
                cpu_end = _cpu_seconds(bot.pid)
                peak = max(peak, _peak_rss_kib(bot.pid))
            finally:
                if bot.returncode is None:
                    bot.send_signal(signal.SIGTERM)
                    try:
                        await asyncio.wait_for(bot.wait(), 20)
                    except TimeoutError:
                        bot.kill()
                log.close()
            span = max(delivered) - min(delivered)
            return {
                "recipients": recipients,
                "messages_per_s": round((recipients - 1) / span, 1) if span else 0.0,
                "too_many_requests": api.stats.too_many_requests,
                "duplicates": recipients - len({c.chat_id for c in api.sent if c.text == TEXT}),
                "peak_rss_mib": round(peak / 1024, 1),
                "bot_cpu_share": round((cpu_end - cpu_start) / span, 2) if span else 0.0,
            }


async def run_async(
    recipients: int, skip_limited: bool = False, skip_paid: bool = False
) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    if not skip_limited:
        limited = await _run_once(recipients, limited=True, paid=False)
        results += [
            {
                "metric": f"under Telegram's limits (30/s, 1/s per chat), {recipients} recipients",
                "value": limited["messages_per_s"],
                "unit": "msg/s",
                "target": ">= 28.5",
                "met": limited["messages_per_s"] >= 28.5,
            },
            {
                "metric": "429 answers provoked under those limits",
                "value": limited["too_many_requests"],
                "unit": "",
                "target": "0",
                "met": limited["too_many_requests"] == 0,
            },
        ]
    if skip_paid:
        return {
            "title": "Broadcast sender",
            "command": COMMAND.format(n=recipients),
            "results": results,
        }
    # The ceiling: paid mode with the pace lifted far above Telegram's 1000/s, so that the
    # bot itself (or the fake server) is what limits the rate.
    small = await _run_once(recipients // 4, limited=False, paid=True, paid_rate=100_000)
    large = await _run_once(recipients, limited=False, paid=True, paid_rate=100_000)
    paced = await _run_once(recipients, limited=False, paid=True)
    # Campaign scale: the bot's memory with 100,000 volunteers broadcast to at once.
    campaign = await _run_once(CAMPAIGN, limited=False, paid=True, paid_rate=100_000)
    print(json.dumps({"runs": [small, large, paced, campaign]}), file=sys.stderr)
    results += [
        {
            "metric": f"ceiling, no limits, paid mode, pace lifted, {recipients} recipients",
            "value": large["messages_per_s"],
            "unit": "msg/s",
            "target": ">= 1000",
            "met": large["messages_per_s"] >= 1000,
        },
        {
            "metric": "bot CPU during that run (share of one core)",
            "value": large["bot_cpu_share"],
            "unit": "",
            "target": "",
            "met": None,
        },
        {
            "metric": f"paid-broadcast mode at its default pace (990/s), {recipients} recipients",
            "value": paced["messages_per_s"],
            "unit": "msg/s",
            "target": "close to 990, under Telegram's 1000",
            "met": 950 <= paced["messages_per_s"] <= 1000,
        },
        {
            "metric": f"bot peak memory (VmHWM), {recipients // 4} recipients",
            "value": small["peak_rss_mib"],
            "unit": "MiB",
            "target": "",
            "met": None,
        },
        {
            "metric": f"bot peak memory (VmHWM), {recipients} recipients",
            "value": large["peak_rss_mib"],
            "unit": "MiB",
            "target": "does not grow with recipients (within 10% of the smaller run)",
            "met": large["peak_rss_mib"] <= small["peak_rss_mib"] * 1.10 + 2,
        },
        {
            "metric": f"bot peak memory (VmHWM), {CAMPAIGN} volunteers, all broadcast to",
            "value": campaign["peak_rss_mib"],
            "unit": "MiB",
            "target": "< 250",
            "met": campaign["peak_rss_mib"] < 250,
        },
    ]
    duplicates = large["duplicates"] + small["duplicates"] + campaign["duplicates"]
    return {
        "title": "Broadcast sender",
        "command": COMMAND.format(n=recipients),
        "results": results,
        "notes": (
            "The real bot runs as `python -m bot` in its own process (PTB with Relais' aiohttp "
            "request backend, the outbox sender, SQLite); the fake Bot API server runs in the "
            "benchmark's process. Rates are counted at the server from its first to its last "
            f"broadcast message. Duplicated recipients across runs: {duplicates}."
        ),
    }


def run(recipients: int = 10_000) -> dict[str, Any]:
    """Figures for `python -m bench` (one JSON-able dict)."""
    return asyncio.run(run_async(recipients))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--skip-limited", action="store_true", help="only the ceiling runs")
    parser.add_argument("--skip-paid", action="store_true", help="only the run under limits")
    args = parser.parse_args()
    figures = asyncio.run(run_async(args.recipients, args.skip_limited, args.skip_paid))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
