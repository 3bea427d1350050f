"""Offers, reminders and expiry: what Relais sends about tasks without being asked.

Everything goes through the outbox (durable, rate-limited, de-duplicated by key), and only
to volunteers who may be messaged now: active (or back from a pause), reachable, outside
their quiet hours, within an availability slot (offers), under the daily cap.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from bot.config import Settings
from bot.domain.messages import Envelope, Priority
from bot.domain.tasks import Assignment, Recipient, Task
from bot.messaging import Outbound
from bot.quiet_hours import quiet_hours_of, zone
from bot.services.notifier import Notifier
from bot.services.tasks import in_slot, local_day_start
from bot.storage.assignments import AssignmentRepository
from bot.storage.calls import CallRepository
from bot.storage.offers import OfferRepository
from bot.storage.outbox import OutboxRepository
from bot.storage.tasks import TaskRepository
from bot.storage.volunteers import VolunteerRepository

log = logging.getLogger(__name__)

REMIND_BEFORE = timedelta(hours=24)
# Call lists hold third parties' numbers: blanked this long after their task closed.
CALL_LIST_RETENTION = timedelta(days=30)
# Offer a task to a few more people than it has slots: some will skip.
OFFERS_PER_SLOT = 3
MAX_OFFERS_PER_TASK_PER_ROUND = 200
# Each round looks at the most important open tasks only, so it stays short at scale;
# the rest wait for a later round (or for volunteers to ask with /task).
TASKS_PER_ROUND = 100

# The words come from the task flow's presenter (bot/task_text.py), which the jobs
# hand in: a task offered unprompted (with its instructions in the reader's language) and
# a reminder of an accepted one, each in the recipient's time zone, language and
# messenger's wording (the presenter speaks the recipient's language, not this module).
OfferCard = Callable[[Task, str, tzinfo, Recipient], Outbound]
ReminderCard = Callable[[Task, Assignment, tzinfo, Recipient], Outbound]


@dataclass(frozen=True, slots=True)
class RoundReport:
    """What one pass of a job did."""

    offers: int = 0
    reminders: int = 0
    expired_tasks: int = 0


class OfferService:
    """Decides who is offered what, when; the jobs call it."""

    def __init__(
        self,
        settings: Settings,
        tasks: TaskRepository,
        offers: OfferRepository,
        assignments: AssignmentRepository,
        calls: CallRepository,
        outbox: OutboxRepository,
        volunteers: VolunteerRepository,
        notifier: Notifier,
    ) -> None:
        self.settings = settings
        self._tasks = tasks
        self._offers = offers
        self._assignments = assignments
        self._calls = calls
        self._outbox = outbox
        self._volunteers = volunteers
        self.notifier = notifier

    async def may_message(self, recipient: Recipient, now: datetime, *, offer: bool) -> bool:
        """Quiet hours, availability (offers only) and the daily cap, in their time zone."""
        tz = zone(recipient.timezone, self.settings.timezone)
        local = now.astimezone(tz)
        quiet = quiet_hours_of(recipient.quiet_hours, self.settings.quiet_hours)
        if quiet is not None and quiet.contains(local.time()):
            return False
        if offer and not in_slot(recipient.availability, local):
            return False
        sent_today = await self._outbox.unsolicited_since(
            recipient.volunteer_id, local_day_start(now, tz)
        )
        return sent_today < self.settings.daily_offer_cap

    async def offer_round(self, now: datetime, card: OfferCard) -> RoundReport:
        """Offer open tasks to volunteers who fit; at most one new offer per person per round."""
        offered: set[int] = set()
        total = 0
        for task in await self._tasks.offerable(now, TASKS_PER_ROUND):
            room = (
                MAX_OFFERS_PER_TASK_PER_ROUND
                if task.quota is None
                else min(
                    (task.quota - task.slots_taken) * OFFERS_PER_SLOT, MAX_OFFERS_PER_TASK_PER_ROUND
                )
            )
            if room <= 0:
                continue
            candidates = await self._tasks.offer_candidates(task, now, room * 4)
            for recipient in candidates:
                if room <= 0:
                    break
                if recipient.volunteer_id in offered:
                    continue
                if not await self.may_message(recipient, now, offer=True):
                    continue
                await self._send_offer(task, recipient, now, card)
                offered.add(recipient.volunteer_id)
                room -= 1
                total += 1
        return RoundReport(offers=total)

    async def _send_offer(
        self, task: Task, recipient: Recipient, now: datetime, card: OfferCard
    ) -> None:
        tz = zone(recipient.timezone, self.settings.timezone)
        instructions = await self._tasks.instructions(task, recipient.language)
        offer = card(task, instructions, tz, recipient)
        envelope = Envelope(
            kind="offer",
            channel=recipient.channel,
            chat_id=recipient.chat_id,
            outbound=offer,
            volunteer_id=recipient.volunteer_id,
            ref_id=task.id,
            priority=Priority.NORMAL,
            dedupe_key=f"offer:{task.id}:{recipient.volunteer_id}",
        )
        # Queue first (idempotent by key), then remember: a crash in between re-queues nothing.
        await self._queue([envelope])
        await self._offers.record(task.id, recipient.volunteer_id, now)

    async def remind_round(self, now: datetime, card: ReminderCard) -> RoundReport:
        """One reminder per accepted, unfinished assignment, in the last day before closing."""
        total = 0
        for assignment, task in await self._tasks.needing_reminder(now + REMIND_BEFORE, now):
            volunteer = await self._volunteers.get(assignment.volunteer_id)
            if volunteer is None or not volunteer.accepts_unsolicited(now):
                continue
            addresses = await self._volunteers.addresses(volunteer.id)
            if not addresses:
                continue
            recipient = Recipient(
                volunteer.id,
                volunteer.language,
                volunteer.timezone,
                volunteer.quiet_hours,
                volunteer.availability,
                addresses[0].channel,
                addresses[0].chat_id,
            )
            if not await self.may_message(recipient, now, offer=False):
                continue
            tz = zone(recipient.timezone, self.settings.timezone)
            reminder = card(task, assignment, tz, recipient)
            await self._queue(
                [
                    Envelope(
                        kind="reminder",
                        channel=recipient.channel,
                        chat_id=recipient.chat_id,
                        outbound=reminder,
                        volunteer_id=volunteer.id,
                        ref_id=task.id,
                        priority=Priority.NORMAL,
                        dedupe_key=f"reminder:{assignment.id}",
                    )
                ]
            )
            if await self._assignments.mark_reminded(assignment.id, now):
                total += 1
        return RoundReport(reminders=total)

    async def expire_round(self, now: datetime) -> RoundReport:
        """Close tasks whose time is up; their offers and assignments expire with them."""
        closed = 0
        for task_id in await self._tasks.due_to_close(now):
            await self._tasks.expire(task_id, now)
            closed += 1
        await self._calls.purge_lists(now - CALL_LIST_RETENTION)
        return RoundReport(expired_tasks=closed)

    async def _queue(self, envelopes: list[Envelope]) -> None:
        await self.notifier.send(envelopes)
