"""`python -m bot broadcast`: queue a broadcast from a script; the running bot sends it."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

from bot.broadcast_text import audience_in_words, refusal
from bot.clock import Clock
from bot.config import Settings
from bot.core import open_core
from bot.i18n import _, format_datetime, ngettext, use_language
from bot.services import Services
from bot.services.broadcasts import BroadcastError
from bot.services.people import Actor
from bot.text import to_plain
from bot.when import read_moment
from bot.when_text import moment_refusal


def parse_when(text: str, settings: Settings, now: datetime) -> datetime:
    """What was typed after --at (ISO, "demain 20h", "saturday 10am"), in the campaign's
    time zone; ValueError if it names no moment."""
    moment = read_moment(text, now, settings.timezone)
    if moment is None:
        raise ValueError(text)
    return moment


async def queue_broadcast(settings: Settings, clock: Clock, args: argparse.Namespace) -> int:
    """Write the broadcast row; print what was queued, in the campaign's language. Exit
    status 2 on bad input (nothing queued)."""
    with use_language(settings.language):
        if not args.to:
            print(
                _(
                    "Broadcast refused: say who receives it, --to all for every volunteer or "
                    "filters such as --to area:75 --to skill:canvassing. Nothing was queued."
                ),
                file=sys.stderr,
            )
            return 2
        send_at = read_moment(args.at, clock.now(), settings.timezone) if args.at else None
        if args.at and (why := moment_refusal(args.at, send_at, clock.now(), settings.timezone)):
            return _refused(why)
        if args.at and send_at is None:
            print(unreadable_time("--at", args.at), file=sys.stderr)
            return 2
        async with open_core(settings, clock) as services:
            return await _queue(settings, services, args, send_at)


def unreadable_time(option: str, value: str) -> str:
    """The one line for a time the command line cannot read (--at, --now)."""
    return _(
        "{option}: expected a time like “tomorrow 8pm” or 2026-12-01T18:30, got “{value}”."
    ).format(option=option, value=value)


async def _queue(
    settings: Settings, services: Services, args: argparse.Namespace, send_at: datetime | None
) -> int:
    try:
        submitted = await services.broadcasts.submit(
            Actor.system(),
            " ".join(args.to),
            language=settings.language,
            body=args.text,
            send_at=send_at,
            urgent=args.urgent,
            paid=args.paid,
            from_command_line=True,
        )
    except BroadcastError as exc:
        if exc.kind == "audience.nobody":
            return _refused(
                _("Nobody matches “{audience}” right now. Try other filters.").format(
                    audience=audience_in_words(exc.data["audience"])
                )
            )
        return _refused(refusal(exc))
    broadcast, audience, count = submitted.broadcast, submitted.audience, submitted.count
    when = format_datetime(broadcast.send_at, settings.timezone)
    print(
        ngettext(
            "Broadcast #{id} queued for {when} to {audience} ({n} volunteer right now). "
            "The running bot sends it.",
            "Broadcast #{id} queued for {when} to {audience} ({n} volunteers right now). "
            "The running bot sends it.",
            count,
        ).format(id=broadcast.id, when=when, audience=audience_in_words(audience), n=count)
    )
    return 0


def _refused(reason: str) -> int:
    """Say why nothing was queued (exit status 2)."""
    print(_("Broadcast refused: {reason}").format(reason=to_plain(reason)), file=sys.stderr)
    return 2
