"""The PostgreSQL database: a pool of asyncpg connections behind the same interface as SQLite.

Chosen for speed (bench/pg_drivers.py, BENCHMARKS.md: asyncpg reads a row by key 2.7 to 5.5
times faster than psycopg 3, a small transaction 1.1 to 1.8 times, an insert 1.0 to 1.6
times, across runs on a shared machine; both wait for the disk on commit). Statements keep their
`:name` parameters in the code; they are rewritten once per statement text to PostgreSQL's
`$1, $2…` (string literals, quoted names, comments and `::` casts left alone) and prepared
by asyncpg on each connection.

Write transactions run side by side, in every process, under READ COMMITTED: one that only
writes (INSERT, UPDATE, DELETE with no SELECT in them: a key noted, a reply queued, a step
saved) is safe as it is: the rows it touches are locked by the statements themselves,
`ON CONFLICT` settles a duplicate key, and their commits share the disk's flushes. A
transaction that reads what it then writes (a quota checked, a status tested) must see no
other such writer in between, as under SQLite's `BEGIN IMMEDIATE`: at its first statement
that reads, it takes a transaction-scoped advisory lock of the schema, held to its end,
so code that reads then writes never loses an update, whichever backend it runs on. Reads
outside a transaction go to the pool and see every commit.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import asyncpg

from bot.i18n import _
from bot.storage.backend import (
    Conflict,
    Row,
    StorageBusy,
    StorageError,
    StorageMissing,
    Unit,
    unit_of,
)
from bot.storage.data_migrations import STEPS as DATA_STEPS
from bot.storage.db import available_migrations, create_new_file

log = logging.getLogger(__name__)

Params = Sequence[Any] | Mapping[str, Any]

# Advisory locks, in the two-key space (never the same lock as a one-key advisory lock):
# "RELA" and the schema's hash, so campaigns in other schemas of one database do not wait
# for each other.
LOCK_CLASS = 0x52454C41
# One transaction that reads before it writes at a time (see the module's note).
WRITE_LOCK = f"{LOCK_CLASS}, hashtext(current_schema())"
MIGRATION_LOCK = f"{LOCK_CLASS}, hashtext('migrate:' || current_schema())"  # one migrates
STATEMENT_CACHE = 1024  # Relais runs a few hundred distinct statements
# Connections a process's write transactions may hold at once: the rest of the pool is
# left to reads, so a read made inside a transaction's block always finds a connection.
READS_KEPT = 2

# A statement that reads rows before it writes (or only reads): a SELECT or WITH in it.
_READS = re.compile(r"\b(?:SELECT|WITH)\b")

# What a statement's text holds that is not a parameter, then a parameter (:name or ?).
_TOKENS = re.compile(
    r"""
      '(?:[^']|'')*'          # a string literal
    | "(?:[^"]|"")*"          # a quoted name
    | --[^\n]*                # a comment to the end of the line
    | /\*.*?\*/               # a block comment
    | \$(?P<tag>[A-Za-z_]*)\$.*?\$(?P=tag)\$   # a dollar-quoted body
    | ::                      # a cast, not a parameter
    | :(?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<positional>\?)
    """,
    re.VERBOSE | re.DOTALL,
)


@lru_cache(maxsize=4096)
def reads(sql: str) -> bool:
    """Whether a statement reads rows (so its transaction must see no other reading writer
    in between): anything but a plain INSERT, UPDATE or DELETE."""
    text = _TOKENS.sub(_blank_literals, sql).strip().upper()
    if _READS.search(text):
        return True
    if text.startswith("UPDATE"):
        return " FROM " in f" {' '.join(text.split())} "  # UPDATE … FROM another table
    if text.startswith("DELETE"):
        return " USING " in f" {' '.join(text.split())} "  # DELETE … USING another table
    return not text.startswith("INSERT")


def _blank_literals(match: re.Match[str]) -> str:
    # A literal or a comment may say "select": only the statement's own words count.
    return " " if match[0][:1] in ("'", '"', "-", "/", "$") else match[0]


@lru_cache(maxsize=4096)
def translate(sql: str) -> tuple[str, tuple[str | int, ...]]:
    """`sql` with `$n` placeholders, and what each `$n` takes: a parameter's name, or the
    index of a positional `?` (code not yet moved to named parameters)."""
    order: list[str | int] = []
    numbers: dict[str, int] = {}
    positional = iter(range(10_000))

    def replace(match: re.Match[str]) -> str:
        name = match["name"]
        if name is not None:
            if name not in numbers:
                order.append(name)
                numbers[name] = len(order)
            return f"${numbers[name]}"
        if match["positional"] is not None:
            order.append(next(positional))
            return f"${len(order)}"
        return match[0]

    return _TOKENS.sub(replace, sql), tuple(order)


def _arguments(sql: str, params: Params | None) -> tuple[str, list[Any]]:
    text, order = translate(sql)
    if not order:
        return text, []
    if params is None:
        raise StorageError(f"parameters missing for: {sql}")
    try:
        if isinstance(params, Mapping):
            return text, [params[str(key)] for key in order]
        return text, [params[int(key)] for key in order]
    except (KeyError, IndexError, TypeError) as exc:
        raise StorageError(f"parameter {exc} missing for: {sql}") from None


def _changed(status: str) -> int:
    """The row count of a command tag: 'UPDATE 3' -> 3, 'INSERT 0 1' -> 1."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


