"""The buttons of a page (Take it / Not relevant / Escalate / Handled / Riposte) and
/incidents: recent incidents and ripostes with their measured times, or one timeline."""

from __future__ import annotations

from bot.alert_text import (
    details,
    elapsed,
    event_label,
    headline,
    new_buttons,
    short_duration,
    status_label,
    status_line,
    taken_buttons,
)
from bot.domain.incidents import IncidentStatus
from bot.i18n import N_, _, format_time, ngettext, worded
from bot.messaging import Choice, Outbound
from bot.payloads import IncidentTap
from bot.router import Reply, Request, Router, expired
from bot.services.alerts import IncidentCard, Outcome
from bot.text import clean_name, esc, is_number
from handlers import riposte


async def on_choice(request: Request) -> Reply:
    """Take it, Not relevant, Escalate, Handled or Riposte, on a page or an incident card."""
    tap = request.tap(IncidentTap)
    action, incident_id = tap.action, tap.incident
    alerts = request.services.alerts
    name = actor_name(request)
    if action == "take":
        outcome = await alerts.take(request.actor, incident_id, name)
    elif action == "drop":
        outcome = await alerts.dismiss(request.actor, incident_id, name)
    elif action == "done":
        outcome = await alerts.handled(request.actor, incident_id, name)
    elif action == "up":
        outcome = await alerts.escalate(request.actor, incident_id, name)
        if outcome.incident is None:
            return expired()
        if outcome.done:
            return Outbound(
                _("📣 Escalated: the next ring has been paged (alert #{id}).").format(
                    id=incident_id
                )
            )
        return Outbound(_("There is no one left to page for alert #{id}.").format(id=incident_id))
    elif action == "rip":
        incident = await alerts.to_riposte(request.actor, incident_id)
        if incident is None:
            return expired()
        return await riposte.begin_for_incident(request, incident)
    else:
        return expired()
    return await _after_answer(request, outcome, action)


async def _after_answer(request: Request, outcome: Outcome, action: str) -> Reply:
    incident = outcome.incident
    if incident is None:
        return expired()
    zone = request.services.settings.timezone
    if not outcome.done:
        # Someone else answered first: say who, and change nothing.
        if incident.status is IncidentStatus.TAKEN:
            when = format_time(incident.acked_at, zone) if incident.acked_at else ""
            line = status_line("taken", incident.taken_by_name, when)
        else:
            line = status_label(incident.status)
        return Outbound(_("Alert #{id} was already answered.").format(id=incident.id) + "\n" + line)
    lines = [headline(incident), *details(incident, zone, outcome.comments)]
    if action == "take":
        lines += [
            "",
            worded(
                _(
                    "✋ You took it. The others paged can see it. Answer the post, then tap "
                    "Handled. Need volunteers to share the campaign's answer? Tap Riposte."
                ),
                _(
                    "✋ You took it. The others paged can see it. Answer the post, then answer "
                    "Handled. Need volunteers to share the campaign's answer? Answer Riposte."
                ),
            ),
        ]
        return Outbound("\n".join(lines), taken_buttons(incident.id), edit=True)
    if action == "drop":
        lines += ["", _("🚫 Marked not relevant. Paging stopped.")]
    else:
        lines += ["", _("✅ Marked handled. Reporters who asked to know are told.")]
    return Outbound("\n".join(lines), edit=True)


async def cmd_incidents(request: Request) -> Reply:
    """Lists recent incidents and ripostes with their measured times, or one timeline."""
    alerts = request.services.alerts
    args = request.inbound.args
    if args:
        if not is_number(args.lstrip("#")):
            return Outbound(_("Send /incidents, or /incidents followed by an alert number."))
        # Another team's incident is answered like a missing one: its existence is not theirs.
        # Nor is there one with ten digits or more (ids are 32-bit on PostgreSQL).
        number = args.lstrip("#")
        card = await alerts.card(request.actor, int(number)) if len(number) < 10 else None
        if card is None:
            return Outbound(_("There is no alert #{id}.").format(id=esc(args[:12])))
        return _timeline(request, card)
    incidents, ripostes = await alerts.recent(request.actor)
    if not incidents and not ripostes:
        return Outbound(_("No alert has been raised yet."))
    lines = [_("<b>Recent alerts</b>")]
    for incident in incidents:
        where = (incident.url.removeprefix("https://") or incident.summary)[:50]
        lines.append(
            f"#{incident.id} {status_label(incident.status)} · "
            + ngettext("{n} report", "{n} reports", incident.reports).format(n=incident.reports)
            + f" · {esc(where)}"
        )
        lines.append(
            "   "
            + _("paged after {paged} · answered after {answered} · escalations: {rings}").format(
                paged=short_duration(elapsed(incident.first_seen_at, incident.first_paged_at)),
                answered=short_duration(elapsed(incident.first_seen_at, incident.acked_at)),
                rings=max(0, incident.ring - 1),
            )
        )
    if ripostes:
        lines += ["", _("<b>Recent ripostes</b>")]
        for item, tally in ripostes:
            lines.append(
                f"#{item.id} · "
                + _("done {done}/{target} · on it {on_it} · called {called}").format(
                    done=tally.done, target=item.target, on_it=tally.on_it, called=tally.called
                )
            )
            lines.append(
                "   "
                + " · ".join(
                    _("{percent}% in {time}").format(percent=p, time=short_duration(t))
                    for p, t in tally.milestones.items()
                )
            )
    lines += ["", _("Send /incidents followed by a number to see an alert's timeline.")]
    return Outbound("\n".join(lines))


def _timeline(request: Request, card: IncidentCard) -> Outbound:
    """An incident, the comments its reader may read, where it stands and its timeline;
    the comms team gets the buttons that answer it."""
    incident = card.incident
    zone = request.services.settings.timezone
    lines = [headline(incident), *details(incident, zone, card.comments)]
    lines += ["", status_label(incident.status), "", _("<b>Timeline</b>")]
    lines.extend(f"{format_time(event.at, zone)} · {event_label(event)}" for event in card.events)
    buttons: tuple[tuple[Choice, ...], ...] = ()
    if incident.status == "new" and request.actor.is_comms:
        buttons = new_buttons(incident.id)
    elif incident.status == "taken" and request.actor.is_comms:
        buttons = taken_buttons(incident.id)
    return Outbound("\n".join(lines), buttons)


def actor_name(request: Request) -> str:
    """How others see who answered: the organizer's first name."""
    volunteer = request.actor.volunteer
    return clean_name((volunteer.first_name if volunteer else "") or request.inbound.first_name)[
        :64
    ]


def register(router: Router) -> None:
    router.command(
        "incidents",
        cmd_incidents,
        rank="organizer",
        description=N_("Alerts and ripostes, with how fast they were answered"),
        arguments=True,
    )
    router.choice(IncidentTap, on_choice)
