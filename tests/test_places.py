"""Places: a typed town, a postcode or a shared position becomes a commune with its
département and centre, so area and radius targeting reach everyone who joined."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.app import Relais
from bot.broadcast_text import refusal
from bot.places import MAX_CHOICES, parse_radius, places
from bot.services import Services
from bot.services.broadcasts import BroadcastError, parse_audience
from bot.services.volunteers import parse_place
from bot.storage.db import Database, available_migrations
from tests.factories import make_volunteer
from tests.fakes.chat import Chat
from tests.fakes.clock import FakeClock
from tests.fakes.relais import running_relais
from tests.fakes.signal_cli import FakeSignalCli, signal_env
from tests.postgres import url_of
from tests.test_onboarding import join

ChatFactory = Callable[..., Chat]
SIGNAL_ZOE = "c0c0c0c0-1111-4222-8333-444444444444"


# -- the data -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "code", "department"),
    [
        ("Lyon", "69123", "69"),
        ("VILLEURBANNE", "69266", "69"),
        ("saint etienne", "42218", "42"),
        ("St-Étienne", "42218", "42"),
        ("Ste Foy les Lyon", "69202", "69"),
        ("Paris 11e", "75111", "75"),
        ("Paris 11ème arrondissement", "75111", "75"),
        ("Lyon 3", "69383", "69"),
        ("Marseille 1er", "13201", "13"),
        ("Saint-Denis (93)", "93066", "93"),
        ("Saint Denis 974", "97411", "974"),
        ("Lyon, France", "69123", "69"),
        ("l'hay-les-roses", "94038", "94"),
        ("Ajaccio", "2A004", "2A"),
    ],
)
def test_a_commune_is_found_whatever_the_accents_case_or_saint(
    typed: str, code: str, department: str
) -> None:
    found = places().find(typed).places
    assert [(p.code, p.department) for p in found] == [(code, department)]


def test_a_postcode_with_a_name_is_placed_by_the_postcode() -> None:
    assert parse_place("69100 Villeurbanne")["commune"] == "69266"
    assert parse_place("Romans 01400")["commune"] == "01328"  # one of ten communes of 01400
    hamlet = parse_place("29242 Hameau de Kerber")  # not a commune: its postcode's
    assert (hamlet["postcode"], hamlet["department"]) == ("29242", "29")
    assert hamlet["place"] == "Ouessant"
    assert parse_place("10115 Berlin, Germany")["place"] == "10115 Berlin, Germany"


def test_homonyms_come_back_largest_first_and_a_misspelling_gets_suggestions() -> None:
    found = places().find("Saint-Denis").places
    assert {p.department for p in found} >= {"93", "974", "11", "30"}
    assert found[0].population >= found[-1].population
    assert [p.label() for p in places().find("Villeurbane").suggestions] == ["Villeurbanne (69)"]
    assert places().find("Atlantis").places == ()


@pytest.mark.parametrize(
    ("typed", "offered"),
    [
        ("Boulogne", ["Boulogne-Billancourt (92)", "Boulogne-sur-Mer (62)"]),
        ("Evry", ["Évry-Courcouronnes (91)", "Évry (89)"]),
        ("Saint-Ouen", ["Saint-Ouen-sur-Seine (93)", "Saint-Ouen-l'Aumône (95)"]),
        ("Gif", ["Gif-sur-Yvette (91)"]),
    ],
)
def test_a_short_name_offers_the_bigger_towns_it_begins_and_former_communes_last(
    typed: str, offered: list[str]
) -> None:
    labels = [p.label() for p in places().find(typed).places]
    assert labels[: len(offered)] == offered
    if typed == "Boulogne":
        assert labels[-1] == "Boulogne (Essarts-en-Bocage, 85)"  # merged into another in 2016


def test_the_communes_named_exactly_as_typed_are_all_offered() -> None:
    """Six communes are called Villeneuve; eleven bigger ones only begin with it. Before, the
    eight biggest of those filled the choices and no plain Villeneuve was offered."""
    offered = [p.label() for p in places().find("Villeneuve").places[:MAX_CHOICES]]
    plain = ["Villeneuve (04)", "Villeneuve (12)", "Villeneuve (01)", "Villeneuve (33)"]
    assert offered == [
        "Villeneuve-d'Ascq (59)",
        "Villeneuve-Saint-Georges (94)",
        *plain,
        "Villeneuve (63)",
        "Villeneuve (09)",
    ]


@pytest.mark.parametrize(
    ("typed", "code"),
    [("Saint-Ouen 93", "93070"), ("Évry (91)", "91228"), ("Boulogne 62", "62160")],
)
def test_a_departement_typed_with_the_name_picks_the_town(typed: str, code: str) -> None:
    assert [p.code for p in places().find(typed).places] == [code]


def test_a_position_resolves_to_the_commune_whose_centre_is_nearest() -> None:
    paris = places().nearest(48.8566, 2.3522)
    assert paris is not None and paris.department == "75" and paris.kind == "a"
    villeurbanne = places().nearest(45.7700, 4.8800)
    assert villeurbanne is not None and villeurbanne.name == "Villeurbanne"
    reunion = places().nearest(-20.88, 55.45)
    assert reunion is not None and reunion.department == "974"
    assert places().nearest(51.5074, -0.1278) is None  # London is not in France


def test_a_radius_is_read_in_french_and_english() -> None:
    assert parse_radius("10 km autour de Villeurbanne") == (10.0, "Villeurbanne")
    assert parse_radius("within 10 km of Villeurbanne") == (10.0, "Villeurbanne")
    assert parse_radius("à 2,5 km de Lyon 3") == (2.5, "Lyon 3")
    assert parse_radius("Villeurbanne") is None


# -- joining ------------------------------------------------------------------------------


async def test_a_typed_town_is_stored_with_its_departement_postcode_and_centre(
    chat: ChatFactory, services: Services
) -> None:
    ana = chat("200", language="fr", first_name="Ana")
    await join(ana, postcode="villeurbanne")
    ana_row = await services.volunteers.by_identity("telegram", "200")
    assert ana_row is not None
    assert (ana_row.place, ana_row.postcode, ana_row.department, ana_row.commune) == (
        "Villeurbanne",
        "69100",
        "69",
        "69266",
    )
    assert ana_row.latitude is not None and abs(ana_row.latitude - 45.77) < 0.05
    await ana.send("/profile")
    assert "Secteur : Villeurbanne (69100)" in ana.last_text


async def test_homonyms_are_offered_as_choices_and_the_tap_places_the_volunteer(
    chat: ChatFactory, services: Services
) -> None:
    sam = chat("201", language="en", first_name="Sam")
    await sam.send("/start")
    await sam.tap("ob:lang:en")
    await sam.tap("ob:consent:yes")
    await sam.tap("ob:name:keep")
    await sam.send("saint denis")
    assert "Several communes are called “saint denis”. Which one is yours?" in sam.last_text
    labels = [c.label for row in sam.last.choices for c in row]
    assert "Saint-Denis (93)" in labels and "Saint-Denis (974)" in labels
    await sam.tap("Saint-Denis (93)")
    assert "What are you willing to do?" in sam.last_text
    row = await services.volunteers.by_identity("telegram", "201")
    assert row is not None and (row.commune, row.department) == ("93066", "93")
    await sam.tap_data("ob:place:97411")  # a stale choice changes nothing
    row = await services.volunteers.by_identity("telegram", "201")
    assert row is not None and row.commune == "93066"


async def test_an_unknown_town_is_refused_with_what_to_type_and_stores_nothing(
    chat: ChatFactory, services: Services
) -> None:
    zoe = chat("202", language="fr", first_name="Zoé")
    await zoe.send("/start")
    await zoe.tap("ob:lang:fr")
    await zoe.tap("ob:consent:yes")
    await zoe.tap("ob:name:keep")
    await zoe.send("Atlantis")
    assert "Je ne connais pas de commune française appelée « Atlantis »" in zoe.texts()
    await zoe.send("Villeurbane")
    assert "Vouliez-vous dire" in zoe.last_text
    assert [c.label for row in zoe.last.choices for c in row] == ["Villeurbanne (69)"]
    row = await services.volunteers.by_identity("telegram", "202")
    assert row is not None and not row.has_place


async def test_typed_coordinates_and_a_shared_location_get_their_departement(
    chat: ChatFactory, services: Services
) -> None:
    ana = chat("203", language="fr", first_name="Ana")
    await join(ana, postcode="48.85, 2.35")
    row = await services.volunteers.by_identity("telegram", "203")
    assert row is not None and row.department == "75" and row.place.startswith("Paris ")
    assert (row.latitude, row.longitude) == (48.85, 2.35)
    bob = chat("204", language="fr", first_name="Bob")
    await bob.send("/start")
    await bob.tap("ob:lang:fr")
    await bob.tap("ob:consent:yes")
    await bob.tap("ob:name:keep")
    await bob.send(location=(45.7640, 4.8357))
    row = await services.volunteers.by_identity("telegram", "204")
    assert row is not None and row.department == "69" and row.place.startswith("Lyon ")


async def test_a_place_abroad_keeps_its_country(chat: ChatFactory, services: Services) -> None:
    sam = chat("205", language="en", first_name="Sam")
    await join(sam, postcode="London, United Kingdom")
    row = await services.volunteers.by_identity("telegram", "205")
    assert row is not None
    assert (row.place, row.department, row.commune) == ("London, United Kingdom", "", "")


# -- on Signal: homonyms answered by number ----------------------------------------------


@pytest.fixture
async def signal_relais(
    signal_cli: FakeSignalCli, database_url: str, clock: FakeClock
) -> AsyncIterator[Relais]:
    env = signal_env(signal_cli, database_url)
    async with running_relais(env, clock) as relais:
        await signal_cli.wait_for_connections(1)
        yield relais


async def test_on_signal_homonyms_are_a_numbered_list_answered_by_number(
    signal_relais: Relais, signal_cli: FakeSignalCli
) -> None:
    signal_cli.send_text(SIGNAL_ZOE, "start", name="Zoé")
    await signal_cli.wait_for_text(SIGNAL_ZOE, "Quelle langue")
    signal_cli.send_text(SIGNAL_ZOE, "Français")
    await signal_cli.wait_for_text(SIGNAL_ZOE, "vos données")
    signal_cli.send_text(SIGNAL_ZOE, "J'accepte")
    await signal_cli.wait_for_text(SIGNAL_ZOE, "prénom")
    signal_cli.send_text(SIGNAL_ZOE, "Zoé")
    await signal_cli.wait_for_text(SIGNAL_ZOE, "Où êtes-vous ?")
    signal_cli.send_text(SIGNAL_ZOE, "Saint-Denis")
    question = await signal_cli.wait_for_text(SIGNAL_ZOE, "Plusieurs communes")
    lines = [line for line in question.message.splitlines() if "Saint-Denis (93)" in line]
    assert lines, question.message
    signal_cli.send_text(SIGNAL_ZOE, lines[0].split(".")[0])
    await signal_cli.wait_for_text(SIGNAL_ZOE, "Qu'êtes-vous prêt·e à faire")
    volunteer = await signal_relais.services.volunteers.by_identity("signal", SIGNAL_ZOE)
    assert volunteer is not None and (volunteer.commune, volunteer.department) == ("93066", "93")


# -- targeting ----------------------------------------------------------------------------


async def _cli(database: str, now: str, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--now",
        now,
        "broadcast",
        *args,
        env={"DATABASE_URL": database, "RELAIS_LANGUAGE": "en", "PATH": "/bin"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


async def test_area_75_reaches_who_typed_paris_or_shared_a_position_in_paris(
    chat: ChatFactory, services: Services, clock: FakeClock
) -> None:
    await join(chat("210", language="fr", first_name="Typed"), postcode="Paris")
    await join(chat("211", language="fr", first_name="Shared"), postcode="48.8606, 2.3376")
    await join(chat("212", language="fr", first_name="Lyon"), postcode="Lyon")
    code, out, err = await _cli(
        url_of(services.settings),
        clock.now().isoformat(),
        "--text",
        "Ce soir",
        "--to",
        "area:75",
    )
    assert code == 0, err
    assert "(2 volunteers right now)" in out
    clock.advance(minutes=1)  # the command line's clock ran on for a moment
    await services.broadcasts.start_due()
    rows = await services.db.fetch_all("SELECT chat_id FROM outbox WHERE kind = 'broadcast'")
    assert sorted(r["chat_id"] for r in rows) == ["210", "211"]


async def test_a_broadcast_can_target_a_radius_around_a_commune(
    chat: ChatFactory, services: Services
) -> None:
    await join(chat("220", language="fr"), postcode="Lyon 3")  # ~4 km from Villeurbanne
    await join(chat("221", language="fr"), postcode="Villeurbanne")
    await join(chat("222", language="fr"), postcode="Saint-Étienne")  # ~50 km away
    await join(chat("223", language="fr"), postcode="Bruxelles, Belgique")
    for text in ("10 km autour de Villeurbanne", "within 10 km of Villeurbanne"):
        audience = parse_audience(text)
        assert audience.around is not None and audience.around[0] == "69266"
        assert await services.broadcast_repo.count(audience, None, services.clock.now()) == 2
    wide = parse_audience("60 km autour de Villeurbanne lang:fr")
    assert wide.languages == ("fr",)
    assert await services.broadcast_repo.count(wide, None, services.clock.now()) == 3
    # The stored form reads back the same.
    assert parse_audience(parse_audience("near:69100:10").describe()).around == (
        parse_audience("10 km around Villeurbanne").around
    )
    with pytest.raises(BroadcastError) as several:
        parse_audience("10 km autour de Saint-Denis")
    assert "Saint-Denis" in refusal(several.value)
    with pytest.raises(BroadcastError):
        parse_audience("10 km autour de Atlantis")


async def test_the_broadcast_wizard_counts_a_radius_live(
    chat: ChatFactory, services: Services
) -> None:
    await join(chat("230", language="fr"), postcode="Villeurbanne")
    await join(chat("231", language="fr"), postcode="Marseille")
    await make_volunteer(services, "239", role="admin")
    org = chat("239", language="fr")
    await org.send("/broadcast")
    await org.send("Réunion ce soir")
    await org.tap("bc:audience")
    assert "10 km autour de Villeurbanne" in org.last_text
    await org.send("10 km autour de Villeurbanne")
    assert "10 km autour de Villeurbanne (69) — 1 bénévole en ce moment" in org.texts()


async def test_a_task_can_target_a_radius_with_the_live_count(
    chat: ChatFactory, services: Services
) -> None:
    await join(chat("240", language="fr"), postcode="Villeurbanne")
    await join(chat("241", language="fr"), postcode="Lyon 3")
    await join(chat("242", language="fr"), postcode="Marseille")
    await make_volunteer(services, "249", role="admin")
    org = chat("249", language="fr")
    await org.send("/newtask")
    await org.tap("nt:kind:call")
    await org.tap("nt:team:0")
    await org.send("Appels du soir")
    await org.send("-")
    assert "10 km autour de Villeurbanne" in org.last_text  # the area question says how
    await org.send("10 km autour de Villeurbanne")
    assert "10 km autour de Villeurbanne (69) : 2 bénévoles en ce moment." in org.texts()
    await org.tap("nt:who:all")
    await org.send("-")
    await org.send("-")
    assert "Cette tâche touche 2 bénévoles en ce moment." in org.last_text
    await org.tap("nt:preview:publish")
    task = await services.db.fetch_one("SELECT latitude, radius_km FROM tasks")
    assert task is not None and task["radius_km"] == 10


# -- the migration ------------------------------------------------------------------------


async def test_migration_0008_places_the_volunteers_already_stored(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        for number, sql in available_migrations():
            if number < 8:
                conn.executescript(sql)
        conn.execute("PRAGMA user_version = 7")
        now = "2026-01-01T00:00:00.000000Z"
        for postcode, place, lat, lon in (
            (None, "Paris", None, None),
            ("69100", None, None, None),
            (None, None, 48.8606, 2.3376),
            (None, "Bruxelles, Belgique", None, None),
            (None, "Saint-Denis", None, None),
        ):
            conn.execute(
                "INSERT INTO volunteers (status, postcode, place, latitude, longitude,"
                " created_at, last_active_at) VALUES ('active', ?, ?, ?, ?, ?, ?)",
                (postcode, place, lat, lon, now, now),
            )
    db = Database(path)
    await db.open()
    try:
        assert 8 in await db.migrate()
        rows = await db.fetch_all(
            "SELECT department, commune, place, postcode FROM volunteers ORDER BY id"
        )
        assert [tuple(r) for r in rows] == [
            ("75", "75056", "Paris", None),
            ("69", "69266", "Villeurbanne", "69100"),
            ("75", "75101", "Paris 1er Arrondissement", "75001"),
            (None, None, "Bruxelles, Belgique", None),
            (None, None, "Saint-Denis", None),  # homonyms: left for the volunteer to pick
        ]
        assert await db.version() >= 8
    finally:
        await db.close()


async def test_the_directory_shows_each_volunteers_commune_not_abroad(
    chat: ChatFactory, services: Services
) -> None:
    await join(chat("250", language="fr", first_name="Typed"), postcode="Villeurbanne")
    await join(chat("251", language="fr", first_name="Shared"), postcode="45.7640, 4.8357")
    await join(chat("252", language="fr", first_name="Away"), postcode="Bruxelles, Belgique")
    await make_volunteer(services, "259", role="admin", postcode="75011")
    admin = chat("259", language="fr")
    await admin.send("/volunteers")
    listing = admin.last_text
    assert "Typed — Villeurbanne (69)" in listing
    assert "Shared — Lyon " in listing and "(69)" in listing
    assert "Away — Bruxelles, Belgique" in listing
    assert "étranger" not in listing and "— ? —" not in listing
    assert "69 2" in listing  # both counted in their département
