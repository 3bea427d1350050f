"""Broadcast throughput: the real bot (`python -m bot`, its own process) against the fake
Bot API (this process), with synthetic volunteers.

1. Telegram's limits enforced by the fake (30/s overall, 1/s per chat): messages per second
   achieved and how many 429 answers the bot provoked.
2. No limits, paid-broadcast mode: the bot's own ceiling in messages per second, and its
   peak memory (VmHWM of the bot process) at two audience sizes, to show it does not grow
   with the number of recipients.
3. `--claims`: the outbox claim (one batch of 7 rows, the free lane's) timed with 1,000,
   10,000, 100,000 and 200,000 rows waiting, and the longest transaction that queueing
   the broadcast held the writer for (in this process, on the real services).
4. `--latency N`: `/help` answered while the bot queues and sends an N-recipient paid
   broadcast: the longest and the median wait, from the update to the answer.
5. `--paced N`: paid-broadcast mode at its default pace (990/s) to N recipients, with the
   bot's peak memory and where the sender's time goes: CPU per message of its event loop
   and of SQLite's threads, the share of a core, its waits for a core, for a claim (time
   per batch) and for a request slot, and Bot API requests per message; when the rate
   misses 980/s, a line saying what the target asks against what was measured.

The bot runs as `python -m bench._counts` (the bot itself, with its threads' CPU clocks and
its sender timed: a few clock readings a message).

The bot and the fake server run in separate processes, so that neither one's event loop
carries the other (both share the machine's cores). Rates are measured at the server, from
the first to the last broadcast message it received.

    python -m bench.broadcast [--recipients 10000] [--skip-limited]
    python -m bench.broadcast --claims
    python -m bench.broadcast --latency 200000
    python -m bench.broadcast --paced 200000

`--write` puts the run's section into BENCHMARKS.md, the other sections kept.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._counts import KINDS, ask
from bot.clock import SystemClock
from bot.config import Settings
from bot.core import open_core
from bot.services.people import Actor
from bot.storage.broadcasts import Audience
from bot.storage.db import Database, available_migrations
from bot.storage.outbox import OutboxRepository
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.relais import telegram_env
from tools.seed import SeedVolunteer, add_volunteers

TEXT = "<b>Mobilisation</b> : rendez-vous samedi 10 h place de la République"
COMMAND = "python -m bench.broadcast --recipients {n}"
CAMPAIGN = 100_000
CLAIM_SIZES = (1_000, 10_000, 100_000, 200_000)
# Volunteers who ask for /help during the latency run (not in the broadcast's audience):
# each asks every HELPERS × ASK_EVERY_S seconds, above the one-message-a-second per chat.
HELPERS = 40
HELPER_BASE = 20_000_000
RECIPIENT_BASE = 10_000_000
ASK_EVERY_S = 0.1


async def _prepare(folder: Path, recipients: int, helpers: int = 0) -> Path:
    """A campaign of `recipients` volunteers (and `helpers` more), in `folder`. With
    RELAIS_BENCH_SEEDS=DIR, a campaign seeded once is kept there and copied for later runs
    (seeding 200,000 volunteers takes minutes on a busy machine)."""
    database = folder / "relais.sqlite3"
    seeds = os.environ.get("RELAIS_BENCH_SEEDS")
    if not seeds:
        await _seed(database, recipients, helpers)
        return database
    version = max(number for number, _sql in available_migrations())
    kept = Path(seeds) / f"broadcast-{recipients}-{helpers}-v{version}.sqlite3"
    if not kept.exists():
        kept.parent.mkdir(parents=True, exist_ok=True)
        partial = kept.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        await _seed(partial, recipients, helpers)
        partial.rename(kept)
    shutil.copyfile(kept, database)
    return database


async def _seed(database: Path, recipients: int, helpers: int) -> None:
    db = Database(database)
    await db.open()
    await db.migrate()
    now = SystemClock().now()
    people = [SeedVolunteer(str(RECIPIENT_BASE), quiet_hours="", skills="share")]
    await add_volunteers(db, people, now)
    await _copies(db, recipients - 1)
    others = (SeedVolunteer(str(HELPER_BASE + n), quiet_hours="") for n in range(helpers))
    await add_volunteers(db, others, now)
    await db.close()


async def _copies(db: Database, count: int) -> None:
    """`count` more volunteers like the first one (chats RECIPIENT_BASE + 1, + 2…), written
    by SQL in a few statements: seeding 200,000 one by one takes minutes on a busy machine."""
    columns = [
        row[1] for row in await db.fetch_all("PRAGMA table_info(volunteers)") if row[1] != "id"
    ]
    names = ", ".join(columns)
    first = int(await db.fetch_value("SELECT MIN(id) FROM volunteers"))
    for start in range(1, count + 1, 50_000):
        end = min(start + 50_000, count + 1)
        async with db.transaction() as tx:
            await tx.execute(
                "WITH RECURSIVE n(k) AS (SELECT :start UNION ALL SELECT k + 1 FROM n"
                f" WHERE k + 1 < :end) INSERT INTO volunteers (id, {names})"
                f" SELECT :first + k, {names} FROM n, volunteers WHERE id = :first",
                {"start": start, "end": end, "first": first},
            )
            await tx.execute(
                "INSERT INTO identities (channel, user_id, volunteer_id, chat_id,"
                " unreachable_at, created_at) SELECT i.channel,"
                " CAST(:base + v.id - :first AS TEXT), v.id,"
                " CAST(:base + v.id - :first AS TEXT), NULL, i.created_at"
                " FROM volunteers v, identities i WHERE i.volunteer_id = :first"
                " AND v.id >= :first + :start AND v.id < :first + :end",
                {"base": RECIPIENT_BASE, "first": first, "start": start, "end": end},
            )


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


async def _claims(pending: int) -> dict[str, Any]:
    """Queue a broadcast to `pending` volunteers with the real services, then time claims of
    one batch while they all wait."""
    with tempfile.TemporaryDirectory(prefix="relais-bench-") as tmp:
        database = await _prepare(Path(tmp), pending)
        settings = Settings.from_env(
            {"DATABASE_URL": f"sqlite:///{database}", "RELAIS_PSEUDONYM_KEY": "bench"}
        )
        clock = SystemClock()
        db = Database(database)
        async with open_core(settings, clock, db=db) as services:
            outbox = OutboxRepository(db)  # the sender's claim, timed on its own
            repo: Any = services.broadcasts._repo  # timed in place, inside the service
            # Each queueing step is one write transaction; before steps, `start` was one.
            name = "queue_step" if hasattr(repo, "queue_step") else "start"
            original = getattr(repo, name)
            held: list[float] = []

            async def timed(*args: Any, **kwargs: Any) -> Any:
                began = time.perf_counter()
                try:
                    return await original(*args, **kwargs)
                finally:
                    held.append(time.perf_counter() - began)

            setattr(repo, name, timed)
            await services.broadcasts.create(
                Actor.system(), language="fr", body=TEXT, audience=Audience()
            )
            began = time.perf_counter()
            await services.broadcasts.start_due()
            queued = time.perf_counter() - began
            claims = []
            for _ in range(30):
                began = time.perf_counter()
                await outbox.claim("telegram", clock.now(), 7)
                claims.append(time.perf_counter() - began)
        return {
            "pending": pending,
            "claim_ms_median": _ms(statistics.median(claims)),
            "claim_ms_max": _ms(max(claims)),
            "queueing_s": round(queued, 2),
            "longest_write_ms": _ms(max(held)),
            "transactions": len(held),
        }


async def run_claims(sizes: tuple[int, ...] = CLAIM_SIZES) -> dict[str, Any]:
    runs = [await _claims(size) for size in sizes]
    print(json.dumps({"runs": runs}), file=sys.stderr)
    results = []
    for run in runs:
        results += [
            {
                "metric": f"outbox claim (7 rows), {run['pending']} pending",
                "value": run["claim_ms_median"],
                "unit": "ms (median of 30)",
                "target": "flat from 1k to 200k",
                "met": None,
            },
            {
                "metric": f"longest write transaction queueing {run['pending']} recipients",
                "value": run["longest_write_ms"],
                "unit": "ms",
                "target": "< 50",
                "met": run["longest_write_ms"] < 50,
            },
        ]
    first, last = runs[0]["claim_ms_median"], runs[-1]["claim_ms_median"]
    results.append(
        {
            "metric": "claim at 200k over claim at 1k",
            "value": round(last / first, 2) if first else 0.0,
            "unit": "×",
            "target": "< 2 (flat)",
            "met": bool(first) and last / first < 2,
        }
    )
    return {
        "title": "Outbox claim and queueing",
        "command": "python -m bench.broadcast --claims",
        "results": results,
    }


def _recipients_so_far(database: Path) -> int:
    """How many recipients the bot has queued (read-only, beside the running bot)."""
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as conn:
            row = conn.execute("SELECT MAX(recipients) FROM broadcasts").fetchone()
            return int(row[0] or 0)
    except sqlite3.Error:
        return 0


async def _help_latency(recipients: int) -> dict[str, Any]:
    """/help asked every ASK_EVERY_S by one of HELPERS volunteers while the bot queues then
    sends a paid broadcast to `recipients` others; each answer's wait, from the update's
    arrival at the fake server to the answer's."""
    with tempfile.TemporaryDirectory(prefix="relais-bench-") as tmp:
        folder = Path(tmp)
        database = await _prepare(folder, recipients, helpers=HELPERS)
        api = FakeBotAPI()
        async with api:
            extra = {"RELAIS_PAID_BROADCAST": "yes"}
            env = {
                **os.environ,
                **telegram_env(api, database, **extra),
                "RELAIS_LOG_LEVEL": "WARNING",
            }
            log = (folder / "bot.log").open("ab")
            args = ["broadcast", "--text", TEXT, "--to", "skill:share", "--paid"]
            cli = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", *args, env=env, stdout=log, stderr=log
            )
            if await cli.wait() != 0:
                raise RuntimeError((folder / "bot.log").read_text())
            # The bot under a watch on its event loop: the longest time anything held it.
            probe = folder / "loop.json"
            bot = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench._loop_probe",
                env={**env, "RELAIS_LOOP_PROBE": str(probe)},
                stdout=log,
                stderr=log,
            )
            asked: list[tuple[int, float, int]] = []  # (chat, asked at, calls seen before)
            waits_queueing: list[float] = []
            waits_after: list[float] = []
            queued_at: float | None = None
            up_at = float("inf")
            # (when, how long) the benchmark's own loop, the fake server's, was held.
            server_blocks: list[tuple[float, float]] = []
            server: asyncio.Task[None] | None = None
            peak = 0
            try:
                # Up: the first answer to /help.
                api.send_text(HELPER_BASE, "/help")
                await api.wait_for(lambda c: c.chat_id == HELPER_BASE, timeout=600)
                up_at = time.monotonic()
                server = asyncio.create_task(_beats(server_blocks))
                # The first timed /help comes from another volunteer: HELPER_BASE was just
                # answered, and Telegram allows a chat one message a second, so its next
                # answer waits a second by design (the 1-second "stall" measured before).
                n = 1
                deadline = time.monotonic() + 600
                while time.monotonic() < deadline:
                    chat = HELPER_BASE + n % HELPERS
                    n += 1
                    asked.append((chat, time.monotonic(), len(api.sent)))
                    api.send_text(chat, "/help")
                    await asyncio.sleep(ASK_EVERY_S)
                    if n % 4 == 0:
                        peak = max(peak, _peak_rss_kib(bot.pid))
                        # On a thread: a read that waits must not stall the fake server,
                        # whose clock times the answers.
                        so_far = await asyncio.to_thread(_recipients_so_far, database)
                        if queued_at is None and so_far >= recipients:
                            queued_at = time.monotonic()
                        if queued_at is not None and time.monotonic() > queued_at + 5:
                            break
                # Every answer, however busy the machine (a missing one fails the run).
                answers: dict[int, Any] = {}
                patience = time.monotonic() + 120
                while len(answers) < len(asked) and time.monotonic() < patience:
                    await asyncio.sleep(1)
                    for index, (chat, _at, since) in enumerate(asked):
                        if index not in answers:
                            answers[index] = next(
                                (c for c in api.sent[since:] if c.chat_id == chat and c.ok), None
                            )
                            if answers[index] is None:
                                del answers[index]
                for index, (chat, at, _since) in enumerate(asked):
                    answer = answers.get(index)
                    if answer is None:
                        raise RuntimeError(f"/help from {chat} got no answer")
                    during = queued_at is None or at <= queued_at
                    (waits_queueing if during else waits_after).append(answer.timestamp - at)
            finally:
                if server is not None:
                    server.cancel()
                if bot.returncode is None:
                    bot.send_signal(signal.SIGTERM)
                    try:
                        await asyncio.wait_for(bot.wait(), 30)
                    except TimeoutError:
                        bot.kill()
                log.close()
            # Blocks of the event loop once the bot answered, until every row was queued.
            watched = json.loads(probe.read_text()) if probe.exists() else {}
            end = queued_at if queued_at is not None else float("inf")
            queueing = [b for b in watched.get("blocks", []) if up_at <= b["at"] <= end]
            worst = sorted(queueing, key=lambda b: -b["cpu_ms"])
            # Database round trips (and BEGIN/COMMIT) over 20 ms meanwhile, longest first.
            slow = [s for s in watched.get("statements", []) if up_at <= s["at"] <= end]
            slow.sort(key=lambda s: -s["ms"])
            held = [ms for at, ms in server_blocks if up_at <= at <= end]
        return {
            "recipients": recipients,
            "server_loop_block_ms_while_queueing": round(max(held, default=0.0), 1),
            "loop_block_cpu_ms_while_queueing": max((b["cpu_ms"] for b in queueing), default=0.0),
            "loop_block_ms_while_queueing": max((b["ms"] for b in queueing), default=0.0),
            "loop_blocks_over_20ms_while_queueing": len(queueing),
            "worst_loop_blocks": worst[:3],
            "slow_statements_while_queueing": slow[:8],
            "asked_while_queueing": len(waits_queueing),
            "max_ms_while_queueing": _ms(max(waits_queueing, default=0.0)),
            "median_ms_while_queueing": _ms(statistics.median(waits_queueing or [0.0])),
            "max_ms_after": _ms(max(waits_after, default=0.0)),
            "median_ms_after": _ms(statistics.median(waits_after or [0.0])),
            "peak_rss_mib": round(peak / 1024, 1),
        }


