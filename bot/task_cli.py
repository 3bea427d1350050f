"""`python -m bot tasks import FILE` and `python -m bot calls import TASK_ID FILE`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.clock import Clock
from bot.config import Settings
from bot.core import open_core
from bot.domain.errors import ImportProblem, ImportRejected
from bot.i18n import N_, _, ngettext, use_language
from bot.services import Services
from bot.services.task_import import FileProblem, TaskFileRejected, import_tasks
from bot.vocabulary import task_kind_word

# A bad line of a call list file, in the chat's words (the same catalog entries).
CALL_PROBLEMS = {
    "name": N_("line {line}: the name is missing"),
    "phone": N_("line {line}: “{value}” is not a valid phone number"),
    "duplicate": N_("line {line}: {value} is already on an earlier line"),
    "empty": N_("no lines found"),
    "header": N_("line 1 must name the columns: name, phone (notes optional)"),
    "size": N_("the file is too large (1 MB or 20,000 people at most)"),
    "encoding": N_("the file is not UTF-8 text: save it as “CSV UTF-8”"),
    "task": N_("no open call task has this number"),
    "csv": N_("line {line}: a cell is over 128 KB, or the line is not valid CSV"),
}


# A task file's problems (bot.services.task_import.FileProblem kinds), in words.
FILE_PROBLEMS = {
    "size": N_("file larger than 1 MB"),
    "encoding": N_("not UTF-8 text"),
    "csv": N_("a cell is over 128 KB, or the line is not valid CSV"),
    "yaml": N_("not valid YAML"),
    "yaml_list": N_("expected a list of tasks under 'tasks:'"),
    "file_type": N_("expected a .csv, .yaml or .yml file"),
    "empty": N_("no tasks in the file"),
    "column": N_("unknown column '{name}'"),
    "kind": N_("kind must be one of {kinds}"),
    "whole_number": N_("{column} must be a whole number"),
    "number": N_("{column} must be a number"),
    "moment": N_("{column} must be a date and time, e.g. 2026-12-05 18:30 or 05/12 18h30"),
    "impossible_date": N_(
        "{column}: “{value}” is not a date, write the day first, then the month, like 25/12"
    ),
    "far_moment": N_("{column} is more than two years ahead (“{value}”): check the date"),
    "past_moment": N_("{column} “{value}” has already passed: a task must close later than now"),
    "team": N_("no team named '{name}'"),
    "skills": N_("skills must be among {skills}"),
    "availability": N_("availability must be among {slots}"),
    "duplicate": N_("same kind, team and title as line {line}"),
    # The task rules' codes (TaskError), as a file's line breaks them.
    "task.title": N_("title is missing or longer than 200 characters"),
    "task.instructions": N_("instructions longer than 3000 characters"),
    "task.quota": N_("quota must be at least 1"),
    "task.numbers": N_("per_volunteer_cap must be at least 1 and points not negative"),
    "task.link": N_("link must start with https://"),
    "task.share_link": N_("a share task needs a link (https://…)"),
    "task.radius": N_("radius_km needs latitude and longitude"),
    "task.closes": N_("closes_at must come after opens_at"),
    "task.closes_before_start": N_("closes_at must come after starts_at"),
}


def describe_file_problem(problem: FileProblem) -> str:
    """A task file's problem with its line ('line 3: …'), in the current language."""
    if problem.kind == "other":
        message = str(problem.data.get("text", ""))
    elif problem.kind in FILE_PROBLEMS:
        values = {
            key: ", ".join(value) if isinstance(value, tuple) else value
            for key, value in problem.data.items()
        }
        message = _(FILE_PROBLEMS[problem.kind]).format(**values)
    else:
        message = problem.kind.removeprefix("task.")
    if not problem.line:
        return message
    return _("line {line}: {problem}").format(line=problem.line, problem=message)


def describe_call_problem(problem: ImportProblem) -> str:
    """A bad line of a call list, as the chat says it, in the campaign's language."""
    return _(CALL_PROBLEMS.get(problem.problem, problem.problem)).format(
        line=problem.line, value=problem.value
    )


async def run_import(settings: Settings, clock: Clock, args: argparse.Namespace) -> int:
    """Import tasks or a call list; print what was added or every line to fix, in the
    campaign's language."""
    with use_language(settings.language):
        try:
            content = args.file.read_bytes()
        except OSError as exc:
            print(
                _("Cannot read {file}: {reason}").format(file=args.file, reason=exc.strerror),
                file=sys.stderr,
            )
            return 1
        async with open_core(settings, clock) as services:
            if args.command == "tasks":
                return await _import_tasks(services, args.file, content)
            return await _import_calls(services, args.task_id, args.file, content)


async def _import_tasks(services: Services, file: Path, content: bytes) -> int:
    try:
        results = await import_tasks(services.tasks, file.name, content)
    except TaskFileRejected as exc:
        print(_("Nothing imported from {file}:").format(file=file), file=sys.stderr)
        for problem in exc.problems:
            print(f"  {describe_file_problem(problem)}", file=sys.stderr)
        return 1
    outcomes = {
        "added": _("added"),
        "updated": _("updated"),
        "unchanged": _("unchanged, already imported"),
    }
    for task, outcome in results:
        print(
            _("task #{id} ({kind}) {title}: {outcome}").format(
                id=task.id,
                kind=task_kind_word(task.kind),
                title=task.title,
                outcome=outcomes[outcome],
            )
        )
    counts = {o: sum(1 for _task, r in results if r == o) for o in outcomes}
    summary = (
        ngettext("{n} task added", "{n} tasks added", counts["added"]),
        ngettext("{n} updated", "{n} updated", counts["updated"]),
        ngettext("{n} unchanged", "{n} unchanged", counts["unchanged"]),
    )
    print(", ".join(part.format(n=counts[o]) for part, o in zip(summary, outcomes, strict=True)))
    return 0


async def _import_calls(services: Services, task_id: int, file: Path, content: bytes) -> int:
    try:
        added = await services.calls.import_list(task_id, content)
    except ImportRejected as exc:
        print(_("Nothing imported from {file}:").format(file=file), file=sys.stderr)
        for call_problem in exc.problems:
            print(f"  {describe_call_problem(call_problem)}", file=sys.stderr)
        return 1
    print(
        ngettext(
            "{n} person to call added to task #{id}",
            "{n} people to call added to task #{id}",
            added,
        ).format(n=added, id=task_id)
    )
    return 0
