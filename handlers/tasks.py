"""/task, /mytasks, /me and outcomes: a volunteer takes a task and reports it in a few taps.

Buttons (bot/payloads.py): TaskCard on a task card, AssignmentTap on an accepted task,
OutcomeSkip (No proof, No comment) while the outcome flow waits. Counts are typed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta, tzinfo
from typing import Any, Protocol

from bot.answers import parse_count
from bot.domain.tasks import ClaimRefused, NotStarted, Outcome, Refusal
from bot.i18n import N_, _, format_date, format_datetime, format_time, ngettext, worded
from bot.messaging import InboundFile, Outbound, choices
from bot.payloads import AssignmentTap, OutcomeSkip, TaskCard
from bot.quiet_hours import zone
from bot.router import Reply, Request, Router, expired
from bot.services.tasks import NextTask, Person
from bot.task_text import accepted_card, assignment_choices, describe, offer_card
from bot.text import clean, esc

# The outcome flow: the questions asked after Done, per task kind, in order.
OUTCOME_STEPS: dict[str, tuple[str, ...]] = {
    "share": ("proof",),
    "canvass": ("doors_knocked", "conversations", "supporters", "comment"),
    "text": ("people_reached",),
    "call": (),
    "event": (),
    "custom": (),
}
QUESTIONS = {
    "proof": N_(
        "Great! If you like, send me the link to your post or a screenshot of it as proof, "
        "or tap No proof."
    ),
    "doors_knocked": N_("Well done! How many doors did you knock on?"),
    "conversations": N_("How many conversations did you have?"),
    "supporters": N_("How many supporters did you meet?"),
    "comment": N_("Anything to tell the organizers? Write a comment, or tap No comment."),
    "people_reached": N_("Well done! How many people did you send the message to?"),
}
PROOF_HINT = N_("Send a link starting with https://, a screenshot, or tap No proof.")
# The same questions where choices are numbered (Signal, the console).
ANSWER_INSTEAD = {
    "proof": N_(
        "Great! If you like, send me the link to your post or a screenshot of it as proof, "
        "or answer No proof."
    ),
    "comment": N_("Anything to tell the organizers? Write a comment, or answer No comment."),
    "hint": N_("Send a link starting with https://, a screenshot, or answer No proof."),
}
# Kinds whose Done opens the questions above; the others are recorded at the tap.
ASKED = frozenset(kind for kind, steps in OUTCOME_STEPS.items() if steps)
NUMBER_STEPS = ("doors_knocked", "conversations", "supporters", "people_reached")
MAX_NUMBER = 100_000
REFUSALS = {
    "closed": N_("This task is closed. Send /task for another one."),
    "full": N_(
        "Too late: this task already has all the volunteers it needs. Send /task for another one."
    ),
    "cap": N_(
        "You have already done this task as many times as it allows. Send /task for another one."
    ),
    "taken": N_("You already have this task: see /mytasks."),
}


class Member(Person, Protocol):
    """What these flows read of the volunteer behind the update (loaded by the router)."""

    @property
    def status(self) -> str: ...
    @property
    def timezone(self) -> str: ...
    @property
    def leaderboard(self) -> bool: ...


def _member(request: Request) -> Member | None:
    """The volunteer behind the update if they have joined (not onboarding, not erased)."""
    volunteer = request.actor.volunteer
    if volunteer is None or volunteer.status in ("onboarding", "erased"):
        return None
    return volunteer


def _not_joined() -> Outbound:
    return Outbound(_("Join first: send /start and tell me how you can help."))


def _tz(request: Request, volunteer: Member) -> tzinfo:
    return zone(volunteer.timezone, request.services.settings.timezone)


def _next_card(request: Request, volunteer: Member, found: NextTask) -> Outbound:
    if found.view is None:
        back = found.comes_back_at
        if back and back - request.now < timedelta(days=2):
            tz = _tz(request, volunteer)
            moment = back
            return Outbound(
                _(
                    "No task fits you right now. Come back after {time} on {day}: "
                    "something will be ready for you."
                ).format(
                    time=format_time(moment, tz, request.services.settings.timezone),
                    day=format_date(moment, tz),
                )
            )
        return Outbound(
            _(
                "No task fits you right now. Come back in a few hours: new tasks arrive "
                "often, and I will send you one that fits."
            )
        )
    return offer_card(found.view.task, found.view.instructions, _tz(request, volunteer))


async def cmd_task(request: Request) -> Reply:
    """Shows the single best task for this volunteer now, with Accept / Skip / Later."""
    volunteer = _member(request)
    if volunteer is None:
        return _not_joined()
    return _next_card(request, volunteer, await request.services.tasks.next_for(volunteer))


async def on_card(request: Request) -> Reply:
    """Accept, skip or put off a task from its card; stale or foreign cards change nothing."""
    volunteer = _member(request)
    tap = request.tap(TaskCard)
    if volunteer is None:
        return expired()
    action, task_id = tap.action, tap.task
    service = request.services.tasks
    if action == "acc":
        try:
            claimed = await service.take(volunteer, task_id)
        except ClaimRefused as refusal:
            if refusal.reason == Refusal.TARGET:
                return expired()
            return Outbound(_(REFUSALS[refusal.reason]), edit=True)
        card = accepted_card(
            claimed.task, claimed.assignment, claimed.instructions, _tz(request, volunteer)
        )
        return replace(card, edit=True)
    if action in ("skip", "later"):
        found = await service.set_aside(volunteer, task_id, later=action == "later")
        if found is None:
            return expired()
        said = (
            _("OK, I will offer it again later.")
            if action == "later"
            else _("Skipped. Here is another one.")
        )
        # The next card takes the tapped one's place, under a line saying what was done: on
        # Telegram one edit, instead of an edit and a new message.
        card = _next_card(request, volunteer, found)
        return replace(card, text=f"{said}\n\n{card.text}", edit=True)
    return expired()


async def cmd_mytasks(request: Request) -> Reply:
    """Lists the tasks this volunteer accepted, each with Done / Can't."""
    volunteer = _member(request)
    if volunteer is None:
        return _not_joined()
    in_hand = await request.services.tasks.in_hand(volunteer.id, volunteer.language)
    if not in_hand:
        return Outbound(_("You have no task in progress. Send /task to get one."))
    replies = [
        Outbound(
            ngettext(
                "You have {n} task in progress:", "You have {n} tasks in progress:", len(in_hand)
            ).format(n=len(in_hand))
        )
    ]
    tz = _tz(request, volunteer)
    for held in in_hand[:10]:
        replies.append(
            Outbound(
                describe(held.task, held.instructions, tz),
                choices=assignment_choices(held.task, held.assignment),
            )
        )
    return replies


