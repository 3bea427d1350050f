"""The database file as an admin meets it: where it must exist, what it must be, who may read
it, and that only one Relais runs on it. Real files and real `python -m bot` processes."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import signal
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bot import cli
from bot.i18n import use_language
from bot.messaging import Attachment, Outbound
from bot.storage.db import Database, StorageError
from bot.transports.console import ConsoleTransport
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.relais import telegram_env
from tests.test_process import start_bot

ROOT = Path(__file__).resolve().parent.parent


def run_cli(database: Path, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SIGNAL_"))}
    env.update(
        DATABASE_URL=f"sqlite:///{database}", RELAIS_LOG_LEVEL="WARNING", RELAIS_LANGUAGE="en"
    )
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,  # a hang fails the test instead of blocking the suite
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def wait_until_running(api: FakeBotAPI, user: int) -> None:
    """The bot answers: it holds the database and its lock."""
    await api.wait_for_requests("getUpdates", api.stats.requests["getUpdates"] + 1)
    api.send_text(user, "/start", first_name="Admin", language_code="fr")
    await api.wait_for_text(user, "Bonjour", timeout=30)


VERBS = [
    ["backup", "{tmp}/copy.sqlite3"],
    ["seed", "--volunteers", "1"],
    ["export-volunteer", "1"],
    ["erase-volunteer", "1", "--yes"],
    ["comms", "list"],
    ["tasks", "import", "{tmp}/tasks.csv"],
    ["calls", "import", "1", "{tmp}/calls.csv"],
    ["report", "--format", "json"],
    ["export", "volunteers", "{tmp}/out.csv"],
    ["broadcast", "--text", "Hi", "--to", "all"],
]


def test_every_verb_but_migrate_and_run_needs_an_existing_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "tasks.csv").write_text("kind,title\nshare,Partager\n", encoding="utf-8")
    (tmp_path / "calls.csv").write_text("name,phone\nAna,0612345678\n", encoding="utf-8")
    mistyped = tmp_path / "relais.sqlite"  # the real one would be relais.sqlite3
    root = logging.getLogger()
    # cli.main sets up logging for a process; give the handlers and level back afterwards.
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    monkeypatch.setattr(root, "level", root.level)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{mistyped}")
    monkeypatch.setenv("RELAIS_LANGUAGE", "en")
    for name in ("TELEGRAM_BOT_TOKEN", "SIGNAL_CLI_URL"):
        monkeypatch.delenv(name, raising=False)
    for verb in VERBS:
        assert cli.main([part.format(tmp=tmp_path) for part in verb]) == 1, verb
        assert capsys.readouterr().err.splitlines() == [
            f"Database error: no database at {mistyped}: check DATABASE_URL, or create one "
            "with `python -m bot migrate`"
        ], verb
    assert sorted(p.name for p in tmp_path.iterdir()) == ["calls.csv", "tasks.csv"]


def test_migrate_creates_the_database_readable_by_its_owner_only(tmp_path: Path) -> None:
    database = tmp_path / "data" / "relais.sqlite3"
    done = run_cli(database, "migrate")
    assert done.returncode == 0, done.stderr
    assert mode(database) == 0o600
    assert run_cli(database, "comms", "list").returncode == 0  # other verbs find it


def test_the_console_run_creates_the_database_and_says_where_in_one_line(
    tmp_path: Path,
) -> None:
    database = tmp_path / "first" / "relais.sqlite3"
    done = run_cli(database, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    said = [line for line in done.stderr.splitlines() if "database" in line]
    assert len(said) == 1 and said[0].endswith(f"Created a new database at {database}")
    again = run_cli(database, cwd=tmp_path)  # second start: nothing to say
    assert "database" not in again.stderr


@pytest.mark.parametrize("verb", [["migrate"], ["run"], ["report"]], ids=lambda v: v[0])
def test_a_file_that_is_not_a_database_gives_one_line_and_no_hang(
    tmp_path: Path, verb: list[str]
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("Liste des bénévoles à appeler jeudi\n" * 20, encoding="utf-8")
    done = run_cli(notes, *verb, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"Database error: {notes} is not a Relais database (not SQLite)"
    ]
    assert notes.read_text(encoding="utf-8").startswith("Liste des bénévoles")


@pytest.mark.parametrize("verb", [["migrate"], ["run"]], ids=lambda v: v[0])
def test_a_path_under_an_existing_file_gives_one_line(tmp_path: Path, verb: list[str]) -> None:
    (tmp_path / "data").write_text("a file, not a folder", encoding="utf-8")
    database = tmp_path / "data" / "relais.sqlite3"
    done = run_cli(database, *verb, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"Database error: cannot create {database}: a part of the path is a file"
    ]


async def test_backup_is_owner_only_and_never_overwrites(tmp_path: Path) -> None:
    database = tmp_path / "relais.sqlite3"
    assert run_cli(database, "migrate").returncode == 0
    target = tmp_path / "backups" / "monday.sqlite3"
    done = run_cli(database, "backup", str(target))
    assert done.returncode == 0, done.stderr
    assert mode(target) == 0o600
    with sqlite3.connect(target) as copy:
        assert copy.execute("PRAGMA user_version").fetchone()[0] > 0
    target.write_bytes(b"last week's backup")
    again = run_cli(database, "backup", str(target))
    assert again.returncode == 1
    assert again.stderr.splitlines() == [
        f"Database error: {target} already exists: choose a new file name"
    ]
    assert target.read_bytes() == b"last week's backup"
    # The same through the storage API (an in-process caller gets the same refusal).
    db = Database(database)
    await db.open(create=False)
    try:
        with use_language("en"), pytest.raises(StorageError, match="already exists"):
            await db.backup(target)
    finally:
        await db.close()


def test_exports_are_owner_only_and_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    database = tmp_path / "relais.sqlite3"
    assert run_cli(database, "migrate").returncode == 0
    old = tmp_path / "volunteers.csv"
    old.write_text("an older export, readable by all\n", encoding="utf-8")
    old.chmod(0o644)
    done = run_cli(database, "export", "volunteers", str(old))
    assert done.returncode == 0, done.stderr
    assert mode(old) == 0o600
    assert "older export" not in old.read_text(encoding="utf-8")
    missing = tmp_path / "no-such-folder" / "calls.csv"
    failed = run_cli(database, "export", "calls", str(missing))
    assert failed.returncode == 1
    assert failed.stderr.splitlines() == [f"Cannot write {missing}: No such file or directory"]
    imported = run_cli(database, "calls", "import", "1", str(missing))
    assert imported.returncode == 1
    assert imported.stderr.splitlines() == [f"Cannot read {missing}: No such file or directory"]


async def test_a_mydata_document_shown_on_the_console_is_owner_only(tmp_path: Path) -> None:
    async def dispatch(_inbound: object) -> list[Outbound]:
        return []

    out = io.StringIO()
    console = ConsoleTransport(dispatch, "fr", stdout=out, files_dir=tmp_path / "console")
    document = Attachment("mes-donnees.json", b'{"first_name": "Ana"}')
    await console.deliver("1", Outbound("Vos données", attachment=document))
    written = tmp_path / "console" / "mes-donnees.json"
    assert written.read_bytes() == b'{"first_name": "Ana"}'
    assert mode(written) == 0o600
    assert str(written) in out.getvalue()


@pytest.mark.slow
async def test_one_relais_per_database_the_second_names_the_first(
    bot_api: FakeBotAPI, tmp_path: Path
) -> None:
    database = tmp_path / "relais.sqlite3"
    log = tmp_path / "bot.log"
    env = telegram_env(bot_api, database, RELAIS_LANGUAGE="en")
    first = await start_bot(env, log)
    try:
        await wait_until_running(bot_api, 1)
        # While it runs, the database and its WAL and shared-memory files are owner-only.
        for suffix in ("", "-wal", "-shm"):
            assert mode(database.with_name(database.name + suffix)) == 0o600, suffix
        second = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=ROOT,
            env={**os.environ, **env},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await asyncio.wait_for(second.communicate(), 60)
        assert second.returncode == 1
        assert stderr.decode().splitlines()[-1] == (
            f"Database error: another Relais (pid {first.pid}) is already running on "
            f"{database}; stop it first (SQLite allows one Relais process)"
        )
        # The first one is untouched and still answers.
        bot_api.send_text(2, "/start", first_name="Bea", language_code="en")
        await bot_api.wait_for_text(2, "Hello Bea", timeout=20)
    finally:
        first.send_signal(signal.SIGKILL)  # a crash must not leave the lock behind
        await first.wait()
    polls = bot_api.stats.requests["getUpdates"]
    third = await start_bot(env, log)
    try:
        await bot_api.wait_for_requests("getUpdates", polls + 1)
        bot_api.send_text(3, "/start", first_name="Cy", language_code="en")
        await bot_api.wait_for_text(3, "Hello Cy", timeout=30)
    finally:
        third.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(third.wait(), 30) == 0


@pytest.mark.slow
async def test_a_database_deleted_under_the_running_bot_stops_it_loudly(
    bot_api: FakeBotAPI, tmp_path: Path
) -> None:
    database = tmp_path / "relais.sqlite3"
    log = tmp_path / "bot.log"
    process = await start_bot(telegram_env(bot_api, database, RELAIS_LANGUAGE="en"), log)
    try:
        await wait_until_running(bot_api, 1)
        for suffix in ("", "-wal", "-shm"):  # rm relais.sqlite3*
            database.with_name(database.name + suffix).unlink()
        returncode = await asyncio.wait_for(process.wait(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert returncode == 1
    lines = log.read_text().splitlines()
    errors = [line for line in lines if " ERROR " in line]
    assert len(errors) == 1 and "was deleted or replaced while Relais was running" in errors[0]
    assert lines[-1].startswith(f"Database error: the database file {database} was deleted")
    assert not database.exists()  # not silently recreated empty
