"""The core every face of Relais runs on: one database and its services, on one clock.

The bot, each command-line verb and the benchmarks all open it here, so a test (or a
trial of election day) can give them all the same clock.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from bot.alert_text import AlertText
from bot.broadcast_text import BroadcastText
from bot.clock import Clock
from bot.config import Settings
from bot.messaging import Messengers
from bot.privacy_text import PrivacyText
from bot.services import Services
from bot.storage.backend import Store
from bot.storage.connect import database_for

log = logging.getLogger(__name__)


@asynccontextmanager
async def open_core(
    settings: Settings,
    clock: Clock,
    *,
    migrate: bool = True,
    db: Store | None = None,
    messengers: Messengers | None = None,
    wake_sender: Callable[[], None] | None = None,
) -> AsyncIterator[Services]:
    """Open the database (brought up to date unless told not to) and build the services;
    the running bot passes its messengers and its sender's bell."""
    db = db or database_for(
        settings.database_path, settings.database_url, pool_size=settings.pg_pool
    )
    if await db.open():
        log.warning("Created a new database at %s", db.path.resolve())
    try:
        if migrate:
            await db.migrate()
        yield Services.build(
            settings,
            clock,
            db,
            alert_words=AlertText(settings),
            privacy_words=PrivacyText(),
            broadcast_words=BroadcastText(settings),
            messengers=messengers,
            wake_sender=wake_sender,
        )
    finally:
        await db.close()
