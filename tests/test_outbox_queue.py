"""The outbox on every backend: what a lane claims and in which order, a broadcast queued in
short steps, and a message kept up to date in place."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.messaging import Outbound
from bot.services import Services
from bot.services.broadcasts import parse_audience
from bot.storage import broadcasts as broadcast_storage
from bot.storage.outbox import BULK, NORMAL, PAGE, Envelope, Settlement
from tests.broadcast_factories import actor_for
from tests.factories import make_volunteer
from tests.fakes.clock import FakeClock


def _note(
    chat: str,
    priority: int,
    text: str = "",
    *,
    volunteer_id: int | None = None,
    not_before: datetime | None = None,
) -> Envelope:
    return Envelope(
        "notice",
        "telegram",
        chat,
        Outbound(text or chat),
        volunteer_id=volunteer_id,
        priority=priority,
        not_before=not_before,
    )


async def test_a_lane_takes_the_most_urgent_due_rows_first(services: Services) -> None:
    now = services.clock.now()
    outbox = services.outbox
    await services.notifier.send([_note(str(100 + n), BULK) for n in range(5)])
    await services.notifier.send([_note("200", NORMAL)])
    later = now + timedelta(hours=1)
    await services.notifier.send([_note("300", PAGE, not_before=later)])
    await services.notifier.send([_note("400", PAGE)])
    # A page only, while other rows are in hand.
    assert [d.chat_id for d in await outbox.claim("telegram", now, 5, below=2)] == ["400"]
    taken = await outbox.claim("telegram", now, 3)
    assert [d.chat_id for d in taken] == ["200", "100", "101"]
    assert [d.attempts for d in taken] == [1, 1, 1]
    rest = await outbox.claim("telegram", now, 10)
    assert [d.chat_id for d in rest] == ["102", "103", "104"]  # the page of later waits
    assert await outbox.claim("telegram", now, 10) == []
    assert [d.chat_id for d in await outbox.claim("telegram", later, 10)] == ["300"]
    assert await outbox.claim("signal", later, 10) == []


async def test_a_row_for_someone_who_stopped_is_withdrawn_not_sent(services: Services) -> None:
    ana = await make_volunteer(services, "100", status="stopped")
    now = services.clock.now()
    await services.notifier.send([_note("100", NORMAL, volunteer_id=ana.id), _note("101", NORMAL)])
    assert [d.chat_id for d in await services.outbox.claim("telegram", now, 5)] == ["101"]
    status = await services.db.fetch_value("SELECT status FROM outbox WHERE chat_id = '100'")
    assert status == "cancelled"


async def test_a_broadcast_is_queued_in_steps_each_recipient_once(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(broadcast_storage, "QUEUE_STEP", 2)
    for n in range(5):
        await make_volunteer(services, str(300 + n))
    organizer = await actor_for(services, "1")
    broadcast = await services.broadcasts.create(
        organizer, language="fr", body="Rendez-vous", audience=parse_audience("all")
    )
    await services.broadcasts.sweep()
    started = await services.broadcast_repo.get(broadcast.id)
    assert started is not None and started.status == "sending" and not started.queueing
    rows = await services.db.fetch_all(
        "SELECT chat_id FROM outbox WHERE kind = 'broadcast' ORDER BY chat_id"
    )
    recipients = [r["chat_id"] for r in rows]
    assert [c for c in recipients if c.startswith("30")] == [str(300 + n) for n in range(5)]
    assert started.recipients == len(recipients)
    # Queueing again (a restart mid-way) writes nobody twice.
    again = await services.broadcast_repo.queue_step(
        started, parse_audience("all"), {}, "{}", services.clock.now(), lambda _tz, _qh: None
    )
    assert again is False
    assert await services.db.fetch_value(
        "SELECT COUNT(*) FROM outbox WHERE kind = 'broadcast'"
    ) == len(recipients)


async def test_a_message_kept_up_to_date_is_rewritten_then_edited_in_place(
    services: Services,
) -> None:
    notifier, outbox = services.notifier, services.outbox
    first = _note("1", NORMAL, "3 sent")
    assert await notifier.show(first, "board:1")
    assert await notifier.show(_note("1", NORMAL, "4 sent"), "board:1")  # still waiting
    rows = await services.db.fetch_all("SELECT id, payload FROM outbox")
    assert len(rows) == 1 and Outbound.from_json(rows[0]["payload"]).text == "4 sent"
    now = services.clock.now()
    [claimed] = await outbox.claim("telegram", now, 5)
    assert not await notifier.show(_note("1", NORMAL, "5 sent"), "board:1")  # in flight
    await outbox.settle(claimed.id, "sent", now, message_id="77")
    assert await notifier.show(_note("1", NORMAL, "6 sent"), "board:1")
    assert await notifier.show(_note("1", NORMAL, "7 sent"), "board:1")
    [edit] = await outbox.claim("telegram", now, 5)
    assert (edit.outbound.text, edit.outbound.edit_message_id) == ("7 sent", "77")
    await outbox.settle(edit.id, "sent", now, message_id="77")
    assert await notifier.show(_note("1", NORMAL, "8 sent"), "board:1")
    [edit] = await outbox.claim("telegram", now, 5)
    assert (edit.outbound.text, edit.outbound.edit_message_id) == ("8 sent", "77")


async def test_a_broadcast_started_in_quiet_hours_waits_for_the_morning(
    services: Services, clock: FakeClock
) -> None:
    for n in range(3):
        await make_volunteer(services, str(300 + n))
    clock.advance(hours=7)  # 22:00 in Paris: the campaign's quiet hours
    organizer = await actor_for(services, "1")
    await services.broadcasts.create(
        organizer, language="fr", body="Demain", audience=parse_audience("all")
    )
    await services.broadcasts.sweep()
    held = await services.db.fetch_all(
        "SELECT not_before FROM outbox WHERE kind = 'broadcast' AND chat_id LIKE '30%'"
    )
    assert len(held) == 3 and {r["not_before"] for r in held} == {"2026-11-29T08:00:00.000000Z"}
    # Only the organizer's progress message leaves now.
    taken = await services.outbox.claim("telegram", clock.now(), 10)
    assert [d.kind for d in taken] == ["progress"]


async def test_an_answer_settled_alone_keeps_no_words_as_one_settled_in_a_batch(
    services: Services,
) -> None:
    """Sent answers keep none of their words, however their end is recorded."""
    outbox, now = services.outbox, services.clock.now()
    await outbox.add(
        [
            Envelope("reply", "telegram", chat, Outbound(f"Your number is 06 1{chat}"))
            for chat in ("100", "101")
        ],
        now,
    )
    alone, batched = await outbox.claim("telegram", now, 2)
    await outbox.settle(alone.id, "sent", now, message_id="7")
    await outbox.settle_many([Settlement(batched.id, "sent", message_id="8")], now)
    rows = await services.db.fetch_all("SELECT status, payload FROM outbox ORDER BY id")
    assert [(r["status"], r["payload"]) for r in rows] == [("sent", "{}"), ("sent", "{}")]
