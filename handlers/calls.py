"""The caller loop: one contact at a time, tap the result, get the next.

Buttons (bot/payloads.py): CallingTap starts, resumes or stops (handing the held contact
back); CallResult records a call by the caller holding that contact; CallBack sets a
call-back time.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.domain.calls import CallTurn, Contact
from bot.domain.tasks import Task
from bot.i18n import N_, _, worded
from bot.messaging import Outbound, choices
from bot.payloads import (
    AssignmentTap,
    CallBack,
    CallBackHours,
    CallingTap,
    CallResult,
    CallResultCode,
)
from bot.router import Reply, Request, Router, expired
from bot.services.calls import display_phone
from bot.text import esc

RESULT_CODES: dict[CallResultCode, str] = {
    "sup": "supporter",
    "und": "undecided",
    "opp": "opposed",
    "na": "no_answer",
    "wn": "wrong_number",
    "cb": "callback",
    "dnc": "do_not_call",
}
RESULT_LABELS: dict[CallResultCode, str] = {
    "sup": N_("👍 Supporter"),
    "und": N_("🤔 Undecided"),
    "opp": N_("👎 Opposed"),
    "na": N_("No answer"),
    "wn": N_("Wrong number"),
    "cb": N_("Call back later"),
    "dnc": N_("⛔ Do not call again"),
}
CALLBACK_HOURS: dict[CallBackHours, str] = {
    "1": N_("In 1 hour"),
    "3": N_("In 3 hours"),
    "24": N_("Tomorrow"),
}


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
        CallResult("r", contact.id, code).button(_(RESULT_LABELS[code])) for code in RESULT_CODES
    ]
    return Outbound(
        "\n".join(lines),
        choices=choices(
            buttons[0:3],
            buttons[3:5],
            buttons[5:7],
            CallingTap("stop", assignment_id).button(_("Stop for now")),
        ),
    )


def _turn_card(turn: CallTurn) -> Outbound:
    """The next person to call, or the way to record the calls once nobody is left."""
    if turn.contact is None:
        return Outbound(
            worded(
                _(
                    "Nobody left to call on this list right now. Thank you! Tap Finished "
                    "calling to record your calls."
                ),
                _(
                    "Nobody left to call on this list right now. Thank you! Answer Finished "
                    "calling to record your calls."
                ),
            ),
            choices=choices(
                AssignmentTap("done", turn.assignment_id).button("✅ " + _("Finished calling"))
            ),
        )
    return contact_card(turn.task, turn.contact, turn.assignment_id)


def _volunteer_id(request: Request) -> int | None:
    volunteer = request.actor.volunteer
    if volunteer is None or volunteer.status in ("onboarding", "erased"):
        return None
    return volunteer.id


async def on_call(request: Request) -> Reply:
    """Every button of the caller loop; re-checks that the caller holds what they tap."""
    volunteer_id = _volunteer_id(request)
    tap = request.payload
    if volunteer_id is None:
        return expired()
    calls = request.services.calls
    if isinstance(tap, CallingTap):
        if tap.action == "stop":
            if not await calls.stop_calling(volunteer_id, tap.assignment):
                return expired()
            return Outbound(
                worded(
                    _("Break time. Tap Start calling in /mytasks when you want to go on."),
                    _("Break time. Answer Start calling in /mytasks when you want to go on."),
                ),
                edit=True,
            )
        turn = await calls.next_call(volunteer_id, tap.assignment)
        return expired() if turn is None else _turn_card(turn)
    assert isinstance(tap, CallResult | CallBack)
    if isinstance(tap, CallResult) and tap.result == "cb":
        holding = await calls.holding(volunteer_id, tap.contact)
        if holding is None:
            return expired()
        _held, contact = holding
        hours = [
            CallBack("cb", contact.id, h).button(_(label)) for h, label in CALLBACK_HOURS.items()
        ]
        return Outbound(
            _("When should {name} be called back?").format(name=esc(contact.name)),
            choices=choices(hours),
            edit=True,
        )
    if isinstance(tap, CallResult):
        called = await calls.record_call(volunteer_id, tap.contact, RESULT_CODES[tap.result])
    else:
        when = request.now + timedelta(hours=int(tap.hours))
        called = await calls.record_call(volunteer_id, tap.contact, "callback", when)
    if called is None:
        return expired()
    # The next person takes the tapped card's place, under a line naming who was noted: on
    # Telegram one edit, instead of an edit and a new message.
    card = _turn_card(called.next)
    noted = _("Noted: {name}.").format(name=esc(called.contact.name))
    return replace(card, text=f"{noted}\n\n{card.text}", edit=True)


def register(router: Router) -> None:
    router.choice([CallingTap, CallResult, CallBack], on_call)
