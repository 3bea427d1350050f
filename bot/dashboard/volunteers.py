"""Volunteers: filter by team, area, skill, availability and status; export the scope."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from aiohttp import web

from bot.audit_text import STATUS_WORDS
from bot.dashboard.html import e, layout, notice, select, table
from bot.dashboard.server import check_csrf, html, services_of, signed
from bot.i18n import _, format_date, format_number, ngettext
from bot.services.dashboard import MEMBER_STATUSES, PAGE_SIZE, VolunteerQuery
from bot.vocabulary import AVAILABILITY, SKILLS, availability_word, skill_word

MAX_OFFSET = 10_000
DEPARTMENTS = Path(__file__).resolve().parent.parent / "data" / "departments.json"
# Overseas départements: not on the map, still filterable.
OVERSEAS = {
    "971": "Guadeloupe",
    "972": "Martinique",
    "973": "Guyane",
    "974": "La Réunion",
    "976": "Mayotte",
}


@cache
def department_names() -> dict[str, str]:
    """Département code → name, metropolitan and overseas."""
    data = json.loads(DEPARTMENTS.read_text(encoding="utf-8"))
    return {d["code"]: d["name"] for d in data["departments"]} | OVERSEAS


def query_of(request: web.Request) -> VolunteerQuery:
    """The filters in the address, each checked against what exists (anything else: all;
    the service drops a team outside the reader's)."""
    q = request.query
    team = q.get("team", "")
    team_id = int(team) if team.isdigit() and len(team) < 12 else None
    area = q.get("area", "").upper()
    return VolunteerQuery(
        team_id=team_id,
        department=area if area in department_names() else "",
        skill=q.get("skill", "") if q.get("skill", "") in SKILLS else "",
        availability=q.get("availability", "") if q.get("availability", "") in AVAILABILITY else "",
        status=q.get("status", "") if q.get("status", "") in MEMBER_STATUSES else "",
    )


def filters_form(
    action: str, query: VolunteerQuery, teams: Sequence[tuple[int, str]], statuses: bool = True
) -> str:
    """The filter bar (a GET form: it changes nothing, so it carries no token)."""
    fields = [
        select("team", _("Team"), [(str(i), n) for i, n in teams], str(query.team_id or "")),
        select(
            "area",
            _("Département"),
            [(code, f"{code} {name}") for code, name in sorted(department_names().items())],
            query.department,
        ),
        select("skill", _("Skill"), [(c, skill_word(c)) for c in SKILLS], query.skill),
        select(
            "availability",
            _("Availability"),
            [(c, availability_word(c)) for c in AVAILABILITY],
            query.availability,
        ),
    ]
    if statuses:
        fields.append(
            select(
                "status",
                _("Status"),
                [(s, _(STATUS_WORDS[s])) for s in MEMBER_STATUSES],
                query.status,
            )
        )
    return (
        f'<form method="get" action="{e(action)}" class="filters" role="search">'
        + "".join(fields)
        + '<button class="primary">'
        + e(_("Filter"))
        + "</button></form>"
    )


async def volunteers_page(request: web.Request) -> web.Response:
    """The table of volunteers within the organizer's teams, 50 at a time."""
    who = signed(request)
    service = services_of(request).dashboard
    offset = request.query.get("offset", "0")
    # Deep pages cost a scan of every row before them: past MAX_OFFSET, filters narrow.
    start = min(int(offset), MAX_OFFSET) if offset.isdigit() else 0
    page = await service.volunteers(who.actor, query_of(request), start)
    query, teams = page.query, page.teams
    names = department_names()
    rows = [
        (
            f"#{v.id}",
            e(v.first_name),
            e(f"{v.department} {names.get(v.department, '')}".strip() or "?"),
            e(", ".join(skill_word(c) for c in SKILLS if c in v.skills)),
            e(", ".join(availability_word(c) for c in AVAILABILITY if c in v.availability)),
            e(_(STATUS_WORDS.get(v.status, v.status))),
            e(format_date(v.last_active_at)),
        )
        for v in page.people
    ]
    shown = (
        ngettext(
            "{shown} of {total} volunteer", "{shown} of {total} volunteers", page.total
        ).format(shown=format_number(len(rows)), total=format_number(page.total))
        if page.total
        else _("Nobody matches.")
    )
    body = [
        filters_form("/volunteers", query, teams),
        f'<p class="count" role="status" id="count">{e(shown)}</p>',
    ]
    if rows:
        body.append(
            table(
                [
                    _("No."),
                    _("First name"),
                    _("Département"),
                    _("Skills"),
                    _("Availability"),
                    _("Status"),
                    _("Last active"),
                ],
                rows,
                caption=_("Volunteers"),
            )
        )
    if page.offset + PAGE_SIZE < page.total and page.offset + PAGE_SIZE > MAX_OFFSET:
        body.append(notice(_("Narrow the filters to see more volunteers.")))
    elif page.offset + PAGE_SIZE < page.total:
        args = {k: v for k, v in request.query.items() if k != "offset"}
        args["offset"] = str(page.offset + PAGE_SIZE)
        link = "/volunteers?" + "&".join(f"{k}={e(v)}" for k, v in args.items())
        body.append(f'<p><a href="{link}">' + e(_("Next page")) + "</a></p>")
    body.append(
        '<form method="post" action="/volunteers/export">'
        f'<input type="hidden" name="csrf" value="{e(who.csrf)}">'
        "<button>" + e(_("Export all my volunteers (CSV)")) + "</button></form>"
    )
    return html(layout(who, _("Volunteers"), "".join(body), "/volunteers"))


async def export(request: web.Request) -> web.Response:
    """The same CSV as /export volunteers in the chat: formula-safe, audited, in scope."""
    await check_csrf(request)
    who = signed(request)
    sink = io.BytesIO()
    await services_of(request).reports.export(who.actor, "volunteers", sink)
    return web.Response(
        body=sink.getvalue(),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="volunteers.csv"'},
    )


def register(app: web.Application) -> None:
    app.router.add_get("/volunteers", volunteers_page)
    app.router.add_post("/volunteers/export", export)