def _text(value: Any) -> str:
    """A text parameter. SQLite stores a number given for a TEXT column as its digits; so
    does this. Anything else (a datetime) must be converted by the repository first."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"expected text, got {type(value).__name__}: convert it in the repository")


# What a statement may raise: the server's errors, the client's (a parameter of the wrong
# type, a connection closed under it), the network's.
ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError)


def _translate_error(exc: BaseException) -> StorageError | OverflowError:
    if isinstance(exc, asyncpg.UniqueViolationError):
        return Conflict(str(exc))
    if isinstance(exc, asyncpg.TooManyConnectionsError):
        return no_connection_left("", exc)
    # A transaction that wrote before it read waits for the schema's lock while holding rows
    # another reading writer may want: PostgreSQL breaks the cycle by aborting one. Nothing
    # of it was kept, and the person is asked to try again, as when SQLite is busy.
    if isinstance(exc, asyncpg.DeadlockDetectedError | asyncpg.SerializationError):
        return StorageBusy(str(exc))
    # A number beyond a column's range (an id typed or forged past 2**31) fits nothing, as
    # SQLite's OverflowError says past 2**63: the router answers it as such, not as a fault.
    if isinstance(exc, asyncpg.NumericValueOutOfRangeError) or (
        isinstance(exc, asyncpg.DataError) and "out of int" in str(exc)
    ):
        return OverflowError(str(exc))
    return StorageError(str(exc))


def no_connection_left(url: str, exc: BaseException) -> StorageError:
    """The server refused one more connection (max_connections): say which settings decide
    how many a worker holds."""
    return StorageError(
        _(
            "PostgreSQL{at} has no connection left for this worker ({reason}): each worker "
            "holds up to RELAIS_PG_POOL + RELAIS_PG_TURNS + 1 connections; lower those "
            "settings or run fewer workers, raise the server's max_connections, or put "
            "PgBouncer in session mode in front (docs/deploy-postgresql.md, Connection budget)"
        ).format(at=f" ({where(url)})" if url else "", reason=exc)
    )


def where(url: str) -> str:
    """host:port/database of a URL, for messages (never the password)."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = parts.port or 5432
    return f"{host}:{port}{parts.path}"


class PostgresDialect:
    """SQL fragments as PostgreSQL writes them."""

    name = "postgresql"

    def greatest(self, *expressions: str) -> str:
        return f"GREATEST({', '.join(expressions)})"

    def least(self, *expressions: str) -> str:
        return f"LEAST({', '.join(expressions)})"

    def joined(self, expression: str, separator: str) -> str:
        quoted = separator.replace("'", "''")
        return f"string_agg(CAST({expression} AS TEXT), '{quoted}')"

    def indexed_by(self, index: str) -> str:
        return ""  # PostgreSQL's planner takes no hints

    def explain(self, sql: str) -> str:
        return f"EXPLAIN {sql}"


DIALECT = PostgresDialect()


