"""Button payloads: every kind of button declared once, with typed fields.

A button carries a short payload such as ``task:acc:12``. Each kind below says its prefix
and its fields; `pack` writes the payload when the button is made, and the router parses
it with `parse` before any handler runs, so a handler receives typed values and never
splits a string by hand. A payload that matches no declared kind exactly (forged, cut,
from an older version of Relais, "²" where a number goes) is refused by the router with
the "expired" answer and changes nothing. What the values point to (a task, an
assignment) is still checked again by the services: a well-formed payload is not a
permission.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeVar, get_args, get_origin, get_type_hints

from bot.domain.reports import ExportName, Period
from bot.messaging import Choice

# Telegram's limit for callback_data.
MAX_BYTES = 64
# The largest id SQLite stores.
MAX_ID = 2**63 - 1
_DIGITS = re.compile(r"0|[1-9][0-9]{0,18}")
# Codes (skills, periods, languages…): short, plain ASCII, never a separator.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,32}")

P = TypeVar("P", bound="Payload")

# Field types shared with the handlers that build the buttons.
CallResultCode = Literal["sup", "und", "opp", "na", "wn", "cb", "dnc"]
CallBackHours = Literal["1", "3", "24"]
EditableField = Literal["title", "quota", "closes_at", "priority"]
Messenger = Literal["telegram", "signal", "console"]
RoleName = Literal["organizer", "admin", "comms"]


class Malformed(ValueError):
    """The payload is not one of the declared kinds."""


@dataclass(frozen=True)
class Payload:
    """Base of every button kind; subclasses set `prefix` and declare their fields."""

    prefix: ClassVar[str] = ""

    def pack(self) -> str:
        """The payload as it travels in a button."""
        parts = [self.prefix]
        for name, kind in fields_of(type(self)):
            value = getattr(self, name)
            text = str(value)
            if _load(kind, text) != value:
                raise ValueError(f"{type(self).__name__}.{name}={value!r} cannot be packed")
            parts.append(text)
        data = ":".join(parts)
        if len(data.encode()) > MAX_BYTES:
            raise ValueError(f"payload {data!r} is longer than {MAX_BYTES} bytes")
        return data

    @classmethod
    def parse(cls: type[P], data: str) -> P:
        """The payload read back; raises Malformed unless it is exactly of this kind."""
        parts = data.split(":")
        fields = fields_of(cls)
        if parts[0] != cls.prefix or len(parts) != len(fields) + 1:
            raise Malformed(data)
        values = {
            name: _load(kind, raw) for (name, kind), raw in zip(fields, parts[1:], strict=True)
        }
        return cls(**values)

    def button(self, label: str) -> Choice:
        """A button showing `label` that carries this payload."""
        return Choice(label, self.pack())


_FIELDS: dict[type[Payload], tuple[tuple[str, Any], ...]] = {}


def fields_of(kind: type[Payload]) -> tuple[tuple[str, Any], ...]:
    """The declared fields of a kind and their types, in order."""
    if kind not in _FIELDS:
        hints = get_type_hints(kind)
        _FIELDS[kind] = tuple((f.name, hints[f.name]) for f in dataclasses.fields(kind))
    return _FIELDS[kind]


def _load(kind: Any, raw: str) -> Any:
    """One field from its text: int ids, short str codes, or one of a Literal's words."""
    if kind is int:
        if not _DIGITS.fullmatch(raw) or int(raw) > MAX_ID:
            raise Malformed(raw)
        return int(raw)
    if kind is str:
        if not _TOKEN.fullmatch(raw):
            raise Malformed(raw)
        return raw
    if get_origin(kind) is Literal:
        if raw not in get_args(kind):
            raise Malformed(raw)
        return raw
    raise TypeError(f"unsupported payload field type {kind!r}")


def parse(data: str, kinds: list[type[Payload]]) -> Payload | None:
    """The first of `kinds` that `data` is exactly, or None."""
    for kind in kinds:
        try:
            return kind.parse(data)
        except Malformed:
            continue
    return None


def declared() -> list[type[Payload]]:
    """Every button kind Relais knows (for checks and tests)."""
    found: list[type[Payload]] = []
    pending = list(Payload.__subclasses__())
    while pending:
        kind = pending.pop(0)
        found.append(kind)
        pending.extend(kind.__subclasses__())
    return found


