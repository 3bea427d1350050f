"""The admin command line: run, migrate, backup — and the campaign's scripting commands."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.clock import Clock, ShiftedClock, SystemClock
from bot.config import ConfigError, Settings, load_settings, read_dotenv
from bot.core import open_core
from bot.i18n import N_, _, format_number, ngettext, use_language
from bot.logs import setup_logging
from bot.services.people import Actor
from bot.storage.connect import database_for
from bot.storage.db import StorageError, missing

# Only these start a new database; every other verb needs the one DATABASE_URL names, so a
# mistyped path or a vanished file is said so instead of being replaced by an empty one.
CREATES_DATABASE = (None, "run", "migrate")

# What `seed` counts, in the campaign's words.
SEEDED = {
    "volunteers": N_("volunteers"),
    "tasks": N_("tasks"),
    "assignments": N_("assignments"),
    "outcomes": N_("outcomes"),
    "calls": N_("calls"),
    "teams": N_("teams"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Relais, the campaign bot")
    parser.add_argument(
        "--now",
        metavar="TIME",
        help="run as if it were TIME (ISO; the campaign's time zone unless it has an offset),"
        " the clock running on from there: for trials and tests",
    )
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="run the bot (the default)")
    commands.add_parser("migrate", help="bring the database up to date")
    backup = commands.add_parser("backup", help="copy the live database safely to PATH")
    backup.add_argument("path", type=Path)
    copy = commands.add_parser(
        "copy-database",
        help="copy the campaign from its SQLite file into an empty PostgreSQL database",
    )
    copy.add_argument("--to", required=True, metavar="postgresql://USER@HOST/DATABASE")
    seed = commands.add_parser(
        "seed", help="fill the database with a synthetic campaign (trials, benchmarks)"
    )
    seed.add_argument("--volunteers", type=int, required=True)
    seed.add_argument("--tasks", type=int, default=0)
    seed.add_argument("--assignments", type=int, default=0)
    seed.add_argument(
        "--id-base",
        type=int,
        default=1_000_000_000,
        help="first Telegram id of the synthetic volunteers",
    )
    seed.add_argument(
        "--force", action="store_true", help="seed even though the database holds real volunteers"
    )
    seed.add_argument(
        "--channel",
        choices=["telegram", "console"],
        default="telegram",
        help="where the synthetic volunteers are reachable (console: try them with /as ID)",
    )
    export = commands.add_parser(
        "export-volunteer", help="print everything stored about volunteer ID (JSON)"
    )
    export.add_argument("volunteer_id", type=int)
    erase = commands.add_parser(
        "erase-volunteer", help="erase volunteer ID's personal data (a request by e-mail…)"
    )
    erase.add_argument("volunteer_id", type=int)
    erase.add_argument("--yes", action="store_true", help="do it (without: say what it would do)")
    comms = commands.add_parser("comms", help="the comms team paged by alerts")
    comms.add_argument("action", choices=["add", "remove", "list"])
    comms.add_argument("who", nargs="?", help="telegram:<numeric id> or signal:<number>")
    tasks = commands.add_parser("tasks", help="micro-tasks: import FILE (CSV or YAML)")
    tasks_commands = tasks.add_subparsers(dest="action", required=True)
    tasks_import = tasks_commands.add_parser("import", help="add tasks from a CSV or YAML file")
    tasks_import.add_argument("file", type=Path)
    calls = commands.add_parser("calls", help="phone banking: import TASK_ID FILE (CSV)")
    calls_commands = calls.add_subparsers(dest="action", required=True)
    calls_import = calls_commands.add_parser("import", help="add a call list to a call task")
    calls_import.add_argument("task_id", type=int)
    calls_import.add_argument("file", type=Path)
    from bot import report_cli

    report_cli.add_parser(commands)
    broadcast = commands.add_parser("broadcast", help="queue a broadcast; the running bot sends it")
    broadcast.add_argument("--text", required=True, help="the message (Telegram HTML subset)")
    broadcast.add_argument(
        "--to",
        action="extend",
        nargs="+",
        default=[],
        help="all | team:NAME | area:CODE | skill:NAME | lang:fr | active:DAYS (repeatable;"
        " French words too: équipe:Lyon 3e compétence:partage)",
    )
    broadcast.add_argument("--at", help="when to send, ISO time (default: now)")
    broadcast.add_argument("--urgent", action="store_true", help="ignore quiet hours")
    broadcast.add_argument("--paid", action="store_true", help="paid broadcast (up to 1000/s)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    level = settings.log_level
    console = not settings.telegram_token and not settings.signal_cli_url
    chosen = "RELAIS_LOG_LEVEL" in os.environ or "RELAIS_LOG_LEVEL" in read_dotenv(Path(".env"))
    if console and args.command in (None, "run") and not chosen:
        level = "WARNING"  # the console chat shares the terminal with the logs
    setup_logging(level, (settings.telegram_token.value,), keep=(settings.signal_account,))
    try:
        with use_language(settings.language):
            code = _run(settings, args)
        sys.stdout.flush()  # a reader that went away shows here, not at the interpreter's exit
        return code
    except BrokenPipeError:
        # `report --format json | head`: stop quietly, as `cat` does. stdout points elsewhere
        # so that the interpreter's last flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _run(settings: Settings, args: argparse.Namespace) -> int:
    """Run one verb, speaking the campaign's language."""
    try:
        clock = clock_from(args.now, settings)
    except ValueError:
        from bot.cli_broadcast import unreadable_time

        print(unreadable_time("--now", args.now), file=sys.stderr)
        return 2
    try:
        if (
            args.command not in CREATES_DATABASE
            and not settings.database_url
            and not settings.database_path.is_file()
        ):
            raise missing(settings.database_path)
        if args.command in (None, "run"):
            from bot.app import Relais

            asyncio.run(Relais(settings, clock).run())
        elif args.command == "migrate":
            asyncio.run(_migrate(settings, clock))
        elif args.command == "backup":
            asyncio.run(_backup(settings, clock, args.path))
        elif args.command == "copy-database":
            return asyncio.run(_copy_database(settings, args.to))
        elif args.command == "seed":
            return _seed(settings, clock, args)
        elif args.command in ("export-volunteer", "erase-volunteer"):
            return asyncio.run(_privacy(settings, clock, args.command, args.volunteer_id, args))
        elif args.command == "comms":
            return asyncio.run(_comms(settings, clock, args.action, args.who or ""))
        elif args.command in ("tasks", "calls"):
            from bot.task_cli import run_import

            return asyncio.run(run_import(settings, clock, args))
        elif args.command == "report":
            from bot import report_cli

            return asyncio.run(report_cli.run(settings, clock, args))
        elif args.command == "export":
            from bot import report_cli

            return asyncio.run(report_cli.export(settings, clock, args.what, args.path))
        elif args.command == "broadcast":
            from bot.cli_broadcast import queue_broadcast

            return asyncio.run(queue_broadcast(settings, clock, args))
    except StorageError as exc:
        print(_("Database error: {reason}").format(reason=exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def clock_from(now: str | None, settings: Settings) -> Clock:
    """The machine's clock, or with `--now` the same clock moved to that moment."""
    if not now:
        return SystemClock()
    from bot.cli_broadcast import parse_when

    return ShiftedClock(parse_when(now, settings, SystemClock().now()))


async def _migrate(settings: Settings, clock: Clock) -> None:
    db = database_for(settings.database_path, settings.database_url)
    async with open_core(settings, clock, migrate=False, db=db):
        applied = await db.migrate()
        version = await db.version()
        if applied:
            print(
                _("{path}: version {version} (applied {applied})").format(
                    path=db.path,
                    version=version,
                    applied=", ".join(map(str, applied)),
                )
            )
        else:
            print(_("{path}: version {version} (up to date)").format(path=db.path, version=version))


async def _backup(settings: Settings, clock: Clock, target: Path) -> None:
    db = database_for(settings.database_path, settings.database_url)
    async with open_core(settings, clock, migrate=False, db=db):
        await db.backup(target)
        print(_("Backed up {source} to {target}").format(source=db.path, target=target))


async def _copy_database(settings: Settings, to: str) -> int:
    """Move the campaign to PostgreSQL: copy every table, verify each, print what was done."""
    from bot.storage.copy import copy_campaign
    from bot.storage.db import Database
    from bot.storage.postgres import PostgresDatabase, where, without_password
    from bot.storage.process_lock import ProcessLock

    if settings.database_url:
        print(
            _("copy-database reads a SQLite file, and DATABASE_URL names PostgreSQL already."),
            file=sys.stderr,
        )
        return 2
    if not to.startswith(("postgresql://", "postgres://")):
        print(_("--to: expected postgresql://user@host/database"), file=sys.stderr)
        return 2
    # A Relais running on the file would keep writing what the copy has already read.
    lock = ProcessLock(settings.database_path)
    lock.acquire()
    try:
        source = Database(settings.database_path)
        await source.open(create=False)
        try:
            await source.migrate()
            target = PostgresDatabase(to)
            await target.open()
            try:
                copied = await copy_campaign(source, target)
            finally:
                await target.close()
        finally:
            await source.close()
    finally:
        lock.release()
    for table in copied:
        print(
            ngettext(
                "{table}: {rows} row, checksum {checksum}",
                "{table}: {rows} rows, checksum {checksum}",
                table.rows,
            ).format(table=table.name, rows=table.rows, checksum=table.checksum[:12])
        )
    print(
        ngettext(
            "Copied {tables} table from {source} to {target}, verified. "
            "Now set DATABASE_URL={url} and start Relais.",
            "Copied {tables} tables from {source} to {target}, each verified. "
            "Now set DATABASE_URL={url} and start Relais.",
            len(copied),
        ).format(
            tables=len(copied),
            source=settings.database_path,
            target=where(to),
            url=without_password(to),
        )
    )
    return 0


async def _privacy(
    settings: Settings, clock: Clock, command: str, volunteer_id: int, args: argparse.Namespace
) -> int:
    """The rights of someone who cannot use the chat any more, exercised by an admin."""
    async with open_core(settings, clock, migrate=False) as services:
        if not await services.privacy.on_file(volunteer_id):
            print(
                _("No volunteer #{id} (or already erased).").format(id=volunteer_id),
                file=sys.stderr,
            )
            return 1
        if command == "export-volunteer":
            sys.stdout.write((await services.privacy.export_json(volunteer_id)).decode() + "\n")
        elif not args.yes:
            print(
                _("This would erase volunteer #{id}; add --yes to do it.").format(id=volunteer_id)
            )
        else:
            await services.privacy.erase_at_command_line(volunteer_id)
            print(_("Volunteer #{id} erased.").format(id=volunteer_id))
        return 0


async def _comms(settings: Settings, clock: Clock, action: str, who: str) -> int:
    from bot.comms_text import comms_answer, parse_member

    identity = parse_member(who, "telegram")
    if action != "list" and identity is None:
        print(
            _("Expected #<volunteer number>, telegram:<numeric id> or signal:<number>."),
            file=sys.stderr,
        )
        return 2
    async with open_core(settings, clock) as services:
        alerts = services.alerts
        if action == "list":
            print(", ".join(await alerts.comms_team()) or _("nobody yet"))
            return 0
        assert identity is not None
        if action == "add":
            result = await alerts.grant_comms(Actor.system(), identity)
        else:
            result = await alerts.revoke_comms(Actor.system(), identity)
        print(comms_answer(identity, result))
        return 1 if result.result == "unknown" else 0


def _seed(settings: Settings, clock: Clock, args: argparse.Namespace) -> int:
    """Synthetic volunteers, teams, tasks and history, for trials and benchmarks."""
    import sqlite3
    import time

    from tools.seed import holds_real_volunteers, synthetic_campaign

    if args.volunteers < 1 or args.tasks < 0 or args.assignments < 0:
        print(
            _("--volunteers must be at least 1; --tasks and --assignments not negative."),
            file=sys.stderr,
        )
        return 2
    if args.assignments and not args.tasks:
        print(_("--assignments needs --tasks."), file=sys.stderr)
        return 2
    asyncio.run(_migrate(settings, clock))
    if settings.database_url:
        return asyncio.run(_seed_postgresql(settings, clock, args))
    conn = sqlite3.connect(settings.database_path)
    try:
        if holds_real_volunteers(conn) and not args.force:
            return _refuse_to_mix(str(settings.database_path))
        started = time.monotonic()
        counts = synthetic_campaign(conn, clock.now(), **_campaign_size(args))
    finally:
        conn.close()
    _seeded(counts, time.monotonic() - started)
    return 0


async def _seed_postgresql(settings: Settings, clock: Clock, args: argparse.Namespace) -> int:
    """The same synthetic campaign on PostgreSQL, loaded with COPY."""
    import time

    from bot.storage.postgres import PostgresDatabase, where
    from tools.seed import holds_real_volunteers_on, synthetic_campaign_on

    db = PostgresDatabase(settings.database_url)
    await db.open()
    try:
        if await holds_real_volunteers_on(db) and not args.force:
            return _refuse_to_mix(where(settings.database_url))
        started = time.monotonic()
        counts = await synthetic_campaign_on(db, clock.now(), **_campaign_size(args))
    finally:
        await db.close()
    _seeded(counts, time.monotonic() - started)
    return 0


def _refuse_to_mix(path: str) -> int:
    """Seeding stops short of a database that holds real volunteers."""
    print(
        _(
            "{path} holds real volunteers: refusing to mix synthetic ones in (add "
            "--force if you really mean it)."
        ).format(path=path),
        file=sys.stderr,
    )
    return 1


def _campaign_size(args: argparse.Namespace) -> dict[str, Any]:
    """The synthetic campaign the command line asked for, on either backend."""
    return {
        "volunteers": args.volunteers,
        "tasks": args.tasks,
        "assignments": args.assignments,
        "id_base": args.id_base,
        "channel": args.channel,
    }


def _seeded(counts: dict[str, int], seconds: float) -> None:
    print(
        _("Added in {seconds} s: {counts}").format(
            seconds=format_number(round(seconds, 1)),
            counts=", ".join(f"{_(SEEDED.get(what, what))} {n}" for what, n in counts.items()),
        )
    )
