"""The sender: drains the outbox at each messenger's limits, urgent messages first.

Interactive replies never come through here; they go straight back to the person and take
their turn on the same pace (`ChannelSender.pace`), so they wait a slot at most while a
broadcast runs at the limit.

Crash safety: rows are claimed (pending → sending) in small batches just ahead of sending,
and outcomes are written in short batches just after. After a kill -9 the rows still
'sending' are the in-flight window: they are marked uncertain at the next start, never
resent blindly. On a clean stop, rows claimed but not yet sent go back to pending.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import random
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from bot.clock import Clock
from bot.messaging import Outbound
from bot.storage.outbox import Delivery, OutboxRepository, QuietUntil, Settlement
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
BACKOFF_CAP_S = 300.0
# Outcomes are written in one transaction this often: a few rows at 30/s, ~50 at 1000/s.
FLUSH_EVERY_S = 0.05


@dataclass(frozen=True, slots=True)
class Lane:
    """How fast one messenger may be sent to."""

    # Telegram allows about 30 a second overall: pace just under, with no bursts, leaving
    # ~40 ms in every second for jitter between our clock and the server's.
    per_second: float = 28.8
    per_chat_interval: float = 1.0
    # 20 messages a minute in a group (negative chat ids on Telegram).
    per_group_interval: float = 3.0
    # Paid broadcasts: up to 1000 a second; keep a hair under so timer catch-up never
    # puts 1001 in one second.
    paid_per_second: float = 990.0
    concurrency: int = 64

    @property
    def free_batch(self) -> int:
        """Rows claimed at a time at the free rate: about a quarter of a second's worth."""
        return max(1, min(self.concurrency, round(self.per_second / 4)))

    @property
    def paid_batch(self) -> int:
        return max(1, min(self.concurrency, round(self.paid_per_second / 20)))


