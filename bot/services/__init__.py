"""Domain services, one per concern, bundled for handlers and jobs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from bot.clock import Clock
from bot.config import Settings
from bot.services.broadcasts import BroadcastService
from bot.services.people import PeopleService
from bot.storage.audit import AuditLog
from bot.storage.broadcasts import BroadcastRepository
from bot.storage.conversations import ConversationRepository, UpdateLog
from bot.storage.db import Database
from bot.storage.outbox import Envelope, OutboxRepository
from bot.storage.volunteers import VolunteerRepository


@dataclass
class Services:
    """Everything handlers and jobs may call, built once in `bot.app`."""

    settings: Settings
    clock: Clock
    db: Database
    volunteers: VolunteerRepository
    people: PeopleService
    conversations: ConversationRepository
    updates: UpdateLog
    outbox: OutboxRepository
    audit: AuditLog
    broadcasts: BroadcastService
    # Called after anything is queued, so the sender looks at once.
    wake_sender: Callable[[], None] = field(default=lambda: None)
    # Called when someone's roles change, so messengers refresh their command menu.
    roles_changed: list[Callable[[int], object]] = field(default_factory=list)

    @classmethod
    def build(cls, settings: Settings, clock: Clock, db: Database) -> Services:
        volunteers = VolunteerRepository(db, clock)
        audit = AuditLog(db, clock)
        return cls(
            settings=settings,
            clock=clock,
            db=db,
            volunteers=volunteers,
            people=PeopleService(settings, volunteers),
            conversations=ConversationRepository(db),
            updates=UpdateLog(db),
            outbox=OutboxRepository(db),
            audit=audit,
            broadcasts=BroadcastService(settings, clock, BroadcastRepository(db), audit),
        )

    async def send_later(self, envelopes: Iterable[Envelope]) -> int:
        """Queue system-initiated messages in the outbox and wake the sender."""
        added = await self.outbox.add(envelopes, self.clock.now())
        if added:
            self.wake_sender()
        return added
