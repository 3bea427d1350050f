"""The caller loop: one contact at a time, tap the result, get the next.

Buttons: call:go:<assignment id> starts or resumes; call:r:<contact id>:<result> records a
call by the caller holding that contact; call:cb:<contact id>:<hours> sets a call-back
time; call:stop:<assignment id> hands the held contact back.
"""

from __future__ import annotations

from datetime import timedelta

from bot.i18n import N_, _
from bot.messaging import Choice, Outbound, choices
from bot.router import Reply, Request, Router, expired
from bot.services.calls import display_phone
from bot.storage.calls import Contact
from bot.storage.tasks import Task
from bot.text import esc

RESULT_CODES = {
    "sup": "supporter",
    "und": "undecided",
    "opp": "opposed",
    "na": "no_answer",
    "wn": "wrong_number",
    "cb": "callback",
    "dnc": "do_not_call",
}
RESULT_LABELS = {
    "sup": N_("👍 Supporter"),
    "und": N_("🤔 Undecided"),
    "opp": N_("👎 Opposed"),
    "na": N_("No answer"),
    "wn": N_("Wrong number"),
    "cb": N_("Call back later"),
    "dnc": N_("⛔ Do not call again"),
}
CALLBACK_HOURS = {1: N_("In 1 hour"), 3: N_("In 3 hours"), 24: N_("Tomorrow")}


def contact_card(task: Task, contact: Contact, assignment_id: int) -> Outbound:
    """Who to call, the number to tap, the script, and the result buttons."""
    lines = [
        _("📞 Call <b>{name}</b>").format(name=esc(contact.name)),
        display_phone(contact.phone),
    ]
    if contact.notes:
        lines.append(_("Notes: {notes}").format(notes=esc(contact.notes)))
    if task.instructions:
        lines.append("\n" + _("<b>Script</b>") + "\n" + esc(task.instructions))
    buttons = [
        Choice(_(RESULT_LABELS[code]), f"call:r:{contact.id}:{code}") for code in RESULT_CODES
    ]
    return Outbound(
        "\n".join(lines),
        choices=choices(
            buttons[0:3],
            buttons[3:5],
            buttons[5:7],
            Choice(_("Stop for now"), f"call:stop:{assignment_id}"),
        ),
    )


async def _next(request: Request, task: Task, assignment_id: int, volunteer_id: int) -> Outbound:
    contact = await request.services.calls.current_or_next(volunteer_id, task.id)
    if contact is None:
        return Outbound(
            _(
                "Nobody left to call on this list right now. Thank you! Tap Finished calling "
                "to record your calls."
            ),
            choices=choices(Choice("✅ " + _("Finished calling"), f"task:done:{assignment_id}")),
        )
    return contact_card(task, contact, assignment_id)


def _volunteer_id(request: Request) -> int | None:
    volunteer = request.actor.volunteer
    if volunteer is None or volunteer.status in ("onboarding", "erased"):
        return None
    return volunteer.id


async def on_call(request: Request) -> Reply:
    """Every button of the caller loop; re-checks that the caller holds what they tap."""
    volunteer_id = _volunteer_id(request)
    pieces = request.inbound.choice.split(":")
    if volunteer_id is None or len(pieces) < 3 or not pieces[2].isdigit() or len(pieces[2]) > 12:
        return expired()
    action, ident = pieces[1], int(pieces[2])
    calls = request.services.calls
    if action in ("go", "stop"):
        assignment = await calls.calling(volunteer_id, ident)
        if assignment is None:
            return expired()
        task = await calls.tasks.get(assignment.task_id)
        assert task is not None
        if action == "stop":
            await calls.stop(volunteer_id)
            return Outbound(
                _("Break time. Tap Start calling in /mytasks when you want to go on."), edit=True
            )
        return await _next(request, task, assignment.id, volunteer_id)
    contact = await calls.calls.get(ident)
    if contact is None or contact.held_by != volunteer_id or contact.state != "held":
        return expired()
    assignment = next(
        (a for a, t in await calls.tasks.in_hand(volunteer_id) if t.id == contact.task_id), None
    )
    task = await calls.tasks.get(contact.task_id)
    if assignment is None or task is None:
        return expired()
    if action == "r" and len(pieces) == 4 and pieces[3] in RESULT_CODES:
        if pieces[3] == "cb":
            hours = [
                Choice(_(label), f"call:cb:{contact.id}:{h}") for h, label in CALLBACK_HOURS.items()
            ]
            return Outbound(
                _("When should {name} be called back?").format(name=esc(contact.name)),
                choices=choices(hours),
                edit=True,
            )
        recorded = await calls.record(volunteer_id, contact.id, RESULT_CODES[pieces[3]])
    elif (
        action == "cb"
        and len(pieces) == 4
        and pieces[3].isdigit()
        and int(pieces[3]) in CALLBACK_HOURS
    ):
        when = request.now + timedelta(hours=int(pieces[3]))
        recorded = await calls.record(volunteer_id, contact.id, "callback", when)
    else:
        return expired()
    if recorded is None:
        return expired()
    done = Outbound(_("Noted: {name}.").format(name=esc(contact.name)), edit=True)
    return [done, await _next(request, task, assignment.id, volunteer_id)]


def register(router: Router) -> None:
    router.choice("call", on_call)
