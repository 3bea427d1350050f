"""Figures: the campaign's report for a chosen period and team, with its two charts."""

from __future__ import annotations

from aiohttp import web

from bot.dashboard.html import e, layout, notice, select
from bot.dashboard.server import html, services_of, signed
from bot.domain.reports import PERIODS
from bot.i18n import _, current_language
from bot.report_text import PERIOD_LABELS, render, scope_title
from bot.services.people import NotAllowed
from bot.services.reports import ReportPage, UnknownChoice


def _choice(request: web.Request) -> tuple[str, int | None]:
    period = request.query.get("period", "week")
    if period not in PERIODS:
        period = "week"
    team = request.query.get("team", "")
    return period, int(team) if team.isdigit() and len(team) < 12 else None


async def _report(request: web.Request, *, chart: bool = False) -> tuple[ReportPage, str]:
    """The report the address asks for (a team not the reader's: all they may see), with
    the teams to pick, or the days' activity for its chart; and the period."""
    period, team_id = _choice(request)
    page = await services_of(request).reports.view(
        signed(request).actor, period, team_id, chart=chart, other_team_is_all=True
    )
    return page, period


async def figures_page(request: web.Request) -> web.Response:
    """The report the chat's /report shows, as a page, with the charts beside it."""
    who = signed(request)
    try:
        page, period = await _report(request)
        report, team_id, teams = page.report, page.team_id, page.teams
    except (NotAllowed, UnknownChoice):
        return html(layout(who, _("Figures"), notice(_("Nothing to show here."), "error")), 403)
    form = (
        '<form method="get" action="/figures" class="filters" role="search">'
        + select(
            "period",
            _("Period"),
            [(p, _(PERIOD_LABELS[p])) for p in PERIODS],
            period,
            blank=False,
        )
        + select("team", _("Team"), [(str(i), n) for i, n in teams], str(team_id or ""))
        + '<button class="primary">'
        + e(_("Show"))
        + "</button></form>"
    )
    query = f"period={period}" + (f"&team={team_id}" if team_id else "")
    text = render(report, services_of(request).settings.timezone)
    body = (
        form
        + f"<h2>{e(scope_title(report))}</h2>"
        # Relais' own markup (Telegram's HTML subset), with what people typed escaped.
        + '<div class="card report">'
        + text.replace("\n", "<br>")
        + "</div>"
        + "<h2>"
        + e(_("Tasks done per day"))
        + "</h2>"
        + f'<img class="chart" src="/figures/activity.png?{query}" alt="'
        + e(_("Tasks done per day, by type"))
        + '" width="1000" height="700" loading="lazy">'
        + "<h2>"
        + e(_("Tasks: offered → accepted → done"))
        + "</h2>"
        + f'<img class="chart" src="/figures/funnel.png?{query}" alt="'
        + e(_("Tasks offered, accepted and done, by type"))
        + '" width="1000" height="700" loading="lazy">'
    )
    return html(layout(who, _("Figures"), body, "/figures"))


async def chart(request: web.Request) -> web.Response:
    """One chart of the report, drawn on the server (PNG)."""
    from bot import charts  # matplotlib loads on the first chart asked for

    try:
        page, period = await _report(request, chart=request.match_info["name"] == "activity")
    except (NotAllowed, UnknownChoice):
        raise web.HTTPForbidden() from None
    report = page.report
    language = current_language()
    label = _(PERIOD_LABELS[period])
    if request.match_info["name"] == "activity":
        days = list(page.days)
        png = await charts.activity_chart(days, _("Tasks done per day") + " — " + label, language)
    else:
        title = _("Tasks: offered → accepted → done") + " — " + label
        png = await charts.funnel_chart(report.figures.funnel, title, language)
    return web.Response(body=png, content_type="image/png")


def register(app: web.Application) -> None:
    app.router.add_get("/figures", figures_page)
    app.router.add_get(r"/figures/{name:activity|funnel}.png", chart)
