"""Choices as a numbered list, for messengers without buttons (Signal, the console)."""

from __future__ import annotations

import re
import unicodedata

from bot.i18n import _, use_language
from bot.messaging import Outbound
from bot.text import to_plain


def render_numbered(outbound: Outbound) -> tuple[str, list[str]]:
    """Plain text with the choices numbered, and the payloads in the same order; the hints
    in the reader's language."""
    with use_language(outbound.language):
        return _render(outbound)


def _render(outbound: Outbound) -> tuple[str, list[str]]:
    text = to_plain(outbound.text)
    payloads: list[str] = []
    lines: list[str] = []
    for row in outbound.choices:
        for choice in row:
            if choice.url:
                lines.append(f"• {choice.label}: {choice.url}")
                continue
            payloads.append(choice.data)
            lines.append(f"{len(payloads)}. {choice.label}")
    if lines:
        text = f"{text}\n\n" + "\n".join(lines) if text else "\n".join(lines)
        if payloads:
            text += "\n" + _("(reply with a number)")
    if outbound.request == "location":
        text += "\n" + _("(send your location, or type your postcode)")
    elif outbound.request == "contact":
        text += "\n" + _("(type your phone number)")
    return text, payloads


def resolve_numbered(text: str, payloads: list[str], labels: list[str] | None = None) -> str:
    """The payload a reply like '2' (or the choice's own word) stands for, or ''.

    '2', '2.', '#2' and the keycap emoji 2️⃣ are the second choice. A word matches a choice
    whose whole label it is ('accept' for '✅ Accept'), or failing that the one label that
    contains it as a word; case, accents, emoji and punctuation are ignored.
    """
    answer = _words(text.replace("\ufe0f", "").replace("\u20e3", ""))
    if answer.isdigit() and answer.isascii():
        index = int(answer)
        return payloads[index - 1] if 1 <= index <= len(payloads) else ""
    if not answer or not labels:
        return ""
    pairs = list(zip((_words(label) for label in labels), payloads, strict=False))
    for words, payload in pairs:
        if words and answer == words:
            return payload
    if " " not in answer:
        found = [payload for words, payload in pairs if answer in words.split()]
        if len(found) == 1:
            return found[0]
    return ""


def _words(text: str) -> str:
    """Lower-case words without accents, emoji or punctuation, single-spaced."""
    decomposed = unicodedata.normalize("NFKD", to_plain(text).casefold())
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.findall(r"\w+", letters))


def choice_labels(outbound: Outbound) -> list[str]:
    """Labels of the non-link choices, in the same order as `render_numbered` payloads."""
    return [c.label for row in outbound.choices for c in row if not c.url]
