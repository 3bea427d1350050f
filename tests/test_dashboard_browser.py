"""The dashboard in a real browser (Debian's Chromium driven by Playwright) at phone size:
an organizer signs in with the link /dashboard gave them in Telegram, filters volunteers,
sends a broadcast that reaches the fake Bot API, and takes an incident.

One browser is shared by every test of this file. Without Chromium the tests are skipped
(`make test` says so in one line). RELAIS_SCREENSHOTS=1 also saves each page in docs/.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.app import Relais
from bot.config import Identity
from bot.domain.tasks import TaskDraft
from bot.services.alerts import subject_of
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.clock import FakeClock
from tests.fakes.relais import running_relais, telegram_env
from tools.seed import SeedVolunteer, add_volunteers

pytestmark = pytest.mark.asyncio(loop_scope="module")

DOCS = Path(__file__).resolve().parent.parent / "docs"
PHONE = {"width": 390, "height": 844}


def chromium() -> str | None:
    """Debian's Chromium (no browser is downloaded: Playwright drives the system's)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Any]:
    path = chromium()
    if path is None:
        pytest.skip("Chromium is not installed: the dashboard's browser tests did not run")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=path, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield launched
        finally:
            await launched.close()


@dataclass
class World:
    api: FakeBotAPI
    relais: Relais
    page: Any
    base: str

    async def shot(self, name: str) -> None:
        if os.environ.get("RELAIS_SCREENSHOTS"):
            await self.page.screenshot(path=str(DOCS / f"dashboard-{name}.png"), full_page=False)


@pytest_asyncio.fixture(loop_scope="module")
async def world(browser: Any, database_url: str) -> AsyncIterator[World]:
    async with FakeBotAPI() as api:
        env = telegram_env(api, database_url, RELAIS_DASHBOARD_URL="http://127.0.0.1:0")
        async with running_relais(env, FakeClock()) as relais:
            assert relais.dashboard is not None
            context = await browser.new_context(
                viewport=PHONE, device_scale_factor=2, locale="fr-FR", color_scheme="light"
            )
            page = await context.new_page()
            try:
                yield World(api, relais, page, relais.dashboard.url)
            finally:
                await context.close()


async def seed(world: World) -> None:
    services = world.relais.services
    people = [
        SeedVolunteer(
            "2001",
            first_name="Basile",
            postcode="69003",
            department="69",
            skills="call",
            quiet_hours="",
        ),
        SeedVolunteer(
            "2002",
            first_name="Chloé",
            postcode="69007",
            department="69",
            skills="share",
            quiet_hours="",
        ),
        SeedVolunteer(
            "2003",
            first_name="Dara",
            postcode="75011",
            department="75",
            skills="call",
            quiet_hours="",
        ),
    ]
    await add_volunteers(services.db, people, services.clock.now())
    if os.environ.get("RELAIS_SCREENSHOTS"):
        await _crowd(world)


async def _crowd(world: World) -> None:
    """More people for the pictures: none in the Rhône and none who calls, so every
    assertion above holds."""
    services = world.relais.services
    departments = [
        d
        for d in (
            "75",
            "93",
            "13",
            "33",
            "59",
            "31",
            "44",
            "67",
            "35",
            "29",
            "06",
            "34",
            "38",
            "76",
            "57",
            "2A",
            "974",
            "63",
        )
        if d
    ]
    teams = ("Paris Centre", "Marseille Nord", "Bordeaux", "Lille")
    names = ("Amina", "Bruno", "Camille", "Yanis", "Élodie", "Hugo", "Inès", "Jules")
    people = [
        SeedVolunteer(
            str(3000 + n),
            first_name=names[n % len(names)],
            department=departments[(n * 7) % len(departments) if n % 3 else n % 5],
            skills=("share", "canvass", "text", "events")[n % 4],
            teams=(teams[n % len(teams)],),
            status="paused" if n % 17 == 0 else "active",
        )
        for n in range(240)
    ]
    await add_volunteers(services.db, people, services.clock.now())
    for title, kind, quota, link in (
        ("Partager la vidéo sur les retraites", "share", 200, "https://example.org/video"),
        ("Tractage marché de Belleville", "canvass", 12, None),
        ("Relayer l'invitation au meeting", "text", 80, None),
    ):
        await services.tasks.create(None, TaskDraft(kind=kind, title=title, quota=quota, link=link))


async def sign_in(world: World) -> None:
    """What an organizer does: /dashboard in Telegram, open the link, press the button."""
    world.api.send_text(1, "/dashboard")
    call = await world.api.wait_for_text(1, "/login/", timeout=15)
    link = re.search(r"http://\S+/login/[\w-]+", call.text or "")
    assert link is not None
    await world.page.goto(link[0])
    await world.page.get_by_role("button", name="Ouvrir le tableau de bord").click()
    await world.page.wait_for_url(re.compile(r"/figures$"))


