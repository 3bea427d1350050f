"""Broadcasts: who may send what to whom, when, and how it is going.

A broadcast is a row; when it is due, one outbox row per recipient is written through the
Notifier, in short steps (the sender starts on the first ones), and the sender drains them.
A sweep job (every few seconds) starts what is due, keeps each organizer's progress message
up to date (one message, edited in place) and queues the delivery report at the end, all
through the outbox. Nothing lives only in memory: a restart resumes, queueing included.

This module decides who gets what and when; it chooses no words. Refusals are
`BroadcastError`s carrying a kind and facts, worded by bot/broadcast_text.py, which the
composition root also hands in (as `BroadcastWords`) for the progress and report lines.
"""

from __future__ import annotations

import logging
import re
import shlex
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from bot.clock import Clock
from bot.config import LANGUAGES, Settings
from bot.domain.broadcasts import Audience, Broadcast, NewBroadcast
from bot.domain.errors import Invalid
from bot.domain.messages import Envelope, Priority
from bot.domain.tasks import Task
from bot.messaging import Choice, Outbound
from bot.places import MAX_CHOICES, places
from bot.quiet_hours import quiet_hours_of, quiet_until, zone
from bot.services.areas import department_of
from bot.services.markup import markup_problem
from bot.services.notifier import Notifier
from bot.services.people import ADMIN, ORGANIZER, Actor
from bot.storage.audit import AuditLog
from bot.storage.broadcasts import BroadcastRepository
from bot.text import is_number
from bot.vocabulary import plain, skill_code

log = logging.getLogger(__name__)

MAX_BUTTONS = 3
PROGRESS_EVERY = timedelta(seconds=5)
FREE_RATE = 28.8
PAID_RATE = 1000.0
_AREA_RE = re.compile(r"^(?:\d{1,5}|2[AB])$", re.I)
# From the task queue, if any: the open task N an author may offer in a broadcast, or None.
TaskToOffer = Callable[[Actor, int], Awaitable[Task | None]]


class BroadcastError(Invalid):
    """Bad input or a refusal; `kind` says which, `data` the facts (bot/broadcast_text.py
    words them). Kinds: markup.* (bot/services/markup.py's kinds), audience.quotes,
    audience.skill (word), audience.word (word), radius.distance, radius.unknown (name),
    radius.several (name, places), button.format, button.task (id), team.unknown (name,
    teams), area.unknown (code, areas), audience.nobody (audience), paid.disabled,
    send_at.past."""


def check_markup(text: str) -> None:
    """Raise BroadcastError unless Telegram documents every tag, attribute and entity used."""
    problem = markup_problem(text)
    if problem is not None:
        raise BroadcastError(f"markup.{problem.kind}", **problem.data)


@dataclass(frozen=True, slots=True)
class Figures:
    """Where a broadcast stands."""

    recipients: int
    sent: int
    failed: int
    blocked: int
    uncertain: int
    cancelled: int
    remaining: int

    @classmethod
    def of(cls, recipients: int, counts: dict[str, int]) -> Figures:
        return cls(
            recipients,
            counts.get("sent", 0),
            counts.get("failed", 0),
            counts.get("blocked", 0),
            counts.get("uncertain", 0),
            counts.get("cancelled", 0),
            counts.get("pending", 0) + counts.get("sending", 0),
        )


class BroadcastWords(Protocol):
    """What a broadcast's author reads about it, in the broadcast's language (a presenter:
    bot/broadcast_text.py's `BroadcastText`)."""

    def progress(
        self, broadcast: Broadcast, figures: Figures, finish: datetime | None, ended: bool
    ) -> str:
        """Where it stands while sending (`finish`: when it should end, if known), or
        that it has `ended`."""

    def cancelled(self, broadcast: Broadcast, figures: Figures) -> str:
        """Its progress message once cancelled, with the final figures."""

    def report(self, broadcast: Broadcast, figures: Figures) -> str:
        """The delivery report at the end."""


@dataclass(frozen=True, slots=True)
class Submitted:
    """A broadcast just recorded, the audience it was sent to (as checked) and how many
    that audience counts now (what its author is told)."""

    broadcast: Broadcast
    audience: Audience
    count: int


