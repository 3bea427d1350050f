"""`python -m bench._loop_probe [bot arguments]`: the bot, with a watch on its event loop.

A task on the loop beats every few milliseconds; a thread beside it notices when the beat
stops (something holds the loop) and records where the loop's thread is at that moment.
On exit the blocks, with the code that held the loop, are written as
JSON to the file named by RELAIS_LOOP_PROBE. Each block has its wall time and the CPU time
the loop's thread spent in it: the CPU time holds however loaded the machine is (a busy
machine lengthens a block's wall time by taking the core away; it adds no CPU time).
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
import traceback
from collections.abc import Coroutine
from typing import Any

from bench._counts import thread_cpu, write_json

BEAT_S = 0.002
# A block longer than this is recorded with the stack that held the loop.
NOTE_S = 0.02
KEEP = 5000


class Probe:
    def __init__(self, path: str) -> None:
        self.path = path
        self.beat = time.monotonic()
        self.blocks: list[dict[str, Any]] = []
        self.longest = 0.0
        self.longest_cpu = 0.0
        self.statements: list[dict[str, Any]] = []
        self.main = threading.get_ident()
        self._stacks: dict[str, int] = {}
        self._lock = threading.Lock()

    async def heart(self) -> None:
        while True:
            before, cpu_before = time.monotonic(), time.thread_time()
            await asyncio.sleep(BEAT_S)
            now, cpu = time.monotonic(), time.thread_time()
            block, block_cpu = now - before - BEAT_S, cpu - cpu_before
            self.longest = max(self.longest, block)
            self.longest_cpu = max(self.longest_cpu, block_cpu)
            if block > NOTE_S or block_cpu > NOTE_S:
                with self._lock:
                    stacks = sorted(self._stacks.items(), key=lambda s: -s[1])[:3]
                    self._stacks.clear()
                self.blocks.append(
                    {
                        "ms": round(block * 1000, 1),
                        "cpu_ms": round(block_cpu * 1000, 1),
                        "at": round(now, 3),
                        "stacks": dict(stacks),
                    }
                )
                del self.blocks[:-KEEP]
            self.beat = now

    def watch(self) -> None:
        """Sample the loop's thread while it has not beaten for NOTE_S."""
        while True:
            time.sleep(0.005)
            now = time.monotonic()
            if now - self.beat > NOTE_S:
                frame = sys._current_frames().get(self.main)
                if frame is not None:
                    stack = "".join(traceback.format_stack(frame, limit=14)[-14:])
                    with self._lock:
                        self._stacks[stack] = self._stacks.get(stack, 0) + 1

    def dump(self) -> None:
        data = {
            "longest_block_ms": round(self.longest * 1000, 1),
            "longest_block_cpu_ms": round(self.longest_cpu * 1000, 1),
            "blocks": self.blocks,
            "statements": self.statements,
        }
        write_json(self.path, data)


def _time_statements(probe: Probe) -> None:
    """Record every database round trip that took longer than NOTE_S, with the CPU time
    its connection's thread spent on it (a statement the database worked on, rather than
    one that waited for the core)."""
    from bot.storage import db

    original = db._on_thread

    async def timed(conn: Any, work: Any, sql: str, params: Any) -> Any:
        ident = conn._thread.ident
        began, cpu = time.monotonic(), thread_cpu(ident) or 0.0
        try:
            return await original(conn, work, sql, params)
        finally:
            took = time.monotonic() - began
            if took > NOTE_S:
                probe.statements.append(
                    {
                        "ms": round(took * 1000, 1),
                        "cpu_ms": round(((thread_cpu(ident) or cpu) - cpu) * 1000, 1),
                        "at": round(time.monotonic(), 3),
                        "sql": sql[:160],
                    }
                )
                del probe.statements[:-KEEP]

    db._on_thread = timed  # type: ignore[assignment]
    completion = db._to_completion

    async def control(statement: Any) -> None:
        began = time.monotonic()
        try:
            await completion(statement)
        finally:
            took = time.monotonic() - began
            if took > NOTE_S:
                at = round(time.monotonic(), 3)
                probe.statements.append(
                    {"ms": round(took * 1000, 1), "at": at, "sql": "BEGIN/COMMIT"}
                )

    db._to_completion = control  # type: ignore[assignment]


def main() -> int:
    path = os.environ["RELAIS_LOOP_PROBE"]
    probe = Probe(path)
    original = asyncio.run

    def run(coro: Coroutine[Any, Any, Any], **kwargs: Any) -> Any:
        async def watched() -> Any:
            heart = asyncio.create_task(probe.heart())
            try:
                return await coro
            finally:
                heart.cancel()
                probe.dump()

        return original(watched(), **kwargs)

    asyncio.run = run  # type: ignore[assignment]
    _time_statements(probe)
    threading.Thread(target=probe.watch, daemon=True).start()
    from bot.cli import main as bot_main

    return bot_main(sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
