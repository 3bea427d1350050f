"""/report, /export and /digest: how the campaign is moving, for organizers, in the chat.

Buttons carry `rep:r:<period>:<scope>` (a report), `rep:c:<a|f>:<period>:<scope>` (a chart:
activity or funnel), `exp:<what>` and `dig:<on|off>`. Scope is `a` (everything the
organizer may see), `t<team id>` or `d<département>`; it is checked again on every tap.
"""

from __future__ import annotations

import re
from tempfile import SpooledTemporaryFile

from bot.domain.errors import Invalid
from bot.domain.reports import EXPORTS, PERIODS, Period
from bot.i18n import N_, _, current_language, format_number, ngettext
from bot.messaging import Attachment, Choice, Outbound, choices
from bot.payloads import Digest, Export, ReportChart, ReportView
from bot.report_text import PERIOD_LABELS, render, scope_title
from bot.router import Reply, Request, Router, expired
from bot.services.people import ORGANIZER, NotAllowed
from bot.services.reports import ReportPage, UnknownChoice
from bot.text import esc

PERIOD_WORDS: dict[str, Period] = {
    "today": "today",
    "aujourd'hui": "today",
    "aujourdhui": "today",
    "jour": "today",
    "week": "week",
    "semaine": "week",
    "month": "month",
    "mois": "month",
    "campaign": "campaign",
    "campagne": "campaign",
    "all": "campaign",
    "tout": "campaign",
}
EXPORT_WORDS = {
    "volunteers": "volunteers",
    "benevoles": "volunteers",
    "bénévoles": "volunteers",
    "tasks": "tasks",
    "taches": "tasks",
    "tâches": "tasks",
    "outcomes": "outcomes",
    "resultats": "outcomes",
    "résultats": "outcomes",
    "calls": "calls",
    "appels": "calls",
}
EXPORT_LABELS = {
    "volunteers": N_("Volunteers"),
    "tasks": N_("Tasks"),
    "outcomes": N_("Outcomes"),
    "calls": N_("Calls"),
}
DEPARTMENT = re.compile(r"^(\d{2,3}|2[AaBb])$")
TELEGRAM_FILE_LIMIT = 45_000_000  # bytes; bots may send documents up to 50 MB
TEAM_BUTTONS = 8


# -- /report -------------------------------------------------------------------------------


async def cmd_report(request: Request) -> Reply:
    """Shows this week's report for the organizer's scope, or the period and team typed."""
    words = request.inbound.args.split(maxsplit=1)
    period: Period = "week"
    if words and words[0].lower() in PERIOD_WORDS:
        period = PERIOD_WORDS[words.pop(0).lower()]
    scope, team_name = "a", ""
    if words:
        target = words[0].strip()
        if DEPARTMENT.match(target):
            scope = "d" + target.upper()
        else:
            team_name = target
    request.actor.require(ORGANIZER)
    try:
        return await _report_reply(request, period, scope, edit=False, team_name=team_name)
    except Invalid:
        return Outbound(
            _(
                "I don't know the team or area “{name}”. Try /report, /report month, "
                "/report week 91 or /report campaign followed by a team name."
            ).format(name=esc(team_name[:60]))
        )
    except NotAllowed:
        return Outbound(_("You can see the reports of your own teams only."))
    except UnknownChoice:
        return Outbound(_("There is nobody in area {area} yet.").format(area=esc(scope[1:])))


async def tap_report(request: Request) -> Reply:
    """Switches the report to another period or team, or sends a chart of it."""
    tap = request.payload
    try:
        if isinstance(tap, ReportView):
            return await _report_reply(request, tap.period, tap.scope, edit=True)
        if isinstance(tap, ReportChart):
            return await _chart_reply(request, tap.chart, tap.period, tap.scope)
    except (NotAllowed, UnknownChoice, ValueError):
        pass  # another team's or a forged button
    return expired()


async def _view(
    request: Request, period: str, scope: str, *, team_name: str = "", chart: bool = False
) -> ReportPage:
    team_id, department = _parse_scope(scope)
    return await request.services.reports.view(
        request.actor, period, team_id, department, team_name=team_name, chart=chart
    )


def _parse_scope(scope: str) -> tuple[int | None, str | None]:
    if scope == "a":
        return None, None
    if scope.startswith("t") and scope[1:].isdigit():
        return int(scope[1:]), None
    if scope.startswith("d") and DEPARTMENT.match(scope[1:]):
        return None, scope[1:]
    raise ValueError(scope)


