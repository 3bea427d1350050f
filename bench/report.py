"""Reports at scale: /report for the whole campaign plus one chart, and a streamed CSV export.

Synthetic campaign: 100,000 volunteers in 50 teams, 10,000 tasks, 1,000,000 assignments
(all done, each with an outcome), 200,000 offers, 200,000 calls, 100,000 broadcast messages,
over 90 days. Built with the same bulk-insert helpers as the tests (tools/seed.py).

    python -m bench.report            # prints one JSON line
    BENCH_REPORT_SCALE=0.1 python -m bench.report   # a tenth of the size, for a quick look
    python -m bench.report --postgresql [postgresql://postgres@127.0.0.1:5432]

With --postgresql, the campaign built in SQLite is moved into a new database on that server
(copy-database, dropped afterwards) and the reports read it there.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cluster import SERVER, database  # noqa: E402
from bot import charts  # noqa: E402
from bot.clock import to_iso  # noqa: E402
from bot.config import Identity, Settings  # noqa: E402
from bot.services.people import Actor  # noqa: E402
from bot.services.reports import ReportService  # noqa: E402
from bot.storage import bulk  # noqa: E402
from bot.storage.audit import AuditLog  # noqa: E402
from bot.storage.connect import database_for  # noqa: E402
from bot.storage.copy import copy_campaign  # noqa: E402
from bot.storage.db import Database  # noqa: E402
from bot.storage.postgres import PostgresDatabase  # noqa: E402
from bot.storage.reports import TASK_KINDS  # noqa: E402
from bot.storage.volunteers import Role  # noqa: E402

NOW = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
DAYS = 90
TEAMS = 50


class _Clock:
    def now(self) -> datetime:
        return NOW


def _moment(rng: random.Random) -> str:
    return to_iso(NOW - timedelta(seconds=rng.randrange(DAYS * 86400)))


def build(path: Path, scale: float) -> dict[str, int]:
    """Fill a migrated database with the synthetic campaign; return the row counts."""
    rng = random.Random(7)
    volunteers = int(100_000 * scale)
    tasks = int(10_000 * scale)
    assignments = int(1_000_000 * scale)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    with bulk.rollup_rebuilt_after(conn):
        _load(conn, rng, volunteers, tasks, assignments, scale)
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()
    return {"volunteers": volunteers, "tasks": tasks, "assignments": assignments}


def _load(
    conn: sqlite3.Connection,
    rng: random.Random,
    volunteers: int,
    tasks: int,
    assignments: int,
    scale: float,
) -> None:
    statuses = ["active"] * 85 + ["paused"] * 6 + ["stopped"] * 5 + ["erased"] * 3 + ["onboarding"]
    bulk.insert_sync(
        conn,
        "volunteers",
        (
            "id",
            "status",
            "first_name",
            "department",
            "postcode",
            "skills",
            "created_at",
            "last_active_at",
        ),
        (
            (
                i,
                status := rng.choice(statuses),
                None if status == "erased" else f"Bénévole {i}",
                None if status == "erased" else f"{rng.randrange(1, 96):02d}",
                None,
                "share,canvass",
                created := _moment(rng),
                created,
            )
            for i in range(1, volunteers + 1)
        ),
    )
    bulk.insert_sync(
        conn,
        "teams",
        ("id", "name", "created_at"),
        ((t, f"Équipe {t}", to_iso(NOW)) for t in range(1, TEAMS + 1)),
    )
    bulk.insert_sync(
        conn,
        "team_members",
        ("team_id", "volunteer_id", "joined_at"),
        ((1 + i % TEAMS, i, to_iso(NOW)) for i in range(1, volunteers + 1)),
    )
    bulk.insert_sync(
        conn,
        "tasks",
        (
            "id",
            "kind",
            "title",
            "team_id",
            "per_volunteer_cap",
            "opens_at",
            "created_at",
            "updated_at",
        ),
        (
            (
                t,
                rng.choice(TASK_KINDS),
                f"Tâche {t}",
                None if t % 5 == 0 else 1 + t % TEAMS,
                1 + (t % 7 == 0),
                to_iso(NOW - timedelta(days=DAYS)),
                to_iso(NOW),
                to_iso(NOW),
            )
            for t in range(1, tasks + 1)
        ),
    )
    kinds = {}

    def assignment_rows() -> Iterator[tuple[object, ...]]:
        for a in range(1, assignments + 1):
            task = rng.randrange(1, tasks + 1)
            finished = _moment(rng)
            kinds[a] = task
            yield (
                a,
                task,
                rng.randrange(1, volunteers + 1),
                "done",
                "asked",
                finished,
                finished,
                finished,
                finished,
            )

    bulk.insert_sync(
        conn,
        "assignments",
        (
            "id",
            "task_id",
            "volunteer_id",
            "state",
            "source",
            "created_at",
            "accepted_at",
            "finished_at",
            "updated_at",
        ),
        assignment_rows(),
    )
    bulk.insert_sync(
        conn,
        "outcomes",
        (
            "assignment_id",
            "task_id",
            "volunteer_id",
            "kind",
            "doors_knocked",
            "conversations",
            "points",
            "recorded_at",
        ),
        (
            (r[0], r[1], r[2], "canvass", rng.randrange(50), rng.randrange(10), 1, r[3])
            for r in conn.execute("SELECT id, task_id, volunteer_id, finished_at FROM assignments")
        ),
    )
    bulk.insert_sync(
        conn,
        "offers",
        ("task_id", "volunteer_id", "state", "offered_at"),
        (
            (t, v, "accepted", _moment(rng))
            for t, v in {
                (rng.randrange(1, tasks + 1), rng.randrange(1, volunteers + 1))
                for _ in range(int(200_000 * scale))
            }
        ),
    )
    contacts = int(200_000 * scale)
    bulk.insert_sync(
        conn,
        "call_contacts",
        ("id", "task_id", "name", "phone", "updated_at"),
        (
            (c, 1 + c % tasks, f"Contact {c}", f"+336{c:08d}", to_iso(NOW))
            for c in range(1, contacts + 1)
        ),
    )
    bulk.insert_sync(
        conn,
        "call_results",
        ("contact_id", "task_id", "volunteer_id", "result", "called_at"),
        (
            (
                c,
                1 + c % tasks,
                rng.randrange(1, volunteers + 1),
                rng.choice(("supporter", "undecided", "opposed", "no_answer")),
                _moment(rng),
            )
            for c in range(1, contacts + 1)
        ),
    )
    bulk.insert_sync(
        conn,
        "outbox",
        (
            "kind",
            "ref_id",
            "volunteer_id",
            "channel",
            "chat_id",
            "payload",
            "status",
            "not_before",
            "created_at",
        ),
        (
            (
                "broadcast",
                1 + m % 20,
                1 + m % volunteers,
                "telegram",
                str(m),
                "{}",
                "sent",
                at := _moment(rng),
                at,
            )
            for m in range(int(100_000 * scale))
        ),
    )


def _rss_kb(field: str) -> int | None:
    """VmRSS / VmHWM of this process in kB (Linux), or None elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    except OSError:
        pass


