"""Phone banking: importing call lists, one contact at a time per caller, call results."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, timedelta

import phonenumbers

from bot.clock import Clock
from bot.domain.calls import RESULTS, Called, CallTurn, Contact, ContactRow
from bot.domain.errors import Gone, ImportProblem, ImportRejected
from bot.domain.tasks import AssignmentState, Claimed, TaskKind, TaskStatus
from bot.messaging import InboundFile
from bot.services.people import ORGANIZER, Actor
from bot.storage.audit import AuditLog
from bot.storage.calls import CallRepository
from bot.storage.tasks import TaskRepository
from bot.text import clean, clean_name

HOLD = timedelta(minutes=20)
# Someone who did not answer is tried again later, at most this many times in all.
NO_ANSWER_RETRY = timedelta(hours=3)
MAX_ATTEMPTS = 3
MAX_FILE_BYTES = 1_000_000
MAX_CONTACTS = 20_000


def _rows(reader: Iterator[list[str]]) -> Iterator[list[str] | None]:
    """The reader's rows, then None if a line cannot be read (a cell over 128 KB)."""
    try:
        yield from reader
    except csv.Error:
        yield None


def normalize_phone(text: str, region: str = "FR") -> str | None:
    """The number in E.164 (+33612345678), or None if it is not a valid phone number."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def display_phone(e164: str) -> str:
    """A stored number as people write it, international form (+33 6 12 34 56 78)."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL))


def parse_call_list(content: bytes, region: str = "FR", *, header: bool = True) -> list[ContactRow]:
    """Rows of a CSV call list (name, phone, notes), or ImportRejected listing every bad line.

    With a header (files), it must name `name` and `phone` columns (`notes` optional; French
    headers `nom`, `téléphone` work too). Without one (lines pasted in the chat), the
    columns are name, phone, notes in that order. Separators `,`, `;` and tab all work.
    """
    if len(content) > MAX_FILE_BYTES:
        raise ImportRejected([ImportProblem(0, "size")])
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRejected([ImportProblem(0, "encoding")]) from None
    first_line = text.split("\n", 1)[0]
    delimiter = max(("\t", ";", ","), key=first_line.count) if first_line else ","
    delimiter = delimiter if first_line.count(delimiter) else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    columns: dict[str, int] | None = {"name": 0, "phone": 1, "notes": 2}
    if header:
        first = next(_rows(reader), [])
        if first is None:
            raise ImportRejected([ImportProblem(1, "csv")])
        columns = _columns(first)
    if columns is None:
        raise ImportRejected([ImportProblem(1, "header")])
    rows: list[ContactRow] = []
    problems: list[ImportProblem] = []
    seen: dict[str, int] = {}
    for cells in _rows(reader):
        if cells is None:
            problems.append(ImportProblem(reader.line_num, "csv"))
            break
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        cell = {k: clean(cells[i]) if i < len(cells) else "" for k, i in columns.items()}
        name = clean_name(cell["name"])[:100]
        phone = normalize_phone(cell["phone"], region) if cell["phone"] else None
        if not name:
            problems.append(ImportProblem(line, "name"))
        elif phone is None:
            problems.append(ImportProblem(line, "phone", cell["phone"][:40]))
        elif phone in seen:
            problems.append(ImportProblem(line, "duplicate", cell["phone"][:40]))
        else:
            seen[phone] = line
            rows.append(ContactRow(line, name, phone, cell.get("notes", "")[:500]))
    if not rows and not problems:
        problems.append(ImportProblem(0, "empty"))
    if len(rows) > MAX_CONTACTS:
        problems.append(ImportProblem(0, "size"))
    if problems:
        raise ImportRejected(problems)
    return rows


_HEADERS = {
    "name": ("name", "nom", "prénom nom", "full name"),
    "phone": ("phone", "téléphone", "telephone", "tel", "tél", "mobile", "numéro", "number"),
    "notes": ("notes", "note", "commentaire", "comment"),
}


def _columns(header: list[str]) -> dict[str, int] | None:
    found: dict[str, int] = {}
    for index, title in enumerate(header):
        key = clean(title).lower()
        for column, names in _HEADERS.items():
            if key in names and column not in found:
                found[column] = index
    return found if "name" in found and "phone" in found else None


# What a call list sent as a file may be: CSV or plain text (spreadsheets export either).
LIST_SUFFIXES = (".csv", ".txt", ".tsv")
LIST_MIME_TYPES = ("text/", "application/csv", "application/vnd.ms-excel")


def file_refusal(file: InboundFile) -> str | None:
    """Why a file sent in the chat cannot be a call list ("type", "size"), before reading it.

    Messengers declare the name, type and size, so a PDF or a 20 MB video is refused unread.
    """
    name = file.name.lower()
    mime = file.mime.lower()
    if file.kind != "document" or not (
        name.endswith(LIST_SUFFIXES) or (not name and mime.startswith(LIST_MIME_TYPES))
    ):
        return "type"
    if file.size > MAX_FILE_BYTES:
        return "size"
    return None


