"""What a database must offer Relais: named-parameter statements, rows, write transactions.

Repositories in `bot/storage/` speak only to these types. SQLite (`bot/storage/db.py`) is
the first backend. SQL written against them uses `:name` parameters and the subset of SQL
both SQLite and PostgreSQL accept (`COALESCE`, `CASE`, `FILTER`, `RETURNING`,
`ON CONFLICT`); where the two differ, the dialect writes the fragment (`greatest`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar
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
    "FIRST_WRITE",
    "Backend",
    "Conflict",
    "Dialect",
    "FirstWrite",
    "Params",
    "Row",
    "StorageBusy",
    "StorageError",
    "StorageFull",
    "StorageMissing",
    "Store",
    "Tx",
    "in_list",
    "ride",
]

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


class Tx(Protocol):
    """Statements inside one write transaction."""

    async def execute(self, sql: str, params: Params | None = None) -> int:
        """Run one statement; the number of rows it changed."""
        ...

    async def execute_many(self, sql: str, rows: Iterable[Params]) -> None:
        """Run one statement once per parameter set."""
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

    async def checkpoint(self) -> bool:
        """Fold what was erased out of any log the database keeps; False if a read prevented
        it (then `checkpoint_if_owed` does it later)."""
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


class FirstWrite:
    """Work done once, inside the first write transaction opened in this context.

    An update's de-duplication key is written by whatever the update changes first, in the
    same transaction: a crash keeps both or neither, and an update that changes nothing
    opens no write transaction at all. Backends call `ride` right after beginning every write
    transaction, and set `written` once that transaction committed.
    """

    def __init__(self, work: Callable[[Tx], Awaitable[None]]) -> None:
        self.work = work
        self.written = False
        # Closed when the unit of work ends: a task it started and that writes later must
        # not carry the work along.
        self.open = True


FIRST_WRITE: ContextVar[FirstWrite | None] = ContextVar("first_write", default=None)


async def ride(tx: Tx) -> FirstWrite | None:
    """Run the pending first-write work of this context in `tx`; what ran, if anything."""
    rider = FIRST_WRITE.get()
    if rider is None or rider.written or not rider.open:
        return None
    await rider.work(tx)
    return rider
