"""Choices as a numbered list, for messengers without buttons (Signal, the console)."""

from __future__ import annotations

from bot.i18n import _
from bot.messaging import Outbound
from bot.text import to_plain


def render_numbered(outbound: Outbound) -> tuple[str, list[str]]:
    """Plain text with the choices numbered, and the payloads in the same order."""
    text = to_plain(outbound.text)
    payloads: list[str] = []
    lines: list[str] = []
    for row in outbound.choices:
        for choice in row:
            if choice.url:
                lines.append(f"• {to_plain(choice.label)}: {choice.url}")
                continue
            payloads.append(choice.data)
            lines.append(f"{len(payloads)}. {to_plain(choice.label)}")
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
    """The payload a reply like '2' (or the choice's own word) stands for, or ''."""
    answer = text.strip().rstrip(".").lower()
    if answer.isdigit() and 1 <= int(answer) <= len(payloads):
        return payloads[int(answer) - 1]
    if labels:
        for label, payload in zip(labels, payloads, strict=False):
            if answer and answer == to_plain(label).strip().lower():
                return payload
    return ""


def choice_labels(outbound: Outbound) -> list[str]:
    """Labels of the non-link choices, in the same order as `render_numbered` payloads."""
    return [c.label for row in outbound.choices for c in row if not c.url]
