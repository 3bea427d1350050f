"""PostgreSQL beside SQLite in the suite.

Every test that opens a database (through the `database_url` fixture, so `settings`, `db`,
`services`, `router`, `chat`, …) runs twice: on a new SQLite file and on a new PostgreSQL
schema (created before the test, dropped after it, so four workers never share a table). A
test of SQLite itself (its file lock, its PRAGMAs, its file's bytes) is marked
`@pytest.mark.sqlite_only("why")`; `grep -rn sqlite_only tests/` lists them.

The server is RELAIS_TEST_POSTGRES (default postgresql://postgres@127.0.0.1:5432/test); the
run creates a database of its own there (pgsuite_<host>_<pid>_<epoch>_…, dropped at the end), so
nothing else on the server shares its connections, and first drops those that killed runs
left behind (drop_stale). Where none answers, the run says so in one line and those tests
are skipped on PostgreSQL; with RELAIS_REQUIRE_POSTGRES=1 (CI) the run fails instead.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"

# Databases this suite makes on the server: pgsuite_<host>_<pid>_<epoch>_… for a run's
# schemas, relais_test_<host>_<pid>_<epoch>_… for a test that needs a database of its own
# (tests/postgresql.py).
STALE_AFTER_S = 3600  # a run older than this is dead whoever made it (make test: minutes)
_HOST = f"{zlib.crc32(socket.gethostname().encode()):08x}"  # whose /proc tells if a run lives


def database_name(prefix: str) -> str:
    """A new database's name, saying which process made it and when (see drop_stale)."""
    return f"{prefix}{_HOST}_{os.getpid()}_{int(time.time())}_{uuid.uuid4().hex[:6]}"


def url_of(settings: Any) -> str:
    """DATABASE_URL for a command run on the test's database (SQLite file or PostgreSQL)."""
    return settings.database_url or f"sqlite:///{settings.database_path}"


def _owner_gone(name: str, age: float) -> bool:
    """Whether the run that made database `name` is over: its process (on this machine) is
    gone a minute after the database was made, or the database is over an hour old. The age
    is the server's reading, never the name's time: a run under faketime (make test-future)
    writes a time years away, and two runs on different clocks must not judge each other."""
    if age > STALE_AFTER_S:
        return True
    parts = name.split("_")
    if len(parts) < 5 or not (parts[-3].isdigit() and parts[-2].isdigit()):
        return False
    host, pid = parts[-4], int(parts[-3])
    return host == _HOST and age > 60 and not os.path.exists(f"/proc/{pid}")


async def drop_stale() -> list[str]:
    """Drop the databases killed runs left behind, never a live run's: only those whose
    process is gone or that are over an hour old, and without FORCE, so PostgreSQL refuses
    any database someone is still connected to."""
    import asyncpg

    conn = await asyncpg.connect(f"{server_url().rsplit('/', 1)[0]}/postgres", timeout=10)
    dropped = []
    try:
        ours = "datname LIKE 'pgsuite\\_%' OR datname LIKE 'relais\\_test\\_%'"
        try:  # a database's age from its first file (a superuser's view), on the server's clock
            rows = await conn.fetch(
                "SELECT datname, EXTRACT(EPOCH FROM now() - (pg_stat_file("
                "'base/' || oid || '/PG_VERSION')).modification) AS age"
                f" FROM pg_database WHERE {ours}"
            )
        except asyncpg.PostgresError:
            rows = await conn.fetch(f"SELECT datname, 0 AS age FROM pg_database WHERE {ours}")
        for row in rows:
            name, age = row["datname"], float(row["age"] or 0)
            if not _owner_gone(name, age):
                continue
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            except asyncpg.PostgresError:
                continue  # someone is connected: not ours to drop
            dropped.append(name)
    finally:
        await conn.close()
    return dropped


_CREATED = pytest.StashKey[str]()
_reachable: dict[str, str] = {}  # url -> "" if reachable, else why not


SUITE_DATABASE = "RELAIS_TEST_SUITE_DATABASE"  # set by the controller, read by workers


def server_url() -> str:
    return os.environ.get("RELAIS_TEST_POSTGRES", DEFAULT_URL)


def suite_url() -> str:
    """The database this run's schemas live in (the server's own if the run made none)."""
    return os.environ.get(SUITE_DATABASE) or server_url()


async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(server_url(), timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def required() -> bool:
    return os.environ.get("RELAIS_REQUIRE_POSTGRES", "") not in ("", "0")


def _off_loop(work: Any) -> Any:
    """Run a coroutine function on a loop of its own (fixtures run beside the test's)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work()).result()


def unreachable_reason() -> str:
    """'' if PostgreSQL answers at server_url(), else why not (checked once per process)."""
    url = server_url()
    if url not in _reachable:

        async def probe() -> str:
            import asyncpg

            try:
                conn = await asyncpg.connect(url, timeout=3)
            except Exception as exc:
                return f"{type(exc).__name__}: {exc}"
            await conn.close()
            return ""

        _reachable[url] = _off_loop(probe)
    return _reachable[url]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only(why): a test of SQLite itself, not run on PostgreSQL"
    )
    if hasattr(config, "workerinput"):
        return  # the controller probes and reports once
    reason = unreachable_reason()
    if reason and required():
        raise pytest.UsageError(
            f"RELAIS_REQUIRE_POSTGRES is set but PostgreSQL at {server_url()} is not "
            f"reachable ({reason})"
        )
    if not reason and not os.environ.get(SUITE_DATABASE):
        _off_loop(drop_stale)
        # Workers start after this and inherit the variable.
        name = database_name("pgsuite_")
        _off_loop(lambda: _admin(f'CREATE DATABASE "{name}"'))
        os.environ[SUITE_DATABASE] = f"{server_url().rsplit('/', 1)[0]}/{name}"
        config.stash[_CREATED] = name


def pytest_unconfigure(config: pytest.Config) -> None:
    name = config.stash.get(_CREATED, "")
    if name:
        os.environ.pop(SUITE_DATABASE, None)
        _off_loop(lambda: _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    reason = unreachable_reason()
    if reason:
        terminalreporter.write_line(
            f"PostgreSQL not reachable at {server_url()} ({reason}): the tests in "
            f"ran on SQLite only",
            yellow=True,
            bold=True,
        )
    else:
        terminalreporter.write_line(
            f"PostgreSQL at {server_url()}: every test that opens a database ran on it too"
        )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database_url" not in metafunc.fixturenames:
        return
    if metafunc.definition.get_closest_marker("sqlite_only"):
        return
    metafunc.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


def fresh_schema(request: pytest.FixtureRequest) -> Iterator[str]:
    """A URL whose tables live in a schema of their own, dropped when the test ends."""
    reason = unreachable_reason()
    if reason:
        if required():
            pytest.fail(f"PostgreSQL required but not reachable: {reason}")
        pytest.skip(f"PostgreSQL not reachable: {reason}")
    import asyncpg

    url = suite_url()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    schema = f"t_{worker}_{uuid.uuid4().hex[:10]}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    _off_loop(lambda: run(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in url else "?"
    # Tests need no durability: commits do not wait for the disk.
    try:
        yield f"{url}{separator}search_path={schema}&synchronous_commit=off"
    finally:
        _off_loop(lambda: run(f'DROP SCHEMA "{schema}" CASCADE'))
