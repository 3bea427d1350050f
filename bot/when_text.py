"""What Relais says about a moment it cannot take: a day no calendar has ("12/25", "32/12")
or a date years ahead. One presenter for the wizards, the broadcast flow and the command
line, in the current language."""

from __future__ import annotations

from datetime import datetime, tzinfo

from bot.i18n import _, format_datetime
from bot.when import impossible_date, too_far


def moment_refusal(text: str, moment: datetime | None, now: datetime, zone: tzinfo) -> str | None:
    """Why `text` (read as `moment`) is refused, or None: its day/month cannot exist, or it is
    more than two years ahead."""
    if moment is None:
        typed = impossible_date(" ".join(text.split()))
        if typed is None:
            return None
        return impossible_day_text(typed)
    if too_far(moment, now):
        return far_text(moment, zone)
    return None


def impossible_day_text(typed: str) -> str:
    """The answer to a day/month that does not exist."""
    return _(
        "“{typed}” is not a date: write the day first, then the month, like 25/12 (or 25/12/2027)."
    ).format(typed=typed)


def far_text(moment: datetime, zone: tzinfo) -> str:
    """The answer to a moment more than two years ahead."""
    return _(
        "That would be {when}, more than two years from now. Check the date: the day first, "
        "then the month, like 25/12."
    ).format(when=format_datetime(moment, zone))
