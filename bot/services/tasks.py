"""The task queue: creating tasks in scope, the next best task, claims, outcomes, points."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo
from typing import Protocol

from bot.clock import Clock
from bot.config import Settings
from bot.domain.errors import Gone, TaskError
from bot.domain.tasks import (
    KINDS,
    Assignment,
    AssignmentState,
    Claimed,
    ClaimRefused,
    Finished,
    Fit,
    NextTask,
    NotStarted,
    Outcome,
    Progress,
    Refusal,
    Task,
    TaskDraft,
    TaskKind,
    TaskStatus,
)
from bot.quiet_hours import zone
from bot.services.people import ORGANIZER, Actor, NotAllowed
from bot.storage.assignments import AssignmentRepository
from bot.storage.audit import AuditLog
from bot.storage.calls import CallRepository
from bot.storage.tasks import TaskRepository, draft_content
from bot.text import clean, is_number
from bot.when import read_moment

LATER = timedelta(hours=4)
MAX_TITLE = 200
MAX_INSTRUCTIONS = 3000
CONTROLLED = ("open", "paused", "closed")
# The /tasks buttons that change a task's status, and the status each leaves it in.
CONTROLS = {"pause": "paused", "resume": "open", "closeok": "closed"}


@dataclass(frozen=True, slots=True)
class Controlled:
    """A task as an organizer's button leaves it, with its call list's counts when the
    button asked for them."""

    task: Task
    calls: dict[str, int] | None = None


__all__ = ["NextTask", "NotStarted", "TaskError", "TaskService"]


@dataclass(frozen=True, slots=True)
class Standing:
    """What /me shows: points, this week's count, the streak of active days."""

    points: int
    this_week: int
    streak: int
    # This month's leaderboard, for a volunteer who chose to appear on it (else empty).
    leaderboard: tuple[tuple[str, int], ...] = ()


class Person(Protocol):
    """What targeting reads of a volunteer the caller has already loaded."""

    @property
    def id(self) -> int: ...
    @property
    def postcode(self) -> str: ...
    @property
    def department(self) -> str: ...
    @property
    def skills(self) -> frozenset[str]: ...
    @property
    def language(self) -> str: ...
    @property
    def availability(self) -> frozenset[str]: ...
    @property
    def latitude(self) -> float | None: ...
    @property
    def longitude(self) -> float | None: ...


