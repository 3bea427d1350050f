"""Phone banking's types: the people on a call list and what a call gave."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.domain.tasks import Task


class CallResult(StrEnum):
    """What a caller reports after one call."""

    SUPPORTER = "supporter"
    UNDECIDED = "undecided"
    OPPOSED = "opposed"
    NO_ANSWER = "no_answer"
    WRONG_NUMBER = "wrong_number"
    CALLBACK = "callback"
    DO_NOT_CALL = "do_not_call"


class ContactState(StrEnum):
    """Where a person on a call list is: waiting, held by one caller, to call back, done."""

    READY = "ready"
    HELD = "held"
    CALLBACK = "callback"
    DONE = "done"


RESULTS = tuple(result.value for result in CallResult)
# Results after which the number is never called again, on any list.
BARRED = (CallResult.WRONG_NUMBER.value, CallResult.DO_NOT_CALL.value)


@dataclass(frozen=True, slots=True)
class ContactRow:
    """One valid line of a call list, ready to store."""

    line: int
    name: str
    phone: str
    notes: str


@dataclass(frozen=True, slots=True)
class Contact:
    """A person to call, as the caller holding it sees it."""

    id: int
    task_id: int
    name: str
    phone: str
    notes: str
    state: ContactState
    held_by: int | None
    held_until: datetime | None
    callback_at: datetime | None
    attempts: int


@dataclass(frozen=True, slots=True)
class CallTurn:
    """Where a caller stands on a list: the task, their assignment, and who to call now
    (None: nobody left to call right now)."""

    task: Task
    assignment_id: int
    contact: Contact | None


@dataclass(frozen=True, slots=True)
class Called:
    """A call recorded, and the caller's next turn on the same list."""

    contact: Contact
    next: CallTurn
