"""A fresh PostgreSQL database per test, on the server the suite uses (RELAIS_TEST_POSTGRES,
tests/postgres.py: the local one every machine of the project runs), dropped afterwards.
Skipped where none answers, unless RELAIS_REQUIRE_POSTGRES asks for it (CI)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from tests.postgres import database_name, required, server_url

SERVER = server_url().rsplit("/", 1)[0]


async def _admin() -> asyncpg.Connection:
    try:
        return await asyncpg.connect(f"{SERVER}/postgres", timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        if required():
            pytest.fail(f"PostgreSQL required but not reachable at {SERVER} ({exc})")
        pytest.skip(f"PostgreSQL is not reachable at {SERVER} ({exc}): not tested on it")


@pytest.fixture
async def postgresql_url() -> AsyncIterator[str]:
    """The URL of an empty database of its own, as DATABASE_URL spells it."""
    name = database_name("relais_test_")
    admin = await _admin()
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"{SERVER}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
