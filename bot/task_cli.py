"""`python -m bot tasks import FILE` and `python -m bot calls import TASK_ID FILE`."""

from __future__ import annotations

import argparse
import sys

from bot.clock import Clock
from bot.config import Settings
from bot.core import open_core
from bot.services.calls import ImportProblem, ImportRejected
from bot.services.task_import import TaskFileRejected, import_tasks

CALL_PROBLEMS = {
    "header": "the first line must name the columns: name, phone (and optionally notes)",
    "name": "the name is empty",
    "phone": "not a valid phone number",
    "duplicate": "this number is already on the list above",
    "encoding": "the file is not UTF-8 text",
    "size": "the file is too large (1 MB or 20,000 contacts at most)",
    "empty": "the file has no contacts",
    "task": "no call task with this number",
}


def describe_call_problem(problem: ImportProblem) -> str:
    where = f"line {problem.line}: " if problem.line else ""
    value = f" ({problem.value})" if problem.value else ""
    return f"{where}{CALL_PROBLEMS.get(problem.problem, problem.problem)}{value}"


async def run_import(settings: Settings, clock: Clock, args: argparse.Namespace) -> int:
    """Import tasks or a call list; print what was added or every line to fix."""
    try:
        content = args.file.read_bytes()
    except OSError as exc:
        print(f"Cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 1
    async with open_core(settings, clock) as services:
        if args.command == "tasks":
            try:
                tasks = await import_tasks(services.tasks, args.file.name, content)
            except TaskFileRejected as exc:
                print(f"Nothing imported from {args.file}:", file=sys.stderr)
                for problem in exc.problems:
                    print(f"  {problem}", file=sys.stderr)
                return 1
            for task in tasks:
                print(f"task #{task.id} [{task.kind}] {task.title}")
            print(f"{len(tasks)} task(s) imported")
            return 0
        try:
            added = await services.calls.import_list(args.task_id, content)
        except ImportRejected as exc:
            print(f"Nothing imported from {args.file}:", file=sys.stderr)
            for call_problem in exc.problems:
                print(f"  {describe_call_problem(call_problem)}", file=sys.stderr)
            return 1
        print(f"{added} contact(s) added to task #{args.task_id}")
        return 0
