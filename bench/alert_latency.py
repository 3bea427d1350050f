"""How fast the on-duty organizer is paged: from the volunteer's last tap to Telegram's
sendMessage, through the real app and PTB against the fake Bot API, with and without a
bulk broadcast already queued (alarms one second apart: Telegram paces each chat at
about one message a second, and so does the sender).

Run: `.venv/bin/python -m bench.alert_latency`."""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bot.messaging import Outbound
from bot.storage.outbox import BULK, Envelope
from tests import alert_factories as make
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.relais import running_relais, telegram_env

RUNS = 15


async def measure(backlog: int) -> list[float]:
    latencies: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        async with FakeBotAPI() as api:
            env = telegram_env(api, Path(folder) / "relais.sqlite3")
            async with running_relais(env) as relais:
                services = relais.services
                await make.comms(services, "7", name="Léa")
                api.send_text(7, "/duty on")
                await api.wait_for_text(7, "permanence")
                if backlog:
                    await services.send_later(
                        Envelope(
                            "broadcast",
                            "telegram",
                            str(100_000 + n),
                            Outbound("Info"),
                            priority=BULK,
                        )
                        for n in range(backlog)
                    )
                for run in range(RUNS):
                    user = 1000 + run
                    await make.volunteer(services, str(user))
                    api.send_text(user, f"/alerte https://example.org/post/{run}")
                    ask = await api.wait_for_text(user, "Ajoutez un commentaire", timeout=10)
                    since = len(api.sent)
                    started = time.monotonic()
                    api.tap(user, "alr:send", message_id=ask.message_id or 0)
                    page = await api.wait_for_text(
                        7, f"Alerte n° {run + 1}<", timeout=10, since=since
                    )
                    latencies.append((page.timestamp - started) * 1000)
                    # Telegram allows about one message a second per chat: the sender paces
                    # pages to one organizer, so space the alarms to measure the lane itself.
                    await asyncio.sleep(1.1)
    return latencies


def summary(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return (
        f"{name}: median {statistics.median(ordered):.0f} ms, p95 {p95:.0f} ms, "
        f"max {ordered[-1]:.0f} ms over {len(ordered)} alerts"
    )


async def main() -> None:
    idle = await measure(0)
    busy = await measure(2000)
    print(summary("page latency, idle outbox", idle))
    print(summary("page latency, 2000 bulk messages queued", busy))
    results = []
    for label, values in (("idle outbox", idle), ("2000 bulk messages queued", busy)):
        ordered = sorted(values)
        results.append(
            {
                "metric": f"page latency, {label}, median",
                "value": round(statistics.median(ordered)),
                "unit": "ms",
                "target": "< 2000",
                "met": statistics.median(ordered) < 2000,
            }
        )
        results.append(
            {"metric": f"page latency, {label}, max", "value": round(ordered[-1]), "unit": "ms"}
        )
    print(
        json.dumps(
            {
                "title": "Alert page latency",
                "command": "python -m bench.alert_latency",
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
