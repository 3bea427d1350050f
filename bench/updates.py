"""Update handling: Relais against a bare PTB echo bot, both polling the same fake Bot API.

Each bot runs in its own process, as deployed. Simulated volunteers send commands at a
steady 200 updates/s (latency from the update being queued to the reply arriving), then
in one burst (sustained updates per second).
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

USERS = 1000
STEADY_RATE = 200
STEADY_SECONDS = 10
BURST = 3000


async def _start(kind: str, api: FakeBotAPI, workdir: Path) -> asyncio.subprocess.Process:
    if kind == "echo":
        args = [sys.executable, str(ROOT / "bench" / "echo_bot.py"), api.base_url]
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


def _latencies(api: FakeBotAPI, queued: dict[int, deque[float]], since: int) -> list[float]:
    out = []
    for call in api.sent[since:]:
        if call.method != "sendMessage" or call.chat_id is None:
            continue
        times = queued.get(int(call.chat_id))
        if times:
            out.append((call.timestamp - times.popleft()) * 1000)
    return out


def _text(kind: str) -> str:
    return "echo" if kind == "echo" else "/help"


async def _steady(kind: str, api: FakeBotAPI) -> dict[str, float]:
    queued: dict[int, deque[float]] = defaultdict(deque)
    since = len(api.sent)
    total = STEADY_RATE * STEADY_SECONDS
    start = time.monotonic()
    for n in range(total):
        target = start + n / STEADY_RATE
        if (delay := target - time.monotonic()) > 0:
            await asyncio.sleep(delay)
        user = 10_000 + n % USERS
        queued[user].append(time.monotonic())
        api.send_text(user, _text(kind), language_code="en")
    deadline = time.monotonic() + 60
    while len(_replies(api, since)) < total and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    latencies = sorted(_latencies(api, queued, since))
    return {
        "steady_rate": STEADY_RATE,
        "answered": len(latencies),
        "p50_ms": round(statistics.median(latencies), 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 1),
    }


def _replies(api: FakeBotAPI, since: int) -> list[object]:
    return [c for c in api.sent[since:] if c.method == "sendMessage"]


async def _burst(kind: str, api: FakeBotAPI) -> float:
    since = len(api.sent)
    start = time.monotonic()
    for n in range(BURST):
        api.send_text(20_000 + n % USERS, _text(kind), language_code="en")
    deadline = start + 120
    while len(_replies(api, since)) < BURST and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    last = max(c.timestamp for c in api.sent[since:] if c.method == "sendMessage")
    return round(len(_replies(api, since)) / (last - start), 1)


async def _measure(kind: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeBotAPI(strict=False) as api:
            process = await _start(kind, api, Path(tmp))
            try:
                # Warm up: first contact creates rows and caches.
                for n in range(USERS):
                    api.send_text(10_000 + n, _text(kind), language_code="en")
                    api.send_text(20_000 + n, _text(kind), language_code="en")
                while len(_replies(api, 0)) < 2 * USERS:
                    await asyncio.sleep(0.1)
                await asyncio.sleep(11)  # let the flood gate's window pass
                steady = await _steady(kind, api)
                await asyncio.sleep(11)
                burst = await _burst(kind, api)
            finally:
                process.send_signal(signal.SIGTERM)
                await asyncio.wait_for(process.wait(), 30)
    return {**steady, "burst_updates_per_s": burst}


async def main() -> dict[str, object]:
    echo = await _measure("echo")
    relais = await _measure("relais")
    ratio = relais["burst_updates_per_s"] / echo["burst_updates_per_s"]
    return {
        "name": "update handling",
        "echo": echo,
        "relais": relais,
        "relais_vs_echo": round(ratio, 2),
        "targets": {
            "relais_vs_echo >= 0.5": ratio >= 0.5,
            "relais p99 < 100 ms at 200/s": relais["p99_ms"] < 100,
        },
    }


def run() -> dict[str, object]:
    return asyncio.run(main())


if __name__ == "__main__":
    print(json.dumps(run()))
