"""/report, /export and /digest driven as an organizer would, in French and English."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import pytest

from bot.i18n import use_language
from bot.jobs import retention
from bot.report_text import render
from bot.services import Services
from bot.services.reports import (
    RAPID_RESPONSE_TIMES,
    ExtraSection,
    register_section,
    unregister_section,
)
from bot.storage.db import Database
from bot.storage.reports import Scope, Window
from bot.text import to_plain
from tests.fakes.chat import Chat
from tests.fakes.clock import FakeClock
from tests.report_data import ALICE_TG, DRISS_TG, FARID_TG, build_campaign, execute

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
async def campaign(services: Services) -> Services:
    await build_campaign(services.db)
    return services


def read_csv(content: bytes) -> list[list[str]]:
    assert content.startswith("\ufeff".encode()), "UTF-8 BOM first, for spreadsheets"
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


async def test_admin_report_in_french(campaign: Services, admin_chat: Chat) -> None:
    await admin_chat.send("/report")
    text = admin_chat.last_text
    assert "Cette semaine — toute la campagne" in text
    assert "Du 23 novembre 2026 au 28 novembre 2026" in text
    assert "Bénévoles : 7 · nouveaux : 3" in text
    assert "Porte-à-porte : 1 → 3 → 2" in text
    assert "Portes frappées : 65 · conversations : 18 · sympathisants : 7" in text
    assert "Appels : 4 — sympathisant 1, indécis 1, opposé 1, pas de réponse 1" in text
    assert "Par équipe" in text and "Évry Sud" in text and "Par secteur" in text
    # Rapid-response times: no data source registered, nothing shown.
    assert "réponse rapide" not in text.lower()


async def test_new_volunteers_are_those_who_finished_joining(
    campaign: Services, admin_chat: Chat, chat: Callable[..., Chat], clock: FakeClock
) -> None:
    zoe = chat("4242", first_name="Zoé")
    await zoe.send("/start")
    await zoe.tap("ob:lang:fr")
    await zoe.tap("ob:consent:yes")  # still answering the questions
    clock.advance(minutes=5)
    await admin_chat.send("/report")
    assert "Bénévoles : 8 · nouveaux : 3" in admin_chat.last_text
    await zoe.tap("ob:name:keep")
    await zoe.send("91000")
    await zoe.tap("ob:skill:canvass")
    await zoe.tap("ob:skill:done")
    await zoe.tap("ob:avail:evenings")
    await zoe.tap("ob:avail:done")
    assert "Bienvenue" in zoe.last_text
    clock.advance(minutes=1)  # a period ends now: what happens at that instant is after it
    await admin_chat.send("/report")
    assert "Bénévoles : 8 · nouveaux : 4" in admin_chat.last_text


async def test_someone_who_gave_up_joining_and_erased_everything_is_not_new(
    campaign: Services, admin_chat: Chat, chat: Callable[..., Chat], clock: FakeClock
) -> None:
    """Erasure turns every row to 'erased', joined or not: before, Zoé, who stopped at the
    name question and sent /forget, became a new volunteer of the week."""
    zoe = chat("4242", first_name="Zoé")
    await zoe.send("/start")
    await zoe.tap("ob:lang:fr")
    await zoe.tap("ob:consent:yes")
    await zoe.send("/forget")
    await zoe.tap("Oui, tout effacer")
    assert "effacé" in zoe.last_text
    clock.advance(minutes=5)
    await admin_chat.send("/report")
    assert "nouveaux : 3" in admin_chat.last_text
    assert "inconnu — membres 1 ·" in admin_chat.last_text  # volunteer 4 only


async def test_someone_who_gave_up_joining_and_was_purged_is_not_new(
    campaign: Services, admin_chat: Chat, chat: Callable[..., Chat], clock: FakeClock
) -> None:
    """The retention job erases a joining abandoned for a month: it is no new volunteer of
    the campaign either (seven joined, volunteer 4 erased since, and still counted)."""
    zoe = chat("4242", first_name="Zoé")
    await zoe.send("/start")
    await zoe.tap("ob:lang:fr")
    await zoe.tap("ob:consent:yes")
    clock.advance(days=31)
    await retention(campaign)
    last = "SELECT status FROM volunteers WHERE id = (SELECT MAX(id) FROM volunteers)"
    assert await campaign.db.fetch_value(last) == "erased"
    await admin_chat.send("/report campagne")
    assert "nouveaux : 7" in admin_chat.last_text
    assert "inconnu — membres 1 ·" in admin_chat.last_text


async def test_someone_who_joined_then_erased_everything_still_counts_as_new(
    campaign: Services, admin_chat: Chat, chat: Callable[..., Chat], clock: FakeClock
) -> None:
    zoe = chat("4242", first_name="Zoé")
    await zoe.send("/start")
    await zoe.tap("ob:lang:fr")
    await zoe.tap("ob:consent:yes")
    await zoe.tap("ob:name:keep")
    await zoe.send("91000")
    await zoe.tap("ob:skill:canvass")
    await zoe.tap("ob:skill:done")
    await zoe.tap("ob:avail:evenings")
    await zoe.tap("ob:avail:done")
    assert "Bienvenue" in zoe.last_text
    clock.advance(minutes=5)
    await zoe.send("/forget")
    await zoe.tap("Oui, tout effacer")
    await admin_chat.send("/report")
    assert "nouveaux : 4" in admin_chat.last_text
    assert "effacés : 2" in admin_chat.last_text


async def test_organizer_report_in_english_with_period_buttons(
    campaign: Services, chat: Callable[..., Chat]
) -> None:
    alice = chat(ALICE_TG, language="en")
    await execute(campaign.db, "UPDATE volunteers SET language = 'en' WHERE id = 1")
    await alice.send("/report")
    assert "This week — your teams" in alice.last_text
    await alice.tap("The whole campaign")
    text = alice.last_text
    assert alice.last.edit
    assert "Volunteers: 4 · new: 4" in text
    assert "Active: 1 in 24 h · 2 in 7 days · 4 in 30 days" in text
    assert "Paused: 1 · stopped: 0 · erased: 1" in text
    assert "Canvassing: 1 → 4 → 3" in text  # the double tap counted once
    assert "Doors knocked: 95" in text
    assert "Paris 11e" not in text and "Driss" not in text


async def test_numbers_in_the_readers_locale(
    campaign: Services, admin_chat: Chat, chat: Callable[..., Chat]
) -> None:
    await execute(
        campaign.db,
        "UPDATE report_rollup SET doors_knocked = 12345"
        " WHERE axis = 'all' AND hour = '2026-11-28T10' AND kind = 'canvass'",
    )
    await admin_chat.send("/report campagne")
    assert "Portes frappées : 12\u202f400" in admin_chat.last_text
    admin_en = chat("1", language="en")
    await admin_en.send("/report campaign")
    assert "Doors knocked: 12,400" in admin_en.last_text


async def test_report_for_one_team_or_area(campaign: Services, admin_chat: Chat) -> None:
    await admin_chat.send("/report mois Paris 11e")
    assert "Ce mois-ci — équipe Paris 11e" in admin_chat.last_text
    assert "Bénévoles : 2" in admin_chat.last_text
    await admin_chat.send("/report campagne 75")
    assert "secteur 75" in admin_chat.last_text
    assert "Bénévoles : 3" in admin_chat.last_text
    await admin_chat.send("/report semaine Atlantide")
    assert "Je ne connais pas l'équipe ou le secteur « Atlantide »" in admin_chat.last_text


async def test_organizer_cannot_see_another_team(
    campaign: Services, chat: Callable[..., Chat]
) -> None:
    alice = chat(ALICE_TG)
    await alice.send("/report semaine Paris 11e")
    assert alice.last_text == "Vous ne pouvez voir que les rapports de vos équipes."
    await alice.send("/report semaine 75")
    assert alice.last_text == "Vous ne pouvez voir que les rapports de vos équipes."
    await alice.send("/report")
    for forged in (
        "rep:r:week:t2",
        "rep:r:week:d75",
        "rep:c:a:week:t2",
        "rep:r:year:a",
        "rep:c::week:a",
        "rep:r:week:x",
    ):
        await alice.tap_data(forged)
        assert "Ce bouton a expiré" in alice.last_text
        assert "Paris" not in alice.last_text


async def test_volunteers_cannot_report_or_export(
    campaign: Services, chat: Callable[..., Chat]
) -> None:
    farid = chat(FARID_TG)
    for command in ("/report", "/export volunteers", "/digest off"):
        await farid.send(command)
        assert "réservé aux organisateurs" in farid.last_text
    await farid.tap_data("exp:volunteers")
    assert farid.last.attachment is None


async def test_charts_are_pngs(campaign: Services, admin_chat: Chat) -> None:
    await admin_chat.send("/report")
    await admin_chat.tap("Graphique d'activité")
    chart = admin_chat.last.attachment
    assert chart is not None and chart.kind == "photo"
    assert chart.content.startswith(PNG)
    width, height = (int.from_bytes(chart.content[16:20]), int.from_bytes(chart.content[20:24]))
    assert (width, height) == (1000, 700)
    await admin_chat.send("/report")
    await admin_chat.tap("Entonnoir")
    assert admin_chat.last.attachment is not None
    assert admin_chat.last.attachment.content.startswith(PNG)


async def test_export_volunteers_for_an_organizer(
    campaign: Services, chat: Callable[..., Chat], db: Database
) -> None:
    alice = chat(ALICE_TG)
    await alice.send("/export")
    await alice.tap("Bénévoles")
    document = alice.last.attachment
    assert document is not None and document.kind == "document"
    assert document.filename == "relais-volunteers-2026-11-28.csv"
    rows = read_csv(document.content)
    assert rows[0] == [
        "volunteer",
        "first_name",
        "postcode",
        "department",
        "skills",
        "availability",
        "status",
        "teams",
        "joined",
    ]
    # Her team only, the erased volunteer left out, accents intact, no Telegram ids.
    assert [r[1] for r in rows[1:]] == ["Alice", "Bruno", "Chloé"]
    assert rows[3][7] == "Évry Sud"
    assert all(ALICE_TG not in cell for row in rows for cell in row)
    assert "3 lignes" in alice.last_text
    entries = await campaign.audit.recent()
    assert entries[0].action == "export"
    assert entries[0].subject.startswith("volunteers: 3 rows")
    assert entries[0].actor_id == 1


async def test_admin_volunteers_export_has_more_fields(
    campaign: Services, admin_chat: Chat
) -> None:
    await admin_chat.send("/export volunteers")
    assert admin_chat.last.attachment is not None
    rows = read_csv(admin_chat.last.attachment.content)
    assert rows[0][-2:] == ["language", "last_active"]
    assert len(rows) == 1 + 6  # everyone but the erased volunteer
    # "joined" is when they finished joining: empty for someone still answering questions.
    async with campaign.db.transaction() as tx:
        await tx.execute(
            "UPDATE volunteers SET status = 'onboarding', joined_at = NULL WHERE id = 2"
        )
    await admin_chat.send("/export volunteers")
    assert admin_chat.last.attachment is not None
    rows = read_csv(admin_chat.last.attachment.content)
    joined = {row[1]: row[rows[0].index("joined")] for row in rows[1:]}
    assert joined.pop("Bruno") == "" and all(len(day) == 10 for day in joined.values())


async def test_outcomes_export_keeps_erased_rows_anonymous(
    campaign: Services, admin_chat: Chat
) -> None:
    await admin_chat.send("/export outcomes")
    assert admin_chat.last.attachment is not None
    rows = read_csv(admin_chat.last.attachment.content)
    header, body = rows[0], rows[1:]
    assert len(body) == 12
    erased = next(r for r in body if r[0] == "4")
    assert erased[header.index("volunteer")] == ""
    assert erased[header.index("first_name")] == ""
    assert erased[header.index("doors_knocked")] == "30"
    assert {r[header.index("first_name")] for r in body} >= {"Alice", "Bruno"}
    assert body[0][header.index("recorded")] == "2026-11-28 11:00"  # Paris time


async def test_calls_export_hides_contacts_outside_the_scope(
    campaign: Services, chat: Callable[..., Chat], admin_chat: Chat
) -> None:
    driss = chat(DRISS_TG, language="en")
    await driss.send("/export calls")
    assert driss.last.attachment is not None
    rows = read_csv(driss.last.attachment.content)
    header, body = rows[0], rows[1:]
    assert len(body) == 4  # his team's calls only (Alice's call is not there)
    assert {r[header.index("phone")] for r in body} == {
        "+33612345601",
        "+33612345602",
        "+33612345603",
    }
    alice = chat(ALICE_TG)
    await alice.send("/export appels")
    assert alice.last.attachment is not None
    rows = read_csv(alice.last.attachment.content)
    # Alice called someone on a campaign-wide list: the call counts, the number stays hidden.
    assert len(rows) == 2
    assert rows[1][rows[0].index("phone")] == ""
    assert rows[1][rows[0].index("contact")] == ""
    await admin_chat.send("/export calls")
    assert admin_chat.last.attachment is not None
    assert len(read_csv(admin_chat.last.attachment.content)) == 1 + 5


async def test_tasks_export(campaign: Services, chat: Callable[..., Chat]) -> None:
    alice = chat(ALICE_TG)
    await alice.send("/export tâches")
    assert alice.last.attachment is not None
    rows = read_csv(alice.last.attachment.content)
    header, body = rows[0], rows[1:]
    # Her team's tasks and the campaign-wide ones, with her members' counts.
    assert [r[0] for r in body] == ["1", "3", "4", "5", "6"]
    canvass = body[0]
    assert canvass[header.index("title")] == "Porte-à-porte quartier des Épinettes"
    assert canvass[header.index("done_by")] == "3"


async def test_unknown_export(campaign: Services, admin_chat: Chat) -> None:
    await admin_chat.send("/export everything")
    assert "Je peux exporter" in admin_chat.last_text
    assert admin_chat.last.attachment is None
    assert await campaign.audit.recent() == []


async def test_digest_on_and_off(campaign: Services, chat: Callable[..., Chat]) -> None:
    alice = chat(ALICE_TG)
    await alice.send("/digest")
    assert "Les résumés sont activés" in alice.last_text
    await alice.tap("Désactiver")
    assert "Les résumés sont désactivés" in alice.last_text
    volunteer = await campaign.volunteers.get(1)
    assert volunteer is not None and not volunteer.digest
    await alice.send("/digest on")
    assert "Les résumés sont activés" in alice.last_text
    await alice.send("/digest peut-être")
    assert "/digest on" in alice.last_text


async def test_extra_sections_show_when_registered(campaign: Services) -> None:
    async def rapid(db: Database, scope: Scope, window: Window) -> ExtraSection:
        return ExtraSection(RAPID_RESPONSE_TIMES, "Rapid response", (("median", "4 min"),))

    register_section(RAPID_RESPONSE_TIMES, rapid)
    try:
        report = await campaign.reports.build(Scope(), Window(None, campaign.clock.now()), "week")
    finally:
        unregister_section(RAPID_RESPONSE_TIMES)
    with use_language("en"):
        text = to_plain(render(report, campaign.settings.timezone))
    assert "Rapid response\nmedian: 4 min" in text


async def test_chart_labels_follow_the_readers_language() -> None:
    """The worker thread speaks the language it was given, not the caller's context."""
    from datetime import date

    from bot import charts

    days = [(date(2026, 11, 27), {"share": 2}), (date(2026, 11, 28), {"canvass": 1})]
    with use_language("en"):
        french = await charts.activity_chart(days, "x", "fr")
    with use_language("fr"):
        english = await charts.activity_chart(days, "x", "en")
        french_again = await charts.activity_chart(days, "x", "fr")
    assert french.startswith(PNG) and english.startswith(PNG)
    assert french == french_again
    assert french != english
