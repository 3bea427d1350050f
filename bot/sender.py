"""The sender: one paced lane per messenger, and one order of priority on every one of them.

Everything a messenger is sent goes through its lane: outbox rows (pages, offers,
broadcasts…) and the answers to what a person just did, on every messenger: written with
what their update changed and handed to the lane (`take`), or, when it changed nothing,
waiting in memory.

One reply policy on every messenger: an answer that meets a rate limit keeps its place and
the whole lane waits; one that meets a network failure is tried again DIRECT_ATTEMPTS times
from memory, then written to the outbox, which sends it with its own retries (it is never
dropped, and never sent twice). At each free
slot the lane sends the most urgent message whose chat may receive one (outbox.PAGE, then
REPLY, CALL, NORMAL, URGENT_BROADCAST, BULK; first come first within a rank), so a page waits
behind nothing but another page, and a person's answer behind nothing but pages. A 429
pauses the whole lane for the time asked and the message keeps its place: nothing is
dropped, and one chat's messages leave in the order they were queued. An outbox row that
meets a network failure goes back to the outbox to be tried later, and its chat's later
rows go back behind it (`_refuse`): a chat never reads the next question before the thanks.

Crash safety: rows are claimed (pending → sending) in small batches just ahead of sending,
and outcomes are written in short batches just after. After a kill -9 the rows still
'sending' are the in-flight window: at the next start they are sent again (at-least-once),
or, with RELAIS_RESEND_AFTER_CRASH=no, marked uncertain (at-most-once). On a clean stop,
rows claimed but not yet sent go back to pending and answers still waiting are sent.
"""

from __future__ import annotations

