"""Wakes jobs up on time. The database holds what is due; this only rings the bell."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[object]]


class Scheduler:
    """APScheduler with the defaults Relais needs: late runs still run, once."""

    def __init__(self, timezone: ZoneInfo) -> None:
        self.aps = AsyncIOScheduler(
            timezone=timezone,
            # A job woken late (a blocked loop, a restart) still runs, and only once.
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )

    def every(self, seconds: float, job: Job, name: str) -> None:
        """Run `job` every `seconds` (sweeps that catch anything due in the database)."""
        self.aps.add_job(
            self._guard(job, name),
            IntervalTrigger(seconds=seconds),
            id=name,
            name=name,
            replace_existing=True,
        )

    def daily(self, hour: int, minute: int, job: Job, name: str, day_of_week: str = "*") -> None:
        """Run `job` at a wall-clock time in the campaign's time zone."""
        self.aps.add_job(
            self._guard(job, name),
            CronTrigger(hour=hour, minute=minute, day_of_week=day_of_week),
            id=name,
            name=name,
            replace_existing=True,
        )

    def at(self, when: datetime, job: Job, name: str) -> None:
        """Wake `job` once at `when` (the sweep catches it anyway if this is lost)."""
        self.aps.add_job(
            self._guard(job, name),
            "date",
            run_date=when,
            id=name,
            name=name,
            replace_existing=True,
        )

    def start(self, *, paused: bool = False) -> None:
        """Start ringing; `paused`: hold every bell until `resume` (another process may be
        the one running the jobs)."""
        self.aps.start(paused=paused)

    async def resume(self) -> None:
        """This process now runs the jobs (the one that did stopped or was killed)."""
        self.aps.resume()

    async def pause(self) -> None:
        """Another process runs the jobs from now on (a job already running finishes)."""
        if self.aps.running:
            self.aps.pause()

    def stop(self) -> None:
        if self.aps.running:
            self.aps.shutdown(wait=False)

    @staticmethod
    def _guard(job: Job, name: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            try:
                await job()
            except asyncio.CancelledError:
                # Relais is stopping (the loop cancels what still runs): the job's work is in
                # the database, and its next run picks it up. Not an error to report.
                log.info("job %s stopped with Relais", name)
            except Exception:
                log.exception("job %s failed", name)

        return run