@dataclass(frozen=True, slots=True)
class AudienceChoices:
    """What the audience step offers: everyone the author may reach, and their teams."""

    everyone: int
    teams: tuple[tuple[int, str], ...]


@dataclass(frozen=True, slots=True)
class Preview:
    """What the wizard shows before anything is sent: the audience and how many it reaches
    now, and the message with its versions in other languages, each exactly as volunteers
    get it ((language, message): the author's own first, its language "")."""

    audience: Audience
    count: int
    messages: tuple[tuple[str, Outbound], ...]


@dataclass(frozen=True, slots=True)
class NewButton:
    """A button an author asked for: a link (label, url), or a task to accept from the
    message; with the audience step's choices when it was the last one allowed."""

    label: str = ""
    url: str = ""
    task: Task | None = None
    then: AudienceChoices | None = None


# The keys of the audience syntax, in both languages (matched without accents or case).
_AUDIENCE_KEYS = {
    **dict.fromkeys(("team", "equipe"), "team"),
    **dict.fromkeys(("area", "zone", "secteur", "departement", "dept"), "area"),
    **dict.fromkeys(("skill", "competence", "competences"), "skill"),
    **dict.fromkeys(("lang", "langue", "language"), "lang"),
    **dict.fromkeys(("active", "actif", "actifs", "actives"), "active"),
    **dict.fromkeys(("near", "autour", "around"), "near"),
}
_EVERYONE = frozenset(("all", "everyone", "tous", "tout", "toutes", "tout-le-monde"))


def parse_audience(text: str, team_names: Sequence[str] = ()) -> Audience:
    """'team:Nord area:75 skill:call lang:fr active:30' (or 'all'), in French or English
    ('équipe:Lyon 3e compétence:partage'); BroadcastError if a word is not understood.

    A team name with spaces may be typed without quotes when the words that follow make
    one of `team_names` (or the start of one): 'équipe:Lyon 3e area:69'.
    """
    text, around = take_radius(text)
    try:
        words = shlex.split(text)
    except ValueError:
        raise BroadcastError("audience.quotes") from None
    teams: list[str] = []
    areas: list[str] = []
    skills: list[str] = []
    languages: list[str] = []
    active: int | None = None
    known = [name.casefold() for name in team_names]
    position = 0
    while position < len(words):
        word = words[position]
        position += 1
        head, sep, value = word.partition(":")
        key, value = _AUDIENCE_KEYS.get(plain(head)), value.strip()
        if not sep and plain(word) in _EVERYONE:
            continue
        if key == "team" and not value and position < len(words) and _bare(words[position]):
            value, position = words[position], position + 1  # "équipe: Lyon"
        if key == "team" and value:
            while position < len(words) and _continues(value, words[position], known):
                value, position = f"{value} {words[position]}", position + 1
            teams.append(value)
        elif key == "area" and _AREA_RE.match(value):
            areas.append(value.upper())
        elif key == "skill" and skill_code(value):
            skills.append(skill_code(value) or "")
        elif key == "lang" and _language(value):
            languages.append(_language(value))
        elif key == "active" and is_number(value) and 1 <= int(value) <= 365:
            active = int(value)
        elif key == "skill":
            raise BroadcastError("audience.skill", word=value)
        elif key == "near" and around is None:
            name, _sep, km = value.rpartition(":")
            around = radius_around(name, km)
        else:
            raise BroadcastError("audience.word", word=word)
    return Audience(
        tuple(dict.fromkeys(teams)),
        tuple(dict.fromkeys(areas)),
        tuple(dict.fromkeys(skills)),
        tuple(dict.fromkeys(languages)),
        active,
        around,
    )


# "10 km autour de Villeurbanne", "within 10 km of Villeurbanne": the place runs to the
# next key:value word, or to the end.
_RADIUS_PHRASE = re.compile(
    r"(?:\b(?:within|à|dans un rayon de)\s+)?(\d{1,3}(?:[.,]\d+)?)\s*km\s+"
    r"(?:autour\s+de|autour\s+d'|around|of|from|de|d')\s*(.+?)(?=\s+[^\s:]+:|$)",
    re.I,
)


