"""Broadcasts and their audiences: who a broadcast reaches; its recipients are written into
the outbox (by the outbox's repository) in short steps."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.clock import from_iso, to_iso
from bot.domain.broadcasts import Audience, Broadcast, BroadcastStatus, NewBroadcast
from bot.places import KM_PER_DEGREE
from bot.storage.backend import Backend, Row, Tx, in_list
from bot.storage.outbox import BULK, URGENT_BROADCAST, OutboxRepository
from bot.storage.personal_data import register_personal_data
from bot.storage.volunteers import unsolicited

__all__ = ["Audience", "Broadcast", "BroadcastRepository", "NewBroadcast"]

# Who may receive a broadcast: the campaign's rule for unprompted messages, on an identity
# that still reaches them.
_ELIGIBLE = f"{unsolicited()} AND i.unreachable_at IS NULL"
_SELECT = "FROM volunteers v JOIN identities i ON i.volunteer_id = v.id"
NO_QUIET_HOURS = "~"  # stands for NULL (the campaign's quiet hours) in comparisons
# Volunteer ids covered by one queueing step: a few thousand rows at most, written in a few
# tens of milliseconds, so that nothing else waits long for the database meanwhile.
QUEUE_STEP = 2000


def _broadcast(row: Row) -> Broadcast:
    scope = row["scope"]
    end, through = row["queue_end"], row["queued_through"]
    return Broadcast(
        id=row["id"],
        created_by=row["created_by"],
        origin_channel=row["origin_channel"],
        origin_chat_id=row["origin_chat_id"],
        language=row["language"],
        body=row["body"],
        variants=json.loads(row["variants"]),
        buttons=tuple((b[0], b[1], b[2] if len(b) > 2 else "") for b in json.loads(row["buttons"])),
        audience=row["audience"],
        scope=None if scope is None else frozenset(json.loads(scope)),
        urgent=bool(row["urgent"]),
        paid=bool(row["paid"]),
        status=BroadcastStatus(row["status"]),
        send_at=from_iso(row["send_at"]),
        recipients=row["recipients"],
        progress_text=row["progress_text"] or "",
        started_at=from_iso(row["started_at"]) if row["started_at"] else None,
        finished_at=from_iso(row["finished_at"]) if row["finished_at"] else None,
        created_at=from_iso(row["created_at"]),
        queueing=row["status"] == "sending" and end is not None and (through or 0) < end,
    )


def _audience_sql(
    audience: Audience, scope: frozenset[int] | None, now: datetime
) -> tuple[str, dict[str, Any]]:
    clauses = [_ELIGIBLE]
    params: dict[str, Any] = {"now": to_iso(now)}
    if scope is not None:
        ids, found = in_list("scope", sorted(scope))
        clauses.append(f"v.id IN (SELECT volunteer_id FROM team_members WHERE team_id IN ({ids}))")
        params.update(found)
    if audience.teams:
        names, found = in_list("team", audience.teams)
        clauses.append(
            "v.id IN (SELECT tm.volunteer_id FROM team_members tm JOIN teams t"
            f" ON t.id = tm.team_id WHERE t.name IN ({names}))"
        )
        params.update(found)
    if audience.areas:
        either = []
        for index, area in enumerate(audience.areas):
            either.append(f"v.department = :area_{index} OR v.postcode LIKE :area_like_{index}")
            params[f"area_{index}"] = area
            params[f"area_like_{index}"] = f"{area}%"
        clauses.append("(" + " OR ".join(either) + ")")
    if audience.skills:
        either = []
        for index, skill in enumerate(audience.skills):
            either.append(f"(',' || v.skills || ',') LIKE :skill_{index}")
            params[f"skill_{index}"] = f"%,{skill},%"
        clauses.append("(" + " OR ".join(either) + ")")
    if audience.languages:
        codes, found = in_list("lang", audience.languages)
        clauses.append(f"v.language IN ({codes})")
        params.update(found)
    if audience.active_days is not None:
        clauses.append("v.last_active_at >= :active_since")
        params["active_since"] = to_iso(now - timedelta(days=audience.active_days))
    if audience.around is not None:
        # Squared distance on an equirectangular projection: plain, portable arithmetic,
        # accurate to a few metres over the tens of km a campaign targets.
        _code, lat, lon, km = audience.around
        clauses.append(
            "v.latitude IS NOT NULL AND ((v.latitude - :lat) * :km_lat)"
            " * ((v.latitude - :lat) * :km_lat) + ((v.longitude - :lon) * :km_lon)"
            " * ((v.longitude - :lon) * :km_lon) <= :km2"
        )
        params.update(
            lat=lat,
            lon=lon,
            km_lat=KM_PER_DEGREE,
            km_lon=KM_PER_DEGREE * math.cos(math.radians(lat)),
            km2=km * km,
        )
    return " AND ".join(clauses), params


class BroadcastRepository:
    """Writes broadcasts, counts their audiences, queues and withdraws their recipients."""

    def __init__(self, db: Backend) -> None:
        self.db = db
        self.outbox = OutboxRepository(db)

    async def count(self, audience: Audience, scope: frozenset[int] | None, now: datetime) -> int:
        """How many volunteers a broadcast to this audience would reach right now."""
        where, params = _audience_sql(audience, scope, now)
        value = await self.db.fetch_value(
            f"SELECT COUNT(DISTINCT v.id) {_SELECT} WHERE {where}", params
        )
        return int(value or 0)

    async def create(self, new: NewBroadcast, now: datetime) -> Broadcast:
        async with self.db.transaction() as tx:
            broadcast_id = await tx.insert_returning_id(
                "INSERT INTO broadcasts (created_by, origin_channel, origin_chat_id, language,"
                " body, variants, buttons, audience, scope, urgent, paid, status, send_at,"
                " created_at) VALUES (:created_by, :origin_channel, :origin_chat_id,"
                " :language, :body, :variants, :buttons, :audience, :scope, :urgent, :paid,"
                " 'scheduled', :send_at, :now)",
                {
                    "created_by": new.created_by,
                    "origin_channel": new.origin_channel,
                    "origin_chat_id": new.origin_chat_id,
                    "language": new.language,
                    "body": new.body,
                    "variants": json.dumps(dict(new.variants), ensure_ascii=False),
                    "buttons": json.dumps([list(b) for b in new.buttons], ensure_ascii=False),
                    "audience": new.audience.describe(),
                    "scope": None if new.scope is None else json.dumps(sorted(new.scope)),
                    "urgent": int(new.urgent),
                    "paid": int(new.paid),
                    "send_at": to_iso(new.send_at),
                    "now": to_iso(now),
                },
            )
        found = await self.get(broadcast_id)
        assert found is not None
        return found

    async def get(self, broadcast_id: int) -> Broadcast | None:
        row = await self.db.fetch_one(
            "SELECT * FROM broadcasts WHERE id = :id", {"id": broadcast_id}
        )
        return _broadcast(row) if row else None

    async def recent(self, limit: int = 10, author: int | None = None) -> list[Broadcast]:
        """The newest broadcasts (of one author, or everyone's), scheduled ones included."""
        mine = "" if author is None else " WHERE created_by = :author"
        rows = await self.db.fetch_all(
            f"SELECT * FROM broadcasts{mine} ORDER BY id DESC LIMIT :limit",
            {"author": author, "limit": limit},
        )
        return [_broadcast(r) for r in rows]

    async def due(self, now: datetime) -> list[Broadcast]:
        rows = await self.db.fetch_all(
            "SELECT * FROM broadcasts WHERE status = 'scheduled' AND send_at <= :now ORDER BY id",
            {"now": to_iso(now)},
        )
        return [_broadcast(r) for r in rows]

    async def running(self) -> list[Broadcast]:
        rows = await self.db.fetch_all(
            "SELECT * FROM broadcasts WHERE status = 'sending' ORDER BY id"
        )
        return [_broadcast(r) for r in rows]

    async def start(self, broadcast_id: int, now: datetime) -> bool:
        """Mark a scheduled broadcast sending, its audience fixed to the volunteers known
        now; False if it was no longer scheduled (started by another sweep, or cancelled).
        Its recipients are then queued by `queue_step`."""
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE broadcasts SET status = 'sending', started_at = :now, queued_through = 0,"
                " queue_end = (SELECT COALESCE(MAX(id), 0) FROM volunteers)"
                " WHERE id = :id AND status = 'scheduled'",
                {"now": to_iso(now), "id": broadcast_id},
            )
        return changed == 1

    async def queue_step(
        self,
        broadcast: Broadcast,
        audience: Audience,
        payloads: Mapping[str, str],
        default_payload: str,
        now: datetime,
        hold_until: Callable[[str, str], datetime | None],
    ) -> bool:
        """Queue the recipients among the next QUEUE_STEP volunteer ids, in one short
        transaction; True while more remain.

        `payloads` maps a volunteer language to its outbox payload. `hold_until(timezone,
        quiet_hours)` says until when recipients with those settings must not be disturbed
        (None: send now). A step runs again after a crash without queueing anyone twice
        (each recipient's row has its own dedupe key).
        """
        where, params = _audience_sql(audience, broadcast.scope, now)
        stamp = to_iso(now)
        async with self.db.transaction() as tx:
            # Read by an UPDATE that changes nothing: it holds the broadcast's row to the
            # end, so that on PostgreSQL a cancel from another process waits for this step
            # and then withdraws its rows too (a plain read would let the cancel pass in
            # between, and the rows queued after it would be sent).
            state = await tx.fetch_one(
                "UPDATE broadcasts SET queued_through = queued_through"
                " WHERE id = :id AND status = 'sending' RETURNING queued_through, queue_end",
                {"id": broadcast.id},
            )
            if state is None or state["queue_end"] is None:
                return False
            after = state["queued_through"] or 0
            upto = min(after + QUEUE_STEP, state["queue_end"])
            if after >= upto:
                return False
            params.update(
                after=after,
                upto=upto,
                broadcast=broadcast.id,
                dedupe_prefix=f"broadcast:{broadcast.id}:",
                default_payload=default_payload,
                priority=int(URGENT_BROADCAST if broadcast.urgent else BULK),
                paid=int(broadcast.paid),
                stamp=stamp,
            )
            in_range = f"{where} AND v.id > :after AND v.id <= :upto"
            cases = []
            for index, (language, payload) in enumerate(payloads.items()):
                cases.append(f"WHEN :lang_{index} THEN :payload_{index}")
                params[f"lang_{index}"] = language
                params[f"payload_{index}"] = payload
            payload_sql = (
                f"CASE v.language {' '.join(cases)} ELSE :default_payload END"
                if cases
                else ":default_payload"
            )
            not_before = ":stamp"
            if not broadcast.urgent:
                not_before = await self._holds(tx, in_range, params, hold_until)
            added = await self.outbox.add_selected(
                tx,
                "SELECT 'broadcast', :broadcast, :dedupe_prefix || v.id,"
                f" v.id, i.channel, i.chat_id, {payload_sql}, :priority, :paid, {not_before},"
                f" :stamp {_SELECT} WHERE {in_range}"
                " ORDER BY v.id, i.preferred DESC, i.created_at",
                params,
            )
            await tx.execute(
                "UPDATE broadcasts SET queued_through = :upto, recipients = recipients + :added"
                " WHERE id = :id",
                {"upto": upto, "added": added, "id": broadcast.id},
            )
            return bool(upto < state["queue_end"])

    @staticmethod
    async def _holds(
        tx: Tx,
        in_range: str,
        params: dict[str, Any],
        hold_until: Callable[[str, str], datetime | None],
    ) -> str:
        """The SQL of each recipient's first moment (now, or the end of their quiet hours),
        from the few time zone and quiet hours pairs among this step's volunteers."""
        pairs = await tx.fetch_all(
            "SELECT DISTINCT COALESCE(v.timezone, '') AS tz,"
            f" COALESCE(v.quiet_hours, :no_quiet) AS qh {_SELECT} WHERE {in_range}",
            {**params, "no_quiet": NO_QUIET_HOURS},
        )
        cases = []
        for index, pair in enumerate(pairs):
            hold = hold_until(pair["tz"], pair["qh"])
            if hold is None:
                continue
            cases.append(
                f"WHEN COALESCE(v.timezone, '') = :tz_{index}"
                f" AND COALESCE(v.quiet_hours, :no_quiet) = :qh_{index} THEN :hold_{index}"
            )
            params.update(
                {
                    f"tz_{index}": pair["tz"],
                    f"qh_{index}": pair["qh"],
                    f"hold_{index}": to_iso(hold),
                }
            )
        if not cases:
            return ":stamp"
        params["no_quiet"] = NO_QUIET_HOURS
        return f"CASE {' '.join(cases)} ELSE :stamp END"

    async def counts(self, broadcast_id: int) -> dict[str, int]:
        """Outbox rows of one broadcast by status."""
        return await self.outbox.counts("broadcast", broadcast_id)

    async def last_not_before(self, broadcast_id: int) -> datetime | None:
        """When the last recipient held by quiet hours may be sent to, if any waits."""
        held = await self.outbox.last_not_before("broadcast", broadcast_id)
        return from_iso(held) if held else None

    async def set_progress(self, broadcast_id: int, text: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE broadcasts SET progress_text = :text WHERE id = :id",
                {"text": text, "id": broadcast_id},
            )

    async def finish(self, broadcast_id: int, now: datetime) -> bool:
        """Mark a sending broadcast done; False if it was not sending any more."""
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE broadcasts SET status = 'done', finished_at = :now"
                " WHERE id = :id AND status = 'sending'",
                {"now": to_iso(now), "id": broadcast_id},
            )
        return changed == 1

    async def cancel(self, broadcast_id: int, now: datetime) -> int | None:
        """Stop a scheduled or running broadcast: withdraw what is not sent yet.

        Returns how many messages were withdrawn, or None if it had already ended.
        """
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE broadcasts SET status = 'cancelled', finished_at = :now"
                " WHERE id = :id AND status IN ('scheduled', 'sending')",
                {"now": to_iso(now), "id": broadcast_id},
            )
            if changed != 1:
                return None
            return await self.outbox.cancel(
                "broadcast", broadcast_id, reason="broadcast cancelled", tx=tx
            )

    async def teams(self, scope: frozenset[int] | None) -> list[tuple[int, str]]:
        """Teams an author may address, by name."""
        if scope is None:
            rows = await self.db.fetch_all("SELECT id, name FROM teams ORDER BY name")
        else:
            ids, params = in_list("team", sorted(scope))
            rows = await self.db.fetch_all(
                f"SELECT id, name FROM teams WHERE id IN ({ids}) ORDER BY name", params
            )
        return [(row["id"], row["name"]) for row in rows]

    async def areas(self, scope: frozenset[int] | None) -> list[str]:
        """Départements where the volunteers an author may address live, most first."""
        where = "v.department IS NOT NULL AND v.status != 'erased'"
        params: dict[str, Any] = {}
        if scope is not None:
            ids, params = in_list("team", sorted(scope))
            where += (
                f" AND v.id IN (SELECT volunteer_id FROM team_members WHERE team_id IN ({ids}))"
            )
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
        placeholders, params = in_list("name", names)
        rows = await self.db.fetch_all(
            f"SELECT id, name FROM teams WHERE name IN ({placeholders})", params
        )
        found = {row["name"].casefold(): row["id"] for row in rows}
        return {name: found[name.casefold()] for name in names if name.casefold() in found}


async def export_broadcasts(db: Backend, volunteer_id: int) -> list[dict[str, Any]]:
    """The broadcasts a volunteer wrote, for /mydata."""
    rows = await db.fetch_all(
        "SELECT id, language, body, variants, buttons, audience, status, send_at, recipients,"
        " origin_channel, origin_chat_id, created_at FROM broadcasts WHERE created_by = :id"
        " ORDER BY id",
        {"id": volunteer_id},
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
    await tx.execute(
        "UPDATE broadcasts SET origin_channel = '', origin_chat_id = '',"
        " progress_message_id = NULL WHERE created_by = :id",
        {"id": volunteer_id},
    )


register_personal_data("broadcasts", export_broadcasts, erase_broadcasts)