# -- joining and profile ------------------------------------------------------------------


@dataclass(frozen=True)
class Joining(Payload):
    """Onboarding: language, consent, keep the name, pick a commune among homonyms, tick a
    skill or an availability."""

    prefix: ClassVar[str] = "ob"
    step: Literal["lang", "consent", "name", "place", "skill", "avail"]
    value: str


@dataclass(frozen=True)
class ProfileField(Payload):
    """/profile: which answer to change."""

    prefix: ClassVar[str] = "pf"
    field: Literal["name", "where", "skills", "availability", "language"]


@dataclass(frozen=True)
class Language(Payload):
    """/language: the language to speak."""

    prefix: ClassVar[str] = "lg"
    language: str


@dataclass(frozen=True)
class PauseSpan(Payload):
    """/pause: a break of a week or a month."""

    prefix: ClassVar[str] = "pz"
    span: Literal["week", "month"]


@dataclass(frozen=True)
class Setting(Payload):
    """/profile settings: ring and leaderboard on or off, ask for quiet hours or the time
    zone, or take the campaign's (or none)."""

    prefix: ClassVar[str] = "st"
    what: Literal["ring", "board", "ask", "quiet", "zone"]
    value: Literal["on", "off", "quiet", "zone", "campaign", "none"]


# -- privacy ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Forget(Payload):
    """/forget: erase everything, or keep it."""

    prefix: ClassVar[str] = "fg"
    answer: Literal["yes", "no"]


@dataclass(frozen=True)
class KeepData(Payload):
    """The answer to a retention warning: I stay."""

    prefix: ClassVar[str] = "rt"
    answer: Literal["keep"]


# -- tasks -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskCard(Payload):
    """A task offered: accept, skip or later."""

    prefix: ClassVar[str] = "task"
    action: Literal["acc", "skip", "later"]
    task: int


@dataclass(frozen=True)
class AssignmentTap(Payload):
    """A task accepted: done or can't."""

    prefix: ClassVar[str] = "task"
    action: Literal["done", "cant"]
    assignment: int


@dataclass(frozen=True)
class OutcomeSkip(Payload):
    """While reporting a task: no proof, no comment."""

    prefix: ClassVar[str] = "out"
    step: Literal["proof", "comment"]


@dataclass(frozen=True)
class CallingTap(Payload):
    """Phone bank: start calling, or stop for now."""

    prefix: ClassVar[str] = "call"
    action: Literal["go", "stop"]
    assignment: int


@dataclass(frozen=True)
class CallResult(Payload):
    """Phone bank: how a call went."""

    prefix: ClassVar[str] = "call"
    action: Literal["r"]
    contact: int
    result: CallResultCode


@dataclass(frozen=True)
class CallBack(Payload):
    """Phone bank: call this person back in so many hours."""

    prefix: ClassVar[str] = "call"
    action: Literal["cb"]
    contact: int
    hours: CallBackHours


# -- organizers: tasks, teams, roles ---------------------------------------------------------


@dataclass(frozen=True)
class NewTask(Payload):
    """/newtask: kind, team, audience, publish or cancel."""

    prefix: ClassVar[str] = "nt"
    step: Literal["kind", "team", "who", "preview"]
    value: str


@dataclass(frozen=True)
class TaskAdmin(Payload):
    """/tasks: pause, resume, edit, close a task, or its call list."""

    prefix: ClassVar[str] = "tadm"
    action: Literal["pause", "resume", "edit", "close", "closeok", "keep", "list", "listdone"]
    task: int


@dataclass(frozen=True)
class TaskEditField(Payload):
    """/tasks → Edit: which field."""

    prefix: ClassVar[str] = "tadm"
    action: Literal["ef"]
    task: int
    field: EditableField


@dataclass(frozen=True)
class TeamRename(Payload):
    """/teams: rename this team."""

    prefix: ClassVar[str] = "tm"
    action: Literal["ren"]
    team: int


@dataclass(frozen=True)
class TeamNew(Payload):
    """/teams: create a team."""

    prefix: ClassVar[str] = "tm"
    action: Literal["new"]


