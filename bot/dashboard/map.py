"""Map: volunteers per département, drawn on the server from the outlines shipped in
bot/data/departments.json (nothing loaded from elsewhere), with the same filters as the
volunteers page."""

from __future__ import annotations

import json
from functools import cache

from aiohttp import web

from bot.dashboard.html import e, layout, table
from bot.dashboard.server import html, services_of, signed
from bot.dashboard.volunteers import DEPARTMENTS, OVERSEAS, department_names, filters_form, query_of
from bot.i18n import _, format_number, ngettext

SHADES = 5


@cache
def outlines() -> tuple[str, tuple[tuple[str, str, str], ...], str]:
    """(viewBox, ((code, name, path), …), credit) of the metropolitan départements."""
    data = json.loads(DEPARTMENTS.read_text(encoding="utf-8"))
    shapes = tuple((d["code"], d["name"], d["path"]) for d in data["departments"])
    return data["viewBox"], shapes, data["credit"]


def shade(count: int, most: int) -> int:
    """0 for nobody, then 1 … SHADES in proportion to the busiest département."""
    if count <= 0 or most <= 0:
        return 0
    return max(1, min(SHADES, -(-count * SHADES // most)))


def svg(counts: dict[str, int], label: str) -> str:
    view_box, shapes, _credit = outlines()
    most = max(counts.values(), default=0)
    paths = []
    for code, name, path in shapes:
        n = counts.get(code, 0)
        title = f"{code} {name}: " + ngettext("{n} volunteer", "{n} volunteers", n).format(
            n=format_number(n)
        )
        paths.append(f'<path class="q{shade(n, most)}" d="{path}"><title>{e(title)}</title></path>')
    return (
        f'<svg class="map" viewBox="{view_box}" role="img" aria-label="{e(label)}"'
        ' xmlns="http://www.w3.org/2000/svg">' + "".join(paths) + "</svg>"
    )


async def map_page(request: web.Request) -> web.Response:
    who = signed(request)
    areas = await services_of(request).dashboard.by_department(who.actor, query_of(request))
    counts, teams, query = areas.counts, areas.teams, areas.query
    total = sum(counts.values())
    names = department_names()
    label = _("Volunteers per département")
    busiest = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:15]
    rows = [
        (e(f"{code} {names.get(code, '')}".strip()), e(format_number(n))) for code, n in busiest
    ]
    overseas = [
        (e(f"{code} {name}"), e(format_number(counts.get(code, 0))))
        for code, name in OVERSEAS.items()
        if counts.get(code)
    ]
    _box, _shapes, credit = outlines()
    legend = (
        '<p class="legend">'
        + "".join(
            '<svg width="18" height="18" aria-hidden="true">'
            f'<rect class="q{i}" width="18" height="18"/></svg>'
            for i in range(SHADES + 1)
        )
        + e(_("none → most"))
        + "</p>"
    )
    body = (
        filters_form("/map", query, teams)
        + '<p class="count" role="status">'
        + e(
            ngettext("{n} volunteer placed", "{n} volunteers placed", total).format(
                n=format_number(total)
            )
        )
        + "</p>"
        + svg(counts, label)
        + legend
        + (table([_("Département"), _("Volunteers")], rows, _("Most volunteers")) if rows else "")
        + (table([_("Overseas"), _("Volunteers")], overseas) if overseas else "")
        + '<p class="hint">'
        + e(_("Map: {credit}").format(credit=credit))
        + "</p>"
    )
    return html(layout(who, _("Map"), body, "/map"))


def register(app: web.Application) -> None:
    app.router.add_get("/map", map_page)
