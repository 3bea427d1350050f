"""`python -m bot broadcast`: queue a broadcast from a script; the running bot sends it."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from bot.clock import Clock
from bot.config import Settings
from bot.core import open_core
from bot.i18n import format_datetime, use_language
from bot.services.broadcasts import BroadcastError


def parse_when(text: str, settings: Settings) -> datetime:
    """An ISO time; without an offset it is read in the campaign's time zone."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=settings.timezone)
    return moment.astimezone(UTC)


async def queue_broadcast(settings: Settings, clock: Clock, args: argparse.Namespace) -> int:
    """Write the broadcast row; print what was queued. Exit status 2 on bad input."""
    try:
        send_at = parse_when(args.at, settings) if args.at else None
    except ValueError:
        print(f"--at: expected an ISO time like 2026-12-01T18:30, got {args.at!r}", file=sys.stderr)
        return 2
    async with open_core(settings, clock) as services:
        with use_language(settings.language):
            try:
                from bot.services.broadcasts import parse_audience

                audience = parse_audience(" ".join(args.to) or "all")
                count = await services.broadcasts.repo.count(audience, None, services.clock.now())
                broadcast = await services.broadcasts.create(
                    None,
                    language=settings.language,
                    body=args.text,
                    audience=audience,
                    send_at=send_at,
                    urgent=args.urgent,
                    paid=args.paid,
                )
            except BroadcastError as exc:
                print(f"Broadcast refused: {exc}", file=sys.stderr)
                return 2
            when = format_datetime(
                datetime.fromisoformat(broadcast.send_at.replace("Z", "+00:00")), settings.timezone
            )
        print(
            f"Broadcast #{broadcast.id} queued for {when} to {broadcast.audience or 'all'}"
            f" ({count} volunteers right now). The running bot sends it."
        )
        return 0
