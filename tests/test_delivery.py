"""The outbox sender against the fake Bot API: every error class, pacing, stop and resume."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import timedelta
from itertools import pairwise
from typing import Any

import pytest

from bot.clock import to_iso
from bot.config import Settings
from bot.messaging import Inbound, Outbound
from bot.sender import Lane, Sender
from bot.services import Services
from bot.storage.broadcasts import Audience
from bot.storage.db import Database
from bot.storage.outbox import BULK, CALL, PAGE, REPLY, URGENT, URGENT_BROADCAST, Envelope
from bot.transports.telegram import TelegramTransport
from bot.transports.telegram_http import AiohttpRequest
from tests.broadcast_factories import seed
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.clock import FakeClock
from tests.fakes.relais import TOKEN
from tests.fakes.services import services_on
from tools.seed import SeedVolunteer


async def _no_dispatch(_inbound: Inbound) -> list[Outbound]:
    return []


class Line:
    """A sender with one Telegram lane pointed at the fake Bot API."""

    def __init__(
        self, services: Services, bell: Bell, api_url: str, lane: Lane, read_timeout: float
    ) -> None:
        settings = replace(
            services.settings,
            telegram_token=type(services.settings.telegram_token)(TOKEN),
            telegram_api_base_url=api_url,
        )
        self.services = services
        self.transport = TelegramTransport(
            settings, _no_dispatch, request=AiohttpRequest(read_timeout=read_timeout)
        )
        self.sender = Sender(services.outbox, services.clock)
        self.lane = self.sender.add(self.transport, lane)
        bell.ring = self.sender.wake

    async def start(self) -> None:
        await self.transport.app.bot.initialize()
        await self.sender.start()

    async def stop(self) -> None:
        await self.sender.stop()
        await self.transport.app.bot.shutdown()

    async def queue(self, *chats: str, priority: int = 5, text: str = "Hello") -> None:
        await self.services.notifier.send(
            Envelope("notice", "telegram", chat, Outbound(f"{text} {chat}"), priority=priority)
            for chat in chats
        )

    async def statuses(self) -> dict[str, str]:
        rows = await self.services.db.fetch_all("SELECT chat_id, status FROM outbox ORDER BY id")
        return {r["chat_id"]: r["status"] for r in rows}

    async def wait_settled(self, count: int, timeout: float = 30.0) -> dict[str, str]:
        """Wait until `count` rows have ended (sent/failed/blocked/uncertain)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            done = await self.services.db.fetch_value(
                "SELECT COUNT(*) FROM outbox WHERE status NOT IN ('pending', 'sending')"
            )
            statuses = await self.statuses()
            if done >= count:
                return statuses
            if loop.time() > deadline:
                raise AssertionError(f"only {done} of {count} settled: {statuses}")
            await asyncio.sleep(0.05)


LineFactory = Callable[..., Any]


class Bell:
    """The services' wake-up call, rung into whichever sender the test started."""

    def __init__(self) -> None:
        self.ring: Callable[[], None] = lambda: None

    def __call__(self) -> None:
        self.ring()


@pytest.fixture
def bell() -> Bell:
    return Bell()


@pytest.fixture
def services(settings: Settings, clock: FakeClock, db: Database, bell: Bell) -> Services:
    return services_on(settings, clock, db, wake_sender=bell)


@pytest.fixture
async def line(services: Services, bell: Bell, bot_api: FakeBotAPI) -> AsyncIterator[LineFactory]:
    made: list[Line] = []

    async def make(lane: Lane | None = None, read_timeout: float = 5.0, url: str = "") -> Line:
        made_line = Line(services, bell, url or bot_api.base_url, lane or Lane(), read_timeout)
        await made_line.start()
        made.append(made_line)
        return made_line

    yield make
    for item in made:
        await item.stop()


def _sends(api: FakeBotAPI) -> list[Any]:
    return [c for c in api.sent if c.method == "sendMessage"]