async def _report_reply(
    request: Request, period: Period, scope: str, *, edit: bool, team_name: str = ""
) -> Outbound:
    page = await _view(request, period, scope, team_name=team_name)
    report, teams = page.report, page.teams
    if team_name:
        scope = f"t{next(iter(report.scope.teams or ()))}"
    text = render(report, request.services.settings.timezone)
    periods = [
        ReportView("r", p, scope).button(("• " if p == period else "") + _(PERIOD_LABELS[p]))
        for p in PERIODS
    ]
    rows: list[list[Choice]] = [
        periods[:2],
        periods[2:],
        [
            ReportChart("c", "a", period, scope).button("📈 " + _("Activity chart")),
            ReportChart("c", "f", period, scope).button("📊 " + _("Task funnel")),
        ],
    ]
    if len(teams) > 1:
        everything = _("Everything") if request.actor.is_admin else _("All my teams")
        buttons = [ReportView("r", period, "a").button(everything)] + [
            ReportView("r", period, f"t{team_id}").button(name[:40])
            for team_id, name in teams[:TEAM_BUTTONS]
        ]
        rows += [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return Outbound(text, choices(*rows), edit=edit)


async def _chart_reply(request: Request, chart: str, period: Period, scope: str) -> Outbound:
    # matplotlib loads only when someone asks for a chart: it weighs ~40 MB and 0.3 s.
    from bot import charts

    page = await _view(request, period, scope, chart=chart == "a")
    report = page.report
    language = current_language()
    heading = f"{_(PERIOD_LABELS[period])} — {scope_title(report)}"
    if chart == "a":
        days = list(page.days)
        title = _("Tasks done per day") + " — " + _(PERIOD_LABELS[period])
        png = await charts.activity_chart(days, title, language)
        name = f"relais-activity-{period}.png"
    else:
        title = _("Tasks: offered → accepted → done") + " — " + _(PERIOD_LABELS[period])
        png = await charts.funnel_chart(report.figures.funnel, title, language)
        name = f"relais-funnel-{period}.png"
    return Outbound(heading, attachment=Attachment(name, png, "photo"))


# -- /export -------------------------------------------------------------------------------


async def cmd_export(request: Request) -> Reply:
    """Sends a CSV file of volunteers, tasks, outcomes or calls in the organizer's scope."""
    what = request.inbound.args.split(maxsplit=1)[0].lower() if request.inbound.args else ""
    if not what:
        return Outbound(
            _("What do you want to export? You get a CSV file that opens in any spreadsheet."),
            choices(
                [Export(w).button(_(EXPORT_LABELS[w])) for w in EXPORTS[:2]],
                [Export(w).button(_(EXPORT_LABELS[w])) for w in EXPORTS[2:]],
            ),
        )
    if what not in EXPORT_WORDS:
        return Outbound(
            _("I can export: {kinds}. For example: /export volunteers").format(
                kinds=", ".join(EXPORTS)
            )
        )
    return await _export_reply(request, EXPORT_WORDS[what])


async def tap_export(request: Request) -> Reply:
    """Sends the export whose button was tapped."""
    return await _export_reply(request, request.tap(Export).what)


async def _export_reply(request: Request, what: str) -> Outbound:
    services = request.services
    with SpooledTemporaryFile(max_size=4_000_000) as sink:
        rows = await services.reports.export(request.actor, what, sink)
        size = sink.tell()
        if size > TELEGRAM_FILE_LIMIT:
            return Outbound(
                _(
                    "This export is too big to send in the chat ({size} MB). Ask an admin to "
                    "run it from the command line."
                ).format(size=round(size / 1e6))
            )
        sink.seek(0)
        content = sink.read()
    day = services.clock.now().astimezone(services.settings.timezone).date().isoformat()
    caption = ngettext_rows(rows)
    return Outbound(caption, attachment=Attachment(f"relais-{what}-{day}.csv", content, "document"))


def ngettext_rows(rows: int) -> str:
    return ngettext(
        "{n} row. This export was recorded in the audit log.",
        "{n} rows. This export was recorded in the audit log.",
        rows,
    ).format(n=format_number(rows))


# -- /digest -------------------------------------------------------------------------------


async def cmd_digest(request: Request) -> Reply:
    """Turns the daily and weekly digests on or off, or says whether they are on."""
    volunteer = request.actor.volunteer
    if volunteer is None:
        return Outbound(_("Send /start first, so I know where to send your digests."))
    arg = request.inbound.args.lower()
    if arg in ("on", "oui", "yes", "off", "non", "no"):
        return await _set_digest(request, arg in ("on", "oui", "yes"))
    if arg:
        return Outbound(_("Write /digest on or /digest off."))
    state = _("on") if volunteer.digest else _("off")
    return Outbound(
        _(
            "Digests are {state}: a summary of your teams every evening at {time}, and of the "
            "past week on Monday morning."
        ).format(state=state, time=request.services.settings.digest_time.strftime("%H:%M")),
        choices([Digest("on").button(_("Turn on")), Digest("off").button(_("Turn off"))]),
    )


async def tap_digest(request: Request) -> Reply:
    """Turns digests on or off from the buttons."""
    value = request.tap(Digest).state
    if request.actor.volunteer is None:
        return expired()
    request.actor.require(ORGANIZER)
    return await _set_digest(request, value == "on", edit=True)


async def _set_digest(request: Request, on: bool, edit: bool = False) -> Outbound:
    volunteer = request.actor.volunteer
    assert volunteer is not None
    await request.services.profiles.set_digest(volunteer, on)
    if on:
        return Outbound(
            _("Digests are on. You will get the first one this evening at {time}.").format(
                time=request.services.settings.digest_time.strftime("%H:%M")
            ),
            edit=edit,
        )
    return Outbound(_("Digests are off. Send /digest on to get them again."), edit=edit)


def register(router: Router) -> None:
    router.command(
        "report",
        cmd_report,
        rank=ORGANIZER,
        description=N_("How the campaign is moving"),
        arguments=True,
    )
    router.command(
        "export",
        cmd_export,
        rank=ORGANIZER,
        description=N_("Export volunteers, tasks… as CSV"),
        arguments=True,
    )
    router.command(
        "digest",
        cmd_digest,
        rank=ORGANIZER,
        description=N_("Daily and weekly digests on or off"),
        arguments=True,
    )
    router.choice([ReportView, ReportChart], tap_report)
    router.choice(Export, tap_export)
    router.choice(Digest, tap_digest)