import asyncio
import contextvars
import heapq
import itertools
import logging
import random
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.messaging import Outbound
from bot.storage.outbox import (
    CALL,
    REPLY,
    Delivery,
    Envelope,
    OutboxRepository,
    QuietUntil,
    RecentSend,
    Settlement,
)
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
# A message sent from memory (an answer) is tried this often when the network fails, then
# handed to the outbox.
DIRECT_ATTEMPTS = 3
# Outcomes are written in one transaction this often: a few rows at 30/s, ~50 at 1000/s.
FLUSH_EVERY_S = 0.05
# With nothing due, look at the outbox this often (rows due later, retries).
IDLE_LOOK_S = 1.0
# A message whose turn is further than this waits so that a more urgent one can pass it.
SLOT_PATIENCE_S = 0.05
# A chat's row deferred behind one the network refused falls due this long after it.
BEHIND = timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True)
class Lane:
    """How fast one messenger may be sent to."""

    # Telegram allows about 30 a second overall: pace just under, with no bursts, leaving
    # ~40 ms in every second for jitter between our clock and the server's.
    per_second: float = 28.8
    # Counted from the moment the previous send to that chat was answered, so that the
    # server sees them at least this far apart however long a request took.
    per_chat_interval: float = 1.0
    # 20 messages a minute in a group (negative chat ids on Telegram).
    per_group_interval: float = 3.0
    # Paid broadcasts: up to 1000 a second. At most this many start in any one second
    # (WindowGate); a hair under, for the network's jitter between our starts and the
    # server's count.
    paid_per_second: float = 990.0
    concurrency: int = 64
    # Pages and answers to people at a pace of their own, apart from the bulk pace: for a
    # messenger whose pace is self-imposed against bans rather than a published overall
    # limit (Signal). None: everything shares `per_second` (Telegram counts it all).
    interactive_per_second: float | None = None

    @property
    def memory(self) -> float:
        """How far back a send still bears on the next ones: the pace's window, a group's
        or a chat's turn, one interval of the slowest pace."""
        rates = [self.per_second, self.interactive_per_second or self.per_second]
        return max(1.0, self.per_chat_interval, self.per_group_interval, *(1 / r for r in rates))

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

    def __init__(
        self,
        rate: float,
        catch_up: float = 0.002,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.interval = 1.0 / rate
        self.catch_up = catch_up
        self._clock = clock
        self._sleep = sleep
        self._last = clock() - self.interval

    async def wait(self) -> None:
        now = self._clock()
        slot = max(now - self.catch_up, self._last + self.interval)
        self._last = slot
        if slot > now:
            await self._sleep(slot - now)
            woke = self._clock()
            if woke - slot > self.catch_up:
                self._last = woke

    def delay(self) -> float:
        """Seconds until the next slot (nothing reserved)."""
        return max(0.0, self._last + self.interval - self._clock())

    def hold_until(self, moment: float) -> None:
        """Nothing starts before `moment` (monotonic), e.g. after a 429."""
        self._last = max(self._last, moment - self.interval)

    def seed(self, starts: Sequence[float]) -> None:
        """Sends another process made a moment ago (monotonic, on this clock) count as this
        gate's own: the grid goes on from the last of them, never closer."""
        if starts:
            self._last = max(self._last, min(max(starts), self._clock()))


class WindowGate(RateGate):
    """Paid broadcasts: at most `rate` starts in any one second, and none closer than half
    an interval. A start that came late (a claim waited for the database, the process lost
    its core for a while) is made up within the second's allowance, where a fixed grid
    would lose that time for good: over a 200-second broadcast such losses cost 1-2 %.
    After a second or more idle it starts on its steady pace, not in a burst."""

    def __init__(
        self,
        rate: float,
        window: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(rate, clock=clock, sleep=sleep)
        self.window = window
        self.gap = self.interval / 2
        # The last `rate × window` starts: the oldest one says when the next may go.
        self._allowed = max(1, int(rate * window))
        self._starts: deque[float] = deque(maxlen=self._allowed)
        self._held = 0.0

    def _slot(self) -> float:
        slot = self._held
        if self._starts:
            slot = max(slot, self._starts[-1] + self.gap)
            if len(self._starts) == self._starts.maxlen:
                slot = max(slot, self._starts[0] + self.window)
        return slot

    async def wait(self) -> None:
        now = self._clock()
        if not self._starts or self._starts[-1] < now - self.window:
            # Idle for a second or more: start as if the pace had been kept all along, so a
            # new broadcast starts at its pace rather than in a burst of a second's worth.
            self._starts.extend(
                now - self.window + (n + 1) * self.interval for n in range(self._allowed)
            )
        delay = self._slot() - now
        if delay > 0:
            await self._sleep(delay)
        self._starts.append(self._clock())

    def delay(self) -> float:
        return max(0.0, self._slot() - self._clock())

    def hold_until(self, moment: float) -> None:
        self._held = max(self._held, moment)

    def seed(self, starts: Sequence[float]) -> None:
        """Sends another process made in the last window count as this gate's own. Before
        the first of them the pace is taken as kept (as after an idle second), so the
        window never starts emptier than it was."""
        now = self._clock()
        recent = sorted(min(s, now) for s in starts if s > now - self.window)
        if not recent:
            return
        known = sorted([*self._starts, *recent])
        missing = self._allowed - len(known)
        paced = [known[0] - (n + 1) * self.interval for n in range(max(0, missing))]
        self._starts.clear()
        self._starts.extend([*reversed(paced), *known][-self._allowed :])


Send = Callable[[], Awaitable[str]]


@dataclass(eq=False, slots=True)
class Direct:
    """A message sent from memory, not from the outbox: an answer to a person. Whoever
    queued it awaits `done` for the message id ("" if it was handed to the outbox), or the
    error."""

    chat_id: str
    outbound: Outbound
    done: asyncio.Future[str]
    send: Send | None = None
    attempts: int = 0
    # Where it was queued (the person's language): rendering happens at send time.
    context: contextvars.Context = field(default_factory=contextvars.copy_context)


Item = Delivery | Direct


@dataclass(slots=True)
class _Refused:
    """A chat whose outbox rows met a network failure and went back to the outbox: until
    they come back, its later rows (as urgent as them or less) wait there too, after them,
    so that the chat reads its messages in the order they were written."""

    rows: set[int]
    priority: int  # the most urgent of them
    until: datetime  # when they are due again (on the outbox's clock)


@dataclass(order=True, slots=True)
class _Queued:
    priority: int
    # Among answers: when the chat last got a message (0: never), so that in a surge the
    # people who have heard nothing yet go before those already being answered; one chat's
    # own messages keep their order (this only grows for a chat).
    turn: float
    seq: int
    item: Item = field(compare=False)


class ChannelSender:
    """Sends one messenger's messages, most urgent first, at the messenger's pace."""

    def __init__(
        self,
        transport: Transport,
        outbox: OutboxRepository,
        clock: Clock,
        lane: Lane,
        on_settled: Callable[[Delivery, str], None] | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.transport = transport
        self.outbox = outbox
        self.clock = clock
        self.lane = lane
        # The pace runs on this clock (seconds, never set back), the outbox on `clock`.
        self._monotonic = monotonic
        self._sleep = sleep
        self.gate = RateGate(lane.per_second, clock=monotonic, sleep=sleep)
        # Set by the app: holds ordinary broadcasts for recipients in their quiet hours.
        self.quiet_until: QuietUntil | None = None
        self.paid_gate = WindowGate(lane.paid_per_second, clock=monotonic, sleep=sleep)
        self.interactive_gate = (
            RateGate(lane.interactive_per_second, clock=monotonic, sleep=sleep)
            if lane.interactive_per_second
            else None
        )
        self.wakeup = asyncio.Event()
        self.paused_until = 0.0
        self.on_settled = on_settled
        self._last_sent: OrderedDict[str, float] = OrderedDict()
        self._busy: set[str] = set()
        self._slots = asyncio.Semaphore(lane.concurrency)
        self._inflight: set[asyncio.Task[None]] = set()
        # Messages whose chat may receive one now, most urgent first.
        self._ready: list[_Queued] = []
        # Messages waiting for their chat's turn: (ready at, queued entry).
        self._waiting: list[tuple[float, _Queued]] = []
        self._rows_held = 0
        self._seq = itertools.count()
        self._batch = lane.free_batch
        self._claiming: asyncio.Future[list[Delivery]] | None = None
        # A page may have been queued: claim the most urgent rows at once.
        self._urgent_wanted = False
        # The outbox had nothing due at this moment (monotonic); look again after a while,
        # or when a row put back after a network failure falls due (`_retry_look`).
        self._outbox_idle_at: float | None = None
        self._retry_look: float | None = None
        self._running = False
        self._stopped = False
        self._outcomes: list[Settlement] = []
        # Chats whose rows the network refused, waiting in the outbox: chat → what waits.
        self._refused: dict[str, _Refused] = {}
        self._claimed_at: datetime | None = None
        # Rows taken in hand (an update's answers) whose adapter waits for them to leave.
        self._leaving: dict[int, asyncio.Future[str]] = {}
        self._flush_lock = asyncio.Lock()
        self._flusher: asyncio.Task[None] | None = None
        # With nothing due, look at the outbox this often. Several processes raise it: a
        # NOTIFY wakes the lane when rows are queued, this only catches rows due later.
        self.idle_look = IDLE_LOOK_S

    # -- what others call ---------------------------------------------------------------

    def wake(self) -> None:
        """Something was queued in the outbox (perhaps a page): look now."""
        self._urgent_wanted = True
        self._outbox_idle_at = None
        self.wakeup.set()
        if self._running:
            self._maybe_claim()

    async def send(
        self, chat_id: str, outbound: Outbound, priority: int = REPLY, *, send: Send | None = None
    ) -> str:
        """Send one message from memory in its turn (an answer to a person by default);
        returns its message id. `send` replaces the transport's `deliver` for it."""
        future = self.submit(chat_id, outbound, priority, send=send)
        return await future

    def submit(
        self, chat_id: str, outbound: Outbound, priority: int = REPLY, *, send: Send | None = None
    ) -> asyncio.Future[str]:
        """Queue one message from memory; the future ends when it was sent (or failed)."""
        direct = Direct(chat_id, outbound, asyncio.get_running_loop().create_future(), send)
        if self._stopped:
            # The lane has stopped (shutting down): no more pacing, send at once.
            task = asyncio.create_task(self._send_unpaced(direct), context=direct.context)
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
        else:
            turn = self._last_sent.get(chat_id, 0.0) if priority == REPLY else 0.0
            self._push(_Queued(priority, turn, next(self._seq), direct))
            self.wakeup.set()
        return direct.done

    def take(self, deliveries: list[Delivery]) -> list[asyncio.Future[str]]:
        """Send outbox rows this process wrote as in hand (an update's answers, written with
        what it changed): no claim; they go in their chat's turn, as answers from memory.
        Each future ends (with the row's status) once its row left the lane's hands: sent,
        given up, or back in the outbox to be tried again."""
        loop = asyncio.get_running_loop()
        taken: list[asyncio.Future[str]] = []
        for delivery in deliveries:
            left: asyncio.Future[str] = loop.create_future()
            taken.append(left)
            if self._stopped:
                left.set_result("pending")  # sent at the next start (`recover`)
            else:
                self._leaving[delivery.id] = left
            turn = self._last_sent.get(delivery.chat_id, 0.0)
            queued = _Queued(delivery.priority, turn, next(self._seq), delivery)
            if self._admitted(queued, claimed_at=None):
                self._push(queued)
        if deliveries:
            self.wakeup.set()
        return taken

    def _left(self, delivery_id: int, status: str) -> None:
        left = self._leaving.pop(delivery_id, None)
        if left is not None and not left.done():
            left.set_result(status)

    # -- the loop -----------------------------------------------------------------------

    async def run(self) -> None:
        """Send forever: the most urgent ready message at each free slot."""
        self._running = True
        self._flusher = asyncio.create_task(self._flush_forever())
        try:
            while True:
                await self.send_next()
        finally:
            self._running = False
            if self._flusher is not None:
                self._flusher.cancel()

    async def send_next(self) -> None:
        """One step of `run`: wait for the most urgent message whose chat may receive one
        and for its pace's slot, then start sending it (or return, having put it back, when
        something more urgent on another pace came meanwhile)."""
        await self._respect_pause()
        queued = await self._next()
        if not await self._slot_is_near(queued):
            return
        gate = self._gate_for(queued)
        acquired = False
        try:
            await self._slots.acquire()
            acquired = True
            await gate.wait()
            await self._respect_pause()
        except BaseException:
            # Stopping: this one never left; drain() deals with what is queued.
            if acquired:
                self._slots.release()
            self._push(queued)
            raise
        if gate is not self.paid_gate:
            # Something more urgent may have come while this one waited for its slot.
            queued = self._more_urgent_than(queued)
        self._start(queued)

    async def _slot_is_near(self, queued: _Queued) -> bool:
        """Wait until `queued`'s pace nearly has a slot for it. False (and `queued` back in
        the queue) if a more urgent message on another pace came meanwhile: on Signal a page
        must not wait out the 2 s of a broadcast's turn."""
        gate = self._gate_for(queued)
        while (delay := gate.delay()) > SLOT_PATIENCE_S:
            self.wakeup.clear()
            try:
                await self._nap(delay)
            except BaseException:
                self._push(queued)
                raise
            self._promote(self._monotonic())
            first = self._ready[0] if self._ready else None
            if first is not None and first < queued and self._gate_for(first) is not gate:
                self._push(queued)
                return False
        return True

    def _gate_for(self, queued: _Queued) -> RateGate:
        item = queued.item
        return self._gate_of(queued.priority, isinstance(item, Delivery) and item.outbound.paid)

    def _gate_of(self, priority: int, paid: bool) -> RateGate:
        if paid:
            return self.paid_gate
        if self.interactive_gate is not None and priority <= REPLY:
            return self.interactive_gate
        return self.gate

    async def _respect_pause(self) -> None:
        # A loop, not an event: another 429 may push the pause further while we sleep.
        while (pause := self.paused_until - self._monotonic()) > 0:
            await asyncio.sleep(pause)

    def _pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, self._monotonic() + seconds)
        self.gate.hold_until(self.paused_until)
        self.paid_gate.hold_until(self.paused_until)
        if self.interactive_gate is not None:
            self.interactive_gate.hold_until(self.paused_until)

    def _push(self, queued: _Queued) -> None:
        if isinstance(queued.item, Delivery):
            self._rows_held += 1
        heapq.heappush(self._ready, queued)

    def _promote(self, now: float) -> None:
        """Messages whose chat's turn has come go back among the ready ones."""
        while self._waiting and self._waiting[0][0] <= now:
            heapq.heappush(self._ready, heapq.heappop(self._waiting)[1])

    def _hold(self, queued: _Queued, until: float) -> None:
        heapq.heappush(self._waiting, (until, queued))

    async def _next(self) -> _Queued:
        """The most urgent message whose chat may receive one now (waits for one)."""
        while True:
            now = self._monotonic()
            self._promote(now)
            while self._ready:
                queued = heapq.heappop(self._ready)
                ready_at = self._chat_ready_at(queued.item, now)
                if ready_at <= now:
                    if isinstance(queued.item, Delivery):
                        self._rows_held -= 1
                    self._maybe_claim()
                    return queued
                self._hold(queued, ready_at)
            self._maybe_claim()
            if self._claiming is not None and not self._waiting:
                # Shielded: a stop lets the claim finish; drain() releases its rows.
                await asyncio.shield(self._claiming)
                self._collect()
                if self._ready:
                    continue
            timeout = self._waiting[0][0] - now if self._waiting else self.idle_look
            if self._retry_look is not None:
                timeout = min(timeout, self._retry_look - now)
            self.wakeup.clear()
            if self._ready:
                continue
            await self._nap(max(timeout, 0.001))

    async def _nap(self, seconds: float) -> None:
        """Until something is queued (`wakeup`) or `seconds` have passed."""
        if self._sleep is not asyncio.sleep:
            await self._sleep(seconds)  # a clock moved by hand: its time passes in its sleep
            return
        # A timer rather than wait_for: no task to cancel when the lane stops.
        timer = asyncio.get_running_loop().call_later(seconds, self.wakeup.set)
        try:
            await self.wakeup.wait()
        finally:
            timer.cancel()

    def _more_urgent_than(self, queued: _Queued) -> _Queued:
        """`queued`, or a more urgent ready message that came in meanwhile (put back
        `queued` then)."""
        now = self._monotonic()
        self._promote(now)
        while self._ready and self._ready[0] < queued:
            better = heapq.heappop(self._ready)
            ready_at = self._chat_ready_at(better.item, now)
            if ready_at > now:
                self._hold(better, ready_at)
                continue
            if isinstance(better.item, Delivery):
                self._rows_held -= 1
            self._push(queued)
            return better
        return queued

    # -- claiming from the outbox ---------------------------------------------------------

    def _maybe_claim(self) -> None:
        """Claim the next rows in the background while others are sent, so the database
        round trip never holds up the pace; only pages while enough rows are in hand."""
        if self._claiming is not None or self._stopped:
            return
        now = self._monotonic()
        # A batch kept in reserve: a claim waits for the writer behind the outcomes being
        # written (the paid pace ran dry 1,564 times in 209 s with half a batch of reserve).
        low = self._rows_held <= self._batch and len(self._waiting) < self.lane.concurrency
        retry_due = self._retry_look is not None and now >= self._retry_look
        idle = (
            self._outbox_idle_at is not None
            and now - self._outbox_idle_at < self.idle_look
            and not retry_due
        )
        if low and not idle:
            if retry_due:
                self._retry_look = None
            self._claim(below=None)
        elif self._urgent_wanted:
            # Pages, and answers queued for this lane (another process wrote them): they
            # pass what is in hand, as answers from memory do.
            self._claim(below=CALL)

    def _claim(self, below: int | None) -> None:
        self._urgent_wanted = False
        self._claimed_at = self.clock.now()
        self._claiming = asyncio.ensure_future(
            self.outbox.claim(
                self.transport.channel,
                self._claimed_at,
                self._batch,
                self.quiet_until,
                below=below,
            )
        )
        full = below is None
        self._claiming.add_done_callback(lambda _task: self._collect(full))

    def _collect(self, full: bool = False) -> None:
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
            self._outbox_idle_at = None
        elif full:
            self._outbox_idle_at = self._monotonic()
        for delivery in batch:
            queued = _Queued(delivery.priority, 0.0, next(self._seq), delivery)
            if self._admitted(queued, claimed_at=self._claimed_at):
                self._push(queued)
        if batch:
            self.wakeup.set()
        if self._urgent_wanted:
            # Something was queued while this claim ran (a page committed after it read):
            # fetch it now, while this batch waits for its slot, not after one has gone.
            self._maybe_claim()

    # -- a chat's rows behind one the network refused -------------------------------------

    def _admitted(self, queued: _Queued, claimed_at: datetime | None) -> bool:
        """Whether a row joins the queue, or waits in the outbox behind its chat's rows
        that the network refused (after them: due a moment later). `claimed_at`: the row
        came from a claim made at that moment (None: taken in hand)."""
        delivery = queued.item
        assert isinstance(delivery, Delivery)
        refused = self._refused.get(delivery.chat_id)
        if refused is None or queued.priority < refused.priority:
            return True  # nothing waits, or it is more urgent: it would go first anyway
        if delivery.id in refused.rows:
            refused.rows.discard(delivery.id)  # back from the outbox: it goes first
            if not refused.rows:
                del self._refused[delivery.chat_id]
            return True
        if claimed_at is not None and claimed_at >= refused.until:
            # The claim came after they fell due, and brought a later row without them:
            # they left the queue meanwhile (withdrawn, the chat blocked).
            del self._refused[delivery.chat_id]
            return True
        self._defer(delivery, refused.until)
        return False

    def _refuse(self, delivery: Delivery, until: datetime) -> None:
        """`delivery` met a network failure and goes back to the outbox until `until`: the
        rows of its chat in hand (as urgent or less) go back too, behind it."""
        chat_id = delivery.chat_id
        refused = self._refused.get(chat_id)
        if refused is None:
            if len(self._refused) >= 10_000:
                self._forget_old_refusals()
            refused = self._refused[chat_id] = _Refused(set(), delivery.priority, until)
        refused.rows.add(delivery.id)
        refused.priority = min(refused.priority, delivery.priority)
        refused.until = max(refused.until, until)

        def behind(queued: _Queued) -> bool:
            item = queued.item
            return (
                isinstance(item, Delivery)
                and item.chat_id == chat_id
                and queued.priority >= refused.priority
            )

        held = [q for q in self._ready if behind(q)]
        if held:
            self._ready = [q for q in self._ready if not behind(q)]
            heapq.heapify(self._ready)
        waiting = [q for _at, q in self._waiting if behind(q)]
        if waiting:
            self._waiting = [w for w in self._waiting if not behind(w[1])]
            heapq.heapify(self._waiting)
        for queued in [*held, *waiting]:
            assert isinstance(queued.item, Delivery)
            self._rows_held -= 1
            self._defer(queued.item, refused.until)

    def _defer(self, delivery: Delivery, until: datetime) -> None:
        """Back to the outbox, unsent, due just after the rows it waits for."""
        self._outcome(Settlement(delivery.id, "pending", retry_at=until + BEHIND, tried=False))
        self._left(delivery.id, "pending")

    def _forget_old_refusals(self) -> None:
        """Refusals whose rows never came back (withdrawn) and no later row came to end."""
        old = self.clock.now() - timedelta(hours=1)
        for chat_id in [c for c, r in self._refused.items() if r.until < old]:
            del self._refused[chat_id]

    # -- each chat's turn -----------------------------------------------------------------

    def _chat_ready_at(self, item: Item, now: float) -> float:
        chat_id = item.chat_id
        if chat_id in self._busy:
            # One message at a time per chat keeps them in order; look again shortly.
            return now + min(0.05, self.lane.per_chat_interval or 0.05)
        if _is_edit(item):
            return 0.0  # an edit shows no new message: no per-chat wait
        last = self._last_sent.get(chat_id)
        if last is None:
            return 0.0
        group = chat_id.startswith("-")
        return last + (self.lane.per_group_interval if group else self.lane.per_chat_interval)

    def _note_chat(self, chat_id: str) -> None:
        self._last_sent[chat_id] = self._monotonic()
        self._last_sent.move_to_end(chat_id)
        # Only the last few seconds matter; keep memory flat however many recipients.
        while len(self._last_sent) > 5000:
            self._last_sent.popitem(last=False)

    # -- one send -----------------------------------------------------------------------

    def _start(self, queued: _Queued) -> None:
        item = queued.item
        self._busy.add(item.chat_id)
        before = self._last_sent.get(item.chat_id)
        if not _is_edit(item):
            self._note_chat(item.chat_id)
        if isinstance(item, Delivery):
            task = asyncio.create_task(self._send(queued, before))
        else:
            task = asyncio.create_task(self._send_direct(queued, before), context=item.context)
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    def _finished(self, item: Item, before: float | None, refused: bool) -> None:
        self._busy.discard(item.chat_id)
        if refused:
            # Nothing reached the chat: its turn is as it was (the lane pause holds it).
            if before is None:
                self._last_sent.pop(item.chat_id, None)
            else:
                self._last_sent[item.chat_id] = before
        elif not _is_edit(item):
            self._note_chat(item.chat_id)  # the chat's next turn counts from the answer
        self._slots.release()
        self.wakeup.set()

    async def _send_direct(self, queued: _Queued, before: float | None) -> None:
        direct = queued.item
        assert isinstance(direct, Direct)
        refused = False
        try:
            message_id = await self._deliver_direct(direct)
        except RateLimited as exc:
            # Telegram asks everyone to wait: pause the lane; the message keeps its place.
            refused = True
            self._pause(exc.retry_after)
            log.warning("%s asked to wait %.1fs", self.transport.channel, exc.retry_after)
            self._push(queued)
        except TransientFailure as exc:
            direct.attempts += 1
            if direct.attempts >= DIRECT_ATTEMPTS:
                await self._to_outbox(direct, exc)
            else:
                backoff = 0.5 * 2**direct.attempts * random.uniform(0.8, 1.2)
                self._hold(queued, self._monotonic() + backoff)
        except BaseException as exc:
            _fail(direct, exc)
            if not isinstance(exc, Exception):
                raise
        else:
            if not direct.done.done():
                direct.done.set_result(message_id)
        finally:
            self._finished(direct, before, refused)

    async def _to_outbox(self, direct: Direct, exc: Exception) -> None:
        """An answer the network kept refusing: the outbox sends it, with its own retries."""
        log.info("an answer to a %s chat goes through the outbox: %s", self.transport.channel, exc)
        envelope = Envelope(
            "reply", self.transport.channel, direct.chat_id, direct.outbound, priority=REPLY
        )
        try:
            await self.outbox.add([envelope], self.clock.now())
        except Exception as error:
            _fail(direct, error)
            return
        if not direct.done.done():
            direct.done.set_result("")
        self.wake()

    def _deliver_direct(self, direct: Direct) -> Awaitable[str]:
        if direct.send is not None:
            return direct.send()
        return self.transport.deliver(direct.chat_id, direct.outbound)

    async def _send_unpaced(self, direct: Direct) -> None:
        try:
            direct.done.set_result(await self._deliver_direct(direct))
        except Exception as exc:
            _fail(direct, exc)

    async def _send(self, queued: _Queued, before: float | None) -> None:
        delivery = queued.item
        assert isinstance(delivery, Delivery)
        status = "sent"
        refused = False
        now = self.clock.now
        try:
            try:
                message_id = await self.transport.deliver(delivery.chat_id, delivery.outbound)
            except RateLimited as exc:
                # Telegram asks everyone to wait: pause the lane, keep the message in its place.
                status = "pending"
                refused = True
                self._pause(exc.retry_after)
                log.warning("%s asked to wait %.1fs", self.transport.channel, exc.retry_after)
                self._push(queued)
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
                    backoff = _retry_after(delivery)
                    retry_at = now() + timedelta(seconds=backoff)
                    self._look_again(backoff)
                    self._outcome(
                        Settlement(delivery.id, status, error=str(exc), retry_at=retry_at)
                    )
                    self._refuse(delivery, retry_at)
            else:
                self._outcome(Settlement(delivery.id, "sent", message_id=message_id))
        except Exception:
            log.exception("outbox row %d could not be settled", delivery.id)
        finally:
            self._finished(delivery, before, refused)
        if not refused:
            self._left(delivery.id, status)
        if self.on_settled is not None:
            self.on_settled(delivery, status)

    def _look_again(self, seconds: float) -> None:
        """Look at the outbox when a row put back to be tried again falls due (however long
        the lane would otherwise idle)."""
        at = self._monotonic() + seconds
        self._retry_look = at if self._retry_look is None else min(self._retry_look, at)

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
            self._outbox_idle_at = None
            self.wakeup.set()

    async def drain(self) -> None:
        """At shutdown: wait for sends in flight, write outcomes, release unsent claims and
        send the answers still waiting (at once: the process is about to end)."""
        self._stopped = True
        if self._claiming is not None:
            await asyncio.gather(self._claiming, return_exceptions=True)
            self._collect()
        if self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)
        await self.flush()
        queued = sorted([q for q in self._ready] + [q for _t, q in self._waiting])
        self._ready.clear()
        self._waiting.clear()
        self._rows_held = 0
        unsent = [q.item.id for q in queued if isinstance(q.item, Delivery)]
        for row in unsent:
            self._left(row, "pending")
        if unsent:
            await self.outbox.release(unsent)
        for q in queued:
            if isinstance(q.item, Direct):
                await asyncio.create_task(self._send_unpaced(q.item), context=q.item.context)
        if self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)

    # -- taking over from another process -------------------------------------------------

    async def take_over(self) -> None:
        """Before sending a lane another process sent until a moment ago (it was killed, or
        stepped down): its last sends, as the outbox recorded them, count against the
        messenger's limits as if this process had made them, so the first sends here keep
        the pace and each chat's turn across the change of sender. Call it before the rows
        the other one had in hand are put back in the queue."""
        now = self.clock.now()
        since = now - timedelta(seconds=self.lane.memory)
        self.seed(await self.outbox.recent_sends(self.transport.channel, since), now)

    def seed(self, recent: Sequence[RecentSend], now: datetime) -> None:
        """Count sends made elsewhere (moments on the outbox's clock, `now` being this
        moment on it) in this lane's pace and chats' turns. A send still in flight when its
        sender stopped is counted as made just now: it may have reached the server at the
        last moment, and it is about to be sent again."""
        here = self._monotonic()
        starts: dict[int, tuple[RateGate, list[float]]] = {}
        for send in sorted(recent, key=lambda r: r.sent_at or now):
            age = 0.0 if send.sent_at is None else (now - send.sent_at).total_seconds()
            at = here - max(0.0, age)
            gate = self._gate_of(send.priority, send.paid)
            starts.setdefault(id(gate), (gate, []))[1].append(at)
            if send.chat_id and at > self._last_sent.get(send.chat_id, float("-inf")):
                self._last_sent[send.chat_id] = at
                self._last_sent.move_to_end(send.chat_id)
        for gate, moments in starts.values():
            gate.seed(moments)

    def held(self) -> list[int]:
        """The outbox rows this lane holds in memory, to send (answers handed to it)."""
        queued = [*self._ready, *(q for _t, q in self._waiting)]
        return [q.item.id for q in queued if isinstance(q.item, Delivery)]

    def reopen(self) -> None:
        """After `drain`: the lane may run again (its process took the role back)."""
        self._stopped = False
        self._outbox_idle_at = None
        self._urgent_wanted = True
        # Another process may have sent them meanwhile: the outbox's order stands.
        self._refused.clear()


