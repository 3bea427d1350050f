"""Broadcasts and their audiences: who a broadcast reaches, and its outbox rows."""

from __future__ import annotations

import json
import math
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import aiosqlite

from bot.clock import to_iso
from bot.places import KM_PER_DEGREE
from bot.storage.backend import Tx
from bot.storage.db import Database, legacy_connection, placeholders
from bot.storage.outbox import BULK, URGENT_BROADCAST
from bot.storage.personal_data import register_personal_data

# Who may receive a broadcast: active (or paused until a moment now past), reachable.
# Never stopped, erased or still onboarding.
_ELIGIBLE = (
    "(v.status = 'active' OR (v.status = 'paused' AND v.paused_until IS NOT NULL"
    " AND v.paused_until <= ?)) AND i.unreachable_at IS NULL"
)
_SELECT = "FROM volunteers v JOIN identities i ON i.volunteer_id = v.id"
NO_QUIET_HOURS = "~"  # stands for NULL (the campaign's quiet hours) in comparisons


@dataclass(frozen=True, slots=True)
class Audience:
    """Who a broadcast is for: every filter given must match (empty = everyone in scope)."""

    teams: tuple[str, ...] = ()
    areas: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    active_days: int | None = None
    # Within `km` of a French commune's centre: (INSEE code, latitude, longitude, km).
    around: tuple[str, float, float, float] | None = None

    def describe(self) -> str:
        """The same words the command line and the wizard accept: 'team:Nord skill:call'."""
        words = [f"team:{t}" for t in self.teams]
        words += [f"area:{a}" for a in self.areas]
        words += [f"skill:{s}" for s in self.skills]
        words += [f"lang:{lang}" for lang in self.languages]
        if self.active_days is not None:
            words.append(f"active:{self.active_days}")
        if self.around is not None:
            code, _lat, _lon, km = self.around
            words.append(f"near:{code}:{km:g}")
        return " ".join(shlex.quote(word) for word in words)


@dataclass(frozen=True, slots=True)
class Broadcast:
    """One broadcast, from draft figures to delivery report."""

    id: int
    created_by: int | None
    origin_channel: str
    origin_chat_id: str
    language: str
    body: str
    variants: Mapping[str, str]
    buttons: tuple[tuple[str, str, str], ...]  # (label, url, payload): a link or a tap
    audience: str
    scope: frozenset[int] | None
    urgent: bool
    paid: bool
    status: str
    send_at: str
    recipients: int
    progress_message_id: str
    progress_text: str
    started_at: str
    finished_at: str
    created_at: str

    @classmethod
    def from_row(cls, row: aiosqlite.Row) -> Broadcast:
        scope = row["scope"]
        return cls(
            id=row["id"],
            created_by=row["created_by"],
            origin_channel=row["origin_channel"],
            origin_chat_id=row["origin_chat_id"],
            language=row["language"],
            body=row["body"],
            variants=json.loads(row["variants"]),
            buttons=tuple(
                (b[0], b[1], b[2] if len(b) > 2 else "") for b in json.loads(row["buttons"])
            ),
            audience=row["audience"],
            scope=None if scope is None else frozenset(json.loads(scope)),
            urgent=bool(row["urgent"]),
            paid=bool(row["paid"]),
            status=row["status"],
            send_at=row["send_at"],
            recipients=row["recipients"],
            progress_message_id=row["progress_message_id"] or "",
            progress_text=row["progress_text"] or "",
            started_at=row["started_at"] or "",
            finished_at=row["finished_at"] or "",
            created_at=row["created_at"],
        )


@dataclass(frozen=True, slots=True)
class NewBroadcast:
    """What an organizer (or the command line) asks to send."""

    language: str
    body: str
    send_at: datetime
    audience: Audience = Audience()
    scope: frozenset[int] | None = None
    variants: Mapping[str, str] = field(default_factory=dict)
    buttons: tuple[tuple[str, str, str], ...] = ()
    urgent: bool = False
    paid: bool = False
    created_by: int | None = None
    origin_channel: str = ""
    origin_chat_id: str = ""