def take_radius(text: str) -> tuple[str, tuple[str, float, float, float] | None]:
    """The audience text without its radius phrase, and the radius it asked for."""
    match = _RADIUS_PHRASE.search(text)
    if match is None:
        return text, None
    rest = (text[: match.start()] + " " + text[match.end() :]).strip()
    return rest, radius_around(match[2], match[1])


def radius_around(name: str, km: str) -> tuple[str, float, float, float]:
    """(INSEE code, latitude, longitude, km) for 'Villeurbanne', '69100' or '69266'."""
    try:
        distance = float(km.lower().removesuffix("km").replace(",", "."))
    except ValueError:
        distance = 0.0
    if not 0 < distance <= 500:
        raise BroadcastError("radius.distance")
    name = name.strip().strip("\"'")
    found = places().find(name).places or (
        (places().by_code[name],) if name in places().by_code else ()
    )
    located = [p for p in found if p.latitude is not None and p.longitude is not None]
    if not located:
        raise BroadcastError("radius.unknown", name=name)
    if len(located) > 1:
        raise BroadcastError(
            "radius.several",
            name=name,
            places=tuple(
                (p.label(), p.postcodes[0] if p.postcodes else "") for p in located[:MAX_CHOICES]
            ),
        )
    place = located[0]
    assert place.latitude is not None and place.longitude is not None
    return place.code, place.latitude, place.longitude, distance


def _bare(word: str) -> bool:
    """A word that is neither a filter nor 'all'."""
    return ":" not in word and plain(word) not in _EVERYONE


def _continues(name: str, word: str, known: Sequence[str]) -> bool:
    """Whether `word` is the next word of a known team name that starts with `name`."""
    if not _bare(word):
        return False
    longer = f"{name} {word}".casefold()
    return any(team == longer or team.startswith(longer + " ") for team in known)


def _language(word: str) -> str:
    typed = plain(word)
    names = {"french": "fr", "francais": "fr", "english": "en", "anglais": "en"}
    code = names.get(typed, typed)
    return code if code in LANGUAGES else ""


def area_known(code: str) -> bool:
    """Whether a département code or the start of a postcode names a place in France."""
    code = code.upper()
    if code in ("2A", "2B"):
        return True
    if not is_number(code) or not 2 <= len(code) <= 5:
        return False
    if code[:2] in ("97", "98") and len(code) == 2:
        return True
    return (
        department_of(code.ljust(5, "0")) is not None
        or department_of(code.ljust(5, "9")) is not None
    )


def parse_button(text: str) -> NewButton:
    """'Label https://…' → a link button; BroadcastError if it is not that."""
    label, _sep, url = text.strip().rpartition(" ")
    label = " ".join(label.split())
    if not label or not re.match(r"^https://[^\s<>\"]+$", url) or len(label) > 64:
        raise BroadcastError("button.format")
    return NewButton(label, url)


