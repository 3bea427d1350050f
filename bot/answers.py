"""Typed answers read the same way on every messenger: counts first."""

from __future__ import annotations

import re

# "12", "1 200", "1 200" (narrow no-break space), "1.200": ASCII digits only, so "²" or
# "٣" is not a count (str.isdigit() says they are, int() disagrees).
_COUNT = re.compile(r"[0-9]{1,3}(?:[ \u00a0\u202f.,'][0-9]{3})+|[0-9]{1,12}")


def parse_count(text: str) -> int | None:
    """The whole number a person typed ("12", "1 200"), or None if it is not one."""
    value = text.strip()
    if not _COUNT.fullmatch(value):
        return None
    return int(re.sub(r"[^0-9]", "", value))
