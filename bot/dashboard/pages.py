"""Every page of the dashboard, wired into the web application."""

from __future__ import annotations

from aiohttp import web

from bot.dashboard import volunteers


def register(app: web.Application) -> None:
    for module in (volunteers,):
        module.register(app)
