"""The HTML an organizer may write in a broadcast: exactly what Telegram documents.

Telegram's Bot API (formatting options, HTML style) accepts these tags and no others:
b/strong, i/em, u/ins, s/strike/del, the spoiler (`<span class="tg-spoiler">` or
`<tg-spoiler>`), `<a href>`, `<tg-emoji emoji-id>`, `<code>`, `<pre>` (with one
`<code class="language-x">` inside to name a language) and `<blockquote>` (optionally
`expandable`); the named entities &lt; &gt; &amp; &quot; and numeric ones for real
characters. Formatting can wrap anything but code and pre; links, code, pre and custom emoji
contain no other entity of their kind; quotes do not nest. A message is checked when the
organizer writes it, so the refusal comes with a fix instead of 10,000 failed deliveries.
The problem is told as a kind and its facts; bot/markup_text.py says what to fix.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.text import MAX_TEXT, is_number

FORMATTING = frozenset(
    ["b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler"]
)
TAGS = FORMATTING | {"a", "tg-emoji", "code", "pre", "blockquote"}
_TAG_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s[^<>]*)?)>")
_ATTRIBUTE_RE = re.compile(r"""\s+([A-Za-z][A-Za-z0-9-]*)(?:\s*=\s*"([^"<>]*)")?""")
_HREF_RE = re.compile(r"^(?:https?://|tg://)[^\"\s]+$")
_LANGUAGE_RE = re.compile(r"^language-[A-Za-z0-9_+#.-]{1,32}$")
_ENTITY_RE = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,7})|#[xX]([0-9A-Fa-f]{1,6}));")
ALLOWED_LIST = "<b>, <i>, <u>, <s>, <tg-spoiler>, <a href>, <code>, <pre>, <blockquote>"


@dataclass(frozen=True, slots=True)
class MarkupProblem:
    """Why Telegram would refuse a message: `kind` in code, `data` the facts to show.

    Kinds: empty, too_long (n, max), lone_lt, tag (tag: a name), closes_nothing (tag),
    never_closed (tag), link, spoiler, custom_emoji, code_language, attribute (tag,
    attributes), nesting (inner, outer), ampersand, entity (entity).
    """

    kind: str
    data: Mapping[str, Any] = field(default_factory=dict)


def markup_problem(text: str) -> MarkupProblem | None:
    """What to fix for Telegram to accept this message, or None."""
    if not text.strip():
        return MarkupProblem("empty")
    problem = _tags_problem(text) or _entities_problem(text)
    if problem:
        return problem
    visible = html.unescape(_TAG_RE.sub("", text))
    if not visible.strip():  # Telegram refuses a message with nothing to show
        return MarkupProblem("empty")
    if len(visible) > MAX_TEXT:
        return MarkupProblem("too_long", {"n": len(visible), "max": MAX_TEXT})
    return None


def _tags_problem(text: str) -> MarkupProblem | None:
    open_tags: list[str] = []
    pos = 0
    while (lt := text.find("<", pos)) >= 0:
        match = _TAG_RE.match(text, lt)
        if match is None:
            return MarkupProblem("lone_lt")
        closing, name, attributes = match.group(1), match.group(2).lower(), match.group(3)
        pos = match.end()
        if name not in TAGS:
            return MarkupProblem("tag", {"tag": name})
        if closing:
            if attributes.strip() or not open_tags or open_tags[-1] != name:
                return MarkupProblem("closes_nothing", {"tag": name})
            open_tags.pop()
            continue
        problem = _attributes_problem(name, attributes, open_tags) or _nesting_problem(
            name, open_tags
        )
        if problem:
            return problem
        open_tags.append(name)
    if open_tags:
        return MarkupProblem("never_closed", {"tag": open_tags[-1]})
    return None


def _attributes(raw: str) -> dict[str, str | None] | None:
    """Attribute name → value (None when bare), or None if `raw` does not parse."""
    found: dict[str, str | None] = {}
    pos = 0
    raw = raw.rstrip()
    while pos < len(raw):
        match = _ATTRIBUTE_RE.match(raw, pos)
        if match is None or match.group(1).lower() in found:
            return None
        found[match.group(1).lower()] = match.group(2)
        pos = match.end()
    return found


def _attributes_problem(name: str, raw: str, open_tags: list[str]) -> MarkupProblem | None:
    attributes = _attributes(raw)
    if name == "a":
        href = (attributes or {}).get("href")
        if attributes is None or set(attributes) != {"href"} or not _HREF_RE.match(href or ""):
            return MarkupProblem("link")
        return None
    if name == "span":
        if attributes != {"class": "tg-spoiler"}:
            return MarkupProblem("spoiler")
        return None
    if name == "tg-emoji":
        emoji_id = (attributes or {}).get("emoji-id") or ""
        if attributes is None or set(attributes) != {"emoji-id"} or not is_number(emoji_id):
            return MarkupProblem("custom_emoji")
        return None
    if name == "code" and raw.strip():
        language = (attributes or {}).get("class") or ""
        if attributes is None or set(attributes) != {"class"} or not _LANGUAGE_RE.match(language):
            return _bad_attribute(name, raw)
        if not open_tags or open_tags[-1] != "pre":
            return MarkupProblem("code_language")
        return None
    if name == "blockquote" and attributes == {"expandable": None}:
        return None
    if raw.strip():
        return _bad_attribute(name, raw)
    return None


def _bad_attribute(name: str, raw: str) -> MarkupProblem:
    return MarkupProblem("attribute", {"tag": name, "attributes": raw.strip()})


def _nesting_problem(name: str, open_tags: list[str]) -> MarkupProblem | None:
    """Where Telegram's documentation says an entity cannot go."""
    for depth, outer in enumerate(open_tags):
        if not _may_contain(outer, name, direct=depth == len(open_tags) - 1):
            return MarkupProblem("nesting", {"inner": name, "outer": outer})
    return None


def _may_contain(outer: str, inner: str, *, direct: bool) -> bool:
    if outer in ("code", "tg-emoji"):
        return False
    if outer == "pre":
        return inner == "code" and direct  # the one code that names the language
    if inner in ("code", "pre"):
        return outer not in FORMATTING and outer != "a"
    if outer == "a":
        return inner not in ("a", "tg-emoji", "blockquote")
    return not (outer == "blockquote" and inner == "blockquote")


def _entities_problem(text: str) -> MarkupProblem | None:
    for amp in re.finditer("&", text):
        match = _ENTITY_RE.match(text, amp.start())
        if match is None:
            return MarkupProblem("ampersand")
        if match.group(1):
            continue
        code = int(match.group(2)) if match.group(2) else int(match.group(3), 16)
        if not 0 < code <= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return MarkupProblem("entity", {"entity": match.group(0)})
    return None
