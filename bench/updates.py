"""Update handling: Relais on a seeded campaign beside three echo bots, in one run.

Every bot runs in its own process, as deployed, polling the same kind of fake Bot API from
the same driver. Relais gets a seeded campaign (`python -m bot seed`: 2,000 volunteers,
1,000 open tasks) whose volunteers alternate `/task` (a task card with buttons) and a tap
on the card's Later button: the real queue, the real card, the real tap. The anchors echo
text: python-telegram-bot answering one update after the other on its default httpx
backend, the same on Relais' aiohttp backend, and aiogram 3 (installed by this benchmark
in its own environment, bench/.venv-aiogram).

Relais runs three times: as deployed (its answers paced under Telegram's 30 messages a
second, which bounds any flow that answers with a message), then with that pace lifted
(RELAIS_TELEGRAM_RATE, as against a local Bot API server) for /help and for /task + tap,
which shows what handling an update costs.

What is counted is updates handled: an update is handled when the bot's first answer to
it arrives (a message for a text, the callback answer for a tap). Figures: a burst (all
at once: updates handled per second) and a steady offered rate (latency from the update
being queued to its first answer, p50 and p99). During the steady run the updates waiting
(offered, not yet answered) are counted every SAMPLE_S: with the burst's rate, the flow's
most in the same run, they say why a p99 is what it is (a queue growing all along when more
is offered than the flow takes; otherwise the slowest updates' wait before the bot fetched
them and their time in the bot).

For each Relais run it also says where the work goes, per update handled: the CPU of the
event loop's thread, of SQLite's threads and of the others (bench/_counts.py), the hops to
SQLite's threads, the SQL statements and write transactions, and the requests to the Bot
API. Hops and statements are counted in a second, smaller burst (counting costs a little);
the rates and CPU figures come from the first, uncounted.

`python -m bench.updates --only relais-help,relais-lifted` measures only those runs;
`--users 500 --burst 1000 --steady-seconds 3` a smaller campaign (a quick look, not the
published figures).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict, deque
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import _counts as counts  # noqa: E402
from tests.fakes.bot_api import FakeBotAPI  # noqa: E402
from tests.fakes.relais import telegram_env  # noqa: E402

USERS = 2000
TASKS = 1000
FIRST_USER = 10_000
STEADY_RATE = 300
STEADY_SECONDS = 10
# The steady run notes how many updates wait this often.
SAMPLE_S = 0.25
BURST = 3000
AIOGRAM = ROOT / "bench" / ".venv-aiogram"
KINDS = ("ptb-httpx", "ptb-aiohttp", "aiogram", "relais", "relais-help", "relais-lifted")
LABELS = {
    "ptb-httpx": "python-telegram-bot echo, sequential, httpx",
    "ptb-aiohttp": "python-telegram-bot echo, sequential, Relais' aiohttp backend",
    "aiogram": "aiogram 3 echo",
    "relais": "Relais: /task, then a tap on the card (seeded campaign)",
    "relais-help": "Relais: /help (seeded campaign), pace lifted",
    "relais-lifted": "Relais: /task, then a tap on the card, pace lifted",
}
# Relais' Telegram lane without its pace (Telegram itself would refuse this much).
LIFTED = "100000"


def _aiogram_python() -> Path | None:
    """aiogram's own environment, made on first use; None where it cannot be installed."""
    python = AIOGRAM / "bin" / "python"
    try:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(AIOGRAM)], check=True)
        probe = subprocess.run([str(python), "-c", "import aiogram"], capture_output=True)
        if probe.returncode != 0:
            subprocess.run(
                [str(python), "-m", "pip", "install", "-q", "aiogram>=3.13,<4"], check=True
            )
    except (OSError, subprocess.CalledProcessError):
        return None
    return python


def _seed(database: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "TELEGRAM_BOT_TOKEN": ""}
    size = ["--volunteers", str(USERS), "--tasks", str(TASKS), "--id-base", str(FIRST_USER)]
    for verb in (["migrate"], ["seed", *size]):  # seed needs an existing database
        subprocess.run(
            [sys.executable, "-m", "bot", *verb],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )


async def _start(kind: str, api: FakeBotAPI, workdir: Path) -> asyncio.subprocess.Process:
    env = dict(os.environ)
    if kind.startswith("relais"):
        database = workdir / "bench.sqlite3"
        _seed(database)
        args = [sys.executable, "-m", "bench._counts"]
        env |= {**telegram_env(api, database), "RELAIS_LOG_LEVEL": "WARNING"}
        env["RELAIS_COUNTS"] = str(workdir / "counts.json")
        if kind != "relais":
            env["RELAIS_TELEGRAM_RATE"] = LIFTED
    elif kind == "aiogram":
        python = _aiogram_python()
        assert python is not None
        args = [str(python), str(ROOT / "bench" / "_echo_aiogram.py"), api.base_url]
    else:
        backend = kind.split("-", 1)[1]
        args = [sys.executable, str(ROOT / "bench" / "_echo_bot.py"), api.base_url, backend]
    process = await asyncio.create_subprocess_exec(
        *args,
        cwd=ROOT,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=(workdir / f"{kind}.log").open("wb"),
    )
    await api.wait_for_requests("getUpdates", 1)
    return process


class People:
    """Simulated people, and which of their updates have had a first answer."""

    def __init__(self, kind: str, api: FakeBotAPI) -> None:
        self.kind = kind
        self.api = api
        self.asked: set[int] = set()
        # chat -> (queued at, update id); callback query id -> (queued at, update id)
        self.texts: dict[int, deque[tuple[float, int]]] = defaultdict(deque)
        self.taps: dict[str, tuple[float, int]] = {}
        self.seen = 0  # how many of api.sent were read
        self.latencies: list[float] = []
        # Of each latency, the part before the bot fetched the update (getUpdates) and the
        # part after, in the bot (ms).
        self.splits: list[tuple[float, float]] = []
        self.last_answer = 0.0
        self.fetched_at: dict[int, float] = {}  # update id -> first handed to the bot
        self._last_id = 0
        queue, take = api.enqueue_raw, api._take

        def enqueue(update: dict[str, Any]) -> int:
            self._last_id = queue(update)
            return self._last_id

        def taken(limit: int) -> list[dict[str, Any]]:
            # The fake's getUpdates hands these to the bot: the end of their wait at
            # Telegram (an update stays queued, and may be handed again, until confirmed).
            updates = take(limit)
            now = time.monotonic()
            for update in updates:
                self.fetched_at.setdefault(int(update["update_id"]), now)
            return updates

        api.enqueue_raw = enqueue  # type: ignore[method-assign]
        api._take = taken  # type: ignore[method-assign]

    def act(self, user: int) -> None:
        now = time.monotonic()
        if not self.kind.startswith("relais"):
            self.texts[user].append((now, self.api.send_text(user, "echo", language_code="en")))
            return
        if self.kind == "relais-help":
            self.texts[user].append((now, self.api.send_text(user, "/help", language_code="en")))
            return
        if user in self.asked and (later := self._later_button(user)):
            self.asked.discard(user)
            query = self.api.tap(user, later, message_id=self._card(user), language_code="en")
            self.taps[query] = (now, self._last_id)
            return
        self.asked.add(user)
        self.texts[user].append((now, self.api.send_text(user, "/task", language_code="en")))

    def cards(self) -> int:
        """People whose last message from the bot is a task card with a Later button."""
        return sum(1 for user in range(FIRST_USER, FIRST_USER + USERS) if self._later_button(user))

    def read_answers(self) -> int:
        """Match new calls to the updates they answer; the number handled so far."""
        for call in self.api.sent[self.seen :]:
            if call.method == "answerCallbackQuery":
                queued = self.taps.pop(str(call.params.get("callback_query_id")), None)
            elif call.method == "sendMessage" and call.chat_id is not None:
                pending = self.texts.get(int(call.chat_id))
                queued = pending.popleft() if pending else None
            else:
                continue
            if queued is not None:
                at, update_id = queued
                self.latencies.append((call.timestamp - at) * 1000)
                fetched = self.fetched_at.get(update_id, at)
                self.splits.append(((fetched - at) * 1000, (call.timestamp - fetched) * 1000))
                self.last_answer = max(self.last_answer, call.timestamp)
        self.seen = len(self.api.sent)
        return len(self.latencies)

    def _card(self, user: int) -> int:
        # The newest message to the chat, whose Later button `act` just found: looked up,
        # not searched for among every call made so far (a scan that grew with the run and
        # took the driver, which also serves the fake Bot API, milliseconds a tap).
        message = self.api.last_message(user)
        return int(message["message_id"]) if message else 1

    def _later_button(self, user: int) -> str:
        try:
            rows = self.api.last_keyboard(user)
        except (AssertionError, LookupError):
            return ""
        for row in rows:
            for _label, data in row:
                if data and ":later:" in data:
                    return str(data)
        return ""