class PostgresDatabase:
    """One PostgreSQL database (`postgresql://user@host:port/name`), through a pool."""

    dialect = DIALECT
    # What the SQLite backend does for erasure (fold its log) PostgreSQL's VACUUM does.
    checkpoint_owed = False

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.path = Path(where(url))  # for messages that name the database
        self._pool: asyncpg.Pool | None = None
        self._pool_size = pool_size
        # A writer waiting for its turn holds no connection (see READS_KEPT).
        self._writers = asyncio.Semaphore(max(pool_size - READS_KEPT, 1))

    async def open(self, *, create: bool = True) -> bool:
        """Connect; always False: a PostgreSQL database is created by its admin (one that
        does not exist is StorageMissing), never by Relais."""
        try:
            self._pool = await asyncpg.create_pool(
                self.url,
                min_size=1,
                max_size=self._pool_size,
                statement_cache_size=STATEMENT_CACHE,
                init=_init_connection,
                reset=_reset_connection,
            )
        except asyncpg.TooManyConnectionsError as exc:
            raise no_connection_left(self.url, exc) from None
        except asyncpg.InvalidCatalogNameError:
            raise StorageMissing(
                _(
                    "no database at {path}: create it (createdb), then run `python -m bot migrate`"
                ).format(path=where(self.url))
            ) from None
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StorageError(
                _("cannot reach PostgreSQL at {path}: {reason}").format(
                    path=where(self.url), reason=exc
                )
            ) from None
        return False

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise StorageError("database is not open")
        return self._pool

    def vanished(self) -> bool:
        """A server database cannot be deleted from under an open connection unnoticed."""
        return False

    async def checkpoint(self) -> bool:
        return True

    async def checkpoint_if_owed(self) -> None:
        return None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresTx]:
        """A write transaction; commits on success, rolls back on any error or cancellation.

        It begins with its first statement (in the same round trip as the schema's lock
        when that statement reads), so a block that writes nothing costs nothing. Inside an
        update's unit (bot/storage/backend.py) the first one is the update's own
        transaction, committed when the update ends, and the later ones its savepoints."""
        unit = unit_of(self)
        if unit is not None:
            async with self._in_unit(unit) as tx:
                yield tx
            return
        async with self._writers, self.pool.acquire() as conn:
            tx = PostgresTx(conn)
            try:
                yield tx
                await tx.flush()
                if tx.begun:
                    await conn.execute("COMMIT")
            except BaseException as exc:
                if tx.begun:
                    await _abandon(conn)
                if isinstance(exc, ERRORS):
                    raise _translate_error(exc) from exc
                raise

    @asynccontextmanager
    async def _in_unit(self, unit: Unit) -> AsyncIterator[PostgresTx]:
        if unit.tx is None:
            # The update's first write: one connection holds its transaction until the
            # update ends (Unit.commit or Unit.rollback, through `end`).
            await self._writers.acquire()
            try:
                conn = await self.pool.acquire()
            except BaseException:
                self._writers.release()
                raise
            # What the update leaves when it changed nothing (its key, answers, activity) are
            # plain writes: they take no lock, or every update of every process would wait
            # for every other (the lock comes with a read, if one follows).
            tx = PostgresTx(conn, lock_first=not unit.only_writes)

            async def end(commit: bool) -> None:
                try:
                    if commit:
                        try:
                            await tx.flush()
                        except BaseException:
                            if tx.begun:
                                await _abandon(conn)
                            raise
                    if commit and tx.begun:
                        try:
                            await conn.execute("COMMIT")
                        except ERRORS as exc:
                            await _abandon(conn)
                            raise _translate_error(exc) from exc
                    elif tx.begun:
                        await _abandon(conn)
                finally:
                    try:
                        await self.pool.release(conn)
                    finally:
                        self._writers.release()

            unit.begin(self, tx, end)
            try:
                yield tx
            except BaseException as exc:
                unit.abandoned()  # nothing else was written yet: the whole transaction goes
                await end(False)
                if isinstance(exc, ERRORS):
                    raise _translate_error(exc) from exc
                raise
            return
        assert isinstance(unit.tx, PostgresTx)
        tx = unit.tx
        name = unit.savepoint()
        await tx.execute(f"SAVEPOINT {name}")
        try:
            yield tx
        except BaseException as exc:
            try:
                await tx.execute(f"ROLLBACK TO SAVEPOINT {name}")
            except BaseException:
                # Without this the connection, and the writer's place, would stay taken.
                await unit.broken()
                raise
            if isinstance(exc, ERRORS):
                raise _translate_error(exc) from exc
            raise
        await tx.execute(f"RELEASE SAVEPOINT {name}")

    def _unit_tx(self) -> PostgresTx | None:
        """The transaction this task's update holds, once it has begun: its reads must see
        what it wrote."""
        unit = unit_of(self)
        if unit is not None and isinstance(unit.tx, PostgresTx) and unit.tx.begun:
            return unit.tx
        return None

    async def fetch_all(self, sql: str, params: Params | None = None) -> list[Row]:
        """Rows of a read-only query, from committed data."""
        if (tx := self._unit_tx()) is not None:
            return await tx.fetch_all(sql, params)
        text, args = _arguments(sql, params)
        try:
            return list(await self.pool.fetch(text, *args))
        except ERRORS as exc:
            raise _translate_error(exc) from exc

    async def fetch_one(self, sql: str, params: Params | None = None) -> Row | None:
        if (tx := self._unit_tx()) is not None:
            return await tx.fetch_one(sql, params)
        text, args = _arguments(sql, params)
        try:
            return await self.pool.fetchrow(text, *args)
        except ERRORS as exc:
            raise _translate_error(exc) from exc

    async def fetch_value(self, sql: str, params: Params | None = None) -> Any:
        if (tx := self._unit_tx()) is not None:
            return await tx.fetch_value(sql, params)
        text, args = _arguments(sql, params)
        try:
            return await self.pool.fetchval(text, *args)
        except ERRORS as exc:
            raise _translate_error(exc) from exc

    def stream(
        self, sql: str, params: Params | None = None, chunk: int = 500
    ) -> AsyncIterator[Row]:
        """Rows of a long read, `chunk` at a time, all from one snapshot."""
        return self.iterate(sql, params or {}, chunk)

    async def iterate(self, sql: str, params: Params = (), chunk: int = 500) -> AsyncIterator[Row]:
        text, args = _arguments(sql, params)
        try:
            async with (
                self.pool.acquire() as conn,
                conn.transaction(isolation="repeatable_read", readonly=True),
            ):
                async for row in conn.cursor(text, *args, prefetch=chunk):
                    yield row
        except ERRORS as exc:
            raise _translate_error(exc) from exc

    @asynccontextmanager
    async def bulk_load(self, tables: list[str]) -> AsyncIterator[BulkLoad]:
        """One transaction that fills `tables` with COPY, their triggers off (a copy brings
        the rows the triggers would have written); identities then start after the highest
        id. Nothing stays if the block fails."""
        async with self.transaction() as tx:
            conn = await tx.connection()
            for table in tables:
                await conn.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER USER')
            yield BulkLoad(conn)
            for table in tables:
                await conn.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER USER')
            identities = await conn.fetch(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND is_identity = 'YES'"
            )
            for table, column in identities:
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', '{column}'),"
                    f' COALESCE(MAX("{column}"), 0) + 1, false) FROM "{table}"'
                )

    async def backup(self, target: Path) -> None:
        """Dump the database to a new file `target` (owner-only) with pg_dump's custom
        format (restored with pg_restore); StorageError if `target` exists, or, without
        pg_dump on this machine, one line saying how to run it."""
        pg_dump = shutil.which("pg_dump")
        if pg_dump is None:
            raise StorageError(
                _(
                    "pg_dump is not installed here: back up PostgreSQL with `pg_dump "
                    "--format=custom --file={target} {database}` where it is"
                ).format(target=target, database=without_password(self.url))
            )
        create_new_file(target)
        url, schema = _libpq(self.url)
        process = await asyncio.create_subprocess_exec(
            pg_dump,
            "--format=custom",
            f"--file={target}",
            f"--dbname={url}",
            *([f"--schema={schema}"] if schema else []),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _out, errors = await process.communicate()
        if process.returncode != 0:
            os.unlink(target)  # no half-written dump to be taken for a backup
            reason = errors.decode(errors="replace").strip().splitlines()
            raise StorageError(
                _("pg_dump failed: {reason}").format(reason=reason[-1] if reason else "?")
            )

    async def version(self) -> int:
        """The last migration applied (0 for an empty database)."""
        if not await self.fetch_value("SELECT to_regclass('schema_version') IS NOT NULL"):
            return 0
        return int(await self.fetch_value("SELECT MAX(version) FROM schema_version") or 0)

    async def migrate(self) -> list[int]:
        """Apply every migration newer than the database, each in its own transaction;
        several processes starting at once migrate one after the other."""
        known = available_migrations("postgresql")
        newest = max((number for number, _ in known), default=0)
        applied = []
        async with self.pool.acquire() as conn:
            await conn.execute(f"SELECT pg_advisory_lock({MIGRATION_LOCK})")
            try:
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
                )
                current = int(await conn.fetchval("SELECT MAX(version) FROM schema_version") or 0)
                if current > newest:
                    raise StorageError(
                        f"the database is at version {current}, newer than this Relais ({newest})"
                    )
                for number, sql in known:
                    if number <= current:
                        continue
                    try:
                        async with conn.transaction():
                            await conn.execute(sql)
                            if number in DATA_STEPS:
                                await DATA_STEPS[number](PostgresTx(conn, begun=True))
                            await conn.execute("DELETE FROM schema_version")
                            await conn.execute(
                                "INSERT INTO schema_version (version) VALUES ($1)", number
                            )
                    except ERRORS as exc:
                        raise StorageError(f"migration {number:04d} failed: {exc}") from exc
                    log.info("database migrated to version %d", number)
                    applied.append(number)
            finally:
                try:
                    await conn.execute(f"SELECT pg_advisory_unlock({MIGRATION_LOCK})")
                except ERRORS:
                    pass  # the connection is gone, and its lock with it
        return applied


