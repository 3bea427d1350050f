"""Rapid response: volunteers raise the alarm, the comms team on duty is paged at once and
the ladder climbs until someone answers; organizers send ripostes to the rapid-response ring.

The escalation ladder lives in the database (incidents.ring and next_ring_at, and one
incident_pages row per person paged), so a restart neither skips nor repeats a ring:
a ring is written, then queued with one dedupe key per person, then recorded as paged.

This module decides who is told what and when; the words are an `AlertWords` presenter's
(bot/alert_text.py), given by the composition root. Refusals are typed errors
(bot/domain/errors.py) that the flows put into words.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal, Protocol
from zoneinfo import ZoneInfo

from bot.config import Identity, QuietHours
from bot.domain.duty import DutySlot, DutyState
from bot.domain.errors import NotAVolunteer, NothingToReport
from bot.domain.incidents import (
    OPEN_STATUSES,
    Event,
    Incident,
    IncidentStatus,
    Recipient,
    Reported,
    ResponseTimes,
)
from bot.domain.messages import DeliveryStatus
from bot.domain.ripostes import Call, CallAnswer, Riposte
from bot.domain.volunteers import Volunteer
from bot.links import display_url, find_links, link_key
from bot.messaging import Outbound
from bot.quiet_hours import quiet_hours_of, quiet_until, zone
from bot.services.people import Actor, NotAllowed, roles_changed
from bot.storage import rapid_response as _rapid_response  # noqa: F401  (its /forget part)
from bot.storage.backend import Backend
from bot.storage.duty import DutyRepository
from bot.storage.incidents import IncidentRepository
from bot.storage.outbox import CALL, PAGE, Envelope
from bot.storage.pages import PageRepository
from bot.storage.reports import Scope, Window
from bot.storage.ripostes import RiposteRepository
from bot.text import clean

if TYPE_CHECKING:
    from bot.services import Basics

DUTY, COMMS, ADMINS = 1, 2, 3
LAST_RING = ADMINS
MAX_OPENED_PER_HOUR = 3
MERGE_WINDOW = timedelta(days=3)
RIPOSTE_WIDEN_MINUTES = 15
RIPOSTE_SKILL = "share"
MAX_COMMENT = 500
MAX_SUMMARY = 300
SHARE_MILESTONES = (10, 50, 90)
# Riposte calls can be thousands: they go behind pages and people's replies, so neither
# waits for a riposte to finish sending, and ahead of offers and broadcasts.
CALL_PRIORITY = CALL


# How a called volunteer stands on a riposte: not answered yet, on it, can't, or done.
CallState = Literal["", "on_it", "cant", "done"]


@dataclass(frozen=True, slots=True)
class Subject:
    """What a report is about: a post's link key, the address to open, the text seen."""

    key: str
    url: str
    summary: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a tap on an incident button did; once done, the reporters' comments too."""

    done: bool
    incident: Incident | None
    comments: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IncidentCard:
    """One incident as its reader may see it: the comments they may read, its timeline."""

    incident: Incident
    comments: tuple[str, ...]
    events: tuple[Event, ...]


@dataclass(frozen=True, slots=True)
class Roster:
    """Who is on duty now and every week, by name."""

    on_now: tuple[str, ...]
    slots: tuple[tuple[str, DutySlot], ...]


@dataclass(frozen=True, slots=True)
class CommsChange:
    """What /comms add or remove did ('granted', 'already', 'revoked', 'absent', or
    'unknown': nobody joined with that id), and who it concerns."""

    result: str
    volunteer_id: int | None = None
    first_name: str = ""


@dataclass(frozen=True, slots=True)
class Answered:
    """Where a called volunteer now stands on a riposte."""

    riposte: Riposte
    state: CallState


@dataclass(frozen=True, slots=True)
class Tally:
    """Where a riposte stands."""

    called: int
    widened: int
    on_it: int
    done: int
    cant: int
    silent: int
    milestones: dict[int, timedelta | None]


