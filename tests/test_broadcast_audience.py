"""Who a broadcast reaches: stopped and paused volunteers never, quiet hours held unless
urgent, organizers only within their teams. Plus the command line that queues one."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.clock import from_iso, to_iso
from bot.messaging import Outbound
from bot.services import Services
from bot.services.broadcasts import BroadcastError, check_markup, parse_audience
from bot.services.people import Actor
from bot.storage.broadcasts import Audience
from bot.storage.outbox import URGENT_BROADCAST
from tests.broadcast_factories import actor_for, seed
from tests.fakes.bot_api import _html_error
from tests.fakes.clock import FakeClock
from tests.postgres import url_of
from tools.seed import SeedVolunteer

PARIS = ZoneInfo("Europe/Paris")

LATE_EVENING = datetime(2026, 11, 28, 22, 0, tzinfo=UTC)  # 23:00 in Paris: quiet hours


async def _people(services: Services) -> None:
    await seed(
        services,
        SeedVolunteer("10", first_name="Quiet by default"),
        SeedVolunteer("11", quiet_hours="", first_name="Never quiet"),
        SeedVolunteer("12", timezone="America/New_York", first_name="17:00 there"),
        SeedVolunteer("13", status="stopped"),
        SeedVolunteer("14", status="paused", paused_until="2026-12-25T00:00:00.000000Z"),
        SeedVolunteer("15", status="paused", paused_until="2026-11-01T00:00:00.000000Z"),
        SeedVolunteer("16", status="erased"),
        SeedVolunteer("17", status="onboarding"),
        SeedVolunteer("18", unreachable=True),
        SeedVolunteer("19", quiet_hours="22:00-23:30", first_name="Own quiet hours"),
    )


async def _queued(services: Services) -> dict[str, str]:
    rows = await services.db.fetch_all(
        "SELECT chat_id, not_before FROM outbox WHERE kind = 'broadcast' ORDER BY chat_id"
    )
    return {r["chat_id"]: r["not_before"] for r in rows}


async def _to_authors(services: Services) -> list[Any]:
    """What the sender does with the messages Relais writes to a broadcast's author: sends
    them (the chat's first message gets id 77; an edit keeps the id it edits)."""
    rows = await services.db.fetch_all(
        "SELECT id, channel, chat_id, payload FROM outbox WHERE kind = 'progress'"
        " AND status = 'pending' ORDER BY id"
    )
    async with services.db.transaction() as tx:  # in the sender's hands, as a claim does
        await tx.execute(
            "UPDATE outbox SET status = 'sending' WHERE kind = 'progress' AND status = 'pending'"
        )
    for row in rows:
        edited = Outbound.from_json(row["payload"]).edit_message_id
        await services.outbox.settle(
            row["id"], "sent", services.clock.now(), message_id=edited or "77"
        )
    return rows


async def test_quiet_hours_hold_until_morning_stopped_and_paused_never(
    services: Services, clock: FakeClock
) -> None:
    clock.set(LATE_EVENING)
    await _people(services)
    await services.broadcasts.create(
        Actor.system(), language="fr", body="Demain, tractage", audience=parse_audience("all")
    )
    await services.broadcasts.start_due()
    queued = await _queued(services)
    assert sorted(queued) == ["10", "11", "12", "15", "19"]
    assert from_iso(queued["10"]) == datetime(2026, 11, 29, 8, 0, tzinfo=UTC)  # 09:00 Paris
    assert from_iso(queued["15"]) == datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    assert from_iso(queued["19"]) == datetime(2026, 11, 28, 22, 30, tzinfo=UTC)  # 23:30 Paris
    assert from_iso(queued["11"]) == LATE_EVENING
    assert from_iso(queued["12"]) == LATE_EVENING


async def test_urgent_ignores_quiet_hours_but_never_reaches_stopped(
    services: Services, clock: FakeClock
) -> None:
    clock.set(LATE_EVENING)
    await _people(services)
    await services.broadcasts.create(
        Actor.system(),
        language="fr",
        body="Rassemblement maintenant",
        audience=parse_audience("all"),
        urgent=True,
    )
    await services.broadcasts.start_due()
    queued = await _queued(services)
    assert sorted(queued) == ["10", "11", "12", "15", "19"]
    assert {from_iso(v) for v in queued.values()} == {LATE_EVENING}
    priority = await services.db.fetch_value("SELECT MAX(priority) FROM outbox")
    # Ahead of ordinary broadcasts, behind pages, answers and offers.
    assert priority == URGENT_BROADCAST


async def test_a_broadcast_still_sending_when_quiet_hours_begin_waits_for_the_morning(
    services: Services, clock: FakeClock
) -> None:
    clock.set(datetime(2026, 11, 28, 19, 50, tzinfo=UTC))  # 20:50 in Paris: not yet quiet
    await _people(services)
    await services.broadcasts.create(
        Actor.system(), language="fr", body="Demain, tractage", audience=parse_audience("all")
    )
    await services.broadcasts.start_due()
    assert set((await _queued(services)).values()) == {"2026-11-28T19:50:00.000000Z"}
    clock.set(datetime(2026, 11, 28, 20, 10, tzinfo=UTC))  # 21:10: still not all sent
    claimed = await services.outbox.claim(
        "telegram", clock.now(), 20, services.broadcasts.quiet_until
    )
    # Sent now: no quiet hours, New York (15:10 there), own quiet hours from 22:00 only.
    assert sorted(d.chat_id for d in claimed) == ["11", "12", "19"]
    queued = await _queued(services)
    assert from_iso(queued["10"]) == datetime(2026, 11, 29, 8, 0, tzinfo=UTC)  # 09:00 Paris
    assert from_iso(queued["15"]) == datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


async def test_segments_combine_and_organizers_stay_in_their_teams(
    services: Services,
) -> None:
    await seed(
        services,
        SeedVolunteer("200", roles=(("organizer", "Nord"),)),
        SeedVolunteer("300", teams=("Nord",), skills="call", department="59", language="en"),
        SeedVolunteer("301", teams=("Nord",), skills="share", postcode="59000"),
        SeedVolunteer("302", teams=("Sud",), skills="call", department="13"),
        SeedVolunteer("303", teams=("Sud",), last_active_at=datetime(2026, 9, 1, tzinfo=UTC)),
    )
    admin = await actor_for(services, "1")
    organizer = await actor_for(services, "200")
    count = services.broadcasts.audience
    assert (await count(admin, "all"))[1] == 5
    assert (await count(organizer, "all"))[1] == 2
    assert (await count(admin, "skill:call"))[1] == 2
    assert (await count(organizer, "skill:call"))[1] == 1
    assert (await count(admin, "area:59"))[1] == 2
    assert (await count(admin, "lang:en"))[1] == 1
    assert (await count(admin, "active:30"))[1] == 4
    assert (await count(admin, "team:sud active:30"))[1] == 1
    with pytest.raises(BroadcastError):
        await count(organizer, "team:Sud")


@pytest.mark.parametrize(
    "text",
    [
        "<b>open",
        "a < b",
        "<script>x</script>",
        "<i>x</b>",
        "Tom & Jerry",
        '<a href="javascript:x">x</a>',
        " ",
    ],
)
def test_markup_telegram_would_refuse_is_refused(text: str) -> None:
    with pytest.raises(BroadcastError):
        check_markup(text)


def test_markup_telegram_accepts_passes() -> None:
    text = '<b>Ce soir</b> &amp; demain : <a href="https://example.org">inscription</a>'
    assert _html_error(text) is None  # Telegram takes it…
    check_markup(text)  # …and so does Relais (it raises BroadcastError otherwise)


async def _run_cli(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--now",
        env["NOW"],
        "broadcast",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


async def test_the_command_line_queues_a_broadcast_the_bot_then_sends(
    services: Services, tmp_path: Path, clock: FakeClock
) -> None:
    await seed(
        services,
        SeedVolunteer("300", teams=("Nord",), skills="call"),
        SeedVolunteer("301", teams=("Nord",)),
        SeedVolunteer("302", teams=("Sud",), skills="call"),
    )
    env = {
        "DATABASE_URL": url_of(services.settings),
        "RELAIS_LANGUAGE": "en",
        "PATH": "/usr/bin:/bin",
        "NOW": clock.now().isoformat(),  # the command line runs on the test's clock
    }
    code, out, err = await _run_cli(
        env, "--text", "<b>Phone bank</b> tonight", "--to", "skill:call"
    )
    assert code == 0, err
    assert "Broadcast #1 queued" in out and "skill: calls (2 volunteers right now)" in out
    evening = (clock.now() + timedelta(hours=6)).astimezone(PARIS)
    code, out, err = await _run_cli(
        env,
        "--text",
        "Later",
        "--to",
        "team:Nord",
        "--at",
        evening.strftime("%Y-%m-%dT%H:%M"),
        "--urgent",
    )
    assert code == 0, err
    code, _out, err = await _run_cli(env, "--text", "<b>broken", "--to", "all")
    assert code == 2 and "never closed" in err
    code, _out, err = await _run_cli(env, "--text", "x", "--to", "skill:juggling")
    assert code == 2 and "juggling" in err
    code, _out, err = await _run_cli(env, "--text", "x", "--to", "all", "--paid")
    assert code == 2 and "RELAIS_PAID_BROADCAST" in err
    code, _out, err = await _run_cli(env, "--text", "x", "--to", "all", "--at", "whenever")
    assert code == 2 and "--at" in err
    yesterday = (clock.now() - timedelta(days=1)).isoformat()
    code, _out, err = await _run_cli(env, "--text", "x", "--to", "all", "--at", yesterday)
    assert code == 2 and "That time is in the past" in err

    clock.advance(minutes=1)  # the command line's clock ran on for a moment
    await services.broadcasts.sweep()
    queued = await _queued(services)
    assert sorted(queued) == ["300", "302"]
    later = await services.broadcast_repo.get(2)
    assert later is not None and later.status == "scheduled" and later.urgent
    # The time was typed in Paris time, and stored in UTC.
    assert to_iso(later.send_at) == to_iso(evening.replace(second=0, microsecond=0))


async def test_progress_is_one_message_edited_in_place_then_a_report(
    services: Services,
) -> None:
    await seed(services, *(SeedVolunteer(str(300 + n), quiet_hours="") for n in range(4)))
    delivered: list[tuple[str, str, str, str]] = []

    async def sweep() -> None:
        await services.broadcasts.sweep()
        for row in await _to_authors(services):
            outbound = Outbound.from_json(row["payload"])
            delivered.append(
                (row["chat_id"], outbound.edit_message_id, outbound.text, row["channel"])
            )

    organizer = await actor_for(services, "1")
    await services.broadcasts.create(
        organizer, language="en", body="Hello", audience=parse_audience("all")
    )
    await sweep()
    assert [(c, e) for c, e, _t, _ch in delivered] == [("1", "")]
    assert "in progress" in delivered[0][2] and "remaining 4 (of 4)" in delivered[0][2]
    assert "Expected to finish at" in delivered[0][2]
    await sweep()
    assert len(delivered) == 1  # nothing changed: no edit

    async with services.db.transaction() as tx:
        await tx.execute("UPDATE outbox SET status = 'sent' WHERE chat_id IN ('300', '301')")
    await sweep()
    assert delivered[-1][:2] == ("1", "77") and "Sent 2" in delivered[-1][2]
    async with services.db.transaction() as tx:
        await tx.execute("UPDATE outbox SET status = 'sent' WHERE chat_id = '302'")
        await tx.execute("UPDATE outbox SET status = 'blocked' WHERE chat_id = '303'")
    await sweep()
    final, report = delivered[-2:]
    assert final[:2] == ("1", "77") and "finished" in final[2] and "blocked 1" in final[2]
    assert report[1] == "" and "Delivered: 3" in report[2] and "Blocked the bot: 1" in report[2]
    await sweep()
    assert len(delivered) == 4  # reported once
    broadcast = await services.broadcast_repo.get(1)
    assert broadcast is not None and broadcast.status == "done"


async def test_cancelling_a_running_broadcast_withdraws_the_rest_and_says_so(
    services: Services,
) -> None:
    await seed(services, *(SeedVolunteer(str(300 + n), quiet_hours="") for n in range(3)))
    delivered: list[tuple[str, str]] = []

    async def deliver() -> None:
        for row in await _to_authors(services):
            outbound = Outbound.from_json(row["payload"])
            delivered.append((outbound.edit_message_id, outbound.text))

    admin = await actor_for(services, "1")
    await services.broadcasts.create(admin, language="en", body="Hi", audience=Audience())
    await services.broadcasts.sweep()
    await deliver()
    async with services.db.transaction() as tx:
        await tx.execute("UPDATE outbox SET status = 'sent' WHERE chat_id = '300'")
    assert await services.broadcasts.cancel(admin, 1) == 2
    await deliver()
    assert delivered[-1][0] == "77" and "cancelled" in delivered[-1][1]
    assert "Sent 1" in delivered[-1][1]
    assert await services.broadcasts.cancel(admin, 1) is None  # already ended
    statuses = await services.broadcast_repo.counts(1)
    assert statuses == {"sent": 1, "cancelled": 2}


_MARKUP_BITS = st.sampled_from(
    [
        "<b>",
        "</b>",
        "<i>",
        "</i>",
        "<u>",
        "</u>",
        "<br>",
        "<",
        ">",
        "&",
        "&amp;",
        "&lt;",
        '<a href="https://example.org">',
        "</a>",
        "<code>",
        "</code>",
        "text ",
        "é",
        " ",
    ]
)


@given(st.lists(_MARKUP_BITS, max_size=12).map("".join))
def test_markup_the_wizard_accepts_is_markup_telegram_accepts(text: str) -> None:
    try:
        check_markup(text)
    except BroadcastError:
        return
    assert _html_error(text) is None


@given(st.text(max_size=40))
def test_any_audience_text_is_parsed_or_refused_clearly(text: str) -> None:
    try:
        audience = parse_audience(text)
    except BroadcastError as exc:
        assert str(exc)
        return
    assert parse_audience(audience.describe() or "all") == audience


def test_team_names_with_spaces_survive_a_round_trip() -> None:
    audience = parse_audience("team:'Paris Nord' skill:call")
    assert audience.teams == ("Paris Nord",)
    assert parse_audience(audience.describe()) == audience
