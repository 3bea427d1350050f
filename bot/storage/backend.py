"""What a database must offer Relais: named-parameter statements, rows, write transactions.

Repositories in `bot/storage/` speak only to these types. SQLite (`bot/storage/db.py`) is
the first backend. SQL written against them uses `:name` parameters and the subset of SQL
both SQLite and PostgreSQL accept (`COALESCE`, `CASE`, `FILTER`, `RETURNING`,
`ON CONFLICT`); where the two differ, the dialect writes the fragment (`greatest`).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar, Token
from pathlib import Path
from typing import Any, Protocol, TypeAlias

from bot.domain.errors import (
    Conflict,
    StorageBusy,
    StorageError,
    StorageFull,
    StorageMissing,
)

__all__ = [
    "UNIT",
    "Backend",
    "Conflict",
    "Dialect",
    "Params",
    "Row",
    "StorageBusy",
    "StorageError",
    "StorageFull",
    "StorageMissing",
    "Store",
    "Tx",
    "Unit",
    "after_commit",
    "in_list",
    "note_erased",
    "unit_of",
    "when_committed",
]

log = logging.getLogger(__name__)

# A row is read by column name: row["id"]. (Backends return their own row type.)
Row: TypeAlias = Any
Params: TypeAlias = Mapping[str, Any]


class Dialect(Protocol):
    """The few SQL fragments that differ between backends."""

    name: str

    def greatest(self, *expressions: str) -> str:
        """The larger of several expressions (SQLite and PostgreSQL name it differently)."""
        ...

    def least(self, *expressions: str) -> str:
        """The smaller of several expressions."""
        ...

    def joined(self, expression: str, separator: str) -> str:
        """An aggregate joining a text column's values with `separator`, in the order the
        rows come (from an ordered subquery)."""
        ...

    def indexed_by(self, index: str) -> str:
        """A hint naming the index a table is read through (`FROM tasks t {hint}`), where
        the dialect takes one (SQLite's index hint); '' where the planner alone decides."""
        ...

    def explain(self, sql: str) -> str:
        """A statement whose rows are `sql`'s query plan, one step per row, in the row's
        last column (a guard for indexes: tests assert on the plan)."""
        ...


class Tx(Protocol):
    """Statements inside one write transaction."""

    async def execute(self, sql: str, params: Params | None = None) -> int:
        """Run one statement; the number of rows it changed."""
        ...

    async def execute_many(self, sql: str, rows: Iterable[Params]) -> None:
        """Run one statement once per parameter set."""
        ...

    def later(self, sql: str, params: Params | None = None) -> None:
        """Run a statement whose answer nobody needs with the next one, or with the commit:
        a round trip less where the backend can (SQLite's thread). Its failure surfaces
        there, and rolls the transaction back all the same."""
        ...

    async def fetch_one(self, sql: str, params: Params | None = None) -> Row | None:
        """The first row, or None."""
        ...

    async def fetch_all(self, sql: str, params: Params | None = None) -> list[Row]:
        """Every row."""
        ...

    async def fetch_value(self, sql: str, params: Params | None = None) -> Any:
        """The first column of the first row, or None."""
        ...

    async def insert_returning_id(self, sql: str, params: Params | None = None) -> int:
        """Run an INSERT (written without RETURNING) and return the new row's id."""
        ...


class Backend(Protocol):
    """A database Relais stores the campaign in."""

    @property
    def dialect(self) -> Dialect:
        """How this database writes the fragments where SQL differs."""
        ...

    def transaction(self) -> AbstractAsyncContextManager[Tx]:
        """A write transaction: committed when the block ends, rolled back on any error."""
        ...

    async def fetch_one(self, sql: str, params: Params | None = None) -> Row | None:
        """The first row of a read-only query on committed data, or None."""
        ...

    async def fetch_all(self, sql: str, params: Params | None = None) -> list[Row]:
        """Rows of a read-only query on committed data."""
        ...

    async def fetch_value(self, sql: str, params: Params | None = None) -> Any:
        """The first column of the first row, or None."""
        ...

    def stream(
        self, sql: str, params: Params | None = None, chunk: int = 500
    ) -> AsyncIterator[Row]:
        """Rows of a long read, without holding them all in memory."""
        ...

    async def checkpoint(self) -> bool:
        """Fold what was erased out of any log the database keeps; False if a read prevented
        it (then `checkpoint_if_owed` does it later)."""
        ...


class Store(Backend, Protocol):
    """A backend with its life around it: what the bot, the core and the command line open,
    migrate, back up and close. `bot.storage.connect.database_for` returns one."""

    # Where the campaign is: the SQLite file, or PostgreSQL's host:port/name for messages.
    path: Path
    # An erasure's log fold that a read in progress prevented (always False on PostgreSQL).
    checkpoint_owed: bool

    async def open(self, *, create: bool = True) -> bool:
        """Connect; True if a new database was created."""
        ...

    async def close(self) -> None:
        """Disconnect; nothing is open afterwards."""
        ...

    def vanished(self) -> bool:
        """Whether the database was deleted or replaced from under the open connections."""
        ...

    async def checkpoint_if_owed(self) -> None:
        """The checkpoint a read in progress prevented, if any."""
        ...

    async def backup(self, target: Path) -> None:
        """A consistent copy of the whole campaign at `target`."""
        ...

    async def version(self) -> int:
        """The newest migration applied."""
        ...

    async def migrate(self) -> list[int]:
        """Apply the migrations not yet applied; their numbers."""
        ...


def in_list(name: str, values: Iterable[Any]) -> tuple[str, dict[str, Any]]:
    """Placeholders and parameters for `IN (...)`: (':ids_0, :ids_1', {'ids_0': …}).

    No values give `NULL`, which matches nothing (PostgreSQL refuses an empty `IN ()`).
    """
    params = {f"{name}_{index}": value for index, value in enumerate(values)}
    return ", ".join(f":{key}" for key in params) or "NULL", params


class Unit:
    """One update's writes, in one transaction: begun by the first write anywhere in the
    update (a service's, or the update's own at its end), committed once, at its end, with
    the update's key, its flow's step and the answers it owes.

    A crash keeps all of it or none of it: killed before the commit, the update was never
    acknowledged and is handled again; killed after, its answers are on disk and go out.
    Inside the unit a backend makes every later transaction a savepoint of the first, and
    reads from the connection that holds it (they see what the update wrote). Only the task
    that opened the unit takes part: a task it started and that writes meanwhile waits for
    the commit like anyone else. What must not happen inside a transaction (a network call,
    SQLite's WAL checkpoint) is put off until the commit (`after_commit`).
    """

    def __init__(self) -> None:
        self.owner = asyncio.current_task()
        self.open = True
        self.tx: Tx | None = None
        self.backend: object | None = None
        self._finish: Callable[[bool], Awaitable[None]] | None = None
        self._after: list[Callable[[], Awaitable[object] | object]] = []
        self._savepoints = 0
        # Set by the update's last writer when all it writes is plain INSERT/UPDATE (no read
        # decides it): PostgreSQL then takes no schema lock for it.
        self.only_writes = False
        # Chats whose person this update erased (/forget), and who they were: its own
        # answers to them are written after the erasure, and must not keep where they went.
        self.erased: dict[tuple[str, str], int] = {}
        self._token: Token[Unit | None] | None = UNIT.set(self)

    def begin(self, backend: object, tx: Tx, finish: Callable[[bool], Awaitable[None]]) -> None:
        """Called by the backend that began the transaction, with how to end it."""
        self.backend, self.tx, self._finish = backend, tx, finish

    def savepoint(self) -> str:
        self._savepoints += 1
        return f"unit_{self._savepoints}"

    def abandoned(self) -> None:
        """Called by the backend when its transaction was rolled back whole."""
        self.tx = self._finish = None
        self.backend = None
        self._after.clear()

    async def broken(self) -> None:
        """Called by the backend when its transaction cannot even undo a block (its
        connection died under it): rolled back whole now, and what holds it given back."""
        finish = self._finish
        self.abandoned()
        if finish is not None:
            await finish(False)

    def after_commit(self, work: Callable[[], Awaitable[object] | object]) -> None:
        self._after.append(work)

    async def commit(self, then: Callable[[], None] | None = None) -> None:
        """Commit what the update wrote (if anything), call `then` (the answers go to their
        lane: they do not wait for what follows), then do what waited for the commit. That
        work's failure is logged, not raised: what the update changed is committed."""
        self._close()
        finish, self._finish = self._finish, None
        self.tx = None
        if finish is not None:
            await finish(True)
        if then is not None:
            then()
        after, self._after = self._after, []
        for work in after:
            try:
                done = work()
                if inspect.isawaitable(done):
                    await done
            except Exception:
                log.exception("work after an update's commit failed (the update is committed)")

    async def rollback(self) -> None:
        """Forget what the update wrote (an error ended it); nothing waits for it any more."""
        self._close()
        finish, self._finish = self._finish, None
        self.tx = None
        self._after.clear()
        if finish is not None:
            await finish(False)

    def _close(self) -> None:
        self.open = False
        if self._token is not None:
            with contextlib.suppress(ValueError):  # reset from another context: nothing to do
                UNIT.reset(self._token)
            self._token = None


UNIT: ContextVar[Unit | None] = ContextVar("unit", default=None)


def unit_of(backend: object) -> Unit | None:
    """The update's unit this task works in on `backend`, if one is open."""
    unit = UNIT.get()
    if unit is None or not unit.open or asyncio.current_task() is not unit.owner:
        return None
    if unit.backend is not None and unit.backend is not backend:
        return None
    return unit


def _writing_unit() -> Unit | None:
    unit = UNIT.get()
    if unit is None or not unit.open or unit.tx is None:
        return None
    return unit if asyncio.current_task() is unit.owner else None


async def after_commit(work: Callable[[], Awaitable[object] | object]) -> None:
    """Do `work` once the update's transaction has committed (at once outside one): a
    network call, or anything that needs the write lock, never waits inside it."""
    unit = _writing_unit()
    if unit is not None:
        unit.after_commit(work)
        return
    done = work()
    if inspect.isawaitable(done):
        await done


def note_erased(volunteer_id: int, chats: Iterable[tuple[str, str]]) -> None:
    """Within an update's unit: it erased this volunteer, whose chats were these."""
    unit = _writing_unit()
    if unit is not None:
        for chat in chats:
            unit.erased[chat] = volunteer_id


def when_committed(ring: Callable[[], None]) -> None:
    """Call `ring` (the sender's bell) once what was queued is committed: a sender woken
    inside the update's transaction would find nothing yet."""
    unit = _writing_unit()
    if unit is not None:
        unit.after_commit(ring)
    else:
        ring()
