"""The router: one Inbound in, the right handler called, Outbounds back.

Order for each update: drop replays, hold back floods, resolve who is talking and their
language, then `/cancel`, a command, a tapped button, the pending step of a flow, and
finally the fallbacks (which always end in a helpful answer).
"""

from __future__ import annotations

import difflib
import logging
import time
import unicodedata
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot import faults
from bot.config import Identity, pick_language
from bot.domain.conversation import Conversation
from bot.domain.errors import StorageBusy, StorageError
from bot.domain.messages import Delivery, Envelope, Priority
from bot.i18n import _, current_language, set_language, set_messenger, worded
from bot.messaging import Inbound, Outbound
from bot.payloads import P, Payload, parse
from bot.services.chats import Replayed, Turn
from bot.services.people import RANK, VOLUNTEER, Actor, NotAllowed
from bot.text import MAX_TEXT, esc

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

Reply = Outbound | Sequence[Outbound] | None
Handler = Callable[["Request"], Awaitable[Reply]]

# Commands in French (the campaign's first language), typed with or without accents: /tâche
# and /tache are /task. English names always work too.
ALIASES: dict[str, str] = {
    "aide": "help",
    "demarrer": "start",
    "commencer": "start",
    "annuler": "cancel",
    "tache": "task",
    "taches": "tasks",
    "mestaches": "mytasks",
    "moi": "me",
    "profil": "profile",
    "langue": "language",
    "reprendre": "resume",
    "arret": "stop",
    "arreter": "stop",
    "donnees": "mydata",
    "mesdonnees": "mydata",
    "oublier": "forget",
    "inviter": "invite",
    "equipes": "teams",
    "promouvoir": "promote",
    "retrograder": "demote",
    "journal": "audit",
    "benevoles": "volunteers",
    "nouvelletache": "newtask",
    "diffuser": "broadcast",
    "diffusion": "broadcast",
    "diffusions": "broadcasts",
    "astreinte": "duty",
    "rapport": "report",
    "lier": "link",
    "cercle": "ring",
    "classement": "leaderboard",
    "calme": "quiet",
    "heurescalmes": "quiet",
    "fuseau": "timezone",
}
# Commands whose English name stays the one to show in French: /start is what Telegram's
# own "Démarrer" button sends.
SHOWN_IN_ENGLISH = frozenset({"start"})


