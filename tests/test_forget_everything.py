"""/forget for a person who used every feature, and a schema check that keeps it so.

Zoraïde joined on Signal known only by her number, linked Telegram, raised alarms with
long comments, took her comms duty (slots, an incident taken and escalated), wrote a
broadcast and launched a riposte. After /forget nothing of her is left in the database
file, its WAL, or a backup taken afterwards; /mydata listed all of it before.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.domain.messages import Delivery
from bot.messaging import Inbound, Outbound
from bot.router import AnswerLane, FloodGate, Router
from bot.services import Services
from bot.storage.broadcasts import Audience
from bot.storage.connect import is_postgres
from bot.storage.db import Database
from bot.storage.outbox import OutboxRepository, Settlement
from bot.transports.signal import to_inbound
from tests import alert_factories as make
from tests.broadcast_factories import actor_for
from tests.fakes.chat import Chat
from tests.fakes.clock import FakeClock
from tests.stored import backup_bytes, file_bytes, stored_bytes

NAME = "Zoraïde-Quintessa"
NUMBER = "+33699887766"
TELEGRAM_ID = "987654321"
PLACE = "Hameau de Bellevue-Zorglub"
# Longer than the 200 characters a page quotes: both ends must go.
LONG_COMMENT = (
    "Début-Qwyxz : cette photo est truquée, "
    + "je l'ai vue circuler dans trois groupes locaux ce matin, " * 3
    + "fin-secrète-Qwyxz"
)
SHORT_COMMENT = "Urgent-Vmkrp, ça tourne partout"
POST = "https://x.com/Opposant/status/1862512345678901234"
OTHER_POST = "https://x.com/Opposant/status/1999999999999999999"
THIRD_POST = "https://x.com/Opposant/status/1777777777777777777"
SECRETS = (
    NAME,
    NUMBER,
    NUMBER.lstrip("+"),
    TELEGRAM_ID,
    PLACE,
    "Début-Qwyxz",
    "fin-secrète-Qwyxz",
    "Urgent-Vmkrp",
)

_timestamps = itertools.count(1_764_000_000_000)


@dataclasses.dataclass
class SignalByNumber(Chat):
    """A Signal chat whose sender signal-cli knows only by phone number: messages go
    through the real envelope parser, so update keys are built as in production."""

    async def _dispatch(self, **fields: Any) -> list[Outbound]:
        stamp = next(_timestamps)
        envelope = {
            "sourceNumber": self.user_id,
            "sourceName": self.first_name,
            "timestamp": stamp,
            "dataMessage": {"timestamp": stamp, "message": fields.pop("text", "") or "…"},
        }
        inbound = to_inbound(envelope)
        assert isinstance(inbound, Inbound)
        if "choice" in fields:
            inbound = dataclasses.replace(inbound, text="", **fields)
        replies = await self.router.dispatch(inbound)
        self.replies.extend(replies)
        return replies


def found_in(raw: bytes) -> list[str]:
    return [s for s in SECRETS if s.encode() in raw or s.encode("utf-16-le") in raw]


async def every_feature(services: Services, router: Router, chat: Callable[..., Chat]) -> int:
    """Zoraïde uses everything Relais has; returns her volunteer id."""
    router.flood = FloodGate(limit=1000)
    await make.comms(services, "7", name="Léa")
    await chat("7").send("/duty on")
    await make.volunteer(services, "42", name="Bruno")

    signal = SignalByNumber(router, user_id=NUMBER, first_name=NAME)
    await signal.send("/start")
    await signal.tap("Français")
    await signal.tap("J'accepte")
    await signal.tap("Garder")
    await signal.send(f"{PLACE}, Québec")
    await signal.tap("Appeler")
    await signal.tap("Terminé")
    await signal.tap("Soirs")
    await signal.tap("Terminé")
    assert f"Bienvenue dans l'équipe, {NAME}" in signal.last_text
    volunteer = await services.volunteers.by_identity("signal", NUMBER)
    assert volunteer is not None

    await signal.send("/link")
    code = re.search(r"/link ([2-9A-Z]{4}-[2-9A-Z]{4})", signal.last.text)
    assert code is not None
    telegram = chat(TELEGRAM_ID, first_name=NAME)
    await telegram.send(f"/link {code[1]}")
    assert "Lié" in telegram.last_text

    await services.volunteers.grant_role(volunteer.id, "comms", None, None)
    team = await services.team_repo.create("Québec")
    await services.team_repo.add_member(team.id, volunteer.id)
    await services.volunteers.grant_role(volunteer.id, "organizer", team.id, None)

    await telegram.send("/duty week sam 14:00-18:00")
    await telegram.send("/duty on")
    await telegram.send(f"/alerte {POST} {LONG_COMMENT}")
    assert "alerte n° 1" in telegram.last_text
    await chat("42").send(f"/alerte {OTHER_POST} Encore une attaque")
    await signal.send(f"/alerte {THIRD_POST} {SHORT_COMMENT}")
    await telegram.tap_data("inc:take:2")
    await telegram.tap_data("inc:up:2")
    lea = chat("7")
    await lea.send("/incidents 2")
    assert f"prise en charge par {NAME}" in lea.last_text

    actor = await actor_for(services, TELEGRAM_ID)
    await services.broadcasts.create(
        actor, language="fr", body="Réunion publique jeudi", audience=Audience()
    )
    await services.alerts.start_riposte(
        actor,
        url=OTHER_POST,
        suggested_text="La vérité sur cette photo",
        target=1,
        incident_id=2,
        language="fr",
    )
    return volunteer.id


async def test_forget_leaves_nothing_of_someone_who_used_every_feature(
    services: Services, router: Router, chat: Callable[..., Chat], db: Database, tmp_path: Path
) -> None:
    volunteer_id = await every_feature(services, router, chat)
    pages = await services.db.fetch_all("SELECT payload FROM outbox WHERE kind = 'alert'")
    quoted = "\n".join(Outbound.from_json(r["payload"]).text for r in pages)
    assert LONG_COMMENT[:150] in quoted and f"par {NAME}" in quoted  # queued for Léa
    await db.checkpoint()
    assert found_in(await stored_bytes(db)) == list(SECRETS)  # the scan does find her

    telegram = chat(TELEGRAM_ID)
    await telegram.send("/forget")
    await telegram.tap("Oui, tout effacer")
    assert "tout ce qui vous concernait a été effacé" in telegram.last_text

    assert found_in(await stored_bytes(db)) == []
    assert found_in(await backup_bytes(db, tmp_path / "after-forget.backup")) == []
    lea = await services.volunteers.by_identity("telegram", "7")
    assert lea is not None and lea.first_name == "Léa"  # others untouched
    # What Léa still has: the alerts, counted, without who said what.
    lea_chat = chat("7")
    await lea_chat.send("/incidents 2")
    assert "prise en charge par un organisateur" in lea_chat.last_text
    assert (
        await services.db.fetch_value("SELECT status FROM volunteers WHERE id = ?", (volunteer_id,))
        == "erased"
    )


async def test_mydata_shows_duty_timelines_broadcasts_ripostes_and_message_keys(
    services: Services, router: Router, chat: Callable[..., Chat]
) -> None:
    await every_feature(services, router, chat)
    telegram = chat(TELEGRAM_ID)
    await telegram.send("/mydata")
    assert telegram.last.attachment is not None
    document = json.loads(telegram.last.attachment.content)
    alerts = document["rapid_response"]
    assert alerts["duty_slots"] == [{"weekday": 5, "from": "14:00", "to": "18:00"}]
    assert alerts["on_duty"]["state"] == "on"
    assert [r["comment"] for r in alerts["alarms_raised"]] == [LONG_COMMENT, SHORT_COMMENT]
    assert [
        (e["incident_id"], e["kind"], e["actor_name"])
        for e in alerts["incident_timelines_with_your_name"]
    ] == [(2, "taken", NAME), (2, "escalated", NAME)]
    assert [r["incident_id"] for r in alerts["ripostes_launched"]] == [2]
    assert alerts["ripostes_launched"][0]["suggested_text"] == "La vérité sur cette photo"
    assert {p["incident_id"] for p in alerts["alerts_paged_to_you"]} >= {2}
    assert [b["body"] for b in document["broadcasts"]] == ["Réunion publique jeudi"]
    assert document["broadcasts"][0]["origin_chat_id"] == TELEGRAM_ID
    # The Signal messages Relais remembers (two days, against replays), by a keyed tag.
    keys = document["recent_message_keys"]
    assert len(keys) >= 10 and all(k["key"].startswith("signal:") for k in keys)
    assert NUMBER not in json.dumps(keys) and NUMBER.lstrip("+") not in json.dumps(keys)
    stored = await services.db.fetch_all("SELECT key FROM processed_updates")
    assert stored and not [r["key"] for r in stored if NUMBER.lstrip("+") in r["key"]]
    consents = document["consents"]
    assert consents[0]["channel"] == "signal" and NUMBER not in consents[0]["update_key"]


# -- every column of the schema ----------------------------------------------------------

# Columns that can hold personal data but stay after /forget, on purpose.
KEPT_ON_PURPOSE: dict[str, str] = {}
# Columns that hold what a person wrote or who they are, yet are not shown in /mydata.
NOT_IN_MYDATA = {
    # Pages and notices sent to other people quote a reporter's comment or the name of
    # who answered: those messages are the recipients', /forget takes the quotes out.
    "outbox.payload": "messages to others that quoted them",
    # The sender's chat, as de-duplicated replies and flows key it, is their identity.
    "outbox.chat_id": "their chat, listed under messenger_accounts",
    "outbox.dedupe_key": "holds their chat, listed under messenger_accounts",
    "conversations.chat_id": "their chat, listed under messenger_accounts",
    "numbered_choices.chat_id": "their chat, listed under messenger_accounts",
    "incident_pages.chat_id": "their chat, listed under messenger_accounts",
    "identities.chat_id": "their chat, listed under messenger_accounts",
    "incident_events.actor_name": "listed as incident_timelines_with_your_name",
    "incidents.taken_by_name": "listed as incidents_taken",
}
# What a column holds when it cannot hold anything about a person: by name.
NEVER_PERSONAL = {
    "id",
    "status",
    "state",
    "kind",
    "channel",
    "language",
    "role",
    "flow",
    "step",
    "ring",
    "count",
    "priority",
    "paid",
    "attempts",
    "points",
    "uses",
    "max_uses",
    "reports",
    "recipients",
    "urgent",
    "target",
    "queued_ring",
    "source",
    "rsvp",
    "answer",
    "result",
    "reason",
    "axis",
    "unit",
    "span",
    "hour",
    "period_key",
    "text_version",
    "text_sha256",
    "code_hash",
    "link_key",
    "preferred",
    "notify",
    "proof_wanted",
    "per_volunteer_cap",
    "quota",
    "slots_taken",
    "doors",
    "radius_km",
    "target_kinds",
    "action",
    "line",
    "message_id",
    "progress_message_id",
    "key",
    "until",
    "since",
    "request",
    "not_before",
}


async def _columns(db: Database) -> list[tuple[str, str, str]]:
    if is_postgres(db):
        rows = await db.fetch_all(
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name <> 'schema_version'"
            " ORDER BY table_name, ordinal_position"
        )
        return [(r["table_name"], r["column_name"], r["data_type"].upper()) for r in rows]
    tables = await db.fetch_all(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    found = []
    for table in tables:
        for column in await db.fetch_all(f"PRAGMA table_info({table['name']})"):
            found.append((table["name"], column["name"], column["type"].upper()))
    return found


async def _holding(db: Database) -> dict[str, list[str]]:
    """table.column -> the stored values in which one of Zoraïde's secrets appears."""
    held: dict[str, list[str]] = {}
    for table, column, _type in await _columns(db):
        for row in await db.fetch_all(f'SELECT "{column}" AS v FROM "{table}"'):
            value = row["v"]
            if isinstance(value, bytes):
                value = value.decode("utf-8", "replace")
            if value is not None and any(s in str(value) for s in SECRETS):
                held.setdefault(f"{table}.{column}", []).append(str(value))
    return held


