"""Everything stored about one volunteer: export and erasure.

Features with their own tables register their part here (`register_personal_data`, at
import time of their storage module); this module itself covers volunteers, identities,
teams, roles, consents, invites, conversations, the outbox and the audit log.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from bot.clock import to_iso
from bot.storage.backend import Tx
from bot.storage.db import Database, legacy_connection

Exporter = Callable[[Database, int], Awaitable[Any]]
Eraser = Callable[[Tx, int, datetime], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class PersonalDataPart:
    """How one feature exports and erases what it stores about a volunteer."""

    name: str
    export: Exporter
    erase: Eraser


_PARTS: dict[str, PersonalDataPart] = {}


def register_personal_data(name: str, export: Exporter, erase: Eraser) -> None:
    """Add (or replace) a feature's part of /mydata and /forget."""
    _PARTS[name] = PersonalDataPart(name, export, erase)


def personal_data_parts() -> tuple[PersonalDataPart, ...]:
    return tuple(_PARTS.values())


# Personal columns of `volunteers`, NULLed (or reset) by erasure; the row itself stays
# with status 'erased' so counts in reports do not change.
_ERASED_COLUMNS = (
    "first_name = NULL, postcode = NULL, department = NULL, place = NULL, latitude = NULL,"
    " commune = NULL,"
    " longitude = NULL, skills = '', availability = '', timezone = NULL, quiet_hours = NULL,"
    " rapid_response = 0, leaderboard = 0, digest = 0, paused_until = NULL,"
    " recruited_by = NULL, retention_warned_at = NULL"
)


def _rows(rows: list[aiosqlite.Row]) -> list[dict[str, Any]]:
    return [dict(zip(row.keys(), tuple(row), strict=True)) for row in rows]


def _message_text(payload: str) -> str:
    try:
        return str(json.loads(payload).get("text", ""))
    except (ValueError, AttributeError):
        return ""


async def export_core(db: Database, volunteer_id: int) -> dict[str, Any]:
    """The foundation tables' rows about a volunteer, as JSON-ready dicts."""
    profile = await db.fetch_one("SELECT * FROM volunteers WHERE id = ?", (volunteer_id,))
    identities = await db.fetch_all(
        "SELECT channel, user_id, chat_id, preferred, unreachable_at, created_at"
        " FROM identities WHERE volunteer_id = ? ORDER BY created_at",
        (volunteer_id,),
    )
    consents = await db.fetch_all(
        "SELECT text_version, text_sha256, channel, update_key, given_at, withdrawn_at"
        " FROM consents WHERE volunteer_id = ? ORDER BY id",
        (volunteer_id,),
    )
    teams = await db.fetch_all(
        "SELECT t.name AS team, m.joined_at FROM team_members m JOIN teams t"
        " ON t.id = m.team_id WHERE m.volunteer_id = ? ORDER BY t.name",
        (volunteer_id,),
    )
    roles = await db.fetch_all(
        "SELECT r.role, t.name AS team, r.granted_at FROM roles r LEFT JOIN teams t"
        " ON t.id = r.team_id WHERE r.volunteer_id = ? ORDER BY r.role, t.name",
        (volunteer_id,),
    )
    invites = await db.fetch_all(
        "SELECT i.kind, t.name AS team, i.uses, i.max_uses, i.expires_at, i.created_at"
        " FROM invites i LEFT JOIN teams t ON t.id = i.team_id WHERE i.created_by = ?"
        " ORDER BY i.created_at",
        (volunteer_id,),
    )
    conversations = await db.fetch_all(
        "SELECT c.channel, c.flow, c.step, c.data, c.updated_at FROM conversations c"
        " JOIN identities i ON i.channel = c.channel AND i.chat_id = c.chat_id"
        " WHERE i.volunteer_id = ?",
        (volunteer_id,),
    )
    messages = await db.fetch_all(
        "SELECT kind, channel, status, created_at, sent_at, payload FROM outbox"
        " WHERE volunteer_id = ? ORDER BY id",
        (volunteer_id,),
    )
    audit = await db.fetch_all(
        "SELECT action, subject, at FROM audit_log WHERE actor_id = ? OR subject = ? ORDER BY id",
        (volunteer_id, f"volunteer:{volunteer_id}"),
    )
    profile_dict = _rows([profile])[0] if profile else {}
    for name in ("skills", "availability"):
        if name in profile_dict:
            profile_dict[name] = [s for s in str(profile_dict[name]).split(",") if s]
    return {
        "profile": profile_dict,
        "messenger_accounts": _rows(identities),
        "consents": _rows(consents),
        "teams": _rows(teams),
        "roles": _rows(roles),
        "invites_created": _rows(invites),
        "conversation_in_progress": [
            {**row, "data": json.loads(row["data"] or "{}")} for row in _rows(conversations)
        ],
        "messages_sent_to_you": [
            {
                "kind": row["kind"],
                "channel": row["channel"],
                "status": row["status"],
                "created_at": row["created_at"],
                "sent_at": row["sent_at"],
                "text": _message_text(row["payload"]),
            }
            for row in messages
        ],
        "audit_log": _rows(audit),
    }


