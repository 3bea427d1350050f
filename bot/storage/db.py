"""The SQLite database: one writer behind a lock, one reader, WAL, numbered migrations."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from bot.i18n import _
from bot.storage.backend import (
    Conflict,
    Dialect,
    Row,
    StorageBusy,
    StorageError,
    StorageFull,
    StorageMissing,
    Unit,
    after_commit,
    unit_of,
)
from bot.storage.data_migrations import STEPS as DATA_STEPS

log = logging.getLogger(__name__)

# Positional parameters remain only in code not yet moved to the backend interface.
Params = Sequence[Any] | Mapping[str, Any]
BUSY_TIMEOUT_MS = 10_000
CHECKPOINT_WAIT_MS = 500
MIB = 1024 * 1024
_MIGRATION_RE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


__all__ = ["Database", "StorageBusy", "StorageError", "StorageFull", "StorageMissing"]


def _translate(exc: sqlite3.Error) -> StorageError:
    text = str(exc).lower()
    if isinstance(exc, sqlite3.IntegrityError) and "unique" in text:
        return Conflict(str(exc))
    if "locked" in text or "busy" in text:
        return StorageBusy(str(exc))
    if "full" in text:
        return StorageFull(str(exc))
    return StorageError(str(exc))


class SQLiteDialect:
    """SQL fragments as SQLite writes them."""

    name = "sqlite"

    def greatest(self, *expressions: str) -> str:
        return f"MAX({', '.join(expressions)})"

    def least(self, *expressions: str) -> str:
        return f"MIN({', '.join(expressions)})"

    def joined(self, expression: str, separator: str) -> str:
        quoted = separator.replace("'", "''")
        return f"group_concat({expression}, '{quoted}')"

    def indexed_by(self, index: str) -> str:
        return f"INDEXED BY {index}"

    def explain(self, sql: str) -> str:
        return f"EXPLAIN QUERY PLAN {sql}"


DIALECT = SQLiteDialect()


class Database:
    """One SQLite file: writes in BEGIN IMMEDIATE transactions, reads on their own connection."""

    dialect: Dialect = DIALECT

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()
        # An erasure's checkpoint that a read in progress prevented: run when it ends.
        self.checkpoint_owed = False
        self._identity: tuple[int, int] | None = None

    async def open(self, *, create: bool = True) -> bool:
        """Open both connections with the pragmas Relais relies on; True if the file is new.

        Without `create`, a missing file is a StorageMissing error: only `migrate` and `run`
        may start a new database, so a mistyped path or a vanished file is never replaced by
        an empty one. A new file is created readable by its owner only (personal data); SQLite
        gives the WAL and shared-memory files the same permissions.
        """
        created = _create_private(self.path, create)
        try:
            self._writer = await self._connect()
            await self._pragma(self._writer, "journal_mode=WAL")
            self._reader = await self._connect()
            for conn in (self._writer, self._reader):
                for pragma in _sized_for(self.path):
                    await self._pragma(conn, pragma)
        except sqlite3.Error as exc:
            await self.close()
            error = _translate(exc)
            if "not a database" in str(exc):
                error = StorageError(
                    _("{path} is not a Relais database (not SQLite)").format(path=self.path)
                )
            raise error from exc
        self._identity = _file_identity(self.path)
        return created

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(
            self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None
        )
        try:
            conn.row_factory = aiosqlite.Row
            # FULL: consent, erasure and sent-status must survive a power cut; volume is small.
            for pragma in (
                "foreign_keys=ON",
                f"busy_timeout={BUSY_TIMEOUT_MS}",
                "secure_delete=ON",
                "synchronous=FULL",
            ):
                await self._pragma(conn, pragma)
        except BaseException:
            # An unclosed connection keeps its worker thread, and the process, alive for ever.
            await conn.close()
            raise
        return conn

    def vanished(self) -> bool:
        """Whether the open file was deleted or replaced since it was opened.

        SQLite keeps writing to a deleted file through its open descriptors, and all of it
        is lost at close: the bot must notice instead of carrying on.
        """
        return self._identity is not None and _file_identity(self.path) != self._identity

    @staticmethod
    async def _pragma(conn: aiosqlite.Connection, pragma: str) -> None:
        # Close the cursor at once: an open PRAGMA statement keeps a lock on the file.
        async with conn.execute(f"PRAGMA {pragma}") as cursor:
            await cursor.fetchall()

    async def close(self) -> None:
        """Close both connections, checkpointing the WAL into the main file."""
        for conn in (self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._reader = self._writer = None

    @property
    def writer(self) -> aiosqlite.Connection:
        if self._writer is None:
            raise StorageError("database is not open")
        return self._writer

    @property
    def reader(self) -> aiosqlite.Connection:
        if self._reader is None:
            raise StorageError("database is not open")
        return self._reader

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SQLiteTx]:
        """A write transaction; commits on success, rolls back on any error or cancellation.

        Inside an update's unit (bot/storage/backend.py) the first one is the update's own
        transaction, committed when the update ends, and the later ones its savepoints."""
        unit = unit_of(self)
        if unit is not None:
            async with self._in_unit(unit) as tx:
                yield tx
            return
        async with self._write_lock:
            # BEGIN IMMEDIATE goes with the first statement, COMMIT with what is left to run:
            # each a hop to the writer's thread less (a block that ran nothing costs none).
            tx = SQLiteTx(self.writer, begin=True)
            try:
                yield tx
                await tx.commit()
            except BaseException as exc:
                await tx.rollback()
                if isinstance(exc, sqlite3.Error):
                    raise _translate(exc) from exc
                raise

    @asynccontextmanager
    async def _in_unit(self, unit: Unit) -> AsyncIterator[SQLiteTx]:
        if unit.tx is None:
            # The update's first write: its transaction begins, and holds the writer until
            # the update ends (Unit.commit or Unit.rollback, through _end_unit).
            await self._write_lock.acquire()
            tx = SQLiteTx(self.writer, begin=True)

            async def end(commit: bool) -> None:
                try:
                    if commit:
                        await tx.commit()
                    else:
                        await tx.rollback()
                finally:
                    self._write_lock.release()

            unit.begin(self, tx, end)
            try:
                yield tx
            except BaseException as exc:
                # Nothing else was written yet: the whole transaction goes.
                unit.abandoned()
                try:
                    await tx.rollback()
                finally:
                    self._write_lock.release()
                if isinstance(exc, sqlite3.Error):
                    raise _translate(exc) from exc
                raise
            return
        assert isinstance(unit.tx, SQLiteTx)
        tx = unit.tx
        name = unit.savepoint()
        tx.later(f"SAVEPOINT {name}")
        try:
            yield tx
        except BaseException as exc:
            await tx.undo_to(name)
            if isinstance(exc, sqlite3.Error):
                raise _translate(exc) from exc
            raise
        tx.later(f"RELEASE {name}")

    def _read_connection(self) -> aiosqlite.Connection:
        """The reader, or the writer while this task's update has written: its reads must
        see what it wrote."""
        unit = unit_of(self)
        if unit is not None and unit.tx is not None:
            return self.writer
        return self.reader

    # Reads run whole (execute, fetch, close) in one hop to the reader's thread. A statement
    # left open across an await would hold the reader's snapshot: every read started
    # meanwhile on the same connection would then miss what was committed since, e.g. a
    # volunteer who has just joined.

    async def fetch_all(self, sql: str, params: Params | None = None) -> list[Row]:
        """Rows of a read-only query, from committed data."""
        rows: list[Row] = await _on_thread(self._read_connection(), _all_rows, sql, params)
        return rows

    async def fetch_one(self, sql: str, params: Params | None = None) -> Row | None:
        """The first row of a read-only query, or None."""
        return await _on_thread(self._read_connection(), _first_row, sql, params)

    async def fetch_value(self, sql: str, params: Params | None = None) -> Any:
        """The first column of the first row, or None."""
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]

    def stream(
        self, sql: str, params: Params | None = None, chunk: int = 500
    ) -> AsyncIterator[Row]:
        """Rows of a long read, without holding them all in memory (see `iterate`)."""
        return self.iterate(sql, params or {}, chunk)

    async def iterate(
        self, sql: str, params: Params = (), chunk: int = 500
    ) -> AsyncIterator[aiosqlite.Row]:
        """Stream rows without holding the whole result in memory.

        On a connection of its own: the stream's snapshot lasts as long as the stream, and
        must not hold back what every other read sees meanwhile.
        """
        try:
            conn = await self._connect()
        except sqlite3.Error as exc:
            raise _translate(exc) from exc
        try:
            async with conn.execute(sql, params) as cursor:
                while rows := await cursor.fetchmany(chunk):
                    for row in rows:
                        yield row
        except sqlite3.Error as exc:
            raise _translate(exc) from exc
        finally:
            await conn.close()
            # A long export may have held old pages while someone was erased.
            if self.checkpoint_owed and self._writer is not None:
                await self.checkpoint()

    async def checkpoint(self) -> bool:
        """Fold the WAL into the main file and truncate it (erased data must not linger).

        A read still in progress (an export streaming) holds the old pages: then nothing
        is folded, the checkpoint is owed and runs when that read ends (or at the next
        `checkpoint_if_owed`). Returns whether it completed.
        """
        unit = unit_of(self)
        if unit is not None and unit.tx is not None:
            # Inside an update's transaction: fold the log once it has committed.
            self.checkpoint_owed = True
            await after_commit(self.checkpoint)
            return False
        async with self._write_lock:
            # Wait briefly for readers, not the full busy timeout: writers queue behind us.
            await self._pragma(self.writer, f"busy_timeout={CHECKPOINT_WAIT_MS}")
            try:
                async with self.writer.execute("PRAGMA wal_checkpoint(TRUNCATE)") as cursor:
                    row = await cursor.fetchone()
            except sqlite3.Error as exc:
                raise _translate(exc) from exc
            finally:
                await self._pragma(self.writer, f"busy_timeout={BUSY_TIMEOUT_MS}")
        done = row is not None and row[0] == 0
        if not done and not self.checkpoint_owed:
            log.warning("WAL checkpoint postponed: a read is in progress; retried when it ends")
        self.checkpoint_owed = not done
        return done

    async def checkpoint_if_owed(self) -> None:
        """Run a checkpoint an erasure could not complete."""
        if self.checkpoint_owed:
            await self.checkpoint()

    async def backup(self, target: Path) -> None:
        """Copy the live database to a new file `target` (owner-only) through SQLite's online
        backup API; StorageError if `target` exists: a backup never overwrites anything."""
        create_new_file(target)
        try:
            async with aiosqlite.connect(target) as dest:
                await self.writer.backup(dest)
        except BaseException:
            os.unlink(target)  # no half-written copy left to be mistaken for a backup
            raise

    async def version(self) -> int:
        return int(await self.fetch_value("PRAGMA user_version") or 0)

    async def tables(self) -> list[SQLiteTable]:
        """The campaign's tables, each after the tables its foreign keys point to."""
        names = [
            row[0]
            for row in await self.fetch_all(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        found = {}
        for name in names:
            columns = [row[1] for row in await self.fetch_all(f'PRAGMA table_info("{name}")')]
            parents = {row[2] for row in await self.fetch_all(f'PRAGMA foreign_key_list("{name}")')}
            found[name] = SQLiteTable(name, tuple(columns), frozenset(parents - {name}))
        ordered: list[SQLiteTable] = []
        while found:
            ready = [t for t in found.values() if not t.parents & found.keys()]
            if not ready:  # a cycle of foreign keys: keep the rest in name order
                ready = list(found.values())
            for table in ready:
                ordered.append(found.pop(table.name))
        return ordered

    async def migrate(self) -> list[int]:
        """Apply every migration newer than the database, each in its own transaction."""
        current = await self.version()
        known = available_migrations()
        newest = max((number for number, _ in known), default=0)
        if current > newest:
            raise StorageError(
                f"the database is at version {current}, newer than this Relais ({newest})"
            )
        applied = []
        for number, sql in known:
            if number <= current:
                continue
            async with self._write_lock:
                try:
                    await self.writer.executescript(f"BEGIN IMMEDIATE;\n{sql}")
                    if number in DATA_STEPS:
                        await DATA_STEPS[number](SQLiteTx(self.writer))
                    # execute, not executescript: that would commit the transaction first.
                    await self.writer.execute(f"PRAGMA user_version = {number}")
                    await self.writer.execute("COMMIT")
                except sqlite3.Error as exc:
                    if self.writer.in_transaction:
                        await self.writer.execute("ROLLBACK")
                    raise StorageError(f"migration {number:04d} failed: {exc}") from exc
            log.info("database migrated to version %d", number)
            applied.append(number)
        return applied


def _sized_for(path: Path) -> tuple[str, ...]:
    """Page cache and memory map for the file as it is: SQLite's default 2 MB cache left a
    campaign's file of hundreds of MB read page by page from disk (a system call each).
    The map covers the file with room to grow (the kernel shares its pages between the
    connections); the cache, per connection, an eighth of it, between 2 and 64 MB."""
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    cache_kib = min(max(size // 8, 2 * MIB), 64 * MIB) // 1024
    mapped = min(max(2 * size, 64 * MIB), 1024 * MIB)
    return f"cache_size=-{cache_kib}", f"mmap_size={mapped}"


def _create_private(path: Path, create: bool) -> bool:
    """Make sure `path` can be opened: create it (0600) if allowed; True if it is new."""
    if path.is_file():
        return False
    if path.exists():
        raise StorageError(_("{path} is not a file").format(path=path))
    if not create:
        raise missing(path)
    make_folder(path)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False  # created by someone else meanwhile: open theirs
    except OSError as exc:
        raise _cannot_create(path, exc) from None
    os.close(descriptor)
    return True


def create_new_file(target: Path) -> None:
    """Create `target` empty and owner-only; StorageError if it exists (a backup never
    overwrites anything) or cannot be created."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise StorageError(
            _("{path} already exists: choose a new file name").format(path=target)
        ) from None
    except OSError as exc:
        raise _cannot_create(target, exc) from None
    os.close(descriptor)


def make_folder(path: Path) -> None:
    """Create the folder `path` goes in, or say in one line why it cannot be."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise StorageError(
            _("cannot create {path}: a part of the path is a file").format(path=path)
        ) from None
    except OSError as exc:
        raise _cannot_create(path, exc) from None


def _cannot_create(path: Path, exc: OSError) -> StorageError:
    return StorageError(
        _("cannot create {path}: {reason}").format(path=path, reason=exc.strerror or exc)
    )


def missing(path: Path) -> StorageMissing:
    """The one line an admin reads when a verb finds no database at `path`."""
    return StorageMissing(
        _(
            "no database at {path}: check DATABASE_URL, or create one with `python -m bot migrate`"
        ).format(path=path)
    )


def _file_identity(path: Path) -> tuple[int, int] | None:
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_dev, found.st_ino


@dataclass(frozen=True, slots=True)
class SQLiteTable:
    """A table of the SQLite file: its columns in order, the tables it refers to."""

    name: str
    columns: tuple[str, ...]
    parents: frozenset[str]


class SQLiteTx:
    """Statements of one write transaction; each runs whole in one hop to the writer's thread.

    What needs no answer rides with the next hop: BEGIN IMMEDIATE with the first statement,
    savepoints and `later` statements with the next statement or the COMMIT."""

    def __init__(self, conn: aiosqlite.Connection, *, begin: bool = False) -> None:
        self._conn = conn
        self._begin = begin
        self._later: list[tuple[str, Params]] = []

    def later(self, sql: str, params: Params | None = None) -> None:
        self._later.append((sql, {} if params is None else params))

    async def _run(self, work: Any, sql: str, params: Params | None) -> Any:
        if not self._begin and not self._later:
            return await _on_thread(self._conn, work, sql, params)
        first = _Prefix(self._begin, self._later, work)
        self._begin, self._later = False, []
        return await _on_thread(self._conn, first, sql, params)

    async def commit(self) -> None:
        """Run what is left and COMMIT, in one hop; on failure, roll back."""
        if self._begin and not self._later:
            return  # nothing ever reached the database: nothing to commit
        try:
            await self._run(_changed_rows, "COMMIT", None)
        except BaseException:
            await self.rollback()
            raise

    async def rollback(self) -> None:
        """Roll back whatever began (after any hop still running: the thread's queue keeps
        the order, so a cancelled statement cannot begin a transaction behind it)."""
        self._begin, self._later = False, []
        await _to_completion(self._conn._execute(_rollback_if_open, self._conn._conn))  # type: ignore[no-untyped-call]

    async def undo_to(self, savepoint: str) -> None:
        """Undo a savepoint's block (a caught failure): nothing if it never reached the
        database, else ROLLBACK TO and RELEASE in one hop."""
        opening = f"SAVEPOINT {savepoint}"
        for index, (sql, _params) in enumerate(self._later):
            if sql == opening:
                del self._later[index:]
                return
        self._later.append((f"ROLLBACK TO {savepoint}", {}))
        await self._run(_changed_rows, f"RELEASE {savepoint}", None)

    async def execute(self, sql: str, params: Params | None = None) -> int:
        changed: int = await self._run(_changed_rows, sql, params)
        return changed

    async def execute_many(self, sql: str, rows: Iterable[Params]) -> None:
        await self._run(_many, sql, list(rows))

    async def fetch_one(self, sql: str, params: Params | None = None) -> Row | None:
        return await self._run(_first_row, sql, params)

    async def fetch_all(self, sql: str, params: Params | None = None) -> list[Row]:
        rows: list[Row] = await self._run(_all_rows, sql, params)
        return rows

    async def fetch_value(self, sql: str, params: Params | None = None) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]

    async def insert_returning_id(self, sql: str, params: Params | None = None) -> int:
        return int(await self.fetch_value(f"{sql} RETURNING id", params))


@dataclass(frozen=True, slots=True)
class _Prefix:
    """On the writer's thread: BEGIN if owed, the statements that waited, then `work`."""

    begin: bool
    waiting: list[tuple[str, Params]]
    work: Any

    def __call__(self, conn: sqlite3.Connection, sql: str, params: Params) -> Any:
        if self.begin and not conn.in_transaction:
            conn.execute("BEGIN IMMEDIATE").close()
        for waiting_sql, waiting_params in self.waiting:
            conn.execute(waiting_sql, waiting_params).close()
        return self.work(conn, sql, params)


def _rollback_if_open(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK").close()


async def _on_thread(conn: aiosqlite.Connection, work: Any, sql: str, params: Any) -> Any:
    """Run `work` on the connection's own thread, whole: no statement stays open across an
    await (an open statement would hold the connection's snapshot)."""
    try:
        return await conn._execute(work, conn._conn, sql, () if params is None else params)  # type: ignore[no-untyped-call]
    except sqlite3.Error as exc:
        raise _translate(exc) from exc


def _first_row(conn: sqlite3.Connection, sql: str, params: Params) -> sqlite3.Row | None:
    cursor = conn.execute(sql, params)
    try:
        row: sqlite3.Row | None = cursor.fetchone()
        return row
    finally:
        cursor.close()


def _all_rows(conn: sqlite3.Connection, sql: str, params: Params) -> list[sqlite3.Row]:
    cursor = conn.execute(sql, params)
    try:
        return cursor.fetchall()
    finally:
        cursor.close()


def _changed_rows(conn: sqlite3.Connection, sql: str, params: Params) -> int:
    cursor = conn.execute(sql, params)
    try:
        return cursor.rowcount
    finally:
        cursor.close()


def _many(conn: sqlite3.Connection, sql: str, rows: list[Params]) -> None:
    conn.executemany(sql, rows).close()


async def _to_completion(statement: Awaitable[Any]) -> None:
    """Await a statement; if the caller is cancelled meanwhile, let it finish first.

    aiosqlite runs statements on a worker thread that a cancellation does not stop, so
    the connection's state must be known (in a transaction or not) before we move on.
    """
    task = asyncio.ensure_future(statement)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait({task})
        raise


def available_migrations(dialect: str = "sqlite") -> list[tuple[int, str]]:
    """The numbered migrations for `dialect`, in order: the shared files, each replaced by
    the dialect's own file of the same number where its SQL differs
    (`migrations/postgresql/`)."""
    root = resources.files("bot.storage") / "migrations"
    found: dict[int, str] = {}
    for folder in [root] if dialect == "sqlite" else [root, root / dialect]:
        for entry in folder.iterdir():
            match = _MIGRATION_RE.match(entry.name)
            if match:
                found[int(match[1])] = entry.read_text(encoding="utf-8")
    return sorted(found.items())
