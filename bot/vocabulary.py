"""The campaign's words for skills, availability and kinds of task: what people may type, in
French or English, and the words they are shown in their own language (never the stored
codes)."""

from __future__ import annotations

import re
import unicodedata

from bot.i18n import N_, _

SKILLS = ("share", "canvass", "call", "text", "events")
AVAILABILITY = ("evenings", "weekends", "daytime")

# One word per skill, as shown in a sentence or typed in an audience ("skill:sharing").
SKILL_WORDS = {
    "share": N_("sharing"),
    "canvass": N_("canvassing"),
    "call": N_("calls"),
    "text": N_("texts"),
    "events": N_("events"),
}
# A task's kind as a card, a list or the command line names it.
TASK_KIND_WORDS = {
    "share": N_("Share"),
    "canvass": N_("Canvassing"),
    "call": N_("Phone bank"),
    "text": N_("Text your contacts"),
    "event": N_("Event"),
    "custom": N_("Task"),
}
AVAILABILITY_WORDS = {
    "evenings": N_("evenings"),
    "weekends": N_("weekends"),
    "daytime": N_("daytime"),
}

# Everything people type for a skill, in both languages (without accents, lower case).
_SKILL_TYPED = {
    "share": ("share", "sharing", "partage", "partager", "partages", "reseaux"),
    "canvass": ("canvass", "canvassing", "porte-a-porte", "porteaporte", "tractage", "terrain"),
    "call": ("call", "calls", "calling", "appel", "appels", "phoning"),
    "text": ("text", "texts", "texting", "sms", "message", "messages"),
    "events": ("events", "event", "evenement", "evenements"),
}
_AVAILABILITY_TYPED = {
    "evenings": ("evenings", "evening", "soir", "soirs", "soiree", "soirees"),
    "weekends": ("weekends", "weekend", "week-end", "week-ends"),
    "daytime": ("daytime", "day", "journee", "journees", "jour", "jours"),
}


def plain(word: str) -> str:
    """Lower case, without accents or surrounding spaces: 'Événements' → 'evenements'."""
    decomposed = unicodedata.normalize("NFKD", word.strip().casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _lookup(table: dict[str, tuple[str, ...]], word: str) -> str | None:
    typed = plain(word)
    typed = re.sub(r"\s+", "-", typed)
    for code, words in table.items():
        if typed in words:
            return code
    return None


def skill_code(word: str) -> str | None:
    """The skill a typed word names, in French or English ('partage' → 'share'), or None."""
    return _lookup(_SKILL_TYPED, word)


def availability_code(word: str) -> str | None:
    """The availability a typed word names ('soirs' → 'evenings'), or None."""
    return _lookup(_AVAILABILITY_TYPED, word)


def skill_word(code: str) -> str:
    """A skill in the reader's language ('share' → 'partage')."""
    return _(SKILL_WORDS[code]) if code in SKILL_WORDS else code


def availability_word(code: str) -> str:
    """An availability in the reader's language ('evenings' → 'soirs')."""
    return _(AVAILABILITY_WORDS[code]) if code in AVAILABILITY_WORDS else code


def skill_words() -> str:
    """Every skill in the reader's language, as typed in an audience: 'sharing|canvassing|…'."""
    return "|".join(skill_word(code) for code in SKILLS)


def task_kind_word(kind: str) -> str:
    """A task's kind in the reader's language ('Partage' for share)."""
    return _(TASK_KIND_WORDS.get(kind, TASK_KIND_WORDS["custom"]))
