"""How a task looks in a chat: the card offered to a volunteer and the card once accepted.

The task flow's presenter: /task and /mytasks answer with these cards, and the offer and
reminder jobs hand them to the offer service to queue (services return tasks, never
words). Texts follow the current language.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from bot.domain.tasks import Assignment, Recipient, Task
from bot.i18n import _, format_datetime, use_language, use_messenger, worded
from bot.messaging import Choice, Outbound, choices
from bot.payloads import AssignmentTap, CallingTap, TaskCard
from bot.text import esc
from bot.vocabulary import task_kind_word


def _when(moment: datetime, tz: tzinfo) -> str:
    return format_datetime(moment, tz)


def describe(task: Task, instructions: str, tz: tzinfo) -> str:
    """The task's title, kind, instructions and the details of its type."""
    lines = [f"<b>{esc(task.title)}</b> · {task_kind_word(task.kind)}"]
    if instructions:
        lines.append(esc(instructions))
    if task.link:
        lines.append(_("Link: {link}").format(link=esc(task.link)))
    if task.suggested_message:
        lines.append(_("Suggested message:") + f"\n<i>{esc(task.suggested_message)}</i>")
    if task.place:
        lines.append(_("Where: {place}").format(place=esc(task.place)))
    if task.latitude is not None and task.longitude is not None:
        url = f"https://www.openstreetmap.org/?mlat={task.latitude:.5f}&mlon={task.longitude:.5f}"
        lines.append(_("Map: {url}").format(url=url))
    if task.area:
        lines.append(_("Area: {area}").format(area=esc(task.area)))
    if task.doors:
        lines.append(_("Doors to knock: {n}").format(n=task.doors))
    if task.starts_at:
        lines.append(_("When: {moment}").format(moment=_when(task.starts_at, tz)))
    if task.closes_at:
        lines.append(_("Until: {moment}").format(moment=_when(task.closes_at, tz)))
    lines.append(_("Points: {n}").format(n=task.points))
    return "\n".join(lines)


def offer_card(task: Task, instructions: str, tz: tzinfo, *, offered: bool = False) -> Outbound:
    """A task proposed to a volunteer, with Accept / Skip / Later."""
    head = _("A task for you:") if offered else _("Your next task:")
    if task.kind == "event":
        accept, skip = _("I'm going"), _("Not going")
    else:
        accept, skip = _("Accept"), _("Skip")
    return Outbound(
        head + "\n\n" + describe(task, instructions, tz),
        choices=choices(
            [
                TaskCard("acc", task.id).button("✅ " + accept),
                TaskCard("skip", task.id).button(skip),
            ],
            TaskCard("later", task.id).button("⏰ " + _("Later")),
        ),
    )


def offered_card(task: Task, instructions: str, tz: tzinfo, reader: Recipient) -> Outbound:
    """A task Relais offers unprompted (the offer job queues it), in its reader's language
    and their messenger's wording."""
    with use_language(reader.language), use_messenger(reader.channel):
        return offer_card(task, instructions, tz, offered=True)


def assignment_choices(task: Task, assignment: Assignment) -> tuple[tuple[Choice, ...], ...]:
    """Buttons on an accepted task: report it done, or give it back."""
    aid = assignment.id
    if task.kind == "call":
        return choices(
            CallingTap("go", aid).button("📞 " + _("Start calling")),
            [
                AssignmentTap("done", aid).button("✅ " + _("Finished calling")),
                AssignmentTap("cant", aid).button(_("Can't")),
            ],
        )
    if task.kind == "event":
        return choices(
            [
                AssignmentTap("done", aid).button("✅ " + _("I was there")),
                AssignmentTap("cant", aid).button(_("Couldn't come")),
            ]
        )
    return choices(
        [
            AssignmentTap("done", aid).button("✅ " + _("Done")),
            AssignmentTap("cant", aid).button(_("Can't")),
        ]
    )


def accepted_card(task: Task, assignment: Assignment, instructions: str, tz: tzinfo) -> Outbound:
    """A task the volunteer took: everything needed to do it, and Done / Can't."""
    if task.kind == "event":
        head = _("You're going! Thank you.")
    elif task.kind == "call":
        head = worded(
            _("Thank you! Tap Start calling when you are ready: I give you one person at a time."),
            _(
                "Thank you! Answer Start calling when you are ready: I give you one person at "
                "a time."
            ),
        )
    else:
        head = worded(
            _("Thank you! Here is what to do. Tap Done when it is done."),
            _("Thank you! Here is what to do. Answer Done when it is done."),
        )
    return Outbound(
        head + "\n\n" + describe(task, instructions, tz),
        choices=assignment_choices(task, assignment),
    )


def reminder_card(task: Task, assignment: Assignment, tz: tzinfo, reader: Recipient) -> Outbound:
    """A nudge before a task closes, in its reader's language and messenger's wording."""
    with use_language(reader.language), use_messenger(reader.channel):
        return _reminder(task, assignment, tz)


def _reminder(task: Task, assignment: Assignment, tz: tzinfo) -> Outbound:
    closes = _when(task.closes_at, tz) if task.closes_at else ""
    return Outbound(
        worded(
            _("Reminder: “{title}” closes {moment}. Done it already? Tell me in one tap."),
            _("Reminder: “{title}” closes {moment}. Done it already? Answer Done."),
        ).format(title=esc(task.title), moment=closes),
        choices=assignment_choices(task, assignment),
    )