def _unaccented(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@dataclass(frozen=True, slots=True)
class Command:
    """A slash command, who may use it, and how it appears in the menu."""

    name: str
    handler: Handler
    rank: str = VOLUNTEER
    personal: bool = True  # refers to the sender's own data: private chats only
    description: str = ""  # marked with N_, translated when the menu is shown
    menu: bool = True
    # The language whose menu and /help show this name ("" for all): /alerte in French,
    # /alert in English; both work for everyone.
    language: str = ""
    # Reads the words typed after it ("/pause 2 weeks"): only such a command typed as a
    # word ("pause 2 weeks") is taken with more words after it.
    arguments: bool = False


@dataclass(slots=True)
class Request:
    """Everything a handler needs about one update."""

    inbound: Inbound
    actor: Actor
    services: Services
    turn: Turn
    now: datetime
    router: Router
    extra: dict[str, Any] = field(default_factory=dict)
    # The tapped button's payload, parsed by the router before the handler runs.
    payload: Payload | None = None

    @property
    def text(self) -> str:
        return self.inbound.text

    @property
    def conversation(self) -> Conversation | None:
        """The flow in progress in this chat, as this update leaves it so far."""
        return self.turn.conversation

    def tap(self, kind: type[P]) -> P:
        """The tapped payload as `kind` (the router only calls a handler with its kinds)."""
        if not isinstance(self.payload, kind):
            raise TypeError(f"expected a {kind.__name__} payload, got {self.payload!r}")
        return self.payload

    # The flow's moves are written once, when the update has been handled (with the
    # update's key), not at each call: a flow step costs one transaction at most.

    async def begin(self, flow: str, step: str, data: dict[str, Any] | None = None) -> None:
        """Start (or restart) a multi-step flow in this chat."""
        self.turn.move(Conversation(flow, step, dict(data or {})))

    async def goto(self, step: str, **updates: Any) -> None:
        """Move the current flow to `step`, adding answers to its data."""
        conversation = self.turn.conversation
        if conversation is None:
            raise RuntimeError("no flow in progress")
        data = {**conversation.data, **updates}
        self.turn.move(Conversation(conversation.flow, step, data))

    async def finish(self) -> None:
        """End the flow in progress, if any."""
        self.turn.move(None)


@dataclass(frozen=True, slots=True)
class AnswerLane:
    """Where a messenger's answers go once written with what their update changed."""

    # Given the rows written (in this process's hands, or queued for the elected sender).
    take: Callable[[list[Delivery]], None]
    # False with several processes: the rows are queued as pending, for whichever process
    # sends this messenger; `take` only wakes it.
    in_hand: bool = True


class FloodGate:
    """At most `limit` updates per person per `window` seconds; warn once, then drop."""

    def __init__(self, limit: int = 15, window: float = 10.0) -> None:
        self.limit = limit
        self.window = window
        self._seen: dict[str, deque[float]] = {}
        self._warned: set[str] = set()

    def check(self, key: str) -> str:
        """'ok', 'warn' (first excess) or 'drop'."""
        now = time.monotonic()
        stamps = self._seen.setdefault(key, deque())
        while stamps and now - stamps[0] > self.window:
            stamps.popleft()
        if len(stamps) < self.limit:
            stamps.append(now)
            self._warned.discard(key)
            if len(self._seen) > 10_000:
                self._prune(now)
            return "ok"
        if key in self._warned:
            return "drop"
        self._warned.add(key)
        return "warn"

    def _prune(self, now: float) -> None:
        stale = [k for k, v in self._seen.items() if not v or now - v[-1] > self.window]
        for key in stale:
            del self._seen[key]


def as_list(reply: Reply) -> list[Outbound]:
    if reply is None:
        return []
    if isinstance(reply, Outbound):
        return [reply]
    return list(reply)


class Router:
    """Finds the handler for each update."""

    def __init__(self, services: Services, flood: FloodGate | None = None) -> None:
        self.services = services
        self.flood = flood or FloodGate()
        self.commands: dict[str, Command] = {}
        # Button kinds by prefix, each with its handler; tried in registration order.
        self.choices: dict[str, list[tuple[type[Payload], Handler]]] = {}
        self.flows: dict[str, Handler] = {}
        # Flows that want a file at some step; every other flow is spared photos and documents.
        self.file_flows: set[str] = set()
        self.fallbacks: list[Handler] = []
        # Per messenger, the lane that sends an update's answers once they are written
        # with what the update changed (set by the app; elsewhere answers stay in memory).
        self.lanes: dict[str, AnswerLane] = {}

    # -- registration -------------------------------------------------------------------

    def command(
        self,
        name: str,
        handler: Handler,
        *,
        rank: str = VOLUNTEER,
        personal: bool = True,
        description: str = "",
        menu: bool = True,
        language: str = "",
        arguments: bool = False,
    ) -> None:
        """Route `/name` to `handler` for people of at least `rank`."""
        if name in self.commands:
            raise ValueError(f"command /{name} registered twice")
        self.commands[name] = Command(
            name, handler, rank, personal, description, menu, language, arguments
        )

    def choice(self, kinds: type[Payload] | Sequence[type[Payload]], handler: Handler) -> None:
        """Route taps on buttons of these declared kinds (bot/payloads.py) to `handler`."""
        for kind in (kinds,) if isinstance(kinds, type) else kinds:
            registered = self.choices.setdefault(kind.prefix, [])
            if any(known is kind for known, _handler in registered):
                raise ValueError(f"button kind {kind.__name__} registered twice")
            registered.append((kind, handler))

    def flow(self, name: str, handler: Handler, *, files: bool = False) -> None:
        """Route what a person types while flow `name` waits for an answer (and the photos
        and documents they send, if `files`: the handler then checks what it got)."""
        self.flows[name] = handler
        if files:
            self.file_flows.add(name)

    def fallback(self, handler: Handler) -> None:
        """Try `handler` for anything else; it returns None to pass."""
        self.fallbacks.append(handler)

    def command_name(self, typed: str) -> str:
        """The command a typed word names ('tâche' → 'task'), or '' if none."""
        word = _unaccented(typed)
        if word in self.commands or word == "cancel":
            return word
        name = ALIASES.get(word, "")
        return name if name in self.commands or name == "cancel" else ""

    def shown_name(self, name: str) -> str:
        """The name /help shows for a command in the reader's language: 'tache' for 'task'
        in French (both work)."""
        if current_language() == "fr" and name not in SHOWN_IN_ENGLISH:
            for alias, command in ALIASES.items():
                if command == name:
                    return alias
        return name

    def command_words(self) -> set[str]:
        """Every word that names a command: English names and French aliases."""
        return {*self.commands, "cancel", *(a for a, n in ALIASES.items() if self.command_name(n))}

    def _near_miss(self, typed: str, rank: str) -> str:
        """The command word closest to a mistyped one ('strat' → 'start'), or ''."""
        allowed = {c.name for c in self.commands.values() if RANK[c.rank] <= RANK[rank]}
        words = [*allowed, *(a for a, n in ALIASES.items() if n in allowed)]
        close = difflib.get_close_matches(_unaccented(typed), words, n=1, cutoff=0.7)
        return close[0] if close else ""

    def menu(self, rank: str) -> list[Command]:
        """Commands shown to someone of this rank in the current language, in registration
        order."""
        language = current_language()
        return [
            c
            for c in self.commands.values()
            if c.menu and RANK[c.rank] <= RANK[rank] and c.language in ("", language)
        ]

    # -- dispatch -----------------------------------------------------------------------

    async def dispatch(self, inbound: Inbound) -> list[Outbound]:
        """Handle one update and return what to answer from memory: possibly nothing, and
        nothing when its messenger's lane took the answers, written with what it changed."""
        return _dressed(inbound, await self._dispatch(inbound))

    async def _dispatch(self, inbound: Inbound) -> list[Outbound]:
        services = self.services
        now = services.clock.now()
        set_language(pick_language(inbound.language_code, services.settings.language))
        set_messenger(inbound.channel)
        turn = None
        try:
            # No phone number in what is stored or logged (a copy only where the key changes).
            if inbound.update_key and (tagged := services.privacy.update_key(inbound)) != (
                inbound.update_key
            ):
                inbound = replace(inbound, update_key=tagged)
            key = f"{inbound.channel}:{inbound.update_key}" if inbound.update_key else ""
            await faults.stall(inbound.chat_id)
            turn = await services.chats.begin(
                key, inbound.channel, inbound.chat_id, now, private=inbound.private
            )
            gate = self.flood.check(f"{inbound.channel}:{inbound.user_id}")
            if gate == "drop":
                return []
            identity = Identity(inbound.channel, inbound.user_id)
            actor = await services.people.actor(identity, inbound.chat_id)
            if actor.volunteer:
                set_language(actor.volunteer.language)
            if gate == "warn":
                return [Outbound(_("You are going too fast. Wait a few seconds and try again."))]
            request = Request(inbound, actor, services, turn, now, self)
            replies = as_list(await self._route(request))
            faults.point("before-answers")
            # Before anything is answered: what the answer says was done is on disk, and
            # with it (where a lane takes them) the answers themselves.
            lane = self.lanes.get(inbound.channel)
            answers = _envelopes(inbound, _dressed(inbound, replies)) if lane else []
            # The lane takes them right after the commit, before what waited for it.
            queued = await services.chats.end(
                turn,
                actor,
                answers,
                in_hand=lane is None or lane.in_hand,
                hand=lane.take if lane is not None else None,
            )
            faults.point("answers-queued")
            if queued and lane is not None:
                return []
            return replies
        except Replayed:
            log.info("replayed update %s ignored", inbound.update_key)
            return []
        except NotAllowed as refusal:
            if refusal.args and refusal.args[0] == "admin":
                return [Outbound(_("Sorry, this is for admins only."))]
            return [Outbound(_("Sorry, this is for organizers only."))]
        except OverflowError:
            # A number beyond what the database stores: typed or forged, it fits nothing.
            if inbound.choice:
                return [expired()]
            return [Outbound(_("That number is too large."))]
        except StorageBusy:
            log.warning("database busy; update %s answered with a retry notice", inbound.update_key)
            return [
                Outbound(
                    _(
                        "Relais is very busy right now. Nothing was changed: please try "
                        "again in a minute."
                    )
                )
            ]
        except StorageError:
            log.exception("storage error on update %s", inbound.update_key)
            return [
                Outbound(
                    _(
                        "Something went wrong on our side. Nothing was changed: please "
                        "try again later."
                    )
                )
            ]
        except Exception:
            log.exception("error on update %s", inbound.update_key)
            return [
                Outbound(
                    _(
                        "Something went wrong on our side. Nothing was changed: please "
                        "try again later."
                    )
                )
            ]
        finally:
            if turn is not None:
                await turn.close()

    async def _route(self, request: Request) -> Reply:
        inbound = request.inbound
        if len(inbound.text) > MAX_TEXT:
            return Outbound(
                _("That message is too long (over 4096 characters). Please send a shorter one.")
            )
        if inbound.worded and not self._worded_command(request):
            # A sentence that starts with a command's name: the text it is.
            inbound = replace(inbound, text=inbound.text.removeprefix("/"), worded=False)
            request.inbound = inbound
        typed = inbound.command
        command = self.command_name(typed) if typed else ""
        if command == "cancel":
            return await self._cancel(request)
        if typed:
            spec = self.commands.get(command)
            if spec is None:
                guess = self._near_miss(typed, request.actor.rank)
                if guess:
                    return Outbound(
                        _("I don't know the command /{command}. Did you mean /{guess}?").format(
                            command=esc(typed[:32]), guess=guess
                        )
                    )
                return Outbound(
                    _(
                        "I don't know the command /{command}. Send /help to see what I can do."
                    ).format(command=esc(typed[:32]))
                )
            if spec.personal and not inbound.private:
                return Outbound(_("Write to me in a private chat for that."))
            request.actor.require(spec.rank)
            return await spec.handler(request)
        if not inbound.private:
            return None  # in groups Relais only answers commands
        if inbound.choice:
            # Parsed here, once: a payload of no declared kind never reaches a handler.
            registered = self.choices.get(inbound.choice.split(":", 1)[0], [])
            payload = parse(inbound.choice, [kind for kind, _handler in registered])
            if payload is None:
                return expired()
            request.payload = payload
            handler = next(h for kind, h in registered if type(payload) is kind)
            return await handler(request)
        flow = request.conversation.flow if request.conversation else ""
        if flow in self.flows:
            if inbound.file is not None and flow not in self.file_flows:
                return Outbound(
                    _("I can't use a file here. Please answer with a message, or send /cancel.")
                )
            return await self.flows[flow](request)
        if inbound.stale_choice:
            return expired()  # "2" or "B2" for a list no longer known (e.g. before a restart)
        # Fallbacks see files too: a forwarded post with a photo can still raise the alarm.
        for fallback in self.fallbacks:
            reply = await fallback(request)
            if reply is not None:
                return reply
        if inbound.file is not None:
            return Outbound(
                _(
                    "I only use files when I ask for one: a screenshot as proof of a shared "
                    "post, or a call list (CSV) for a phone bank. Send /help to see what I can do."
                )
            )
        volunteer = request.actor.volunteer
        if volunteer is None or volunteer.status in ("onboarding", "erased"):
            # Someone who has not joined (yet): the one thing to do is /start.
            return Outbound(
                _("Hello! I am Relais, the campaign's volunteer bot. To join, send /start.")
            )
        return Outbound(_("I didn't understand that. Send /help to see what I can do."))

    def _worded_command(self, request: Request) -> bool:
        """Whether a command typed without its slash is that command: alone always ("aide",
        "stop"); followed by more words only where the command reads them and no flow waits
        for an answer ("lier abcd" is /link, "Stop à la réforme !" and, mid-flow, "Alerte
        Nord" are texts)."""
        inbound = request.inbound
        if not inbound.args:
            return True
        spec = self.commands.get(self.command_name(inbound.command))
        return spec is not None and spec.arguments and request.conversation is None

    async def _cancel(self, request: Request) -> Reply:
        if request.conversation is None:
            return Outbound(_("There is nothing to cancel."))
        await request.finish()
        return Outbound(_("Cancelled. Nothing more was saved."))


def _dressed(inbound: Inbound, replies: list[Outbound]) -> list[Outbound]:
    """The answers to a typed numbered choice (messengers without buttons), as its
    messenger shows them: the first one says which list and choice it was taken for when
    several were on screen, and names the list it uses up when an answer edits (there is
    no message to edit: the list's numbers stop counting once the answer is shown)."""
    if not inbound.offer or not replies:
        return replies
    first = replies[0]
    if inbound.acted_on:
        first = replace(first, text=esc(inbound.acted_on) + "\n" + first.text)
    if any(o.edit for o in replies):
        first = replace(first, retires=inbound.offer)
    return [first, *replies[1:]]


def _envelopes(inbound: Inbound, replies: list[Outbound]) -> list[Envelope]:
    """An update's answers as outbox rows for its chat; none if one carries a file (an
    export or a chart is sent from memory: personal data is not copied into the outbox)."""
    if any(o.attachment is not None for o in replies):
        return []
    answers = []
    for outbound in replies:
        if outbound.edit and inbound.message_id:
            # Replace the message whose button was tapped (a new one if it cannot be edited).
            outbound = replace(outbound, edit=False, edit_message_id=inbound.message_id)
        answers.append(
            Envelope("reply", inbound.channel, inbound.chat_id, outbound, priority=Priority.REPLY)
        )
    return answers


def expired() -> Outbound:
    """The answer to a stale, forged or someone else's button (or numbered choice)."""
    return Outbound(
        worded(
            _("This button has expired. Nothing was changed."),
            _("This choice has expired. Nothing was changed."),
        )
    )
