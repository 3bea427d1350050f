"""The dashboard's web server: sign-in, sessions, security headers, and the pages' routes.

Served by the Relais process itself, on the same event loop as the messengers. Every page
resolves the signed-in person again on each request (roles may have changed since), in
their language, and calls the same services as the chat.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from bot.config import pick_language
from bot.dashboard.html import e, layout, notice
from bot.i18n import _, use_language
from bot.services import Services
from bot.services.dashboard import SESSION_LIFETIME, SignedIn

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
COOKIE = "relais_session"
# Sign-in attempts per address and minute: a one-time code cannot be guessed by trying.
LOGIN_ATTEMPTS = 10
LOGIN_WINDOW = 60.0
# Nothing from elsewhere: no inline script or style, no frames but Telegram's web client.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'self' https://web.telegram.org"
)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SERVICES = web.AppKey("services", Services)
PUBLIC = ("/login", "/tg", "/static/", "/signed-out")


class LoginLimit:
    """At most LOGIN_ATTEMPTS sign-ins per address per minute (in this process)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.attempts: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, address: str) -> bool:
        now = self.clock()
        seen = self.attempts[address]
        while seen and seen[0] <= now - LOGIN_WINDOW:
            seen.popleft()
        if len(self.attempts) > 10_000:  # a flood of addresses: forget the quiet ones
            for key in [k for k, v in self.attempts.items() if not v]:
                del self.attempts[key]
        if len(seen) >= LOGIN_ATTEMPTS:
            return False
        seen.append(now)
        return True


LIMIT = web.AppKey("limit", LoginLimit)
# The person of the request being answered (each request runs in a task of its own).
_signed_in: ContextVar[SignedIn] = ContextVar("dashboard_signed_in")


def signed(request: web.Request) -> SignedIn:
    """The signed-in person of a page request (the middleware checked there is one)."""
    return _signed_in.get()


def services_of(request: web.Request) -> Services:
    return request.app[SERVICES]


async def check_csrf(request: web.Request) -> dict[str, str]:
    """The posted form, if its CSRF token is this session's; 403 otherwise."""
    form = await request.post()
    token = str(form.get("csrf", ""))
    if not hmac.compare_digest(token.encode(), signed(request).csrf.encode()):
        raise web.HTTPForbidden(text=_("This form has expired: reload the page."))
    return {k: str(v) for k, v in form.items() if isinstance(v, str)}


@web.middleware
async def security(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Headers on every answer; the session on every page; the person's language."""
    public = request.path.startswith(PUBLIC)
    who: SignedIn | None = None
    try:
        if not public:
            cookie = request.cookies.get(COOKIE, "")
            who = await services_of(request).dashboard.signed_in(cookie)
            if who is None:
                raise web.HTTPSeeOther("/signed-out")
            _signed_in.set(who)
        language = who.language if who else _browser_language(request, services_of(request))
        with use_language(language):
            response = await handler(request)
    except web.HTTPException as exc:
        _headers(exc)
        raise
    return _headers(response)


def _headers(response: web.StreamResponse) -> web.StreamResponse:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _browser_language(request: web.Request, services: Services) -> str:
    wanted = request.headers.get("Accept-Language", "")[:2].lower()
    return pick_language(wanted, services.settings.language)


def html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def see_other(to: str) -> web.Response:
    """A redirect after a form (returned, so the middleware still adds its headers)."""
    return web.Response(status=303, headers={"Location": to})


def _start_session(token: str, to: str = "/") -> web.Response:
    response = see_other(to)
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        secure=True,
        samesite="Strict",
    )
    return response


def _address(request: web.Request) -> str:
    return request.remote or "?"


# -- sign-in ---------------------------------------------------------------------------------


async def login_page(request: web.Request) -> web.Response:
    """The page a one-time link opens: one button, so a link preview cannot use it up."""
    code = request.match_info.get("code", "")
    body = (
        "<p>" + e(_("This link opens the dashboard once, for 10 minutes.")) + "</p>"
        '<form method="post" action="/login">'
        f'<input type="hidden" name="code" value="{e(code)}">'
        '<button class="primary" autofocus>' + e(_("Open the dashboard")) + "</button></form>"
    )
    return html(layout(None, _("Sign in"), body))


async def login(request: web.Request) -> web.Response:
    """Use a one-time link: a session cookie, or a page saying to ask for a new link."""
    if not request.app[LIMIT].allow(_address(request)):
        return html(
            layout(None, _("Sign in"), notice(_("Too many attempts: wait a minute."), "error")), 429
        )
    form = await request.post()
    opened = await services_of(request).dashboard.open_with_code(str(form.get("code", "")))
    if opened is None:
        return _expired_link()
    return _start_session(opened[0])


