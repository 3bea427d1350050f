"""Reports at scale: /report for the whole campaign plus one chart, and a streamed CSV export.

Synthetic campaign: 100,000 volunteers in 50 teams, 10,000 tasks, 1,000,000 assignments
(all done, each with an outcome), 200,000 offers, 200,000 calls, 100,000 broadcast messages,
over 90 days. Built with the same bulk-insert helpers as the tests (tools/seed.py).

    python -m bench.report            # prints one JSON line
    BENCH_REPORT_SCALE=0.1 python -m bench.report   # a tenth of the size, for a quick look
    python -m bench.report --postgresql [postgresql://postgres@127.0.0.1:5432]

With --postgresql, the campaign built in SQLite is loaded with COPY into a database kept on
that server as a template (built once per scale, generator and migrations: later runs take
seconds to start), and the reports read a fresh copy of it.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cluster import SERVER  # noqa: E402
from bot import charts  # noqa: E402
from bot.clock import to_iso  # noqa: E402
from bot.config import Identity, Settings  # noqa: E402
from bot.services.people import Actor  # noqa: E402
from bot.services.reports import ReportService  # noqa: E402
from bot.storage import bulk  # noqa: E402
from bot.storage.audit import AuditLog  # noqa: E402
from bot.storage.connect import database_for  # noqa: E402
from bot.storage.db import Database, available_migrations  # noqa: E402
from bot.storage.postgres import PostgresDatabase  # noqa: E402
from bot.storage.reports import TASK_KINDS  # noqa: E402
from bot.storage.volunteers import Role  # noqa: E402

NOW = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
DAYS = 90
TEAMS = 50
CHUNK = 50_000  # rows a COPY sends at once


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


# The campaign on PostgreSQL is built once and kept on the server as a template database,
# named after what decides its rows (the scale, this file's generator): each run measures a
# fresh copy of it (seconds), and a change to either builds anew. Migrations newer than the
# kept campaign are applied to the copy, as they would be to a campaign's database; one it
# holds that this Relais does not have (or has other SQL under its number) builds anew.
TEMPLATE_PREFIX = "relais_bench_report_"


def _template_name(scale: float) -> str:
    """The kept campaign's database for this scale and this generator."""
    digest = hashlib.sha256(f"{scale}".encode())
    for function in (build, _load):
        digest.update(inspect.getsource(function).encode())
    return f"{_template_scale(scale)}{digest.hexdigest()[:12]}"


def _template_scale(scale: float) -> str:
    """The names of the kept campaigns at this scale (one at a time)."""
    return f"{TEMPLATE_PREFIX}{str(scale).replace('.', '_')}_"


async def _load_into(path: Path, url: str) -> None:
    """Every table of the built file into the migrated database at `url`, with COPY in one
    transaction (roll-up triggers off: the file's roll-up comes with it), then ANALYZE.
    copy-database also reads every row back to check it: minutes at this size, and the
    tests check the copy."""
    source, target = Database(path), PostgresDatabase(url)
    await source.open()
    await target.open()
    try:
        await target.migrate()
        tables = [t for t in await source.tables() if t.name != "schema_version"]
        async with target.bulk_load([t.name for t in tables]) as load:
            for table in tables:
                names = ", ".join(f'"{column}"' for column in table.columns)
                batch: list[tuple[object, ...]] = []
                async for row in source.stream(f'SELECT {names} FROM "{table.name}"', chunk=CHUNK):
                    batch.append(tuple(row))
                    if len(batch) >= CHUNK:
                        await load.insert(table.name, table.columns, batch)
                        batch = []
                if batch:
                    await load.insert(table.name, table.columns, batch)
        await target.pool.execute("VACUUM ANALYZE")
    finally:
        await source.close()
        await target.close()


def _migrations() -> dict[str, str]:
    """Each PostgreSQL migration of this Relais: its number, a digest of its SQL."""
    return {
        str(number): hashlib.sha256(sql.encode()).hexdigest()[:16]
        for number, sql in available_migrations("postgresql")
    }


