"""A volunteer's own time zone and quiet hours, or the campaign's: one reading for every
feature that messages people unasked (offers, broadcasts, riposte calls)."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config import QuietHours

_HOURS = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")


def zone(name: str | None, default: tzinfo) -> tzinfo:
    """A volunteer's time zone, or the campaign's when unset or unknown."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return default


def quiet_hours_of(own: str | None, default: QuietHours | None) -> QuietHours | None:
    """A volunteer's quiet hours: their own ('HH:MM-HH:MM', '' for none) or the campaign's
    (NULL, or a value that does not read as hours)."""
    if own is None:
        return default
    if not own.strip():
        return None
    match = _HOURS.fullmatch(own.strip())
    if not match:
        return default
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        return default
    return QuietHours(time(h1, m1), time(h2, m2))


def quiet_until(now: datetime, local_zone: tzinfo, quiet: QuietHours | None) -> datetime | None:
    """The end of the quiet hours `now` falls in (in `now`'s zone), or None if not quiet."""
    if quiet is None:
        return None
    local = now.astimezone(local_zone)
    if not quiet.contains(local.time()):
        return None
    end = datetime.combine(local.date(), quiet.end, tzinfo=local_zone)
    if end <= local:
        end += timedelta(days=1)
    return end.astimezone(now.tzinfo)