async def _until_handled(people: People, count: int, limit: float) -> int:
    deadline = time.monotonic() + limit
    while people.read_answers() < count and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return people.read_answers()


async def _burst(people: People) -> dict[str, float]:
    people.latencies.clear()
    start = time.monotonic()
    for n in range(BURST):
        people.act(FIRST_USER + n % USERS)
    handled = await _until_handled(people, BURST, 180)
    return {"handled": handled, "rate": round(handled / (people.last_answer - start), 1)}


async def _steady(people: People) -> dict[str, Any]:
    """STEADY_RATE updates a second for STEADY_SECONDS: latencies, and how many updates
    were waiting (offered, not yet answered) every SAMPLE_S while they were offered."""
    people.latencies.clear()
    people.splits.clear()
    people.read_answers()
    total = STEADY_RATE * STEADY_SECONDS
    samples: list[tuple[float, int, int]] = []  # (seconds in, offered, answered)
    each_s: list[int] = []  # updates waiting at the end of each second
    start = time.monotonic()
    for n in range(total):
        # Yield even when behind: the fake Bot API runs on this loop, and a driver that
        # catches up without yielding holds back the bot's getUpdates and answers, and
        # counts its own backlog as the bot's latency.
        await asyncio.sleep(max(0.0, start + n / STEADY_RATE - time.monotonic()))
        now = time.monotonic() - start
        if not samples or now >= samples[-1][0] + SAMPLE_S:
            samples.append((now, n, people.read_answers()))
            if now >= len(each_s) + 1:
                each_s.append(n - samples[-1][2])
        people.act(FIRST_USER + (n * 7) % USERS)
    offered_for = time.monotonic() - start
    samples.append((offered_for, total, people.read_answers()))
    await _until_handled(people, total, 120)
    order = sorted(range(len(people.latencies)), key=people.latencies.__getitem__)
    latencies = [people.latencies[i] for i in order]
    p99_at = max(0, int(len(latencies) * 0.99) - 1)
    # The split of the slowest 1 %: before the bot fetched them, and in the bot.
    slowest = [people.splits[i] for i in order[p99_at:]] or [(0.0, 0.0)]
    return {
        "handled": len(latencies),
        "p50": round(statistics.median(latencies), 1),
        "p99": round(latencies[p99_at], 1),
        "offered_rate": round(total / offered_for, 1),
        "answered_rate": round(_slope([(t, a) for t, _o, a in samples]), 1),
        "backlog_growth": round(_slope([(t, o - a) for t, o, a in samples]), 1),
        "backlog_end": samples[-1][1] - samples[-1][2],
        "backlog_each_s": [*each_s, samples[-1][1] - samples[-1][2]][:STEADY_SECONDS],
        "slowest_before_fetch_ms": round(statistics.mean(w for w, _b in slowest), 1),
        "slowest_in_bot_ms": round(statistics.mean(b for _w, b in slowest), 1),
    }


