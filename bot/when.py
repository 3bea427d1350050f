"""Moments as people type them, in French or English: "demain 20h", "samedi 10h", "dans 3
jours", "dans 2h", "15/12 18h30", "ce soir", "saturday 10am", "tomorrow 8pm", ISO. One reader
for every wizard and command-line verb, built on dateparser and always relative to the injected
clock."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any

# Without a time of day, a day means the morning (the start of a campaign day).
DEFAULT_TIME = time(9, 0)
# A moment further ahead than this is a typo (a month read as a year, a year too many).
MAX_AHEAD = timedelta(days=731)
LANGUAGES = ["fr", "en"]

# "dans 2h", "in 1h30", "in 90 minutes": a delay from now, never a clock time.
_DELAY = re.compile(
    r"^(?:dans|in)\s+(?:(\d{1,3})\s*(?:h|hrs?|heures?|hours?)\s*(?:et\s+|and\s+)?"
    r"(?:(\d{1,2})\s*(?:min|mins|minutes?|mn)?)?|(\d{1,4})\s*(?:min|mins|minutes?|mn))$"
)
# French clock notation dateparser reads as durations ("20h" = twenty hours): made "20:00".
_FRENCH_HOUR = re.compile(r"\b(\d{1,2})\s*h(?:\s*(\d{2}))?\b")
# "8 p.m.", "8 P.M", "8 pm": what dateparser reads is "8pm".
_MERIDIEM = re.compile(r"(\d)\s*([ap])\.?\s*m\b\.?")
_ORDINAL_DAY = re.compile(r"\b(\d{1,2})\s*(?:er|re|e|ème|eme)\b")
_DOTTED_DAY = re.compile(r"^(\d{1,2})\.(\d{1,2})(\.\d{2,4})?\b")
_DAY_MONTH = re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})(?:/(\d{4}|\d{2}))?(?![\d/])")
_NEXT = re.compile(r"\b(?:prochaine?|qui vient)\b")
_NEXT_EN = re.compile(r"\bnext\b")
# A part of the day said in words, and the hour it means when no time is given.
_PART_OF_DAY = re.compile(
    r"\b(?:(?:ce|cet|cette|this|in the|le|du|de la)\s+)?"
    r"(matin|morning|après-midi|apres-midi|afternoon|soir|soirée|evening|night)\b"
    r"|\b(tonight)\b"
)
_PART_HOURS = {
    "matin": 9,
    "morning": 9,
    "après-midi": 14,
    "apres-midi": 14,
    "afternoon": 14,
    "soir": 19,
    "soirée": 19,
    "evening": 19,
    "night": 19,
    "tonight": 19,
}
_THIS = re.compile(r"^(?:ce|cet|cette|this)\b|^tonight$")
_CLOCK = r"\d{1,2}:\d{2}|\d{1,2}\s*(?:am|pm)\b"
# "18:00-20:00", "de 18h à 20h", "6pm to 8pm": a span of one day.
_RANGE = re.compile(
    rf"(?:\b(?:de|from)\s+)?({_CLOCK})\s*(?:-|–|\bà\b|\bto\b|\buntil\b|\bjusqu['’]à\b)\s*({_CLOCK})"
)
_WEEKDAY = re.compile(
    r"\b(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|monday|tuesday|wednesday"
    r"|thursday|friday|saturday|sunday)\b"
)
_NOW = re.compile(r"^(?:now|right now|maintenant|tout de suite|immédiatement|immediately)$")
# Words that say a time of day (or a span counted from now) was given.
_HAS_TIME = re.compile(
    r"\d:\d|\d\s*(?:am|pm)\b|\b(?:midi|minuit|noon|midnight|now|maintenant)\b"
    r"|\b(?:hours?|heures?|minutes?|mins?)\b"
)


def impossible_date(text: str) -> str | None:
    """The day/month typed in `text` that no calendar has ("12/25", "32/12", "31/02"), or None."""
    for match in _DAY_MONTH.finditer(text):
        day, month, year = int(match[1]), int(match[2]), match[3]
        full_year = 2000 + int(year) if year and len(year) == 2 else int(year or 2028)
        if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(full_year, month)[1]:
            return match[0]
    return None


def too_far(moment: datetime, now: datetime) -> bool:
    """Whether `moment` is further ahead than a campaign plans (a typo in the date)."""
    return moment - now > MAX_AHEAD


def read_moment(text: str, now: datetime, zone: tzinfo) -> datetime | None:
    """The moment `text` names, read in `zone` relative to `now`, in UTC; None if none.

    A day without a time means 09:00 (19:00 for "ce soir", "tonight"); a weekday or a day of
    the year means the next one, today included while its time is to come; a span
    ("samedi 18h-20h") means its start.
    """
    span = read_span(text, now, zone)
    return None if span is None else span[0]


def read_span(text: str, now: datetime, zone: tzinfo) -> tuple[datetime, datetime | None] | None:
    """The start and, when a span of hours was typed ("samedi 18h-20h"), the end, in UTC."""
    raw = text.strip()
    if not raw or raw.isdigit() or len(raw) > 80:
        return None
    if re.match(r"^\d{4}-\d{1,2}-\d{1,2}", raw):
        iso = _iso(raw)
        if iso is None:
            return None
        return (iso if iso.tzinfo else iso.replace(tzinfo=zone)).astimezone(UTC), None
    normalized = _normalize(raw)
    if _NOW.match(normalized):
        return now, None
    if delay := _DELAY.match(normalized):
        hours, minutes, only_minutes = delay.groups()
        span = timedelta(hours=int(hours or 0), minutes=int(minutes or only_minutes or 0))
        return (now + span).replace(second=0, microsecond=0), None
    if impossible_date(normalized) is not None:
        return None
    if bounds := _RANGE.search(normalized):
        start = _read(_RANGE.sub(bounds[1], normalized, count=1), now, zone)
        end = _read(_RANGE.sub(bounds[2], normalized, count=1), now, zone)
        if start is None or end is None:
            return None
        return start, end if end > start else end + timedelta(days=1)
    start = _read(normalized, now, zone)
    return None if start is None else (start, None)


def read_day(text: str, now: datetime, zone: tzinfo) -> datetime | None:
    """A day as typed ("15/12", "samedi", "dans 3 jours", "2027-01-15"): its local midnight."""
    moment = read_moment(text, now, zone)
    if moment is None:
        return None
    local = moment.astimezone(zone)
    return local.replace(hour=0, minute=0).astimezone(UTC)


def _normalize(text: str) -> str:
    text = " ".join(text.casefold().replace("’", "'").split())
    text = _ORDINAL_DAY.sub(r"\1", text)
    if not _DELAY.match(text):
        text = _FRENCH_HOUR.sub(lambda m: f"{m[1]}:{m[2] or '00'}", text)
    text = _MERIDIEM.sub(r"\1\2m", text)
    text = _DOTTED_DAY.sub(lambda m: f"{m[1]}/{m[2]}" + (m[3] or "").replace(".", "/"), text)
    # A two-digit year is this century's: 25/12/27 is 2027.
    text = _DAY_MONTH.sub(
        lambda m: (
            f"{m[1]}/{m[2]}" + (f"/20{m[3]}" if m[3] and len(m[3]) == 2 else f"/{m[3]}")
            if m[3]
            else m[0]
        ),
        text,
    )
    return text


def _read(text: str, now: datetime, zone: tzinfo) -> datetime | None:
    """One moment (no span), normalized, in UTC."""
    part_hour: int | None = None
    if part := _PART_OF_DAY.search(text):
        part_hour = _PART_HOURS[part[1] or part[2]]
        this = _THIS.match(part[0])
        text = " ".join((text[: part.start()] + " " + text[part.end() :]).split())
        if this or not text:
            text = f"aujourd'hui {text}".strip()
        if part_hour >= 14:  # "8h du soir" is 20:00
            text = re.sub(r"\b(\d{1,2}):", lambda m: f"{_afternoon(int(m[1]))}:", text)
    after_next = bool(_NEXT.search(text) or _NEXT_EN.search(text))
    text = " ".join(_NEXT.sub(" ", text).split())
    local_now = now.astimezone(zone)
    settings: Any = {
        "RELATIVE_BASE": local_now.replace(tzinfo=None),
        "PREFER_DATES_FROM": "future",
        "DATE_ORDER": "DMY",
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    # Imported on first use: it takes a moment, and most runs of the bot never read a date.
    import dateparser

    parsed: datetime | None = dateparser.parse(text, languages=LANGUAGES, settings=settings)
    if parsed is None:
        return None
    if not _HAS_TIME.search(text):
        hour = part_hour if part_hour is not None else DEFAULT_TIME.hour
        parsed = datetime.combine(parsed.date(), time(hour, 0))
    local = parsed.replace(second=0, microsecond=0, tzinfo=zone)
    # "samedi 10h" typed on Saturday at 08:00 is this morning, not next week.
    week_ago = (parsed - timedelta(days=7)).replace(second=0, microsecond=0, tzinfo=zone)
    this_week = (parsed.date() - local_now.date()).days == 7
    if this_week and _WEEKDAY.search(text) and not after_next and local_now < week_ago:
        local = week_ago
    return local.astimezone(UTC)


def _afternoon(hour: int) -> int:
    return hour + 12 if hour < 12 else hour


def _iso(text: str) -> datetime | None:
    """'2026-12-02T18:30', '2026-12-02 18:30+01:00', '2026-12-02': ISO 8601 as machines write
    it; None for a date no calendar has ('2026-13-01')."""
    if not re.match(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{1,2}:\d{2}.*)?$", text):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00")).replace(
            second=0, microsecond=0
        )
    except ValueError:
        return None
    if moment.time() == time(0) and len(text) == 10:
        moment = datetime.combine(moment.date(), DEFAULT_TIME)
    return moment