def _expired_link() -> web.Response:
    body = notice(
        _("This link has expired or was already used. Send /dashboard in the chat for a new one."),
        "error",
    )
    return html(layout(None, _("Sign in"), body), 403)


async def telegram_page(request: web.Request) -> web.Response:
    """What Telegram opens: the static script posts the Mini App's initData back."""
    body = (
        '<p id="tg-status" role="status" data-refused="'
        + e(_("Telegram's signature could not be checked."))
        + '" data-missing="'
        + e(_("Open the dashboard from Telegram, or send /dashboard in the chat."))
        + '">'
        + e(_("Signing you in…"))
        + "</p>"
        "<noscript><p>"
        + e(_("The dashboard needs JavaScript inside Telegram."))
        + "</p></noscript>"
    )
    return html(layout(None, "Relais", body))


async def telegram_login(request: web.Request) -> web.Response:
    """Check a Mini App's initData (Telegram's signature, its age) and open a session."""
    if not request.app[LIMIT].allow(_address(request)):
        raise web.HTTPTooManyRequests()
    form = await request.post()
    opened = await services_of(request).dashboard.open_with_init_data(
        str(form.get("init_data", ""))
    )
    if opened is None:
        raise web.HTTPForbidden(text=_("Telegram's signature could not be checked."))
    return _start_session(opened[0])


async def signed_out(request: web.Request) -> web.Response:
    body = notice(_("You are signed out. Send /dashboard in the chat to open the dashboard."))
    return html(layout(None, _("Signed out"), body))


async def logout(request: web.Request) -> web.Response:
    await check_csrf(request)
    await services_of(request).dashboard.sign_out(request.cookies.get(COOKIE, ""))
    response = see_other("/signed-out")
    response.del_cookie(COOKIE, path="/")
    return response


async def home(request: web.Request) -> web.Response:
    raise web.HTTPSeeOther("/figures")


async def static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    path = STATIC / name
    if "/" in name or name.startswith(".") or not path.is_file():
        raise web.HTTPNotFound()
    response = web.FileResponse(path)
    response.headers["Cache-Control"] = "max-age=3600"
    return response


def build_app(services: Services) -> web.Application:
    from bot.dashboard import pages  # the pages use this module's helpers

    app = web.Application(middlewares=[security], client_max_size=256 * 1024)
    app[SERVICES] = services
    app[LIMIT] = LoginLimit()
    app.router.add_get("/", home)
    app.router.add_get("/login/{code}", login_page)
    app.router.add_post("/login", login)
    app.router.add_get("/tg", telegram_page)
    app.router.add_post("/login/telegram", telegram_login)
    app.router.add_get("/signed-out", signed_out)
    app.router.add_post("/logout", logout)
    app.router.add_get("/static/{name}", static)
    pages.register(app)
    return app


class DashboardServer:
    """Starts and stops the dashboard beside the messengers."""

    def __init__(self, services: Services, host: str, port: int, public_url: str) -> None:
        self.services = services
        self.host = host
        self.port = port
        self.public_url = public_url
        self.runner: web.AppRunner | None = None

    @classmethod
    def from_settings(cls, services: Services) -> DashboardServer:
        settings = services.settings
        url = urlsplit(settings.dashboard_url)
        if url.scheme == "http":  # this machine: listen where the address says
            port = 80 if url.port is None else url.port
            return cls(services, url.hostname or "127.0.0.1", port, settings.dashboard_url)
        return cls(
            services, settings.webhook_listen, settings.dashboard_port, settings.dashboard_url
        )

    @property
    def url(self) -> str:
        return self.public_url

    async def start(self) -> None:
        self.runner = web.AppRunner(build_app(self.services), access_log=None)
        await self.runner.setup()
        # Several workers on one PostgreSQL database may serve it on one port (SO_REUSEPORT):
        # sessions and links live in the database, so any of them answers.
        reuse = bool(self.services.settings.database_url)
        site = web.TCPSite(self.runner, self.host, self.port, reuse_port=reuse)
        await site.start()
        if self.port == 0:  # tests: the port the system chose
            server = site._server
            sockets = getattr(server, "sockets", None) or []
            self.port = int(sockets[0].getsockname()[1])
            self.public_url = f"http://{self.host}:{self.port}"
        self.services.dashboard.base_url = self.public_url
        log.info("the dashboard listens on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None
