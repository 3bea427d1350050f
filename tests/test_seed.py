"""`python -m bot seed`: a synthetic campaign for trials and benchmarks, never over real data."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import asyncpg

from bot.router import Router
from bot.services import Services
from tests.factories import make_volunteer
from tests.fakes.chat import Chat
from tests.postgres import url_of
from tests.postgresql import postgresql_url

__all__ = ["postgresql_url"]  # the fixture

ROOT = Path(__file__).resolve().parent.parent


def seed(database: Path | str, *args: str, now: str = "") -> subprocess.CompletedProcess[str]:
    """`python -m bot migrate` (seed needs an existing database), then seed (at `now`, with
    --now): `database` is a SQLite file or a DATABASE_URL."""
    url = database if isinstance(database, str) else f"sqlite:///{database}"
    env = {**os.environ, "DATABASE_URL": url, "RELAIS_LOG_LEVEL": "WARNING"}
    migrate = [sys.executable, "-m", "bot", "migrate"]
    subprocess.run(migrate, cwd=ROOT, env=env, capture_output=True, timeout=60, check=True)
    return subprocess.run(
        [sys.executable, "-m", "bot", *(["--now", now] if now else []), "seed", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_seed_fills_a_campaign_reachable_at_the_given_telegram_ids(tmp_path: Path) -> None:
    database = tmp_path / "seeded.sqlite3"
    result = seed(
        database,
        "--volunteers",
        "300",
        "--tasks",
        "60",
        "--assignments",
        "2000",
        "--id-base",
        "7000",
    )
    assert result.returncode == 0, result.stderr
    assert "bénévoles 300, tâches 60, affectations 2000" in result.stdout
    with sqlite3.connect(database) as conn:
        ids = conn.execute(
            "SELECT MIN(CAST(user_id AS INTEGER)), MAX(CAST(user_id AS INTEGER))"
            " FROM identities WHERE channel = 'telegram'"
        ).fetchone()
        assert ids == (7000, 7299)
        kinds = {k for (k,) in conn.execute("SELECT DISTINCT kind FROM tasks")}
        assert kinds == {"share", "canvass", "call", "text", "event", "custom"}
        assert conn.execute("SELECT COUNT(*) FROM consents").fetchone() == (300,)
        assert conn.execute("SELECT COUNT(*) FROM outcomes").fetchone()[0] > 0
        spread = conn.execute("SELECT MIN(created_at), MAX(created_at) FROM assignments")
        first, last = spread.fetchone()
        assert first[:10] != last[:10]  # history over past weeks, not one instant
    # Seeding again adds more synthetic people: allowed.
    again = seed(database, "--volunteers", "10", "--id-base", "9000")
    assert again.returncode == 0, again.stderr


async def test_seed_refuses_a_database_with_real_volunteers(
    services: Services, router: Router, chat: Callable[..., Chat]
) -> None:
    await make_volunteer(services, "42")
    database = url_of(services.settings)
    refused = seed(database, "--volunteers", "10")
    assert refused.returncode == 1
    assert "contient de vrais bénévoles" in refused.stderr
    assert await services.db.fetch_value("SELECT COUNT(*) FROM volunteers") == 1
    forced = seed(database, "--volunteers", "10", "--force")
    assert forced.returncode == 0, forced.stderr


def test_seed_rejects_bad_numbers(tmp_path: Path) -> None:
    result = seed(tmp_path / "x.sqlite3", "--volunteers", "0")
    assert result.returncode == 2
    assert "--volunteers doit valoir au moins 1" in result.stderr


def test_seeded_console_volunteers_can_be_tried_with_as(tmp_path: Path) -> None:
    database = tmp_path / "console.sqlite3"
    result = seed(
        database,
        "--volunteers",
        "20",
        "--tasks",
        "12",
        "--assignments",
        "100",
        "--id-base",
        "9000",
        "--channel",
        "console",
    )
    assert result.returncode == 0, result.stderr
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "RELAIS_LOG_LEVEL": "WARNING"}
    env = {k: v for k, v in env.items() if not k.startswith(("TELEGRAM_", "SIGNAL_"))}
    chat = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=ROOT,
        env=env,
        input="/as 9000\n/task\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Votre prochaine tâche" in chat.stdout or "Aucune tâche" in chat.stdout
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT COUNT(*) FROM call_results").fetchone()[0] > 0


def _seed_to(url: str, *args: str, now: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url, "RELAIS_LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "-m", "bot", *(["--now", now] if now else []), "seed", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


# The roll-up as the reports read it: what a seed must leave right on either backend.
ROLLUP = (
    "SELECT SUM(offered), SUM(accepted), SUM(done), SUM(doors_knocked), SUM(people_reached),"
    " SUM(attended), SUM(calls), SUM(supporter) FROM report_rollup"
)


async def test_seed_on_postgresql_gives_the_same_campaign_as_on_sqlite(
    postgresql_url: str, tmp_path: Path
) -> None:
    args = ("--volunteers", "300", "--tasks", "60", "--assignments", "2000", "--id-base", "7000")
    database = tmp_path / "seeded.sqlite3"
    # A few minutes apart within one hour, as when a campaign is seeded on each in turn.
    assert seed(database, *args, now="2026-11-28T14:05:09").returncode == 0
    result = _seed_to(postgresql_url, *args, now="2026-11-28T14:41:57")
    assert result.returncode == 0, result.stderr
    assert "bénévoles 300, tâches 60, affectations 2000" in result.stdout
    connection = await asyncpg.connect(postgresql_url)
    try:
        with sqlite3.connect(database) as conn:
            for sql in (
                "SELECT COUNT(*), MIN(user_id), MAX(user_id) FROM identities",
                "SELECT COUNT(*), SUM(task_id), SUM(volunteer_id) FROM assignments",
                "SELECT COUNT(*) FROM outcomes",
                "SELECT COUNT(*) FROM consents",
                ROLLUP,
            ):
                expected = tuple(conn.execute(sql).fetchone())
                assert tuple(await connection.fetchrow(sql)) == expected, sql
            # The same roll-up row for row, not only the same sums.
            rows = "SELECT axis, unit, span, hour, kind, offered, accepted, done FROM report_rollup"
            expected_rows = sorted(tuple(r) for r in conn.execute(rows))
            assert sorted(tuple(r) for r in await connection.fetch(rows)) == expected_rows
        # Seeding again adds people after the ones there, new ids and all.
        again = _seed_to(postgresql_url, "--volunteers", "10", "--tasks", "2", "--id-base", "9000")
        assert again.returncode == 0, again.stderr
        assert await connection.fetchval("SELECT COUNT(*) FROM volunteers") == 310
        # The next volunteer who joins for real gets a free id.
        await connection.execute(
            "INSERT INTO volunteers (status, language, created_at, last_active_at)"
            " VALUES ('active', 'fr', 'x', 'x')"
        )
        # ... and now the database holds a real volunteer: no more synthetic ones.
        refused = _seed_to(postgresql_url, "--volunteers", "10")
        assert refused.returncode == 1
        assert "contient de vrais bénévoles" in refused.stderr
    finally:
        await connection.close()