async def _beats(blocks: list[tuple[float, float]]) -> None:
    """Note every time this process's loop was held more than 20 ms."""
    while True:
        before = time.monotonic()
        await asyncio.sleep(0.005)
        now = time.monotonic()
        if now - before - 0.005 > 0.02:
            blocks.append((now, (now - before - 0.005) * 1000))


async def run_latency(recipients: int) -> dict[str, Any]:
    run = await _help_latency(recipients)
    print(json.dumps({"runs": [run]}), file=sys.stderr)
    return {
        "title": "/help during a broadcast",
        "command": f"python -m bench.broadcast --latency {recipients}",
        "results": [
            {
                "metric": f"/help max wait while {recipients} recipients are queued",
                "value": run["max_ms_while_queueing"],
                "unit": "ms",
                "target": "< 200",
                "met": run["max_ms_while_queueing"] < 200,
            },
            {
                "metric": "longest hold on the bot's event loop while they are queued",
                "value": run["loop_block_ms_while_queueing"],
                "unit": "ms",
                "target": "",
                "met": None,
            },
            {
                "metric": "most CPU the loop's thread spent in one hold (load-robust)",
                "value": run["loop_block_cpu_ms_while_queueing"],
                "unit": "ms",
                "target": "< 50",
                "met": run["loop_block_cpu_ms_while_queueing"] < 50,
            },
            {
                "metric": "longest hold on this benchmark's own loop (the fake server's) meanwhile",
                "value": run["server_loop_block_ms_while_queueing"],
                "unit": "ms",
                "target": "",
                "met": None,
            },
            {
                "metric": "/help median wait while they are queued",
                "value": run["median_ms_while_queueing"],
                "unit": "ms",
                "target": "",
                "met": None,
            },
            {
                "metric": "/help max wait while the broadcast is sent (5 s after queueing)",
                "value": run["max_ms_after"],
                "unit": "ms",
                "target": "< 200",
                "met": run["max_ms_after"] < 200,
            },
        ],
    }


