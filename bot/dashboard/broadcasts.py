"""Broadcasts: compose one with its audience counted as it is typed and a preview of the
message, send it now or later; watch each one's progress; cancel what is not sent yet."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from bot.broadcast_text import audience_in_words, audience_syntax, refusal
from bot.dashboard.html import csrf_field, e, layout, notice, post_button
from bot.dashboard.server import check_csrf, html, see_other, services_of, signed
from bot.i18n import N_, _, format_datetime, format_number, ngettext
from bot.services.broadcasts import BroadcastError
from bot.services.people import NotAllowed

STATUS_LABELS = {
    "scheduled": N_("scheduled"),
    "sending": N_("sending now"),
    "done": N_("all sent"),
    "cancelled": N_("cancelled by an organizer"),
}


async def _audience_words(request: web.Request, text: str) -> tuple[str, bool]:
    """'312 volunteers — team Lyon · area 69', or why the audience cannot be read."""
    who = signed(request)
    try:
        audience, count = await services_of(request).broadcasts.audience(who.actor, text or "all")
    except BroadcastError as problem:
        return refusal(problem), False
    described = audience_in_words(audience) or _("everyone")
    people = ngettext("{n} volunteer", "{n} volunteers", count).format(n=format_number(count))
    return f"{people} — {described}", True


async def audience_count(request: web.Request) -> web.Response:
    """The live count shown under the audience field (plain text)."""
    words, _ok = await _audience_words(request, request.query.get("audience", "")[:500])
    return web.Response(text=words, content_type="text/plain")


async def broadcasts_page(request: web.Request, problem: str = "") -> web.Response:
    who = signed(request)
    board = await _board(request)
    form = await request.post() if request.method == "POST" else {}
    audience_text = str(form.get("audience", "all"))
    body_text = str(form.get("text", ""))
    # Counting "everyone" scans every volunteer: the page's script counts the audience as
    # it is typed (and at once); without the script, a sent form shows its count.
    words = (
        (await _audience_words(request, audience_text))[0]
        if request.method == "POST"
        else _("Type who should receive it: the count shows here.")
    )
    compose = (
        (notice(problem, "error") if problem else "")
        + f'<form method="post" action="/broadcasts" class="stack" id="compose">{csrf_field(who)}'
        + "<label>"
        + e(_("Audience"))
        + f'<input name="audience" value="{e(audience_text)}" autocomplete="off"'
        + ' aria-describedby="audience-count audience-help"></label>'
        + f'<p id="audience-count" class="count" role="status" aria-live="polite">{e(words)}</p>'
        + f'<p id="audience-help" class="hint">{e(audience_syntax())}</p>'
        + "<label>"
        + e(_("Message"))
        + f'<textarea name="text" required maxlength="4000">{e(body_text)}</textarea></label>'
        + '<div class="preview" aria-label="'
        + e(_("Preview"))
        + '"><div class="bubble" id="preview-text">'
        + e(body_text)
        + "</div></div>"
        + "<label>"
        + e(_("Send at (empty: now)"))
        + '<input name="send_at" type="datetime-local"></label>'
        + '<button class="primary">'
        + e(_("Send"))
        + "</button></form>"
    )
    page = board + "<h2>" + e(_("New broadcast")) + "</h2>" + compose
    return html(layout(who, _("Broadcasts"), page, "/broadcasts"), 400 if problem else 200)


async def _board(request: web.Request) -> str:
    """Recent broadcasts and where each stands (refreshed every few seconds by the script)."""
    who = signed(request)
    service = services_of(request).broadcasts
    zone = services_of(request).settings.timezone
    cards = []
    for broadcast, figures in await service.recent(who.actor, 10):
        reached = figures.sent + figures.failed + figures.blocked + figures.uncertain
        bar = (
            f'<progress max="{broadcast.recipients}" value="{reached}"></progress>'
            if broadcast.recipients
            else ""
        )
        line = _("sent: {sent} of {total} · to go: {left} · failed: {failed}").format(
            sent=format_number(figures.sent),
            total=format_number(broadcast.recipients),
            left=format_number(figures.remaining),
            failed=format_number(figures.failed + figures.blocked),
        )
        when = format_datetime(broadcast.send_at, zone)
        cancel = (
            post_button(who, f"/broadcasts/{broadcast.id}/cancel", _("Cancel"), "danger")
            if broadcast.status in ("scheduled", "sending")
            else ""
        )
        status = _(STATUS_LABELS.get(broadcast.status, broadcast.status))
        cards.append(
            f'<article class="card" id="broadcast-{broadcast.id}">'
            f"<h2>#{broadcast.id} · {e(status)}</h2>"
            f'<p class="hint">{e(when)}</p>'
            f'<div class="bubble">{e(broadcast.body[:300])}</div>'
            f"{bar}<p>{e(line)}</p>"
            f'<div class="actions">{cancel}</div></article>'
        )
    inner = "".join(cards) or notice(_("No broadcast yet."))
    return f'<div class="cards" data-live="/broadcasts">{inner}</div>'


async def send(request: web.Request) -> web.Response:
    """Record the broadcast through the chat's service; the outbox sends it, paced."""
    form = await check_csrf(request)
    who = signed(request)
    services = services_of(request)
    text = form.get("text", "").strip()
    if not text:
        return await broadcasts_page(request, _("Write the message first."))
    send_at = None
    if form.get("send_at"):
        try:
            send_at = datetime.fromisoformat(form["send_at"]).replace(
                tzinfo=services.settings.timezone
            )
        except ValueError:
            return await broadcasts_page(request, _("This date cannot be read."))
    try:
        submitted = await services.broadcasts.submit(
            who.actor, form.get("audience", ""), language=who.language, body=text, send_at=send_at
        )
    except BroadcastError as problem:
        return await broadcasts_page(request, refusal(problem))
    except NotAllowed as problem:
        return await broadcasts_page(request, str(problem))
    return see_other(f"/broadcasts#broadcast-{submitted.broadcast.id}")


async def cancel(request: web.Request) -> web.Response:
    await check_csrf(request)
    who = signed(request)
    broadcast_id = int(request.match_info["id"])
    withdrawn = await services_of(request).broadcasts.cancel(who.actor, broadcast_id)
    if withdrawn is None:
        return await broadcasts_page(request, _("This broadcast can no longer be cancelled."))
    return see_other(f"/broadcasts#broadcast-{broadcast_id}")


def register(app: web.Application) -> None:
    app.router.add_get("/broadcasts", broadcasts_page)
    app.router.add_post("/broadcasts", send)
    app.router.add_get("/broadcasts/audience", audience_count)
    app.router.add_post(r"/broadcasts/{id:\d+}/cancel", cancel)
