"""Update handling: Relais against a bare PTB echo bot, both polling the same fake Bot API.

Each bot runs in its own process, as deployed. For Relais, 2,000 synthetic volunteers
(`python -m bot seed`, 1,000 open tasks) alternate between asking `/task` and tapping the
card's Later button, so every update runs the real queue; the echo bot echoes text.
Updates arrive at a steady 200/s (latency from the update being queued to the reply
arriving), then in one burst (sustained updates per second).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from collections import defaultdict, deque
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.bot_api import FakeBotAPI  # noqa: E402
from tests.fakes.relais import telegram_env  # noqa: E402

USERS = 2000
FIRST_USER = 10_000
STEADY_RATE = 200
STEADY_SECONDS = 10
BURST = 3000


async def _start(kind: str, api: FakeBotAPI, workdir: Path) -> asyncio.subprocess.Process:
    if kind == "echo":
        args = [sys.executable, str(ROOT / "bench" / "_echo_bot.py"), api.base_url]
        env = dict(os.environ)
    else:
        args = [sys.executable, "-m", "bot"]
        env = {
            **os.environ,
            **telegram_env(api, workdir / "bench.sqlite3"),
            "RELAIS_LOG_LEVEL": "WARNING",
        }
    process = await asyncio.create_subprocess_exec(
        *args,
        cwd=ROOT,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=(workdir / f"{kind}.log").open("wb"),
    )
    await api.wait_for(
        lambda call: call.method.lower() in ("getupdates", "deletewebhook"), timeout=30
    )
    return process


REPLIES = ("sendMessage", "editMessageText")


def _latencies(api: FakeBotAPI, queued: dict[int, deque[float]], since: int) -> list[float]:
    """Per chat, the first reply after each update, in order (Relais answers a chat in order)."""
    out = []
    for call in api.sent[since:]:
        if call.method not in REPLIES or call.chat_id is None:
            continue
        times = queued.get(int(call.chat_id))
        if times:
            out.append((call.timestamp - times.popleft()) * 1000)
    return out


def _replies(api: FakeBotAPI, since: int) -> int:
    return sum(1 for c in api.sent[since:] if c.method in REPLIES)


class Volunteers:
    """Simulated people: Relais volunteers alternate /task and a tap on Later."""

    def __init__(self, kind: str, api: FakeBotAPI) -> None:
        self.kind = kind
        self.api = api
        self.asked: set[int] = set()

    def act(self, user: int) -> None:
        if self.kind == "echo":
            self.api.send_text(user, "echo", language_code="en")
            return
        if user in self.asked:
            later = self._later_button(user)
            if later:
                self.asked.discard(user)
                self.api.tap(user, later, message_id=1, language_code="en")
                return
        self.asked.add(user)
        self.api.send_text(user, "/task", language_code="en")

    def _later_button(self, user: int) -> str:
        try:
            rows = self.api.last_keyboard(user)
        except (AssertionError, LookupError):
            return ""
        for row in rows:
            for _label, data in row:
                if data and ":later:" in data:
                    return data
        return ""


async def _steady(people: Volunteers, api: FakeBotAPI) -> dict[str, float]:
    queued: dict[int, deque[float]] = defaultdict(deque)
    since = len(api.sent)
    total = STEADY_RATE * STEADY_SECONDS
    start = time.monotonic()
    for n in range(total):
        target = start + n / STEADY_RATE
        if (delay := target - time.monotonic()) > 0:
            await asyncio.sleep(delay)
        user = FIRST_USER + n % USERS
        queued[user].append(time.monotonic())
        people.act(user)
    deadline = time.monotonic() + 60
    while _replies(api, since) < total and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    latencies = sorted(_latencies(api, queued, since))
    return {
        "steady_rate": STEADY_RATE,
        "answered": len(latencies),
        "p50_ms": round(statistics.median(latencies), 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 1),
    }


async def _burst(people: Volunteers, api: FakeBotAPI) -> float:
    since = len(api.sent)
    start = time.monotonic()
    for n in range(BURST):
        people.act(FIRST_USER + n % USERS)
    deadline = start + 120
    while _replies(api, since) < BURST and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    last = max(c.timestamp for c in api.sent[since:] if c.method in REPLIES)
    return round(_replies(api, since) / (last - start), 1)


async def _measure(kind: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeBotAPI(strict=False) as api:
            process = await _start(kind, api, Path(tmp))
            people = Volunteers(kind, api)
            try:
                # Warm up: every volunteer's first /task (and the echo bot's first echo).
                for n in range(USERS):
                    people.act(FIRST_USER + n)
                while _replies(api, 0) < USERS:
                    await asyncio.sleep(0.1)
                await asyncio.sleep(11)  # let the flood gate's window pass
                steady = await _steady(people, api)
                await asyncio.sleep(11)
                burst = await _burst(people, api)
            finally:
                process.send_signal(signal.SIGTERM)
                await asyncio.wait_for(process.wait(), 30)
    return {**steady, "burst_updates_per_s": burst}


async def main() -> dict[str, object]:
    echo = await _measure("echo")
    relais = await _measure("relais")
    ratio = relais["burst_updates_per_s"] / echo["burst_updates_per_s"]
    return {
        "title": "Update handling",
        "command": "python -m bench.updates",
        "results": [
            {
                "metric": "echo bot: burst",
                "value": echo["burst_updates_per_s"],
                "unit": "updates/s",
            },
            {
                "metric": "Relais: burst",
                "value": relais["burst_updates_per_s"],
                "unit": "updates/s",
                "target": ">= half the echo bot's",
                "met": ratio >= 0.5,
            },
            {
                "metric": "echo bot at 200/s: p50 / p99",
                "value": f"{echo['p50_ms']} / {echo['p99_ms']}",
                "unit": "ms",
            },
            {"metric": "Relais at 200/s: p50", "value": relais["p50_ms"], "unit": "ms"},
            {
                "metric": "Relais at 200/s: p99",
                "value": relais["p99_ms"],
                "unit": "ms",
                "target": "< 100",
                "met": relais["p99_ms"] < 100,
            },
        ],
        "notes": f"{USERS} seeded volunteers alternate /task and a tap on Later; "
        f"{STEADY_RATE} updates/s for {STEADY_SECONDS} s, then a burst of {BURST}. "
        "The echo bot is python-telegram-bot with concurrent updates, echoing text.",
    }


def run() -> dict[str, object]:
    return asyncio.run(main())


if __name__ == "__main__":
    print(json.dumps(run()))
