"""Bulk tasks and call lists from files: the example files work, bad files change nothing."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.i18n import use_language
from bot.services import Services
from bot.services.task_import import TaskFileRejected, import_tasks
from bot.task_cli import describe_file_problem
from tests.fakes.clock import FakeClock
from tests.task_factories import team

EXAMPLES = Path(__file__).resolve().parent.parent / "tasks"


async def test_the_example_files_import(services: Services) -> None:
    csv_tasks = [
        task
        for task, _outcome in await import_tasks(
            services.tasks, "example.csv", (EXAMPLES / "example.csv").read_bytes()
        )
    ]
    assert [t.kind for t in csv_tasks] == ["share", "canvass", "event"]
    canvass = csv_tasks[1]
    assert canvass.doors == 120 and canvass.radius_km == 5 and canvass.place == "Café du Marché"
    assert await services.task_repo.targets(canvass.id) == {
        "availability": ("weekends",),
        "department": ("75",),
        "skill": ("canvass",),
    }
    assert await services.task_repo.instructions(csv_tasks[0], "en") == (
        "Share the video on your networks with the suggested message."
    )
    yaml_tasks = [
        task
        for task, _outcome in await import_tasks(
            services.tasks, "example.yaml", (EXAMPLES / "example.yaml").read_bytes()
        )
    ]
    assert [t.kind for t in yaml_tasks] == ["text", "call", "custom"]
    assert yaml_tasks[1].instructions.startswith("Bonjour, je m'appelle")
    assert await services.task_repo.targets(yaml_tasks[1].id) == {
        "department": ("93",),
        "skill": ("call",),
    }


async def test_a_csv_with_errors_imports_nothing_and_names_every_line(services: Services) -> None:
    await team(services, "Paris Centre")
    content = (
        b"kind,title,quota,closes_at,teams,skills\n"
        b"custom,Fine,10,2026-12-20 20:00,Paris Centre,share\n"
        b"flyer,Bad kind,,,,\n"
        b"custom,,10,,,\n"
        b"custom,Bad quota,many,,,\n"
        b"custom,Bad date,,sometime,,\n"
        b"custom,Bad team,,,Lyon,\n"
        b"custom,Bad skill,,,,juggling\n"
        b"share,Nothing to share,,,,\n"
    )
    with pytest.raises(TaskFileRejected) as rejected, use_language("en"):
        await import_tasks(services.tasks, "tasks.csv", content)
    with use_language("en"):
        problems = [describe_file_problem(p) for p in rejected.value.problems]
    assert problems == [
        "line 3: kind must be one of share, canvass, call, text, event, custom",
        "line 4: title is missing or longer than 200 characters",
        "line 5: quota must be a whole number",
        "line 6: closes_at must be a date and time, e.g. 2026-12-05 18:30 or 05/12 18h30",
        "line 7: no team named 'Lyon'",
        "line 8: skills must be among share, canvass, call, text, events",
        "line 9: a share task needs a link (https://…)",
    ]
    assert await services.task_repo.progress(None, include_closed=True) == []


async def test_a_yaml_with_errors_imports_nothing(services: Services) -> None:
    content = (
        b"tasks:\n  - kind: custom\n    title: ok\n"
        b"  - kind: custom\n    title: x\n    colour: red\n"
    )
    with pytest.raises(TaskFileRejected) as rejected, use_language("en"):
        await import_tasks(services.tasks, "t.yaml", content)
    with use_language("en"):
        assert [describe_file_problem(p) for p in rejected.value.problems] == [
            "line 4: unknown column 'colour'"
        ]
    for bad, message in (
        (b"tasks: [unclosed\n", "not valid YAML"),
        (b"hello: world\n", "expected a list of tasks under 'tasks:'"),
        (b"tasks: []\n", "no tasks in the file"),
    ):
        with pytest.raises(TaskFileRejected) as rejected, use_language("en"):
            await import_tasks(services.tasks, "t.yml", bad)
        with use_language("en"):  # worded by the command line's presenter, in English
            assert message in "\n".join(map(describe_file_problem, rejected.value.problems))
    with pytest.raises(TaskFileRejected):
        await import_tasks(services.tasks, "t.txt", b"kind,title\n")
    assert await services.task_repo.progress(None, include_closed=True) == []


def test_the_command_line_imports_tasks_and_a_call_list(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'relais.sqlite3'}",
        "TELEGRAM_BOT_TOKEN": "",
        "RELAIS_LANGUAGE": "en",
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

    assert run("migrate").returncode == 0
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
        "--now: expected a time like “tomorrow 8pm” or 2026-12-01T18:30, got “soon”."
    ]
    assert "3 tasks added, 0 updated, 0 unchanged" in done.stdout
    assert "task #2 (Phone bank)" in done.stdout
    done = run("calls", "import", "2", str(EXAMPLES / "example-call-list.csv"))
    assert done.returncode == 0, done.stderr
    assert "3 people to call added to task #2" in done.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("name,phone\nAna,0612345678\nBob,12\n", encoding="utf-8")
    failed = run("calls", "import", "2", str(bad))
    assert failed.returncode == 1
    assert "line 3: “12” is not a valid phone number" in failed.stderr
    failed = run("calls", "import", "1", str(EXAMPLES / "example-call-list.csv"))
    assert "no open call task has this number" in failed.stderr
    # A cell over 128 KB (the csv module's limit) is a line to fix, not a traceback.
    huge = tmp_path / "huge.csv"
    huge.write_text(f"name,phone,notes\nAna,0612345678,{'x' * 200_000}\n", encoding="utf-8")
    failed = run("calls", "import", "2", str(huge))
    assert failed.returncode == 1
    assert failed.stderr.splitlines()[-1:] == [
        "  line 2: a cell is over 128 KB, or the line is not valid CSV"
    ]
    huge.write_text(f"kind,title\nshare,{'x' * 200_000}\n", encoding="utf-8")
    failed = run("tasks", "import", str(huge))
    assert failed.returncode == 1
    assert failed.stderr.splitlines()[-1:] == [
        "  line 2: a cell is over 128 KB, or the line is not valid CSV"
    ]


def test_importing_the_same_file_again_updates_or_skips_and_says_so(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'relais.sqlite3'}",
        "TELEGRAM_BOT_TOKEN": "",
        "RELAIS_LANGUAGE": "fr",
    }
    tasks = tmp_path / "tasks.csv"

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", "tasks", "import", str(tasks)],
            env=env,
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=60,
        )

    tasks.write_text(
        "kind,title,quota,link\n"
        "share,Partagez la vidéo,10,https://example.org/v\n"
        "custom,Affiche à la fenêtre,5,\n",
        encoding="utf-8",
    )
    migrate = [sys.executable, "-m", "bot", "migrate"]
    subprocess.run(migrate, env=env, capture_output=True, cwd=tmp_path, timeout=60, check=True)
    done = run()
    assert done.returncode == 0, done.stderr
    assert "2 tâches ajoutées, 0 mise à jour, 0 inchangée" in done.stdout
    done = run()
    assert done.returncode == 0, done.stderr
    assert "0 tâche ajoutée, 0 mise à jour, 2 inchangées" in done.stdout
    assert "tâche n°1 (Partage) Partagez la vidéo : inchangée, déjà importée" in done.stdout
    tasks.write_text(
        "kind,title,quota,link\n"
        "share,Partagez la vidéo,50,https://example.org/v\n"
        "custom,Affiche à la fenêtre,5,\n"
        "custom,Affiche à la fenêtre,6,\n",
        encoding="utf-8",
    )
    refused = run()
    assert refused.returncode == 1
    assert "ligne 4 : même type, même équipe et même titre que la ligne 3" in refused.stderr
    tasks.write_text(
        "kind,title,quota,link\n"
        "share,Partagez la vidéo,50,https://example.org/v\n"
        "custom,Affiche à la fenêtre,5,\n",
        encoding="utf-8",
    )
    done = run()
    assert "0 tâche ajoutée, 1 mise à jour, 1 inchangée" in done.stdout
    assert "tâche n°1 (Partage) Partagez la vidéo : mise à jour" in done.stdout
    with sqlite3.connect(tmp_path / "relais.sqlite3") as db:
        assert db.execute("SELECT id, quota FROM tasks ORDER BY id").fetchall() == [
            (1, 50),
            (2, 5),
        ]


async def test_counts_in_a_file_read_as_in_the_chat(services: Services) -> None:
    content = "kind,title,quota,doors\ncanvass,Porte-à-porte,1 000,1.200\ncustom,Tracts,1.2,\n"
    with pytest.raises(TaskFileRejected) as rejected, use_language("en"):
        await import_tasks(services.tasks, "tasks.csv", content.encode())
    with use_language("en"):
        problems = [describe_file_problem(p) for p in rejected.value.problems]
    assert problems == ["line 3: quota must be a whole number"]
    content = "kind,title,quota,doors\ncanvass,Porte-à-porte,1 000,1.200\n"
    [(task, _state)] = await import_tasks(services.tasks, "tasks.csv", content.encode())
    assert (task.quota, task.doors) == (1000, 1200)


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("en", "line 3: closes_at “2026-11-20 20:00” has already passed: a task must close later"),
        ("fr", "ligne 3 : closes_at « 2026-11-20 20:00 » est déjà passé : une tâche doit se"),
    ],
)
async def test_a_closing_time_already_past_is_refused_with_its_line(
    services: Services, language: str, said: str
) -> None:
    """The clock says Saturday 28 November 2026: a task closing on the 20th is refused, and
    nothing of the file is imported (before, the line was accepted)."""
    content = (
        b"kind,title,closes_at\ncustom,Coming,2026-12-20 20:00\ncustom,Gone,2026-11-20 20:00\n"
    )
    with pytest.raises(TaskFileRejected) as rejected:
        await import_tasks(services.tasks, "tasks.csv", content)
    with use_language(language):
        problems = [describe_file_problem(p) for p in rejected.value.problems]
    assert len(problems) == 1 and problems[0].startswith(said), problems
    assert await services.task_repo.progress(None, include_closed=True) == []
