"""Typed answers read the same way on every messenger: counts first."""

from __future__ import annotations

import re

# "12", "1 200", "1 200" (narrow no-break space), "1.200": ASCII digits only, so "²" or
# "٣" is not a count (str.isdigit() says they are, int() disagrees).
_COUNT = re.compile(r"[0-9]{1,3}(?:[ \u00a0\u202f.,'][0-9]{3})+|[0-9]{1,12}")


# One word after the number names what is counted ("200 portes", "12 people"): the question
# asked for it, so it is read as the number alone.
_UNIT = re.compile(r"\s+[^\W\d_]{1,20}\.?$")
_DISTANCE = re.compile(r"([0-9]+(?:[.,][0-9]+)?)\s*(?:km|kms|kilom[eè]tres?|kilometers?)?\.?")


def parse_count(text: str) -> int | None:
    """The whole number a person typed ("12", "1 200", "200 portes"), or None if it is not
    one."""
    value = _UNIT.sub("", text.strip()) if re.search(r"[0-9]", text) else text.strip()
    if not _COUNT.fullmatch(value):
        return None
    return int(re.sub(r"[^0-9]", "", value))


def parse_distance(text: str) -> float | None:
    """Kilometres a person typed ("5", "2,5", "5 km", "10 kilomètres"), or None."""
    match = _DISTANCE.fullmatch(text.strip().lower())
    return float(match.group(1).replace(",", ".")) if match else None