async def on_assignment(request: Request) -> Reply:
    """Done or Can't on an accepted task: records it, or asks the outcome questions."""
    volunteer = _member(request)
    tap = request.tap(AssignmentTap)
    if volunteer is None:
        return expired()
    action, assignment_id = tap.action, tap.assignment
    service = request.services.tasks
    if action == "cant":
        if not await service.give_up(volunteer.id, assignment_id):
            return expired()
        return Outbound(
            _("No problem, thank you for telling me. The task goes back to the queue."), edit=True
        )
    try:
        finished = await service.finish(volunteer.id, assignment_id, asked=ASKED)
    except NotStarted as early:
        return Outbound(_not_started(request, volunteer, early))
    if finished is None:
        return expired()
    if finished.points is None:
        steps = OUTCOME_STEPS[finished.task.kind]
        await request.begin(
            "outcome", steps[0], {"assignment": assignment_id, "kind": finished.task.kind}
        )
        return _question(steps[0])
    if request.conversation is not None:
        await request.finish()
    return _recorded(finished.points)


def _question(step: str) -> Outbound:
    if step in NUMBER_STEPS:
        # A count is typed as the number itself, on every messenger.
        return Outbound(_(QUESTIONS[step]), answer="number")
    skip = _("No proof") if step == "proof" else _("No comment")
    button = OutcomeSkip("proof" if step == "proof" else "comment").button(skip)
    question = worded(_(QUESTIONS[step]), _(ANSWER_INSTEAD[step]))
    return Outbound(question, choices=choices(button), answer="text")


def _not_started(request: Request, volunteer: Member, early: NotStarted) -> str:
    return _(
        "This task starts {when}: tell me how it went once it has started. Nothing was recorded."
    ).format(
        when=format_datetime(
            early.starts_at, _tz(request, volunteer), request.services.settings.timezone
        )
    )


async def _record(request: Request, assignment_id: int, outcome: Outcome) -> Reply:
    volunteer = request.actor.volunteer
    assert volunteer is not None
    try:
        points = await request.services.tasks.complete(volunteer.id, assignment_id, outcome)
    except NotStarted as early:
        if request.conversation is not None:
            await request.finish()
        return Outbound(_not_started(request, volunteer, early))
    if request.conversation is not None:
        await request.finish()
    if points is None:
        return expired()
    return _recorded(points)


def _recorded(points: int) -> Outbound:
    return Outbound(
        ngettext(
            "Recorded. Thank you! +{n} point. Send /task for the next one.",
            "Recorded. Thank you! +{n} points. Send /task for the next one.",
            points,
        ).format(n=points)
    )


