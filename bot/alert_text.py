"""The words of rapid response: the pages the comms team gets, the note that someone
answered, the reporters' thanks, a riposte's call and its organizer's live board, and the
lines /incidents shows about them.

`AlertService` decides who is told what and when; the composition root (`bot/core.py`)
gives it an `AlertText`, which chooses the words, each in its reader's language. Services
never import this module (`make lint`); handlers do, for the same lines in their replies.
Importing it adds the rapid-response times to /report.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.domain.incidents import Event, EventKind, Incident, IncidentStatus
from bot.domain.ripostes import Riposte
from bot.i18n import _, format_number, format_time, ngettext, people, use_language, worded
from bot.messaging import Choice, Outbound, choices
from bot.payloads import IncidentTap, RiposteAnswer
from bot.services.alerts import COMMS, DUTY, CallState, Tally, response_times
from bot.services.reports import RAPID_RESPONSE_TIMES, ExtraSection, register_section
from bot.text import esc

if TYPE_CHECKING:
    from bot.storage.backend import Backend
    from bot.storage.reports import Scope, Window


class AlertText:
    """What rapid response says on its own, times in the campaign's zone."""

    def __init__(self, settings: Settings) -> None:
        self.zone = settings.timezone
        self.ack_minutes = settings.alert_ack_minutes

    def page(
        self, incident: Incident, ring: int, comments: Sequence[str], language: str
    ) -> Outbound:
        """The page: what was reported, how many times, the link, and the three buttons."""
        with use_language(language):
            lines = [headline(incident)]
            if incident.status is IncidentStatus.TAKEN:
                lines.append(
                    _("{name} is on it and asks for backup.").format(
                        name=esc(incident.taken_by_name) or _("an organizer")
                    )
                )
            elif ring > DUTY:
                lines.append(
                    _("Nobody on duty took it within {minutes} min: you are the next ring.").format(
                        minutes=self.ack_minutes
                    )
                    if ring == COMMS
                    else _("Still nobody took it: admins, over to you.")
                )
            lines.extend(details(incident, self.zone, comments))
            return Outbound("\n".join(lines), new_buttons(incident.id))

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
    ) -> Outbound:
        """What the others paged read once someone answered: the page without its buttons
        and who answered (`whole`), or only its headline and who answered."""
        with use_language(language):
            lines = [headline(incident)]
            if whole:
                lines += [*details(incident, self.zone), ""]
            lines.append(status_line(status, name, format_time(at, self.zone)))
            return Outbound("\n".join(lines), edit_message_id=edit_message_id)

    def handled_notice(self, incident: Incident, language: str) -> Outbound:
        """The reporters who asked to know: the campaign answered the post."""
        with use_language(language):
            text = _(
                "Thanks to you, the campaign answered the post you reported (alert #{id}). "
                "Thank you for watching out!"
            ).format(id=incident.id)
            if incident.url:
                text += f"\n{esc(incident.url)}"
            return Outbound(text)

    def call(self, riposte: Riposte, state: CallState, language: str) -> Outbound:
        """What a called volunteer sees: the link, the suggested text, the buttons."""
        with use_language(language):
            return call_card(riposte, state)

    def board(self, riposte: Riposte, tally: Tally) -> Outbound:
        """The organizer's live board: who was called, who is on it, who shared."""
        with use_language(riposte.language):
            lines = [
                _("⚡ <b>Riposte #{id}</b> · target {target}").format(
                    id=riposte.id, target=riposte.target
                ),
                link(riposte.url),
                ngettext("{n} volunteer called", "{n} volunteers called", tally.called).format(
                    n=tally.called
                ),
                _(
                    "✅ On it: {on_it} · 🏁 Done: {done} · ❌ Can't now: {cant}"
                    " · ⏳ No answer: {silent}"
                ).format(on_it=tally.on_it, done=tally.done, cant=tally.cant, silent=tally.silent),
            ]
            if riposte.widened_at:
                lines.append(
                    _("Widened at {time} to volunteers who share posts ({n} more).").format(
                        time=format_time(riposte.widened_at, self.zone), n=tally.widened
                    )
                )
            elif riposte.widen_at:
                lines.append(
                    _("If fewer than {target} are on it at {time}, I will widen the call.").format(
                        target=riposte.target, time=format_time(riposte.widen_at, self.zone)
                    )
                )
            if tally.called == 0:
                lines.append(_("Nobody in the rapid-response ring can be reached right now."))
            return Outbound("\n".join(lines))


def headline(incident: Incident) -> str:
    """'🚨 Alert #4 · 3 reports', in the current language."""
    return (
        _("🚨 <b>Alert #{id}</b>").format(id=incident.id)
        + " · "
        + ngettext("{n} report", "{n} reports", incident.reports).format(n=incident.reports)
    )


def details(incident: Incident, zone: ZoneInfo, comments: Sequence[str] = ()) -> list[str]:
    """The link, what the post says, when it was first seen, and the reporters' comments."""
    lines = []
    if incident.url:
        lines.append(link(incident.url))
    if incident.summary:
        lines.append(f"<i>{esc(incident.summary[:200])}</i>")
    lines.append(_("First seen at {time}.").format(time=format_time(incident.first_seen_at, zone)))
    if comments:
        lines.append(_("What reporters said:"))
        lines.extend(f"• {esc(c[:200])}" for c in comments)
    return lines