async def _reset_connection(conn: asyncpg.Connection) -> None:
    """What a connection goes back to the pool with. Relais keeps no session state on the
    pool's connections (its advisory locks are the transaction's, the migration's is
    released before the connection goes back; LISTEN has a connection of its own), so only
    a transaction left open is ended: asyncpg's default reset cost a round trip each time,
    every read a second one."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


async def _init_connection(conn: asyncpg.Connection) -> None:
    # Text parameters accept numbers, as SQLite's TEXT columns do. Binary format: COPY
    # (bulk_load) has no other.
    await conn.set_type_codec(
        "text", schema="pg_catalog", encoder=_text_bytes, decoder=_decode, format="binary"
    )


def _text_bytes(value: Any) -> bytes:
    return _text(value).encode()


def _decode(data: bytes) -> str:
    return data.decode()


async def _abandon(conn: asyncpg.Connection) -> None:
    """Roll back; a connection whose state cannot be known is closed, never reused."""
    try:
        await asyncio.shield(conn.execute("ROLLBACK"))
    except BaseException:
        conn.terminate()


# What libpq (pg_dump, psql) reads in a URL; asyncpg passes any other parameter on as a
# server setting (search_path=…, synchronous_commit=…).
_LIBPQ_PARAMETERS = {
    "host",
    "port",
    "user",
    "password",
    "dbname",
    "passfile",
    "connect_timeout",
    "options",
    "application_name",
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "sslpassword",
    "target_session_attrs",
    "krbsrvname",
    "gssencmode",
    "channel_binding",
}


def _libpq(url: str) -> tuple[str, str]:
    """`url` as libpq reads it, and the schema it names (search_path), if any."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query)
    kept = [(key, value) for key, value in query if key in _LIBPQ_PARAMETERS]
    schema = next((value for key, value in query if key == "search_path"), "")
    return parts._replace(query=urlencode(kept)).geturl(), schema


