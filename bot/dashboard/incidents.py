"""Incidents: the live board of alerts raised by volunteers; take one, close it (handled
or not relevant), or launch a riposte; ripostes in progress with their counts."""

from __future__ import annotations

from aiohttp import web

from bot.dashboard.html import csrf_field, e, layout, notice, post_button
from bot.dashboard.server import check_csrf, html, see_other, services_of, signed
from bot.i18n import N_, _, current_language, format_time, ngettext
from bot.links import find_links
from bot.services.alerts import Outcome
from bot.services.people import NotAllowed
from bot.text import clean_name

STATUS_LABELS = {
    "new": N_("waiting for an answer"),
    "taken": N_("taken"),
    "dismissed": N_("not relevant"),
    "handled": N_("handled"),
}
MAX_TARGET = 10_000


def _name(request: web.Request) -> str:
    """How others see who answered: the organizer's first name."""
    volunteer = signed(request).actor.volunteer
    return clean_name(volunteer.first_name if volunteer else "")[:64] or _("an organizer")


async def incidents_page(request: web.Request, problem: str = "") -> web.Response:
    who = signed(request)
    alerts = services_of(request).alerts
    try:
        alerts.require_reader(who.actor)
    except NotAllowed:
        raise web.HTTPForbidden() from None
    body = (notice(problem, "error") if problem else "") + await _board(request)
    return html(layout(who, _("Incidents"), body, "/incidents"), 400 if problem else 200)


async def _board(request: web.Request) -> str:
    who = signed(request)
    services = services_of(request)
    zone = services.settings.timezone
    incidents, ripostes = await services.alerts.recent(who.actor)
    cards = []
    for incident in incidents:
        status = _(STATUS_LABELS.get(incident.status, incident.status))
        if incident.status == "taken" and incident.taken_by_name:
            status += " · " + incident.taken_by_name
        reports = ngettext("{n} report", "{n} reports", incident.reports).format(n=incident.reports)
        seen = format_time(incident.first_seen_at, zone)
        link = (
            f'<p><a href="{e(incident.url)}" rel="noopener noreferrer" target="_blank">'
            f"{e(incident.url[:80])}</a></p>"
            if incident.url.startswith(("https://", "http://"))
            else ""
        )
        actions = []
        if incident.status == "new":
            actions.append(
                post_button(who, f"/incidents/{incident.id}/take", _("Take it"), "primary")
            )
        if incident.status in ("new", "taken"):
            actions.append(post_button(who, f"/incidents/{incident.id}/handled", _("Handled")))
            actions.append(
                post_button(who, f"/incidents/{incident.id}/dismiss", _("Not relevant"), "danger")
            )
        riposte = (
            "<details><summary>"
            + e(_("Riposte"))
            + f'</summary><form method="post" action="/incidents/{incident.id}/riposte"'
            + f' class="stack">{csrf_field(who)}<label>'
            + e(_("Link to share"))
            + '<input name="url" type="url" required inputmode="url"></label><label>'
            + e(_("Suggested text"))
            + '<textarea name="text" maxlength="1000"></textarea></label><label>'
            + e(_("How many volunteers should share it"))
            + f'<input name="target" type="number" min="1" max="{MAX_TARGET}" value="20"'
            + ' required></label><button class="primary">'
            + e(_("Call the rapid-response ring"))
            + "</button></form></details>"
            if incident.status in ("new", "taken")
            else ""
        )
        cards.append(
            f'<article class="card" id="incident-{incident.id}">'
            f"<h2>#{incident.id} · {e(status)}</h2>"
            f'<p class="hint">{e(seen)} · {e(reports)}</p>{link}'
            f"<p>{e(incident.summary[:280])}</p>"
            f'<div class="actions">{"".join(actions)}</div>{riposte}</article>'
        )
    for riposte_row, tally in ripostes:
        line = _("called: {called} · on it: {on_it} · shared: {done} · can't: {cant}").format(
            called=tally.called, on_it=tally.on_it, done=tally.done, cant=tally.cant
        )
        shared = tally.done if tally.done < riposte_row.target else riposte_row.target
        cards.append(
            f'<article class="card" id="riposte-{riposte_row.id}">'
            "<h2>"
            + e(_("Riposte"))
            + f" #{riposte_row.id}</h2>"
            + f'<progress max="{riposte_row.target}" value="{shared}">'
            f"</progress><p>{e(line)}</p><p>{e(riposte_row.url[:80])}</p></article>"
        )
    inner = "".join(cards) or notice(_("No alert has been raised yet."))
    return f'<div class="cards" data-live="/incidents">{inner}</div>'


async def answer(request: web.Request) -> web.Response:
    """Take it, Handled or Not relevant: the same service calls as the page's buttons."""
    await check_csrf(request)
    who = signed(request)
    alerts = services_of(request).alerts
    incident_id = int(request.match_info["id"])
    action = request.match_info["action"]
    name = _name(request)
    try:
        if action == "take":
            outcome: Outcome = await alerts.take(who.actor, incident_id, name)
        elif action == "handled":
            outcome = await alerts.handled(who.actor, incident_id, name)
        else:
            outcome = await alerts.dismiss(who.actor, incident_id, name)
    except NotAllowed:
        return await incidents_page(request, _("Only the comms team and admins answer alerts."))
    if outcome.incident is None or not outcome.done:
        return await incidents_page(
            request, _("Alert #{id} was already answered.").format(id=incident_id)
        )
    return see_other(f"/incidents#incident-{incident_id}")


async def riposte(request: web.Request) -> web.Response:
    """Call the rapid-response ring to share the campaign's answer to this incident."""
    form = await check_csrf(request)
    who = signed(request)
    alerts = services_of(request).alerts
    incident_id = int(request.match_info["id"])
    links = find_links(form.get("url", ""))
    target = form.get("target", "")
    if not links:
        return await incidents_page(request, _("Give the link volunteers should share."))
    if not target.isdigit() or not 1 <= int(target) <= MAX_TARGET:
        return await incidents_page(
            request, _("Say how many volunteers should share it (1 to 10,000).")
        )
    try:
        if await alerts.readable(who.actor, incident_id) is None:
            raise web.HTTPNotFound()
        await alerts.start_riposte(
            who.actor,
            url=links[0],
            suggested_text=form.get("text", ""),
            target=int(target),
            incident_id=incident_id,
            language=current_language(),
        )
    except NotAllowed:
        return await incidents_page(request, _("Only the comms team and admins answer alerts."))
    return see_other(f"/incidents#incident-{incident_id}")


def register(app: web.Application) -> None:
    app.router.add_get("/incidents", incidents_page)
    app.router.add_post(r"/incidents/{id:\d+}/{action:take|handled|dismiss}", answer)
    app.router.add_post(r"/incidents/{id:\d+}/riposte", riposte)
