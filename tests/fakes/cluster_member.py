"""A process that joins a Relais cluster and only says which roles it takes and gives up.

`python -m tests.fakes.cluster_member URL ROLE...` prints `took ROLE` / `gave up ROLE`, one
line each, as the election goes; SIGTERM leaves cleanly. Tests kill it with SIGKILL to see
another member take over, as a killed `python -m bot` would be replaced.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from bot.cluster import Cluster, Duty


def _say(line: str) -> None:
    print(line, flush=True)


async def main(url: str, roles: list[str]) -> None:
    cluster = Cluster(url)
    for role in roles:

        async def take(role: str = role) -> None:
            _say(f"took {role}")

        async def give_up(role: str = role) -> None:
            _say(f"gave up {role}")

        cluster.add(role, Duty(take, give_up))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await cluster.start()
    _say("started")
    await stop.wait()
    await cluster.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2:]))
