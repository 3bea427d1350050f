"""Signal round trips through the fake signal-cli daemon: people write, Relais answers.

Run: .venv/bin/python -m bench.signal_roundtrip [people] [messages_each]
Measures the whole path in one process: SSE event → envelope → router → handler → JSON-RPC
send (the fake daemon shares the event loop, so this is a lower bound on a real host).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

from tests.fakes.clock import FakeClock
from tests.fakes.relais import running_relais
from tests.fakes.signal_cli import FakeSignalCli, signal_env


async def roundtrips(people: int, each: int) -> float:
    """Messages answered per second."""
    async with FakeSignalCli() as fake:
        database = Path(tempfile.mkdtemp()) / "bench.sqlite3"
        async with running_relais(signal_env(fake, database), FakeClock()) as relais:
            relais.router.flood.limit = 1_000_000  # measure the path, not the flood gate
            await fake.wait_for_connections(1)
            senders = [f"00000000-0000-4000-8000-{i:012d}" for i in range(people)]
            start = time.perf_counter()
            for _ in range(each):
                for sender in senders:
                    fake.send_text(sender, "help")
            total = people * each
            for index in range(total):
                await fake.wait_for(lambda m: m.ok, timeout=60, since=index)
            return total / (time.perf_counter() - start)


def main() -> None:
    people = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    each = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    logging.disable(logging.WARNING)
    rate = asyncio.run(roundtrips(people, each))
    print(f"signal round trips: {people * each} messages from {people} people, {rate:.0f}/s")
    print(
        json.dumps(
            {
                "title": "Signal round trips",
                "command": "python -m bench.signal_roundtrip",
                "results": [
                    {"metric": "message in → answer sent", "value": round(rate), "unit": "per s"}
                ],
                "notes": f"{people * each} messages from {people} people, fake signal-cli"
                " daemon on the same event loop",
            }
        )
    )


if __name__ == "__main__":
    main()