def _retry_after(delivery: Delivery) -> float:
    """Seconds before a row the network refused is tried again: an answer to a person as
    one from memory would be (one reply policy), anything else with the outbox's longer
    backoff."""
    jitter = random.uniform(0.8, 1.2)
    if delivery.kind == "reply":
        return 0.5 * 2.0**delivery.attempts * jitter
    return min(BACKOFF_CAP_S, 2.0**delivery.attempts) * jitter


def _is_edit(item: Item) -> bool:
    return bool(item.outbound.edit_message_id) and item.outbound.attachment is None


def _fail(direct: Direct, exc: BaseException) -> None:
    if not direct.done.done():
        direct.done.set_exception(exc)
        # Whoever queued it may have stopped waiting; do not warn about an unread error.
        direct.done.exception()


class Sender:
    """One lane per messenger, all woken when something is queued."""

    def __init__(
        self, outbox: OutboxRepository, clock: Clock, *, resend_after_crash: bool = True
    ) -> None:
        self.outbox = outbox
        self.clock = clock
        self.resend_after_crash = resend_after_crash
        self.lanes: dict[str, ChannelSender] = {}
        # The lanes this process sends now (all of them, unless several processes share
        # the database and elected another one for some).
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._recovered = False

    def add(self, transport: Transport, lane: Lane) -> ChannelSender:
        sender = ChannelSender(transport, self.outbox, self.clock, lane)
        self.lanes[transport.channel] = sender
        return sender

    def wake(self) -> None:
        """Something was queued: look at the outbox now rather than at the next tick."""
        for lane in self.lanes.values():
            lane.wake()

    async def recover(self) -> None:
        """Before any messenger brings an update (the only process on its database): rows
        left being sent by the process before this one go out again. Done later, it would
        also take the answers updates already handled here handed to their lane."""
        await self._recover(None)
        self._recovered = True

    async def start(self) -> None:
        """Send every lane from this process (the only one on its database); recover first
        if `recover` was not called."""
        if not self._recovered:
            await self.recover()
        for channel in self.lanes:
            self._run(channel)

    async def lead(self, channel: str) -> None:
        """This process now sends `channel`'s outbox: it goes on at the pace the previous
        sender kept, what that one had in hand when it stopped (or was killed) goes out
        again, then the lane runs."""
        await self.lanes[channel].take_over()
        await self._recover(channel)
        self._run(channel)

    async def _recover(self, channel: str | None) -> None:
        # Never the rows a lane holds: answers this process wrote in hand, that it sends.
        lanes = self.lanes.values() if channel is None else [self.lanes[channel]]
        recovered = await self.outbox.recover(
            self.clock.now(),
            lease=timedelta(0),
            resend=self.resend_after_crash,
            channel=channel,
            keep=[row for lane in lanes for row in lane.held()],
        )
        if recovered and self.resend_after_crash:
            log.warning(
                "%d messages were being sent when their sender stopped: sending them again",
                recovered,
            )
        elif recovered:
            log.warning(
                "%d messages were being sent when their sender stopped: marked uncertain",
                recovered,
            )

    def _run(self, channel: str) -> None:
        lane = self.lanes[channel]
        lane.reopen()
        self._tasks[channel] = asyncio.create_task(lane.run(), name=f"lane-{channel}")

    async def step_down(self, channel: str) -> None:
        """Stop sending `channel`: sends in flight end, their outcomes are written, rows
        claimed but not sent go back to the outbox for whoever sends next."""
        task = self._tasks.pop(channel, None)
        if task is None:
            return
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        lane = self.lanes[channel]
        try:
            await lane.drain()
        except Exception:
            log.exception("the %s lane could not be drained cleanly", channel)

    async def stop(self) -> None:
        for channel in list(self._tasks):
            await self.step_down(channel)
