"""Scheduled jobs. Each reads what is due from the database, so a late or repeated wake-up
does the work once."""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.scheduler import Scheduler
from bot.services import Services
from bot.services.digests import WEEKLY_AT, send_due_digests

log = logging.getLogger(__name__)


async def tidy(services: Services) -> None:
    """Forget expired conversations and update keys older than Telegram keeps updates."""
    now = services.clock.now()
    await services.conversations.purge_expired(now)
    await services.updates.forget_before(now - timedelta(days=2))


def register_jobs(scheduler: Scheduler, services: Services) -> None:
    """Every recurring job, in one place."""
    scheduler.every(3600, lambda: tidy(services), "tidy")
    # Digests: rung at the digest time and on Monday morning; the sweep catches a missed bell.
    digest_time = services.settings.digest_time
    scheduler.daily(
        digest_time.hour, digest_time.minute, lambda: send_due_digests(services), "digests-daily"
    )
    scheduler.daily(
        WEEKLY_AT.hour,
        WEEKLY_AT.minute,
        lambda: send_due_digests(services),
        "digests-weekly",
        day_of_week="mon",
    )
    scheduler.every(900, lambda: send_due_digests(services), "digests-sweep")
