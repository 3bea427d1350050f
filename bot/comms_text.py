"""The comms team's words, shared by /comms in the chat and `python -m bot comms`: which
identity an admin typed, and what changed (plain text; the chat escapes it)."""

from __future__ import annotations

import re

from bot.config import Identity
from bot.i18n import _
from bot.services.alerts import CommsChange

MESSENGERS = {"telegram": "Telegram", "signal": "Signal", "console": "Console"}


def messenger(channel: str) -> str:
    return MESSENGERS.get(channel, channel)


def comms_answer(identity: Identity | int, change: CommsChange) -> str:
    """What changed on the comms team, naming the person (plain text)."""
    if change.result == "unknown" and isinstance(identity, int):
        return _("No volunteer has the number {number}.").format(number=identity)
    if change.result == "unknown":
        assert isinstance(identity, Identity)
        return _("Nobody with the {messenger} id {id} has joined Relais yet.").format(
            messenger=messenger(identity.channel), id=identity.user_id
        )
    messages = {
        "granted": _("{who} is now on the comms team: they can go on duty with /duty."),
        "already": _("{who} is already on the comms team."),
        "revoked": _("{who} is no longer on the comms team."),
        "absent": _("{who} was not on the comms team."),
    }
    who = (
        _("{name} (volunteer #{id})").format(name=change.first_name, id=change.volunteer_id)
        if change.volunteer_id is not None
        else messenger(identity.channel)
        if isinstance(identity, Identity)
        else f"#{identity}"
    )
    return messages[change.result].format(who=who)


def parse_member(text: str, default_channel: str) -> Identity | int | None:
    """'#12' (the volunteer number directories show), a phone number '+33…' (a Signal
    account), or a messenger id as parse_identity reads it; None if it is none of these."""
    if match := re.fullmatch(r"#(\d{1,11})", text):
        return int(match[1])
    if re.fullmatch(r"\+\d{6,15}", text):
        return Identity("signal", text)
    return parse_identity(text, default_channel)


def parse_identity(text: str, default_channel: str) -> Identity | None:
    """'123', 'telegram:123' or 'signal:+33…' as an identity; None if it is neither."""
    channel, sep, user_id = text.partition(":")
    if not sep:
        channel, user_id = default_channel, text
    if channel in ("telegram", "console") and user_id.isdigit():
        return Identity(channel, user_id)
    if channel == "signal" and re.fullmatch(r"\+\d{6,15}|[0-9a-f-]{36}", user_id):
        return Identity(channel, user_id)
    return None
