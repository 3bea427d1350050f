"""Digests: each organizer's report, every evening and on Monday morning, via the outbox.

What is due is computed from the clock and `digests_sent`, so a late, repeated or
restarted wake-up sends each digest once: the daily one any time on its day after
RELAIS_DIGEST_TIME, the weekly one (the past Monday-to-Sunday) any time on Monday after
09:00 (08:00 would fall in the default quiet hours). Everyone with volunteers.digest = 0
is skipped. The words are the caller's (a presenter such as `bot.digest_text`): this
module decides who gets which report when, and queues it through the Notifier.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.config import Identity
from bot.domain.messages import Envelope, Priority
from bot.messaging import Outbound
from bot.services.people import NotAllowed
from bot.services.reports import Report, local_midnight
from bot.storage.reports import Window

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)
WEEKLY_AT = time(9, 0)
# (report, "daily" or "weekly", the campaign's time zone, the reader's language) → the
# digest's text.
Present = Callable[[Report, str, ZoneInfo, str], str]


@dataclass(frozen=True, slots=True)
class DueDigest:
    """One digest kind due now: its period key, window and report period label."""

    kind: str
    key: str
    window: Window
    period: str


def due_digests(now: datetime, services: Services) -> list[DueDigest]:
    """The digests whose time has come today (campaign time zone)."""
    zone = services.settings.timezone
    local = now.astimezone(zone)
    today = local.date()
    due = []
    if local.time() >= services.settings.digest_time:
        due.append(
            DueDigest("daily", today.isoformat(), Window(local_midnight(today, zone), now), "today")
        )
    if local.weekday() == 0 and local.time() >= WEEKLY_AT:
        start = today - timedelta(days=7)
        year, week, _day = start.isocalendar()
        window = Window(local_midnight(start, zone), local_midnight(today, zone))
        due.append(DueDigest("weekly", f"{year}-W{week:02d}", window, "last_week"))
    return due


async def send_due_digests(services: Services, present: Present) -> int:
    """Queue every digest that is due and not yet sent, in the words `present` gives;
    return how many were queued."""
    now = services.clock.now()
    due = due_digests(now, services)
    if not due:
        return 0
    reports = services.reports
    admins = [(a.channel, a.user_id) for a in services.admins]
    queued = 0
    for recipient in await reports.digest_recipients(admins):
        actor = await services.people.actor(
            Identity(recipient.channel, recipient.user_id), recipient.chat_id
        )
        for digest in due:
            if await reports.digest_sent(recipient.volunteer_id, digest.kind, digest.key):
                continue
            try:
                scope, name = await reports.scope_for(actor)
            except NotAllowed:
                break  # no longer an organizer
            report = await reports.build(scope, digest.window, digest.period, name)
            text = present(report, digest.kind, services.settings.timezone, recipient.language)
            envelope = Envelope(
                kind="digest",
                channel=recipient.channel,
                chat_id=recipient.chat_id,
                outbound=Outbound(text),
                volunteer_id=recipient.volunteer_id,
                priority=Priority.BULK,
                # The outbox drops a second copy even if digests_sent was not written.
                dedupe_key=f"digest:{digest.kind}:{recipient.volunteer_id}:{digest.key}",
            )
            queued += await services.notifier.send([envelope])
            await reports.mark_digest_sent(recipient.volunteer_id, digest.kind, digest.key, now)
    if queued:
        log.info("%d digests queued", queued)
    return queued