async def test_every_column_that_can_hold_personal_data_is_erased_or_shown(
    services: Services, router: Router, chat: Callable[..., Chat], db: Database
) -> None:
    """Reads the schema after every migration: a new column holding what a person wrote
    or who they are fails here until /forget erases it or /mydata shows it (or it is
    listed above with the reason it is kept)."""
    columns = await _columns(db)
    unclassified = [
        f"{t}.{c}"
        for t, c, kind in columns
        if kind in ("TEXT", "")
        and c not in NEVER_PERSONAL
        and not c.endswith(("_at", "_id", "_until", "at"))
    ]
    await every_feature(services, router, chat)
    held = await _holding(db)
    telegram = chat(TELEGRAM_ID)
    await telegram.send("/mydata")
    assert telegram.last.attachment is not None
    mydata = json.loads(telegram.last.attachment.content)
    shown = json.dumps(mydata, ensure_ascii=False)

    await telegram.send("/forget")
    await telegram.tap("Oui, tout effacer")
    left = await _holding(db)

    for column, values in held.items():
        erased = column not in left
        listed = (
            all(any(s in shown for s in SECRETS if s in value) for value in values)
            or column in NOT_IN_MYDATA
        )
        assert erased or column in KEPT_ON_PURPOSE, f"/forget leaves {column}: {left[column]}"
        assert listed, f"/mydata does not show {column}: {values}"
    # The scenario reaches every text column that can hold a person's words or ids; one
    # it does not reach must be exercised (added to every_feature) or declared above.
    not_exercised = {c for c in unclassified if c not in held and c not in PERSONAL_BEYOND_SCENARIO}
    assert not not_exercised, f"classify or exercise: {sorted(not_exercised)}"