async def run_paced(recipients: int) -> dict[str, Any]:
    paced = await _run_once(recipients, limited=False, paid=True)
    print(json.dumps({"runs": [paced]}), file=sys.stderr)
    target = 980
    results: list[dict[str, Any]] = [
        {
            "metric": f"paid-broadcast mode (990/s), {recipients} recipients",
            "value": paced["messages_per_s"],
            "unit": "msg/s",
            "target": f">= {target}",
            "met": paced["messages_per_s"] >= target,
        },
        {
            "metric": "bot CPU per message during that run",
            "value": paced.get("bot_cpu_ms_per_message"),
            "unit": "ms",
        },
    ]
    if "loop_cpu_ms_per_message" in paced:
        results += [
            {
                "metric": "CPU per message, event loop / database (SQLite's threads) / others",
                "value": " / ".join(f"{paced[f'{kind}_cpu_ms_per_message']:.3f}" for kind in KINDS),
                "unit": "ms",
                "target": f"loop <= {1000 / target:.3f}",
                "met": paced["loop_cpu_ms_per_message"] <= 1000 / target,
            },
            {
                "metric": "share of a core used, the bot / its event loop / the fake Bot API",
                "value": f"{paced['bot_cpu_share']:.2f} / {paced['loop_core_share']:.2f} / "
                f"{paced['server_cpu_share']:.2f}",
                "unit": "",
            },
            {
                "metric": "time the event loop waited for a core (machine busy)",
                "value": f"{paced['loop_waited_s']:.1f} s in {paced['window_s']:.0f} s "
                f"({paced['machine_busy']:.0%})",
                "unit": "",
            },
        ]
    if "claims" in paced:
        results += [
            {
                "metric": "outbox claim per batch, mean / longest (rows per batch)",
                "value": f"{paced['claim_ms_mean']} / {paced['claim_ms_max']} "
                f"({paced['rows_per_claim']})",
                "unit": "ms",
            },
            {
                "metric": "time with no row in hand (waiting for a claim), times",
                "value": f"{paced['dry_s']:.2f} s, {paced['dry_times']}",
                "unit": "",
            },
            {
                "metric": "time waiting for a request slot (all in flight), times",
                "value": f"{paced['slot_wait_s']:.2f} s, {paced['slot_waits']}",
                "unit": "",
            },
        ]
    results += [
        {
            "metric": "Bot API requests per message",
            "value": paced.get("requests_per_message"),
            "unit": "",
        },
        {
            "metric": f"bot peak memory (VmHWM), {recipients} recipients",
            "value": paced["peak_rss_mib"],
            "unit": "MiB",
        },
        {
            "metric": "bot's own memory at most (RssAnon: the mapped database file aside)",
            "value": paced["peak_anon_mib"],
            "unit": "MiB",
        },
    ]
    for row in results:
        row.setdefault("target", "")
        row.setdefault("met", None)
    return {
        "title": "Paid broadcast at its default pace",
        "command": f"python -m bench.broadcast --paced {recipients}",
        "results": results,
        "notes": (
            "The bot runs as `python -m bench._counts` (the bot, its threads' CPU clocks, "
            "run-queue waits and its sender's claims and waits timed: a few clock readings a "
            "message), against the fake Bot API in the benchmark's process. Rate: at the "
            "server, its first to its last broadcast message. Where the time goes: from just "
            f"after the first message to just after the last ({paced.get('window_messages')} "
            "messages). " + _gap(paced, target)
        ),
    }


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _anon_kib(pid: int) -> int:
    """The process's own memory now (RssAnon): its Python objects and SQLite's page cache,
    without the pages of the database file it maps (RssFile, counted in VmHWM)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _peak_rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        values = [int(v) / ticks for v in Path("/proc/stat").read_text().split()[1:11]]
    except (OSError, ValueError):
        return 0.0, 0.0
    return sum(values) - values[3] - values[4], sum(values)


async def _run_once(
    recipients: int, *, limited: bool, paid: bool, paid_rate: int = 990
) -> dict[str, Any]:
    """Queue one broadcast with the CLI, run the bot until every message arrived.

    The bot runs under bench/_counts.py, which times its sender: where its time goes is
    read before the first message and after the last, and divided by the messages between."""
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
            counted = folder / "counts.json"
            env |= {"RELAIS_COUNTS": str(counted), "RELAIS_COUNT_SENDER": "yes"}
            bot = await asyncio.create_subprocess_exec(
                sys.executable, *runner, "-m", "bench._counts", env=env, stdout=log, stderr=log
            )
            delivered: list[float] = []
            seen = 0

            def read_sent() -> int:
                nonlocal seen
                for call in api.sent[seen:]:
                    if call.ok and call.text == TEXT:
                        delivered.append(call.timestamp)
                seen = len(api.sent)
                return len(delivered)

            async def snapshot() -> dict[str, Any]:
                counts = await ask(bot, counted)
                return {
                    "at": time.monotonic(),
                    "counts": counts,
                    "cpu": _cpu_seconds(bot.pid),
                    "delivered": read_sent(),
                    "requests": sum(
                        n for method, n in api.stats.requests.items() if method != "getUpdates"
                    ),
                    "server_cpu": time.process_time(),
                    "machine": _machine_busy(),
                }

            deadline = time.monotonic() + 60 + recipients / (25 if limited else 200)
            peak = anon = 0
            before: dict[str, Any] | None = None
            after: dict[str, Any] | None = None
            try:
                while read_sent() < recipients:
                    if time.monotonic() > deadline or bot.returncode is not None:
                        raise RuntimeError(
                            f"only {len(delivered)} of {recipients} delivered\n"
                            + (folder / "bot.log").read_text()[-3000:]
                        )
                    peak = max(peak, _peak_rss_kib(bot.pid))
                    anon = max(anon, _anon_kib(bot.pid))
                    if delivered and before is None:
                        before = await snapshot()
                    await asyncio.sleep(0.2)
                after = await snapshot()
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
            figures: dict[str, Any] = {
                "recipients": recipients,
                "messages_per_s": round((recipients - 1) / span, 1) if span else 0.0,
                "span_s": round(span, 2),
                "pace": paid_rate if paid else None,
                "too_many_requests": api.stats.too_many_requests,
                "duplicates": recipients - len({c.chat_id for c in api.sent if c.text == TEXT}),
                "peak_rss_mib": round(peak / 1024, 1),
                "peak_anon_mib": round(anon / 1024, 1),
            }
            return figures | _where_time_goes(before or after, after)


def _where_time_goes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The sender's time between two snapshots, per message sent meanwhile: CPU of each
    kind of thread, its waits for a core, for rows (claims) and for a request slot."""
    messages = after["delivered"] - before["delivered"]
    wall = after["at"] - before["at"]
    if messages <= 0 or wall <= 0:
        return {}
    per_message = 1000 / messages  # seconds → ms per message
    cpu = after["cpu"] - before["cpu"]
    figures: dict[str, Any] = {
        "window_messages": messages,
        "window_s": round(wall, 2),
        # Load-robust: what one message costs the bot, whatever else runs meanwhile.
        "bot_cpu_ms_per_message": round(cpu * per_message, 3),
        "bot_cpu_share": round(cpu / wall, 2),
        "requests_per_message": round((after["requests"] - before["requests"]) / messages, 3),
        "server_cpu_share": round((after["server_cpu"] - before["server_cpu"]) / wall, 2),
    }
    busy, total = (a - b for a, b in zip(after["machine"], before["machine"], strict=True))
    figures["machine_busy"] = round(busy / total, 2) if total > 0 else None
    old, new = before["counts"], after["counts"]
    if "cpu" in old and "cpu" in new:
        for kind in KINDS:
            spent = new["cpu"][kind] - old["cpu"][kind]
            figures[f"{kind}_cpu_ms_per_message"] = round(spent * per_message, 3)
            figures[f"{kind}_waited_s"] = round(new["waited"][kind] - old["waited"][kind], 2)
        figures["loop_core_share"] = round((new["cpu"]["loop"] - old["cpu"]["loop"]) / wall, 2)
    if "sender" in old and "sender" in new:
        sent = {key: new["sender"][key] - old["sender"][key] for key in new["sender"]}
        claims = sent["claims"]
        figures |= {
            "claims": claims,
            "claim_ms_mean": round(sent["claim_s"] / claims * 1000, 2) if claims else None,
            # The longest over the whole run, the start's included.
            "claim_ms_max": round(new["sender"]["claim_max_s"] * 1000, 1),
            "rows_per_claim": round(sent["claimed_rows"] / claims, 1) if claims else None,
            "dry_times": sent["dry"],
            "dry_s": round(sent["dry_s"], 2),
            "slot_waits": sent["slot_waits"],
            "slot_wait_s": round(sent["slot_s"], 2),
        }
    return figures


