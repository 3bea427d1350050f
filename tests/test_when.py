"""Dates as people type them, read by one parser relative to the injected clock, and shown
by one formatter in the reader's language and zone. Every date here is relative to the clock."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.clock import from_iso
from bot.i18n import format_date, format_datetime, format_time, use_language
from bot.services import Services
from bot.when import impossible_date, read_day, read_moment, read_span
from tests.factories import make_volunteer
from tests.fakes.chat import Chat
from tests.fakes.clock import FakeClock
from tests.postgres import url_of

ChatFactory = Callable[..., Chat]
PARIS = ZoneInfo("Europe/Paris")
LONDON = ZoneInfo("Europe/London")
WEEKDAYS_FR = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
WEEKDAYS_EN = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def local(moment: datetime | None) -> datetime:
    assert moment is not None
    return moment.astimezone(PARIS)


def noon(clock: FakeClock) -> datetime:
    """Today at 12:00 in Paris, whatever day the clock says."""
    here = clock.now().astimezone(PARIS)
    return here.replace(hour=12, minute=0, second=0, microsecond=0).astimezone(UTC)


def test_what_people_type_in_french_and_english(clock: FakeClock) -> None:
    now = noon(clock)
    today = now.astimezone(PARIS).date()
    tomorrow = today + timedelta(days=1)
    saturday = today + timedelta(days=(5 - today.weekday()) % 7 or 7)
    in_15 = today + timedelta(days=15)
    day_month = f"{in_15.day:02d}/{in_15.month:02d}"
    cases = {
        "demain 20h": (tomorrow, 20, 0),
        "tomorrow 8pm": (tomorrow, 20, 0),
        "samedi 10h": (saturday, 10, 0),
        "saturday 10am": (saturday, 10, 0),
        "samedi à 10 h 30": (saturday, 10, 30),
        "dans 3 jours": (today + timedelta(days=3), 9, 0),
        "3 jours": (today + timedelta(days=3), 9, 0),
        "in 3 days": (today + timedelta(days=3), 9, 0),
        day_month: (in_15, 9, 0),
        f"{day_month} 18h30": (in_15, 18, 30),
        f"{day_month} 18:30": (in_15, 18, 30),
        f"{in_15.isoformat()} 18:30": (in_15, 18, 30),
        f"{in_15.isoformat()}T18:30": (in_15, 18, 30),
        "ce soir 20h": (today, 20, 0),
        "lundi prochain 9h": (
            today + timedelta(days=(0 - today.weekday()) % 7 or 7),
            9,
            0,
        ),
    }
    for text, (day, hour, minute) in cases.items():
        moment = local(read_moment(text, now, PARIS))
        assert (moment.date(), moment.hour, moment.minute, moment.second) == (
            day,
            hour,
            minute,
            0,
        ), text


def test_a_delay_is_counted_from_now_not_read_as_a_clock_time(clock: FakeClock) -> None:
    now = noon(clock)
    for text, minutes in {
        "dans 2h": 120,
        "in 2h": 120,
        "dans 1h30": 90,
        "in 1h 30": 90,
        "in 90 minutes": 90,
        "dans 45 min": 45,
        "dans 2 heures": 120,
        "in 2 hours": 120,
    }.items():
        assert read_moment(text, now, PARIS) == now + timedelta(minutes=minutes), text


def test_parts_of_the_day_spans_and_today_s_weekday(clock: FakeClock) -> None:
    now = noon(clock)
    today = now.astimezone(PARIS).date()
    tomorrow = today + timedelta(days=1)
    cases = {
        "ce soir": (today, 19, 0),
        "tonight": (today, 19, 0),
        "8 p.m.": (today, 20, 0),
        "8pm": (today, 20, 0),
        "tomorrow 8 p.m.": (tomorrow, 20, 0),
        "demain matin": (tomorrow, 9, 0),
        "tomorrow morning": (tomorrow, 9, 0),
        "demain soir": (tomorrow, 19, 0),
        "8h du soir": (today, 20, 0),
    }
    for text, (day, hour, minute) in cases.items():
        moment = local(read_moment(text, now, PARIS))
        assert (moment.date(), moment.hour, moment.minute) == (day, hour, minute), text
    for text in ("maintenant", "now"):
        assert read_moment(text, now, PARIS) == now, text
    # Early on the day named, the day named is today while its time is to come.
    early = now.replace(hour=now.hour - 5)
    names = (WEEKDAYS_FR, WEEKDAYS_EN)
    for name, hour in ((names[0][today.weekday()], "10h"), (names[1][today.weekday()], "10am")):
        moment = local(read_moment(f"{name} {hour}", early, PARIS))
        assert (moment.date(), moment.hour) == (today, 10), name
        later = local(read_moment(f"{name} 6h", early, PARIS))
        assert later.date() == today + timedelta(days=7), name
    start = read_span(f"{WEEKDAYS_FR[tomorrow.weekday()]} 18h-20h", now, PARIS)
    assert start is not None and start[1] is not None
    assert (local(start[0]).date(), local(start[0]).hour, local(start[1]).hour) == (
        tomorrow,
        18,
        20,
    )
    moment = local(read_moment(f"{WEEKDAYS_FR[tomorrow.weekday()]} de 18h à 20h", now, PARIS))
    assert (moment.date(), moment.hour) == (tomorrow, 18)


def test_impossible_days_are_none_and_two_digit_years_are_this_century(
    clock: FakeClock,
) -> None:
    now = noon(clock)
    for text in ("12/25", "32/12", "1/13", "31/04", "12/25 18h", "2026-13-01"):
        assert read_moment(text, now, PARIS) is None, text
    assert impossible_date("12/25") == "12/25"
    assert impossible_date("25/12") is None
    next_year = now.astimezone(PARIS).year + 1
    moment = local(read_moment(f"25/12/{next_year % 100:02d}", now, PARIS))
    assert (moment.year, moment.month, moment.day) == (next_year, 12, 25)


def test_nonsense_and_impossible_dates_are_none(clock: FakeClock) -> None:
    now = noon(clock)
    for text in ("", "foo", "12", "31/02", "  ", "x" * 100):
        assert read_moment(text, now, PARIS) is None, text


@given(days=st.integers(min_value=1, max_value=6), hour=st.integers(min_value=7, max_value=22))
def test_a_weekday_and_hour_is_always_the_next_one_to_come(days: int, hour: int) -> None:
    now = noon(FakeClock())
    target = now.astimezone(PARIS).date() + timedelta(days=days)
    for names in (WEEKDAYS_FR, WEEKDAYS_EN):
        moment = local(read_moment(f"{names[target.weekday()]} {hour}:00", now, PARIS))
        assert (moment.date(), moment.hour) == (target, hour)


def test_a_day_without_a_time_is_its_local_midnight_for_a_pause(clock: FakeClock) -> None:
    now = noon(clock)
    day = local(read_day("dans 3 semaines", now, PARIS))
    assert day.date() == now.astimezone(PARIS).date() + timedelta(days=21)
    assert (day.hour, day.minute) == (0, 0)


def test_dates_show_without_seconds_with_1er_and_the_zone_when_not_the_campaigns() -> None:
    first = datetime(2030, 12, 1, 17, 30, 45, tzinfo=UTC)  # formatting only: never compared
    with use_language("fr"):
        assert format_date(first, PARIS) == "1er décembre 2030"
        assert format_datetime(first, PARIS) == "dimanche 1er décembre 2030 à 18:30"
        assert format_time(first, LONDON, PARIS) == "17:30 (heure : Royaume-Uni)"
        assert format_time(first, PARIS, PARIS) == "18:30"
    with use_language("en"):
        assert format_datetime(first, PARIS) == "Sunday, December 1, 2030 at 6:30\u202fPM"
        assert format_time(first, LONDON, PARIS) == "5:30\u202fPM (United Kingdom Time)"


# -- in the flows -----------------------------------------------------------------------


async def _newtask_until_starts(org: Chat) -> None:
    await org.send("/newtask")
    await org.tap("nt:kind:event")
    await org.tap("nt:team:0")
    await org.send("Meeting")
    await org.send("-")
    await org.send("Villeurbanne")
    await org.send("-")


async def test_newtask_reads_samedi_10h_and_refuses_a_close_before_the_start(
    chat: ChatFactory, services: Services, clock: FakeClock
) -> None:
    await make_volunteer(services, "300", role="admin")
    org = chat("300", language="fr")
    await _newtask_until_starts(org)
    assert "samedi 10h" in org.last_text
    await org.send("samedi 10h")
    await org.send("-")  # no area
    await org.tap("nt:who:all")
    await org.send("-")  # no quota
    await org.send("samedi 9h")
    assert "La tâche doit se terminer après son début (samedi" in org.last_text
    assert "à 10:00)" in org.last_text
    await org.send("samedi prochain 18h")  # "samedi 18h" is today: 18:00 is still to come
    assert "Aperçu" in org.last_text
    await org.tap("nt:preview:publish")
    row = await services.db.fetch_one("SELECT starts_at, closes_at FROM tasks")
    assert row is not None
    starts = local(from_iso(row["starts_at"]))
    assert (starts.weekday(), starts.hour, starts.minute) == (5, 10, 0)
    assert from_iso(row["closes_at"]) - from_iso(row["starts_at"]) == timedelta(hours=8)


async def test_an_event_cannot_be_reported_before_it_starts(
    chat: ChatFactory, services: Services, clock: FakeClock
) -> None:
    await make_volunteer(services, "300", role="admin")
    org = chat("300", language="en")
    await org.send("/newtask")
    await org.tap("nt:kind:event")
    await org.tap("nt:team:0")
    await org.send("Meeting")
    await org.send("-")
    await org.send("Villeurbanne")
    await org.send("-")
    await org.send("in 4 days 6pm")
    await org.send("-")
    await org.tap("nt:who:all")
    await org.send("-")
    await org.send("-")
    await org.tap("nt:preview:publish")
    await make_volunteer(services, "301", skills=("events",))
    ana = chat("301", language="fr")
    await ana.send("/task")
    await ana.tap("task:acc:1")
    done = next(c.data for row in ana.last.choices for c in row if c.data.startswith("task:done"))
    await ana.tap_data(done)
    assert "Cette tâche commence" in ana.last_text and "Rien n'a été enregistré" in ana.last_text
    assert await services.db.fetch_value("SELECT COUNT(*) FROM outcomes") == 0
    clock.advance(days=5)
    await ana.tap_data(done)
    assert "C’est noté. Merci !" in ana.last_text
    assert await services.db.fetch_value("SELECT COUNT(*) FROM outcomes") == 1


async def test_pause_until_a_typed_relative_day(
    chat: ChatFactory, services: Services, clock: FakeClock
) -> None:
    await make_volunteer(services, "310")
    ana = chat("310", language="fr")
    await ana.send("/pause")
    await ana.send("dans 2 semaines")
    assert "jusqu'au" in ana.last_text or "jusqu’au" in ana.last_text
    row = await services.volunteers.by_identity("telegram", "310")
    assert row is not None and row.status == "paused"
    assert row.paused_until is not None
    back = local(row.paused_until)
    assert back.date() == clock.now().astimezone(PARIS).date() + timedelta(days=14)


async def test_a_broadcast_is_scheduled_for_tomorrow_8pm(
    chat: ChatFactory, services: Services, clock: FakeClock
) -> None:
    await make_volunteer(services, "320", role="admin")
    org = chat("320", language="en")
    await org.send("/broadcast")
    await org.send("Rally")
    await org.tap("bc:audience")
    await org.tap("bc:all")
    await org.tap("bc:schedule")
    await org.send("tomorrow 8pm")
    row = await services.db.fetch_one("SELECT send_at FROM broadcasts")
    assert row is not None
    moment = local(from_iso(row["send_at"]))
    assert moment.date() == clock.now().astimezone(PARIS).date() + timedelta(days=1)
    assert (moment.hour, moment.minute) == (20, 0)
    assert ":00:00" not in org.texts()  # no seconds anywhere


@pytest.mark.parametrize(
    ("language", "now", "answer"), [("fr", "maintenant", "en route"), ("en", "now", "on its way")]
)
async def test_a_broadcast_for_now_goes_now(
    chat: ChatFactory, services: Services, language: str, now: str, answer: str
) -> None:
    await make_volunteer(services, "321", role="admin", language=language)
    org = chat("321", language=language)
    await org.send("/broadcast")
    await org.send("Rally")
    await org.tap("bc:audience")
    await org.tap("bc:all")
    await org.tap("bc:schedule")
    await org.send(now)
    assert answer in org.last_text
    row = await services.db.fetch_one("SELECT send_at FROM broadcasts")
    assert row is not None


async def test_the_command_line_at_reads_words_too(services: Services, clock: FakeClock) -> None:
    await make_volunteer(services, "330")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--now",
        noon(clock).isoformat(),
        "broadcast",
        "--text",
        "Hi",
        "--to",
        "all",
        "--at",
        "demain 20h",
        env={
            "DATABASE_URL": url_of(services.settings),
            "RELAIS_LANGUAGE": "fr",
            "PATH": "/bin",
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    assert "à 20:00" in out.decode() and ":00:00" not in out.decode()
    row = await services.db.fetch_one("SELECT send_at FROM broadcasts")
    assert row is not None
    moment = local(from_iso(row["send_at"]))
    assert moment.date() == noon(clock).astimezone(PARIS).date() + timedelta(days=1)


@pytest.mark.parametrize(
    ("at", "said"),
    [
        ("12/25", "« 12/25 » n’est pas une date"),
        ("25/12/2099", "dans plus de deux ans"),
        ("32/12", "« 32/12 » n’est pas une date"),
    ],
)
async def test_the_command_line_refuses_a_day_that_cannot_be_and_years_ahead(
    services: Services, clock: FakeClock, at: str, said: str
) -> None:
    await make_volunteer(services, "331")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--now",
        noon(clock).isoformat(),
        "broadcast",
        "--text",
        "Hi",
        "--to",
        "all",
        "--at",
        at,
        env={
            "DATABASE_URL": url_of(services.settings),
            "RELAIS_LANGUAGE": "fr",
            "PATH": "/bin",
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await process.communicate()
    assert process.returncode == 2
    assert said in err.decode()
    assert await services.db.fetch_value("SELECT COUNT(*) FROM broadcasts") == 0


async def test_tasks_import_refuses_a_day_that_cannot_be_and_years_ahead(
    services: Services,
) -> None:
    from bot.services.task_import import TaskFileRejected, import_tasks
    from bot.task_cli import describe_file_problem

    content = "kind,title,starts_at\nevent,Far,12/25\nevent,Farther,25/12/2099\n"
    with pytest.raises(TaskFileRejected) as rejected:
        await import_tasks(services.tasks, "tasks.csv", content.encode())
    with use_language("en"):
        problems = [describe_file_problem(p) for p in rejected.value.problems]
    assert problems == [
        "line 2: starts_at: “12/25” is not a date, write the day first, then the month, like 25/12",
        "line 3: starts_at is more than two years ahead (“25/12/2099”): check the date",
    ]
    assert await services.db.fetch_value("SELECT COUNT(*) FROM tasks") == 0


@pytest.mark.parametrize("text", ["demain 20h", "saturday 10am"])
async def test_tasks_import_reads_the_same_words(
    services: Services, clock: FakeClock, text: str
) -> None:
    from bot.services.task_import import import_tasks

    content = f"kind,title,starts_at,latitude,longitude\nevent,Meeting,{text},45.77,4.88\n"
    imported = await import_tasks(services.tasks, "tasks.csv", content.encode())
    task, _state = imported[0]
    assert task.starts_at and task.starts_at > clock.now()


async def test_a_volunteer_in_london_is_told_the_time_with_their_zone(
    chat: ChatFactory, services: Services, clock: FakeClock
) -> None:
    from tests.task_factories import task, volunteer

    await volunteer(services, "340", language="en", timezone="Europe/London", skills=["share"])
    await volunteer(services, "341", language="en", skills=["share"])
    opens = clock.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=3)
    await task(services, "custom", title="Later today", opens_at=opens)
    london, paris = chat("340", language="en"), chat("341", language="en")
    await london.send("/task")
    with use_language("en"):
        shown = format_time(opens, LONDON).replace("\u202f", " ")
    assert f"Come back after {shown} (United Kingdom Time)" in london.last_text.replace(
        "\u202f", " "
    )
    await paris.send("/task")
    assert "Come back after" in paris.last_text and "Time)" not in paris.last_text
    assert ":00:00" not in london.last_text + paris.last_text


async def test_an_imported_task_closing_before_it_starts_is_refused(services: Services) -> None:
    from bot.services.task_import import TaskFileRejected, import_tasks
    from bot.task_cli import describe_file_problem

    content = (
        "kind,title,starts_at,closes_at,latitude,longitude\n"
        "event,Meeting,samedi 10h,samedi 9h,45.77,4.88\n"
    )
    with pytest.raises(TaskFileRejected) as rejected, use_language("en"):
        await import_tasks(services.tasks, "tasks.csv", content.encode())
    with use_language("en"):
        problems = [describe_file_problem(p) for p in rejected.value.problems]
    assert problems == ["line 2: closes_at must come after starts_at"]
