"""The task queue: creating tasks in scope, the next best task, claims, outcomes, points."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo

from bot.clock import Clock, from_iso, to_iso
from bot.config import Settings
from bot.payloads import TaskCard
from bot.quiet_hours import zone
from bot.services.people import ORGANIZER, Actor, NotAllowed
from bot.storage.audit import AuditLog
from bot.storage.tasks import (
    KINDS,
    Assignment,
    ClaimRefused,
    Outcome,
    Progress,
    Task,
    TaskDraft,
    TaskRepository,
    draft_content,
)
from bot.text import clean, is_number
from bot.when import read_moment

LATER = timedelta(hours=4)
MAX_TITLE = 200
MAX_INSTRUCTIONS = 3000
CONTROLLED = ("open", "paused", "closed")


class NotStarted(ValueError):
    """An outcome reported before the task's start time."""

    def __init__(self, starts_at: datetime) -> None:
        super().__init__(to_iso(starts_at))
        self.starts_at = starts_at


class TaskError(ValueError):
    """A task as described cannot be stored; `code` says why (for a translated answer)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True, slots=True)
class Standing:
    """What /me shows: points, this week's count, the streak of active days."""

    points: int
    this_week: int
    streak: int


def slots_of(local: datetime) -> frozenset[str]:
    """The availability slots a local moment falls in (see `in_slot`)."""
    weekend = local.weekday() >= 5
    found = set()
    if weekend:
        found.add("weekends")
    if not weekend and 9 <= local.hour < 18:
        found.add("daytime")
    if 18 <= local.hour < 22:
        found.add("evenings")
    return frozenset(found)


def in_slot(availability: frozenset[str], local: datetime) -> bool:
    """Whether a local moment falls in one of the volunteer's availability slots.

    daytime: weekdays 09:00–18:00; evenings: 18:00–22:00; weekends: Saturday and Sunday.
    Someone who never said is treated as available at any (non-quiet) hour.
    """
    if not availability:
        return True
    return bool(availability & slots_of(local))


def streak(days: Sequence[datetime], today: datetime) -> int:
    """Consecutive local days with something done, ending today or yesterday."""
    dates = {d.date() for d in days}
    day = today.date()
    if day not in dates:
        day -= timedelta(days=1)
    count = 0
    while day in dates:
        count += 1
        day -= timedelta(days=1)
    return count


