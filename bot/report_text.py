"""A report as a chat message, in the reader's language, numbers and dates their way."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date as babel_format_date

from bot.i18n import N_, _, current_language, format_date, format_number, ngettext
from bot.services.reports import Report
from bot.storage.reports import Breakdown
from bot.text import esc

KIND_LABELS = {
    "share": N_("Shares"),
    "canvass": N_("Canvassing"),
    "call": N_("Calls"),
    "text": N_("Texts"),
    "event": N_("Events"),
    "custom": N_("Other"),
}
PERIOD_LABELS = {
    "today": N_("Today"),
    "week": N_("This week"),
    "month": N_("This month"),
    "campaign": N_("The whole campaign"),
    "last_week": N_("Last week"),
}
CALL_LABELS = {
    "supporter": N_("supporter"),
    "undecided": N_("undecided"),
    "opposed": N_("opposed"),
    "no_answer": N_("no answer"),
    "wrong_number": N_("wrong number"),
    "callback": N_("call back"),
    "do_not_call": N_("do not call"),
}
DELIVERY_LABELS = {
    "sent": N_("sent"),
    "pending": N_("waiting"),
    "sending": N_("sending"),
    "failed": N_("failed"),
    "blocked": N_("blocked"),
    "uncertain": N_("uncertain"),
    "cancelled": N_("cancelled"),
}
MAX_ROWS = 12  # per-team and per-area lines in a chat message; exports have the rest


def n(value: float) -> str:
    return format_number(value)


def short_day(day: date) -> str:
    """'28 nov.' / 'Nov 28': a chart axis label."""
    return babel_format_date(day, "d MMM", locale=current_language())


def scope_title(report: Report) -> str:
    scope = report.scope
    if scope.department is not None:
        return _("area {area}").format(area=esc(scope.department))
    if scope.teams is not None and report.scope_name:
        return _("team {team}").format(team=esc(report.scope_name))
    if scope.teams is not None:
        return _("your teams")
    return _("the whole campaign")


def render(report: Report, zone: ZoneInfo) -> str:
    """The whole report as Relais markup, short lines for a phone."""
    f = report.figures
    p = f.people
    title = _(PERIOD_LABELS.get(report.period, report.period))
    header = f"📊 <b>{title}</b>"
    if not (report.period == "campaign" and report.scope.everything):
        header += f" — {scope_title(report)}"
    lines = [header]
    end = report.window.until
    if report.window.since is not None:
        last_day = end - timedelta(microseconds=1) if end > report.window.since else end
        start, finish = format_date(report.window.since, zone), format_date(last_day, zone)
        if start == finish:
            lines.append(_("On {day}").format(day=start))
        else:
            lines.append(_("From {start} to {end}").format(start=start, end=finish))
    else:
        lines.append(_("Until {end}").format(end=format_date(end, zone)))
    lines += [
        "",
        "<b>"
        + _("Volunteers: {total} · new: {new}").format(total=n(p.total), new=n(p.new))
        + "</b>",
        _("Active: {d1} in 24 h · {d7} in 7 days · {d30} in 30 days").format(
            d1=n(p.active_1d), d7=n(p.active_7d), d30=n(p.active_30d)
        ),
        _("Paused: {paused} · stopped: {stopped} · erased: {erased}").format(
            paused=n(p.paused), stopped=n(p.stopped), erased=n(p.erased)
        ),
        "",
        "<b>" + _("Tasks") + "</b> " + _("(offered → accepted → done)"),
    ]
    steps = [s for s in f.funnel if s.offered or s.accepted or s.done]
    for step in steps:
        lines.append(
            _("{kind}: {offered} → {accepted} → {done}").format(
                kind=_(KIND_LABELS[step.kind]),
                offered=n(step.offered),
                accepted=n(step.accepted),
                done=n(step.done),
            )
        )
    if not steps:
        lines.append(_("No task activity in this period."))
    w = f.work
    calls = _("Calls: {n}").format(n=n(f.calls.made))
    if f.calls.results:
        calls += " — " + ", ".join(f"{_(CALL_LABELS[r])} {n(c)}" for r, c in f.calls.results)
    d = f.deliveries
    broadcasts = ngettext("{n} broadcast", "{n} broadcasts", d.broadcasts).format(n=n(d.broadcasts))
    if d.messages:
        broadcasts += " — " + ", ".join(f"{_(DELIVERY_LABELS[s])} {n(c)}" for s, c in d.statuses)
    lines += [
        "",
        "<b>" + _("In the field") + "</b>",
        _("Doors knocked: {doors} · conversations: {talks} · supporters: {supporters}").format(
            doors=n(w.doors_knocked), talks=n(w.conversations), supporters=n(w.supporters)
        ),
        _("Shares: {shares} · people texted: {texted} · event attendance: {events}").format(
            shares=n(w.shares), texted=n(w.people_reached), events=n(w.events_attended)
        ),
        calls,
        "📣 " + broadcasts,
    ]
    for section in report.extras:
        lines += ["", f"<b>{esc(section.title)}</b>"]
        lines += [
            _("{label}: {value}").format(label=esc(label), value=esc(value))
            for label, value in section.lines
        ]
    if f.teams and (report.scope.teams is None or len(f.teams) > 1 or report.scope.everything):
        lines += ["", "<b>" + _("Per team") + "</b>"]
        lines += _breakdown_lines(f.teams, esc)
    if f.areas:
        lines += ["", "<b>" + _("Per area") + "</b>"]
        lines += _breakdown_lines(f.areas, lambda key: esc(key) if key else _("unknown"))
    return "\n".join(lines)


def _breakdown_lines(rows: tuple[Breakdown, ...], name: Callable[[str], str]) -> list[str]:
    shown = rows[:MAX_ROWS]
    lines = [
        _(
            "{name} — members {members} · active 7 days {active} · done {done}"
            " · doors {doors} · calls {calls}"
        ).format(
            name=name(b.key),
            members=n(b.members),
            active=n(b.active),
            done=n(b.done),
            doors=n(b.doors_knocked),
            calls=n(b.calls),
        )
        for b in shown
    ]
    if len(rows) > MAX_ROWS:
        lines.append(_("… and {n} more (see /export)").format(n=n(len(rows) - MAX_ROWS)))
    return lines