async def test_every_message_is_sent_once_urgent_first(
    line: LineFactory, bot_api: FakeBotAPI, services: Services
) -> None:
    now = services.clock.now()
    await services.outbox.add(
        [Envelope("notice", "telegram", str(n), Outbound(f"Hello {n}")) for n in range(10, 16)],
        now,
    )
    await services.outbox.add(
        [Envelope("alert", "telegram", "99", Outbound("Alert 99"), priority=URGENT)], now
    )
    sender = await line(Lane(per_second=20))
    statuses = await sender.wait_settled(7)
    assert set(statuses.values()) == {"sent"}
    sends = _sends(bot_api)
    assert sorted(c.chat_id for c in sends) == [10, 11, 12, 13, 14, 15, 99]
    assert sends[0].text == "Alert 99"


async def test_429_pauses_everything_then_sends_all(line: LineFactory, bot_api: FakeBotAPI) -> None:
    bot_api.fail_next("sendMessage", 429, retry_after=1)
    # A quarter of a second between sends: the 429's answer is back long before the next
    # send is due, however loaded the machine, so any send during the pause is a real one.
    sender = await line(Lane(per_second=4))
    await sender.queue("10", "11", "12")
    statuses = await sender.wait_settled(3)
    assert set(statuses.values()) == {"sent"}
    calls = _sends(bot_api)
    assert [c.status for c in calls].count(429) == 1
    assert sorted(c.chat_id for c in calls if c.ok) == [10, 11, 12]
    refused = next(c for c in calls if c.status == 429)
    after = [c for c in calls if c.timestamp > refused.timestamp]
    # Nothing at all was sent during the pause Telegram asked for.
    assert min(c.timestamp for c in after) - refused.timestamp >= 0.95


async def test_blocked_volunteer_is_marked_unreachable_and_skipped_until_they_write(
    line: LineFactory, bot_api: FakeBotAPI, services: Services
) -> None:
    await seed(services, SeedVolunteer("10"), SeedVolunteer("11"))
    bot_api.blocked_chats.add(10)
    sender = await line()
    await sender.queue("10", "11")
    statuses = await sender.wait_settled(2)
    assert statuses == {"10": "blocked", "11": "sent"}
    unreachable = await services.db.fetch_value(
        "SELECT unreachable_at FROM identities WHERE chat_id = '10'"
    )
    assert unreachable is not None
    everyone = Audience()
    assert await services.broadcast_repo.count(everyone, None, services.clock.now()) == 1
    await services.volunteers.reachable_again("telegram", "10")
    assert await services.broadcast_repo.count(everyone, None, services.clock.now()) == 2


async def test_chat_not_found_fails_without_retry(line: LineFactory, bot_api: FakeBotAPI) -> None:
    bot_api.fail_next("sendMessage", 400, chat_id=10)
    sender = await line()
    await sender.queue("10")
    statuses = await sender.wait_settled(1)
    assert statuses == {"10": "failed"}
    await asyncio.sleep(0.3)
    assert len(_sends(bot_api)) == 1
    error = await sender.services.db.fetch_value("SELECT last_error FROM outbox")
    assert "chat not found" in error.lower()