def fit_of(person: Person) -> Fit:
    """The targeting facts of a volunteer already read (no second read of their row)."""
    return Fit(
        volunteer_id=person.id,
        postcode=person.postcode,
        department=person.department,
        skills=person.skills,
        language=person.language,
        availability=person.availability,
        latitude=person.latitude,
        longitude=person.longitude,
    )


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
        self,
        settings: Settings,
        clock: Clock,
        tasks: TaskRepository,
        assignments: AssignmentRepository,
        calls: CallRepository,
        audit: AuditLog,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._tasks = tasks
        self._assignments = assignments
        self._calls = calls
        self._audit = audit

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

    async def create(self, actor: Actor, draft: TaskDraft) -> Task:
        """Publish a task (Actor.system(): the admin command line, keeping the draft's author)."""
        draft = self.validate(draft)
        self.check_scope(actor, draft.team_id, draft.targets.get("team", ()))
        if not actor.is_system:
            draft = replace(draft, created_by=actor.volunteer_id)
        task = await self._tasks.create(draft, self.clock.now())
        await self.audit_action(actor, "task.create", f"task:{task.id}")
        return task

    async def import_many(self, drafts: Sequence[TaskDraft]) -> list[tuple[Task, str]]:
        """Publish tasks from a file (admin scope): a task already there under the same key
        (kind, team, title; not closed) is updated if the file changed it, else left as it
        is. Each task comes back with 'added', 'updated' or 'unchanged'."""
        checked = [self.validate(d) for d in drafts]
        found: list[tuple[Task | None, TaskDraft]] = [
            (await self._tasks.imported(d.kind, d.team_id, d.title), d) for d in checked
        ]
        changed = [
            (task.id, draft)
            for task, draft in found
            if task is not None and await self._tasks.content(task.id) != draft_content(draft)
        ]
        new = [draft for task, draft in found if task is None]
        new_ids = iter(await self._tasks.import_all(new, changed, self.clock.now()))
        updated = {task_id for task_id, _draft in changed}
        ids = [task.id if task is not None else next(new_ids) for task, _draft in found]
        stored = {task.id: task for task in await self._tasks.get_many(ids)}
        results: list[tuple[Task, str]] = []
        for (task, _draft), task_id in zip(found, ids, strict=True):
            outcome = "added" if task is None else "updated" if task_id in updated else "unchanged"
            results.append((stored[task_id], outcome))
        counts = {o: sum(1 for _t, r in results if r == o) for o in ("added", "updated")}
        await self.audit_action(
            Actor.system(), "task.import", f"added:{counts['added']} updated:{counts['updated']}"
        )
        return results

    async def reach(self, draft: TaskDraft) -> int:
        """How many volunteers this targeting reaches right now."""
        return await self._tasks.reach(
            draft.targets,
            latitude=draft.latitude,
            longitude=draft.longitude,
            radius_km=draft.radius_km,
            now=self.clock.now(),
        )

    async def manageable(self, actor: Actor, task_id: int) -> Task | None:
        """The task if this organizer may manage it (their team's, or any for admins)."""
        actor.require(ORGANIZER)
        task = await self._tasks.get(task_id)
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
        return await self._set_status(actor, task, status)

    async def _set_status(self, actor: Actor, task: Task, status: str) -> Task | None:
        now = self.clock.now()
        if status == TaskStatus.CLOSED:
            if task.status == TaskStatus.CLOSED:
                return None
            await self._tasks.expire(task.id, now)
        elif not await self._tasks.set_status(task.id, status, now):
            return None
        await self.audit_action(actor, f"task.{status}", f"task:{task.id}")
        return await self._tasks.get(task.id)

    async def control(self, actor: Actor, task_id: int, action: str) -> Controlled:
        """/tasks: an organizer's button on one of their tasks. "pause", "resume" and
        "closeok" change its status; "listdone" reads its call list; any other action only
        finds the task. Gone if it is closed, out of their scope or no longer there (or the
        status did not change)."""
        task = await self.manageable(actor, task_id)
        if task is None or task.status == TaskStatus.CLOSED:
            raise Gone(task_id)
        status = CONTROLS.get(action)
        if status is not None:
            updated = await self._set_status(actor, task, status)
            if updated is None:
                raise Gone(task_id)
            return Controlled(updated)
        if action == "listdone" and task.kind == TaskKind.CALL:
            return Controlled(task, await self._calls.summary(task.id))
        return Controlled(task)

    async def edit(self, actor: Actor, task_id: int, **changes: object) -> Task | None:
        """The task with `changes` saved; None if it is gone or out of scope. TaskError
        "closes_before_start" (nothing saved, its `starts_at` said) for a closing time not
        after its start."""
        task = await self.manageable(actor, task_id)
        closes = changes.get("closes_at")
        if task is not None and isinstance(closes, datetime) and task.starts_at is not None:
            if closes <= task.starts_at:
                raise TaskError("closes_before_start", starts_at=task.starts_at)
        if task is None or not await self._tasks.edit(task_id, self.clock.now(), **changes):
            return None
        await self.audit_action(actor, "task.edit", f"task:{task_id}")
        return await self._tasks.get(task_id)

    async def teams(self, actor: Actor) -> list[tuple[int, str]]:
        """Teams (id, name) an organizer may create tasks for, by name."""
        actor.require(ORGANIZER)
        return await self._tasks.teams(actor.team_scope())

    async def overview(self, actor: Actor, limit: int | None = None) -> list[Progress]:
        """/tasks: the organizer's tasks (the newest `limit`) with their progress, and each
        phone bank's call list counts."""
        actor.require(ORGANIZER)
        items = (await self._tasks.progress(actor.team_scope()))[:limit]
        lists = await self._calls.summaries(
            [item.task.id for item in items if item.task.kind == TaskKind.CALL]
        )
        return [replace(item, calls=lists.get(item.task.id)) for item in items]

    async def audit_action(self, actor: Actor, action: str, subject: str) -> None:
        await self._audit.record(actor.volunteer_id, action, subject)

    # -- volunteers ------------------------------------------------------------------------

    async def next_task(self, volunteer_id: int) -> Task | None:
        fit = await self._tasks.fit(volunteer_id)
        if fit is None:
            return None
        found = await self._tasks.next_for(fit, self.clock.now())
        return found.task if found else None

    async def next_for(self, volunteer: Person) -> NextTask:
        """/task: the best task for a volunteer already read, with its instructions in
        their language; else when something may fit again."""
        now = self.clock.now()
        found = await self._tasks.next_for(fit_of(volunteer), now)
        if found is not None:
            return NextTask(found)
        return NextTask(None, await self._tasks.comes_back_at(volunteer.id, now))

    async def take(self, volunteer: Person, task_id: int, source: str = "asked") -> Claimed:
        """Accept from a card: the claim, the task after it and its instructions, in one
        transaction; ClaimRefused says why not ('target': not this volunteer's to take)."""
        return await self._tasks.claim(task_id, fit_of(volunteer), self.clock.now(), source)

    async def accept(self, volunteer_id: int, task_id: int, source: str = "asked") -> Assignment:
        """Claim a slot; ClaimRefused('target') if the task is not for this volunteer."""
        fit = await self._tasks.fit(volunteer_id)
        if fit is None:
            raise ClaimRefused(Refusal.TARGET)
        claimed = await self._tasks.claim(task_id, fit, self.clock.now(), source)
        return claimed.assignment

    async def skip(self, volunteer_id: int, task_id: int, later: bool) -> bool:
        """Skip for good or put off for a few hours; False if there is no such task, the
        volunteer already took it (an old card) or it was never theirs to skip (a forged
        card for another team's task writes nothing)."""
        fit = await self._tasks.fit(volunteer_id)
        return fit is not None and await self._put_aside(fit, task_id, later)

    async def set_aside(self, volunteer: Person, task_id: int, later: bool) -> NextTask | None:
        """Skip or Later on a card, and what /task shows next, in one transaction; None if
        the card was stale (see `skip`): nothing is written then."""
        now = self.clock.now()
        state, until = ("later", now + LATER) if later else ("skipped", None)
        return await self._tasks.set_aside(fit_of(volunteer), task_id, state, now, until)

    async def _put_aside(self, fit: Fit, task_id: int, later: bool) -> bool:
        now = self.clock.now()
        if not await self._tasks.skippable(fit, task_id, now):
            return False
        if later:
            await self._tasks.put_aside(task_id, fit.volunteer_id, "later", now, now + LATER)
        else:
            await self._tasks.put_aside(task_id, fit.volunteer_id, "skipped", now, None)
        return True

    async def in_hand(self, volunteer_id: int, language: str) -> list[Claimed]:
        """/mytasks: accepted, unfinished tasks with their instructions, oldest first."""
        return await self._tasks.in_hand(volunteer_id, language)

    async def held(
        self, volunteer_id: int, assignment_id: int, language: str = ""
    ) -> Claimed | None:
        """The assignment with its task, if it is this volunteer's and still accepted."""
        held = await self._tasks.held(assignment_id, language)
        if held is None or held.assignment.volunteer_id != volunteer_id:
            return None
        return held if held.assignment.state == AssignmentState.ACCEPTED else None

    async def own_assignment(self, volunteer_id: int, assignment_id: int) -> Assignment | None:
        """The assignment if it is this volunteer's and still accepted."""
        held = await self.held(volunteer_id, assignment_id)
        return held.assignment if held else None

    async def finish(
        self, volunteer_id: int, assignment_id: int, *, asked: frozenset[str]
    ) -> Finished | None:
        """Done (or Finished calling, I was there) on an accepted task: recorded at once,
        except for the kinds `asked` about first (the outcome questions); None if the button
        was stale. NotStarted if the task has a start time still to come."""
        held = await self.held(volunteer_id, assignment_id)
        if held is None:
            return None
        task = held.task
        self.check_started(task)
        if task.kind in asked:
            return Finished(task, None)
        if task.kind == TaskKind.CALL:
            points = await self._tasks.finish_calls(held, self.clock.now())
        else:
            # Tapping "I was there" on an event is the attendance.
            outcome = Outcome(attended=True) if task.kind == TaskKind.EVENT else Outcome()
            points = await self._assignments.complete(
                assignment_id, volunteer_id, outcome, self.clock.now()
            )
        return None if points is None else Finished(task, points)

    async def complete(self, volunteer_id: int, assignment_id: int, outcome: Outcome) -> int | None:
        """Record the outcome; the points earned, or None if the card was stale.

        NotStarted if the task has a start time still to come: nothing is recorded."""
        held = await self.held(volunteer_id, assignment_id)
        if held is not None:
            self.check_started(held.task)
        return await self._assignments.complete(
            assignment_id, volunteer_id, outcome, self.clock.now()
        )

    def check_started(self, task: Task) -> None:
        """NotStarted if a timed task (canvass, event) has not begun yet."""
        if task.starts_at and self.clock.now() < task.starts_at:
            raise NotStarted(task.starts_at)

    async def give_up(self, volunteer_id: int, assignment_id: int) -> bool:
        """Can't on an accepted task: it goes back to the queue (and, on a phone bank, the
        people the caller held go back to the list); False if the button was stale."""
        return await self._tasks.give_up(assignment_id, volunteer_id, self.clock.now())

    async def standing(
        self, volunteer_id: int, timezone: str, *, leaderboard: bool = False
    ) -> Standing:
        """Points, this week's count and streak, in the volunteer's own days; with the
        leaderboard for someone who appears on it."""
        tz = zone(timezone, self.settings.timezone)
        local_now = self.clock.now().astimezone(tz)
        week_start = (local_now - timedelta(days=local_now.weekday())).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        times = await self._assignments.outcome_times(volunteer_id, local_now - timedelta(days=366))
        return Standing(
            points=await self._assignments.points(volunteer_id),
            this_week=await self._assignments.done_since(volunteer_id, week_start),
            streak=streak([t.astimezone(tz) for t in times], local_now),
            leaderboard=tuple(await self.leaderboard()) if leaderboard else (),
        )

    async def task_to_offer(self, actor: Actor, task_id: int) -> Task | None:
        """Open task N, if this author may let broadcast recipients accept it (a task
        button under the message; bot/broadcast_text.py words it).

        The tap is an ordinary task card tap: targeting, quota and caps are checked then.
        """
        task = await self._tasks.get(task_id)
        if task is None or task.status != TaskStatus.OPEN:
            return None
        scope = actor.team_scope()
        if scope is not None and task.team_id is not None and task.team_id not in scope:
            return None
        return task

    async def forget(self, volunteer_id: int) -> None:
        """Part of erasure (/forget): see TaskRepository.forget_volunteer."""
        await self._tasks.forget_volunteer(volunteer_id, self.clock.now())

    async def leaderboard(self) -> list[tuple[str, int]]:
        """This month's leaderboard of volunteers who opted in."""
        return await self._assignments.leaderboard(self.clock.now() - timedelta(days=30))


def local_day_start(moment: datetime, tz: tzinfo) -> datetime:
    """Midnight of the local day containing `moment`."""
    local = moment.astimezone(tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def parse_moment(text: str, tz: tzinfo, now: datetime) -> datetime | None:
    """What an organizer typed for a moment (see bot.when.read_moment), or None."""
    return read_moment(clean(text), now, tz)