class TaskService:
    """Rules of the task queue; checks the actor for every mutation."""

    def __init__(
        self, settings: Settings, clock: Clock, tasks: TaskRepository, audit: AuditLog
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.tasks = tasks
        self.audit = audit

    # -- organizers ------------------------------------------------------------------------

    def check_scope(self, actor: Actor, team_id: int | None, teams: Sequence[str]) -> None:
        """Organizers work only inside their teams; admins anywhere."""
        actor.require(ORGANIZER)
        scope = actor.team_scope()
        if scope is None:
            return
        if team_id is None or team_id not in scope:
            raise NotAllowed("team")
        if any(not is_number(t) or int(t) not in scope for t in teams):
            raise NotAllowed("team")

    def validate(self, draft: TaskDraft) -> TaskDraft:
        """A draft cleaned and checked; TaskError with a code if something is wrong."""
        if draft.kind not in KINDS:
            raise TaskError("kind")
        title = " ".join(draft.title.split())
        if not title or len(title) > MAX_TITLE:
            raise TaskError("title")
        if len(draft.instructions) > MAX_INSTRUCTIONS:
            raise TaskError("instructions")
        if draft.quota is not None and draft.quota < 1:
            raise TaskError("quota")
        if draft.per_volunteer_cap < 1 or draft.points < 0:
            raise TaskError("numbers")
        if draft.link and not draft.link.startswith(("https://", "http://")):
            raise TaskError("link")
        if draft.kind == "share" and not draft.link:
            raise TaskError("share_link")  # there is nothing to share without one
        if draft.radius_km is not None and (draft.latitude is None or draft.longitude is None):
            raise TaskError("radius")
        if draft.opens_at and draft.closes_at and draft.closes_at <= draft.opens_at:
            raise TaskError("closes")
        if draft.starts_at and draft.closes_at and draft.closes_at <= draft.starts_at:
            raise TaskError("closes_before_start")
        slots = None
        if draft.starts_at is not None:
            local = draft.starts_at.astimezone(self.settings.timezone)
            found = sorted(slots_of(local))
            slots = "," + "".join(f"{slot}," for slot in found) if found else None
        return replace(draft, title=title, starts_slots=slots)

    async def create(self, actor: Actor | None, draft: TaskDraft) -> Task:
        """Publish a task; actor None is the admin command line."""
        draft = self.validate(draft)
        if actor is not None:
            self.check_scope(actor, draft.team_id, draft.targets.get("team", ()))
            draft = replace(draft, created_by=actor.volunteer_id)
        task = await self.tasks.create(draft, self.clock.now())
        await self.audit_action(actor, "task.create", f"task:{task.id}")
        return task

    async def import_many(self, drafts: Sequence[TaskDraft]) -> list[tuple[Task, str]]:
        """Publish tasks from a file (admin scope): a task already there under the same key
        (kind, team, title; not closed) is updated if the file changed it, else left as it
        is. Each task comes back with 'added', 'updated' or 'unchanged'."""
        checked = [self.validate(d) for d in drafts]
        found: list[tuple[Task | None, TaskDraft]] = [
            (await self.tasks.imported(d.kind, d.team_id, d.title), d) for d in checked
        ]
        changed = [
            (task.id, draft)
            for task, draft in found
            if task is not None and await self.tasks.content(task.id) != draft_content(draft)
        ]
        new = [draft for task, draft in found if task is None]
        new_ids = iter(await self.tasks.import_all(new, changed, self.clock.now()))
        updated = {task_id for task_id, _draft in changed}
        results: list[tuple[Task, str]] = []
        for task, _draft in found:
            task_id = task.id if task is not None else next(new_ids)
            stored = await self.tasks.get(task_id)
            assert stored is not None
            outcome = "added" if task is None else "updated" if task_id in updated else "unchanged"
            results.append((stored, outcome))
        counts = {o: sum(1 for _t, r in results if r == o) for o in ("added", "updated")}
        await self.audit_action(
            None, "task.import", f"added:{counts['added']} updated:{counts['updated']}"
        )
        return results

    async def reach(self, draft: TaskDraft) -> int:
        """How many volunteers this targeting reaches right now."""
        return await self.tasks.reach(
            draft.targets,
            latitude=draft.latitude,
            longitude=draft.longitude,
            radius_km=draft.radius_km,
            now=self.clock.now(),
        )

    async def manageable(self, actor: Actor, task_id: int) -> Task | None:
        """The task if this organizer may manage it (their team's, or any for admins)."""
        actor.require(ORGANIZER)
        task = await self.tasks.get(task_id)
        if task is None:
            return None
        scope = actor.team_scope()
        if scope is not None and task.team_id not in scope:
            return None
        return task

    async def set_status(self, actor: Actor, task_id: int, status: str) -> Task | None:
        """Pause, resume or close a task in scope; None if not allowed or already closed."""
        if status not in CONTROLLED:
            raise ValueError(status)
        task = await self.manageable(actor, task_id)
        if task is None:
            return None
        now = self.clock.now()
        if status == "closed":
            if task.status == "closed":
                return None
            await self.tasks.expire(task_id, now)
        elif not await self.tasks.set_status(task_id, status, now):
            return None
        if status == "paused":
            await self.tasks.withdraw_offers(task_id)
        await self.audit_action(actor, f"task.{status}", f"task:{task_id}")
        return await self.tasks.get(task_id)

    async def edit(self, actor: Actor, task_id: int, **changes: object) -> Task | None:
        task = await self.manageable(actor, task_id)
        if task is None or not await self.tasks.edit(task_id, self.clock.now(), **changes):
            return None
        await self.audit_action(actor, "task.edit", f"task:{task_id}")
        return await self.tasks.get(task_id)

    async def overview(self, actor: Actor) -> list[Progress]:
        actor.require(ORGANIZER)
        return await self.tasks.progress(actor.team_scope())

    async def audit_action(self, actor: Actor | None, action: str, subject: str) -> None:
        await self.audit.record(actor.volunteer_id if actor else None, action, subject)

    # -- volunteers ------------------------------------------------------------------------

    async def next_task(self, volunteer_id: int) -> Task | None:
        fit = await self.tasks.fit(volunteer_id)
        if fit is None:
            return None
        return await self.tasks.next_for(fit, self.clock.now())

    async def accept(self, volunteer_id: int, task_id: int, source: str = "asked") -> Assignment:
        """Claim a slot; ClaimRefused('target') if the task is not for this volunteer."""
        fit = await self.tasks.fit(volunteer_id)
        now = self.clock.now()
        if fit is None or not await self.tasks.fits(fit, task_id, now):
            task = await self.tasks.get(task_id)
            if task is None:
                raise ClaimRefused("target")
            if task.status != "open":
                raise ClaimRefused("closed")
            if task.quota is not None and task.slots_taken >= task.quota:
                raise ClaimRefused("full")
            taken = [a for a, _ in await self.tasks.in_hand(volunteer_id) if a.task_id == task_id]
            raise ClaimRefused("taken" if taken else "target")
        assignment = await self.tasks.claim(task_id, volunteer_id, now, source)
        task = await self.tasks.get(task_id)
        if task is not None and task.kind == "event":
            # Accepting an event is the RSVP; reports count who said they are going.
            await self.tasks.set_rsvp(assignment.id, volunteer_id, "going")
        return assignment

    async def skip(self, volunteer_id: int, task_id: int, later: bool) -> bool:
        """Skip for good or put off for a few hours; False if there is no such task, the
        volunteer already took it (an old card) or it was never theirs to skip (a forged
        card for another team's task writes nothing)."""
        if await self.tasks.get(task_id) is None:
            return False
        if any(a.task_id == task_id for a, _ in await self.tasks.in_hand(volunteer_id)):
            return False
        now = self.clock.now()
        fit = await self.tasks.fit(volunteer_id)
        if fit is None:
            return False
        if not await self.tasks.fits(fit, task_id, now) and not await self.tasks.was_shown(
            task_id, volunteer_id
        ):
            return False
        if later:
            await self.tasks.put_aside(task_id, volunteer_id, "later", now, now + LATER)
        else:
            await self.tasks.put_aside(task_id, volunteer_id, "skipped", now, None)
        return True

    async def own_assignment(self, volunteer_id: int, assignment_id: int) -> Assignment | None:
        """The assignment if it is this volunteer's and still accepted."""
        assignment = await self.tasks.assignment(assignment_id)
        if assignment is None or assignment.volunteer_id != volunteer_id:
            return None
        return assignment if assignment.state == "accepted" else None

    async def complete(self, volunteer_id: int, assignment_id: int, outcome: Outcome) -> int | None:
        """Record the outcome; the points earned, or None if the card was stale.

        NotStarted if the task has a start time still to come: nothing is recorded."""
        assignment = await self.own_assignment(volunteer_id, assignment_id)
        task = await self.tasks.get(assignment.task_id) if assignment else None
        if task is not None:
            self.check_started(task)
        return await self.tasks.complete(assignment_id, volunteer_id, outcome, self.clock.now())

    def check_started(self, task: Task) -> None:
        """NotStarted if a timed task (canvass, event) has not begun yet."""
        if task.starts_at and self.clock.now() < from_iso(task.starts_at):
            raise NotStarted(from_iso(task.starts_at))

    async def give_up(self, volunteer_id: int, assignment_id: int) -> bool:
        return await self.tasks.give_up(assignment_id, volunteer_id, self.clock.now())

    async def standing(self, volunteer_id: int, timezone: str) -> Standing:
        """Points, this week's count and streak, in the volunteer's own days."""
        tz = zone(timezone, self.settings.timezone)
        local_now = self.clock.now().astimezone(tz)
        week_start = (local_now - timedelta(days=local_now.weekday())).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        times = await self.tasks.outcome_times(volunteer_id, local_now - timedelta(days=366))
        return Standing(
            points=await self.tasks.points(volunteer_id),
            this_week=await self.tasks.done_since(volunteer_id, week_start),
            streak=streak([from_iso(t).astimezone(tz) for t in times], local_now),
        )

    async def broadcast_button(self, actor: Actor, task_id: int) -> tuple[str, str] | None:
        """A button that lets broadcast recipients accept task N, if this author may offer it.

        The tap is an ordinary task card tap: targeting, quota and caps are checked then.
        """
        task = await self.tasks.get(task_id)
        if task is None or task.status != "open":
            return None
        scope = actor.team_scope()
        if scope is not None and task.team_id is not None and task.team_id not in scope:
            return None
        return f"✅ {task.title}"[:60], TaskCard("acc", task.id).pack()

    async def forget(self, volunteer_id: int) -> None:
        """Part of erasure (/forget): see TaskRepository.forget_volunteer."""
        await self.tasks.forget_volunteer(volunteer_id, self.clock.now())

    async def leaderboard(self) -> list[tuple[str, int]]:
        """This month's leaderboard of volunteers who opted in."""
        return await self.tasks.leaderboard(self.clock.now() - timedelta(days=30))


def local_day_start(moment: datetime, tz: tzinfo) -> datetime:
    """Midnight of the local day containing `moment`."""
    local = moment.astimezone(tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def parse_moment(text: str, tz: tzinfo, now: datetime) -> datetime | None:
    """What an organizer typed for a moment (see bot.when.read_moment), or None."""
    return read_moment(clean(text), now, tz)