async def _row_once(services: Services, condition: str, timeout: float = 20.0) -> Any:
    """The outbox row, once the sender has recorded what `condition` says."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (row := await services.db.fetch_one(f"SELECT * FROM outbox WHERE {condition}")) is None:
        if loop.time() > deadline:
            raise AssertionError(f"no outbox row with {condition}")
        await asyncio.sleep(0.02)
    return row


async def _advance_until(line: Line, clock: FakeClock, status: str, step_s: float) -> None:
    """Move time on (past each backoff) until the row reaches `status`."""
    for _tick in range(100):
        if (await line.statuses())["10"] == status:
            return
        clock.advance(seconds=step_s)
        line.sender.wake()
        await asyncio.sleep(0.1)
    raise AssertionError(f"row never became {status}: {await line.statuses()}")


async def test_server_errors_are_retried_with_backoff_then_sent(
    line: LineFactory, bot_api: FakeBotAPI, clock: FakeClock
) -> None:
    bot_api.fail_next("sendMessage", 500, times=2)
    sender = await line()
    await sender.queue("10")
    await bot_api.wait_for(lambda c: c.method == "sendMessage")
    row = await _row_once(sender.services, "attempts >= 1 AND status = 'pending'")
    assert row["not_before"] > to_iso(clock.now())  # backing off, not hammering
    await _advance_until(sender, clock, "sent", step_s=5)
    assert [c.status for c in _sends(bot_api)] == [500, 500, 200]


async def test_server_errors_give_up_after_the_cap_with_the_reason(
    line: LineFactory, bot_api: FakeBotAPI, clock: FakeClock
) -> None:
    bot_api.fail_next("sendMessage", 502, times=20)
    sender = await line()
    await sender.queue("10")
    await _advance_until(sender, clock, "failed", step_s=400)
    assert len(_sends(bot_api)) == 5
    error = await sender.services.db.fetch_value("SELECT last_error FROM outbox")
    assert error.startswith("gave up after 5 attempts") and "Bad Gateway" in error


async def test_an_answer_the_network_keeps_refusing_is_sent_later_through_the_outbox(
    line: LineFactory, bot_api: FakeBotAPI
) -> None:
    # The reply policy every messenger shares: a few tries from memory, then the outbox.
    bot_api.fail_next("sendMessage", 502, times=3)
    sender = await line()
    message_id = await sender.lane.send("10", Outbound("Here is what I can do"))
    assert message_id == ""  # handed over: the outbox sends it
    assert await sender.wait_settled(1) == {"10": "sent"}
    assert [c.status for c in _sends(bot_api)] == [502, 502, 502, 200]
    kind = await sender.services.db.fetch_value("SELECT kind FROM outbox")
    assert kind == "reply"


async def test_timeout_after_the_request_left_is_uncertain_not_resent(
    line: LineFactory, bot_api: FakeBotAPI
) -> None:
    bot_api.delay("sendMessage", 2)
    sender = await line(read_timeout=0.3)
    await sender.queue("10")
    statuses = await sender.wait_settled(1)
    assert statuses == {"10": "uncertain"}
    bot_api.delay("sendMessage", 0)
    await asyncio.sleep(0.5)
    assert len(_sends(bot_api)) == 1  # Telegram got it once; it was not resent


async def test_network_error_before_sending_is_retried(
    line: LineFactory, services: Services
) -> None:
    gone = FakeBotAPI()
    await gone.start()
    sender = await line(url=gone.base_url)
    await gone.stop()  # nothing listens any more: connection refused, the message never left
    await sender.queue("10")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while True:
        row = await services.db.fetch_one("SELECT status, attempts, last_error FROM outbox")
        assert row is not None
        if row["last_error"] or loop.time() > deadline:
            break
        await asyncio.sleep(0.05)
    assert row["status"] == "pending" and row["attempts"] == 1
    assert "aiohttp" in row["last_error"] and TOKEN not in row["last_error"]


async def test_one_chat_gets_at_most_one_message_a_second_without_stalling_others(
    line: LineFactory, bot_api: FakeBotAPI
) -> None:
    sender = await line(Lane(per_second=50))
    await sender.queue("10", "10", "10", "11", "12", "13")
    await sender.wait_settled(6)
    to_10 = [c.timestamp for c in _sends(bot_api) if c.chat_id == 10]
    assert len(to_10) == 3
    assert all(b - a >= 0.95 for a, b in pairwise(to_10))
    others = [c.timestamp for c in _sends(bot_api) if c.chat_id != 10]
    # The other chats did not wait behind chat 10's pacing.
    assert max(others) < to_10[1]


async def test_groups_get_at_most_twenty_a_minute(line: LineFactory, bot_api: FakeBotAPI) -> None:
    sender = await line(Lane(per_second=50, per_group_interval=0.5))
    await sender.queue("-100200", "-100200", "-100200")
    await sender.wait_settled(3)
    to_group = [c.timestamp for c in _sends(bot_api) if c.chat_id == -100200]
    assert all(b - a >= 0.45 for a, b in pairwise(to_group))
    assert Lane().per_group_interval * 20 >= 60


async def test_a_clean_stop_releases_unsent_claims(
    line: LineFactory, bot_api: FakeBotAPI, services: Services
) -> None:
    sender = await line(Lane(per_second=4))
    await sender.queue(*(str(n) for n in range(10, 30)))
    await bot_api.wait_for(lambda c: c.method == "sendMessage")
    await sender.stop()
    statuses = await sender.statuses()
    assert set(statuses.values()) <= {"sent", "pending"}
    assert "sending" not in statuses.values()
    again = await line(Lane(per_second=100))
    statuses = await again.wait_settled(20)
    assert set(statuses.values()) == {"sent"}
    assert sorted(c.chat_id for c in _sends(bot_api)) == list(range(10, 30))


async def test_one_order_pages_then_answers_then_calls_offers_and_broadcasts(
    line: LineFactory, bot_api: FakeBotAPI, services: Services
) -> None:
    await services.outbox.add(
        [
            Envelope("broadcast", "telegram", "31", Outbound("Rally"), priority=BULK),
            Envelope("broadcast", "telegram", "32", Outbound("Urgent"), priority=URGENT_BROADCAST),
            Envelope("offer", "telegram", "33", Outbound("Offer")),
            Envelope("riposte", "telegram", "34", Outbound("Call"), priority=CALL),
            Envelope("alert", "telegram", "35", Outbound("Page"), priority=PAGE),
        ],
        services.clock.now(),
    )
    bot_api.fail_next("sendMessage", 429, retry_after=1)
    sender = await line(Lane(per_second=20))
    await bot_api.wait_for(lambda c: c.status == 429)
    # While Telegram makes everyone wait, a person's answer and another page come in.
    answer = sender.lane.submit("36", Outbound("Answer"))
    await services.notifier.send(
        [Envelope("alert", "telegram", "37", Outbound("Second page"), priority=PAGE)]
    )
    await sender.wait_settled(6)
    assert await answer
    sent = [c.text for c in _sends(bot_api) if c.ok]
    assert sent == ["Page", "Second page", "Answer", "Call", "Offer", "Urgent", "Rally"]


async def _in_flight_at_a_crash(services: Services) -> None:
    """A page, an offer and a broadcast message claimed by a process that was then killed."""
    await services.outbox.add(
        [
            Envelope("alert", "telegram", "20", Outbound("Page"), priority=URGENT),
            Envelope("offer", "telegram", "21", Outbound("Offer")),
            Envelope("broadcast", "telegram", "22", Outbound("Rally"), priority=BULK),
        ],
        services.clock.now(),
    )
    assert len(await services.outbox.claim("telegram", services.clock.now(), 10)) == 3


async def test_after_a_crash_pages_offers_and_broadcasts_in_flight_are_sent_again(
    line: LineFactory, bot_api: FakeBotAPI, services: Services
) -> None:
    await _in_flight_at_a_crash(services)
    sender = await line()
    statuses = await sender.wait_settled(3)
    assert statuses == {"20": "sent", "21": "sent", "22": "sent"}
    assert sorted((c.chat_id, c.text) for c in _sends(bot_api)) == [
        (20, "Page"),
        (21, "Offer"),
        (22, "Rally"),
    ]


async def test_at_most_once_marks_what_was_in_flight_uncertain_and_never_resends(
    services: Services,
) -> None:
    await _in_flight_at_a_crash(services)
    recovered = await services.outbox.recover(
        services.clock.now(), lease=timedelta(0), resend=False
    )
    assert recovered == 3
    rows = await services.db.fetch_all("SELECT chat_id, status FROM outbox ORDER BY id")
    assert {r["chat_id"]: r["status"] for r in rows} == {
        "20": "uncertain",
        "21": "uncertain",
        "22": "uncertain",
    }
    assert await services.outbox.claim("telegram", services.clock.now(), 10) == []


async def test_stopped_volunteers_get_nothing_even_when_already_queued(
    line: LineFactory, bot_api: FakeBotAPI, services: Services
) -> None:
    ids = await seed(services, SeedVolunteer("10"), SeedVolunteer("11"))
    await services.outbox.add(
        [
            Envelope("broadcast", "telegram", chat, Outbound("Hi"), volunteer_id=vid, ref_id=1)
            for chat, vid in (("10", ids[0]), ("11", ids[1]))
        ],
        services.clock.now(),
    )
    async with services.db.transaction() as tx:
        await tx.execute("UPDATE volunteers SET status = 'stopped' WHERE id = :id", {"id": ids[0]})
    sender = await line()
    statuses = await sender.wait_settled(2)
    assert statuses == {"10": "cancelled", "11": "sent"}
    assert [c.chat_id for c in _sends(bot_api)] == [11]


def _answers(chat: str, *texts: str) -> list[Envelope]:
    return [Envelope("reply", "telegram", chat, Outbound(t), priority=REPLY) for t in texts]


async def _until_all_sent(line: Line, clock: FakeClock, count: int) -> None:
    """Move time on (past each backoff) until `count` rows were sent."""
    for _tick in range(100):
        sent = await line.services.db.fetch_value(
            "SELECT COUNT(*) FROM outbox WHERE status = 'sent'"
        )
        if sent == count:
            return
        clock.advance(seconds=5)
        line.sender.wake()
        await asyncio.sleep(0.1)
    raise AssertionError(f"not all sent: {await line.statuses()}")


def _received(api: FakeBotAPI, chat: int) -> list[str]:
    return [c.text for c in _sends(api) if c.ok and c.chat_id == chat]


async def test_a_chats_next_message_waits_for_one_the_network_refused(
    line: LineFactory, bot_api: FakeBotAPI, services: Services, clock: FakeClock
) -> None:
    """A chat once got the next question before the thanks for its last answer: the thanks
    met a network failure and went back to the outbox, the question (claimed with it) went
    ahead. The chat's later messages now wait for it; other chats do not."""
    bot_api.fail_next("sendMessage", 502, chat_id=10)
    now = services.clock.now()
    await services.outbox.add(_answers("10", "Thanks!", "Your first name?"), now)
    await services.outbox.add(_answers("11", "Welcome"), now)
    sender = await line(Lane(per_second=20, per_chat_interval=0.05))
    await bot_api.wait_for(lambda c: c.method == "sendMessage" and c.status == 502)
    await bot_api.wait_for_text(11, "Welcome")  # another chat does not wait
    await _until_all_sent(sender, clock, 3)
    assert _received(bot_api, 10) == ["Thanks!", "Your first name?"]


async def test_an_answer_in_hand_waits_for_its_chats_earlier_one_the_network_refused(
    line: LineFactory, bot_api: FakeBotAPI, services: Services, clock: FakeClock
) -> None:
    """The same with answers written by the chat's updates and handed to the lane."""
    bot_api.fail_next("sendMessage", 502, chat_id=10)
    sender = await line(Lane(per_second=20, per_chat_interval=0.05))
    now = services.clock.now()
    async with services.db.transaction() as tx:
        thanks = await services.outbox.add_answers(tx, _answers("10", "Thanks!"), now)
    sender.lane.take(thanks)
    await bot_api.wait_for(lambda c: c.method == "sendMessage" and c.status == 502)
    async with services.db.transaction() as tx:
        question = await services.outbox.add_answers(tx, _answers("10", "Your first name?"), now)
    left = sender.lane.take(question)
    await asyncio.wait_for(asyncio.gather(*left), 30)
    await _until_all_sent(sender, clock, 2)
    assert _received(bot_api, 10) == ["Thanks!", "Your first name?"]
