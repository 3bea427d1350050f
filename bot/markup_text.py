"""What an organizer reads when Telegram would refuse their message's HTML: what to fix,
with an example (bot/services/markup.py finds the problem, this module words it)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot.i18n import _, characters
from bot.services.markup import ALLOWED_LIST, MarkupProblem
from bot.text import MAX_TEXT, esc


def _tag(data: Mapping[str, Any], key: str = "tag", closing: str = "") -> str:
    return esc(f"<{closing}{data[key]}>")


_WORDS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "empty": lambda _data: _("The message is empty. Please send some text."),
    "too_long": lambda data: _("The message is too long ({n}; at most {max}).").format(
        n=characters(data["n"]), max=data.get("max", MAX_TEXT)
    ),
    "lone_lt": lambda _data: _(
        "There is a lone “{lt}” in the message: write {entity} for the character."
    ).format(lt=esc("<"), entity=esc("&lt;")),
    "tag": lambda data: _("The tag {tag} is not allowed. Use {allowed}.").format(
        tag=_tag(data), allowed=esc(ALLOWED_LIST)
    ),
    "closes_nothing": lambda data: _("The tag {tag} closes nothing that is open.").format(
        tag=_tag(data, closing="/")
    ),
    "never_closed": lambda data: _("The tag {tag} is never closed.").format(tag=_tag(data)),
    "link": lambda _data: _("A link must be written {example}.").format(
        example=esc('<a href="https://…">text</a>')
    ),
    "spoiler": lambda _data: _("A spoiler must be written {example} or {other}.").format(
        example=esc('<span class="tg-spoiler">…</span>'),
        other=esc("<tg-spoiler>…</tg-spoiler>"),
    ),
    "custom_emoji": lambda _data: _("A custom emoji must be written {example}.").format(
        example=esc('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>')
    ),
    "code_language": lambda _data: _(
        "A language can only be given to code inside {pre}: {example}."
    ).format(
        pre=esc("<pre>"),
        example=esc('<pre><code class="language-python">…</code></pre>'),
    ),
    "attribute": lambda data: _("The tag {tag} cannot have “{attributes}”.").format(
        tag=_tag(data), attributes=esc(str(data["attributes"])[:40])
    ),
    "nesting": lambda data: _("{inner} cannot be placed inside {outer}.").format(
        inner=_tag(data, "inner"), outer=_tag(data, "outer")
    ),
    "ampersand": lambda _data: _("Write {entity} for the character “{amp}”.").format(
        entity=esc("&amp;"), amp=esc("&")
    ),
    "entity": lambda data: _(
        "{entity} is not a character: write the character itself, or one of {named}."
    ).format(entity=esc(data["entity"]), named=esc("&lt; &gt; &amp; &quot;")),
}


def markup_words(kind: str, data: Mapping[str, Any]) -> str:
    """What to fix, in the reader's language (HTML, escaped)."""
    return _WORDS[kind](data)


def problem_words(problem: MarkupProblem) -> str:
    return markup_words(problem.kind, problem.data)