class CallService:
    """The caller loop: hold one contact, record the result, hand the next."""

    def __init__(
        self, clock: Clock, calls: CallRepository, tasks: TaskRepository, audit: AuditLog
    ) -> None:
        self.clock = clock
        self._calls = calls
        self._tasks = tasks
        self._audit = audit

    async def import_list(
        self, task_id: int, content: bytes, region: str = "FR", *, header: bool = True
    ) -> int:
        """Add a CSV call list to a call task, all or nothing; how many contacts were added."""
        task = await self._tasks.get(task_id)
        if task is None or task.kind != TaskKind.CALL or task.status == TaskStatus.CLOSED:
            raise ImportRejected([ImportProblem(0, "task")])
        rows = parse_call_list(content, region, header=header)
        return await self._calls.add_contacts(task_id, rows, self.clock.now())

    async def add_list(
        self, actor: Actor, task_id: int, content: bytes, *, header: bool
    ) -> tuple[int, dict[str, int]]:
        """An organizer adds people to call to a task in their scope, all or nothing: how
        many were added, and the list's summary after it. ImportRejected names the lines
        to fix (a closed task's too); Gone if it is no longer a call task theirs to manage."""
        actor.require(ORGANIZER)
        task = await self._tasks.get(task_id)
        scope = actor.team_scope()
        if (
            task is None
            or task.kind != TaskKind.CALL
            or (scope is not None and task.team_id not in scope)
        ):
            raise Gone(task_id)
        added = await self.import_list(task_id, content, header=header)
        await self._audit.record(actor.volunteer_id, "calls.import", f"task:{task_id}")
        return added, await self._calls.summary(task_id)

    async def calling(self, volunteer_id: int, assignment_id: int) -> Claimed | None:
        """The caller's accepted call assignment with its task, if theirs and still open."""
        held = await self._tasks.held(assignment_id)
        if (
            held is None
            or held.assignment.volunteer_id != volunteer_id
            or held.assignment.state != AssignmentState.ACCEPTED
        ):
            return None
        if held.task.kind != TaskKind.CALL or held.task.status != TaskStatus.OPEN:
            return None
        return held

    async def holding(self, volunteer_id: int, contact_id: int) -> tuple[Claimed, Contact] | None:
        """A contact this caller holds, with their call assignment; None if stale."""
        contact = await self._calls.get(contact_id)
        if contact is None or contact.held_by != volunteer_id or contact.state != "held":
            return None
        held = next(
            (h for h in await self._tasks.in_hand(volunteer_id) if h.task.id == contact.task_id),
            None,
        )
        return None if held is None else (held, contact)

    async def current_or_next(self, volunteer_id: int, task_id: int) -> Contact | None:
        """The contact this caller holds, or the next one held for them now."""
        now = self.clock.now()
        held = await self._calls.held_by(task_id, volunteer_id, now)
        if held is not None:
            return held
        return await self._calls.hold_next(task_id, volunteer_id, now, HOLD)

    async def record(
        self, volunteer_id: int, contact_id: int, result: str, callback_at: datetime | None = None
    ) -> Contact | None:
        """Record a call by the holder; None if the hold lapsed or was never theirs."""
        if result not in RESULTS:
            return None
        now = self.clock.now()
        if result == "no_answer":
            contact = await self._calls.get(contact_id)
            if contact is not None and contact.attempts + 1 < MAX_ATTEMPTS:
                callback_at = now + NO_ANSWER_RETRY
        if result == "callback" and (callback_at is None or callback_at <= now):
            return None
        return await self._calls.record(contact_id, volunteer_id, result, now, callback_at)

    async def stop(self, volunteer_id: int) -> int:
        """The caller takes a break: held contacts go back to the list."""
        return await self._calls.release(volunteer_id, self.clock.now())

    async def stop_calling(self, volunteer_id: int, assignment_id: int) -> bool:
        """Stop for now on a call task of theirs: what they hold goes back to the list at
        once; False if the button was stale."""
        if await self.calling(volunteer_id, assignment_id) is None:
            return False
        await self.stop(volunteer_id)
        return True

    async def next_call(self, volunteer_id: int, assignment_id: int) -> CallTurn | None:
        """Start calling (or go on): who to call now on the caller's list; None if the
        button was stale."""
        held = await self.calling(volunteer_id, assignment_id)
        if held is None:
            return None
        contact = await self.current_or_next(volunteer_id, held.task.id)
        return CallTurn(held.task, held.assignment.id, contact)

    async def record_call(
        self, volunteer_id: int, contact_id: int, result: str, callback_at: datetime | None = None
    ) -> Called | None:
        """A result tapped by the caller holding that contact: recorded, and who to call
        next; None if the hold lapsed or was never theirs (nothing recorded)."""
        holding = await self.holding(volunteer_id, contact_id)
        if holding is None:
            return None
        held, _contact = holding
        recorded = await self.record(volunteer_id, contact_id, result, callback_at)
        if recorded is None:
            return None
        contact = await self.current_or_next(volunteer_id, held.task.id)
        return Called(recorded, CallTurn(held.task, held.assignment.id, contact))

    async def summary(self, task_id: int) -> dict[str, int]:
        """Contacts per state and results per kind on a list, for organizers."""
        return await self._calls.summary(task_id)

    async def summaries(self, task_ids: list[int]) -> dict[int, dict[str, int]]:
        """`summary` of several lists in one read."""
        return await self._calls.summaries(task_ids)
