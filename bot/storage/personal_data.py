"""Everything stored about one volunteer: export and erasure.

Features with their own tables register their part here (`register_personal_data`, at
import time of their storage module); this module itself covers volunteers, identities,
teams, roles, consents, invites, conversations, the outbox and the audit log. It only
orchestrates the erasure: each table's owner erases its own rows, inside the one erasure
transaction (`erase_core`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.storage.backend import Backend, Row, Tx, note_erased
from bot.storage.conversations import ConversationRepository
from bot.storage.outbox import OutboxRepository
from bot.storage.roles import RoleRepository
from bot.storage.teams import TeamRepository
from bot.storage.volunteers import VolunteerRepository

Exporter = Callable[[Backend, int], Awaitable[Any]]
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


def _rows(rows: list[Row]) -> list[dict[str, Any]]:
    return [dict(zip(row.keys(), tuple(row), strict=True)) for row in rows]


def _message_text(payload: str) -> str:
    try:
        return str(json.loads(payload).get("text", ""))
    except (ValueError, AttributeError):
        return ""


async def export_core(db: Backend, volunteer_id: int) -> dict[str, Any]:
    """The foundation tables' rows about a volunteer, as JSON-ready dicts."""
    who = {"id": volunteer_id}
    profile = await db.fetch_one("SELECT * FROM volunteers WHERE id = :id", who)
    identities = await db.fetch_all(
        "SELECT channel, user_id, chat_id, preferred, unreachable_at, created_at"
        " FROM identities WHERE volunteer_id = :id ORDER BY created_at",
        who,
    )
    consents = await db.fetch_all(
        "SELECT text_version, text_sha256, channel, update_key, given_at, withdrawn_at"
        " FROM consents WHERE volunteer_id = :id ORDER BY id",
        who,
    )
    teams = await db.fetch_all(
        "SELECT t.name AS team, m.joined_at FROM team_members m JOIN teams t"
        " ON t.id = m.team_id WHERE m.volunteer_id = :id ORDER BY t.name",
        who,
    )
    roles = await db.fetch_all(
        "SELECT r.role, t.name AS team, r.granted_at FROM roles r LEFT JOIN teams t"
        " ON t.id = r.team_id WHERE r.volunteer_id = :id ORDER BY r.role, t.name",
        who,
    )
    invites = await db.fetch_all(
        "SELECT i.kind, t.name AS team, i.uses, i.max_uses, i.expires_at, i.created_at"
        " FROM invites i LEFT JOIN teams t ON t.id = i.team_id WHERE i.created_by = :id"
        " ORDER BY i.created_at",
        who,
    )
    conversations = await ConversationRepository(db).of_volunteer(volunteer_id)
    messages = await db.fetch_all(
        "SELECT kind, channel, status, created_at, sent_at, payload FROM outbox"
        " WHERE volunteer_id = :id ORDER BY id",
        who,
    )
    audit = await db.fetch_all(
        "SELECT action, subject, at FROM audit_log WHERE actor_id = :id OR subject = :subject"
        " ORDER BY id",
        {**who, "subject": f"volunteer:{volunteer_id}"},
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
        "conversation_in_progress": conversations,
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


async def erase_core(tx: Tx, volunteer_id: int, now: datetime) -> list[tuple[str, str]]:
    """Erase a volunteer's personal data from the foundation tables, inside `tx`: each
    table's owner erases its own rows. Returns the (channel, chat id) of their chats."""
    # Conversations and outbox rows are keyed by chat, so find the chats first.
    chats = await VolunteerRepository.chats(tx, volunteer_id)
    await ConversationRepository.erase(tx, chats)
    await OutboxRepository.erase_volunteer(tx, volunteer_id, chats)
    # The update's own answers to these chats, written after this, are marked as theirs.
    note_erased(volunteer_id, chats)
    await RoleRepository.erase(tx, volunteer_id)
    await TeamRepository.erase_invites(tx, volunteer_id)
    # Last: identities go with the volunteer's personal columns.
    await VolunteerRepository.erase(tx, volunteer_id, now)
    return chats
