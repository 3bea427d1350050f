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
    broadcast = commands.add_parser("broadcast", help="queue a broadcast; the running bot sends it")
    broadcast.add_argument("--text", required=True, help="the message (Telegram HTML subset)")
    broadcast.add_argument(
        "--to",
        action="append",
        default=[],
        help="all | team:NAME | area:CODE | skill:NAME | lang:fr | active:DAYS (repeatable)",
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
    setup_logging(settings.log_level, (settings.telegram_token.value,))
    try:
        if args.command in (None, "run"):
            from bot.app import Relais

            asyncio.run(Relais(settings).run())
        elif args.command == "migrate":
            asyncio.run(_migrate(settings))
        elif args.command == "backup":
            asyncio.run(_backup(settings, args.path))
        elif args.command == "broadcast":
            from bot.cli_broadcast import queue_broadcast

            return asyncio.run(queue_broadcast(settings, args))
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