class BroadcastService:
    """Creates, starts, follows and cancels broadcasts."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        repo: BroadcastRepository,
        audit: AuditLog,
        notifier: Notifier,
        words: BroadcastWords,
        *,
        task_to_offer: TaskToOffer | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._repo = repo
        self._audit = audit
        self.notifier = notifier
        self.words = words
        # From the task queue, if any: task N, if the author may let volunteers accept it
        # from the broadcast itself (a task button).
        self.task_to_offer = task_to_offer

    # -- authoring ------------------------------------------------------------------------

    async def audience(self, actor: Actor, text: str) -> tuple[Audience, int]:
        """Parse and check an audience for this author (Actor.system(): the admin command
        line); return it with its live count. Unknown teams and areas are refused with the
        known ones, and team names are stored as the campaign spells them."""
        actor.require(ORGANIZER)
        scope = actor.team_scope()
        teams = await self._repo.teams(scope)
        audience = parse_audience(text, [name for _id, name in teams])
        spelled = {name.casefold(): name for _id, name in teams}
        for name in audience.teams:
            if name.casefold() not in spelled:
                raise BroadcastError("team.unknown", name=name, teams=tuple(spelled.values()))
        for code in audience.areas:
            if not area_known(code):
                areas = await self._repo.areas(scope)
                raise BroadcastError("area.unknown", code=code, areas=tuple(areas))
        audience = replace(audience, teams=tuple(spelled[n.casefold()] for n in audience.teams))
        return audience, await self._repo.count(audience, scope, self.clock.now())

    async def audience_choices(self, actor: Actor) -> AudienceChoices:
        """The audience step's choices: how many the author reaches in all, their teams."""
        actor.require(ORGANIZER)
        scope = actor.team_scope()
        everyone = await self._repo.count(Audience(), scope, self.clock.now())
        return AudienceChoices(everyone, tuple(await self._repo.teams(scope)))

    async def team_audience(self, actor: Actor, team_id: int) -> tuple[Audience, int] | None:
        """One of the author's teams as the audience, with its live count; None if that
        team is not (or no longer) theirs."""
        actor.require(ORGANIZER)
        scope = actor.team_scope()
        name = dict(await self._repo.teams(scope)).get(team_id)
        if name is None:
            return None
        audience = Audience(teams=(name,))
        return audience, await self._repo.count(audience, scope, self.clock.now())

    async def preview(
        self,
        actor: Actor,
        *,
        body: str,
        variants: dict[str, str],
        buttons: tuple[tuple[str, str, str], ...],
        audience: str = "all",
        team: int | None = None,
    ) -> Preview | None:
        """The wizard's preview: the audience as typed (or as the wizard stored it), or one
        of the author's teams (`team`), checked and counted now, with the message and its
        `variants` as volunteers get them. None if `team` is not (or no longer) theirs;
        an audience refused raises BroadcastError, as `audience` does."""
        if team is None:
            found, count = await self.audience(actor, audience)
        elif (chosen := await self.team_audience(actor, team)) is not None:
            found, count = chosen
        else:
            return None
        messages = [("", self.render(body, buttons))]
        messages += [(language, self.render(text, buttons)) for language, text in variants.items()]
        return Preview(found, count, tuple(messages))

    async def button(self, actor: Actor, text: str, *, added: int = 0) -> NewButton:
        """A button from what the author typed: 'Label https://…' or 'task:N'. When it is
        the last one allowed (`added` were there before), it comes with the audience
        step's choices, the wizard's next question."""
        match = re.match(r"^(?:task|tâche|tache)\s*:\s*(\d{1,9})$", text.strip(), re.I)
        if match is None:
            button = parse_button(text)
        else:
            task = await self.task_to_offer(actor, int(match[1])) if self.task_to_offer else None
            if task is None:
                raise BroadcastError("button.task", id=match[1])
            button = NewButton(task=task)
        if added + 1 >= MAX_BUTTONS:
            button = replace(button, then=await self.audience_choices(actor))
        return button

    async def create(
        self,
        actor: Actor,
        *,
        language: str,
        body: str,
        audience: Audience,
        variants: dict[str, str] | None = None,
        buttons: tuple[tuple[str, str, str], ...] = (),
        send_at: datetime | None = None,
        urgent: bool = False,
        paid: bool = False,
    ) -> Broadcast:
        """Record a broadcast (Actor.system(): the admin command line, which reaches
        everyone)."""
        actor.require(ORGANIZER)
        check_markup(body)
        for text in (variants or {}).values():
            check_markup(text)
        if paid and not self.settings.paid_broadcast:
            raise BroadcastError("paid.disabled")
        now = self.clock.now()
        if send_at is not None and send_at < now - timedelta(minutes=1):
            raise BroadcastError("send_at.past")
        broadcast = await self._repo.create(
            NewBroadcast(
                language=language,
                body=body,
                send_at=send_at or now,
                audience=audience,
                scope=actor.team_scope(),
                variants=dict(variants or {}),
                buttons=buttons,
                urgent=urgent,
                paid=paid,
                created_by=actor.volunteer_id,
                origin_channel=actor.identity.channel if not actor.is_system else "",
                origin_chat_id=actor.chat_id,
            ),
            now,
        )
        await self._audit.record(
            actor.volunteer_id,
            "broadcast.create",
            f"broadcast:{broadcast.id} {audience.describe() or 'all'}",
        )
        return broadcast

    async def submit(
        self,
        actor: Actor,
        audience: str,
        *,
        language: str,
        body: str,
        variants: dict[str, str] | None = None,
        buttons: tuple[tuple[str, str, str], ...] = (),
        send_at: datetime | None = None,
        urgent: bool = False,
        paid: bool = False,
        from_command_line: bool = False,
    ) -> Submitted:
        """What an author sends from the chat, the dashboard or the command line: the
        audience as typed (or as the wizard stored it), checked and counted again now; the
        broadcast recorded and, when it goes now, queued at once (from the command line,
        by the running bot, and an audience nobody matches is refused: audience.nobody).
        Returns it with its audience and the count its author is told."""
        found, count = await self.audience(actor, audience or "all")
        if from_command_line and count == 0:
            raise BroadcastError("audience.nobody", audience=found)
        broadcast = await self.create(
            actor,
            language=language,
            body=body,
            audience=found,
            variants=variants,
            buttons=buttons,
            send_at=send_at,
            urgent=urgent,
            paid=paid,
        )
        if send_at is None and not from_command_line:
            await self.start_due()
        return Submitted(broadcast, found, count)

    async def cancel(self, actor: Actor, broadcast_id: int) -> int | None:
        """Withdraw what is not sent yet; None if it cannot be cancelled (ended or not yours)."""
        broadcast = await self._repo.get(broadcast_id)
        if broadcast is None or not self._may_manage(actor, broadcast):
            return None
        withdrawn = await self._repo.cancel(broadcast_id, self.clock.now())
        if withdrawn is not None:
            await self._audit.record(
                actor.volunteer_id, "broadcast.cancel", f"broadcast:{broadcast_id}"
            )
            await self._close_progress(broadcast)
        return withdrawn

    async def _close_progress(self, broadcast: Broadcast) -> None:
        """A cancelled broadcast's progress message says so, with its final figures."""
        if not broadcast.origin_chat_id or not broadcast.progress_text:
            return
        figures = await self.figures(broadcast)
        envelope = self._to_author(broadcast, Outbound(self.words.cancelled(broadcast, figures)))
        if not await self.notifier.show(envelope, _progress_key(broadcast)):
            # Its progress is being sent right now: say it in a message of its own.
            await self.notifier.send([envelope])

    def _to_author(self, broadcast: Broadcast, outbound: Outbound, key: str = "") -> Envelope:
        """A message about a broadcast for its author, in their chat."""
        return Envelope(
            "progress",
            broadcast.origin_channel,
            broadcast.origin_chat_id,
            outbound,
            volunteer_id=broadcast.created_by,
            ref_id=broadcast.id,
            priority=Priority.NORMAL,
            dedupe_key=key or None,
        )

    async def recent(self, actor: Actor, limit: int = 10) -> list[tuple[Broadcast, Figures]]:
        """The author's latest broadcasts (everyone's, for an admin), each with where it
        stands."""
        actor.require(ORGANIZER)
        author = None if actor.rank == ADMIN else (actor.volunteer_id or -1)
        return [(item, await self.figures(item)) for item in await self._repo.recent(limit, author)]

    async def get(self, actor: Actor, broadcast_id: int) -> Broadcast | None:
        broadcast = await self._repo.get(broadcast_id)
        return broadcast if broadcast and self._may_manage(actor, broadcast) else None

    async def figures(self, broadcast: Broadcast) -> Figures:
        return Figures.of(broadcast.recipients, await self._repo.counts(broadcast.id))

    @staticmethod
    def _may_manage(actor: Actor, broadcast: Broadcast) -> bool:
        if actor.rank == ADMIN:
            return True
        return actor.is_organizer and broadcast.created_by == actor.volunteer_id

    @staticmethod
    def render(
        body: str, buttons: tuple[tuple[str, str, str], ...], paid: bool = False
    ) -> Outbound:
        """The message exactly as volunteers get it."""
        rows = tuple((Choice(label, data=data, url=url),) for label, url, data in buttons)
        return Outbound(body, choices=rows, paid=paid)

    # -- running --------------------------------------------------------------------------

    async def sweep(self) -> None:
        """Start what is due, refresh progress messages, report what has ended."""
        await self.start_due()
        for broadcast in await self._repo.running():
            try:
                if broadcast.queueing:
                    # Relais stopped while writing its recipients: carry on where it was.
                    await self._queue(broadcast)
                await self._follow(broadcast.id)
            except Exception:
                log.exception("progress of broadcast %d could not be shown", broadcast.id)

    async def start_due(self) -> None:
        """Queue the recipients of every broadcast whose time has come."""
        now = self.clock.now()
        for broadcast in await self._repo.due(now):
            if await self._repo.start(broadcast.id, now):
                await self._queue(broadcast)

    async def _queue(self, broadcast: Broadcast) -> None:
        """Write one outbox row per recipient, step by step through the Notifier."""
        audience = parse_audience(broadcast.audience)
        payloads = {
            language: self.render(text, broadcast.buttons, broadcast.paid).to_json()
            for language, text in broadcast.variants.items()
            if language != broadcast.language
        }
        default = self.render(broadcast.body, broadcast.buttons, broadcast.paid).to_json()

        async def step() -> bool:
            now = self.clock.now()
            return await self._repo.queue_step(
                broadcast, audience, payloads, default, now, self._hold_for(now)
            )

        await self.notifier.fan_out(step)
        queued = await self._repo.get(broadcast.id)
        if queued is not None:
            log.info("broadcast %d started for %d recipients", broadcast.id, queued.recipients)

    def quiet_until(self, now: datetime, timezone: str, quiet_hours: str | None) -> datetime | None:
        """When a recipient's quiet hours end, if `now` falls in them (their own hours, or
        the campaign's when they set none); checked again by the sender at send time."""
        local_zone = zone(timezone, self.settings.timezone)
        return quiet_until(now, local_zone, quiet_hours_of(quiet_hours, self.settings.quiet_hours))

    def _hold_for(self, now: datetime) -> Callable[[str, str], datetime | None]:
        # The repository spells a NULL (the campaign's hours) as NO_QUIET_HOURS.
        def hold(timezone: str, quiet_hours: str) -> datetime | None:
            return self.quiet_until(now, timezone, None if quiet_hours == "~" else quiet_hours)

        return hold

    async def _follow(self, broadcast_id: int) -> None:
        """Show the author where their broadcast stands; at the end, the delivery report."""
        broadcast = await self._repo.get(broadcast_id)
        if broadcast is None or broadcast.status != "sending":
            return
        figures = await self.figures(broadcast)
        ended = figures.remaining == 0 and not broadcast.queueing
        if not broadcast.origin_chat_id:
            if ended:
                await self._repo.finish(broadcast.id, self.clock.now())
            return
        finish = None if ended else await self._expected_finish(broadcast, figures)
        text = self.words.progress(broadcast, figures, finish, ended)
        if text != broadcast.progress_text:
            progress = self._to_author(broadcast, Outbound(text))
            if not await self.notifier.show(progress, _progress_key(broadcast)):
                return  # the previous state is leaving right now: the next sweep shows it
            await self._repo.set_progress(broadcast.id, text)
        if ended and await self._repo.finish(broadcast.id, self.clock.now()):
            report = Outbound(self.words.report(broadcast, figures))
            key = f"broadcast:{broadcast.id}:report"
            await self.notifier.send([self._to_author(broadcast, report, key)])

    async def _expected_finish(self, broadcast: Broadcast, figures: Figures) -> datetime | None:
        """When the rest should be sent, at the lane's pace or after the quiet hours that
        hold the last recipient; None while nothing remains (still queueing)."""
        if not figures.remaining:
            return None
        rate = PAID_RATE if broadcast.paid else FREE_RATE
        finish = self.clock.now() + timedelta(seconds=figures.remaining / rate)
        held = await self._repo.last_not_before(broadcast.id)
        return held if held and held > finish else finish


def _progress_key(broadcast: Broadcast) -> str:
    """The one progress message of a broadcast, kept up to date."""
    return f"broadcast:{broadcast.id}:progress"