def _slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope (per second) of (seconds, value) points."""
    if len(points) < 2:
        return 0.0
    mean_t = statistics.mean(t for t, _v in points)
    mean_v = statistics.mean(v for _t, v in points)
    spread = sum((t - mean_t) ** 2 for t, _v in points)
    if not spread:
        return 0.0
    return sum((t - mean_t) * (v - mean_v) for t, v in points) / spread


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc (Linux)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _settled_counts(
    process: asyncio.subprocess.Process, workdir: Path, kind: str = "relais"
) -> dict[str, Any]:
    """Ask the Relais process for its counts (bench/_counts.py), and wait for them."""
    if not kind.startswith("relais"):
        return {}
    return await counts.ask(process, workdir / "counts.json")


def _bot_api_calls(api: FakeBotAPI) -> int:
    return sum(n for method, n in api.stats.requests.items() if method != "getUpdates")


async def _measure(kind: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        async with FakeBotAPI(strict=False) as api:
            process = await _start(kind, api, workdir)
            people = People(kind, api)
            where: dict[str, float] = {}
            try:
                for n in range(USERS):  # everyone's first /task (or echo): the warm-up
                    people.act(FIRST_USER + n)
                await _until_handled(people, USERS, 300)
                cards = people.cards() if kind in ("relais", "relais-lifted") else USERS
                if cards < USERS * 0.9:
                    raise RuntimeError(f"{kind}: only {cards} of {USERS} got a task card")
                await asyncio.sleep(11)  # let Relais' per-person flood window pass
                before = await _settled_counts(process, workdir, kind)
                used = _cpu_seconds(process.pid)
                calls, polls = _bot_api_calls(api), api.stats.requests["getUpdates"]
                burst = await _burst(people)
                await asyncio.sleep(1)  # the edits that follow the last answers
                # The bot's CPU per update handled: it holds on a loaded machine, where
                # rates and latencies do not.
                burst["cpu_ms"] = round((_cpu_seconds(process.pid) - used) * 1000 / BURST, 2)
                after = await _settled_counts(process, workdir, kind)
                where["requests"] = (_bot_api_calls(api) - calls) / BURST
                where["polls"] = (api.stats.requests["getUpdates"] - polls) / BURST
                if before and after:
                    for thread in ("loop", "sqlite"):
                        spent = after["cpu"][thread] - before["cpu"][thread]
                        where[f"cpu_{thread}_ms"] = spent * 1000 / BURST
                    # The rest of the process: aiohttp's resolver, the logging thread…
                    where["cpu_other_ms"] = max(
                        0.0, burst["cpu_ms"] - where["cpu_loop_ms"] - where["cpu_sqlite_ms"]
                    )
                await asyncio.sleep(10)
                steady = await _steady(people)
                if kind.startswith("relais"):
                    await asyncio.sleep(11)
                    where |= await _counted_burst(people, process, workdir)
            finally:
                process.send_signal(signal.SIGTERM)
                await asyncio.wait_for(process.wait(), 30)
    return {"cards": cards, "burst": burst, "steady": steady, "where": where}


async def _counted_burst(
    people: People, process: asyncio.subprocess.Process, workdir: Path
) -> dict[str, float]:
    """Hops to SQLite, statements and write transactions per update, in a burst of their own
    (counting them costs the bot a little: the first burst's figures are without it)."""
    process.send_signal(signal.SIGUSR1)
    before = await _settled_counts(process, workdir)
    size = min(BURST, USERS)
    people.latencies.clear()
    for n in range(size):
        people.act(FIRST_USER + n)
    handled = await _until_handled(people, size, 180)
    await asyncio.sleep(1)
    after = await _settled_counts(process, workdir)
    if not before or not after or not handled:
        return {}
    return {
        name: (after[name] - before[name]) / handled for name in ("hops", "statements", "begins")
    }


async def main(kinds: tuple[str, ...] = KINDS) -> dict[str, object]:
    figures: dict[str, dict[str, Any]] = {}
    missing = []
    for kind in kinds:
        if kind == "aiogram" and _aiogram_python() is None:
            missing.append("aiogram (could not be installed here)")
            continue
        figures[kind] = await _measure(kind)
    results: list[dict[str, object]] = []
    for kind, f in figures.items():
        results.append(
            {"metric": f"{LABELS[kind]}: burst", "value": f["burst"]["rate"], "unit": "updates/s"}
        )
        results.append(
            {
                "metric": f"{LABELS[kind]}: the bot's CPU per update in the burst",
                "value": f["burst"]["cpu_ms"],
                "unit": "ms",
            }
        )
        results.append(
            {
                "metric": f"{LABELS[kind]}: at {STEADY_RATE}/s offered, p50 / p99",
                "value": f"{f['steady']['p50']} / {f['steady']['p99']}",
                "unit": "ms",
            }
        )
        steady = f["steady"]
        results.append(
            {
                "metric": f"{LABELS[kind]}: at {STEADY_RATE}/s offered, updates waiting at "
                "each second (offered, not yet answered)",
                "value": ", ".join(map(str, steady["backlog_each_s"]))
                + f" (growth {steady['backlog_growth']:g}/s; offered {steady['offered_rate']:g}/s,"
                f" answered {steady['answered_rate']:g}/s)",
                "unit": "",
            }
        )
    for kind, f in figures.items():
        where = f.get("where", {})
        if "cpu_loop_ms" in where:
            results.append(
                {
                    "metric": f"{LABELS[kind]}: CPU per update, event loop / SQLite / others",
                    "value": " / ".join(
                        f"{where[f'cpu_{thread}_ms']:.2f}" for thread in ("loop", "sqlite", "other")
                    ),
                    "unit": "ms",
                }
            )
        if "hops" in where:
            results.append(
                {
                    "metric": f"{LABELS[kind]}: per update, hops to SQLite / SQL statements / "
                    "write transactions",
                    "value": f"{where['hops']:.1f} / {where['statements']:.1f} / "
                    f"{where['begins']:.2f}",
                    "unit": "",
                }
            )
        if "requests" in where:
            results.append(
                {
                    "metric": f"{LABELS[kind]}: Bot API requests per update (getUpdates apart)",
                    "value": f"{where['requests']:.2f} (+ {where['polls']:.2f})",
                    "unit": "",
                }
            )
    targets = (
        ("relais", "Relais: /task + tap, burst", "burst", "rate", ">= 1000"),
        ("relais", f"Relais: p99 at {STEADY_RATE}/s offered", "steady", "p99", "< 100"),
        ("relais-help", "Relais: /help, pace lifted, burst", "burst", "rate", ">= 1500"),
        ("relais-lifted", "Relais: /task + tap, pace lifted, burst", "burst", "rate", ">= 1000"),
        (
            "relais-lifted",
            f"Relais: /task + tap, pace lifted, p99 at {STEADY_RATE}/s offered",
            "steady",
            "p99",
            "< 100",
        ),
    )
    for kind, metric, part, key, target in targets:
        if kind not in figures:
            continue
        value = figures[kind][part][key]
        bound = float(target.split()[1])
        results.append(
            {
                "metric": metric,
                "value": value,
                "unit": "updates/s" if key == "rate" else "ms",
                "target": target,
                "met": value >= bound if target.startswith(">=") else value < bound,
            }
        )
    gaps = " ".join(
        _gap(kind, figures[kind], float(target.split()[1]))
        for kind, _metric, _part, key, target in targets
        if kind in figures and key == "rate" and kind != "relais"
    )
    causes = " ".join(
        _latency_cause(kind, figures[kind], float(target.split()[1]))
        for kind, _metric, _part, key, target in targets
        if kind in figures and key == "p99"
    )
    cards = figures.get("relais", figures.get("relais-lifted", {})).get("cards", "?")
    return {
        "title": "Update handling",
        "command": "python -m bench.updates"
        + ("" if kinds == KINDS else f" --only {','.join(kinds)}")
        + ("" if USERS == 2000 else f" --users {USERS}")
        + ("" if BURST == 3000 else f" --burst {BURST}")
        + ("" if STEADY_SECONDS == 10 else f" --steady-seconds {STEADY_SECONDS}"),
        "results": results,
        "notes": f"{USERS} seeded volunteers, {TASKS} open tasks; Relais' people alternate "
        f"/task and a tap on Later ({cards} of {USERS} were shown a card in the "
        f"warm-up). Burst: {BURST} updates at once; steady: {STEADY_RATE}/s for "
        f"{STEADY_SECONDS} s. Counted: updates handled (first answer: a message for a text, "
        "the callback answer for a tap), at the fake Bot API, which runs in the driver's "
        "process for every bot alike. Relais sends its answers through its paced lane "
        "(28.8 messages/s overall, one a second per chat and in order, under Telegram's "
        "limits), which bounds this flow; the echo bots answer unpaced. 'Pace lifted': "
        f"RELAIS_TELEGRAM_RATE={LIFTED}, one a second per chat kept. CPU per update: the "
        "bot process's user + system time over the burst (from /proc) ÷ updates in it."
        + " Where the work goes: each thread's CPU over the burst (bench/_counts.py, from "
        "the threads' CPU clocks) ÷ updates; hops to SQLite, statements and write "
        "transactions counted in a second burst of their own; requests at the fake Bot API."
        + f" Updates waiting: offered minus answered, counted every {SAMPLE_S} s of the steady "
        "run (growth: its least-squares slope); before fetch: from the update's queueing at "
        "the fake Bot API to the getUpdates that first handed it to the bot."
        + (f" {gaps}" if gaps else "")
        + (f" {causes}" if causes else "")
        + (f" Not measured: {', '.join(missing)}." if missing else ""),
    }


def _gap(kind: str, figures: dict[str, Any], target: float) -> str:
    """What a rate target asks of each update, and where the measured update spends it."""
    rate, cpu = figures["burst"]["rate"], figures["burst"]["cpu_ms"]
    where = figures.get("where", {})
    name = {"relais-help": "/help", "relais-lifted": "/task + tap"}.get(kind, kind)
    if rate >= target:
        return f"{name}: {rate:g}/s meets {target:g}/s."
    text = (
        f"{name}: {target:g}/s needs at most {1000 / target:.2f} ms of the event loop per "
        f"update; Relais spends {cpu:.2f} ms of CPU"
    )
    if "cpu_loop_ms" in where:
        text += (
            f", {where['cpu_loop_ms']:.2f} on the event loop's thread and "
            f"{where['cpu_sqlite_ms']:.2f} on SQLite's"
        )
    if "hops" in where:
        text += (
            f", in {where['hops']:.1f} hops to SQLite ({where['statements']:.1f} statements, "
            f"{where['begins']:.2f} write transactions)"
        )
    if "requests" in where:
        text += f" and {where['requests']:.2f} Bot API requests"
    return text + "."


def _latency_cause(kind: str, figures: dict[str, Any], target_ms: float) -> str:
    """Why the p99 at the offered rate is what it is, from the same run: the flow's rate
    (its burst) against the rate offered, how the updates waiting grew, and where the
    slowest waited."""
    steady, burst = figures["steady"], figures["burst"]
    name = {"relais": "/task + tap", "relais-lifted": "/task + tap, pace lifted"}.get(kind, kind)
    p99, offered, capacity = steady["p99"], steady["offered_rate"], burst["rate"]
    head = f"{name}: p99 {p99:g} ms at {offered:g}/s offered"
    if p99 < target_ms:
        return f"{head} meets {target_ms:g} ms."
    growth, waiting = steady["backlog_growth"], steady["backlog_end"]
    split = (
        f"the slowest 1 % waited {steady['slowest_before_fetch_ms']:g} ms before the bot "
        f"fetched them and {steady['slowest_in_bot_ms']:g} ms in the bot, from fetch to "
        "first answer"
    )
    grew = (
        f"the updates waiting grew by {growth:g}/s for the whole {STEADY_SECONDS} s, to "
        f"{waiting} when the offering stopped ({waiting / capacity:.1f} s of work at "
        f"{capacity:g}/s), so the p99 is queueing time ({split})."
    )
    if offered > capacity:
        # More offered than the flow can take: a queue that grows as long as the offering.
        return (
            f"{head}, above the {capacity:g}/s this flow sustains (its burst in this run; "
            f"{steady['answered_rate']:g}/s answered while offered): {grew}"
        )
    if growth > offered * 0.02:
        return (
            f"{head}, below the {capacity:g}/s of its burst in this run, yet only "
            f"{steady['answered_rate']:g}/s answered while offered: {grew}"
        )
    return (
        f"{head}, below the {capacity:g}/s this flow sustains (its burst in this run), the "
        f"updates waiting flat ({growth:g}/s, {waiting} at the end): {split}."
    )


def run(kinds: tuple[str, ...] = KINDS) -> dict[str, object]:
    return asyncio.run(main(kinds))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--only", default="", help="comma-separated runs: " + ", ".join(KINDS))
    parser.add_argument("--users", type=int, default=USERS, help="seeded volunteers")
    parser.add_argument("--burst", type=int, default=BURST, help="updates in the burst")
    parser.add_argument("--steady-seconds", type=int, default=STEADY_SECONDS)
    options = parser.parse_args()
    USERS, BURST, STEADY_SECONDS = options.users, options.burst, options.steady_seconds
    only = tuple(k for k in options.only.split(",") if k)
    unknown = [k for k in only if k not in KINDS]
    if unknown:
        parser.error(f"unknown runs: {', '.join(unknown)}")
    print(json.dumps(run(only or KINDS)))