def _audience_sql(
    audience: Audience, scope: frozenset[int] | None, now: datetime
) -> tuple[str, list[Any]]:
    clauses = [_ELIGIBLE]
    params: list[Any] = [to_iso(now)]
    if scope is not None:
        if not scope:
            clauses.append("0 = 1")
        else:
            clauses.append(
                "v.id IN (SELECT volunteer_id FROM team_members"
                f" WHERE team_id IN ({placeholders(scope)}))"
            )
            params += sorted(scope)
    if audience.teams:
        clauses.append(
            "v.id IN (SELECT tm.volunteer_id FROM team_members tm JOIN teams t"
            f" ON t.id = tm.team_id WHERE t.name IN ({placeholders(audience.teams)}))"
        )
        params += audience.teams
    if audience.areas:
        clauses.append(
            "(" + " OR ".join("v.department = ? OR v.postcode LIKE ?" for _ in audience.areas) + ")"
        )
        for area in audience.areas:
            params += [area, f"{area}%"]
    if audience.skills:
        clauses.append(
            "(" + " OR ".join("(',' || v.skills || ',') LIKE ?" for _ in audience.skills) + ")"
        )
        params += [f"%,{skill},%" for skill in audience.skills]
    if audience.languages:
        clauses.append(f"v.language IN ({placeholders(audience.languages)})")
        params += audience.languages
    if audience.active_days is not None:
        clauses.append("v.last_active_at >= ?")
        params.append(to_iso(now - timedelta(days=audience.active_days)))
    if audience.around is not None:
        # Squared distance on an equirectangular projection: plain, portable arithmetic,
        # accurate to a few metres over the tens of km a campaign targets.
        _code, lat, lon, km = audience.around
        kmlon = KM_PER_DEGREE * math.cos(math.radians(lat))
        clauses.append(
            "v.latitude IS NOT NULL AND ((v.latitude - ?) * ?) * ((v.latitude - ?) * ?)"
            " + ((v.longitude - ?) * ?) * ((v.longitude - ?) * ?) <= ?"
        )
        params += [lat, KM_PER_DEGREE, lat, KM_PER_DEGREE, lon, kmlon, lon, kmlon, km * km]
    return " AND ".join(clauses), params


