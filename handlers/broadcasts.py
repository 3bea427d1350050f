"""/broadcast (a wizard: message, buttons, audience, variants, preview, send or schedule)
and /broadcasts (recent and scheduled broadcasts, with their figures; cancel)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.broadcast_text import (
    audience_in_words,
    audience_syntax,
    button_row,
    figures_line,
    refusal,
)
from bot.config import LANGUAGES
from bot.domain.broadcasts import Broadcast
from bot.i18n import (
    N_,
    _,
    current_language,
    format_datetime,
    language_in_words,
    ngettext,
    worded,
)
from bot.messaging import Choice, Outbound, choices
from bot.payloads import BroadcastCancel, BroadcastStep, BroadcastTeam, BroadcastVariant
from bot.router import Reply, Request, Router, expired
from bot.services.broadcasts import (
    AudienceChoices,
    BroadcastError,
    Preview,
    check_markup,
    parse_audience,
)
from bot.text import clean, esc, to_plain
from bot.when import read_moment
from bot.when_text import moment_refusal

FLOW = "broadcast"
# Steps of the wizard: what the person is asked for at each one.
STEPS = {
    "text": "the message, in Relais markup (Telegram's HTML subset)",
    "buttons": "a link button 'Label https://…', a task button 'task:N', or Continue",
    "audience": "filters typed (team:, area:, skill:, lang:, active:) or a tapped choice",
    "variant": "the message in another language",
    "confirm": "send now, schedule, urgent, paid, the main text's language, add a language, cancel",
    "when": "the date and time to send at",
}
MAX_TEAM_BUTTONS = 6


# -- /broadcast -----------------------------------------------------------------------------


async def cmd_broadcast(request: Request) -> Reply:
    """Starts the wizard: asks for the message, saying which formatting is allowed."""
    await request.begin(
        FLOW,
        "text",
        {"buttons": [], "variants": {}, "urgent": False, "language": current_language()},
    )
    return Outbound(
        _("<b>New broadcast</b>")
        + "\n\n"
        + _(
            "Send the message as volunteers should read it. You may use <b>bold</b>, "
            '<i>italics</i> and links written &lt;a href="https://…"&gt;text&lt;/a&gt;.'
        )
        + "\n"
        + _("/cancel stops here; nothing is sent.")
    )


async def on_step(request: Request) -> Reply:
    """Takes what the organizer typed at the current step of the wizard."""
    assert request.conversation is not None
    step = request.conversation.step
    text = clean(request.text)
    if not text:
        return Outbound(_("Please answer with text, or /cancel."))
    try:
        if step == "text":
            check_markup(text)
            await request.goto("buttons", body=text)
            return _ask_buttons(0, request.services.broadcasts.task_to_offer is not None)
        if step == "buttons":
            buttons = list(request.conversation.data.get("buttons", []))
            added = await request.services.broadcasts.button(
                request.actor, text, added=len(buttons)
            )
            buttons.append(list(button_row(added)))
            await request.goto("buttons", buttons=buttons)
            if added.then is not None:  # the last button allowed: on to the audience
                return await _ask_audience(request, added.then)
            return _ask_buttons(len(buttons), request.services.broadcasts.task_to_offer is not None)
        if step == "audience":
            return await _take_audience(request, await _previewed(request, audience=text))
        if step == "variant":
            check_markup(text)
            variants = dict(request.conversation.data.get("variants", {}))
            variants[request.conversation.data["variant"]] = text
            await request.goto("confirm", variants=variants)
            return await _preview_again(request)
        if step == "when":
            return await _take_when(request, text)
    except BroadcastError as exc:
        return Outbound(refusal(exc))
    return Outbound(
        worded(
            _("Tap one of the buttons above, or /cancel."),
            _("Answer with the number of a choice above, or /cancel."),
        )
    )


def _ask_buttons(added: int, tasks: bool) -> Outbound:
    if added:
        text = worded(
            _("Button added. Send another one, or tap Continue."),
            _("Button added. Send another one, or answer Continue."),
        )
    else:
        text = _(
            "Add a button under the message? Send its label then its link, "
            "e.g. “Sign up https://example.org/event”."
        )
    if tasks:
        text += "\n" + _("Or send task:N to let volunteers accept task N right from the message.")
    label = _("Continue") if added else _("No button")
    return Outbound(text, choices=choices(BroadcastStep("audience").button(label)), answer="text")


async def _ask_audience(request: Request, offered: AudienceChoices | None = None) -> Outbound:
    await request.goto("audience")
    actor = request.actor
    offered = offered or await request.services.broadcasts.audience_choices(actor)
    label = _("Everyone ({n})") if actor.team_scope() is None else _("All my teams ({n})")
    rows: list[Choice] = [BroadcastStep("all").button(label.format(n=offered.everyone))]
    rows += [
        BroadcastTeam("team", team_id).button(name)
        for team_id, name in offered.teams[:MAX_TEAM_BUTTONS]
    ]
    return Outbound(
        worded(
            _(
                "Who should receive it? Tap a choice, or type filters that must all match: "
                "{syntax}."
            ),
            _(
                "Who should receive it? Answer with the number of a choice, or type filters "
                "that must all match: {syntax}."
            ),
        ).format(syntax=esc(audience_syntax()))
        + "\n"
        + _("Example: <code>area:75 skill:canvassing active:30</code>")
        + "\n"
        + _("Or a distance around a commune: <code>10 km around Villeurbanne</code>."),
        choices=choices(*rows),
    )


async def _previewed(
    request: Request, *, audience: str = "all", team: int | None = None
) -> Preview | None:
    """The draft's preview for this audience (typed, stored, or one of the author's teams),
    counted now: one call."""
    assert request.conversation is not None
    data = request.conversation.data
    return await request.services.broadcasts.preview(
        request.actor,
        body=data["body"],
        variants=data.get("variants", {}),
        buttons=_buttons(data),
        audience=audience,
        team=team,
    )


async def _take_audience(request: Request, preview: Preview | None) -> Reply:
    """The audience typed or tapped, already counted: on to the preview, unless nobody (or
    a team that is no longer the author's)."""
    if preview is None:
        return expired()
    audience, count = preview.audience, preview.count
    if count == 0:
        return Outbound(
            _("Nobody matches “{audience}” right now. Try other filters.").format(
                audience=esc(audience_in_words(audience))
            )
        )
    await request.goto("confirm", audience=audience.describe(), count=count)
    return _preview(request, preview)


async def _preview_again(request: Request) -> list[Outbound]:
    """The preview after a change, with the audience counted again."""
    assert request.conversation is not None
    preview = await _previewed(request, audience=request.conversation.data["audience"] or "all")
    assert preview is not None  # a typed or stored audience is refused, never None
    return _preview(request, preview)


def _preview(request: Request, preview: Preview) -> list[Outbound]:
    """The message exactly as volunteers will see it, then the summary and the choices."""
    assert request.conversation is not None
    data = request.conversation.data
    services = request.services
    audience, count = preview.audience, preview.count
    shown: list[Outbound] = []
    for language, message in preview.messages:
        if language:
            shown.append(Outbound(f"<i>{esc(language_in_words(language).capitalize())}</i>"))
        shown.append(message)
    lines = [
        _("☝️ Preview, exactly as volunteers will see it."),
        ngettext(
            "Audience: {audience} — {n} volunteer right now.",
            "Audience: {audience} — {n} volunteers right now.",
            count,
        ).format(audience=esc(audience_in_words(audience)), n=count),
        _("Main text in: {language}.").format(language=language_in_words(_main_language(data))),
        _("Urgent: yes — sent even during quiet hours.")
        if data.get("urgent")
        else _("Urgent: no — held until the end of each volunteer's quiet hours."),
    ]
    if services.settings.paid_broadcast:
        lines.append(
            _("Paid broadcast: yes — up to 1000 a second, billed in Stars.")
            if data.get("paid")
            else _("Paid broadcast: no — about 30 a second.")
        )
    rows: list[Any] = [
        [
            BroadcastStep("now").button(_("✅ Send now")),
            BroadcastStep("schedule").button(_("🕒 Schedule")),
        ],
    ]
    main = _main_language(data)
    missing = [lang for lang in LANGUAGES if lang != main and lang not in data.get("variants", {})]
    rows += [
        BroadcastVariant("variant", lang).button(
            _("Add a version in {language}").format(language=language_in_words(lang))
        )
        for lang in missing
    ]
    rows += [
        BroadcastVariant("main", lang).button(
            _("The main text is in {language}").format(language=language_in_words(lang))
        )
        for lang in LANGUAGES
        if lang != main
    ]
    rows.append(
        BroadcastStep("urgent").button(
            _("Mark as not urgent") if data.get("urgent") else _("Mark as urgent")
        )
    )
    if services.settings.paid_broadcast:
        rows.append(
            BroadcastStep("paid").button(
                _("Use free broadcast") if data.get("paid") else _("Use paid broadcast")
            )
        )
    rows.append(BroadcastStep("abort").button(_("Cancel")))
    shown.append(Outbound("\n".join(lines), choices=choices(*rows)))
    return shown


async def _take_when(request: Request, text: str) -> Reply:
    settings = request.services.settings
    moment = parse_local_time(text, request.now, settings.timezone)
    if refusal := moment_refusal(text, moment, request.now, settings.timezone):
        return Outbound(refusal)
    if moment is None:
        return Outbound(
            _(
                "I could not read that time. Send it like “tomorrow 6pm”, “saturday 10:00”, "
                "“15/12 18:30”, or 18:30 for today."
            )
        )
    if moment <= request.now - timedelta(minutes=1):
        return Outbound(_("That time is in the past. Choose a time to come."))
    # "now", "maintenant", or this very minute: send it now.
    return await _create(request, moment if moment > request.now else None)


def parse_local_time(text: str, now: datetime, zone: Any) -> datetime | None:
    """What the organizer typed for the sending time (see bot.when.read_moment), in UTC."""
    return read_moment(text, now, zone)


async def _create(request: Request, send_at: datetime | None) -> Reply:
    assert request.conversation is not None
    data = request.conversation.data
    submitted = await request.services.broadcasts.submit(
        request.actor,
        data["audience"],
        language=_main_language(data),
        body=data["body"],
        variants=data.get("variants", {}),
        buttons=_buttons(data),
        send_at=send_at,
        urgent=bool(data.get("urgent")),
        paid=bool(data.get("paid")),
    )
    broadcast, count = submitted.broadcast, submitted.count
    await request.finish()
    if send_at is None:
        return Outbound(
            ngettext(
                "Broadcast #{id} is on its way to {n} volunteer. I will keep one message "
                "below up to date, then send you the delivery report.",
                "Broadcast #{id} is on its way to {n} volunteers. I will keep one message "
                "below up to date, then send you the delivery report.",
                count,
            ).format(id=broadcast.id, n=count)
        )
    return Outbound(
        ngettext(
            "Broadcast #{id} is scheduled for {when}, to {n} volunteer as of now. "
            "/broadcasts shows it and lets you cancel it.",
            "Broadcast #{id} is scheduled for {when}, to {n} volunteers as of now. "
            "/broadcasts shows it and lets you cancel it.",
            count,
        ).format(
            id=broadcast.id,
            when=format_datetime(send_at, request.services.settings.timezone),
            n=count,
        )
    )


async def on_choice(request: Request) -> Reply:
    """Handles the wizard's buttons and the Cancel buttons of /broadcasts."""
    tap = request.payload
    if isinstance(tap, BroadcastCancel):
        return await _cancel_broadcast(request, tap.broadcast)
    conversation = request.conversation
    if conversation is None or conversation.flow != FLOW:
        return expired()
    step = conversation.step
    action = tap.action if isinstance(tap, BroadcastStep) else ""
    try:
        if action == "audience" and step == "buttons":
            return await _ask_audience(request)
        if action == "all" and step == "audience":
            return await _take_audience(request, await _previewed(request))
        if isinstance(tap, BroadcastTeam) and step == "audience":
            return await _take_audience(request, await _previewed(request, team=tap.team))
        if step != "confirm":
            return expired()
        if action == "now":
            return await _create(request, None)
        if action == "schedule":
            await request.goto("when")
            zone = request.services.settings.timezone
            return Outbound(
                _("When should it go? Send a date and time like {example} ({zone} time).").format(
                    example=_("tomorrow 6:30 pm"),
                    zone=str(zone),
                ),
                answer="date",
            )
        if action == "urgent":
            await request.goto("confirm", urgent=not conversation.data.get("urgent"))
            return await _preview_again(request)
        if action == "paid" and request.services.settings.paid_broadcast:
            await request.goto("confirm", paid=not conversation.data.get("paid"))
            return await _preview_again(request)
        if isinstance(tap, BroadcastVariant) and tap.action == "main":
            if tap.language not in LANGUAGES or tap.language == _main_language(conversation.data):
                return expired()
            await request.goto("confirm", **_main_in(conversation.data, tap.language))
            return await _preview_again(request)
        if isinstance(tap, BroadcastVariant) and tap.language in LANGUAGES:
            await request.goto("variant", variant=tap.language)
            return Outbound(
                _("Send the message in {language}.").format(
                    language=language_in_words(tap.language)
                ),
                answer="text",
            )
        if action == "abort":
            await request.finish()
            return Outbound(_("Broadcast cancelled. Nothing was sent."))
    except BroadcastError as exc:
        return Outbound(refusal(exc))
    return expired()


def _main_language(data: dict[str, Any]) -> str:
    """The language of the main text: the author's, unless they said otherwise."""
    return str(data.get("language") or current_language())


def _main_in(data: dict[str, Any], language: str) -> dict[str, Any]:
    """The draft with its main text in `language`: a version already written in it becomes
    the main text, and the main text the version in its language; otherwise the main text
    is simply said to be in `language` (the author wrote it in that language)."""
    variants = dict(data.get("variants", {}))
    body = data["body"]
    if language in variants:
        variants[_main_language(data)], body = body, variants.pop(language)
    return {"language": language, "body": body, "variants": variants}


def _buttons(data: dict[str, Any]) -> tuple[tuple[str, str, str], ...]:
    return tuple((b[0], b[1], b[2] if len(b) > 2 else "") for b in data.get("buttons", []))


# -- /broadcasts ----------------------------------------------------------------------------


async def cmd_broadcasts(request: Request) -> Reply:
    """Lists recent and scheduled broadcasts with their figures, with Cancel buttons."""
    recent = await request.services.broadcasts.recent(request.actor)
    if not recent:
        return Outbound(_("No broadcast yet. /broadcast starts one."))
    lines = [_("<b>Recent broadcasts</b>")]
    buttons: list[Choice] = []
    zone = request.services.settings.timezone
    for item, figures in recent:
        lines.append("")
        lines.append(_describe(item, zone))
        if item.status == "sending" or (item.status in ("done", "cancelled") and item.recipients):
            lines.append(figures_line(figures))
        if item.status in ("scheduled", "sending"):
            buttons.append(
                BroadcastCancel("cancel", item.id).button(_("Cancel #{id}").format(id=item.id))
            )
    return Outbound("\n".join(lines), choices=choices(*buttons))


def _describe(item: Broadcast, zone: Any) -> str:
    status = {
        "scheduled": _("scheduled for {when}"),
        "sending": _("sending since {when}"),
        "done": _("sent {when}"),
        "cancelled": _("cancelled ({when})"),
    }[item.status]
    stamp = item.send_at if item.status == "scheduled" else (item.started_at or item.send_at)
    when = format_datetime(stamp, zone)
    preview = to_plain(item.body).replace("\n", " ")
    preview = preview if len(preview) <= 60 else preview[:59] + "…"
    audience = audience_in_words(parse_audience(item.audience))
    return (
        f"<b>#{item.id}</b> · {status.format(when=when)} · {esc(audience)}\n<i>{esc(preview)}</i>"
    )


async def _cancel_broadcast(request: Request, broadcast_id: int) -> Reply:
    withdrawn = await request.services.broadcasts.cancel(request.actor, broadcast_id)
    if withdrawn is None:
        return expired()
    return Outbound(
        ngettext(
            "Broadcast #{id} cancelled: {n} message not sent.",
            "Broadcast #{id} cancelled: {n} messages not sent.",
            withdrawn,
        ).format(id=broadcast_id, n=withdrawn)
    )


def register(router: Router) -> None:
    router.command(
        "broadcast",
        cmd_broadcast,
        rank="organizer",
        description=N_("Send a message to volunteers"),
    )
    router.command(
        "broadcasts",
        cmd_broadcasts,
        rank="organizer",
        description=N_("Recent and scheduled broadcasts"),
    )
    router.choice([BroadcastStep, BroadcastTeam, BroadcastVariant, BroadcastCancel], on_choice)
    router.flow(FLOW, on_step)
