"""Bulk tasks from a CSV or YAML file (`python -m bot tasks import FILE`): all or nothing.

Every problem is reported with its line, so an organizer can fix the file and run again.
See tasks/example.csv and tasks/example.yaml for the columns.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

import yaml

from bot.answers import parse_count
from bot.domain.errors import Invalid
from bot.domain.tasks import KINDS, TARGET_KINDS, Task, TaskDraft
from bot.services.people import Actor
from bot.services.tasks import TaskError, TaskService
from bot.when import impossible_date, read_moment, too_far

MAX_FILE_BYTES = 1_000_000
# File column → target kind; values separated by commas (or a YAML list).
TARGET_COLUMNS = {
    "teams": "team",
    "postcodes": "postcode",
    "departments": "department",
    "skills": "skill",
    "languages": "language",
    "availability": "availability",
}
INT_COLUMNS = ("points", "priority", "quota", "per_volunteer_cap", "doors")
FLOAT_COLUMNS = ("latitude", "longitude", "radius_km")
TIME_COLUMNS = ("opens_at", "closes_at", "starts_at")
TEXT_COLUMNS = ("title", "instructions", "link", "suggested_message", "place", "area")
KNOWN = (
    {"kind", "proof_wanted", "team", "status"}
    | set(TARGET_COLUMNS)
    | set(INT_COLUMNS)
    | set(FLOAT_COLUMNS)
    | set(TIME_COLUMNS)
    | set(TEXT_COLUMNS)
)
_TRANSLATION = re.compile(r"^instructions_([a-z]{2})$")


@dataclass(frozen=True, slots=True)
class FileProblem:
    """What is wrong with a task file, and on which line (0: the whole file).

    `kind` says what, in code; `data` holds what the words need (the column, the value).
    The kinds: size, encoding, csv, yaml, yaml_list, file_type, empty (the file);
    column, kind, whole_number, number, moment, team, skills, availability, duplicate,
    other (a field); task.CODE (a rule of bot.services.tasks, TaskError's code).
    The command line's presenter (bot/task_cli.py) words them.
    """

    line: int
    kind: str
    data: Mapping[str, Any] = field(default_factory=dict)


class TaskFileRejected(ValueError):
    """Nothing was imported; `problems` lists every line to fix."""

    def __init__(self, problems: list[FileProblem]) -> None:
        super().__init__(", ".join(f"line {p.line}: {p.kind}" for p in problems))
        self.problems = problems


def read_records(name: str, content: bytes) -> list[tuple[int, dict[str, Any]]]:
    """(line, record) pairs from a .csv, .yaml or .yml file."""
    if len(content) > MAX_FILE_BYTES:
        raise TaskFileRejected([FileProblem(0, "size")])
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TaskFileRejected([FileProblem(0, "encoding")]) from None
    if name.lower().endswith(".csv"):
        reader = csv.DictReader(io.StringIO(text))
        records = []
        try:
            for row in reader:
                if any((v or "").strip() for v in row.values() if isinstance(v, str)):
                    records.append((reader.line_num, {k: v for k, v in row.items() if k}))
        except csv.Error:
            # A cell over csv.field_size_limit() (128 KB) or a line the csv module cannot read.
            raise TaskFileRejected([FileProblem(reader.reader.line_num, "csv")]) from None
        return records
    if name.lower().endswith((".yaml", ".yml")):
        try:
            root = yaml.compose(text)
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else 0
            raise TaskFileRejected([FileProblem(line, "yaml")]) from None
        items = data.get("tasks") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise TaskFileRejected([FileProblem(1, "yaml_list")])
        nodes = root.value if root is not None and root.tag.endswith(":seq") else []
        if root is not None and root.tag.endswith(":map"):
            nodes = next((v.value for k, v in root.value if k.value == "tasks"), [])
        lines = [node.start_mark.line + 1 for node in nodes]
        return [
            (lines[i] if i < len(lines) else 0, item if isinstance(item, dict) else {})
            for i, item in enumerate(items)
        ]
    raise TaskFileRejected([FileProblem(0, "file_type")])


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _moment(value: str, tz: tzinfo, now: datetime) -> datetime:
    moment = read_moment(value, now, tz)
    if moment is None:
        raise ValueError(value)
    return moment


def to_draft(
    record: Mapping[str, Any], teams: Mapping[str, int], tz: tzinfo, now: datetime
) -> TaskDraft:
    """One record as a draft; Invalid (a FileProblem's kind and data) if a field is wrong."""
    unknown = [k for k in record if k not in KNOWN and not _TRANSLATION.match(k)]
    if unknown:
        raise Invalid("column", name=unknown[0])
    kind = _text(record.get("kind"))
    if kind not in KINDS:
        raise Invalid("kind", kinds=KINDS)
    values: dict[str, Any] = {"kind": kind, "title": ""}
    for column in TEXT_COLUMNS:
        if _text(record.get(column)):
            values[column] = _text(record[column])
    for column in INT_COLUMNS:
        if _text(record.get(column)):
            typed = _text(record[column])
            count = parse_count(typed.removeprefix("-"))  # "1 200" as in the chat; "1.2" is none
            if count is None:
                raise Invalid("whole_number", column=column)
            values[column] = -count if typed.startswith("-") else count
    for column in FLOAT_COLUMNS:
        if _text(record.get(column)):
            try:
                values[column] = float(_text(record[column]).replace(",", "."))
            except ValueError:
                raise Invalid("number", column=column) from None
    for column in TIME_COLUMNS:
        if _text(record.get(column)):
            typed = _text(record[column])
            try:
                values[column] = _moment(typed, tz, now)
            except ValueError:
                if impossible_date(typed):
                    raise Invalid("impossible_date", column=column, value=typed) from None
                raise Invalid("moment", column=column) from None
            if too_far(values[column], now):
                raise Invalid("far_moment", column=column, value=typed)
            if column == "closes_at" and values[column] <= now:
                raise Invalid("past_moment", column=column, value=typed)
    if _text(record.get("proof_wanted")).lower() in ("1", "yes", "true", "oui"):
        values["proof_wanted"] = True
    targets: dict[str, tuple[str, ...]] = {}
    for column, kind_of_target in TARGET_COLUMNS.items():
        raw = record.get(column)
        items = raw if isinstance(raw, list) else _text(raw).split(",")
        found = tuple(_text(i) for i in items if _text(i))
        if not found:
            continue
        if column == "teams":
            missing = [t for t in found if t.lower() not in teams]
            if missing:
                raise Invalid("team", name=missing[0])
            found = tuple(str(teams[t.lower()]) for t in found)
        if kind_of_target == "skill" and any(s not in SKILLS for s in found):
            raise Invalid("skills", skills=SKILLS)
        if kind_of_target == "availability" and any(s not in SLOTS for s in found):
            raise Invalid("availability", slots=SLOTS)
        targets[kind_of_target] = found
    owner = _text(record.get("team"))
    if owner:
        if owner.lower() not in teams:
            raise Invalid("team", name=owner)
        values["team_id"] = teams[owner.lower()]
    translations = {
        m[1]: _text(v) for k, v in record.items() if (m := _TRANSLATION.match(k)) and _text(v)
    }
    return TaskDraft(**values, targets=targets, translations=translations)


SKILLS = ("share", "canvass", "call", "text", "events")
SLOTS = ("evenings", "weekends", "daytime")
assert set(TARGET_COLUMNS.values()) == set(TARGET_KINDS)


async def import_tasks(service: TaskService, name: str, content: bytes) -> list[tuple[Task, str]]:
    """Check every record first; store them all only if none has a problem. A task the
    file already created (same kind, team and title, not closed) is updated or left as is:
    each task comes back with 'added', 'updated' or 'unchanged'."""
    records = read_records(name, content)
    teams = {n.lower(): i for i, n in await service.teams(Actor.system())}
    tz = service.settings.timezone
    drafts: list[TaskDraft] = []
    problems: list[FileProblem] = []
    keys: dict[tuple[str, int | None, str], int] = {}
    for line, record in records:
        try:
            draft = service.validate(to_draft(record, teams, tz, service.clock.now()))
        except TaskError as exc:
            problems.append(FileProblem(line, f"task.{exc.code}"))
            continue
        except Invalid as exc:
            problems.append(FileProblem(line, exc.kind, exc.data))
            continue
        except (ValueError, TypeError) as exc:
            problems.append(FileProblem(line, "other", {"text": str(exc)}))
            continue
        key = (draft.kind, draft.team_id, draft.title.casefold())
        if key in keys:
            problems.append(FileProblem(line, "duplicate", {"line": keys[key]}))
            continue
        keys[key] = line
        drafts.append(draft)
    if not records:
        problems.append(FileProblem(0, "empty"))
    if problems:
        raise TaskFileRejected(problems)
    return await service.import_many(drafts)
