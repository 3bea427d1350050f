"""Telegram updates read straight from the Bot API's JSON into `Inbound`.

Relais reads a dozen fields of an update; building python-telegram-bot's objects for all of
them (users, chats, messages, entities) cost about an eighth of handling one. PTB stays the
client for everything else.
"""

from __future__ import annotations

from typing import Any

from bot.messaging import Inbound, InboundFile

CHANNEL = "telegram"
JSON = dict[str, Any]


class Unreadable(ValueError):
    """An update without a field Relais reads, or with one of another shape."""


def read(update: JSON) -> tuple[int, tuple[str, bool] | None, Inbound | None]:
    """An update's chat, its membership change and its neutral form, read once; Unreadable
    if a field they need is missing or of the wrong type (no retry will make it readable)."""
    try:
        return chat_of(update), membership(update), to_inbound(update)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise Unreadable(type(exc).__name__) from exc


def to_inbound(update: JSON) -> Inbound | None:
    """The neutral form of a Telegram update, or None for updates Relais ignores."""
    query = update.get("callback_query")
    message = query.get("message") if query is not None else update.get("message")
    user = query.get("from") if query is not None else (message or {}).get("from")
    chat = (message or {}).get("chat")
    if not user or not chat or user.get("is_bot"):
        return None
    base: dict[str, Any] = {
        "channel": CHANNEL,
        "user_id": str(user["id"]),
        "chat_id": str(chat["id"]),
        "private": chat.get("type") == "private",
        "first_name": user.get("first_name") or "",
        "language_code": user.get("language_code") or "",
        "update_key": str(update["update_id"]),
    }
    if query is not None:
        message_id = str(message["message_id"]) if message and "message_id" in message else ""
        return Inbound(**base, choice=str(query.get("data") or ""), message_id=message_id)
    assert message is not None
    location = message.get("location")
    if location is not None:
        return Inbound(**base, location=(location["latitude"], location["longitude"]))
    contact = message.get("contact")
    if contact is not None:
        # Only a person's own number counts as theirs: the share-my-number button sends the
        # sender's id; a phone-book card of someone not on Telegram carries none.
        if contact.get("user_id") != user["id"]:
            return Inbound(**base, text=contact["phone_number"])
        return Inbound(**base, contact_phone=contact["phone_number"])
    text = message.get("text") or message.get("caption") or ""
    return Inbound(
        **base,
        text=text,
        forwarded=message.get("forward_origin") is not None,
        file=_file(message),
        extra={"urls": _urls(message)},
    )


def chat_of(update: JSON) -> int:
    """The chat an update belongs to (0 if none): its updates are handled in order."""
    query = update.get("callback_query")
    holder = (query or {}).get("message") if query is not None else None
    for part in (holder, update.get("message"), update.get("my_chat_member")):
        if part and part.get("chat"):
            return int(part["chat"]["id"])
    return 0


def membership(update: JSON) -> tuple[str, bool] | None:
    """(chat, blocked) when a person blocked or unblocked the bot in their private chat."""
    member = update.get("my_chat_member")
    if not member or member.get("chat", {}).get("type") != "private":
        return None
    status = member.get("new_chat_member", {}).get("status")
    return str(member["chat"]["id"]), status in ("kicked", "banned")


def _file(message: JSON) -> InboundFile | None:
    """A photo (its largest size) or a document sent with the message, by reference."""
    photos = message.get("photo")
    if photos:
        largest = max(
            photos,
            key=lambda p: (p.get("width", 0) * p.get("height", 0), p.get("file_size") or 0),
        )
        return InboundFile("photo", largest["file_id"], size=largest.get("file_size") or 0)
    document = message.get("document")
    if document is not None:
        return InboundFile(
            "document",
            document["file_id"],
            name=document.get("file_name") or "",
            size=document.get("file_size") or 0,
            mime=document.get("mime_type") or "",
        )
    return None


def _urls(message: JSON) -> list[str]:
    """The links in a message (or, without any, in its caption): a text link's address, or
    the words of a URL entity, cut by Telegram's UTF-16 offsets."""
    for text_key, entities_key in (("text", "entities"), ("caption", "caption_entities")):
        entities = [
            e for e in message.get(entities_key) or () if e.get("type") in ("url", "text_link")
        ]
        if not entities:
            continue
        encoded = (message.get(text_key) or "").encode("utf-16-le")
        urls = []
        for entity in entities:
            start, length = entity["offset"] * 2, entity["length"] * 2
            words = encoded[start : start + length].decode("utf-16-le", errors="replace")
            urls.append(entity.get("url") or words)
        return urls
    return []
