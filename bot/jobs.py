"""Scheduled jobs. Each reads what is due from the database, so a late or repeated wake-up
does the work once."""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.scheduler import Scheduler
from bot.services import Services

log = logging.getLogger(__name__)


async def tidy(services: Services) -> None:
    """Forget expired conversations and update keys older than Telegram keeps updates."""
    now = services.clock.now()
    await services.conversations.purge_expired(now)
    await services.updates.forget_before(now - timedelta(days=2))


def register_jobs(scheduler: Scheduler, services: Services) -> None:
    """Every recurring job, in one place."""
    scheduler.every(3600, lambda: tidy(services), "tidy")
    # Scheduled broadcasts are rows: this catches them within seconds, and keeps
    # organizers' progress messages current.
    scheduler.every(5, services.broadcasts.sweep, "broadcasts")
