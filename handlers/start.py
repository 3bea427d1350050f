"""/start: a greeting that says what Relais is and what to do next."""

from __future__ import annotations

from bot.i18n import N_, _
from bot.messaging import Outbound
from bot.router import Reply, Request, Router
from bot.text import esc


async def cmd_start(request: Request) -> Reply:
    """Greets the person by name in their language and explains what Relais does."""
    name = request.actor.volunteer.first_name if request.actor.volunteer else ""
    name = name or request.inbound.first_name
    greeting = _("Hello {name}!").format(name=esc(name)) if name else _("Hello!")
    return Outbound(
        greeting
        + "\n\n"
        + _(
            "I am Relais, the campaign's volunteer bot. Tell me where, what and when you can "
            "help, and I will send you small tasks that fit: share a post, canvass a street, "
            "call a list, text your contacts, come to an event."
        )
        + "\n\n"
        + _("Send /help to see what I can do.")
    )


def register(router: Router) -> None:
    router.command("start", cmd_start, description=N_("Join the campaign or resume"))