def without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", "@", 1)
    return parts._replace(netloc=netloc).geturl()


class BulkLoad:
    """Rows written with COPY and read back, inside `PostgresDatabase.bulk_load`."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def count(self, table: str) -> int:
        return int(await self._conn.fetchval(f'SELECT COUNT(*) FROM "{table}"'))

    async def insert(self, table: str, columns: Sequence[str], rows: list[Sequence[Any]]) -> None:
        try:
            await self._conn.copy_records_to_table(table, records=rows, columns=list(columns))
        except ERRORS as exc:
            raise _translate_error(exc) from exc

    async def execute(self, sql: str) -> None:
        """Statements without parameters (a roll-up rebuilt, ANALYZE), in the same load."""
        try:
            await self._conn.execute(sql)
        except ERRORS as exc:
            raise _translate_error(exc) from exc

    async def read(self, table: str, columns: Sequence[str]) -> AsyncIterator[Row]:
        names = ", ".join(f'"{column}"' for column in columns)
        async for row in self._conn.cursor(f'SELECT {names} FROM "{table}"', prefetch=5000):
            yield row


class PostgresTx:
    """Statements of one write transaction, on the connection that holds it: BEGIN goes with
    the first statement, the schema's lock with the first statement that reads."""

    def __init__(
        self, conn: asyncpg.Connection, *, begun: bool = False, lock_first: bool = False
    ) -> None:
        self._conn = conn
        self.begun = begun
        self.locked = begun  # a migration holds the migration lock instead
        # An update's unit takes the schema's lock with its first statement, whatever it
        # is: it holds its rows until the update ends, and must not wait for the lock then.
        self.lock_first = lock_first
        self._later: list[tuple[str, Params | None]] = []

    def later(self, sql: str, params: Params | None = None) -> None:
        self._later.append((sql, params))

    async def flush(self) -> None:
        """Run the statements left for later (each a round trip: asyncpg sends one at a time)."""
        waiting, self._later = self._later, []
        for sql, params in waiting:
            await self.execute(sql, params)

    async def _ready(self, sql: str) -> None:
        if self.locked or (self.begun and not reads(sql)):
            return
        try:
            if not self.begun:
                self.begun = True  # from here on, a failure rolls back
                if reads(sql) or self.lock_first:
                    # One round trip: begin, then wait for any other reading writer to finish.
                    await self._conn.execute(f"BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK})")
                    self.locked = True
                else:
                    await self._conn.execute("BEGIN")
            else:
                await self._conn.execute(f"SELECT pg_advisory_xact_lock({WRITE_LOCK})")
                self.locked = True
        except ERRORS as exc:
            raise _translate_error(exc) from exc

    async def connection(self) -> asyncpg.Connection:
        """The connection, in the transaction and holding the schema's lock (bulk loads)."""
        await self._ready("SELECT")
        return self._conn

    async def execute(self, sql: str, params: Params | None = None) -> int:
        if self._later:
            await self.flush()
        text, args = _arguments(sql, params)
        await self._ready(sql)
        try:
            return _changed(await self._conn.execute(text, *args))
        except ERRORS as exc:
            raise _translate_error(exc) from exc

    async def execute_many(self, sql: str, rows: Iterable[Params]) -> None:
        if self._later:
            await self.flush()
        text, _order = translate(sql)
        batch = [_arguments(sql, row)[1] for row in rows]
        if not batch:
            return
        await self._ready(sql)
        try:
            await self._conn.executemany(text, batch)
        except ERRORS as exc:
            raise _translate_error(exc) from exc

    async def fetch_one(self, sql: str, params: Params | None = None) -> Row | None:
        if self._later:
            await self.flush()
        text, args = _arguments(sql, params)
        await self._ready(sql)
        try:
            return await self._conn.fetchrow(text, *args)
        except ERRORS as exc:
            raise _translate_error(exc) from exc

    async def fetch_all(self, sql: str, params: Params | None = None) -> list[Row]:
        if self._later:
            await self.flush()
        text, args = _arguments(sql, params)
        await self._ready(sql)
        try:
            return list(await self._conn.fetch(text, *args))
        except ERRORS as exc:
            raise _translate_error(exc) from exc

    async def fetch_value(self, sql: str, params: Params | None = None) -> Any:
        if self._later:
            await self.flush()
        text, args = _arguments(sql, params)
        await self._ready(sql)
        try:
            return await self._conn.fetchval(text, *args)
        except ERRORS as exc:
            raise _translate_error(exc) from exc

    async def insert_returning_id(self, sql: str, params: Params | None = None) -> int:
        return int(await self.fetch_value(f"{sql} RETURNING id", params))
