"""Moments as people type them, in French or English: "demain 20h", "samedi 10h", "dans 3
jours", "15/12 18h30", "saturday 10am", "tomorrow 8pm", ISO. One reader for every wizard and
command-line verb, built on dateparser and always relative to the injected clock."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, tzinfo
from typing import Any

# Without a time of day, a day means the morning (the start of a campaign day).
DEFAULT_TIME = time(9, 0)
LANGUAGES = ["fr", "en"]

# French clock notation dateparser reads as durations ("20h" = twenty hours): made "20:00".
_FRENCH_HOUR = re.compile(r"\b(\d{1,2})\s*h\s*(\d{2})?\b")
_ORDINAL_DAY = re.compile(r"\b(\d{1,2})\s*(?:er|re|e|ème|eme)\b")
_DOTTED_DAY = re.compile(r"^(\d{1,2})\.(\d{1,2})(\.\d{2,4})?\b")
_NEXT = re.compile(r"\b(?:prochaine?|qui vient)\b")
_TONIGHT = re.compile(r"\bce soir\b")
# Words that say a time of day (or a span counted from now) was given.
_HAS_TIME = re.compile(
    r"\d:\d|\d\s*(?:am|pm)\b|\b(?:midi|minuit|noon|midnight|now|maintenant)\b"
    r"|\b(?:hours?|heures?|minutes?|mins?)\b"
)


def _normalize(text: str) -> str:
    text = " ".join(text.casefold().split())
    text = _ORDINAL_DAY.sub(r"\1", text)
    text = _FRENCH_HOUR.sub(lambda m: f"{m[1]}:{m[2] or '00'}", text)
    text = _DOTTED_DAY.sub(lambda m: f"{m[1]}/{m[2]}" + (m[3] or "").replace(".", "/"), text)
    text = _TONIGHT.sub("aujourd'hui", text)
    return " ".join(_NEXT.sub(" ", text).split())


def read_moment(text: str, now: datetime, zone: tzinfo) -> datetime | None:
    """The moment `text` names, read in `zone` relative to `now`, in UTC; None if none.

    A day without a time means 09:00; a weekday or a day of the year means the next one.
    """
    raw = text.strip()
    if not raw or raw.isdigit() or len(raw) > 80:
        return None
    iso = _iso(raw)
    if iso is not None:
        return iso if iso.tzinfo else iso.replace(tzinfo=zone).astimezone(UTC)
    normalized = _normalize(raw)
    local_now = now.astimezone(zone)
    settings: Any = {
        "RELATIVE_BASE": local_now.replace(tzinfo=None),
        "PREFER_DATES_FROM": "future",
        "DATE_ORDER": "DMY",
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    # Imported on first use: it takes a moment, and most runs of the bot never read a date.
    import dateparser

    parsed: datetime | None = dateparser.parse(normalized, languages=LANGUAGES, settings=settings)
    if parsed is None:
        return None
    if not _HAS_TIME.search(normalized):
        parsed = datetime.combine(parsed.date(), DEFAULT_TIME)
    local = parsed.replace(second=0, microsecond=0, tzinfo=zone)
    return local.astimezone(UTC)


def read_day(text: str, now: datetime, zone: tzinfo) -> datetime | None:
    """A day as typed ("15/12", "samedi", "dans 3 jours", "2027-01-15"): its local midnight."""
    moment = read_moment(text, now, zone)
    if moment is None:
        return None
    local = moment.astimezone(zone)
    return local.replace(hour=0, minute=0).astimezone(UTC)


def _iso(text: str) -> datetime | None:
    """'2026-12-02T18:30', '2026-12-02 18:30+01:00': ISO 8601 as machines write it."""
    if not re.match(r"^\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}", text):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(second=0, microsecond=0)
    except ValueError:
        return None