async def erase_core(tx: Tx, volunteer_id: int, now: datetime) -> None:
    """Erase a volunteer's personal data from the foundation tables, inside `tx`."""
    conn = legacy_connection(tx)  # until this module moves to the Tx interface
    moment = to_iso(now)
    # Conversations and outbox rows are keyed by chat, so find the chats first.
    cursor = await conn.execute(
        "SELECT channel, chat_id FROM identities WHERE volunteer_id = ?", (volunteer_id,)
    )
    chats = [(row[0], row[1]) for row in await cursor.fetchall()]
    for channel, chat_id in chats:
        await conn.execute(
            "DELETE FROM conversations WHERE channel = ? AND chat_id = ?", (channel, chat_id)
        )
        await conn.execute(
            "UPDATE outbox SET volunteer_id = ? WHERE channel = ? AND chat_id = ?"
            " AND volunteer_id IS NULL",
            (volunteer_id, channel, chat_id),
        )
    # Keep the outbox row (delivery counts stay right) but not what it said nor where.
    await conn.execute(
        "UPDATE outbox SET payload = '{}', chat_id = '', dedupe_key = NULL, message_id = NULL,"
        " last_error = NULL, status = CASE WHEN status = 'pending' THEN 'cancelled'"
        " ELSE status END WHERE volunteer_id = ?",
        (volunteer_id,),
    )
    await conn.execute("DELETE FROM identities WHERE volunteer_id = ?", (volunteer_id,))
    await conn.execute("DELETE FROM roles WHERE volunteer_id = ?", (volunteer_id,))
    await conn.execute(
        "DELETE FROM invites WHERE created_by = ? AND kind = 'recruit'", (volunteer_id,)
    )
    await conn.execute("UPDATE invites SET created_by = NULL WHERE created_by = ?", (volunteer_id,))
    await conn.execute(
        "UPDATE consents SET withdrawn_at = ? WHERE volunteer_id = ? AND withdrawn_at IS NULL",
        (moment, volunteer_id),
    )
    # The proof of consent stays (version, text fingerprint, dates), not the message it
    # came in: older Signal keys held the sender's number.
    await conn.execute(
        "UPDATE consents SET update_key = NULL WHERE volunteer_id = ?", (volunteer_id,)
    )
    await conn.execute(
        f"UPDATE volunteers SET status = 'erased', {_ERASED_COLUMNS}, last_active_at = ?,"
        " erased_at = ? WHERE id = ?",
        (moment, moment, volunteer_id),
    )


async def erased_at(db: Database, volunteer_id: int) -> str | None:
    value = await db.fetch_value("SELECT erased_at FROM volunteers WHERE id = ?", (volunteer_id,))
    return str(value) if value else None
