"""What a database must offer Relais: named-parameter statements, rows, write transactions.

Repositories in `bot/storage/` speak only to these types. SQLite (`bot/storage/db.py`) is
the first backend. SQL written against them uses `:name` parameters and the subset of SQL
both SQLite and PostgreSQL accept (`COALESCE`, `CASE`, `FILTER`, `RETURNING`,
`ON CONFLICT`); where the two differ, the dialect writes the fragment (`greatest`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, TypeAlias

# A row is read by column name: row["id"]. (Backends return their own row type.)
Row: TypeAlias = Any
Params: TypeAlias = Mapping[str, Any]


class StorageError(RuntimeError):
    """The database could not do what was asked; nothing was half-written."""


class StorageBusy(StorageError):
    """Another process held the database longer than we are willing to wait."""


class StorageFull(StorageError):
    """The disk is full."""


class StorageMissing(StorageError):
    """There is no database where the settings point (a vanished file, a mistyped path)."""


class Conflict(StorageError):
    """A row with the same unique key is there already; the statement changed nothing."""


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

    dialect: Dialect

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


def in_list(name: str, values: Iterable[Any]) -> tuple[str, dict[str, Any]]:
    """Placeholders and parameters for `IN (...)`: (':ids_0, :ids_1', {'ids_0': …}).

    No values give `NULL`, which matches nothing (PostgreSQL refuses an empty `IN ()`).
    """
    params = {f"{name}_{index}": value for index, value in enumerate(values)}
    return ", ".join(f":{key}" for key in params) or "NULL", params