async def _answer(request: Request, step: str, value: str, *, screenshot: bool = False) -> Reply:
    """One answer of the outcome flow: check it, store it, ask the next question or record."""
    conversation = request.conversation
    assert conversation is not None
    answer: Any
    if step in NUMBER_STEPS:
        count = parse_count(value)
        if count is None or count > MAX_NUMBER:
            return Outbound(_("Please send a whole number, for example 12."), answer="number")
        answer = count
        answers = conversation.data
        if step == "supporters" and answer > answers.get("conversations", MAX_NUMBER):
            return Outbound(
                _("That is more supporters than conversations. Please check the number.")
            )
        if step == "conversations" and answer > answers.get("doors_knocked", MAX_NUMBER):
            return Outbound(_("That is more conversations than doors. Please check the number."))
    elif value == "-":
        answer = None
    elif step == "proof" and screenshot:
        answer = value
    elif step == "proof":
        link = clean(value)
        if not link.startswith(("https://", "http://")) or len(link) > 500 or " " in link:
            return Outbound(worded(_(PROOF_HINT), _(ANSWER_INSTEAD["hint"])))
        answer = link
    else:
        answer = clean(value)[:1000] or None
    steps = OUTCOME_STEPS[conversation.data["kind"]]
    position = steps.index(step)
    if position + 1 < len(steps):
        await request.goto(steps[position + 1], **{step: answer})
        return _question(steps[position + 1])
    data = {**conversation.data, step: answer}
    outcome = Outcome(
        doors_knocked=data.get("doors_knocked"),
        conversations=data.get("conversations"),
        supporters=data.get("supporters"),
        people_reached=data.get("people_reached"),
        proof=data.get("proof"),
        comment=data.get("comment"),
    )
    return await _record(request, int(data["assignment"]), outcome)


async def on_skip(request: Request) -> Reply:
    """No proof / No comment while the outcome flow waits for that answer."""
    step = request.tap(OutcomeSkip).step
    conversation = request.conversation
    if conversation is None or conversation.flow != "outcome" or conversation.step != step:
        return expired()
    return await _answer(request, step, "-")


async def outcome_step(request: Request) -> Reply:
    """What the volunteer types (or the screenshot they send) while the outcome flow waits."""
    conversation = request.conversation
    assert conversation is not None
    file = request.inbound.file
    if file is not None:
        if conversation.step != "proof":
            return Outbound(
                _("I can't use a file here. Please answer with a message, or send /cancel.")
            )
        if file.kind != "photo" and not file.mime.startswith("image/"):
            return Outbound(worded(_(PROOF_HINT), _(ANSWER_INSTEAD["hint"])))
        proof = screenshot_proof(request.inbound.channel, file)
        return await _answer(request, "proof", proof, screenshot=True)
    return await _answer(request, conversation.step, request.text)


def screenshot_proof(channel: str, file: InboundFile) -> str:
    """What outcomes.proof keeps for a screenshot: a reference, not the image, so that the
    picture stays on the messenger and /forget blanks it like a link."""
    return f"{channel}-{file.kind}:{file.file_id}"[:500]


async def cmd_me(request: Request) -> Reply:
    """Shows the volunteer's own points, this week's count and streak (private to them)."""
    volunteer = _member(request)
    if volunteer is None:
        return _not_joined()
    standing = await request.services.tasks.standing(
        volunteer.id, volunteer.timezone, leaderboard=volunteer.leaderboard
    )
    lines = [
        _("<b>Your contribution</b>"),
        ngettext("{n} point", "{n} points", standing.points).format(n=standing.points),
        ngettext("{n} task done this week", "{n} tasks done this week", standing.this_week).format(
            n=standing.this_week
        ),
        ngettext("Streak: {n} day in a row", "Streak: {n} days in a row", standing.streak).format(
            n=standing.streak
        ),
    ]
    if volunteer.leaderboard:
        board = standing.leaderboard
        if board:
            lines.append("\n" + _("<b>Leaderboard</b> (volunteers who chose to appear)"))
            lines.extend(
                f"{i}. {esc(name)} — {points}" for i, (name, points) in enumerate(board, 1)
            )
    else:
        lines.append("\n" + _("Only you see this."))
    return Outbound("\n".join(lines))


def register(router: Router) -> None:
    router.command("task", cmd_task, description=N_("Get your next task"))
    router.command("mytasks", cmd_mytasks, description=N_("Tasks you accepted"))
    router.command("me", cmd_me, description=N_("Your points and streak"))
    router.choice(TaskCard, on_card)
    router.choice(AssignmentTap, on_assignment)
    router.choice(OutcomeSkip, on_skip)
    router.flow("outcome", outcome_step, files=True)
