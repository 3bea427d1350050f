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


# A counted word right after a placeholder: "{n} personnes", "{left} restantes", "{n} volunteers".
COUNTED = re.compile(r"(?<!/)\{(\w+)\}[ \u00a0]+([^\W\d_]{2,})(?!['’\w])")
# Words after a placeholder that end like a plural but are not counted: verbs, prepositions.
_NOT_COUNTED_WORDS = (
    "is was has does goes holds closes dans depuis plus pas sans sous vers après très vous "
    "nous alors mais puis fois jamais toujours sur par pour aux des les ses ces mes tes "
    "nos vos leurs est sont avez êtes"
)
NOT_COUNTED = frozenset(_NOT_COUNTED_WORDS.split())


def counted_outside_plural(text: str) -> list[str]:
    """Words in `text` that a number placeholder just before them would put in the plural."""
    return [
        f"{{{name}}} {word}"
        for name, word in COUNTED.findall(text)
        if word[0].islower() and word[-1] in "sx" and word not in NOT_COUNTED
    ]


def test_counts_beside_a_noun_use_plural_forms() -> None:
    """'1 personnes', '(1 volunteers right now)': every count beside a word goes through
    ngettext, so each language says '1 personne' and '2 personnes'."""
    problems = []
    for language in ("fr", "en"):
        translations = catalog(LOCALES / language / "LC_MESSAGES" / "messages.po", language)
        for message in translations:
            if not message.id or message.pluralizable:
                continue
            for text in (message.id, message.string):
                found = counted_outside_plural(text or "")
                if found:
                    problems.append(f"{language}: {found} in {str(message.id)[:60]!r}")
    assert not problems, "\n".join(problems)


def test_the_plural_check_finds_a_count_beside_a_noun() -> None:
    assert counted_outside_plural("{total} personnes, {left} restantes") == [
        "{total} personnes",
        "{left} restantes",
    ]
    assert counted_outside_plural("({n} volunteers right now)") == ["{n} volunteers"]
    assert counted_outside_plural("{name} s'en occupe · {who} est là · {n} s") == []
    assert counted_outside_plural("/{cancel} stops") == []  # a command, not a count
