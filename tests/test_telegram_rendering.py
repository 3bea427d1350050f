"""How neutral messages become Telegram messages: long texts, buttons, requests."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.messaging import Choice, Outbound, choices
from bot.text import split_text
from bot.transports.telegram import inline_keyboard, request_keyboard


@given(st.text(alphabet=st.sampled_from("ab \n"), max_size=20_000))
def test_long_texts_are_split_under_the_limit_without_losing_words(text: str) -> None:
    parts = split_text(text, limit=4096)
    assert all(len(part) <= 4096 for part in parts)
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")


def test_choices_become_an_inline_keyboard_in_rows() -> None:
    outbound = Outbound(
        "Task",
        choices=choices(
            [Choice("Accept", "task:acc:1"), Choice("Skip", "task:skip:1")],
            Choice("Open", url="https://example.org"),
        ),
    )
    keyboard = inline_keyboard(outbound)
    assert keyboard is not None
    rows = keyboard.inline_keyboard
    assert [[b.text for b in row] for row in rows] == [["Accept", "Skip"], ["Open"]]
    assert rows[0][0].callback_data == "task:acc:1" and rows[1][0].url == "https://example.org"


def test_a_location_request_becomes_a_one_time_reply_keyboard() -> None:
    keyboard = request_keyboard(Outbound("Where?", request="location"))
    assert keyboard is not None and keyboard.one_time_keyboard
    assert keyboard.keyboard[0][0].request_location


def test_labels_are_plain_text_on_messengers_without_buttons() -> None:
    from bot.transports.numbered import render_numbered

    text, payloads = render_numbered(
        Outbound("Which team?", choices=choices(Choice("Paris <11e> & co", "rep:r:week:t1")))
    )
    assert "1. Paris <11e> & co" in text and payloads == ["rep:r:week:t1"]