@dataclass(frozen=True)
class InviteRecruit(Payload):
    """/invite: my personal link."""

    prefix: ClassVar[str] = "iv"
    action: Literal["recruit"]


@dataclass(frozen=True)
class InviteTeam(Payload):
    """/invite: a team's join link or organizer invite."""

    prefix: ClassVar[str] = "iv"
    kind: Literal["team", "org"]
    team: int


@dataclass(frozen=True)
class Promote(Payload):
    """/promote: the role to give (team 0 for admin and the comms team)."""

    prefix: ClassVar[str] = "pr"
    role: Literal["org", "admin", "comms"]
    volunteer: int
    team: int


@dataclass(frozen=True)
class Demote(Payload):
    """/demote: the role to take away (team 0 when it has none)."""

    prefix: ClassVar[str] = "dm"
    role: RoleName
    volunteer: int
    team: int


# -- broadcasts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BroadcastStep(Payload):
    """/broadcast wizard: continue, everyone, send now, schedule, urgent, paid, cancel."""

    prefix: ClassVar[str] = "bc"
    action: Literal["audience", "all", "now", "schedule", "urgent", "paid", "abort"]


@dataclass(frozen=True)
class BroadcastTeam(Payload):
    """/broadcast wizard: send to this team."""

    prefix: ClassVar[str] = "bc"
    action: Literal["team"]
    team: int


@dataclass(frozen=True)
class BroadcastVariant(Payload):
    """/broadcast wizard: add a version in this language, or say the main text is in it."""

    prefix: ClassVar[str] = "bc"
    action: Literal["variant", "main"]
    language: str


@dataclass(frozen=True)
class BroadcastCancel(Payload):
    """/broadcasts: cancel this broadcast."""

    prefix: ClassVar[str] = "bc"
    action: Literal["cancel"]
    broadcast: int


# -- alerts, duty, ripostes ------------------------------------------------------------------


@dataclass(frozen=True)
class AlarmStep(Payload):
    """Reporting a post: raise the alarm, no thanks, send without comment."""

    prefix: ClassVar[str] = "alr"
    action: Literal["go", "no", "send"]


@dataclass(frozen=True)
class AlarmNotify(Payload):
    """Tell me when this alert is handled."""

    prefix: ClassVar[str] = "alr"
    action: Literal["notify"]
    incident: int


@dataclass(frozen=True)
class DutyTap(Payload):
    """/duty: on or off duty."""

    prefix: ClassVar[str] = "duty"
    action: Literal["on", "off"]


@dataclass(frozen=True)
class IncidentTap(Payload):
    """A page or an incident card: take it, not relevant, escalate, handled, riposte."""

    prefix: ClassVar[str] = "inc"
    action: Literal["take", "drop", "up", "done", "rip"]
    incident: int


@dataclass(frozen=True)
class RiposteStep(Payload):
    """/riposte wizard: skip the text, send now, cancel."""

    prefix: ClassVar[str] = "rpf"
    action: Literal["skip", "send", "cancel"]


@dataclass(frozen=True)
class RiposteAnswer(Payload):
    """A riposte call: I'm on it, can't now, done."""

    prefix: ClassVar[str] = "rip"
    answer: Literal["on", "no", "done"]
    riposte: int


# -- reports ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportView(Payload):
    """/report: another period or scope (a: all, t12: team 12, d75: department 75)."""

    prefix: ClassVar[str] = "rep"
    action: Literal["r"]
    period: Period
    scope: str


@dataclass(frozen=True)
class ReportChart(Payload):
    """/report: the activity chart (a) or the task funnel (f)."""

    prefix: ClassVar[str] = "rep"
    action: Literal["c"]
    chart: Literal["a", "f"]
    period: Period
    scope: str


@dataclass(frozen=True)
class Export(Payload):
    """/export: which table."""

    prefix: ClassVar[str] = "exp"
    what: ExportName


@dataclass(frozen=True)
class Digest(Payload):
    """/digest: on or off."""

    prefix: ClassVar[str] = "dig"
    state: Literal["on", "off"]


# -- linking ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreferMessenger(Payload):
    """/link: receive offers and broadcasts on this messenger."""

    prefix: ClassVar[str] = "link"
    action: Literal["prefer"]
    channel: Messenger