class BroadcastRepository:
    """Writes broadcasts, counts their audiences, queues and withdraws their outbox rows."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def count(self, audience: Audience, scope: frozenset[int] | None, now: datetime) -> int:
        """How many volunteers a broadcast to this audience would reach right now."""
        where, params = _audience_sql(audience, scope, now)
        value = await self.db.fetch_value(
            f"SELECT COUNT(DISTINCT v.id) {_SELECT} WHERE {where}", params
        )
        return int(value or 0)

    async def create(self, new: NewBroadcast, now: datetime) -> Broadcast:
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "INSERT INTO broadcasts (created_by, origin_channel, origin_chat_id, language,"
                " body, variants, buttons, audience, scope, urgent, paid, status, send_at,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'scheduled', ?, ?)",
                (
                    new.created_by,
                    new.origin_channel,
                    new.origin_chat_id,
                    new.language,
                    new.body,
                    json.dumps(dict(new.variants), ensure_ascii=False),
                    json.dumps([list(b) for b in new.buttons], ensure_ascii=False),
                    new.audience.describe(),
                    None if new.scope is None else json.dumps(sorted(new.scope)),
                    int(new.urgent),
                    int(new.paid),
                    to_iso(new.send_at),
                    to_iso(now),
                ),
            )
            broadcast_id = int(cursor.lastrowid or 0)
        found = await self.get(broadcast_id)
        assert found is not None
        return found

    async def get(self, broadcast_id: int) -> Broadcast | None:
        row = await self.db.fetch_one("SELECT * FROM broadcasts WHERE id = ?", (broadcast_id,))
        return Broadcast.from_row(row) if row else None

    async def recent(self, limit: int = 10, author: int | None = None) -> list[Broadcast]:
        """The newest broadcasts (of one author, or everyone's), scheduled ones included."""
        if author is None:
            rows = await self.db.fetch_all(
                "SELECT * FROM broadcasts ORDER BY id DESC LIMIT ?", (limit,)
            )
        else:
            rows = await self.db.fetch_all(
                "SELECT * FROM broadcasts WHERE created_by = ? ORDER BY id DESC LIMIT ?",
                (author, limit),
            )
        return [Broadcast.from_row(r) for r in rows]

    async def due(self, now: datetime) -> list[Broadcast]:
        rows = await self.db.fetch_all(
            "SELECT * FROM broadcasts WHERE status = 'scheduled' AND send_at <= ? ORDER BY id",
            (to_iso(now),),
        )
        return [Broadcast.from_row(r) for r in rows]

    async def running(self) -> list[Broadcast]:
        rows = await self.db.fetch_all(
            "SELECT * FROM broadcasts WHERE status = 'sending' ORDER BY id"
        )
        return [Broadcast.from_row(r) for r in rows]

    async def start(
        self,
        broadcast: Broadcast,
        audience: Audience,
        payloads: Mapping[str, str],
        default_payload: str,
        now: datetime,
        hold_until: Callable[[str, str], datetime | None],
    ) -> int | None:
        """Write one outbox row per recipient and mark the broadcast sending, atomically.

        `payloads` maps a volunteer language to its outbox payload. `hold_until(timezone,
        quiet_hours)` says until when recipients with those settings must not be disturbed
        (None: send now). Returns the number of recipients, or None if the broadcast was no
        longer scheduled (started by another sweep, or cancelled).
        """
        where, params = _audience_sql(audience, broadcast.scope, now)
        cases = " ".join("WHEN ? THEN ?" for _ in payloads)
        case_params = [x for pair in payloads.items() for x in pair]
        payload_sql = f"CASE v.language {cases} ELSE ? END" if payloads else "?"
        stamp = to_iso(now)
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "UPDATE broadcasts SET status = 'sending', started_at = ?"
                " WHERE id = ? AND status = 'scheduled'",
                (stamp, broadcast.id),
            )
            if cursor.rowcount != 1:
                return None
            await tx.execute(
                "INSERT INTO outbox (kind, ref_id, dedupe_key, volunteer_id, channel, chat_id,"
                " payload, priority, paid, not_before, created_at)"
                f" SELECT 'broadcast', ?, 'broadcast:' || ? || ':' || v.id, v.id, i.channel,"
                f" i.chat_id, {payload_sql}, ?, ?, ?, ? {_SELECT} WHERE {where}"
                " ORDER BY v.id, i.preferred DESC, i.created_at"
                " ON CONFLICT (dedupe_key) DO NOTHING",
                (
                    broadcast.id,
                    broadcast.id,
                    *case_params,
                    default_payload,
                    URGENT_BROADCAST if broadcast.urgent else BULK,
                    int(broadcast.paid),
                    stamp,
                    stamp,
                    *params,
                ),
            )
            if not broadcast.urgent:
                cursor = await tx.execute(
                    "SELECT DISTINCT IFNULL(v.timezone, '') AS tz,"
                    " IFNULL(v.quiet_hours, ?) AS qh FROM outbox o"
                    " JOIN volunteers v ON v.id = o.volunteer_id"
                    " WHERE o.kind = 'broadcast' AND o.ref_id = ?",
                    (NO_QUIET_HOURS, broadcast.id),
                )
                for row in await cursor.fetchall():
                    hold = hold_until(row["tz"], row["qh"])
                    if hold is None:
                        continue
                    await tx.execute(
                        "UPDATE outbox SET not_before = ? WHERE kind = 'broadcast'"
                        " AND ref_id = ? AND status = 'pending' AND volunteer_id IN"
                        " (SELECT id FROM volunteers WHERE IFNULL(timezone, '') = ?"
                        " AND IFNULL(quiet_hours, ?) = ?)",
                        (to_iso(hold), broadcast.id, row["tz"], NO_QUIET_HOURS, row["qh"]),
                    )
            cursor = await tx.execute(
                "SELECT COUNT(*) FROM outbox WHERE kind = 'broadcast' AND ref_id = ?",
                (broadcast.id,),
            )
            found = await cursor.fetchone()
            recipients = int(found[0]) if found else 0
            await tx.execute(
                "UPDATE broadcasts SET recipients = ? WHERE id = ?", (recipients, broadcast.id)
            )
        return recipients

    async def counts(self, broadcast_id: int) -> dict[str, int]:
        """Outbox rows of one broadcast by status."""
        rows = await self.db.fetch_all(
            "SELECT status, COUNT(*) AS n FROM outbox WHERE kind = 'broadcast' AND ref_id = ?"
            " GROUP BY status",
            (broadcast_id,),
        )
        return {row["status"]: row["n"] for row in rows}

    async def last_not_before(self, broadcast_id: int) -> str | None:
        """When the last recipient held by quiet hours may be sent to (ISO), if any waits."""
        value = await self.db.fetch_value(
            "SELECT MAX(not_before) FROM outbox WHERE kind = 'broadcast' AND ref_id = ?"
            " AND status = 'pending'",
            (broadcast_id,),
        )
        return str(value) if value else None

    async def set_progress(self, broadcast_id: int, message_id: str, text: str) -> None:
        async with self.db.raw_transaction() as tx:
            await tx.execute(
                "UPDATE broadcasts SET progress_message_id = ?, progress_text = ? WHERE id = ?",
                (message_id or None, text, broadcast_id),
            )

    async def finish(self, broadcast_id: int, now: datetime) -> bool:
        """Mark a sending broadcast done; False if it was not sending any more."""
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "UPDATE broadcasts SET status = 'done', finished_at = ?"
                " WHERE id = ? AND status = 'sending'",
                (to_iso(now), broadcast_id),
            )
            return cursor.rowcount == 1

    async def cancel(self, broadcast_id: int, now: datetime) -> int | None:
        """Stop a scheduled or running broadcast: withdraw what is not sent yet.

        Returns how many messages were withdrawn, or None if it had already ended.
        """
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "UPDATE broadcasts SET status = 'cancelled', finished_at = ?"
                " WHERE id = ? AND status IN ('scheduled', 'sending')",
                (to_iso(now), broadcast_id),
            )
            if cursor.rowcount != 1:
                return None
            cursor = await tx.execute(
                "UPDATE outbox SET status = 'cancelled', last_error = 'broadcast cancelled'"
                " WHERE kind = 'broadcast' AND ref_id = ? AND status = 'pending'",
                (broadcast_id,),
            )
            return cursor.rowcount

    async def teams(self, scope: frozenset[int] | None) -> list[tuple[int, str]]:
        """Teams an author may address, by name."""
        if scope is None:
            rows = await self.db.fetch_all("SELECT id, name FROM teams ORDER BY name")
        elif not scope:
            return []
        else:
            rows = await self.db.fetch_all(
                f"SELECT id, name FROM teams WHERE id IN ({placeholders(scope)}) ORDER BY name",
                sorted(scope),
            )
        return [(row["id"], row["name"]) for row in rows]

    async def areas(self, scope: frozenset[int] | None) -> list[str]:
        """Départements where the volunteers an author may address live, most first."""
        where, params = "v.department IS NOT NULL AND v.status != 'erased'", []
        if scope is not None:
            if not scope:
                return []
            where += (
                " AND v.id IN (SELECT volunteer_id FROM team_members"
                f" WHERE team_id IN ({placeholders(scope)}))"
            )
            params = sorted(scope)
        rows = await self.db.fetch_all(
            f"SELECT v.department AS department, COUNT(*) AS n FROM volunteers v WHERE {where}"
            " GROUP BY v.department ORDER BY n DESC, v.department LIMIT 12",
            params,
        )
        return [row["department"] for row in rows]

    async def team_ids(self, names: Sequence[str]) -> dict[str, int]:
        """Team ids by the names given (matched without regard to case)."""
        if not names:
            return {}
        rows = await self.db.fetch_all(
            f"SELECT id, name FROM teams WHERE name IN ({placeholders(names)})", list(names)
        )
        found = {row["name"].casefold(): row["id"] for row in rows}
        return {name: found[name.casefold()] for name in names if name.casefold() in found}


async def export_broadcasts(db: Database, volunteer_id: int) -> list[dict[str, Any]]:
    """The broadcasts a volunteer wrote, for /mydata."""
    rows = await db.fetch_all(
        "SELECT id, language, body, variants, buttons, audience, status, send_at, recipients,"
        " origin_channel, origin_chat_id, created_at FROM broadcasts WHERE created_by = ?"
        " ORDER BY id",
        (volunteer_id,),
    )
    return [
        {
            **dict(row),
            "variants": json.loads(row["variants"]),
            "buttons": json.loads(row["buttons"]),
        }
        for row in rows
    ]


async def erase_broadcasts(tx: Tx, volunteer_id: int, now: datetime) -> None:
    """The broadcasts stay (the campaign's messages, counted in reports), but no longer
    point at the author's chat, where their progress was shown."""
    conn = legacy_connection(tx)  # until this module moves to the Tx interface
    await conn.execute(
        "UPDATE broadcasts SET origin_channel = '', origin_chat_id = '',"
        " progress_message_id = NULL WHERE created_by = ?",
        (volunteer_id,),
    )


register_personal_data("broadcasts", export_broadcasts, erase_broadcasts)
