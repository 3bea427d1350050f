"""/dashboard: an organizer opens the web dashboard (a Mini App on Telegram, a one-time
link on Signal and the console)."""

from __future__ import annotations

from bot.i18n import N_, _
from bot.messaging import Choice, Outbound, choices
from bot.router import Reply, Request, Router
from bot.services.people import ORGANIZER


async def cmd_dashboard(request: Request) -> Reply:
    """On Telegram, a button that opens the dashboard inside the chat; elsewhere a link that
    opens it once, within 10 minutes."""
    actor = request.actor
    actor.require(ORGANIZER)
    service = request.services.dashboard
    base = service.base_url
    if not base:
        return Outbound(
            _("The dashboard is not switched on here: the admin sets RELAIS_DASHBOARD_URL.")
        )
    if request.inbound.channel == "telegram" and base.startswith("https://"):
        return Outbound(
            _("Figures, volunteers, map, tasks, broadcasts, incidents and call lists:"),
            choices=choices(Choice(_("Open the dashboard"), url=f"{base}/tg", web_app=True)),
        )
    code = await service.link_code(actor)
    return Outbound(
        _(
            "Your dashboard: {link}\nThis link works once, within 10 minutes. Keep it to "
            "yourself: it signs you in."
        ).format(link=f"{base}/login/{code}")
    )


def register(router: Router) -> None:
    router.command(
        "dashboard",
        cmd_dashboard,
        rank=ORGANIZER,
        description=N_("Open the web dashboard"),
    )
