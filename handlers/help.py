"""/help and the answer to anything Relais does not understand."""

from __future__ import annotations

import functools

from bot.i18n import N_, _, current_language
from bot.messaging import Outbound
from bot.router import Reply, Request, Router
from bot.services.people import ADMIN, ORGANIZER


async def cmd_help(request: Request) -> Reply:
    """Lists the commands this person's role allows, each with one line of explanation."""
    # Linking is in the menu only when two messengers run; whoever already linked accounts
    # still uses /link to choose where messages arrive.
    linked = request.actor.accounts > 1
    return Outbound(_help_text(request.router, current_language(), request.actor.rank, linked))


@functools.lru_cache(maxsize=64)
def _help_text(router: Router, language: str, rank: str, linked: bool) -> str:
    """The list, the same for everyone of one rank and language: made once, not for each
    /help (the router's commands do not change once registered)."""
    del language  # the cache's key: the words below are in the current language
    lines = [_("Here is what I can do:"), ""]
    sections: list[tuple[str | None, str]] = [(None, _("For everyone"))]
    if rank in (ORGANIZER, ADMIN):
        sections.append((ORGANIZER, _("For organizers")))
    if rank == ADMIN:
        sections.append((ADMIN, _("For admins")))
    shown = router.menu(rank)
    link = router.commands.get("link")
    if link and link not in shown and linked:
        shown.append(link)
    for section_rank, title in sections:
        commands = [c for c in shown if _section(c.rank) == section_rank]
        if not commands:
            continue
        if len(sections) > 1:
            lines.append(f"<b>{title}</b>")
        lines.extend(f"/{router.shown_name(c.name)} — {_(c.description)}" for c in commands)
        lines.append("")
    lines.append(
        _("/{cancel} stops whatever is in progress.").format(cancel=router.shown_name("cancel"))
    )
    return "\n".join(lines).strip()


def _section(rank: str) -> str | None:
    return None if rank == "volunteer" else rank


def register(router: Router) -> None:
    router.command("help", cmd_help, personal=False, description=N_("What I can do"))
