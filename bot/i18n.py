"""Translations: French first, English second. The locale is per update, per recipient."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, tzinfo
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date as _format_date
from babel.dates import format_time as _format_time
from babel.dates import get_timezone_location
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

from bot.config import LANGUAGES

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
_current: ContextVar[str] = ContextVar("relais_locale", default="fr")


@cache
def translations(language: str) -> Translations:
    """The compiled catalog for a language, built in memory from its .po file."""
    po_path = LOCALES_DIR / language / "LC_MESSAGES" / "messages.po"
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer)


def current_language() -> str:
    return _current.get()


def set_language(language: str) -> None:
    """Use this language for the rest of the current task (one update, one job step)."""
    _current.set(language if language in LANGUAGES else LANGUAGES[0])


# Whether the reader's messenger shows buttons (Telegram) or numbered lists (Signal, the
# console): prompts say "tap" on the first and "answer with the number" on the others.
_buttons: ContextVar[bool] = ContextVar("relais_buttons", default=True)
BUTTON_MESSENGERS = frozenset({"telegram"})


def set_messenger(channel: str) -> None:
    """Word prompts for `channel` for the rest of the current task (one update)."""
    _buttons.set(channel in BUTTON_MESSENGERS)


@contextmanager
def use_messenger(channel: str) -> Iterator[None]:
    """Word prompts for `channel` inside the block, e.g. for one recipient of an offer."""
    token = _buttons.set(channel in BUTTON_MESSENGERS)
    try:
        yield
    finally:
        _buttons.reset(token)


def worded(buttons: str, numbers: str) -> str:
    """The wording for the reader's messenger: `buttons` where there are buttons to tap,
    `numbers` where choices are numbered (both already translated)."""
    return buttons if _buttons.get() else numbers


@contextmanager
def use_language(language: str) -> Iterator[None]:
    """Speak `language` inside the block, e.g. for one recipient of a broadcast."""
    token = _current.set(language if language in LANGUAGES else LANGUAGES[0])
    try:
        yield
    finally:
        _current.reset(token)


def _(message: str) -> str:
    """Translate a message into the current language."""
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Translate a message whose form depends on a count."""
    return translations(_current.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated later, where it is shown."""
    return message


def format_datetime(moment: datetime, zone: tzinfo, campaign: tzinfo | None = None) -> str:
    """'samedi 5 décembre 2026 à 10:00', 'Saturday, December 5, 2026 at 10:00 AM': in the
    reader's language and zone, never seconds; the zone named when it is not `campaign`'s."""
    return _("{date} at {time}").format(
        date=_full_date(moment, zone), time=format_time(moment, zone, campaign)
    )


def format_date(day: date | datetime, zone: tzinfo | None = None) -> str:
    """A date in the reader's language ('1er décembre 2026', 'December 1, 2026')."""
    if isinstance(day, datetime):
        day = day.astimezone(zone).date() if zone else day.date()
    return _first_of_month(_format_date(day, "long", locale=_current.get()), day)


def format_time(moment: datetime, zone: tzinfo, campaign: tzinfo | None = None) -> str:
    """A time of day in the reader's language ('18:30', '6:30 PM'), followed by the zone's
    name when the reader's zone is not the campaign's."""
    shown = _format_time(moment, "short", tzinfo=zone, locale=_current.get())
    if campaign is not None and _zone_key(zone) != _zone_key(campaign):
        shown += f" ({get_timezone_location(zone, locale=_current.get())})"
    return shown


def _full_date(moment: datetime, zone: tzinfo) -> str:
    day = moment.astimezone(zone).date()
    return _first_of_month(_format_date(day, "full", locale=_current.get()), day)


def _first_of_month(shown: str, day: date) -> str:
    """French writes the first day of a month '1er': '1er décembre', never '1 décembre'."""
    if day.day != 1 or _current.get() != "fr":
        return shown
    return re.sub(r"(^|\s)1(?=\s)", r"\g<1>1er", shown, count=1)


def _zone_key(zone: tzinfo) -> str:
    return str(getattr(zone, "key", zone))


def format_number(number: float) -> str:
    """A number with the reader's separators (1 234,5 in French)."""
    return format_decimal(number, locale=_current.get())


def language_in_words(language: str) -> str:
    """A language named in the reader's language: 'anglais' for a French reader."""
    return Locale.parse(language).get_display_name(_current.get()) or language


def language_name(language: str) -> str:
    """A language's own name, e.g. 'Français'."""
    return (Locale.parse(language).get_display_name(language) or language).capitalize()


# Counted words that many messages use: each reads '1 jour' and '2 jours' in its language.
def days(n: int) -> str:
    """'1 day', '30 days' in the reader's language."""
    return ngettext("{n} day", "{n} days", n).format(n=n)


def characters(n: int) -> str:
    """'1 character', '64 characters' in the reader's language."""
    return ngettext("{n} character", "{n} characters", n).format(n=n)


def people(n: int) -> str:
    """'1 person', '5 people' in the reader's language."""
    return ngettext("{n} person", "{n} people", n).format(n=n)
