"""Scheduled jobs. Each reads what is due from the database, so a late or repeated wake-up
does the work once."""

from __future__ import annotations

import logging

from bot.digest_text import digest_text
from bot.scheduler import Scheduler
from bot.services import Services
from bot.services.digests import WEEKLY_AT, send_due_digests
from bot.task_text import offered_card, reminder_card

log = logging.getLogger(__name__)


async def tidy(services: Services) -> None:
    """Forget expired conversations, numbered lists, link codes and old update keys."""
    now = services.clock.now()
    await services.links.purge_expired()
    await services.chats.tidy(now)


async def retention(services: Services) -> None:
    """Warn volunteers inactive for almost the retention period; erase those who did not
    answer (see bot.services.privacy)."""
    await services.privacy.retention_sweep(services.notifier.send)


async def task_offers(services: Services) -> None:
    """Close tasks whose time is up, remind those who accepted, offer open tasks."""
    now = services.clock.now()
    await services.offers.expire_round(now)
    await services.offers.remind_round(now, reminder_card)
    await services.offers.offer_round(now, offered_card)


def register_jobs(scheduler: Scheduler, services: Services) -> None:
    """Every recurring job, in one place."""
    scheduler.every(3600, lambda: tidy(services), "tidy")
    scheduler.daily(10, 30, lambda: retention(services), "retention")
    # Rapid response: page the next ring when nobody answered, widen ripostes that fall short.
    # Often: the next ring is paged within a few seconds of its due time (a few tiny reads).
    scheduler.every(2, services.alerts.sweep, "alerts")
    scheduler.every(600, lambda: task_offers(services), "task_offers")
    # Digests: rung at the digest time and on Monday morning; the sweep catches a missed bell.
    digest_time = services.settings.digest_time
    scheduler.daily(
        digest_time.hour,
        digest_time.minute,
        lambda: send_due_digests(services, digest_text),
        "digests-daily",
    )
    scheduler.daily(
        WEEKLY_AT.hour,
        WEEKLY_AT.minute,
        lambda: send_due_digests(services, digest_text),
        "digests-weekly",
        day_of_week="mon",
    )
    scheduler.every(900, lambda: send_due_digests(services, digest_text), "digests-sweep")
    # Scheduled broadcasts are rows: this catches them within seconds, and keeps
    # organizers' progress messages current.
    scheduler.every(5, services.broadcasts.sweep, "broadcasts")