async def _template(server: str, scale: float, path: Path) -> tuple[str, float | None]:
    """The kept campaign's database on `server` (built now if missing, or if it holds a
    migration this Relais does not have: then the seconds it took), older builds dropped.
    Its comment says which migrations it holds."""
    name = _template_name(scale)
    admin = await asyncpg.connect(f"{server}/postgres")
    try:
        held = await admin.fetchval(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
            name,
        )
        known = _migrations()
        if held and all(known.get(n) == digest for n, digest in json.loads(held).items()):
            return name, None
        for (old,) in await admin.fetch(
            "SELECT datname FROM pg_database WHERE starts_with(datname, $1)", _template_scale(scale)
        ):
            await admin.execute(f'DROP DATABASE IF EXISTS "{old}" WITH (FORCE)')
        started = time.perf_counter()
        await _migrated(path)
        await asyncio.to_thread(build, path, scale)
        building = f"{name}_building"  # a killed build leaves no template to be trusted
        await admin.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
        await admin.execute(f"CREATE DATABASE \"{building}\" TEMPLATE template0 LOCALE 'C.UTF-8'")
        try:
            await _load_into(path, f"{server}/{building}")
            await admin.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
            comment = json.dumps(known).replace("'", "''")
            await admin.execute(f"COMMENT ON DATABASE \"{name}\" IS '{comment}'")
        except BaseException:
            await admin.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
            raise
        return name, time.perf_counter() - started
    finally:
        await admin.close()


async def _on_postgresql(path: Path, server: str, scale: float) -> tuple[dict[str, object], str]:
    """Measure on a fresh copy of the kept campaign (the report writes its audit line),
    migrated first to this Relais' newest migration (the kept one stays as it was built)."""
    template, built_s = await _template(server, scale, path)
    copy = f"relais_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(f"{server}/postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{template}" STRATEGY FILE_COPY')
        url = f"{server}/{copy}"
        target = PostgresDatabase(url)
        await target.open()
        try:
            migrated = await target.migrate()
            if migrated:
                await target.pool.execute("ANALYZE")
        finally:
            await target.close()
        figures = await measure(path, url)
        figures.update(await asyncio.to_thread(_export_in_fresh_process, path, url))
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')
        await admin.close()
    if built_s is None:
        how = f"the campaign kept on the server ({template}) reused"
    else:
        how = f"built in SQLite and loaded with COPY in {built_s:.0f} s, kept as {template}"
    if migrated:
        how += f", migrations {', '.join(f'{n:04d}' for n in migrated)} applied to its copy"
    return figures, how


async def _migrated(path: Path) -> None:
    db = Database(path)
    await db.open()
    await db.migrate()
    await db.close()


def run(server: str = "") -> dict[str, object]:
    """Build the synthetic campaign in a temporary folder and measure; one dict of figures."""
    scale = float(os.environ.get("BENCH_REPORT_SCALE", "1"))
    counts = {
        "volunteers": int(100_000 * scale),
        "tasks": int(10_000 * scale),
        "assignments": int(1_000_000 * scale),
    }
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "report.sqlite3"
        if server:
            figures, how = asyncio.run(_on_postgresql(path, server, scale))
        else:
            asyncio.run(_migrated(path))
            build_started = time.perf_counter()
            build(path, scale)
            how = f"built in {time.perf_counter() - build_started:.0f} s"
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
        f"{counts['assignments']} assignments with outcomes; {how}"
        + (" (PostgreSQL on this machine)" if server else "")
        + f". Load average when it started: {load:.1f} on {os.cpu_count()} cores.",
    }


if __name__ == "__main__":
    if sys.argv[1:2] == ["--export"]:
        print(json.dumps(asyncio.run(measure_export(Path(sys.argv[2]), *sys.argv[3:4]))))
    elif sys.argv[1:2] == ["--postgresql"]:
        print(json.dumps(run(sys.argv[2] if len(sys.argv) > 2 else SERVER)))
    else:
        print(json.dumps(run()))
