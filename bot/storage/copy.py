"""Move a campaign from its SQLite file into an empty PostgreSQL database.

Both are at the same migration version. Tables are copied parent first (foreign keys hold
at every step) in one PostgreSQL transaction: a failure leaves the target as empty as it
was. Each table is then read back and verified: the same number of rows and the same
checksum (an order-free sum of each row's SHA-256), computed on both sides from the values
as Python reads them. The roll-up triggers are off while copying (the roll-up rows are
copied as they are) and identities start after the highest id copied.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.i18n import _
from bot.storage.backend import StorageError
from bot.storage.db import Database, SQLiteTable
from bot.storage.postgres import PostgresDatabase

CHUNK = 5000


class TargetNotEmpty(StorageError):
    """The PostgreSQL database already holds rows: nothing is copied over them."""


@dataclass(frozen=True, slots=True)
class CopiedTable:
    name: str
    rows: int
    checksum: str


class Checksum:
    """An order-free checksum of rows: the sum of each row's SHA-256, modulo 2**128."""

    def __init__(self) -> None:
        self.rows = 0
        self._total = 0

    def add(self, row: Iterable[Any]) -> None:
        text = json.dumps([_canonical(value) for value in row], ensure_ascii=False)
        digest = hashlib.sha256(text.encode()).digest()
        self._total = (self._total + int.from_bytes(digest[:16], "big")) % (1 << 128)
        self.rows += 1

    @property
    def hex(self) -> str:
        return f"{self._total:032x}"


def _canonical(value: Any) -> Any:
    if isinstance(value, float):
        return repr(value)  # 48.0 and 48 are not the same value
    if isinstance(value, bytes):
        return value.hex()
    return value


async def copy_campaign(source: Database, target: PostgresDatabase) -> list[CopiedTable]:
    """Copy every table of `source` into `target` (migrated here to the same version)."""
    version = await source.version()
    await target.migrate()
    if await target.version() != version:
        raise StorageError(
            _(
                "{target} is at version {theirs}, the SQLite file at {ours}: "
                "migrate the file first (`python -m bot migrate`)"
            ).format(target=target.path, theirs=await target.version(), ours=version)
        )
    tables = await source.tables()
    copied = []
    async with target.bulk_load([table.name for table in tables]) as load:
        for table in tables:
            if await load.count(table.name):
                raise TargetNotEmpty(
                    _(
                        "{target} is not empty ({table} holds rows): copy-database "
                        "only fills an empty database"
                    ).format(target=target.path, table=table.name)
                )
        for table in tables:
            expected = await _copy_table(source, load, table)
            found = Checksum()
            async for row in load.read(table.name, table.columns):
                found.add(row)
            if (found.rows, found.hex) != (expected.rows, expected.hex):
                raise StorageError(
                    _(
                        "{table}: the copy differs from the file (rows: {copied} ≠ {rows}; "
                        "checksum: {theirs} ≠ {ours}); nothing was copied"
                    ).format(
                        table=table.name,
                        copied=found.rows,
                        theirs=found.hex[:12],
                        rows=expected.rows,
                        ours=expected.hex[:12],
                    )
                )
            copied.append(CopiedTable(table.name, expected.rows, expected.hex))
    return copied


async def _copy_table(source: Database, load: Any, table: SQLiteTable) -> Checksum:
    checksum = Checksum()
    columns = ", ".join(f'"{column}"' for column in table.columns)
    batch: list[Sequence[Any]] = []
    async for row in source.stream(f'SELECT {columns} FROM "{table.name}"', chunk=CHUNK):
        values = tuple(row)
        checksum.add(values)
        batch.append(values)
        if len(batch) >= CHUNK:
            await load.insert(table.name, table.columns, batch)
            batch = []
    if batch:
        await load.insert(table.name, table.columns, batch)
    return checksum