class RateGate:
    """A steady pace: start times on a grid 1/rate apart, never a burst.

    A wake-up that comes late by less than `catch_up` (timers overshoot by a millisecond or
    so) keeps its slot on the grid. A later one (the process was starved of CPU) moves the
    grid to the moment it actually started, so the next start is still a full interval
    after it: a stall never lets two starts come closer than interval - catch_up.
    """

    def __init__(self, rate: float, catch_up: float = 0.002) -> None:
        self.interval = 1.0 / rate
        self.catch_up = catch_up
        self._last = time.monotonic() - self.interval

    async def wait(self) -> None:
        now = time.monotonic()
        slot = max(now - self.catch_up, self._last + self.interval)
        self._last = slot
        if slot > now:
            await asyncio.sleep(slot - now)
            woke = time.monotonic()
            if woke - slot > self.catch_up:
                self._last = woke

    def hold_until(self, moment: float) -> None:
        """Nothing starts before `moment` (monotonic), e.g. after a 429."""
        self._last = max(self._last, moment - self.interval)

    def take(self, most_owed: float = 2.0) -> None:
        """Use a slot at once, without waiting (a reply to a person): the sends queued
        behind it move back by one slot, at most `most_owed` seconds' worth in all."""
        now = time.monotonic()
        self._last = min(max(now - self.catch_up, self._last + self.interval), now + most_owed)


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
        # Set by the app: holds ordinary broadcasts for recipients in their quiet hours.
        self.quiet_until: QuietUntil | None = None
        self.paid_gate = RateGate(lane.paid_per_second, catch_up=0.004)
        self.wakeup = asyncio.Event()
        self.paused_until = 0.0
        self.on_settled = on_settled
        self._last_sent: OrderedDict[str, float] = OrderedDict()
        self._slots = asyncio.Semaphore(lane.concurrency)
        self._inflight: set[asyncio.Task[None]] = set()
        self._claimed: deque[Delivery] = deque()
        # Deliveries waiting for their chat's turn: (ready at, seq, delivery).
        self._deferred: list[tuple[float, int, Delivery]] = []
        self._seq = itertools.count()
        self._batch = lane.free_batch
        self._claiming: asyncio.Future[list[Delivery]] | None = None
        self._outcomes: list[Settlement] = []
        self._flush_lock = asyncio.Lock()
        self._flusher: asyncio.Task[None] | None = None

    # -- the loop -----------------------------------------------------------------------

    async def run(self) -> None:
        """Drain forever; sleep until woken or until the next row is due."""
        self._flusher = asyncio.create_task(self._flush_forever())
        try:
            while True:
                await self._respect_pause()
                delivery = await self._next()
                ready = self._chat_ready_at(delivery.chat_id)
                if ready > time.monotonic():
                    heapq.heappush(self._deferred, (ready, next(self._seq), delivery))
                    continue
                acquired = False
                try:
                    await self._slots.acquire()
                    acquired = True
                    await (self.paid_gate if delivery.outbound.paid else self.gate).wait()
                    await self._respect_pause()
                except BaseException:
                    # Stopping: this one never left; drain() puts it back in the queue.
                    if acquired:
                        self._slots.release()
                    self._claimed.appendleft(delivery)
                    raise
                self._note_chat(delivery.chat_id)
                task = asyncio.create_task(self._send(delivery))
                self._inflight.add(task)
                task.add_done_callback(self._inflight.discard)
        finally:
            if self._flusher is not None:
                self._flusher.cancel()

    async def pace(self) -> None:
        """Wait for a turn on the overall budget (progress messages)."""
        await self._respect_pause()
        await self.gate.wait()

    async def reply_slot(self) -> None:
        """A reply to a person goes out at once and counts against the budget, so the
        queued sends behind it slow down instead; only a 429 pause holds it back."""
        await self._respect_pause()
        self.gate.take()

    async def deliver_now(self, chat_id: str, outbound: Outbound) -> str:
        """Send one message outside the outbox (progress messages), on the same pace."""
        await self.pace()
        try:
            return await self.transport.deliver(chat_id, outbound)
        except RateLimited as exc:
            self._pause(exc.retry_after)
            raise

    async def _respect_pause(self) -> None:
        # A loop, not an event: another 429 may push the pause further while we sleep.
        while (pause := self.paused_until - time.monotonic()) > 0:
            await asyncio.sleep(pause)

    def _pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)
        self.gate.hold_until(self.paused_until)
        self.paid_gate.hold_until(self.paused_until)

    async def _next(self) -> Delivery:
        """The next delivery to try: a deferred one whose chat is ready, else a claimed one.

        The next batch is claimed in the background while the current one is sent, so the
        database round trip never holds up the pace.
        """
        while True:
            now = time.monotonic()
            if self._deferred and self._deferred[0][0] <= now:
                return heapq.heappop(self._deferred)[2]
            if not self._claimed and len(self._deferred) < self.lane.concurrency:
                self._prefetch()
                assert self._claiming is not None
                # Shielded: a stop lets the claim finish; drain() releases its rows.
                await asyncio.shield(self._claiming)
                self._collect()
            if self._claimed:
                delivery = self._claimed.popleft()
                if len(self._claimed) <= self._batch // 2:
                    self._prefetch()
                return delivery
            timeout = self._deferred[0][0] - now if self._deferred else 1.0
            self.wakeup.clear()
            try:
                await asyncio.wait_for(self.wakeup.wait(), timeout=max(timeout, 0.001))
            except TimeoutError:
                pass

    def _prefetch(self) -> None:
        if self._claiming is None:
            self._claiming = asyncio.ensure_future(
                self.outbox.claim(
                    self.transport.channel, self.clock.now(), self._batch, self.quiet_until
                )
            )
            self._claiming.add_done_callback(lambda _task: self._collect())

    def _collect(self) -> None:
        """Move a finished claim's rows into the queue (idempotent)."""
        task = self._claiming
        if task is None or not task.done():
            return
        self._claiming = None
        if task.cancelled() or task.exception() is not None:
            if not task.cancelled():
                log.error("claiming from the outbox failed: %s", task.exception())
            return
        batch = task.result()
        if batch:
            paid = all(d.outbound.paid for d in batch)
            self._batch = self.lane.paid_batch if paid else self.lane.free_batch
        self._claimed.extend(batch)

    def _chat_ready_at(self, chat_id: str) -> float:
        last = self._last_sent.get(chat_id)
        if last is None:
            return 0.0
        group = chat_id.startswith("-")
        return last + (self.lane.per_group_interval if group else self.lane.per_chat_interval)

    def _note_chat(self, chat_id: str) -> None:
        self._last_sent[chat_id] = time.monotonic()
        self._last_sent.move_to_end(chat_id)
        # Only the last few seconds matter; keep memory flat however many recipients.
        while len(self._last_sent) > 5000:
            self._last_sent.popitem(last=False)

    # -- one send -----------------------------------------------------------------------

    async def _send(self, delivery: Delivery) -> None:
        status = "sent"
        now = self.clock.now
        try:
            try:
                message_id = await self.transport.deliver(delivery.chat_id, delivery.outbound)
            except RateLimited as exc:
                # Telegram asks everyone to wait: pause the lane, keep the message.
                status = "pending"
                self._pause(exc.retry_after)
                log.warning("%s asked to wait %.1fs", self.transport.channel, exc.retry_after)
                await self.outbox.requeue_without_attempt(delivery.id, now())
            except Unreachable as exc:
                status = "blocked"
                await self.outbox.mark_unreachable(delivery.channel, delivery.chat_id, now())
                self._outcome(Settlement(delivery.id, status, error=str(exc)))
            except PermanentFailure as exc:
                status = "failed"
                self._outcome(Settlement(delivery.id, status, error=str(exc)))
            except UncertainDelivery as exc:
                status = "uncertain"
                self._outcome(Settlement(delivery.id, status, error=str(exc)))
            except TransientFailure as exc:
                if delivery.attempts >= MAX_ATTEMPTS:
                    status = "failed"
                    error = f"gave up after {delivery.attempts} attempts: {exc}"
                    self._outcome(Settlement(delivery.id, status, error=error))
                else:
                    status = "pending"
                    backoff = min(BACKOFF_CAP_S, 2.0**delivery.attempts) * random.uniform(0.8, 1.2)
                    retry_at = now() + timedelta(seconds=backoff)
                    self._outcome(
                        Settlement(delivery.id, status, error=str(exc), retry_at=retry_at)
                    )
            else:
                self._outcome(Settlement(delivery.id, "sent", message_id=message_id))
        except Exception:
            log.exception("outbox row %d could not be settled", delivery.id)
        finally:
            self._slots.release()
        if self.on_settled is not None:
            self.on_settled(delivery, status)

    def _outcome(self, settlement: Settlement) -> None:
        self._outcomes.append(settlement)

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_EVERY_S)
            try:
                await asyncio.shield(self.flush())
            except Exception:
                log.exception("delivery outcomes could not be written; will retry")

    async def flush(self) -> None:
        """Write the outcomes gathered since the last flush, in one transaction."""
        async with self._flush_lock:
            if not self._outcomes:
                return
            batch, self._outcomes = self._outcomes, []
            try:
                await self.outbox.settle_many(batch, self.clock.now())
            except BaseException:
                self._outcomes[:0] = batch
                raise
        if any(s.retry_at is not None for s in batch):
            self.wakeup.set()

    async def drain(self) -> None:
        """At shutdown: wait for sends in flight, write outcomes, release unsent claims."""
        if self._claiming is not None:
            await asyncio.gather(self._claiming, return_exceptions=True)
            self._collect()
        if self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)
        await self.flush()
        unsent = [d.id for d in self._claimed] + [d.id for _r, _s, d in self._deferred]
        self._claimed.clear()
        self._deferred.clear()
        if unsent:
            await self.outbox.release(unsent)


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

    async def deliver_now(self, channel: str, chat_id: str, outbound: Outbound) -> str:
        """Send one message at once through a lane's pace (not through the outbox)."""
        lane = self.lanes.get(channel)
        if lane is None:
            raise PermanentFailure(f"no messenger {channel!r} is running")
        return await lane.deliver_now(chat_id, outbound)

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
            try:
                await lane.drain()
            except Exception:
                log.exception("the %s lane could not be drained cleanly", lane.transport.channel)
