"""`python -m bot report`: the same figures as /report, for scripts and dashboards."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from bot.clock import Clock, to_iso
from bot.config import Identity, Settings
from bot.core import open_core
from bot.domain.errors import Invalid
from bot.domain.reports import EXPORTS, PERIODS
from bot.i18n import _, ngettext, use_language
from bot.report_text import render
from bot.services.people import Actor
from bot.services.reports import Report, UnknownChoice
from bot.spreadsheet import SafeWriter
from bot.text import to_plain


def add_parser(commands: Any) -> None:
    """The `report` and `export` subcommands' options."""
    export = commands.add_parser("export", help="write a CSV export of the whole campaign")
    export.add_argument("what", choices=EXPORTS)
    export.add_argument("path", type=Path, help="the CSV file to write")
    report = commands.add_parser("report", help="print the campaign's figures")
    report.add_argument("--period", choices=PERIODS, default="week")
    report.add_argument("--team", help="one team, by name")
    report.add_argument("--area", help="one area (département), e.g. 91")
    report.add_argument("--format", choices=("text", "json", "csv"), default="text")
    report.add_argument("--language", choices=("fr", "en"), help="for --format text")


async def run(
    settings: Settings, clock: Clock, args: argparse.Namespace, out: TextIO = sys.stdout
) -> int:
    """Print the report; 2 for an unknown team or area."""
    try:
        async with open_core(settings, clock) as services:
            report = await services.reports.campaign_report(
                args.period, team_name=args.team or "", department=args.area or ""
            )
    except Invalid as problem:
        if problem.kind == "report.team_unknown":
            print(_("Unknown team: {name}").format(name=args.team), file=sys.stderr)
        else:
            print(_("Unknown area: {code}").format(code=args.area), file=sys.stderr)
        return 2
    except UnknownChoice as exc:
        print(_("Unknown choice: {choice}").format(choice=exc), file=sys.stderr)
        return 2
    if args.format == "json":
        json.dump(as_dict(report), out, ensure_ascii=False, indent=2)
        out.write("\n")
    elif args.format == "csv":
        writer = SafeWriter(out)
        writer.writerow(["figure", "key", "value"])
        writer.writerows(flatten(as_dict(report)))
    else:
        with use_language(args.language or settings.language):
            out.write(to_plain(render(report, settings.timezone)) + "\n")
    return 0


def as_dict(report: Report) -> dict[str, Any]:
    """The report as plain data (stable keys, UTC times)."""
    figures = dataclasses.asdict(report.figures)
    return {
        "period": report.period,
        "since": to_iso(report.window.since) if report.window.since else None,
        "until": to_iso(report.window.until),
        "scope": {
            "teams": sorted(report.scope.teams) if report.scope.teams is not None else None,
            "area": report.scope.department,
            "name": report.scope_name,
        },
        "people": figures["people"],
        "funnel": {
            s["kind"]: {k: v for k, v in s.items() if k != "kind"} for s in figures["funnel"]
        },
        "work": figures["work"],
        "calls": {"made": report.figures.calls.made, **dict(report.figures.calls.results)},
        "deliveries": {
            "broadcasts": report.figures.deliveries.broadcasts,
            "messages": report.figures.deliveries.messages,
            **dict(report.figures.deliveries.statuses),
        },
        "teams": {b["key"]: {k: v for k, v in b.items() if k != "key"} for b in figures["teams"]},
        "areas": {b["key"]: {k: v for k, v in b.items() if k != "key"} for b in figures["areas"]},
        "extras": {s.key: dict(s.lines) for s in report.extras},
    }


def flatten(data: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """('people', 'total', 7), ('funnel.canvass', 'done', 3), … for CSV."""
    rows: list[tuple[str, str, Any]] = []
    for section in ("people", "work", "calls", "deliveries"):
        rows += [(section, key, value) for key, value in data[section].items()]
    for section in ("funnel", "teams", "areas", "extras"):
        for name, values in data[section].items():
            rows += [(f"{section}.{name}", key, value) for key, value in values.items()]
    return rows


async def export(settings: Settings, clock: Clock, what: str, path: Path) -> int:
    """Write an admin's export of the whole campaign to `path` (audited, actor unknown),
    readable by its owner only: it holds personal data."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        print(
            _("Cannot write {path}: {reason}").format(path=path, reason=exc.strerror),
            file=sys.stderr,
        )
        return 1
    os.fchmod(descriptor, 0o600)  # an older export there may have been readable by all
    with os.fdopen(descriptor, "wb") as sink:
        async with open_core(settings, clock) as services:
            admin = Actor(Identity("cli", "admin"), "", None, (), True)
            rows = await services.reports.export(admin, what, sink)
    print(
        ngettext("{n} row written to {path}", "{n} rows written to {path}", rows).format(
            n=rows, path=path
        )
    )
    return 0
