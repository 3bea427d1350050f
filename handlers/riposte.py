"""/riposte: an organizer calls the rapid-response ring to share the campaign's answer;
called volunteers answer I'm on it / Can't now, then Done."""

from __future__ import annotations

from dataclasses import replace

from bot.alert_text import call_card
from bot.answers import parse_count
from bot.domain.incidents import Incident
from bot.i18n import N_, _, current_language, ngettext, worded
from bot.links import display_url, find_links, link_key
from bot.messaging import Outbound, choices
from bot.payloads import RiposteAnswer, RiposteStep
from bot.router import Reply, Request, Router, expired
from bot.services.alerts import RIPOSTE_WIDEN_MINUTES
from bot.text import clean, esc

FLOW = "riposte"
# Steps of the riposte flow: what Relais waits for in each.
STEPS = {
    "link": "the link volunteers should share",
    "text": "a suggested text, or Skip",
    "target": "how many volunteers should share it",
    "confirm": "Send now or Cancel",
}
MAX_TARGET = 10_000


async def cmd_riposte(request: Request) -> Reply:
    """Asks for the link to share (or takes the one given), then text, target, confirmation."""
    request.services.alerts.riposte_scope(request.actor)
    url = _link_in(request, request.inbound.args)
    if url:
        await request.begin(FLOW, "text", {"url": url})
        return ask_text(url)
    await request.begin(FLOW, "link")
    return Outbound(
        _("⚡ Riposte: send me the link volunteers should share (usually the campaign's answer).")
    )


async def begin_for_incident(request: Request, incident: Incident) -> Reply:
    """From a page: a riposte about this incident (`AlertService.to_riposte` checked the
    organizer may launch one); asks for the link to share."""
    await request.begin(FLOW, "link", {"incident": incident.id})
    return Outbound(
        _(
            "⚡ Riposte to alert #{id}: send me the link volunteers should share "
            "(usually the campaign's answer)."
        ).format(id=incident.id)
    )


async def on_step(request: Request) -> Reply:
    """Takes the link, the suggested text and the target, in that order."""
    conversation = request.conversation
    assert conversation is not None
    text = clean(request.inbound.text)
    if conversation.step == "link":
        url = _link_in(request, text)
        if not url:
            return Outbound(_("I need a link (https://…). Try again, or /cancel."))
        await request.goto("text", url=url)
        return ask_text(url)
    if conversation.step == "text":
        if not text:
            return ask_text(str(conversation.data.get("url", "")))
        await request.goto("target", text=text[:1000])
        return ask_target()
    if conversation.step == "target":
        target = parse_count(text)
        if target is None or not 1 <= target <= MAX_TARGET:
            return Outbound(
                _("Send a number from 1 to {max}.").format(max=MAX_TARGET), answer="number"
            )
        return await _confirm(request, target)
    return Outbound(worded(_("Tap Send now, or /cancel."), _("Answer Send now, or /cancel.")))


async def on_flow_choice(request: Request) -> Reply:
    """Skip the text, pick a target, Send now or Cancel."""
    conversation = request.conversation
    if conversation is None or conversation.flow != FLOW:
        return expired()
    action = request.tap(RiposteStep).action
    if action == "cancel":
        await request.finish()
        return Outbound(_("Cancelled. Nobody was called."), edit=True)
    if action == "skip" and conversation.step == "text":
        await request.goto("target", text="")
        return ask_target(edit=True)
    if action == "send" and conversation.step == "confirm":
        data = conversation.data
        await request.finish()
        incident = data.get("incident")
        riposte = await request.services.alerts.start_riposte(
            request.actor,
            url=str(data.get("url", "")),
            suggested_text=str(data.get("text", "")),
            target=int(data.get("target", 1)),
            incident_id=incident if isinstance(incident, int) else None,
            language=current_language(),
        )
        return Outbound(
            _(
                "⚡ Riposte #{id} sent. Your live board follows and updates as volunteers answer."
            ).format(id=riposte.id),
            edit=True,
        )
    return expired()


async def _confirm(request: Request, target: int) -> Reply:
    await request.goto("confirm", target=target)
    data = request.conversation.data if request.conversation else {}
    ring = await request.services.alerts.first_ring(request.actor)
    lines = [
        _("<b>Ready to call the rapid-response ring</b>"),
        esc(str(data.get("url", ""))),
    ]
    if data.get("text"):
        lines.append(f"<code>{esc(str(data['text']))}</code>")
    lines += [
        ngettext(
            "Target: {n} volunteer sharing it.", "Target: {n} volunteers sharing it.", target
        ).format(n=target),
        ngettext(
            "{n} volunteer of the rapid-response ring can be reached now.",
            "{n} volunteers of the rapid-response ring can be reached now.",
            len(ring),
        ).format(n=len(ring)),
        _(
            "If fewer than {target} are on it after {minutes} min, I will widen the call to "
            "every volunteer who shares posts. Stopped and paused volunteers are never called."
        ).format(target=target, minutes=RIPOSTE_WIDEN_MINUTES),
    ]
    if not ring:
        lines.append(_("Volunteers join the ring with /ring, or from /profile."))
    return Outbound(
        "\n".join(lines),
        choices(
            [RiposteStep("send").button(_("⚡ Send now"))],
            [RiposteStep("cancel").button(_("Cancel"))],
        ),
    )


async def on_answer(request: Request) -> Reply:
    """A called volunteer taps I'm on it, Can't now or Done; the card changes in place."""
    tap = request.tap(RiposteAnswer)
    answer = {"on": "on_it", "no": "cant", "done": "done"}[tap.answer]
    answered = await request.services.alerts.respond(request.actor, tap.riposte, answer)
    if answered is None:
        return expired()
    return replace(call_card(answered.riposte, answered.state), edit=True)


def ask_text(url: str) -> Outbound:
    return Outbound(
        _("Link: {url}").format(url=esc(url))
        + "\n\n"
        + _("Suggest a text volunteers can copy when they share it, or skip."),
        choices([RiposteStep("skip").button(_("Skip"))]),
        answer="text",
    )


def ask_target(*, edit: bool = False) -> Outbound:
    return Outbound(
        _("How many volunteers should share it? Send a number."),
        edit=edit,
        answer="number",
    )


def _link_in(request: Request, text: str) -> str:
    for url in [*request.inbound.extra.get("urls", ()), *find_links(text)]:
        try:
            return display_url(link_key(url))
        except ValueError:
            continue
    return ""


def register(router: Router) -> None:
    router.command(
        "riposte",
        cmd_riposte,
        rank="organizer",
        description=N_("Call the rapid-response ring to share the campaign's answer"),
        arguments=True,
    )
    router.flow(FLOW, on_step)
    router.choice(RiposteStep, on_flow_choice)
    router.choice(RiposteAnswer, on_answer)
