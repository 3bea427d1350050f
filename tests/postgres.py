"""PostgreSQL beside SQLite in the suite.

The test files listed in ON_POSTGRES run every test that opens a database twice: on a new
SQLite file and on a new PostgreSQL schema (created before the test, dropped after it, so
four workers never share a table). The list grows as repositories move to the backend
interface; a test that checks SQLite itself (its file, its PRAGMAs) is marked
`@pytest.mark.sqlite_only`.

The server is RELAIS_TEST_POSTGRES (default postgresql://postgres@127.0.0.1:5432/test); the
run creates a database of its own there (pgsuite_…, dropped at the end), so nothing
else on the server shares its connections. Where none answers, the run says so in one
line and those tests are skipped on PostgreSQL; with RELAIS_REQUIRE_POSTGRES=1 (CI) the
run fails instead. RELAIS_TEST_ON_POSTGRES=all runs every file on both, to see what is left.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"

# Test files whose tests run on both backends (every test there that opens a database).
ON_POSTGRES = {
    "test_alerts.py",
    "test_broadcast_wizard.py",
    "test_command_words.py",
    "test_copy_database.py",
    "test_dashboard.py",
    "test_delivery.py",
    "test_files.py",
    "test_incident_readers.py",
    "test_invites.py",
    "test_link.py",
    "test_numbered_choices.py",
    "test_onboarding.py",
    "test_outbox_queue.py",
    "test_payloads.py",
    "test_people_storage.py",
    "test_postgres.py",
    "test_profile.py",
    "test_report_chat.py",
    "test_report_digests.py",
    "test_retention_clock.py",
    "test_riposte.py",
    "test_router.py",
    "test_settings.py",
    "test_signal_adapter.py",
    "test_signal_cli_contract.py",
    "test_storage.py",
    "test_task_domain.py",
    "test_task_import.py",
    "test_task_offers.py",
    "test_teams_and_roles.py",
    "test_words.py",
}

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
        "markers", "sqlite_only: a test of SQLite itself, not run on PostgreSQL"
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
        # Workers start after this and inherit the variable.
        name = f"pgsuite_{uuid.uuid4().hex[:10]}"
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
            f"tests/postgres.py ON_POSTGRES ran on SQLite only",
            yellow=True,
            bold=True,
        )
    else:
        terminalreporter.write_line(
            f"PostgreSQL at {server_url()}: {', '.join(sorted(ON_POSTGRES))} ran on it too"
        )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database_url" not in metafunc.fixturenames:
        return
    everything = os.environ.get("RELAIS_TEST_ON_POSTGRES", "") == "all"
    both = everything or metafunc.definition.path.name in ON_POSTGRES
    if not both or metafunc.definition.get_closest_marker("sqlite_only"):
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
