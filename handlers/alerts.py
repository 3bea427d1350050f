"""/alerte and /alert — or a pasted or forwarded post — raise the alarm to the comms team."""

from __future__ import annotations

from bot.domain.errors import NotAVolunteer, NothingToReport
from bot.domain.incidents import Reported
from bot.i18n import N_, _, ngettext
from bot.links import find_links
from bot.messaging import Outbound, choices
from bot.payloads import AlarmNotify, AlarmStep
from bot.router import Reply, Request, Router, expired
from bot.services.alerts import MAX_OPENED_PER_HOUR, Subject, typed_report
from bot.services.alerts import subject_of as find_subject
from bot.text import clean, esc

FLOW = "alert"
# Steps of the alert flow: what Relais waits for in each.
STEPS = {
    "link": "the link to the post (words typed beside it are the comment), or the post forwarded",
    "offer": "a pasted or forwarded post: raise the alarm about it, or not",
    "comment": "an optional comment, then the report goes",
}


async def cmd_alert(request: Request) -> Reply:
    """Asks for the post (or takes the link given, and the words beside it as the comment),
    then for an optional comment if none came with the link."""
    if request.actor.volunteer is None:
        return join_first()
    args = request.inbound.args
    if not args:
        await request.begin(FLOW, "link")
        return Outbound(
            _("🚨 What did you see? Send me the link to the post, or forward the post to me.")
        )
    try:
        # /alerte <link> <comment>: the words beside the link are the reporter's comment.
        subject, comment = typed_report(args, request.inbound.extra.get("urls", ()))
    except NothingToReport:
        await request.begin(FLOW, "link")
        return need_link()
    if comment:
        return await raise_alarm(request, subject, comment)
    await request.begin(FLOW, "comment", _subject_data(subject))
    return ask_comment(subject)


async def on_step(request: Request) -> Reply:
    """Takes the post, then the comment; anything else gets a clear nudge."""
    conversation = request.conversation
    assert conversation is not None
    inbound = request.inbound
    if conversation.step == "comment":
        subject = _subject_from(conversation.data)
        if subject is None:
            await request.finish()
            return expired()
        return await raise_alarm(request, subject, inbound.text)
    urls = inbound.extra.get("urls", ())
    if conversation.step == "offer" and not (inbound.forwarded or urls or find_links(inbound.text)):
        # They moved on without answering the offer: drop it rather than insist.
        await request.finish()
        return Outbound(_("All right, nothing was sent."))
    try:
        if conversation.step == "link" and not inbound.forwarded:
            # Typed after /alerte: the words beside the link are the reporter's comment.
            subject, comment = typed_report(inbound.text, urls)
        else:
            # A forwarded or pasted post's words say what it is about: the comment comes next.
            subject, comment = find_subject(inbound.text, urls), ""
    except NothingToReport:
        return need_link()
    if comment:
        return await raise_alarm(request, subject, comment)
    await request.goto("comment", **_subject_data(subject))
    return ask_comment(subject)


async def on_pasted_post(request: Request) -> Reply:
    """A link or a forwarded post sent with nothing else going on: offers to raise the alarm."""
    inbound = request.inbound
    if request.actor.volunteer is None or not inbound.private or inbound.command:
        return None
    if not (inbound.forwarded or inbound.extra.get("urls") or find_links(inbound.text)):
        return None
    try:
        subject = find_subject(inbound.text, inbound.extra.get("urls", ()))
    except NothingToReport:
        return None
    if not subject.url and not inbound.forwarded:
        return None  # plain text without a link is a conversation, not a report
    await request.begin(FLOW, "offer", _subject_data(subject))
    return Outbound(
        _("Is this a post attacking the campaign? I can alert the comms team on duty."),
        choices(
            [AlarmStep("go").button(_("🚨 Raise the alarm"))],
            [AlarmStep("no").button(_("No, thanks"))],
        ),
    )


