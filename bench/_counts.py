"""`python -m bench._counts [bot arguments]`: the bot, counting where its work goes.

On SIGUSR2 it writes, as JSON, to the file named by RELAIS_COUNTS: the CPU time of each kind
of thread (the event loop's, SQLite's connections', the others') and, from SIGUSR1 on, the
hops to SQLite's threads (each one a round trip the event loop waits for), the SQL
statements run there (SQLite's trace: transaction control and the statements riding with a
hop included) and the write transactions begun. The benchmark asks before and after a
burst and divides by the updates handled. Counting hops and statements costs a little
CPU, hence SIGUSR1: the rates and CPU figures are taken before it.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from typing import Any

import aiosqlite
from aiosqlite.core import _connection_worker_thread as _sqlite_worker


class Counts:
    def __init__(self, path: str) -> None:
        self.path = path
        self.hops = self.statements = self.begins = 0
        self.main = threading.main_thread()
        self.written = 0
        self._lock = threading.Lock()  # statements are noted on SQLite's two threads

    def note(self, sql: str) -> None:
        with self._lock:
            self.statements += 1
            if sql.lstrip()[:5].upper() == "BEGIN":
                self.begins += 1

    def hop(self) -> None:
        self.hops += 1  # on the event loop's thread only

    def cpu(self) -> dict[str, float]:
        kinds = {"loop": 0.0, "sqlite": 0.0, "other": 0.0}
        for thread in threading.enumerate():
            if thread.ident is None:
                continue
            try:
                clock = time.pthread_getcpuclockid(thread.ident)
                spent = time.clock_gettime(clock)
            except (OSError, ProcessLookupError):
                continue  # ended meanwhile
            if thread is self.main:
                kinds["loop"] += spent
            elif getattr(thread, "_target", None) is _sqlite_worker:
                kinds["sqlite"] += spent
            else:
                kinds["other"] += spent
        return kinds

    def write(self) -> None:
        self.written += 1
        data: dict[str, Any] = {
            "hops": self.hops,
            "statements": self.statements,
            "begins": self.begins,
            "cpu": self.cpu(),
            "written": self.written,
        }
        tmp = self.path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as out:
            json.dump(data, out)
        os.replace(tmp, self.path)


def _count_sqlite(counts: Counts) -> None:
    """Count each hop to a connection's thread, and trace what it runs there."""
    original = aiosqlite.Connection._execute
    traced: set[int] = set()

    async def execute(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        counts.hop()

        def on_thread() -> Any:
            conn = self._conn
            if id(conn) not in traced:
                traced.add(id(conn))
                conn.set_trace_callback(counts.note)
            return fn(*args, **kwargs)

        return await original(self, on_thread)

    aiosqlite.Connection._execute = execute  # type: ignore[method-assign]


def main() -> int:
    counts = Counts(os.environ["RELAIS_COUNTS"])
    started: list[bool] = []

    def start_counting(_signal: int, _frame: object) -> None:
        if not started:
            started.append(True)
            _count_sqlite(counts)

    # Hops and statements are counted from SIGUSR1 on: the CPU figures before it are the
    # bot's own.
    signal.signal(signal.SIGUSR1, start_counting)
    signal.signal(signal.SIGUSR2, lambda _signal, _frame: counts.write())
    from bot.cli import main as bot_main

    return bot_main(sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
