"""Ripostes (ripostes) and the volunteers each one calls (riposte_calls)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.clock import from_iso, to_iso
from bot.domain.incidents import Recipient
from bot.domain.ripostes import Call, CallAnswer, Riposte
from bot.storage.backend import Backend, Row, Tx, in_list
from bot.storage.pages import recipients


def _moment(value: str | None) -> datetime | None:
    return from_iso(value) if value else None


def riposte_of(row: Row) -> Riposte:
    scope = row["scope"]
    return Riposte(
        id=row["id"],
        organizer_id=row["organizer_id"],
        channel=row["channel"],
        chat_id=row["chat_id"],
        language=row["language"],
        incident_id=row["incident_id"],
        url=row["url"],
        suggested_text=row["suggested_text"],
        target=row["target"],
        scope=None if scope is None else frozenset(int(t) for t in scope.split(",") if t),
        ring=row["ring"],
        widen_at=_moment(row["widen_at"]),
        queued_ring=row["queued_ring"],
        created_at=from_iso(row["created_at"]),
        widened_at=_moment(row["widened_at"]),
    )


def call_of(row: Row) -> Call:
    return Call(
        riposte_id=row["riposte_id"],
        volunteer_id=row["volunteer_id"],
        channel=row["channel"],
        chat_id=row["chat_id"],
        language=row["language"],
        ring=row["ring"],
        called_at=from_iso(row["called_at"]),
        answer=CallAnswer(row["answer"]) if row["answer"] else None,
        answered_at=_moment(row["answered_at"]),
        done_at=_moment(row["done_at"]),
    )


class RiposteRepository:
    """Reads and writes ripostes and their calls."""

    def __init__(self, db: Backend) -> None:
        self.db = db

    async def callable_volunteers(
        self,
        now: datetime,
        *,
        scope: frozenset[int] | None,
        rapid_response: bool,
        skill: str = "",
    ) -> list[Recipient]:
        """Volunteers a riposte may call: active (or back from a pause), reachable, in scope,
        opted in to urgent calls (ring 1) or with the skill (ring 2). Never stopped."""
        sql = (
            "SELECT v.id, v.first_name, v.language, v.quiet_hours, v.timezone, i.channel,"
            " i.chat_id FROM volunteers v"
            " JOIN identities i ON i.volunteer_id = v.id AND i.unreachable_at IS NULL"
            " WHERE (v.status = 'active' OR (v.status = 'paused' AND v.paused_until IS NOT NULL"
            " AND v.paused_until <= :now))"
        )
        params: dict[str, Any] = {"now": to_iso(now)}
        if rapid_response:
            sql += " AND v.rapid_response = 1"
        if skill:
            sql += " AND (',' || v.skills || ',') LIKE :skill"
            params["skill"] = f"%,{skill},%"
        if scope is not None:
            teams, team_params = in_list("team", sorted(scope))
            sql += (
                f" AND v.id IN (SELECT volunteer_id FROM team_members WHERE team_id IN ({teams}))"
            )
            params.update(team_params)
        sql += " ORDER BY v.id, i.preferred DESC, i.created_at"
        return recipients(await self.db.fetch_all(sql, params))

    async def create(
        self,
        *,
        organizer_id: int | None,
        channel: str,
        chat_id: str,
        language: str,
        incident_id: int | None,
        url: str,
        suggested_text: str,
        target: int,
        scope: frozenset[int] | None,
        widen_at: datetime,
        callers: Sequence[Recipient],
        now: datetime,
    ) -> Riposte:
        """The riposte and its first-ring calls, written together."""
        at = to_iso(now)
        async with self.db.transaction() as tx:
            riposte_id = await tx.insert_returning_id(
                "INSERT INTO ripostes (organizer_id, channel, chat_id, language, incident_id, url,"
                " suggested_text, target, scope, widen_at, created_at)"
                " VALUES (:organizer, :channel, :chat, :language, :incident, :url, :text,"
                " :target, :scope, :widen_at, :at)",
                {
                    "organizer": organizer_id,
                    "channel": channel,
                    "chat": chat_id,
                    "language": language,
                    "incident": incident_id,
                    "url": url,
                    "text": suggested_text,
                    "target": target,
                    "scope": None if scope is None else ",".join(str(t) for t in sorted(scope)),
                    "widen_at": to_iso(widen_at),
                    "at": at,
                },
            )
            await _insert_calls(tx, riposte_id, 1, callers, at)
            row = await tx.fetch_one("SELECT * FROM ripostes WHERE id = :id", {"id": riposte_id})
        return riposte_of(row)

    async def get(self, riposte_id: int) -> Riposte | None:
        row = await self.db.fetch_one("SELECT * FROM ripostes WHERE id = :id", {"id": riposte_id})
        return riposte_of(row) if row else None

    async def recent(
        self, limit: int = 5, teams: frozenset[int] | None = None, organizer_id: int | None = None
    ) -> list[Riposte]:
        """The latest ripostes; with `teams`, only those this organizer launched or that
        called these teams' members."""
        sql, params = "SELECT * FROM ripostes", {"limit": limit}
        if teams is not None:
            names, team_params = in_list("team", sorted(teams))
            sql += (
                " WHERE organizer_id = :organizer OR EXISTS (SELECT 1 FROM riposte_calls c"
                " JOIN team_members m ON m.volunteer_id = c.volunteer_id"
                f" WHERE c.riposte_id = ripostes.id AND m.team_id IN ({names}))"
            )
            params.update(team_params)
            params["organizer"] = organizer_id if organizer_id is not None else -1
        rows = await self.db.fetch_all(sql + " ORDER BY id DESC LIMIT :limit", params)
        return [riposte_of(r) for r in rows]

    async def calls(self, riposte_id: int, ring: int | None = None) -> list[Call]:
        sql = "SELECT * FROM riposte_calls WHERE riposte_id = :riposte"
        params: dict[str, Any] = {"riposte": riposte_id}
        if ring is not None:
            sql += " AND ring = :ring"
            params["ring"] = ring
        rows = await self.db.fetch_all(sql + " ORDER BY ring, volunteer_id", params)
        return [call_of(r) for r in rows]

    async def call(self, riposte_id: int, volunteer_id: int) -> Call | None:
        row = await self.db.fetch_one(
            "SELECT * FROM riposte_calls WHERE riposte_id = :riposte AND volunteer_id = :volunteer",
            {"riposte": riposte_id, "volunteer": volunteer_id},
        )
        return call_of(row) if row else None

    async def to_queue(self) -> list[Riposte]:
        """Ripostes whose latest ring of calls is written but not yet queued."""
        rows = await self.db.fetch_all(
            "SELECT * FROM ripostes WHERE queued_ring < ring ORDER BY id"
        )
        return [riposte_of(r) for r in rows]

    async def mark_queued(self, riposte_id: int, ring: int) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE ripostes SET queued_ring = :ring WHERE id = :id AND queued_ring < :ring",
                {"ring": ring, "id": riposte_id},
            )

    async def answer(
        self, riposte_id: int, volunteer_id: int, answer: CallAnswer, now: datetime
    ) -> bool:
        """Record I'm on it / Can't now; an 'on it' is never taken back, nor counted twice."""
        condition = "answer IS NULL"
        if answer is CallAnswer.ON_IT:
            condition = "(answer IS NULL OR answer = 'cant')"
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE riposte_calls SET answer = :answer, answered_at = :at"
                f" WHERE riposte_id = :riposte AND volunteer_id = :volunteer AND {condition}",
                {
                    "answer": answer.value,
                    "at": to_iso(now),
                    "riposte": riposte_id,
                    "volunteer": volunteer_id,
                },
            )
        return changed > 0

    async def done(self, riposte_id: int, volunteer_id: int, now: datetime) -> bool:
        """Record that the volunteer did it; False if already recorded."""
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE riposte_calls SET done_at = :at, answer = 'on_it',"
                " answered_at = COALESCE(answered_at, :at)"
                " WHERE riposte_id = :riposte AND volunteer_id = :volunteer AND done_at IS NULL",
                {"at": to_iso(now), "riposte": riposte_id, "volunteer": volunteer_id},
            )
        return changed > 0

    async def due_to_widen(self, now: datetime) -> list[Riposte]:
        rows = await self.db.fetch_all(
            "SELECT * FROM ripostes WHERE widen_at IS NOT NULL AND widen_at <= :now ORDER BY id",
            {"now": to_iso(now)},
        )
        return [riposte_of(r) for r in rows]

    async def widen(
        self, riposte_id: int, callers: Sequence[Recipient], now: datetime
    ) -> Riposte | None:
        """Widen once: the second ring's calls and the new ring, written together; the
        riposte as widened, or None if it was widened (or settled) already."""
        at = to_iso(now)
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE ripostes SET ring = 2, widen_at = NULL, widened_at = :at"
                " WHERE id = :id AND widen_at IS NOT NULL AND ring = 1",
                {"at": at, "id": riposte_id},
            )
            if changed == 0:
                return None
            await _insert_calls(tx, riposte_id, 2, callers, at)
            row = await tx.fetch_one("SELECT * FROM ripostes WHERE id = :id", {"id": riposte_id})
        return riposte_of(row)

    async def no_widening(self, riposte_id: int) -> None:
        """The target was met in time: the riposte stays with the first ring."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE ripostes SET widen_at = NULL WHERE id = :id", {"id": riposte_id}
            )


async def _insert_calls(
    tx: Tx, riposte_id: int, ring: int, callers: Sequence[Recipient], at: str
) -> None:
    rows = [
        {
            "riposte": riposte_id,
            "volunteer": c.volunteer_id,
            "channel": c.channel,
            "chat": c.chat_id,
            "language": c.language,
            "ring": ring,
            "at": at,
        }
        for c in callers
        if c.volunteer_id is not None
    ]
    if rows:
        await tx.execute_many(
            "INSERT INTO riposte_calls (riposte_id, volunteer_id, channel, chat_id, language,"
            " ring, called_at) VALUES (:riposte, :volunteer, :channel, :chat, :language, :ring,"
            " :at) ON CONFLICT (riposte_id, volunteer_id) DO NOTHING",
            rows,
        )


async def erase_from_ripostes(tx: Tx, volunteer_id: int) -> None:
    """Forget a volunteer's calls; ripostes they launched stay, their board goes nowhere
    (it was their chat)."""
    params = {"volunteer": volunteer_id}
    await tx.execute("DELETE FROM riposte_calls WHERE volunteer_id = :volunteer", params)
    await tx.execute("UPDATE ripostes SET chat_id = '' WHERE organizer_id = :volunteer", params)
