"""The dashboard: signing in (one-time links, Telegram's initData), sessions, and its pages
seen by organizers and admins, within the same scope as the chat."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.dashboard.server import COOKIE, LOGIN_ATTEMPTS, build_app
from bot.services import Services
from bot.services.dashboard import validate_init_data
from tests.factories import make_volunteer
from tests.fakes.chat import Chat
from tests.fakes.clock import FakeClock

TOKEN = "123456:TEST-token-never-logged"
BASE = "http://127.0.0.1:9"


def signed_init_data(fields: dict[str, str], token: str = TOKEN) -> str:
    """initData as Telegram signs it: HMAC-SHA256 under HMAC-SHA256("WebAppData", token)."""
    check = "\n".join(f"{k}={fields[k]}" for k in sorted(fields))
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    digest = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urlencode({**fields, "hash": digest})


def mini_app_fields(
    clock: FakeClock, user_id: int = 1, age: timedelta = timedelta()
) -> dict[str, str]:
    return {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps({"id": user_id, "first_name": "Léa", "language_code": "fr"}),
        "auth_date": str(int((clock.now() - age).timestamp())),
    }


# -- initData ------------------------------------------------------------------------------


def test_genuine_init_data_names_the_telegram_user(clock: FakeClock) -> None:
    fields = validate_init_data(signed_init_data(mini_app_fields(clock, 42)), TOKEN, clock.now())
    assert fields is not None
    assert fields["user"] == {"id": 42, "first_name": "Léa", "language_code": "fr"}


@pytest.mark.parametrize("field", ["user", "auth_date", "query_id"])
def test_a_tampered_field_is_refused(clock: FakeClock, field: str) -> None:
    genuine = signed_init_data(mini_app_fields(clock, 42))
    pairs = dict(p.split("=", 1) for p in genuine.split("&"))
    forged = {"user": "%7B%22id%22%3A+1%7D", "auth_date": pairs["auth_date"] + "1", "query_id": "x"}
    pairs[field] = forged[field]
    assert (
        validate_init_data("&".join(f"{k}={v}" for k, v in pairs.items()), TOKEN, clock.now())
        is None
    )


def test_init_data_signed_with_another_token_or_unsigned_is_refused(clock: FakeClock) -> None:
    fields = mini_app_fields(clock)
    assert validate_init_data(signed_init_data(fields, "999:other"), TOKEN, clock.now()) is None
    assert validate_init_data(urlencode(fields), TOKEN, clock.now()) is None
    assert validate_init_data("", TOKEN, clock.now()) is None
    assert validate_init_data(signed_init_data(fields), "", clock.now()) is None


def test_stale_or_future_init_data_is_refused(clock: FakeClock) -> None:
    stale = mini_app_fields(clock, age=timedelta(hours=1, seconds=1))
    assert validate_init_data(signed_init_data(stale), TOKEN, clock.now()) is None
    future = mini_app_fields(clock, age=-timedelta(minutes=10))
    assert validate_init_data(signed_init_data(future), TOKEN, clock.now()) is None
    recent = mini_app_fields(clock, age=timedelta(minutes=59))
    assert validate_init_data(signed_init_data(recent), TOKEN, clock.now()) is not None


def test_a_repeated_field_is_refused(clock: FakeClock) -> None:
    genuine = signed_init_data(mini_app_fields(clock, 42))
    assert validate_init_data(genuine + "&user=%7B%22id%22%3A1%7D", TOKEN, clock.now()) is None


# -- the web pages --------------------------------------------------------------------------


@pytest.fixture
async def web(services: Services) -> AsyncIterator[TestClient]:
    services.dashboard.base_url = BASE
    client = TestClient(TestServer(build_app(services)))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


def code_in(text: str) -> str:
    match = re.search(re.escape(BASE) + r"/login/([\w-]+)", text)
    assert match, text
    return match[1]


async def sign_in(web: TestClient, chat: Chat) -> str:
    """Ask /dashboard in the chat, open the link: the session cookie."""
    code = code_in((await chat.send("/dashboard"))[-1].text)
    page = await web.get(f"/login/{code}")
    assert page.status == 200
    assert f'value="{code}"' in await page.text()
    response = await web.post("/login", data={"code": code}, allow_redirects=False)
    assert response.status == 303, await response.text()
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Strict" in cookie
    return str(response.cookies[COOKIE].value)


async def get(web: TestClient, path: str, session: str) -> tuple[int, str]:
    response = await web.get(path, headers={"Cookie": f"{COOKIE}={session}"}, allow_redirects=False)
    return response.status, await response.text()


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match
    return match[1]


async def test_a_one_time_link_opens_a_session_once(web: TestClient, admin_chat: Chat) -> None:
    code = code_in((await admin_chat.send("/dashboard"))[-1].text)
    assert "10 minutes" in (await admin_chat.send("/dashboard"))[-1].text
    first = await web.post("/login", data={"code": code}, allow_redirects=False)
    assert first.status == 303
    again = await web.post("/login", data={"code": code}, allow_redirects=False)
    assert again.status == 403
    assert "/dashboard" in await again.text()


async def test_a_link_expires_after_ten_minutes(
    web: TestClient, admin_chat: Chat, clock: FakeClock
) -> None:
    code = code_in((await admin_chat.send("/dashboard"))[-1].text)
    clock.advance(minutes=10, seconds=1)
    response = await web.post("/login", data={"code": code}, allow_redirects=False)
    assert response.status == 403


async def test_links_are_stored_hashed(
    web: TestClient, admin_chat: Chat, services: Services
) -> None:
    code = code_in((await admin_chat.send("/dashboard"))[-1].text)
    stored = await services.db.fetch_all("SELECT code_hash FROM dashboard_links")
    assert [r["code_hash"] for r in stored] == [hashlib.sha256(code.encode()).hexdigest()]
    session = await sign_in(web, admin_chat)
    rows = await services.db.fetch_all("SELECT token_hash FROM dashboard_sessions")
    assert hashlib.sha256(session.encode()).hexdigest() in [r["token_hash"] for r in rows]
    assert session not in [r["token_hash"] for r in rows]


async def test_volunteers_get_no_dashboard(
    web: TestClient, chat: Callable[..., Chat], services: Services
) -> None:
    await make_volunteer(services, "300")
    replies = await chat("300").send("/dashboard")
    assert BASE not in replies[-1].text


async def test_pages_need_a_session_and_say_how_to_get_one(web: TestClient) -> None:
    status, _ = await get(web, "/volunteers", "forged")
    assert status == 303
    response = await web.get("/volunteers")
    assert "/dashboard" in await response.text()


async def test_every_answer_carries_a_strict_policy(web: TestClient, admin_chat: Chat) -> None:
    session = await sign_in(web, admin_chat)
    response = await web.get("/volunteers", headers={"Cookie": f"{COOKIE}={session}"})
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "default-src 'none'" in policy
    page = await response.text()
    assert (
        "<script>" not in page
        and " style=" not in page
        and " on" not in page.split("<body")[1].split("=")[0]
    )


async def test_admins_filter_every_volunteer(
    web: TestClient, admin_chat: Chat, services: Services
) -> None:
    await make_volunteer(services, "301", first_name="Basile", postcode="69003", skills=("call",))
    await make_volunteer(services, "302", first_name="Chloé", postcode="75011", skills=("share",))
    await make_volunteer(
        services, "303", first_name="Dara", postcode="69007", skills=("call",), status="paused"
    )
    session = await sign_in(web, admin_chat)
    status, page = await get(web, "/volunteers", session)
    assert status == 200
    assert all(name in page for name in ("Basile", "Chloé", "Dara"))
    _, page = await get(web, "/volunteers?area=69&skill=call", session)
    assert "Basile" in page and "Dara" in page and "Chloé" not in page
    _, page = await get(web, "/volunteers?area=69&status=paused", session)
    assert "Dara" in page and "Basile" not in page
    entries = await services.audit.recent()
    assert ("volunteers.list", "area:69 status:paused") in [(a.action, a.subject) for a in entries]


async def test_organizers_see_their_teams_only(
    web: TestClient, chat: Callable[..., Chat], services: Services
) -> None:
    await make_volunteer(services, "400", first_name="Orga", teams=["Lyon"], team_role="organizer")
    await make_volunteer(services, "401", first_name="Elie", teams=["Lyon"])
    await make_volunteer(services, "402", first_name="Fanny", teams=["Paris"])
    session = await sign_in(web, chat("400"))
    _, page = await get(web, "/volunteers", session)
    assert "Elie" in page and "Fanny" not in page
    paris = next(t for t in await services.team_repo.in_scope(None) if t.name == "Paris")
    _, page = await get(web, f"/volunteers?team={paris.id}", session)
    assert "Fanny" not in page
    assert f'value="{paris.id}"' not in page


async def test_the_export_is_the_chats_audited_formula_safe_csv(
    web: TestClient, admin_chat: Chat, services: Services
) -> None:
    await make_volunteer(services, "500", first_name="=HYPERLINK(1)")
    session = await sign_in(web, admin_chat)
    _, page = await get(web, "/volunteers", session)
    cookie = {"Cookie": f"{COOKIE}={session}"}
    refused = await web.post("/volunteers/export", data={}, headers=cookie)
    assert refused.status == 403
    response = await web.post("/volunteers/export", data={"csrf": csrf_of(page)}, headers=cookie)
    assert response.status == 200
    assert "'=HYPERLINK(1)" in await response.text()
    assert "export" in [a.action for a in await services.audit.recent()]


async def test_sign_out_ends_the_session(web: TestClient, admin_chat: Chat) -> None:
    session = await sign_in(web, admin_chat)
    _, page = await get(web, "/volunteers", session)
    cookie = {"Cookie": f"{COOKIE}={session}"}
    forged = await web.post("/logout", data={"csrf": "x"}, headers=cookie, allow_redirects=False)
    assert forged.status == 403
    response = await web.post(
        "/logout", data={"csrf": csrf_of(page)}, headers=cookie, allow_redirects=False
    )
    assert response.status == 303
    assert (await get(web, "/volunteers", session))[0] == 303


async def test_sessions_expire(web: TestClient, admin_chat: Chat, clock: FakeClock) -> None:
    session = await sign_in(web, admin_chat)
    clock.advance(hours=12, seconds=1)
    assert (await get(web, "/volunteers", session))[0] == 303


async def test_a_demoted_organizer_loses_the_dashboard(
    web: TestClient, chat: Callable[..., Chat], services: Services
) -> None:
    organizer = await make_volunteer(services, "600", teams=["Lyon"], team_role="organizer")
    session = await sign_in(web, chat("600"))
    lyon = next(t for t in await services.team_repo.in_scope(None) if t.name == "Lyon")
    await services.volunteers.revoke_role(organizer.id, "organizer", lyon.id)
    assert (await get(web, "/volunteers", session))[0] == 303


async def test_logins_are_rate_limited(web: TestClient) -> None:
    for _ in range(LOGIN_ATTEMPTS):
        response = await web.post("/login", data={"code": "guess"}, allow_redirects=False)
        assert response.status == 403
    response = await web.post("/login", data={"code": "guess"}, allow_redirects=False)
    assert response.status == 429


async def test_telegram_signs_in_with_init_data(
    web: TestClient, services: Services, clock: FakeClock
) -> None:
    from dataclasses import replace

    from bot.config import Secret

    services.dashboard.settings = replace(services.settings, telegram_token=Secret(TOKEN))
    init_data = signed_init_data(mini_app_fields(clock, user_id=1))
    response = await web.post(
        "/login/telegram", data={"init_data": init_data}, allow_redirects=False
    )
    assert response.status == 303
    session = str(response.cookies[COOKIE].value)
    assert (await get(web, "/volunteers", session))[0] == 200
    stale = signed_init_data(mini_app_fields(clock, 1, age=timedelta(hours=2)))
    refused = await web.post("/login/telegram", data={"init_data": stale}, allow_redirects=False)
    assert refused.status == 403
    volunteer = signed_init_data(mini_app_fields(clock, user_id=777))
    refused = await web.post(
        "/login/telegram", data={"init_data": volunteer}, allow_redirects=False
    )
    assert refused.status == 403


async def test_pages_follow_the_persons_language(
    web: TestClient, chat: Callable[..., Chat], services: Services
) -> None:
    await make_volunteer(services, "700", language="en", teams=["Lyon"], team_role="organizer")
    session = await sign_in(web, chat("700", language="en"))
    _, page = await get(web, "/volunteers", session)
    assert "Sign out" in page and 'lang="en"' in page
    french = await make_volunteer(services, "701", teams=["Lyon"], team_role="organizer")
    assert french.language == "fr"
    session = await sign_in(web, chat("701"))
    _, page = await get(web, "/volunteers", session)
    assert "Se déconnecter" in page and 'lang="fr"' in page


# -- the other pages -----------------------------------------------------------------------


async def post(web: TestClient, path: str, session: str, data: dict[str, str]) -> tuple[int, str]:
    response = await web.post(
        path, data=data, headers={"Cookie": f"{COOKIE}={session}"}, allow_redirects=False
    )
    return response.status, await response.text()


async def test_every_page_opens_for_an_admin(
    web: TestClient, admin_chat: Chat, services: Services
) -> None:
    await make_volunteer(services, "800", first_name="<script>alert(1)</script>", postcode="69003")
    session = await sign_in(web, admin_chat)
    for path in (
        "/figures",
        "/volunteers",
        "/map",
        "/tasks",
        "/broadcasts",
        "/incidents",
        "/calls",
    ):
        status, page = await get(web, path, session)
        assert status == 200, path
        assert "<script>alert" not in page
    _, page = await get(web, "/volunteers", session)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    _, page = await get(web, "/map", session)
    assert page.count("<path ") == 96 and "69 Rhône: 1 bénévole" in page
    response = await web.get(
        "/figures/activity.png?period=month", headers={"Cookie": f"{COOKIE}={session}"}
    )
    assert response.content_type == "image/png"
    assert (await response.read()).startswith(b"\x89PNG")


async def test_tasks_are_created_with_the_chats_rules(
    web: TestClient, chat: Callable[..., Chat], services: Services
) -> None:
    await make_volunteer(services, "900", teams=["Lyon"], team_role="organizer")
    await make_volunteer(services, "901", teams=["Paris"])
    session = await sign_in(web, chat("900"))
    _, page = await get(web, "/tasks", session)
    token = csrf_of(page)
    teams = {t.name: t.id for t in await services.team_repo.in_scope(None)}
    share = {"csrf": token, "kind": "share", "team": str(teams["Lyon"]), "title": "Partager"}
    status, page = await post(web, "/tasks", session, share)
    assert status == 400 and "besoin du lien" in page
    status, page = await post(
        web, "/tasks", session, {**share, "team": str(teams["Paris"]), "link": "https://x.org"}
    )
    assert status == 400 and "une de vos équipes" in page
    status, _ = await post(web, "/tasks", session, {**share, "title": "Partager", "csrf": "no"})
    assert status == 403
    status, _ = await post(web, "/tasks", session, {**share, "link": "https://x.org/v"})
    assert status == 303
    _, page = await get(web, "/tasks", session)
    assert "Partager" in page and "ouverte" in page
    task_id = re.search(r'id="task-(\d+)"', page)
    assert task_id
    status, _ = await post(web, f"/tasks/{task_id[1]}/pause", session, {"csrf": token})
    assert status == 303
    status, _ = await post(web, f"/tasks/{task_id[1]}/close", session, {"csrf": token})
    assert status == 303
    actions = [a.action for a in await services.audit.recent()]
    assert {"task.create", "task.paused", "task.closed"} <= set(actions)


async def test_a_broadcast_counts_its_audience_and_can_be_cancelled(
    web: TestClient, admin_chat: Chat, services: Services, clock: FakeClock
) -> None:
    for n, postcode in enumerate(("69003", "69007", "75011")):
        await make_volunteer(services, str(1000 + n), postcode=postcode)
    session = await sign_in(web, admin_chat)
    _, words = await get(web, "/broadcasts/audience?audience=area:69", session)
    assert words.startswith("2 bénévoles")
    _, words = await get(web, "/broadcasts/audience?audience=team:Nowhere", session)
    assert "Nowhere" in words
    _, page = await get(web, "/broadcasts", session)
    later = (clock.now() + timedelta(days=2)).astimezone(services.settings.timezone)
    status, _ = await post(
        web,
        "/broadcasts",
        session,
        {
            "csrf": csrf_of(page),
            "audience": "area:69",
            "text": "Réunion <b>jeudi</b>",
            "send_at": later.strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert status == 303
    _, page = await get(web, "/broadcasts", session)
    assert "programmée" in page and "Réunion &lt;b&gt;jeudi&lt;/b&gt;" in page
    status, _ = await post(web, "/broadcasts/1/cancel", session, {"csrf": csrf_of(page)})
    assert status == 303
    _, page = await get(web, "/broadcasts", session)
    assert "annulée par un organisateur" in page
    actions = [a.action for a in await services.audit.recent()]
    assert {"broadcast.create", "broadcast.cancel"} <= set(actions)


async def test_telegram_opens_the_dashboard_as_a_mini_app(
    admin_chat: Chat, services: Services
) -> None:
    from bot.messaging import Outbound
    from bot.transports.telegram import inline_keyboard

    services.dashboard.base_url = "https://relais.example.org"
    reply = (await admin_chat.send("/dashboard"))[-1]
    button = reply.choices[0][0]
    assert button.web_app and button.url == "https://relais.example.org/tg"
    assert Outbound.from_json(reply.to_json()).choices == reply.choices
    markup = inline_keyboard(reply)
    assert markup is not None
    rendered = markup.inline_keyboard[0][0]
    assert rendered.web_app is not None and rendered.web_app.url == "https://relais.example.org/tg"
    assert not await services.db.fetch_all("SELECT 1 FROM dashboard_links")  # no link needed
