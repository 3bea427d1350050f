"""Bulk tasks and call lists from files: the example files work, bad files change nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.services import Services
from bot.services.task_import import TaskFileRejected, import_tasks
from tests.fakes.clock import FakeClock
from tests.task_factories import team

EXAMPLES = Path(__file__).resolve().parent.parent / "tasks"


async def test_the_example_files_import(services: Services) -> None:
    csv_tasks = await import_tasks(
        services.tasks, "example.csv", (EXAMPLES / "example.csv").read_bytes()
    )
    assert [t.kind for t in csv_tasks] == ["share", "canvass", "event"]
    canvass = csv_tasks[1]
    assert canvass.doors == 120 and canvass.radius_km == 5 and canvass.place == "Café du Marché"
    assert await services.tasks.tasks.targets(canvass.id) == {
        "availability": ("weekends",),
        "department": ("75",),
        "skill": ("canvass",),
    }
    assert await services.tasks.tasks.instructions(csv_tasks[0], "en") == (
        "Share the video on your networks with the suggested message."
    )
    yaml_tasks = await import_tasks(
        services.tasks, "example.yaml", (EXAMPLES / "example.yaml").read_bytes()
    )
    assert [t.kind for t in yaml_tasks] == ["text", "call", "custom"]
    assert yaml_tasks[1].instructions.startswith("Bonjour, je m'appelle")
    assert await services.tasks.tasks.targets(yaml_tasks[1].id) == {
        "department": ("93",),
        "skill": ("call",),
    }


async def test_a_csv_with_errors_imports_nothing_and_names_every_line(services: Services) -> None:
    await team(services, "Paris Centre")
    content = (
        b"kind,title,quota,closes_at,teams,skills\n"
        b"share,Fine,10,2026-12-20 20:00,Paris Centre,share\n"
        b"flyer,Bad kind,,,,\n"
        b"share,,10,,,\n"
        b"share,Bad quota,many,,,\n"
        b"share,Bad date,,next week,,\n"
        b"share,Bad team,,,Lyon,\n"
        b"share,Bad skill,,,,juggling\n"
    )
    with pytest.raises(TaskFileRejected) as rejected:
        await import_tasks(services.tasks, "tasks.csv", content)
    assert [str(p) for p in rejected.value.problems] == [
        "line 3: kind must be one of share, canvass, call, text, event, custom",
        "line 4: title is missing or longer than 200 characters",
        "line 5: quota must be a whole number",
        "line 6: closes_at must look like 2026-12-05 18:30",
        "line 7: no team named 'Lyon'",
        "line 8: skills must be among share, canvass, call, text, events",
    ]
    assert await services.tasks.tasks.progress(None, include_closed=True) == []


async def test_a_yaml_with_errors_imports_nothing(services: Services) -> None:
    content = (
        b"tasks:\n  - kind: share\n    title: ok\n  - kind: share\n    title: x\n    colour: red\n"
    )
    with pytest.raises(TaskFileRejected) as rejected:
        await import_tasks(services.tasks, "t.yaml", content)
    assert [str(p) for p in rejected.value.problems] == ["line 4: unknown column 'colour'"]
    for bad, message in (
        (b"tasks: [unclosed\n", "not valid YAML"),
        (b"hello: world\n", "expected a list of tasks under 'tasks:'"),
        (b"tasks: []\n", "no tasks in the file"),
    ):
        with pytest.raises(TaskFileRejected) as rejected:
            await import_tasks(services.tasks, "t.yml", bad)
        assert message in str(rejected.value)
    with pytest.raises(TaskFileRejected):
        await import_tasks(services.tasks, "t.txt", b"kind,title\n")
    assert await services.tasks.tasks.progress(None, include_closed=True) == []


def test_the_command_line_imports_tasks_and_a_call_list(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'relais.sqlite3'}",
        "TELEGRAM_BOT_TOKEN": "",
    }

    # The example files' dates are fixed: the command line runs on the tests' clock.
    now = FakeClock().now().isoformat()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", "--now", now, *args],
            env=env,
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=60,
        )

    done = run("tasks", "import", str(EXAMPLES / "example.yaml"))
    assert done.returncode == 0, done.stderr
    # A moment the command line cannot read stops it with one line, before anything is done.
    unreadable = subprocess.run(
        [sys.executable, "-m", "bot", "--now", "soon", "tasks", "import", "nothing.csv"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert unreadable.returncode == 2
    assert unreadable.stderr.strip().splitlines() == [
        "--now: expected an ISO time like 2026-12-01T18:30: 'soon'"
    ]
    assert "3 task(s) imported" in done.stdout
    assert "task #2 [call]" in done.stdout
    done = run("calls", "import", "2", str(EXAMPLES / "example-call-list.csv"))
    assert done.returncode == 0, done.stderr
    assert "3 contact(s) added to task #2" in done.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("name,phone\nAna,0612345678\nBob,12\n", encoding="utf-8")
    failed = run("calls", "import", "2", str(bad))
    assert failed.returncode == 1
    assert "line 3: not a valid phone number (12)" in failed.stderr
    failed = run("calls", "import", "1", str(EXAMPLES / "example-call-list.csv"))
    assert "no call task with this number" in failed.stderr
