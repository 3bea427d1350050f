"""The admin command line: run, migrate, backup — and the campaign's scripting commands."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.config import ConfigError, Settings, load_settings
from bot.logs import setup_logging
from bot.storage.db import Database, StorageError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Relais, the campaign bot")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="run the bot (the default)")
    commands.add_parser("migrate", help="bring the database up to date")
    backup = commands.add_parser("backup", help="copy the live database safely to PATH")
    backup.add_argument("path", type=Path)
    from bot import report_cli

    report_cli.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings.log_level, (settings.telegram_token.value,))
    try:
        if args.command in (None, "run"):
            from bot.app import Relais

            asyncio.run(Relais(settings).run())
        elif args.command == "migrate":
            asyncio.run(_migrate(settings))
        elif args.command == "backup":
            asyncio.run(_backup(settings, args.path))
        elif args.command == "report":
            from bot import report_cli

            return asyncio.run(report_cli.run(settings, args))
        elif args.command == "export":
            from bot import report_cli

            return asyncio.run(report_cli.export(settings, args.what, args.path))
    except StorageError as exc:
        print(f"Database error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


async def _migrate(settings: Settings) -> None:
    db = Database(settings.database_path)
    await db.open()
    try:
        applied = await db.migrate()
        version = await db.version()
        print(
            f"{settings.database_path}: version {version}"
            + (f" (applied {', '.join(map(str, applied))})" if applied else " (up to date)")
        )
    finally:
        await db.close()


async def _backup(settings: Settings, target: Path) -> None:
    db = Database(settings.database_path)
    await db.open()
    try:
        await db.backup(target)
        print(f"backed up {settings.database_path} to {target}")
    finally:
        await db.close()