def new_buttons(incident_id: int) -> tuple[tuple[Choice, ...], ...]:
    """Take it / Not relevant / Escalate, under a page or an incident nobody took."""
    return choices(
        [IncidentTap("take", incident_id).button(_("✋ Take it"))],
        [
            IncidentTap("drop", incident_id).button(_("🚫 Not relevant")),
            IncidentTap("up", incident_id).button(_("📣 Escalate")),
        ],
    )


def taken_buttons(incident_id: int) -> tuple[tuple[Choice, ...], ...]:
    """Handled / Riposte / Escalate, under an incident someone took."""
    return choices(
        [
            IncidentTap("done", incident_id).button(_("✅ Handled")),
            IncidentTap("rip", incident_id).button(_("⚡ Riposte")),
        ],
        [IncidentTap("up", incident_id).button(_("📣 Escalate"))],
    )


def status_line(status: str, name: str, at: str) -> str:
    """'Taken by Ana at 14:03', in the current language."""
    who = esc(name) or _("an organizer")
    if status == "taken":
        return _("✋ Taken by {name} at {time}.").format(name=who, time=at)
    if status == "dismissed":
        return _("🚫 Marked not relevant by {name} at {time}.").format(name=who, time=at)
    return _("✅ Handled by {name} at {time}.").format(name=who, time=at)


def status_label(status: str) -> str:
    """Where an incident stands, in a few words."""
    labels = {
        "new": _("🆕 waiting for an answer"),
        "taken": _("✋ taken"),
        "dismissed": _("🚫 not relevant"),
        "handled": _("✅ handled"),
    }
    return labels.get(status, status)


def event_label(event: Event) -> str:
    """One line of an incident's timeline: 'paged on duty: 2 people', 'taken by Léa'."""
    who = esc(event.actor_name) or _("an organizer")
    if event.kind == EventKind.OPENED:
        return _("first report")
    if event.kind == EventKind.PAGED:
        ring = {1: _("on duty"), 2: _("comms team"), 3: _("admins")}.get(event.ring or 0, "?")
        return _("paged {ring}: {n}").format(ring=ring, n=people(event.count or 0))
    if event.kind == EventKind.TAKEN:
        return _("taken by {name}").format(name=who)
    if event.kind == EventKind.DISMISSED:
        return _("marked not relevant by {name}").format(name=who)
    if event.kind == EventKind.HANDLED:
        return _("handled by {name}").format(name=who)
    if event.kind == EventKind.ESCALATED:
        return _("escalated by {name}").format(name=who)
    return esc(event.kind)


def call_card(riposte: Riposte, state: CallState = "") -> Outbound:
    """A riposte's call as its volunteer sees it now, in the current language."""
    lines = [
        _("⚡ <b>Urgent: the campaign needs you now</b>"),
        _("Share our answer in the next few minutes:"),
        link(riposte.url),
    ]
    if riposte.suggested_text:
        lines += [
            "",
            _("Suggested text (copy it, change it as you like):"),
            f"<code>{esc(riposte.suggested_text)}</code>",
        ]
    if state == "on_it":
        lines += [
            "",
            worded(
                _("Thank you! Tap Done once you have shared it."),
                _("Thank you! Answer Done once you have shared it."),
            ),
        ]
        buttons = choices([RiposteAnswer("done", riposte.id).button(_("🏁 Done"))])
    elif state == "done":
        lines += ["", _("Done. Thank you, that is how we win the day!")]
        buttons = ()
    elif state == "cant":
        lines += ["", _("No problem. If you can after all:")]
        buttons = choices([RiposteAnswer("on", riposte.id).button(_("✅ I'm on it"))])
    else:
        buttons = choices(
            [
                RiposteAnswer("on", riposte.id).button(_("✅ I'm on it")),
                RiposteAnswer("no", riposte.id).button(_("❌ Can't now")),
            ]
        )
    return Outbound("\n".join(lines), buttons)


def link(url: str, shown: int = 60) -> str:
    """A link in Relais markup, its visible text cut short (the address stays whole)."""
    text = url.removeprefix("https://")
    text = text if len(text) <= shown else text[: shown - 1] + "…"
    return f'<a href="{esc(url)}">{esc(text)}</a>'


def elapsed(start: datetime | None, end: datetime | None) -> timedelta | None:
    """Time between two moments, or None if either has not happened."""
    if start is None or end is None:
        return None
    return end - start


def short_duration(delta: timedelta | None) -> str:
    """'45 s', '3 min', '2 h 05' — or '–' when it has not happened."""
    if delta is None:
        return "–"
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d}"


async def report_section(db: Backend, scope: Scope, window: Window) -> ExtraSection | None:
    """Rapid-response times in /report, in the reader's language (reports run inside it)."""
    times = await response_times(db, scope, window)
    if times is None:
        return None

    def duration(seconds: float | None) -> str:
        if seconds is None:
            return "—"
        if seconds < 120:
            return _("{n} s").format(n=format_number(round(seconds)))
        return _("{n} min").format(n=format_number(round(seconds / 60, 1)))

    return ExtraSection(
        RAPID_RESPONSE_TIMES,
        _("Rapid response"),
        (
            (_("Incidents"), format_number(times.incidents)),
            (_("Median time to first page"), duration(times.median_to_page_s)),
            (_("Median time to first answer"), duration(times.median_to_answer_s)),
            (_("Escalated past duty"), format_number(times.escalated)),
        ),
    )


register_section(RAPID_RESPONSE_TIMES, report_section)
