"""Digests: due at RELAIS_DIGEST_TIME and on Monday morning, sent once, off on request."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from bot.digest_text import digest_text
from bot.messaging import Outbound
from bot.services import Services
from bot.services.digests import send_due_digests
from bot.storage import bulk
from bot.text import to_plain
from tests.fakes.chat import Chat
from tests.fakes.clock import FakeClock
from tests.report_data import ALICE_TG, DRISS_TG, build_campaign, execute


@pytest.fixture
async def campaign(services: Services) -> Services:
    await build_campaign(services.db)
    return services


async def digests(services: Services) -> list[tuple[str, str, str]]:
    """(chat, dedupe key, plain text) of every digest in the outbox."""
    rows = await services.db.fetch_all(
        "SELECT chat_id, dedupe_key, payload FROM outbox WHERE kind = 'digest' ORDER BY id"
    )
    return [
        (r["chat_id"], r["dedupe_key"], to_plain(Outbound.from_json(r["payload"]).text))
        for r in rows
    ]


async def test_daily_digest_at_eight_in_the_evening(campaign: Services, clock: FakeClock) -> None:
    # 15:00 in Paris: too early.
    assert await send_due_digests(campaign, digest_text) == 0
    clock.set(datetime(2026, 11, 28, 18, 59, tzinfo=UTC))
    assert await send_due_digests(campaign, digest_text) == 0
    clock.set(datetime(2026, 11, 28, 19, 0, tzinfo=UTC))  # 20:00 in Paris
    assert await send_due_digests(campaign, digest_text) == 2
    sent = await digests(campaign)
    assert [(chat, key) for chat, key, _ in sent] == [
        (ALICE_TG, "digest:daily:1:2026-11-28"),
        (DRISS_TG, "digest:daily:5:2026-11-28"),
    ]
    alice_text, driss_text = sent[0][2], sent[1][2]
    assert alice_text.startswith("Votre résumé du soir")
    assert "Aujourd'hui — vos équipes" in alice_text
    assert "Porte-à-porte : 0 → 0 → 1" in alice_text
    assert "Le 28 novembre 2026" in alice_text
    assert "Paris 11e" not in alice_text and "Driss" not in alice_text
    assert "Appels : 3 — sympathisant 1, opposé 1, pas de réponse 1" in driss_text
    assert "Évry Sud" not in driss_text
    # A late or repeated wake-up the same evening sends nothing more.
    clock.advance(minutes=15)
    assert await send_due_digests(campaign, digest_text) == 0
    clock.set(datetime(2026, 11, 28, 22, 59, tzinfo=UTC))
    assert await send_due_digests(campaign, digest_text) == 0
    assert len(await digests(campaign)) == 2


async def test_late_wake_up_the_next_morning_skips_yesterday(
    campaign: Services, clock: FakeClock
) -> None:
    clock.set(datetime(2026, 11, 29, 6, 0, tzinfo=UTC))  # Sunday 07:00: yesterday's is over
    assert await send_due_digests(campaign, digest_text) == 0
    clock.set(datetime(2026, 11, 29, 21, 30, tzinfo=UTC))  # Sunday 22:30: late, same day
    assert await send_due_digests(campaign, digest_text) == 2
    assert {key for _, key, _ in await digests(campaign)} == {
        "digest:daily:1:2026-11-29",
        "digest:daily:5:2026-11-29",
    }


async def test_weekly_digest_on_monday_morning(campaign: Services, clock: FakeClock) -> None:
    clock.set(datetime(2026, 11, 30, 7, 59, tzinfo=UTC))  # Monday 08:59 in Paris
    assert await send_due_digests(campaign, digest_text) == 0
    clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
    assert await send_due_digests(campaign, digest_text) == 2
    assert await send_due_digests(campaign, digest_text) == 0
    sent = await digests(campaign)
    assert {key for _, key, _ in sent} == {
        "digest:weekly:1:2026-W48",
        "digest:weekly:5:2026-W48",
    }
    alice = next(text for chat, _, text in sent if chat == ALICE_TG)
    assert alice.startswith("Votre résumé de la semaine")
    assert "La semaine dernière — vos équipes" in alice
    assert "Du 23 novembre 2026 au 29 novembre 2026" in alice
    # Last week for her team: canvass a1, a2 (a3 was a double tap), texts a12 and a13, share a5.
    assert "Porte-à-porte : 1 → 3 → 2" in alice
    assert "Portes frappées : 65" in alice


async def test_digest_off_is_respected(
    campaign: Services, clock: FakeClock, chat: Callable[..., Chat]
) -> None:
    alice = chat(ALICE_TG)
    await alice.send("/digest off")
    clock.set(datetime(2026, 11, 28, 19, 30, tzinfo=UTC))
    assert await send_due_digests(campaign, digest_text) == 1
    assert [chat_id for chat_id, _, _ in await digests(campaign)] == [DRISS_TG]


async def test_digest_in_english_for_an_english_organizer(
    campaign: Services, clock: FakeClock
) -> None:
    await execute(campaign.db, "UPDATE volunteers SET language = 'en' WHERE id = 5")
    clock.set(datetime(2026, 11, 28, 19, 30, tzinfo=UTC))
    await send_due_digests(campaign, digest_text)
    driss = next(text for chat, _, text in await digests(campaign) if chat == DRISS_TG)
    assert driss.startswith("Your evening digest")
    assert "Calls: 3 — supporter 1, opposed 1, no answer 1" in driss
    assert "Send /digest off to stop these summaries." in driss


async def test_an_admin_gets_the_whole_campaign(campaign: Services, clock: FakeClock) -> None:
    """Admins named in RELAIS_ADMINS get digests once they have a volunteer record."""
    await bulk.insert(
        campaign.db,
        "volunteers",
        ("id", "status", "first_name", "created_at", "last_active_at"),
        [(8, "active", "Admin", "2026-11-01T00:00:00.000000Z", "2026-11-01T00:00:00.000000Z")],
    )
    await bulk.insert(
        campaign.db,
        "identities",
        ("channel", "user_id", "volunteer_id", "chat_id", "created_at"),
        [("telegram", "1", 8, "1", "2026-11-01T00:00:00.000000Z")],
    )
    clock.set(datetime(2026, 11, 28, 19, 30, tzinfo=UTC))
    assert await send_due_digests(campaign, digest_text) == 3
    admin = next(text for chat, _, text in await digests(campaign) if chat == "1")
    assert "Aujourd'hui — toute la campagne" in admin
    assert "Par équipe" in admin and "Paris 11e" in admin and "Évry Sud" in admin


async def test_digest_command_in_english(campaign: Services, chat: Callable[..., Chat]) -> None:
    await execute(campaign.db, "UPDATE volunteers SET language = 'en' WHERE id = 5")
    driss = chat(DRISS_TG, language="en")
    await driss.send("/digest")
    assert driss.last_text.startswith(
        "Digests are on: a summary of your teams every evening at 20:00"
    )
    await driss.tap("Turn off")
    assert driss.last_text == "Digests are off. Send /digest on to get them again."
    assert driss.last.edit
