"""/mydata, /forget and the retention purge: a volunteer's rights, exercised in the chat."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import aiosqlite
import pytest

from bot.config import Settings
from bot.jobs import retention
from bot.messaging import Outbound
from bot.router import FloodGate, Router
from bot.services import Services
from bot.storage import personal_data
from bot.storage.db import Database
from bot.storage.outbox import Envelope
from tests.factories import make_volunteer
from tests.fakes.chat import Chat
from tests.fakes.clock import FakeClock
from tests.stored import stored_bytes

ChatFactory = Callable[..., Chat]
NAME = "Zoraïde-Quintessa"
USER_ID = "987654321"
PLACE = "Hameau de Bellevue-Zorglub, Québec"


async def join_as_zoraide(chat: ChatFactory) -> Chat:
    z = chat(USER_ID, language="fr", first_name=NAME)
    await z.send("/start")
    await z.tap("Français")
    await z.tap("J'accepte")
    await z.tap("Garder")
    await z.send(PLACE)
    await z.tap("Appeler")
    await z.tap("Terminé")
    await z.tap("Soirs")
    await z.tap("Terminé")
    assert f"Bienvenue dans l'équipe, {NAME}" in z.last_text
    return z


async def test_mydata_sends_everything_stored(
    chat: ChatFactory, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def export_tasks(db: Database, volunteer_id: int) -> Any:
        return [{"task": "Tractage marché", "outcome": "done", "volunteer": volunteer_id}]

    async def erase_tasks(tx: aiosqlite.Connection, volunteer_id: int, now: datetime) -> None:
        return None

    monkeypatch.setattr(personal_data, "_PARTS", {})
    personal_data.register_personal_data("tasks", export_tasks, erase_tasks)
    z = await join_as_zoraide(chat)
    volunteer = await services.volunteers.by_identity("telegram", USER_ID)
    assert volunteer is not None
    team = await services.team_repo.create("Québec")
    await services.team_repo.add_member(team.id, volunteer.id)
    await services.notifier.send(
        [Envelope("broadcast", "telegram", USER_ID, Outbound("Réunion jeudi"), volunteer.id)]
    )
    await z.send("/mydata")
    assert "Voici tout ce que Relais enregistre sur vous" in z.last_text
    attachment = z.last.attachment
    assert attachment is not None and attachment.filename == "relais-my-data.json"
    document = json.loads(attachment.content)
    assert document["profile"]["first_name"] == NAME
    assert document["profile"]["place"] == PLACE
    assert document["profile"]["skills"] == ["call"]
    assert document["profile"]["availability"] == ["evenings"]
    assert document["profile"]["joined_at"] == "2026-11-28T14:00:00.000000Z"  # kept by /forget
    assert document["messenger_accounts"][0]["user_id"] == USER_ID
    consent = document["consents"][0]
    assert consent["text_version"] and consent["given_at"] and consent["update_key"]
    assert document["teams"][0]["team"] == "Québec"
    assert document["messages_sent_to_you"][0]["text"] == "Réunion jeudi"
    assert document["tasks"][0]["task"] == "Tractage marché"  # a feature's registered part
    assert document["retention_days"] == 730


async def test_mydata_and_forget_for_a_stranger(chat: ChatFactory) -> None:
    stranger = chat("5", language="en")
    await stranger.send("/mydata")
    assert stranger.last_text == "Relais stores nothing about you."
    await stranger.send("/forget")
    assert stranger.last_text == "Relais stores nothing about you."
    await stranger.tap_data("fg:yes")
    assert "This button has expired" in stranger.last_text


async def test_forget_erases_and_nothing_readable_remains_in_the_file(
    chat: ChatFactory,
    services: Services,
    settings: Settings,
    router: Router,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    router.flood = FloodGate(limit=100)  # this test talks fast
    erased_by_feature: list[int] = []

    async def export_tasks(db: Database, volunteer_id: int) -> Any:
        return []

    async def erase_tasks(tx: aiosqlite.Connection, volunteer_id: int, now: datetime) -> None:
        erased_by_feature.append(volunteer_id)

    monkeypatch.setattr(personal_data, "_PARTS", {})
    personal_data.register_personal_data("tasks", export_tasks, erase_tasks)
    others = [await make_volunteer(services, str(n), first_name=f"Other{n}") for n in (2, 3)]
    z = await join_as_zoraide(chat)
    volunteer = await services.volunteers.by_identity("telegram", USER_ID)
    assert volunteer is not None
    await services.notifier.send(
        [Envelope("broadcast", "telegram", USER_ID, Outbound(f"Merci {NAME} !"), volunteer.id)]
    )
    await z.send("/pause")  # a flow in progress, holding her chat id
    assert NAME.encode() in await stored_bytes(services.db)  # the scan does find her

    await z.send("/forget")
    assert "Tout effacer ?" in z.last_text
    await z.tap("Non, garder")
    assert z.last_text == "Rien n'a été effacé."
    await z.send("/forget")
    await z.tap("Oui, tout effacer")
    assert "tout ce qui vous concernait a été effacé" in z.last_text
    assert erased_by_feature == [volunteer.id]

    row = await services.volunteers.get(volunteer.id)
    assert row is not None and row.status == "erased"
    assert (row.first_name, row.place, row.postcode, row.skills) == ("", "", "", frozenset())
    # When she joined is no one's identity, and the campaign's figures count it.
    joined = "SELECT joined_at FROM volunteers WHERE id = :id"
    assert await services.db.fetch_value(joined, {"id": volunteer.id}) is not None
    assert await services.volunteers.by_identity("telegram", USER_ID) is None
    statuses = await services.db.fetch_all("SELECT status, payload, chat_id FROM outbox")
    assert [tuple(r) for r in statuses] == [("cancelled", "{}", "")]
    # Counts stay consistent: the row is still there, anonymous.
    assert await services.db.fetch_value("SELECT COUNT(*) FROM volunteers") == 3

    raw = await stored_bytes(services.db)
    for secret in (NAME, USER_ID, PLACE, "Bellevue-Zorglub", f"Merci {NAME}"):
        assert raw.find(secret.encode()) == -1, secret
        assert raw.find(secret.encode("utf-16-le")) == -1, secret
    for other in others:  # other people's data is untouched
        assert raw.find(other.first_name.encode()) >= 0

    await z.send("/mydata")
    assert z.last_text == "Relais n'enregistre rien sur vous."
    await z.send("/start")  # a new beginning, as a stranger
    assert "Étape 1 sur 6" in z.last_text


async def test_retention_warns_then_erases_those_who_do_not_answer(
    chat: ChatFactory, services: Services, clock: FakeClock
) -> None:
    sleeper = await make_volunteer(services, "201", first_name="Dormeur")
    answerer = await make_volunteer(services, "202", first_name="Réveil", language="en")
    clock.advance(days=650)
    recent = await make_volunteer(services, "203", first_name="Récent")
    clock.advance(days=50)  # 700 days after the first two joined: 30 days before the limit
    await retention(services)
    rows = await services.db.fetch_all(
        "SELECT volunteer_id, payload FROM outbox WHERE kind = 'notice' ORDER BY volunteer_id"
    )
    assert [r["volunteer_id"] for r in rows] == [sleeper.id, answerer.id]
    french = Outbound.from_json(rows[0]["payload"])
    english = Outbound.from_json(rows[1]["payload"])
    assert "les vôtres seront effacées dans 30 jours" in french.text
    assert "yours will be erased in 30 days" in english.text
    await retention(services)  # a second run the same day sends nothing more
    assert await services.db.fetch_value("SELECT COUNT(*) FROM outbox") == 2

    clock.advance(days=3)
    waking = chat("202", language="en")
    assert english.choices[0][0].label == "Keep my data"
    await waking.tap_data(english.choices[0][0].data)  # the button of the warning
    assert waking.last_text == "Thank you! Your data is kept and you stay with us."

    clock.advance(days=27)  # 730 days
    await retention(services)
    gone = await services.volunteers.get(sleeper.id)
    kept = await services.volunteers.get(answerer.id)
    fresh = await services.volunteers.get(recent.id)
    assert gone is not None and gone.status == "erased" and gone.first_name == ""
    assert kept is not None and kept.status == "active" and kept.first_name == "Réveil"
    assert fresh is not None and fresh.status == "active"


async def test_retention_never_erases_without_a_warning_first(
    services: Services, clock: FakeClock
) -> None:
    volunteer = await make_volunteer(services, "210")
    clock.advance(days=1000)  # the job did not run for years: warn first, even so
    await retention(services)
    row = await services.volunteers.get(volunteer.id)
    assert row is not None and row.status == "active"
    clock.advance(days=29)
    await retention(services)
    row = await services.volunteers.get(volunteer.id)
    assert row is not None and row.status == "active"
    clock.advance(days=1)
    await retention(services)
    row = await services.volunteers.get(volunteer.id)
    assert row is not None and row.status == "erased"


async def test_abandoned_onboardings_are_erased_after_a_month(
    chat: ChatFactory, services: Services, clock: FakeClock
) -> None:
    ana = chat("220", language="fr")
    await ana.send("/start")
    await ana.tap("Français")
    await ana.tap("J'accepte")
    clock.advance(days=31)
    await retention(services)
    assert await services.db.fetch_value("SELECT status FROM volunteers") == "erased"
    assert await services.db.fetch_value("SELECT COUNT(*) FROM identities") == 0
