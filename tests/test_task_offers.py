"""Offers, reminders and expiry through the outbox, with the clock moved by hand."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.config import Settings
from bot.services import Services
from bot.storage.db import Database
from bot.storage.outbox import Delivery
from bot.task_text import offered_card, reminder_card
from tests.fakes.chat import Chat
from tests.fakes.clock import FakeClock
from tests.fakes.services import services_on
from tests.task_factories import task, volunteer

ChatFactory = Callable[..., Chat]
# The fake clock starts on Saturday 28 November 2026, 14:00 UTC = 15:00 in Paris.


async def queued(services: Services) -> list[Delivery]:
    """Everything waiting in the outbox (claimed, so each call sees only new rows)."""
    far = services.clock.now() + timedelta(days=400)
    return await services.outbox.claim("telegram", far, 10_000)


async def offered_to(services: Services) -> list[str]:
    return sorted(d.chat_id for d in await queued(services) if d.kind == "offer")


async def test_offers_go_only_to_active_reachable_people_in_the_target(
    services: Services, clock: FakeClock
) -> None:
    now = clock.now()
    await volunteer(services, "500", department="75")
    await volunteer(services, "501", department="75", status="stopped")
    await volunteer(services, "502", department="75", status="paused",
                    paused_until=now + timedelta(days=3))  # fmt: skip
    await volunteer(services, "503", department="75", status="paused",
                    paused_until=now - timedelta(hours=1))  # fmt: skip
    await volunteer(services, "504", department="75", status="onboarding")
    await volunteer(services, "505", department="13")
    await volunteer(services, "506", department="75")
    await services.outbox.mark_unreachable("telegram", "506", now)
    t = await task(
        services,
        "share",
        title="Share",
        link="https://example.org/a",
        targets={"department": ("75",)},
    )
    report = await services.offers.offer_round(now, offered_card)
    assert report.offers == 2
    assert await offered_to(services) == ["500", "503"]
    # A second round offers nothing new: one offer per task and person.
    assert (await services.offers.offer_round(now, offered_card)).offers == 0
    assert (await services.outbox.counts("offer", t.id)) == {"sending": 2}


async def test_quiet_hours_campaign_default_personal_and_time_zones(
    services: Services, clock: FakeClock
) -> None:
    clock.set(datetime(2026, 11, 28, 21, 30, tzinfo=UTC))  # 22:30 in Paris
    await volunteer(services, "510")  # campaign quiet hours 21:00-09:00
    await volunteer(services, "511", quiet_hours="")  # no quiet hours at all
    await volunteer(services, "512", timezone="America/New_York")  # 16:30 there
    await volunteer(services, "513", quiet_hours="23:00-07:00")  # their own
    await volunteer(services, "514", timezone="Asia/Tokyo", quiet_hours="")
    await task(services, "custom")
    await services.offers.offer_round(clock.now(), offered_card)
    assert await offered_to(services) == ["511", "512", "513", "514"]

    clock.set(datetime(2026, 11, 29, 7, 59, tzinfo=UTC))  # 08:59 in Paris: still quiet
    await task(services, "custom", title="morning")
    await services.offers.offer_round(clock.now(), offered_card)
    assert "510" not in await offered_to(services)
    clock.advance(minutes=1)  # 09:00
    await services.offers.offer_round(clock.now(), offered_card)
    assert "510" in await offered_to(services)


async def test_quiet_hours_can_be_disabled_for_the_campaign(
    settings: Settings, db: Database, clock: FakeClock
) -> None:
    clock.set(datetime(2026, 11, 28, 23, 0, tzinfo=UTC))
    services = services_on(replace(settings, quiet_hours=None), clock, db)
    await volunteer(services, "520")
    await volunteer(services, "521", quiet_hours="22:00-08:00")
    await task(services, "custom")
    await services.offers.offer_round(clock.now(), offered_card)
    assert await offered_to(services) == ["520"]


async def test_daily_cap_counts_unsolicited_messages_per_local_day(
    services: Services, clock: FakeClock
) -> None:
    await volunteer(services, "530")
    for i in range(4):
        await task(services, "custom", title=f"T{i}", priority=10 - i)
    for _ in range(4):
        await services.offers.offer_round(clock.now(), offered_card)
        clock.advance(minutes=30)
    first_day = await queued(services)
    assert len(first_day) == 2
    assert "T0" in first_day[0].outbound.text and "T1" in first_day[1].outbound.text
    clock.set(datetime(2026, 11, 28, 22, 59, tzinfo=UTC))  # 23:59 in Paris: quiet anyway
    await services.offers.offer_round(clock.now(), offered_card)
    assert await queued(services) == []
    clock.set(datetime(2026, 11, 29, 9, 0, tzinfo=UTC))  # Sunday 10:00: a new day
    await services.offers.offer_round(clock.now(), offered_card)
    await services.offers.offer_round(clock.now(), offered_card)
    await services.offers.offer_round(clock.now(), offered_card)
    assert len(await queued(services)) == 2


async def test_offers_respect_availability_slots(services: Services, clock: FakeClock) -> None:
    await volunteer(services, "540", availability=["daytime"])  # weekdays only
    await volunteer(services, "541", availability=["weekends"])
    await volunteer(services, "542", availability=["evenings"])
    await task(services, "custom")
    await services.offers.offer_round(clock.now(), offered_card)  # Saturday 15:00
    assert await offered_to(services) == ["541"]
    clock.set(datetime(2026, 11, 30, 17, 30, tzinfo=UTC))  # Monday 18:30 in Paris
    await services.offers.offer_round(clock.now(), offered_card)
    assert await offered_to(services) == ["542"]
    clock.set(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))  # Tuesday 11:00
    await services.offers.offer_round(clock.now(), offered_card)
    assert await offered_to(services) == ["540"]


async def test_an_offer_is_a_card_the_volunteer_can_accept_in_their_language(
    services: Services, clock: FakeClock, chat: ChatFactory
) -> None:
    await volunteer(services, "550", language="en")
    t = await task(services, "share", title="Share it", link="https://example.org/a",
                   translations={"en": "Post it today"}, instructions="Publiez-la")  # fmt: skip
    await services.offers.offer_round(clock.now(), offered_card)
    (offer,) = await queued(services)
    assert "A task for you" in offer.outbound.text and "Post it today" in offer.outbound.text
    ana = chat("550", language="en")
    ana.replies.append(offer.outbound)  # the message as it arrived
    await ana.tap("Accept")
    assert "Tap Done" in ana.last_text
    assert (await services.task_repo.progress(None))[0].accepted == 1
    assert t.id == offer.ref_id


async def test_one_reminder_before_closing_then_expiry_when_the_task_closes(
    services: Services, clock: FakeClock, chat: ChatFactory
) -> None:
    ana_id = await volunteer(services, "560", language="en")
    await volunteer(services, "561", language="en", availability=["daytime"])
    t = await task(services, "custom", title="Leaflets", closes_at=clock.now() + timedelta(days=2))
    await services.tasks.accept(ana_id, t.id)
    assert (
        await services.offers.remind_round(clock.now(), reminder_card)
    ).reminders == 0  # not yet
    clock.advance(hours=30)  # Sunday 21:00 in Paris: quiet hours
    assert (await services.offers.remind_round(clock.now(), reminder_card)).reminders == 0
    clock.advance(hours=12)  # Monday 09:00, closes in 6 hours
    assert (await services.offers.remind_round(clock.now(), reminder_card)).reminders == 1
    assert (await services.offers.remind_round(clock.now(), reminder_card)).reminders == 0
    (reminder,) = [d for d in await queued(services) if d.kind == "reminder"]
    assert "Reminder" in reminder.outbound.text and "Leaflets" in reminder.outbound.text
    # Bob gets an offer queued, then the task closes before it is sent.
    await services.offers.offer_round(clock.now(), offered_card)
    clock.advance(hours=7)
    report = await services.offers.expire_round(clock.now())
    assert report.expired_tasks == 1
    assert await services.outbox.counts("offer", t.id) == {"cancelled": 1}
    ana = chat("560", language="en")
    await ana.send("/mytasks")
    assert "no task in progress" in ana.last_text
    ana.replies.append(reminder.outbound)
    await ana.tap("Done")
    assert "This button has expired" in ana.last_text


async def test_jobs_survive_a_restart_because_the_queue_is_in_the_database(
    services: Services, clock: FakeClock
) -> None:
    """A second Services on the same database (a restart) does not offer twice."""
    from tests.fakes.services import services_on

    await volunteer(services, "570")
    await task(services, "custom")
    await services.offers.offer_round(clock.now(), offered_card)
    restarted = services_on(services.settings, clock, services.db)
    assert (await restarted.offers.offer_round(clock.now(), offered_card)).offers == 0


async def test_pausing_a_task_withdraws_its_unsent_offers(
    services: Services, clock: FakeClock, admin_chat: Chat
) -> None:
    await volunteer(services, "580")
    t = await task(services, "custom", title="Leaflets")
    await services.offers.offer_round(clock.now(), offered_card)
    admin_chat.language = "en"
    await admin_chat.send("/tasks")
    await admin_chat.tap("Pause")
    assert "Paused" in admin_chat.last_text
    assert await services.outbox.counts("offer", t.id) == {"cancelled": 1}
    await admin_chat.tap("Resume")
    assert (
        await services.offers.offer_round(clock.now(), offered_card)
    ).offers == 0  # offered once only