async def on_choice(request: Request) -> Reply:
    """Raise the alarm / no thanks / send without comment / tell me when handled."""
    tap = request.payload
    conversation = request.conversation
    if isinstance(tap, AlarmNotify):
        if not await request.services.alerts.want_outcome(request.actor, tap.incident):
            return expired()
        return Outbound(_("🔔 I will tell you when the comms team has handled it."), edit=True)
    action = request.tap(AlarmStep).action
    if conversation is None or conversation.flow != FLOW:
        return expired()
    subject = _subject_from(conversation.data)
    if action == "no":
        await request.finish()
        return Outbound(_("All right, nothing was sent."), edit=True)
    if subject is None:
        await request.finish()
        return expired()
    if action == "go" and conversation.step == "offer":
        await request.goto("comment")
        return ask_comment(subject, edit=True)
    if action == "send" and conversation.step == "comment":
        return await raise_alarm(request, subject, "")
    return expired()


async def raise_alarm(request: Request, subject: Subject, comment: str) -> Reply:
    """Files the report and thanks the volunteer, saying what happens next."""
    await request.finish()
    try:
        reported = await request.services.alerts.report(request.actor, subject, clean(comment))
    except NotAVolunteer:
        return join_first()
    return thanks(reported)


def thanks(reported: Reported) -> Outbound:
    """The thank-you: alert number, report count, what happens next, and a 'tell me' button."""
    incident = reported.incident
    if reported.limited or incident is None:
        return Outbound(
            ngettext(
                "You have already raised {n} alarm in the last hour. Thank you for watching so "
                "closely! Please wait a little before raising another one; reporting a post "
                "someone already raised still counts.",
                "You have already raised {n} alarms in the last hour. Thank you for watching so "
                "closely! Please wait a little before raising another one; reporting a post "
                "someone already raised still counts.",
                MAX_OPENED_PER_HOUR,
            ).format(n=MAX_OPENED_PER_HOUR)
        )
    if not incident.status.is_open:
        return Outbound(
            _("🙏 Thank you! The comms team already dealt with this post (alert #{id}).").format(
                id=incident.id
            )
        )
    if reported.again:
        text = _(
            "You already reported this post (alert #{id}); I added your comment. "
            "The comms team is on it."
        ).format(id=incident.id)
    elif reported.opened:
        text = _(
            "🙏 Thank you! The comms team on duty has been alerted (alert #{id}). They will "
            "check the post and decide how to answer; if a reply is needed, volunteers of the "
            "rapid-response ring will be called to share it."
        ).format(id=incident.id)
    else:
        text = (
            _("🙏 Thank you! Others saw it too:")
            + " "
            + ngettext(
                "{n} report so far (alert #{id}).",
                "{n} reports so far (alert #{id}).",
                incident.reports,
            ).format(n=incident.reports, id=incident.id)
            + " "
            + _("The comms team is on it.")
        )
    return Outbound(
        text,
        choices([AlarmNotify("notify", incident.id).button(_("🔔 Tell me when it is handled"))]),
    )


def ask_comment(subject: Subject, *, edit: bool = False) -> Outbound:
    """Asks for an optional comment, with a button to send the report as it is."""
    seen = esc(subject.url or subject.summary[:120])
    return Outbound(
        _("Got it: {post}").format(post=seen)
        + "\n\n"
        + _(
            "Add a comment if it helps (what is wrong, who posted it, how fast it spreads), "
            "or send it as it is."
        ),
        choices([AlarmStep("send").button(_("🚨 Send without comment"))]),
        edit=edit,
    )


def need_link() -> Outbound:
    return Outbound(
        _("I need the link to the post, or the post forwarded to me. Try again, or /cancel.")
    )


def join_first() -> Outbound:
    return Outbound(_("Join the campaign first: send /start."))


def _subject_data(subject: Subject) -> dict[str, str]:
    return {"key": subject.key, "url": subject.url, "summary": subject.summary}


def _subject_from(data: dict[str, object]) -> Subject | None:
    key, url, summary = data.get("key"), data.get("url"), data.get("summary")
    if not isinstance(key, str) or not isinstance(url, str) or not isinstance(summary, str):
        return None
    return Subject(key, url, summary)


def register(router: Router) -> None:
    description = N_("Raise the alarm about a post attacking the campaign")
    router.command("alerte", cmd_alert, description=description, language="fr", arguments=True)
    router.command("alert", cmd_alert, description=description, language="en", arguments=True)
    router.flow(FLOW, on_step)
    router.choice([AlarmStep, AlarmNotify], on_choice)
    router.fallback(on_pasted_post)
