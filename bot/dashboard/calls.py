"""Call lists: how far each phone bank in the organizer's teams got, and who is left."""

from __future__ import annotations

from aiohttp import web

from bot.dashboard.html import e, layout, notice
from bot.dashboard.server import html, services_of, signed
from bot.i18n import _, format_number


async def calls_page(request: web.Request) -> web.Response:
    who = signed(request)
    lists = await services_of(request).dashboard.call_lists(who.actor)
    cards = []
    for item, summary in lists:
        total = sum(n for k, n in summary.items() if not k.startswith("result_"))
        left = summary.get("ready", 0) + summary.get("held", 0) + summary.get("callback", 0)
        results = _(
            "supporters {supporter} · undecided {undecided} · opposed {opposed} · "
            "no answer {no_answer}"
        ).format(
            supporter=summary.get("result_supporter", 0),
            undecided=summary.get("result_undecided", 0),
            opposed=summary.get("result_opposed", 0),
            no_answer=summary.get("result_no_answer", 0),
        )
        counts = _("{left} left to call of {total}").format(
            left=format_number(left), total=format_number(total)
        )
        called = total - left
        cards.append(
            f'<article class="card" id="calls-{item.task.id}">'
            f"<h2>#{item.task.id} {e(item.task.title)}</h2>"
            f'<progress max="{total or 1}" value="{called}"></progress>'
            f"<p>{e(counts)}</p><p>{e(results)}</p></article>"
        )
    body = (
        f'<div class="cards">{"".join(cards)}</div>'
        if cards
        else notice(_("No call list in your teams yet."))
    )
    return html(layout(who, _("Call lists"), body, "/calls"))


def register(app: web.Application) -> None:
    app.router.add_get("/calls", calls_page)