# Text columns the scenario does not fill with Zoraïde's words or ids, and why that is
# fine: each is erased (E) and shown (S) where said, or holds no one's personal data.
PERSONAL_BEYOND_SCENARIO = {
    # Her profile, in codes or derived from her place: erase_core resets, profile shows.
    "volunteers.postcode": "E erase_core, S profile",
    "volunteers.availability": "E erase_core, S profile",
    "volunteers.department": "E erase_core, S profile",
    "volunteers.commune": "INSEE code of her commune: E erase_core, S profile",
    "volunteers.skills": "E erase_core, S profile",
    "volunteers.timezone": "E erase_core, S profile",
    "volunteers.quiet_hours": "E erase_core, S profile",
    "consents.update_key": "a keyed tag, never a number (E erase_core NULLs it, S consents)",
    "conversations.data": "E erase_core deletes the row, S conversation_in_progress",
    # An update Telegram sent, kept while its chat's earlier ones are handled (seconds):
    # deleted once handled, which is before that chat's /forget is.
    "kept_updates.payload": "deleted once handled, before the same chat's /forget",
    "numbered_choices.choices": "E numbered part deletes the row, S numbered_choices",
    "outcomes.comment": "E erase_tasks NULLs it, S tasks",
    "outcomes.proof": "E erase_tasks NULLs it, S tasks",
    "incidents.summary": "words around a link: E erase_alerts when they opened it, S alarms",
    # The campaign's own content, written by organizers for everyone: not about them.
    "broadcasts.body": "campaign content (S broadcasts)",
    "broadcasts.variants": "campaign content (S broadcasts)",
    "broadcasts.buttons": "campaign content (S broadcasts)",
    "broadcasts.audience": "filters: team, area, skill codes",
    "broadcasts.scope": "team ids",
    "broadcasts.progress_text": "delivery counts",
    "broadcasts.origin_channel": "a messenger's name",
    "ripostes.url": "the campaign's answer post (S ripostes_launched)",
    "ripostes.suggested_text": "campaign content (S ripostes_launched)",
    "ripostes.scope": "team ids",
    "incidents.url": "the attacking post, public",
    "tasks.title": "campaign content",
    "tasks.instructions": "campaign content",
    "tasks.link": "campaign content",
    "tasks.place": "a meeting point",
    "tasks.area": "streets to canvass",
    "tasks.suggested_message": "campaign content",
    "tasks.starts_slots": "event times",
    "task_translations.title": "campaign content",
    "task_translations.instructions": "campaign content",
    "task_targets.value": "team, area or skill codes",
    "teams.name": "a team's name",
    "invites.code": "a random code",
    "dashboard_sessions.token_hash": "hash of a random token: E dashboard part deletes it",
    "dashboard_sessions.csrf": "a random token: E dashboard part deletes the row",
    "audit_log.subject": "ids and counts, never names",
    "outbox.last_error": "the messenger's error text",
    # People to call, imported by organizers: not users of Relais, so not theirs to
    # /forget; they leave with the call list (and `do_not_call` keeps only the number).
    "call_contacts.name": "a contact to call",
    "call_contacts.phone": "a contact to call",
    "call_contacts.notes": "a contact to call",
    "call_contacts.last_result": "a call result code",
    "do_not_call.phone": "a number that asked not to be called",
}