class AlertWords(Protocol):
    """The words of what rapid response sends on its own, each in its reader's language
    (bot/alert_text.py's `AlertText`)."""

    def page(
        self, incident: Incident, ring: int, comments: Sequence[str], language: str
    ) -> Outbound: ...

    def answered(
        self,
        incident: Incident,
        status: IncidentStatus,
        name: str,
        at: datetime,
        language: str,
        *,
        whole: bool,
        edit_message_id: str = "",
    ) -> Outbound: ...

    def handled_notice(self, incident: Incident, language: str) -> Outbound: ...

    def call(self, riposte: Riposte, state: CallState, language: str) -> Outbound: ...

    def board(self, riposte: Riposte, tally: Tally) -> Outbound: ...


def subject_of(text: str, urls: Iterable[str] = ()) -> Subject:
    """The post a report is about: its first link, else the forwarded or typed text."""
    text = clean(text)
    links = find_links(text)
    for url in [*urls, *links]:
        try:
            key = link_key(url)
        except ValueError:
            continue
        # What surrounds the link (a forwarded post's words) says what the post is about.
        around = text
        for link in links:
            around = around.replace(link, " ")
        around = " ".join(around.split()).strip(" .,;:!?-—()[]")
        return Subject(key, display_url(key), around[:MAX_SUMMARY])
    words = " ".join(text.lower().split())
    if len(words) < 10:
        raise NothingToReport(text)
    digest = hashlib.sha256(words.encode()).hexdigest()[:24]
    return Subject(f"text:{digest}", "", text[:MAX_SUMMARY])


def typed_report(text: str, urls: Iterable[str] = ()) -> tuple[Subject, str]:
    """A report the person typed ("/alerte <link> urgent !!"): the post its link points to,
    and the words typed beside the link, which are the reporter's comment, kept as typed.
    Without a link, the text is the post itself and there is no comment."""
    subject = subject_of(text, urls)
    if not subject.url:
        return subject, ""
    words = clean(text)
    for link in find_links(words):
        words = words.replace(link, " ")
    comment = " ".join(words.split()).lstrip(" .,;:-—").rstrip(" ,;:-—")
    return Subject(subject.key, subject.url, ""), comment


def quiet_now(
    recipient: Recipient, default: QuietHours | None, campaign_zone: ZoneInfo, now: datetime
) -> bool:
    """Whether it is within this volunteer's quiet hours (their own, else the campaign's)."""
    hours = quiet_hours_of(recipient.quiet_hours, default)
    local_zone = zone(recipient.timezone, campaign_zone)
    return quiet_until(now, local_zone, hours) is not None