def _open(path: Path, url: str) -> Database:
    """The SQLite file, or the PostgreSQL database it was copied to."""
    return database_for(path, url)


async def measure(path: Path, url: str = "") -> dict[str, object]:
    settings = Settings.from_env(
        {"DATABASE_URL": url or f"sqlite:///{path}", "RELAIS_PSEUDONYM_KEY": "bench"}
    )
    db = _open(path, url)
    await db.open()
    try:
        service = ReportService(settings, _Clock(), db, AuditLog(db, _Clock()))
        admin = Actor(Identity("telegram", "1"), "1", None, (), True)
        organizer = Actor(Identity("telegram", "2"), "2", None, (Role("organizer", 1),), False)
        started = time.perf_counter()
        report = await service.report(admin, "campaign")
        figures_s = time.perf_counter() - started
        days = await service.activity_days(report.scope, report.window)
        png = await charts.activity_chart(days, "Activité par jour", "fr")
        total_s = time.perf_counter() - started
        assert report.figures.work.done > 0 and png.startswith(b"\x89PNG")
        timings = {}
        for name, actor, period in (
            ("week_admin", admin, "week"),
            ("campaign_organizer", organizer, "campaign"),
        ):
            lap = time.perf_counter()
            await service.report(actor, period)
            timings[f"report_{name}_s"] = round(time.perf_counter() - lap, 3)
        lap = time.perf_counter()
        funnel = await charts.funnel_chart(report.figures.funnel, "Entonnoir", "fr")
        funnel_s = time.perf_counter() - lap
        return {
            "report_campaign_plus_chart_s": round(total_s, 3),
            "report_campaign_figures_s": round(figures_s, 3),
            **timings,
            "funnel_chart_s": round(funnel_s, 3),
            "activity_png_bytes": len(png),
            "funnel_png_bytes": len(funnel),
        }
    finally:
        await db.close()


