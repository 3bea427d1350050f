"""Broadcast HTML: accepted exactly where Telegram's Bot API documents it (tags, attributes,
entities, nesting), refused with a fix everywhere else. Property tests over generated
messages, and the organizer's answer for the common mistakes."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.app import Relais
from bot.broadcast_text import refusal
from bot.i18n import use_language
from bot.services.broadcasts import BroadcastError, check_markup
from tests.fakes.bot_api import BotAPIError, FakeBotAPI, _html_error
from tools.seed import SeedVolunteer, add_volunteers

# Text between tags: anything but the three characters that must be written as entities.
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="<>&"), max_size=12)
CODE_POINT = st.integers(1, 0x10FFFF).filter(lambda c: not 0xD800 <= c <= 0xDFFF)
ENTITY = st.sampled_from(["&lt;", "&gt;", "&amp;", "&quot;"]) | CODE_POINT.flatmap(
    lambda c: st.sampled_from([f"&#{c};", f"&#x{c:x};", f"&#X{c:X};"])
)
PLAIN = st.lists(TEXT | ENTITY, max_size=4).map("".join)
FORMAT = st.sampled_from(
    [
        (f"<{tag}>", f"</{tag}>")
        for tag in ("b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "tg-spoiler")
    ]
    + [('<span class="tg-spoiler">', "</span>"), ("<B>", "</B>")]
)
URL = st.from_regex(
    r"\A(https?://[a-z]{1,8}\.example/[a-z0-9_/-]{0,10}|tg://user\?id=[0-9]{1,9})\Z"
)
LANGUAGE = st.from_regex(r"\Alanguage-[a-z][a-z0-9+#-]{0,10}\Z")


def _wrap(pair: tuple[str, str], inner: list[str]) -> str:
    return pair[0] + "".join(inner) + pair[1]


# Formatting nests in any order; it may not hold code or pre.
STYLED = st.recursive(
    PLAIN, lambda inner: st.builds(_wrap, FORMAT, st.lists(inner, max_size=3)), max_leaves=8
)
LINK = st.builds(lambda url, inner: f'<a href="{url}">{inner}</a>', URL, STYLED)
STYLED_WITH_LINKS = st.recursive(
    PLAIN | LINK, lambda inner: st.builds(_wrap, FORMAT, st.lists(inner, max_size=3)), max_leaves=6
)
CODE = PLAIN.map(lambda text: f"<code>{text}</code>")
PRE = st.builds(
    lambda language, text: (
        f'<pre><code class="{language}">{text}</code></pre>' if language else f"<pre>{text}</pre>"
    ),
    st.none() | LANGUAGE,
    PLAIN,
)
EMOJI = st.integers(1, 10**19).map(lambda n: f'<tg-emoji emoji-id="{n}">👍</tg-emoji>')
INLINE = STYLED_WITH_LINKS | CODE | PRE | EMOJI
QUOTE = st.builds(
    lambda expandable, inner: (
        f"<blockquote{' expandable' if expandable else ''}>{''.join(inner)}</blockquote>"
    ),
    st.booleans(),
    st.lists(INLINE, max_size=3),
)


def _visible(markup: str) -> str:
    return html.unescape(re.sub(r"<[^<>]*>", "", markup))


MESSAGE = (
    st.lists(INLINE | QUOTE, min_size=1, max_size=4)
    .map("".join)
    .filter(lambda m: _visible(m).strip() != "")
)
# Two valid messages, possibly empty, to put around a mistake.
AROUND = st.lists(INLINE | QUOTE, max_size=2).map("".join)

MISTAKES = [
    "<span>plain span</span>",
    '<span class="spoiler">x</span>',
    '<span class="tg-spoiler" id="x">x</span>',
    '<b onclick="alert(1)">x</b>',
    "<b onclick>x</b>",
    '<i style="color:red">x</i>',
    '<a href="https://a.example"><a href="https://b.example">x</a></a>',
    '<a href="https://a.example"><b><a href="https://b.example">x</a></b></a>',
    '<a href="https://a.example" target="_blank">x</a>',
    '<a href="javascript:alert(1)">x</a>',
    "<a>x</a>",
    '<a href="https://a.example"><code>x</code></a>',
    "&#0;",
    "&#x110000;",
    "&#xD800;",
    "&#55296;",
    "&nbsp;",
    "Tom & Jerry",
    "a < b",
    "<div>x</div>",
    "<br>",
    '<code class="language-python">x</code>',
    "<pre><b>x</b></pre>",
    "<code><i>x</i></code>",
    "<b><code>x</code></b>",
    "<i><pre>x</pre></i>",
    "<blockquote><blockquote>x</blockquote></blockquote>",
    "<blockquote collapsed>x</blockquote>",
    '<blockquote expandable="yes">x</blockquote>',
    "<tg-emoji>👍</tg-emoji>",
    '<tg-emoji emoji-id="abc">👍</tg-emoji>',
    '<tg-emoji emoji-id="²">👍</tg-emoji>',
    '<tg-emoji emoji-id="5"><b>x</b></tg-emoji>',
    "<b>x</i>",
    "</b>",
    "<b>",
    "</b x>",
]


@settings(max_examples=150, deadline=None)
@given(MESSAGE)
def test_everything_telegram_documents_is_accepted(message: str) -> None:
    check_markup(message)
    assert _html_error(message) is None  # and the fake Bot API parses it too


@settings(max_examples=150, deadline=None)
@given(AROUND, st.sampled_from(MISTAKES), AROUND)
def test_one_undocumented_construct_anywhere_is_refused(
    before: str, mistake: str, after: str
) -> None:
    with pytest.raises(BroadcastError):
        check_markup(before + mistake + after)


@settings(max_examples=100, deadline=None)
@given(AROUND, st.integers(0x110000, 10**7 - 1) | st.integers(0xD800, 0xDFFF) | st.just(0))
def test_numeric_entities_outside_unicode_are_refused(before: str, code: int) -> None:
    for entity in (f"&#{code};", f"&#x{code:x};"):
        with use_language("en"), pytest.raises(BroadcastError) as refused:
            check_markup(before + entity)
        with use_language("en"):
            assert "is not a character" in refusal(refused.value)


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("<span>x</span>", 'A spoiler must be written <span class="tg-spoiler">…</span>'),
        ("<b onclick>x</b>", "The tag <b> cannot have “onclick”."),
        (
            '<a href="https://a.example"><a href="https://b.example">x</a></a>',
            "<a> cannot be placed inside <a>.",
        ),
        ("&#0;", "&#0; is not a character"),
        ("<b></b>", "The message is empty."),
    ],
)
def test_the_organizer_is_told_what_to_fix(text: str, answer: str) -> None:
    with use_language("en"), pytest.raises(BroadcastError) as refused:
        check_markup(text)
    with use_language("en"):
        said = refusal(refused.value)
    assert answer in said.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace(
        "&amp;", "&"
    )


async def test_a_message_telegram_refuses_goes_out_as_plain_text_to_everyone(
    telegram_relais: Relais, bot_api: FakeBotAPI
) -> None:
    """Checked, yet refused by Telegram (a custom emoji this bot may not use): each recipient
    gets the words as plain text, the broadcast is delivered, and Telegram is asked once."""
    services = telegram_relais.services
    people = [SeedVolunteer(str(3000 + n), quiet_hours="") for n in range(5)]
    await add_volunteers(services.db, people, services.clock.now())
    refused: list[int] = []

    def send_message(params: dict[str, Any]) -> Any:
        text = str(params.get("text", ""))
        if params.get("parse_mode") == "HTML" and "<tg-emoji" in text:
            refused.append(int(params["chat_id"]))
            raise BotAPIError(
                400, "Bad Request: can't parse entities: custom emoji can't be used by this bot"
            )
        return bot_api._send_message(params)

    bot_api.add_method("sendMessage", send_message)
    text = '<b>Rally</b> <tg-emoji emoji-id="5368324170671202286">👍</tg-emoji> at 7 &amp; 8'
    bot_api.send_text(1, "/broadcast", language_code="en")
    await bot_api.wait_for_text(1, "New broadcast")
    bot_api.send_text(1, text, language_code="en")
    await bot_api.wait_for_text(1, "Add a button")
    bot_api.tap(1, "bc:audience", message_id=_last_id(bot_api, 1), language_code="en")
    await bot_api.wait_for_text(1, "Who should receive it?")
    bot_api.tap(1, "bc:all", message_id=_last_id(bot_api, 1), language_code="en")
    await bot_api.wait_for_text(1, "5 volunteers right now")
    start = len(bot_api.sent)
    bot_api.tap(1, "bc:now", message_id=_last_id(bot_api, 1), language_code="en")
    report = await bot_api.wait_for_text(1, "Delivery report", timeout=30, since=start)
    assert "Delivered: 5" in (report.text or "")
    shown = [c for c in bot_api.sent if c.ok and c.chat_id != 1 and "Rally" in (c.text or "")]
    assert sorted(int(c.chat_id or 0) for c in shown) == list(range(3000, 3005))
    assert {c.text for c in shown} == {"Rally 👍 at 7 &amp; 8"}  # shown as "Rally 👍 at 7 & 8"
    # The organizer's preview met the refusal first; no recipient's copy was refused.
    assert refused == [1]


def _last_id(api: FakeBotAPI, chat: int) -> int:
    message = api.last_message(chat)
    assert message is not None
    return int(message["message_id"])
