"""Every page of the dashboard, wired into the web application."""

from __future__ import annotations

from aiohttp import web

from bot.dashboard import broadcasts, calls, figures, incidents, map, tasks, volunteers


def register(app: web.Application) -> None:
    for module in (figures, volunteers, map, tasks, broadcasts, incidents, calls):
        module.register(app)
