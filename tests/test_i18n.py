"""Every message has a French and an English translation, neither fuzzy, with the same
placeholders as the English source (plural forms included)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

LOCALES = Path(__file__).resolve().parent.parent / "locales"
PLACEHOLDER = re.compile(r"\{[a-zA-Z_][a-zA-Z0-9_]*\}")


def catalog(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


def source_ids() -> list[str | tuple[str, ...]]:
    return [m.id for m in catalog(LOCALES / "messages.pot") if m.id]


def check(message: Message | None, source: str | tuple[str, ...]) -> list[str]:
    """What is wrong with one translation of `source`, if anything."""
    if message is None:
        return ["missing"]
    if message.fuzzy:
        return ["fuzzy"]
    singular = source[0] if isinstance(source, tuple) else source
    plural = source[1] if isinstance(source, tuple) else source
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    problems = []
    if not all(strings):
        problems.append("empty")
    for index, string in enumerate(strings):
        # Plural form 0 may drop the count ("une tâche"), never add one.
        expected = placeholders(singular if index == 0 else plural)
        found = placeholders(string or "")
        if found != expected and not (index == 0 and set(found) <= set(expected)):
            problems.append(f"placeholders {found} instead of {expected}")
    return problems


@pytest.mark.parametrize("language", ["fr", "en"])
def test_every_message_is_translated_with_the_same_placeholders(language: str) -> None:
    translations = catalog(LOCALES / language / "LC_MESSAGES" / "messages.po", language)
    problems = {}
    for source in source_ids():
        key = source[0] if isinstance(source, tuple) else source
        found = check(translations.get(key), source)
        if found:
            problems[key] = found
    assert not problems, f"{language}: {problems}"


def test_the_check_finds_a_mismatch() -> None:
    assert check(Message("Hello {name}", "Bonjour {nom}"), "Hello {name}") == [
        "placeholders ['{nom}'] instead of ['{name}']"
    ]
    assert check(Message("x", "y", flags=["fuzzy"]), "x") == ["fuzzy"]
    assert check(None, "x") == ["missing"]
    assert check(Message("x", ""), "x") == ["empty"]
    plural = ("{n} task", "{n} tasks")
    assert check(Message(plural, ("une tâche", "{n} tâches")), plural) == []
    assert check(Message(plural, ("{n} tâche", "tâches")), plural) == [
        "placeholders [] instead of ['{n}']"
    ]
