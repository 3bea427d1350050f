"""`python -m bench._counts [bot arguments]`: the bot, counting where its work goes.

On SIGUSR2 it writes, as JSON, to the file named by RELAIS_COUNTS: the CPU time of each kind
of thread (the event loop's, SQLite's connections', the others'), the time each kind waited
for a core (the kernel's run-queue delay: a busy machine's share, not the bot's work) and,
from SIGUSR1 on, the hops to SQLite's threads (each one a round trip the event loop waits
for), the SQL statements run there (SQLite's trace: transaction control and the statements
riding with a hop included) and the write transactions begun. The benchmark asks before and
after a burst and divides by the updates handled. Counting hops and statements costs a
little CPU, hence SIGUSR1: the rates and CPU figures are taken before it.

With RELAIS_COUNT_SENDER=yes it also times the outbox sender (bot/sender.py): each claim of
a batch (from the sender asking to the rows in its hand), the time it had no row in hand
while rows were left to send, and the time it waited for a free request slot (all of its
concurrent requests in flight). A few clock readings a message: not done by default.

The benchmark's side: `ask(process, path)` signals the bot and returns what it wrote.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Literal

import aiosqlite
from aiosqlite.core import _connection_worker_thread as _sqlite_worker

KINDS = ("loop", "sqlite", "other")


def thread_cpu(ident: int) -> float | None:
    """CPU seconds a thread of this process (`threading` ident) has used; None once it
    ended. Load-robust: a busy machine delays a thread, it adds no CPU time."""
    try:
        return time.clock_gettime(time.pthread_getcpuclockid(ident))
    except (OSError, ProcessLookupError):
        return None


def thread_waited(native_id: int) -> float:
    """Seconds a thread of this process spent runnable but waiting for a core (Linux
    schedstat; 0 where the kernel does not keep it)."""
    try:
        with open(f"/proc/self/task/{native_id}/schedstat", encoding="ascii") as stat:
            return int(stat.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def write_json(path: str, data: dict[str, Any]) -> None:
    """Replace `path` with `data` at once (the benchmark never reads half a file)."""
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as out:
        json.dump(data, out)
    os.replace(tmp, path)


class SenderCounts:
    """The outbox sender's waits (seconds, summed), with RELAIS_COUNT_SENDER."""

    def __init__(self) -> None:
        self.claims = 0
        self.claim_s = 0.0
        self.claim_max_s = 0.0
        self.claimed_rows = 0
        self.dry = 0  # times the sender had no row in hand while rows were left
        self.dry_s = 0.0
        self.slot_waits = 0
        self.slot_s = 0.0

    def as_dict(self) -> dict[str, float]:
        return dict(vars(self))


class Counts:
    def __init__(self, path: str) -> None:
        self.path = path
        self.hops = self.statements = self.begins = 0
        self.main = threading.main_thread()
        self.written = 0
        self._lock = threading.Lock()  # statements are noted on SQLite's two threads
        self.sender: SenderCounts | None = None

    def note(self, sql: str) -> None:
        with self._lock:
            self.statements += 1
            if sql.lstrip()[:5].upper() == "BEGIN":
                self.begins += 1

    def hop(self) -> None:
        self.hops += 1  # on the event loop's thread only

    def _kind(self, thread: threading.Thread) -> str:
        if thread is self.main:
            return "loop"
        if getattr(thread, "_target", None) is _sqlite_worker:
            return "sqlite"
        return "other"

    def cpu(self) -> dict[str, float]:
        kinds = dict.fromkeys(KINDS, 0.0)
        for thread in threading.enumerate():
            spent = None if thread.ident is None else thread_cpu(thread.ident)
            if spent is not None:
                kinds[self._kind(thread)] += spent
        return kinds

    def waited(self) -> dict[str, float]:
        kinds = dict.fromkeys(KINDS, 0.0)
        for thread in threading.enumerate():
            if thread.native_id is not None:
                kinds[self._kind(thread)] += thread_waited(thread.native_id)
        return kinds

    def write(self) -> None:
        self.written += 1
        data: dict[str, Any] = {
            "hops": self.hops,
            "statements": self.statements,
            "begins": self.begins,
            "cpu": self.cpu(),
            "waited": self.waited(),
            "written": self.written,
        }
        if self.sender is not None:
            data["sender"] = self.sender.as_dict()
        write_json(self.path, data)


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


def _count_sender(counts: SenderCounts) -> None:
    """Time the outbox sender's claims, the time it had no row in hand and its waits for
    a request slot."""
    from bot.sender import ChannelSender

    claim, next_item, init = ChannelSender._claim, ChannelSender._next, ChannelSender.__init__

    def timed_claim(self: ChannelSender, below: int | None) -> None:
        began = time.perf_counter()
        claim(self, below)

        def done(task: asyncio.Future[Any]) -> None:
            took = time.perf_counter() - began
            counts.claims += 1
            counts.claim_s += took
            counts.claim_max_s = max(counts.claim_max_s, took)
            if not task.cancelled() and task.exception() is None:
                counts.claimed_rows += len(task.result())

        if self._claiming is not None:
            self._claiming.add_done_callback(done)

    async def timed_next(self: ChannelSender) -> Any:
        if self._ready:
            return await next_item(self)
        began = time.perf_counter()
        found = await next_item(self)
        # Idle (the outbox had nothing left) is not a wait for the database.
        if self._outbox_idle_at is None:
            counts.dry += 1
            counts.dry_s += time.perf_counter() - began
        return found

    class Slots(asyncio.Semaphore):
        async def acquire(self) -> Literal[True]:
            if not self.locked():
                return await super().acquire()
            began = time.perf_counter()
            try:
                return await super().acquire()
            finally:
                counts.slot_waits += 1
                counts.slot_s += time.perf_counter() - began

    def init_timed(self: ChannelSender, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self._slots = Slots(self.lane.concurrency)

    ChannelSender._claim = timed_claim  # type: ignore[method-assign]
    ChannelSender._next = timed_next  # type: ignore[method-assign]
    ChannelSender.__init__ = init_timed  # type: ignore[method-assign]


def read(path: Path) -> dict[str, Any]:
    """What the bot last wrote ({} before it wrote anything)."""
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


async def ask(process: asyncio.subprocess.Process, path: Path) -> dict[str, Any]:
    """Signal the bot (run as `python -m bench._counts`) to write its counts to `path`, and
    wait for them ({} if they never came)."""
    before = read(path).get("written", 0)
    process.send_signal(signal.SIGUSR2)
    for _ in range(250):
        await asyncio.sleep(0.02)
        counts = read(path)
        if counts.get("written", 0) > before:
            return counts
    return {}


def main() -> int:
    counts = Counts(os.environ["RELAIS_COUNTS"])
    if os.environ.get("RELAIS_COUNT_SENDER") == "yes":
        counts.sender = SenderCounts()
        _count_sender(counts.sender)
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
