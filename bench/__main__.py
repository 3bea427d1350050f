"""`python -m bench`: run every benchmark script in bench/ and rewrite BENCHMARKS.md.

A benchmark is a module `bench/NAME.py` that, run as `python -m bench.NAME`, prints one
JSON object on its last line of output (or that exposes `run() -> dict`). The object may
follow this shape, which gets a table of its own:

    {"title": "...", "command": "python -m bench.NAME ...",
     "results": [{"metric": "...", "value": 1.0, "unit": "msg/s", "target": ">= 1",
                  "met": true}],
     "notes": "..."}

Any other object is shown as a list of its keys and values. `python -m bench NAME ...` runs
only the scripts named and keeps the other sections of BENCHMARKS.md as they were; options
after the names go to those scripts (`python -m bench updates --only relais-lifted`).
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUTPUT = ROOT / "BENCHMARKS.md"


def scripts(selected: list[str]) -> list[str]:
    names = sorted(p.stem for p in HERE.glob("*.py") if not p.stem.startswith("_"))
    return [n for n in names if not selected or n in selected]


def run_script(name: str, options: list[str] | None = None) -> dict[str, Any]:
    """Run one benchmark in its own process; its last JSON line is its figures."""
    started = time.monotonic()
    process = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", *(options or [])],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    figures: dict[str, Any] | None = None
    for line in reversed(process.stdout.strip().splitlines()):
        try:
            parsed = json.loads(line)
        except ValueError:
            continue
        if isinstance(parsed, dict):
            figures = parsed
            break
    if figures is None and process.returncode == 0 and not options:
        module = importlib.import_module(f"bench.{name}")
        if hasattr(module, "run"):
            figures = dict(module.run())
    if figures is None:
        tail = (process.stderr or process.stdout).strip().splitlines()[-15:]
        figures = {"error": f"exit status {process.returncode}", "output": "\n".join(tail)}
    figures.setdefault("command", f"python -m bench.{name}")
    figures["seconds"] = round(time.monotonic() - started, 1)
    return figures


def _cell(value: Any) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "**no**"
    if value is None:
        return ""
    return str(value).replace("|", "\\|").replace("\n", " ")


def kept_sections(text: str, replaced: set[str]) -> list[tuple[str, str]]:
    """(title, markdown) of each section of an earlier BENCHMARKS.md not being replaced."""
    sections: list[tuple[str, str]] = []
    for chunk in text.split("\n## ")[1:]:
        title = chunk.split("\n", 1)[0].strip()
        if title not in replaced:
            sections.append((title, "## " + chunk.rstrip("\n") + "\n"))
    return sections


def render(results: dict[str, dict[str, Any]], kept: list[tuple[str, str]] | None = None) -> str:
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m bench`); do not edit by hand.",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {os.cpu_count()} cores, {platform.machine()}, {platform.system()}",
        f"- Python {platform.python_version()}",
        "- Other work may share the machine; figures vary by a few percent from run to run.",
    ]
    if kept:
        lines.append(
            "- Run on that date: "
            + ", ".join(str(f.get("title", n)) for n, f in results.items())
            + "; the other sections are from earlier runs."
        )
    lines.append("")
    for name, figures in results.items():
        lines += [f"## {figures.get('title', name)}", ""]
        lines += [f"Command: `{figures['command']}` ({figures['seconds']} s)", ""]
        rows = figures.get("results")
        if isinstance(rows, list):
            lines += ["| measure | value | target | met |", "|---|---|---|---|"]
            for row in rows:
                value = f"{_cell(row.get('value'))} {_cell(row.get('unit'))}".strip()
                lines.append(
                    f"| {_cell(row.get('metric'))} | {value} | {_cell(row.get('target'))} "
                    f"| {_cell(row.get('met'))} |"
                )
        else:
            lines += ["| key | value |", "|---|---|"]
            for key, value in figures.items():
                if key not in ("title", "command", "seconds", "notes", "output"):
                    lines.append(f"| {_cell(key)} | {_cell(value)} |")
            if "output" in figures:
                lines += ["", "```", str(figures["output"]), "```"]
        if figures.get("notes"):
            lines += ["", str(figures["notes"])]
        lines.append("")
    body = "\n".join(lines)
    return body + "".join("\n" + markdown for _title, markdown in kept) if kept else body


def main(argv: list[str]) -> int:
    # Names first, then the options passed on to the scripts named.
    first_option = next((n for n, arg in enumerate(argv) if arg.startswith("-")), len(argv))
    argv, options = argv[:first_option], argv[first_option:]
    results: dict[str, dict[str, Any]] = {}
    for name in scripts(argv):
        print(f"bench: running {name} …", flush=True)
        results[name] = run_script(name, options)
        print(json.dumps(results[name]), flush=True)
    kept: list[tuple[str, str]] = []
    if argv and OUTPUT.exists():
        titles = {str(figures.get("title", name)) for name, figures in results.items()}
        kept = kept_sections(OUTPUT.read_text(encoding="utf-8"), titles)
    OUTPUT.write_text(render(results, kept), encoding="utf-8")
    print(f"bench: wrote {OUTPUT.name}")
    failed = [n for n, f in results.items() if "error" in f]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
