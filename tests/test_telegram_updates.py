"""Telegram updates read from their JSON: what Relais takes from each kind of update."""

from __future__ import annotations

from typing import Any

from bot.messaging import Choice, Outbound, choices
from bot.transports.telegram import inline_keyboard, inline_markup
from bot.transports.telegram_updates import chat_of, membership, to_inbound

ANA = {"id": 200, "is_bot": False, "first_name": "Ana", "language_code": "fr-BE"}
PRIVATE = {"id": 200, "type": "private", "first_name": "Ana"}


def _message(**fields: Any) -> dict[str, Any]:
    return {
        "update_id": 7,
        "message": {"message_id": 3, "date": 0, "chat": PRIVATE, "from": ANA, **fields},
    }


def test_a_text_names_its_person_chat_and_language_and_its_links() -> None:
    text = "👋 voir https://example.org/a et ici"
    update = _message(
        text=text,
        entities=[
            {"type": "url", "offset": 8, "length": 21},
            {"type": "text_link", "offset": 33, "length": 3, "url": "https://example.org/b"},
            {"type": "bold", "offset": 0, "length": 2},
        ],
    )
    inbound = to_inbound(update)
    assert inbound is not None
    assert (inbound.user_id, inbound.chat_id, inbound.private) == ("200", "200", True)
    assert (inbound.first_name, inbound.language_code, inbound.update_key) == ("Ana", "fr-BE", "7")
    assert inbound.text == text and not inbound.forwarded
    # Offsets count UTF-16 units: the emoji before the link takes two.
    assert inbound.extra["urls"] == ["https://example.org/a", "https://example.org/b"]
    assert chat_of(update) == 200


def test_a_tap_carries_its_button_and_the_message_it_belongs_to() -> None:
    card = {"message_id": 41, "date": 0, "chat": PRIVATE, "text": "Card"}
    update = {
        "update_id": 8,
        "callback_query": {
            "id": "q1",
            "from": ANA,
            "message": card,
            "chat_instance": "x",
            "data": "task:later:5",
        },
    }
    inbound = to_inbound(update)
    assert inbound is not None
    assert (inbound.choice, inbound.message_id, inbound.chat_id) == ("task:later:5", "41", "200")
    assert chat_of(update) == 200


def test_files_locations_contacts_and_forwards() -> None:
    photo = to_inbound(
        _message(
            caption="proof",
            photo=[
                {"file_id": "small", "file_unique_id": "s", "width": 90, "height": 90},
                {
                    "file_id": "big",
                    "file_unique_id": "b",
                    "width": 900,
                    "height": 900,
                    "file_size": 5,
                },
            ],
        )
    )
    assert photo is not None and photo.file is not None
    assert (photo.text, photo.file.kind, photo.file.file_id, photo.file.size) == (
        "proof",
        "photo",
        "big",
        5,
    )
    document = to_inbound(
        _message(
            document={
                "file_id": "d",
                "file_unique_id": "d",
                "file_name": "calls.csv",
                "mime_type": "text/csv",
                "file_size": 12,
            }
        )
    )
    assert document is not None and document.file is not None
    assert (document.file.name, document.file.mime) == ("calls.csv", "text/csv")
    where = to_inbound(_message(location={"latitude": 48.85, "longitude": 2.35}))
    assert where is not None and where.location == (48.85, 2.35)
    own = to_inbound(
        _message(contact={"phone_number": "+33612", "first_name": "A", "user_id": 200})
    )
    other = to_inbound(
        _message(contact={"phone_number": "+33699", "first_name": "B", "user_id": 201})
    )
    assert own is not None and own.contact_phone == "+33612"
    # Someone else's card is only text: it is not this person's number.
    assert other is not None and (other.contact_phone, other.text) == ("", "+33699")
    # Nor is a phone-book card of someone who is not on Telegram (it carries no user id).
    unknown = to_inbound(_message(contact={"phone_number": "+33677", "first_name": "C"}))
    assert unknown is not None and (unknown.contact_phone, unknown.text) == ("", "+33677")
    forwarded = to_inbound(
        _message(
            text="look", forward_origin={"type": "hidden_user", "date": 0, "sender_user_name": "X"}
        )
    )
    assert forwarded is not None and forwarded.forwarded


def test_what_relais_ignores_and_who_blocked_the_bot() -> None:
    edited = {"update_id": 9, "edited_message": _message(text="x")["message"]}
    from_bot = _message(text="hi", **{"from": {**ANA, "is_bot": True}})
    assert to_inbound(edited) is None and to_inbound(from_bot) is None
    blocked = {
        "update_id": 10,
        "my_chat_member": {
            "chat": PRIVATE,
            "from": ANA,
            "date": 0,
            "old_chat_member": {"status": "member", "user": ANA},
            "new_chat_member": {"status": "kicked", "user": ANA, "until_date": 0},
        },
    }
    assert membership(blocked) == ("200", True)
    assert membership(_message(text="hi")) is None


def test_the_inline_keyboard_in_json_is_the_one_ptb_would_send() -> None:
    outbound = Outbound(
        "Task",
        choices=choices(
            [Choice("Accept", "task:acc:1"), Choice("Skip", "task:skip:1")],
            Choice("Open", url="https://example.org"),
            Choice("Dashboard", url="https://example.org/tg", web_app=True),
        ),
    )
    keyboard = inline_keyboard(outbound)
    assert keyboard is not None
    assert inline_markup(outbound) == keyboard.to_dict()
    assert inline_markup(Outbound("No buttons")) is None
