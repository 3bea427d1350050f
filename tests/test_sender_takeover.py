"""A sender that takes over a lane (its predecessor was killed mid-broadcast) keeps Telegram's
limits across the change: its first sends count the last second's sends the outbox recorded,
and each chat's turn. Checked on clocks moved by hand, against the fake Bot API's own rate
limiter (30 a second overall, 1 a second per chat), which answers 429 when they are broken."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.messaging import Outbound
from bot.sender import ChannelSender, Lane
from bot.storage.outbox import URGENT_BROADCAST, Envelope
from tests.fakes.bot_api import BotAPIError, FakeBotAPI
from tests.fakes.clock import FakeClock
from tests.fakes.services import ServicesOnDisk

PACE = Lane().per_second  # 28.8 a second: what the killed sender kept
LAST_SECOND = 26  # sends settled in the killed sender's last second, beside 3 in hand


class Seconds:
    """A monotonic clock that moves only when the lane sleeps."""

    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)  # let the sends started meanwhile run


class Telegram:
    """The messenger as the fake Bot API's rate limiter sees it: every send's moment is
    checked against the sends before it, the killed sender's included."""

    channel = "telegram"

    def __init__(self, seconds: Seconds) -> None:
        self.seconds = seconds
        self.api = FakeBotAPI(limit_global_per_s=30, limit_per_chat_per_s=1)
        self.sent: list[tuple[str, float]] = []
        self.refused: list[tuple[str, float]] = []

    def arrived(self, chat_id: str, at: float, paid: bool = False) -> bool:
        try:
            self.api._check_rate(int(chat_id), paid, at)
        except BotAPIError:
            self.refused.append((chat_id, at))
            return False
        self.sent.append((chat_id, at))
        return True

    async def deliver(self, chat_id: str, outbound: Outbound) -> str:
        self.arrived(chat_id, self.seconds(), outbound.paid)
        return str(len(self.sent))


def _envelopes(chats: list[str], text: str, paid: bool = False) -> list[Envelope]:
    return [
        Envelope(
            "broadcast",
            "telegram",
            chat,
            Outbound(f"{text} {chat}", paid=paid),
            priority=URGENT_BROADCAST,
        )
        for chat in chats
    ]


async def _killed_midway(services: ServicesOnDisk, telegram: Telegram, paid: bool = False) -> None:
    """What the killed sender left: 26 sends in its last second (at its pace, recorded as it
    settled them), a group's message two seconds ago, one sent long ago, and three rows in
    hand (claimed, perhaps sent, never settled) when it died at `telegram.seconds()`."""
    clock, outbox = services.clock, services.outbox
    assert isinstance(clock, FakeClock)
    killed, here = clock.now(), telegram.seconds()
    history = [("40", 30.0), ("-100200", 2.0)] + [
        (str(n), (2 + n) / PACE) for n in range(1, LAST_SECOND + 1)
    ]
    for chat, ago in sorted(history, key=lambda h: -h[1]):
        await outbox.add(_envelopes([chat], "Earlier", paid), killed)
        (row,) = await outbox.claim("telegram", killed, 1)
        await outbox.settle(row.id, "sent", killed - timedelta(seconds=ago), message_id="1")
        # The server saw it a little before it was recorded: at least as close to the kill.
        telegram.arrived(chat, here - ago - 0.01, paid)
    await outbox.add(_envelopes(["30", "31", "32"], "In hand", paid), killed)
    assert len(await outbox.claim("telegram", killed, 3)) == 3
    for n, chat in enumerate(("30", "31", "32")):  # they reached the server at the kill
        telegram.arrived(chat, here - (2 - n) / PACE, paid)
    assert telegram.refused == []


async def _take_over(
    services: ServicesOnDisk, telegram: Telegram, seconds: Seconds
) -> ChannelSender:
    """What `Sender.lead` does in the process elected next, on the clocks of the test."""
    lane = ChannelSender(
        telegram,  # type: ignore[arg-type]
        services.outbox,
        services.clock,
        Lane(),
        monotonic=seconds,
        sleep=seconds.sleep,
    )
    await lane.take_over()
    await services.outbox.recover(services.clock.now(), lease=timedelta(0), channel="telegram")
    return lane


async def _send(lane: ChannelSender, count: int) -> None:
    """`count` steps of the lane's loop, then its outcomes written (as when it stops)."""
    for _ in range(count):
        await asyncio.wait_for(lane.send_next(), 5)
    await lane.drain()


async def test_the_next_sender_keeps_the_pace_and_each_chats_turn(
    services: ServicesOnDisk,
) -> None:
    seconds = Seconds()
    telegram = Telegram(seconds)
    await _killed_midway(services, telegram)
    lane = await _take_over(services, telegram, seconds)
    # The rest of the broadcast, and a second one to chats the killed sender just reached.
    rest = [str(n) for n in range(100, 160)]
    await services.outbox.add(
        _envelopes(["1", "2", "3", "-100200", "40", *rest], "Rally"), services.clock.now()
    )
    before = len(telegram.sent)
    await _send(lane, 60)
    assert telegram.refused == []
    sent = [chat for chat, _at in telegram.sent[before:]]
    # Sent again, in their turn: what was in hand, and the chats reached a moment ago.
    assert {"30", "31", "32", "1", "2", "3", "40", "-100200"} <= set(sent)
    # And at the pace: 60 in about 60 / 28.8 seconds, none lost to the change.
    first, last = telegram.sent[before][1], telegram.sent[-1][1]
    assert last - first < 60 / PACE + 0.1


async def test_a_paid_broadcast_goes_on_at_its_pace_not_in_a_burst(
    services: ServicesOnDisk,
) -> None:
    seconds = Seconds()
    telegram = Telegram(seconds)
    telegram.api = FakeBotAPI(limit_paid_per_s=33, limit_per_chat_per_s=1)
    await _killed_midway(services, telegram, paid=True)
    lane = ChannelSender(
        telegram,  # type: ignore[arg-type]
        services.outbox,
        services.clock,
        Lane(paid_per_second=32),
        monotonic=seconds,
        sleep=seconds.sleep,
    )
    await lane.take_over()
    await services.outbox.recover(services.clock.now(), lease=timedelta(0), channel="telegram")
    await services.outbox.add(
        _envelopes([str(n) for n in range(100, 160)], "Rally", paid=True), services.clock.now()
    )
    before = len(telegram.sent)
    await _send(lane, 60)
    assert telegram.refused == []
    assert len(telegram.sent) == before + 60


async def test_what_the_outbox_recorded_is_what_the_next_sender_counts(
    services: ServicesOnDisk,
) -> None:
    seconds = Seconds()
    telegram = Telegram(seconds)
    await _killed_midway(services, telegram)
    since = services.clock.now() - timedelta(seconds=Lane().memory)
    recent = await services.outbox.recent_sends("telegram", since)
    in_hand = sorted(r.chat_id for r in recent if r.sent_at is None)
    assert in_hand == ["30", "31", "32"]
    # The last second's and the group's, not the one sent 30 s ago.
    done = {r.chat_id for r in recent if r.sent_at is not None}
    assert done == {str(n) for n in range(1, LAST_SECOND + 1)} | {"-100200"}