def _gap(run: dict[str, Any], target: float) -> str:
    """The rate target against where the sender's time went, measured in the same run."""
    rate = run["messages_per_s"]
    name = f"Paid broadcast to {run['recipients']}"
    if "loop_cpu_ms_per_message" not in run:
        return f"{name}: {rate:g}/s (where the time goes was not measured)."
    loop, db = run["loop_cpu_ms_per_message"], run["sqlite_cpu_ms_per_message"]
    cpu = run["bot_cpu_ms_per_message"]
    spends = (
        f"the sender spends {cpu:.3f} ms of CPU per message (event loop {loop:.3f}, "
        f"database {db:.3f}, others {run['other_cpu_ms_per_message']:.3f}; "
        f"{run['bot_cpu_share']:.2f} of a core, the loop {run['loop_core_share']:.2f})"
    )
    if rate >= target:
        return f"{name}: {rate:g}/s meets {target:g}/s; {spends}."
    budget = 1000 / target
    text = (
        f"{name}: {target:g}/s needs at most {budget:.3f} ms per message of the event loop "
        f"(one thread); {spends}, and took {1000 / rate:.3f} ms of wall time per message "
        f"({rate:g}/s)"
    )
    pace = run.get("pace")
    behind = run["span_s"] - (run["recipients"] - 1) / pace if pace else None
    if behind is not None:
        text += f", {behind:.1f} s behind its {pace}/s pace over {run['span_s']:.0f} s"
    text += ". "
    if loop > budget:
        return text + f"The event loop's CPU alone allows only {1000 / loop:.0f}/s."
    waits = {
        "its event loop waited for a core": run["loop_waited_s"],
        "it had no row in hand (waiting for a claim)": run.get("dry_s", 0.0),
        "all its requests were in flight (waiting for the Bot API)": run.get("slot_wait_s", 0.0),
    }
    text += (
        f"CPU allows {1000 / loop:.0f}/s on the loop; the waits measured over "
        f"{run['window_s']:.0f} s: its loop waited {run['loop_waited_s']:.1f} s for a core "
        f"(machine {run['machine_busy']:.0%} busy, the fake Bot API "
        f"{run['server_cpu_share']:.2f} of a core), it had no row in hand "
        f"{run.get('dry_times', 0)} times for {run.get('dry_s', 0.0):.1f} s (claims "
        f"{run.get('claim_ms_mean')} ms per batch of {run.get('rows_per_claim')} rows, "
        f"longest {run.get('claim_ms_max')} ms), and waited {run.get('slot_wait_s', 0.0):.1f} s "
        f"for a request slot; {run['requests_per_message']:.2f} Bot API requests per message."
    )
    cause, lost = max(waits.items(), key=lambda item: item[1])
    if lost > 0:
        text += f" The largest: {cause}, {lost:.1f} s."
    return text


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
    parser.add_argument("--claims", action="store_true", help="claim time per queue size")
    parser.add_argument("--sizes", help="queue sizes for --claims, e.g. 1000,10000")
    parser.add_argument("--latency", type=int, help="/help waits during an N broadcast")
    parser.add_argument("--paced", type=int, help="paid mode at 990/s to N recipients")
    parser.add_argument(
        "--write", action="store_true", help="also write this section into BENCHMARKS.md"
    )
    args = parser.parse_args()
    began = time.monotonic()
    if args.claims:
        sizes = tuple(int(n) for n in args.sizes.split(",")) if args.sizes else CLAIM_SIZES
        figures = asyncio.run(run_claims(sizes))
    elif args.latency:
        figures = asyncio.run(run_latency(args.latency))
    elif args.paced:
        figures = asyncio.run(run_paced(args.paced))
    else:
        figures = asyncio.run(run_async(args.recipients, args.skip_limited, args.skip_paid))
    figures["seconds"] = round(time.monotonic() - began, 1)
    if args.write:
        _write_section(figures)
    print(json.dumps(figures))


def _write_section(figures: dict[str, Any]) -> None:
    """Replace this run's section of BENCHMARKS.md, keeping the others (as `python -m bench
    NAME` does for a script's default run)."""
    from bench.__main__ import OUTPUT, kept_sections, render

    title = str(figures["title"])
    old = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
    OUTPUT.write_text(render({"broadcast": figures}, kept_sections(old, {title})), encoding="utf-8")


if __name__ == "__main__":
    main()
