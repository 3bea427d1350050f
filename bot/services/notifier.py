"""The Notifier: the one way Relais sends anything on its own.

Broadcasts and their progress, task offers and reminders, pages, boards, digests, retention
warnings: each is written to the durable outbox first (one row per recipient), then the
sender's paced lanes deliver it, retry it and record how it ended. Nothing the system
initiates is sent from memory, so a restart loses none of it.

A message the system keeps up to date (a broadcast's progress) is *shown* rather than
sent: its later states replace it while it waits, and edit it in place once it has left.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from bot.clock import Clock
from bot.domain.messages import Envelope, Priority
from bot.messaging import Outbound
from bot.storage.outbox import OutboxRepository

# Writes a batch of recipients into the outbox; True while more remain.
Step = Callable[[], Awaitable[bool]]


class Notifier:
    """Queues what the system sends on its own, and wakes the sender."""

    def __init__(
        self, clock: Clock, outbox: OutboxRepository, wake: Callable[[], None] = lambda: None
    ) -> None:
        self.clock = clock
        self._outbox = outbox
        self._wake = wake

    async def send(self, envelopes: Iterable[Envelope]) -> int:
        """Queue messages (one per recipient); an envelope whose dedupe key was queued
        before is skipped. Returns how many were queued."""
        added = await self._outbox.add(envelopes, self.clock.now())
        if added:
            self._wake()
        return added

    # Jobs that take a queueing function are given the Notifier itself.
    __call__ = send

    async def notice(
        self,
        channel: str,
        chat_id: str,
        outbound: Outbound,
        *,
        volunteer_id: int | None = None,
        kind: str = "notice",
    ) -> int:
        """Queue one message for one chat (a new role, a reminder…); how many were queued."""
        envelope = Envelope(
            kind, channel, chat_id, outbound, volunteer_id=volunteer_id, priority=Priority.NORMAL
        )
        return await self.send([envelope])

    async def show(self, envelope: Envelope, key: str) -> bool:
        """Show the latest state of a message kept up to date under `key`: the first call
        sends it; later ones replace it while it waits, or edit the sent message in place.
        False (nothing queued) while its first state is being sent: show it again later."""
        shown = await self._outbox.show_latest(envelope, key, self.clock.now())
        if shown:
            self._wake()
        return shown

    async def fan_out(self, step: Step) -> None:
        """Write a large audience's rows step by step (each step a short transaction, so
        nobody waits long for the database), the sender starting on the first ones."""
        while True:
            more = await step()
            self._wake()
            if not more:
                return

    def wake(self) -> None:
        """Something was queued elsewhere in the outbox: let the sender look now."""
        self._wake()