@pytest.mark.sqlite_only("the WAL checkpoint an open export postpones is SQLite's")
async def test_an_export_streaming_during_forget_does_not_keep_the_name_on_disk(
    services: Services, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    for n in range(5):
        await make.volunteer(services, str(500 + n), name=f"Autre{n}")
    zoraide = await make.volunteer(services, TELEGRAM_ID, name=NAME)
    await db.checkpoint()
    assert NAME in found_in(file_bytes(db.path))  # in the main file itself (no WAL)
    export = db.iterate("SELECT id, first_name FROM volunteers ORDER BY id", chunk=1)
    first = await anext(export)  # an organizer's export is being streamed
    assert first["first_name"] == "Autre0"
    await services.privacy.erase(zoraide.id)
    assert "WAL checkpoint postponed" in caplog.text  # said, not silent
    assert db.checkpoint_owed
    names = [row["first_name"] async for row in export]
    assert NAME in names  # the export's snapshot began before the erasure
    # The export is over: the owed checkpoint ran, nothing of her is left on disk.
    assert not db.checkpoint_owed
    assert found_in(file_bytes(db.path)) == []


async def test_forget_leaves_nothing_in_the_answers_the_lane_had_in_hand(
    services: Services, chat: Callable[..., Chat], db: Database
) -> None:
    """In the running bot an update's answers are outbox rows its lane sends: those still
    in hand when /forget erased the person (its question), and /forget's own answers,
    written after the erasure, keep neither the person's chat nor a message id once sent."""
    await make.volunteer(services, TELEGRAM_ID, name=NAME)
    telegram = chat(TELEGRAM_ID, first_name=NAME)
    in_hand: list[Delivery] = []

    def take(rows: list[Delivery]) -> None:
        in_hand.extend(rows)
        telegram.replies.extend(row.outbound for row in rows)

    telegram.router.lanes["telegram"] = AnswerLane(take)
    clock = services.clock
    assert isinstance(clock, FakeClock)
    clock.advance(hours=1)  # her activity is noted: the question is written, in hand
    await telegram.send("/forget")
    asked = len(in_hand)
    assert asked >= 1  # the question, in the lane's hands (not sent yet)
    await telegram.tap("Oui, tout effacer")
    assert "tout ce qui vous concernait a été effacé" in telegram.last_text
    assert len(in_hand) > asked  # the goodbye, written after the erasure
    # The lane sends them all now, and settles them with Telegram's message ids.
    outbox = OutboxRepository(services.db)
    await outbox.settle_many(
        [Settlement(row.id, "sent", message_id=f"{9000 + row.id}") for row in in_hand],
        services.clock.now(),
    )
    rows = await services.db.fetch_all("SELECT chat_id, message_id, payload, status FROM outbox")
    assert rows and all(r["status"] == "sent" for r in rows)
    assert [r["chat_id"] for r in rows] == [""] * len(rows)
    assert [r["message_id"] for r in rows] == [None] * len(rows)
    # Nor does the file, its WAL or a page freed by the settling (no checkpoint is awaited).
    assert found_in(await stored_bytes(db)) == []
