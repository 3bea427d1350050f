"""The sender: drains the outbox at each messenger's limits, urgent messages first.

Interactive replies never come through here; they go straight back to the person, so a
broadcast in progress cannot starve them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from bot.clock import Clock
from bot.storage.outbox import Delivery, OutboxRepository
from bot.transports import (
    PermanentFailure,
    RateLimited,
    TransientFailure,
    Transport,
    UncertainDelivery,
    Unreachable,
)

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Lane:
    """How fast one messenger may be sent to."""

    per_second: float = 28.0
    per_chat_interval: float = 1.0
    paid_per_second: float = 1000.0
    concurrency: int = 32


class RateGate:
    """A steady pace: at most `rate` starts per second, spread evenly."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = time.monotonic()

    async def wait(self) -> None:
        now = time.monotonic()
        if self._next > now:
            delay = self._next - now
            self._next += self.interval
            await asyncio.sleep(delay)
        else:
            self._next = now + self.interval


class ChannelSender:
    """Sends one messenger's queued messages."""

    def __init__(
        self,
        transport: Transport,
        outbox: OutboxRepository,
        clock: Clock,
        lane: Lane,
        on_settled: Callable[[Delivery, str], None] | None = None,
    ) -> None:
        self.transport = transport
        self.outbox = outbox
        self.clock = clock
        self.lane = lane
        self.gate = RateGate(lane.per_second)
        self.paid_gate = RateGate(lane.paid_per_second)
        self.wakeup = asyncio.Event()
        self.paused_until = 0.0
        self._last_sent: OrderedDict[str, float] = OrderedDict()
        self._slots = asyncio.Semaphore(lane.concurrency)
        self._inflight: set[asyncio.Task[None]] = set()
        self.on_settled = on_settled

    async def run(self) -> None:
        """Drain forever; sleep until woken or until the next row is due."""
        while True:
            if (pause := self.paused_until - time.monotonic()) > 0:
                await asyncio.sleep(pause)
            batch = await self.outbox.claim(
                self.transport.channel, self.clock.now(), self.lane.concurrency
            )
            if not batch:
                self.wakeup.clear()
                try:
                    await asyncio.wait_for(self.wakeup.wait(), timeout=1.0)
                except TimeoutError:
                    pass
                continue
            for delivery in batch:
                await self._slots.acquire()
                if delivery.outbound.paid:
                    await self.paid_gate.wait()
                else:
                    await self.gate.wait()
                await self._respect_chat_pace(delivery.chat_id)
                task = asyncio.create_task(self._send(delivery))
                self._inflight.add(task)
                task.add_done_callback(self._inflight.discard)

    async def _respect_chat_pace(self, chat_id: str) -> None:
        # Telegram: about one message a second to the same chat.
        last = self._last_sent.get(chat_id)
        now = time.monotonic()
        if last is not None and now - last < self.lane.per_chat_interval:
            await asyncio.sleep(self.lane.per_chat_interval - (now - last))
        self._last_sent[chat_id] = time.monotonic()
        self._last_sent.move_to_end(chat_id)
        while len(self._last_sent) > 5000:
            self._last_sent.popitem(last=False)

    async def _send(self, delivery: Delivery) -> None:
        status = "sent"
        try:
            try:
                message_id = await self.transport.deliver(delivery.chat_id, delivery.outbound)
            except RateLimited as exc:
                status = "pending"
                self.paused_until = max(self.paused_until, time.monotonic() + exc.retry_after)
                log.warning("%s asked to wait %.1fs", self.transport.channel, exc.retry_after)
                await self.outbox.requeue_without_attempt(
                    delivery.id, self.clock.now() + timedelta(seconds=exc.retry_after)
                )
            except Unreachable as exc:
                status = "blocked"
                await self.outbox.mark_unreachable(
                    delivery.channel, delivery.chat_id, self.clock.now()
                )
                await self.outbox.settle(delivery.id, status, self.clock.now(), error=str(exc))
            except PermanentFailure as exc:
                status = "failed"
                await self.outbox.settle(delivery.id, status, self.clock.now(), error=str(exc))
            except UncertainDelivery as exc:
                status = "uncertain"
                await self.outbox.settle(delivery.id, status, self.clock.now(), error=str(exc))
            except TransientFailure as exc:
                if delivery.attempts >= MAX_ATTEMPTS:
                    status = "failed"
                    await self.outbox.settle(delivery.id, status, self.clock.now(), error=str(exc))
                else:
                    status = "pending"
                    backoff = timedelta(seconds=min(300, 2**delivery.attempts))
                    await self.outbox.settle(
                        delivery.id,
                        status,
                        self.clock.now(),
                        error=str(exc),
                        retry_at=self.clock.now() + backoff,
                    )
            else:
                await self.outbox.settle(
                    delivery.id, "sent", self.clock.now(), message_id=message_id
                )
        except Exception:
            log.exception("outbox row %d could not be settled", delivery.id)
        finally:
            self._slots.release()
        if self.on_settled is not None:
            self.on_settled(delivery, status)

    async def drain(self) -> None:
        """Wait for the sends in flight (used at shutdown)."""
        if self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)


class Sender:
    """One lane per messenger, all woken when something is queued."""

    def __init__(self, outbox: OutboxRepository, clock: Clock) -> None:
        self.outbox = outbox
        self.clock = clock
        self.lanes: dict[str, ChannelSender] = {}
        self._tasks: list[asyncio.Task[None]] = []

    def add(self, transport: Transport, lane: Lane) -> ChannelSender:
        sender = ChannelSender(transport, self.outbox, self.clock, lane)
        self.lanes[transport.channel] = sender
        return sender

    def wake(self) -> None:
        """Something was queued: look at the outbox now rather than at the next tick."""
        for lane in self.lanes.values():
            lane.wakeup.set()

    async def start(self) -> None:
        recovered = await self.outbox.recover(self.clock.now(), lease=timedelta(0))
        if recovered:
            log.warning(
                "%d messages were being sent when Relais stopped: marked uncertain", recovered
            )
        self._tasks = [asyncio.create_task(lane.run()) for lane in self.lanes.values()]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for lane in self.lanes.values():
            await lane.drain()