class AlertService:
    """Incidents, the duty roster, the escalation ladder and ripostes."""

    def __init__(
        self,
        services: Basics,
        incidents: IncidentRepository,
        pages: PageRepository,
        duty: DutyRepository,
        ripostes: RiposteRepository,
        words: AlertWords,
    ) -> None:
        self.services = services
        self._incidents = incidents
        self._page_log = pages
        self._duty = duty
        self._ripostes = ripostes
        self.words = words

    @property
    def ack_delay(self) -> timedelta:
        return timedelta(minutes=self.services.settings.alert_ack_minutes)

    # -- raising the alarm ----------------------------------------------------------------

    async def report(self, actor: Actor, subject: Subject, comment: str) -> Reported:
        """Add a volunteer's report; a new incident pages the duty ring at once."""
        volunteer = actor.volunteer
        if volunteer is None or volunteer.status == "erased":
            raise NotAVolunteer()
        now = self.services.clock.now()
        reported = await self._incidents.report(
            link_key=subject.key,
            url=subject.url,
            summary=subject.summary,
            volunteer_id=volunteer.id,
            comment=clean(comment)[:MAX_COMMENT],
            now=now,
            merge_window=MERGE_WINDOW,
            max_opened_per_hour=MAX_OPENED_PER_HOUR,
        )
        incident = reported.incident
        if reported.opened and incident is not None:
            await self.climb(incident)
        elif incident is not None and incident.status is IncidentStatus.NEW and not reported.again:
            await self._refresh_pages(incident)
        return reported

    async def want_outcome(self, actor: Actor, incident_id: int) -> bool:
        """The reporter asked to be told when the incident is handled."""
        if actor.volunteer is None:
            return False
        return await self._incidents.set_notify(incident_id, actor.volunteer.id)

    # -- the escalation ladder ------------------------------------------------------------

    async def climb(self, incident: Incident, *, asked: bool = False) -> None:
        """Page the next ring; an empty ring passes straight to the one after. Unless an
        organizer `asked` for backup, an incident answered meanwhile stops the climb."""
        now = self.services.clock.now()
        ring = incident.ring
        while ring < LAST_RING:
            target = ring + 1
            earlier = {
                (p.channel, p.chat_id)
                for p in await self._page_log.pages(incident.id)
                if p.ring < target
            }
            fresh = [
                r for r in await self.ring(target, now) if (r.channel, r.chat_id) not in earlier
            ]
            current = await self._incidents.get(incident.id) or incident
            if current.status is not IncidentStatus.NEW and not asked:
                return
            await self._page_log.add_pages(incident.id, target, fresh, now)
            comments = await self._incidents.comments(incident.id)
            await self.services.notifier.send(self._pages(current, target, fresh, comments))
            if target == LAST_RING:
                next_at = None
            else:
                next_at = now + self.ack_delay if fresh else now
            if not await self._incidents.advance(
                incident.id, ring, target, len(fresh), next_at, now
            ):
                return  # another sweep moved the ladder first
            if fresh:
                return
            ring = target

    async def _refresh_pages(self, incident: Incident) -> None:
        """A new report of a post nobody took yet: the pages show the new count."""
        comments = await self._incidents.comments(incident.id)
        for page in await self._page_log.pages(incident.id):
            key = page_key(incident.id, page.channel, page.chat_id)
            # A page still being sent shows the count it was written with: the next
            # report updates it. One never queued (a crash between) is left to the sweep.
            if await self.services.outbox.shown(key) is None:
                continue
            await self.services.notifier.show(
                Envelope(
                    kind="alert",
                    channel=page.channel,
                    chat_id=page.chat_id,
                    outbound=self.words.page(incident, page.ring, comments, page.language),
                    volunteer_id=page.volunteer_id,
                    ref_id=incident.id,
                    priority=PAGE,
                ),
                key,
            )

    async def ring(self, ring: int, now: datetime) -> list[Recipient]:
        """Who a ring pages: on duty now, every comms organizer, or the admins."""
        if ring == DUTY:
            return await self._page_log.reachable(await self.on_duty(now))
        if ring == COMMS:
            return await self._page_log.reachable(await self._page_log.role_holders("comms"))
        found = await self._page_log.reachable(await self._page_log.role_holders("admin"))
        seen = {(r.channel, r.chat_id) for r in found}
        for identity in sorted(self.services.admins, key=str):
            volunteer = await self.services.volunteers.by_identity(
                identity.channel, identity.user_id
            )
            if volunteer is not None:
                if volunteer.status in ("stopped", "erased"):
                    continue
                for recipient in await self._page_log.reachable([volunteer.id]):
                    if (recipient.channel, recipient.chat_id) not in seen:
                        found.append(recipient)
                        seen.add((recipient.channel, recipient.chat_id))
            elif (identity.channel, identity.user_id) not in seen:
                # An admin from RELAIS_ADMINS who never joined: their private chat id is
                # their user id on Telegram and Signal alike.
                found.append(
                    Recipient(
                        identity.channel, identity.user_id, None, self.services.settings.language
                    )
                )
                seen.add((identity.channel, identity.user_id))
        return found

    def _pages(
        self, incident: Incident, ring: int, people: Sequence[Recipient], comments: Sequence[str]
    ) -> list[Envelope]:
        return [
            Envelope(
                kind="alert",
                channel=person.channel,
                chat_id=person.chat_id,
                outbound=self.words.page(incident, ring, comments, person.language),
                volunteer_id=person.volunteer_id,
                ref_id=incident.id,
                priority=PAGE,
                dedupe_key=page_key(incident.id, person.channel, person.chat_id),
            )
            for person in people
        ]

    # -- answering a page -----------------------------------------------------------------

    def _require_comms(self, actor: Actor) -> None:
        if not actor.is_comms:
            raise NotAllowed("comms")

    async def take(self, actor: Actor, incident_id: int, name: str) -> Outcome:
        """Take an incident: paging stops, and everyone else paged sees who took it."""
        return await self._answer(
            actor, incident_id, name, (IncidentStatus.NEW,), IncidentStatus.TAKEN
        )

    async def dismiss(self, actor: Actor, incident_id: int, name: str) -> Outcome:
        """Not relevant: paging stops and the incident is closed."""
        return await self._answer(
            actor, incident_id, name, (IncidentStatus.NEW,), IncidentStatus.DISMISSED
        )

    async def handled(self, actor: Actor, incident_id: int, name: str) -> Outcome:
        """Handled: closed, and reporters who asked are told."""
        outcome = await self._answer(
            actor, incident_id, name, OPEN_STATUSES, IncidentStatus.HANDLED
        )
        if outcome.done and outcome.incident is not None:
            await self._tell_reporters(outcome.incident)
        return outcome

    async def escalate(self, actor: Actor, incident_id: int, name: str) -> Outcome:
        """Page the next ring now."""
        self._require_comms(actor)
        now = self.services.clock.now()
        if not await self._incidents.escalate_now(incident_id, name, now):
            return Outcome(False, await self._incidents.get(incident_id))
        await self.services.audit.record(actor.volunteer_id, "incident.escalated", str(incident_id))
        incident = await self._incidents.get(incident_id)
        assert incident is not None
        await self.climb(incident, asked=True)
        return Outcome(True, await self._incidents.get(incident_id))

    async def _answer(
        self,
        actor: Actor,
        incident_id: int,
        name: str,
        before: Sequence[IncidentStatus],
        after: IncidentStatus,
    ) -> Outcome:
        self._require_comms(actor)
        now = self.services.clock.now()
        moved = await self._incidents.transition(
            incident_id, before, after, actor_id=actor.volunteer_id, actor_name=name, now=now
        )
        if moved is None:
            return Outcome(False, await self._incidents.get(incident_id))
        # A count update still waiting must not bring the buttons back after this answer.
        await self.services.outbox.cancel_pending_edits("alert", incident_id)
        await self.services.audit.record(actor.volunteer_id, f"incident.{after}", str(incident_id))
        await self._tell_others(moved, actor, name, after)
        return Outcome(True, moved, tuple(await self._incidents.comments(incident_id)))

    async def _tell_others(
        self, incident: Incident, actor: Actor, name: str, status: IncidentStatus
    ) -> None:
        """Everyone else paged sees who answered: their page is edited (or replaced while it
        still waits in the outbox); if it is being sent right now, a short message follows."""
        now = self.services.clock.now()
        envelopes = []
        for page in await self._page_log.pages(incident.id):
            if (page.channel, page.chat_id) == (actor.identity.channel, actor.chat_id):
                continue
            notice = self.words.answered(incident, status, name, now, page.language, whole=True)
            key = page_key(incident.id, page.channel, page.chat_id)
            if await self.services.outbox.replace_pending(key, notice):
                continue
            shown = await self.services.outbox.shown(key)
            message_id = shown.message_id if shown and shown.status == DeliveryStatus.SENT else ""
            envelopes.append(
                Envelope(
                    kind="alert",
                    channel=page.channel,
                    chat_id=page.chat_id,
                    outbound=self.words.answered(
                        incident,
                        status,
                        name,
                        now,
                        page.language,
                        whole=bool(message_id),
                        edit_message_id=message_id,
                    ),
                    volunteer_id=page.volunteer_id,
                    ref_id=incident.id,
                    priority=PAGE,
                    dedupe_key=f"incident:{incident.id}:{status}:{page.channel}:{page.chat_id}",
                )
            )
        await self.services.notifier.send(envelopes)
        self.services.wake_sender()

    async def _tell_reporters(self, incident: Incident) -> None:
        envelopes = []
        for person in await self._incidents.to_notify(incident.id):
            envelopes.append(
                Envelope(
                    kind="notice",
                    channel=person.channel,
                    chat_id=person.chat_id,
                    outbound=self.words.handled_notice(incident, person.language),
                    volunteer_id=person.volunteer_id,
                    ref_id=incident.id,
                    dedupe_key=f"incident:{incident.id}:handled-notice:{person.volunteer_id}",
                )
            )
        await self.services.notifier.send(envelopes)

    # -- duty -----------------------------------------------------------------------------

    async def on_duty(self, now: datetime) -> list[int]:
        """Volunteer ids on duty now: switched on by hand, or in a weekly slot not
        switched off."""
        local = now.astimezone(self.services.settings.timezone)
        minute = local.hour * 60 + local.minute
        on: set[int] = set()
        for slot in await self._duty.slots():
            if slot.weekday == local.weekday() and slot.start_minute <= minute < slot.end_minute:
                on.add(slot.volunteer_id)
        for switch in await self._duty.switches():
            if switch.state is DutyState.ON and switch.current(now):
                on.add(switch.volunteer_id)
            elif switch.state is DutyState.OFF and switch.current(now):
                on.discard(switch.volunteer_id)
        return sorted(on)

    async def duty_on(self, actor: Actor, hours: int | None) -> datetime | None:
        """Go on duty now, for `hours` or until switched off; returns the end if any."""
        volunteer_id = self._duty_member(actor)
        now = self.services.clock.now()
        until = now + timedelta(hours=hours) if hours else None
        await self._duty.switch(volunteer_id, DutyState.ON, until, now)
        await self.services.audit.record(volunteer_id, "duty.on")
        return until

    async def duty_off(self, actor: Actor) -> None:
        """Go off duty now, including for the rest of a scheduled slot."""
        volunteer_id = self._duty_member(actor)
        now = self.services.clock.now()
        slot_end = self._slot_end(await self._duty.slots(), volunteer_id, now)
        if slot_end is None:
            await self._duty.clear_switch(volunteer_id)
        else:
            await self._duty.switch(volunteer_id, DutyState.OFF, slot_end, now)
        await self.services.audit.record(volunteer_id, "duty.off")

    async def switch_duty(self, actor: Actor, on: bool) -> Roster:
        """The buttons under the roster: on duty (until switched off) or off, and the
        roster as it now stands."""
        if on:
            await self.duty_on(actor, None)
        else:
            await self.duty_off(actor)
        return await self._roster()

    async def add_slot(self, actor: Actor, weekday: int, start: int, end: int) -> Roster:
        """On duty every week on this day, from `start` to `end` (minutes from midnight)."""
        volunteer_id = self._duty_member(actor)
        await self._duty.add_slot(DutySlot(volunteer_id, weekday, start, end))
        return await self._roster()

    async def clear_slots(self, actor: Actor) -> int:
        """Remove the actor's weekly slots; how many there were."""
        return await self._duty.clear_slots(self._duty_member(actor))

    async def roster(self, actor: Actor) -> Roster:
        """Who is on duty now and every week: for the comms team."""
        self._require_comms(actor)
        return await self._roster()

    async def _roster(self) -> Roster:
        now = self.services.clock.now()
        on = await self.on_duty(now)
        slots = await self._duty.slots()
        names = await self._page_log.names([*on, *(s.volunteer_id for s in slots)])
        return Roster(
            tuple(names.get(v) or f"#{v}" for v in on),
            tuple((names.get(s.volunteer_id) or f"#{s.volunteer_id}", s) for s in slots),
        )

    def _duty_member(self, actor: Actor) -> int:
        self._require_comms(actor)
        if actor.volunteer is None:
            raise NotAVolunteer()
        return actor.volunteer.id

    def _slot_end(self, slots: list[DutySlot], volunteer_id: int, now: datetime) -> datetime | None:
        zone = self.services.settings.timezone
        local = now.astimezone(zone)
        minute = local.hour * 60 + local.minute
        for slot in slots:
            if (
                slot.volunteer_id == volunteer_id
                and slot.weekday == local.weekday()
                and slot.start_minute <= minute < slot.end_minute
            ):
                midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
                return midnight + timedelta(minutes=slot.end_minute)
        return None

    # -- the comms role -------------------------------------------------------------------

    async def grant_comms(
        self,
        actor: Actor,
        who: Identity | int,
        *,
        notice: Callable[[Volunteer], Outbound] | None = None,
    ) -> CommsChange:
        """Give someone (a messenger id, or a volunteer number as directories show it) the
        comms role: 'granted', 'already' or 'unknown' (never joined). When it is new and
        `notice` is given, the person is told on their preferred messenger, in its words."""
        if not actor.is_admin:
            raise NotAllowed("admin")
        volunteer = await self._member(who)
        if volunteer is None or volunteer.status == "erased":
            return CommsChange("unknown")
        by = actor.volunteer_id
        if not await self.services.volunteers.grant_role(volunteer.id, "comms", None, by):
            return CommsChange("already", volunteer.id, volunteer.first_name)
        await self.services.audit.record(by, "role.grant.comms", str(volunteer.id))
        await roles_changed(self.services.roles_changed, volunteer.id)
        if notice is not None:
            await self._tell(volunteer, notice)
        return CommsChange("granted", volunteer.id, volunteer.first_name)

    async def revoke_comms(
        self,
        actor: Actor,
        who: Identity | int,
        *,
        notice: Callable[[Volunteer], Outbound] | None = None,
    ) -> CommsChange:
        """Take the comms role away (and their duty): 'revoked', 'absent' or 'unknown'. When
        they had it and `notice` is given, the person is told as `grant_comms` tells them."""
        if not actor.is_admin:
            raise NotAllowed("admin")
        volunteer = await self._member(who)
        if volunteer is None:
            return CommsChange("unknown")
        if not await self.services.volunteers.revoke_role(volunteer.id, "comms", None):
            return CommsChange("absent", volunteer.id, volunteer.first_name)
        await self._duty.leave(volunteer.id)
        await self.services.audit.record(actor.volunteer_id, "role.revoke.comms", str(volunteer.id))
        await roles_changed(self.services.roles_changed, volunteer.id)
        if notice is not None:
            await self._tell(volunteer, notice)
        return CommsChange("revoked", volunteer.id, volunteer.first_name)

    async def _tell(self, volunteer: Volunteer, notice: Callable[[Volunteer], Outbound]) -> None:
        """A change of their role, queued for the person on their preferred messenger."""
        addresses = await self.services.volunteers.addresses(volunteer.id)
        if addresses:
            await self.services.notifier.notice(
                addresses[0].channel,
                addresses[0].chat_id,
                notice(volunteer),
                volunteer_id=volunteer.id,
            )

    async def _member(self, who: Identity | int) -> Volunteer | None:
        if isinstance(who, int):
            return await self.services.volunteers.get(who)
        return await self.services.volunteers.by_identity(who.channel, who.user_id)

    async def comms_team(self) -> list[str]:
        ids = await self._page_log.role_holders("comms")
        names = await self._page_log.names(ids)
        return [names.get(v) or f"#{v}" for v in ids]

    # -- ripostes -------------------------------------------------------------------------

    def riposte_scope(self, actor: Actor) -> frozenset[int] | None:
        """Comms organizers and admins reach everyone; other organizers their teams."""
        actor.require("organizer")
        return None if actor.is_admin or actor.is_comms else actor.team_scope()

    async def first_ring(self, actor: Actor) -> list[Recipient]:
        """Who a riposte would call now: the rapid-response ring, out of quiet hours."""
        now = self.services.clock.now()
        people = await self._ripostes.callable_volunteers(
            now, scope=self.riposte_scope(actor), rapid_response=True
        )
        return self._awake(people, now)

    def _awake(self, people: Sequence[Recipient], now: datetime) -> list[Recipient]:
        settings = self.services.settings
        return [p for p in people if not quiet_now(p, settings.quiet_hours, settings.timezone, now)]

    async def start_riposte(
        self,
        actor: Actor,
        *,
        url: str,
        suggested_text: str,
        target: int,
        incident_id: int | None,
        language: str,
    ) -> Riposte:
        """Call the rapid-response ring now and open the organizer's live board."""
        scope = self.riposte_scope(actor)
        now = self.services.clock.now()
        callers = self._awake(
            await self._ripostes.callable_volunteers(now, scope=scope, rapid_response=True), now
        )
        riposte = await self._ripostes.create(
            organizer_id=actor.volunteer_id,
            channel=actor.identity.channel,
            chat_id=actor.chat_id,
            language=language,
            incident_id=incident_id,
            url=url,
            suggested_text=clean(suggested_text)[:1000],
            target=target,
            scope=scope,
            widen_at=now + timedelta(minutes=RIPOSTE_WIDEN_MINUTES),
            callers=callers,
            now=now,
        )
        await self.services.audit.record(actor.volunteer_id, "riposte.start", str(riposte.id))
        await self._queue_calls(riposte, 1)
        await self.refresh_board(riposte.id)
        return riposte

    async def _queue_calls(self, riposte: Riposte, ring: int) -> None:
        envelopes = []
        for call in await self._ripostes.calls(riposte.id, ring):
            envelopes.append(
                Envelope(
                    kind="riposte",
                    channel=call.channel,
                    chat_id=call.chat_id,
                    outbound=self.words.call(riposte, "", call.language),
                    volunteer_id=call.volunteer_id,
                    ref_id=riposte.id,
                    priority=CALL_PRIORITY,
                    dedupe_key=f"riposte:{riposte.id}:call:{call.volunteer_id}",
                )
            )
        await self.services.notifier.send(envelopes)
        await self._ripostes.mark_queued(riposte.id, ring)

    async def respond(self, actor: Actor, riposte_id: int, answer: str) -> Answered | None:
        """A called volunteer answers ('on_it', 'cant' or 'done'); None if they were not
        called. Each volunteer counts once, whatever they tap and how often."""
        volunteer = actor.volunteer
        if volunteer is None:
            return None
        call = await self._ripostes.call(riposte_id, volunteer.id)
        riposte = await self._ripostes.get(riposte_id)
        if call is None or riposte is None:
            return None
        now = self.services.clock.now()
        if answer == "done":
            changed = await self._ripostes.done(riposte_id, volunteer.id, now)
        else:
            changed = await self._ripostes.answer(riposte_id, volunteer.id, CallAnswer(answer), now)
        if changed:
            await self.refresh_board(riposte_id)
            call = await self._ripostes.call(riposte_id, volunteer.id) or call
        return Answered(riposte, call_state(call))

    async def tally(self, riposte: Riposte) -> Tally:
        calls = await self._ripostes.calls(riposte.id)
        done_times = sorted(c.done_at - riposte.created_at for c in calls if c.done_at)
        milestones: dict[int, timedelta | None] = {}
        for percent in SHARE_MILESTONES:
            needed = max(1, math.ceil(riposte.target * percent / 100))
            milestones[percent] = done_times[needed - 1] if len(done_times) >= needed else None
        return Tally(
            called=len(calls),
            widened=sum(1 for c in calls if c.ring == 2),
            on_it=sum(1 for c in calls if c.answer is CallAnswer.ON_IT),
            done=len(done_times),
            cant=sum(1 for c in calls if c.answer is CallAnswer.CANT),
            silent=sum(1 for c in calls if not c.answer),
            milestones=milestones,
        )

    async def refresh_board(self, riposte_id: int) -> None:
        """Queue the organizer's live board with the latest counts (one message, edited)."""
        riposte = await self._ripostes.get(riposte_id)
        if riposte is None or not riposte.chat_id:  # no board: its organizer was erased
            return
        tally = await self.tally(riposte)
        await self.services.notifier.show(
            Envelope(
                kind="riposte_board",
                channel=riposte.channel,
                chat_id=riposte.chat_id,
                outbound=self.words.board(riposte, tally),
                volunteer_id=riposte.organizer_id,
                ref_id=riposte.id,
                priority=PAGE,
            ),
            f"riposte:{riposte.id}:board",
        )

    # -- the sweep ------------------------------------------------------------------------

    async def sweep(self) -> None:
        """Page rings that are due, queue calls a crash left unqueued, widen ripostes."""
        now = self.services.clock.now()
        for incident in await self._incidents.due(now):
            await self.climb(incident)
        for riposte in await self._ripostes.to_queue():
            for ring in range(riposte.queued_ring + 1, riposte.ring + 1):
                await self._queue_calls(riposte, ring)
        for riposte in await self._ripostes.due_to_widen(now):
            await self._maybe_widen(riposte, now)

    async def _maybe_widen(self, riposte: Riposte, now: datetime) -> None:
        tally = await self.tally(riposte)
        if tally.on_it >= riposte.target:
            await self._ripostes.no_widening(riposte.id)
            await self.refresh_board(riposte.id)
            return
        called = {c.volunteer_id for c in await self._ripostes.calls(riposte.id, 1)}
        people = await self._ripostes.callable_volunteers(
            now, scope=riposte.scope, rapid_response=False, skill=RIPOSTE_SKILL
        )
        fresh = [p for p in self._awake(people, now) if p.volunteer_id not in called]
        widened = await self._ripostes.widen(riposte.id, fresh, now)
        if widened is not None:
            await self._queue_calls(widened, 2)
            await self.refresh_board(riposte.id)

    # -- measures -------------------------------------------------------------------------

    async def recent(self, actor: Actor) -> tuple[list[Incident], list[tuple[Riposte, Tally]]]:
        """The latest incidents and ripostes this reader may see."""
        teams = self.reader_teams(actor)
        incidents = await self._incidents.recent(10, teams)
        ripostes = [
            (r, await self.tally(r))
            for r in await self._ripostes.recent(5, teams, actor.volunteer_id)
        ]
        return incidents, ripostes

    def reader_teams(self, actor: Actor) -> frozenset[int] | None:
        """None for the comms team and admins (every incident); an organizer's teams
        otherwise: they see what their teams' members reported, and nothing else."""
        self.require_reader(actor)
        return None if actor.is_comms else actor.team_scope() or frozenset()

    def require_reader(self, actor: Actor) -> None:
        """Incidents are for the comms team, admins and organizers (within their teams)."""
        if not (actor.is_comms or actor.is_organizer):
            raise NotAllowed("organizer")

    async def readable(self, actor: Actor, incident_id: int) -> Incident | None:
        """The incident if this reader may see it (reading it is audited), else None."""
        teams = self.reader_teams(actor)
        incident = await self._incidents.get(incident_id)
        if incident is None:
            return None
        if teams is not None and not await self._incidents.reported_by_teams(incident.id, teams):
            return None
        await self.services.audit.record(actor.volunteer_id, "incident.read", str(incident.id))
        return incident

    async def card(self, actor: Actor, incident_id: int) -> IncidentCard | None:
        """An incident with the comments this reader may read (an organizer: their teams'
        members') and its timeline, oldest first; None if they may not see it."""
        incident = await self.readable(actor, incident_id)
        if incident is None:
            return None
        comments = await self._incidents.comments(incident.id, teams=self.reader_teams(actor))
        events = await self._incidents.events(incident.id)
        return IncidentCard(incident, tuple(comments), tuple(events))

    async def to_riposte(self, actor: Actor, incident_id: int) -> Incident | None:
        """The incident an organizer answers with a riposte; None if there is none, or if
        it is another team's (a forged button finds nothing it could not read)."""
        self.riposte_scope(actor)
        teams = self.reader_teams(actor)
        incident = await self._incidents.get(incident_id)
        if incident is None:
            return None
        if teams is not None and not await self._incidents.reported_by_teams(incident.id, teams):
            return None
        return incident


def page_key(incident_id: int, channel: str, chat_id: str) -> str:
    return f"incident:{incident_id}:page:{channel}:{chat_id}"


def call_state(call: Call) -> CallState:
    """Where a called volunteer stands: done, on it, can't, or not answered yet."""
    if call.done_at:
        return "done"
    if call.answer is CallAnswer.ON_IT:
        return "on_it"
    if call.answer is CallAnswer.CANT:
        return "cant"
    return ""


async def response_times(db: Backend, scope: Scope, window: Window) -> ResponseTimes | None:
    """How fast the campaign answered the incidents first seen in `window`, for /report:
    campaign-wide, so only in unscoped reports; None when there were none."""
    if not scope.everything:
        return None
    since, until = window.bounds()
    times = await IncidentRepository(db).response_times(since, until)
    return times if times.incidents else None
