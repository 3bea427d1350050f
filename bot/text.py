"""Cleaning and escaping what people type, before it is stored or echoed."""

from __future__ import annotations

import html
import re
import unicodedata

MAX_TEXT = 4096
MAX_NAME = 200
# Bidi overrides/isolates and zero-width characters can disguise a name; letters of
# right-to-left scripts are kept. ZWJ/ZWNJ are kept too: some scripts and emoji need them.
_INVISIBLE = re.compile("[\u202a-\u202e\u2066-\u2069\u200b\u200e\u200f\ufeff\u061c]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_TAG = re.compile(r"<[^>]*>")


def is_number(text: str) -> bool:
    """Only the digits 0-9: str.isdigit() also accepts '²', which int() refuses."""
    return text.isascii() and text.isdigit()


def clean(text: str) -> str:
    """NFC-normalize, drop invisible direction and control characters, trim spaces."""
    text = unicodedata.normalize("NFC", text)
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub("", text)
    return text.strip()


def clean_name(text: str) -> str:
    """A name as stored: cleaned, on one line."""
    return " ".join(clean(text).split())


def esc(text: object) -> str:
    """Escape user text for Relais' message markup (Telegram's HTML subset)."""
    return html.escape(str(text), quote=False)


def to_plain(markup: str) -> str:
    """Relais markup as plain text, for messengers without formatting."""
    markup = re.sub(r"<a\s+href=\"([^\"]*)\"[^>]*>(.*?)</a>", r"\2 (\1)", markup, flags=re.S)
    return html.unescape(_TAG.sub("", markup))


def split_text(text: str, limit: int) -> list[str]:
    """Cut a long text into messages at line breaks (or hard, for one huge line)."""
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current:
        parts.append(current)
    return parts
