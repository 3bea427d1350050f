"""What can go wrong, as every layer above names it: storage failures, and the refusals
services raise for the flows to put into words (errors carry facts, never sentences).

The router answers a busy or failing database with a clear message without knowing which
database runs underneath: backends raise these, and nothing above storage imports storage
to catch them. Services raise the rule errors with a code, never words: the flow that
called them chooses what to say.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class StorageError(RuntimeError):
    """The database could not do what was asked; nothing was half-written."""


class StorageBusy(StorageError):
    """Another process held the database longer than we are willing to wait."""


class StorageFull(StorageError):
    """The disk is full."""


class StorageMissing(StorageError):
    """There is no database where the settings point (a vanished file, a mistyped path)."""


class Conflict(StorageError):
    """A row with the same unique key is there already; the statement changed nothing."""


class NotAVolunteer(Exception):
    """Only people who joined can do this (raise the alarm, go on duty); nothing changed."""


class Gone(LookupError):
    """What a button or a step was about is no longer there for this person (removed,
    closed, or out of their scope): nothing changed; the flow says the choice expired."""


class NothingToReport(ValueError):
    """A report holds neither a link nor enough text to act on."""


class TaskError(ValueError):
    """A task as described cannot be stored; `code` says why (for a translated answer),
    `data` the facts the answer may name (e.g. `starts_at` for "closes_before_start")."""

    def __init__(self, code: str, **data: Any) -> None:
        super().__init__(code)
        self.code = code
        self.data = data


@dataclass(frozen=True, slots=True)
class ImportProblem:
    """A line of a call list that cannot be imported, and why (a short code)."""

    line: int
    problem: str  # header | name | phone | duplicate | encoding | size | empty
    value: str = ""


class ImportRejected(ValueError):
    """Nothing was imported: the problems say which lines to fix."""

    def __init__(self, problems: list[ImportProblem]) -> None:
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


class Invalid(ValueError):
    """An answer or a request Relais cannot accept; nothing was changed.

    `kind` says why, in code ("name.missing", "team.name_taken"); `data` holds what the
    words need (a limit, the name typed). Services raise it; the flow's presenter in
    `handlers/` chooses the words, in the person's language.

    Transitional, until every flow has a presenter: an `Invalid` raised with a sentence
    (`Invalid(_("Please …"))`) carries it as its kind, and `str(problem)` gives it back.
    """

    def __init__(self, kind: str, /, **data: Any) -> None:
        super().__init__(kind)
        self.kind = kind
        self.data = data
