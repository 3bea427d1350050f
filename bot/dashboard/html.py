"""HTML for the dashboard's pages: one layout, escaped text, forms carrying a CSRF token.

No template engine: pages are small, and every piece of user text goes through `e()`.
No inline script or style anywhere (the Content-Security-Policy forbids them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

from bot.i18n import N_, _, current_language
from bot.services.dashboard import SignedIn

# The pages, in the order of the navigation bar.
NAV: tuple[tuple[str, str], ...] = (
    ("/figures", N_("Figures")),
    ("/volunteers", N_("Volunteers")),
    ("/map", N_("Map")),
    ("/tasks", N_("Tasks")),
    ("/broadcasts", N_("Broadcasts")),
    ("/incidents", N_("Incidents")),
    ("/calls", N_("Call lists")),
)


def e(text: object) -> str:
    """Text as HTML, quotes included (safe in attributes too)."""
    return escape(str(text), quote=True)


def csrf_field(signed: SignedIn) -> str:
    return f'<input type="hidden" name="csrf" value="{e(signed.csrf)}">'


def post_button(signed: SignedIn, action: str, label: str, css: str = "") -> str:
    """A one-button form that changes something (with its CSRF token)."""
    klass = f' class="{e(css)}"' if css else ""
    return (
        f'<form method="post" action="{e(action)}" class="inline">{csrf_field(signed)}'
        f"<button{klass}>{e(label)}</button></form>"
    )


def select(
    name: str, label: str, options: Iterable[tuple[str, str]], chosen: str, blank: bool = True
) -> str:
    """A labelled drop-down; the first option is "all" unless `blank` is False."""
    items = ['<option value="">' + e(_("all")) + "</option>"] if blank else []
    for value, text in options:
        mark = " selected" if value == chosen else ""
        items.append(f'<option value="{e(value)}"{mark}>{e(text)}</option>')
    return (
        f'<label>{e(label)}<select name="{e(name)}" id="f-{e(name)}">'
        + "".join(items)
        + "</select></label>"
    )


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], caption: str = "") -> str:
    """A table whose cells are already HTML."""
    head = "".join(f'<th scope="col">{e(h)}</th>' for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    cap = f"<caption>{e(caption)}</caption>" if caption else ""
    return (
        f'<div class="scroll"><table>{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def notice(text: str, kind: str = "info") -> str:
    role = "alert" if kind == "error" else "status"
    return f'<p class="notice {e(kind)}" role="{role}">{e(text)}</p>'


def layout(signed: SignedIn | None, title: str, body: str, active: str = "") -> str:
    """A whole page: header, navigation (when signed in), main content."""
    nav = ""
    if signed is not None:
        links = "".join(
            f'<a href="{path}"'
            + (' aria-current="page"' if path == active else "")
            + f">{e(_(label))}</a>"
            for path, label in NAV
        )
        logout = (
            f'<form method="post" action="/logout" class="inline">{csrf_field(signed)}'
            '<button class="link">' + e(_("Sign out")) + "</button></form>"
        )
        nav = '<nav aria-label="' + e(_("Pages")) + f'">{links}{logout}</nav>'
    return (
        f'<!doctype html><html lang="{e(current_language())}"><head>'
        '<meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="color-scheme" content="light dark">'
        f"<title>{e(title)} · Relais</title>"
        '<link rel="stylesheet" href="/static/dashboard.css">'
        '<script src="/static/dashboard.js" defer></script>'
        "</head><body>"
        '<a class="skip" href="#main">' + e(_("Skip to content")) + "</a>"
        f'<header><span class="brand">Relais</span>{nav}</header>'
        f'<main id="main"><h1>{e(title)}</h1>{body}</main>'
        "</body></html>"
    )
