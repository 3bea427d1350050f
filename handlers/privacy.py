"""/mydata and /forget: a volunteer sees everything stored about them, or erases it."""

from __future__ import annotations

from bot.i18n import N_, _
from bot.messaging import Attachment, Outbound, choices
from bot.payloads import Forget, KeepData
from bot.router import Reply, Request, Router, expired


def _known(request: Request) -> int | None:
    volunteer = request.actor.volunteer
    return volunteer.id if volunteer is not None and volunteer.status != "erased" else None


async def cmd_mydata(request: Request) -> Reply:
    """Sends a JSON document with everything Relais stores about the volunteer."""
    volunteer_id = _known(request)
    if volunteer_id is None:
        return Outbound(_("Relais stores nothing about you."))
    document = await request.services.privacy.export_json(volunteer_id)
    return Outbound(
        _(
            "Here is everything Relais stores about you: your profile, your consent, your "
            "teams and roles, your tasks and the messages we sent you. Send /forget to erase it."
        ),
        attachment=Attachment("relais-my-data.json", document),
    )


async def cmd_forget(request: Request) -> Reply:
    """Asks the volunteer to confirm they want everything about them erased."""
    if _known(request) is None:
        return Outbound(_("Relais stores nothing about you."))
    return Outbound(
        _(
            "This erases your profile, your messenger identifiers and everything you wrote, "
            "for good. Only anonymous counts remain. You will no longer receive anything. "
            "Erase everything?"
        ),
        choices=choices(
            [
                Forget("yes").button(_("🗑 Yes, erase everything")),
                Forget("no").button(_("No, keep it")),
            ]
        ),
    )


async def on_forget_tap(request: Request) -> Reply:
    """Erases the volunteer's data (or keeps it), then says goodbye."""
    volunteer_id = _known(request)
    answer = request.tap(Forget).answer
    if volunteer_id is None:
        return expired()
    if answer == "no":
        return Outbound(_("Nothing was erased."), edit=True)
    await request.services.privacy.erase(volunteer_id)
    return Outbound(
        _(
            "Done: everything about you was erased. Thank you for what you did for the "
            "campaign. If you want to come back one day, send /start."
        ),
        edit=True,
    )


async def on_keep_tap(request: Request) -> Reply:
    """The answer to a retention warning: the volunteer stays (their activity was noted)."""
    if _known(request) is None:
        return expired()
    return Outbound(_("Thank you! Your data is kept and you stay with us."), edit=True)


def register(router: Router) -> None:
    router.command("mydata", cmd_mydata, description=N_("Everything stored about you"))
    router.command("forget", cmd_forget, description=N_("Erase your data"))
    router.choice(Forget, on_forget_tap)
    router.choice(KeepData, on_keep_tap)