async def test_sign_in_then_filter_volunteers(world: World) -> None:
    await seed(world)
    await sign_in(world)
    await world.shot("figures")
    page = world.page
    await page.get_by_role("link", name="Bénévoles").click()
    await page.wait_for_url(re.compile(r"/volunteers"))
    body = page.locator("main")
    for name in ("Basile", "Chloé", "Dara"):
        await body.get_by_text(name).wait_for()
    await world.shot("volunteers")
    # The script submits the filters as soon as one changes.
    await page.select_option("#f-area", "69")
    await page.wait_for_url(re.compile(r"area=69"))
    await page.select_option("#f-skill", "call")
    await page.wait_for_url(re.compile(r"skill=call"))
    text = await body.inner_text()
    assert "Basile" in text and "Chloé" not in text and "Dara" not in text
    assert "1 sur 1 bénévole" in text
    # Keyboard: the first Tab reaches the skip link.
    await page.keyboard.press("Tab")
    focused = await page.evaluate("document.activeElement.textContent")
    assert focused == "Aller au contenu"
    await page.goto(world.base + "/map")
    await page.locator("svg.map path").first.wait_for()
    assert await page.locator("svg.map path").count() == 96
    await world.shot("map")
    await page.goto(world.base + "/tasks")
    await world.shot("tasks")


async def test_compose_and_send_a_broadcast(world: World) -> None:
    await seed(world)
    await sign_in(world)
    page = world.page
    await page.goto(world.base + "/broadcasts")
    await page.fill("input[name=audience]", "area:69")
    count = page.locator("#audience-count")
    await count.filter(has_text="2 bénévoles").wait_for()
    await page.fill("textarea[name=text]", "Réunion publique jeudi à 19 h")
    preview = await page.locator("#preview-text").inner_text()
    assert preview == "Réunion publique jeudi à 19 h"
    await world.shot("broadcast")
    await page.get_by_role("button", name="Envoyer").click()
    for chat in (2001, 2002):
        await world.api.wait_for_text(chat, "Réunion publique jeudi", timeout=15)
    await page.get_by_text("envoyés : 2 sur 2").wait_for(timeout=15_000)
    assert not [c for c in world.api.messages_to(2003) if "Réunion" in (c.text or "")]
    actions = [a.action for a in await world.relais.services.audit.recent()]
    assert "broadcast.create" in actions


async def test_take_an_incident(world: World) -> None:
    services = world.relais.services
    await seed(world)
    reporter = await services.people.actor(Identity("telegram", "2001"), "2001")
    await services.alerts.report(
        reporter, subject_of("https://example.org/fake-post"), "Une fausse citation"
    )
    await sign_in(world)
    page = world.page
    await page.goto(world.base + "/incidents")
    card = page.locator("article#incident-1")
    await card.get_by_text("https://example.org/fake-post").wait_for()
    await world.shot("incidents")
    await card.get_by_role("button", name="Je m'en occupe").click()
    await page.locator("article#incident-1").get_by_text("prise en charge").wait_for()
    incident = await services.incident_repo.get(1)
    assert incident is not None and incident.status == "taken"
    actions = [a.action for a in await services.audit.recent()]
    assert "incident.taken" in actions


async def test_telegram_opens_the_mini_app_in_its_colours(world: World) -> None:
    """Inside Telegram: the page reads initData from its address, signs in with it, and
    takes the chat's theme colours."""
    import json
    from urllib.parse import quote

    from tests.test_dashboard import mini_app_fields, signed_init_data

    clock = world.relais.clock
    assert isinstance(clock, FakeClock)
    init_data = signed_init_data(mini_app_fields(clock, user_id=1))
    theme = {  # what Telegram's dark theme sends
        "bg_color": "#212d3b",
        "text_color": "#ffffff",
        "hint_color": "#aaaaaa",
        "link_color": "#6ab3f3",
        "button_color": "#5288c1",
        "button_text_color": "#ffffff",
        "secondary_bg_color": "#1d2733",
    }
    page = world.page
    await page.goto(
        f"{world.base}/tg#tgWebAppData={quote(init_data)}"
        f"&tgWebAppThemeParams={quote(json.dumps(theme))}&tgWebAppVersion=8.0"
    )
    await page.wait_for_url(re.compile(r"/figures$"))
    background = await page.evaluate(
        "getComputedStyle(document.documentElement).getPropertyValue('--bg').trim()"
    )
    assert background == "#212d3b"
    assert await page.evaluate("document.documentElement.classList.contains('tg-dark')")
    await world.shot("telegram-dark")
    forged = init_data.replace("auth_date=", "auth_date=1")
    await page.goto(f"{world.base}/tg#tgWebAppData={quote(forged)}")
    await page.get_by_text("La signature de Telegram n'a pas pu être vérifiée").wait_for()
    assert "/tg" in page.url
