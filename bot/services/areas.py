"""Where volunteers are: French postcodes and the département they belong to."""

from __future__ import annotations

import re
from dataclasses import dataclass

_POSTCODE_RE = re.compile(r"^\d{5}$")
# Overseas: 971 Guadeloupe … 976 Mayotte, 977/978 Saint-Barthélemy/Saint-Martin;
# 984 TAAF, 986 Wallis-et-Futuna, 987 Polynésie, 988 Nouvelle-Calédonie, 975 Saint-Pierre.
_OVERSEAS = frozenset({"971", "972", "973", "974", "975", "976", "977", "978"}) | frozenset(
    {"984", "986", "987", "988"}
)


@dataclass(frozen=True, slots=True)
class Postcode:
    """A valid French postcode and its département code ('75', '2A', '974')."""

    code: str
    department: str


def department_of(code: str) -> str | None:
    """The département of a 5-digit French postcode, or None if no département has it."""
    if not _POSTCODE_RE.match(code):
        return None
    head = code[:2]
    if head == "20":
        # Corsica: 200xx–201xx is Corse-du-Sud (2A), 202xx–206xx Haute-Corse (2B).
        third = code[2]
        if third in "01":
            return "2A"
        if third in "23456":
            return "2B"
        return None
    if head in ("97", "98"):
        return code[:3] if code[:3] in _OVERSEAS else None
    if "01" <= head <= "95":
        return head
    return None


def parse_postcode(text: str) -> Postcode | None:
    """'75011', ' 75 011 ' → Postcode('75011', '75'); anything else → None."""
    code = "".join(text.split())
    department = department_of(code)
    return Postcode(code, department) if department else None


def looks_like_postcode(text: str) -> bool:
    """Digits only (spaces allowed): meant as a postcode, so it must be a valid one."""
    compact = "".join(text.split())
    return bool(compact) and compact.isdigit()