async def measure_export(path: Path, url: str = "") -> dict[str, object]:
    """Export every outcome to a file; run in a fresh process so its memory is its own."""
    settings = Settings.from_env(
        {"DATABASE_URL": url or f"sqlite:///{path}", "RELAIS_PSEUDONYM_KEY": "bench"}
    )
    db = _open(path, url)
    await db.open()
    try:
        service = ReportService(settings, _Clock(), db, AuditLog(db, _Clock()))
        admin = Actor(Identity("telegram", "1"), "1", None, (), True)
        rss_before = _rss_kb("VmRSS")
        _reset_peak()
        started = time.perf_counter()
        with tempfile.TemporaryFile() as sink:
            rows = await service.export(admin, "outcomes", sink)
            size = sink.tell()
        elapsed = time.perf_counter() - started
        peak = _rss_kb("VmHWM")
    finally:
        await db.close()
    growth = None if peak is None or rss_before is None else round((peak - rss_before) / 1024, 1)
    return {
        "export_outcomes_rows": rows,
        "export_outcomes_mb": round(size / 1e6, 1),
        "export_outcomes_s": round(elapsed, 2),
        "export_rss_before_mb": None if rss_before is None else round(rss_before / 1024, 1),
        "export_peak_rss_growth_mb": growth,
    }


def _export_in_fresh_process(path: Path, url: str = "") -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, __file__, "--export", str(path), url],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


async def _on_postgresql(path: Path, server: str) -> dict[str, object]:
    """Copy the built file into a new PostgreSQL database and measure there."""
    async with database("postgresql", path.parent, server) as url:
        source, target = Database(path), PostgresDatabase(url)
        await source.open()
        await target.open()
        try:
            await copy_campaign(source, target)
            await target.pool.execute("ANALYZE")
        finally:
            await source.close()
            await target.close()
        figures = await measure(path, url)
        figures.update(_export_in_fresh_process(path, url))
        return figures


def run(server: str = "") -> dict[str, object]:
    """Build the synthetic campaign in a temporary folder and measure; one dict of figures."""
    scale = float(os.environ.get("BENCH_REPORT_SCALE", "1"))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "report.sqlite3"

        async def migrate() -> None:
            db = Database(path)
            await db.open()
            await db.migrate()
            await db.close()

        asyncio.run(migrate())
        build_started = time.perf_counter()
        counts = build(path, scale)
        build_s = time.perf_counter() - build_started
        if server:
            figures = asyncio.run(_on_postgresql(path, server))
        else:
            figures = asyncio.run(measure(path))
            figures.update(_export_in_fresh_process(path))
    together = figures["report_campaign_plus_chart_s"]
    return {
        "title": "Reports on PostgreSQL" if server else "Reports",
        "command": "python -m bench.report" + (" --postgresql" if server else ""),
        "results": [
            {
                "metric": "whole-campaign /report + activity chart",
                "value": together,
                "unit": "s",
                "target": "< 2",
                "met": together < 2,
            },
            {
                "metric": "whole-campaign figures alone",
                "value": figures["report_campaign_figures_s"],
                "unit": "s",
            },
            {"metric": "this week, admin", "value": figures["report_week_admin_s"], "unit": "s"},
            {
                "metric": "whole campaign, one organizer's teams",
                "value": figures["report_campaign_organizer_s"],
                "unit": "s",
            },
            {"metric": "funnel chart", "value": figures["funnel_chart_s"], "unit": "s"},
            {
                "metric": f"CSV export of {figures['export_outcomes_rows']} outcomes",
                "value": figures["export_outcomes_s"],
                "unit": "s",
            },
            {
                "metric": "export: peak memory growth",
                "value": figures["export_peak_rss_growth_mb"],
                "unit": "MB",
                "target": "streams (does not hold the result)",
                "met": figures["export_peak_rss_growth_mb"] < 50,
            },
        ],
        "notes": f"{counts['volunteers']} volunteers, {counts['tasks']} tasks, "
        f"{counts['assignments']} assignments with outcomes, built in {build_s:.0f} s"
        + (" (in SQLite, then copied to PostgreSQL on this machine)." if server else "."),
    }


if __name__ == "__main__":
    if sys.argv[1:2] == ["--export"]:
        print(json.dumps(asyncio.run(measure_export(Path(sys.argv[2]), *sys.argv[3:4]))))
    elif sys.argv[1:2] == ["--postgresql"]:
        print(json.dumps(run(sys.argv[2] if len(sys.argv) > 2 else SERVER)))
    else:
        print(json.dumps(run()))
