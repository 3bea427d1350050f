"""Rapid response storage: incidents and their reports, pages and timeline; the duty roster;
ripostes and their calls; the comms role."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import aiosqlite

from bot.clock import to_iso
from bot.messaging import Outbound
from bot.storage.backend import Tx
from bot.storage.db import Database, legacy_connection, placeholders
from bot.storage.outbox import PAGE
from bot.storage.personal_data import register_personal_data
from bot.text import clean_name, esc

INCIDENT_OPEN = ("new", "taken")


@dataclass(frozen=True, slots=True)
class Incident:
    """One post under attack, however many people reported it."""

    id: int
    link_key: str
    url: str
    summary: str
    status: str
    reports: int
    opened_by: int | None
    first_seen_at: str
    last_seen_at: str
    ring: int
    next_ring_at: str
    first_paged_at: str
    taken_by: int | None
    taken_by_name: str
    acked_at: str
    closed_at: str

    @classmethod
    def from_row(cls, row: aiosqlite.Row) -> Incident:
        return cls(
            id=row["id"],
            link_key=row["link_key"],
            url=row["url"] or "",
            summary=row["summary"],
            status=row["status"],
            reports=row["reports"],
            opened_by=row["opened_by"],
            first_seen_at=row["first_seen_at"],
            last_seen_at=row["last_seen_at"],
            ring=row["ring"],
            next_ring_at=row["next_ring_at"] or "",
            first_paged_at=row["first_paged_at"] or "",
            taken_by=row["taken_by"],
            taken_by_name=row["taken_by_name"] or "",
            acked_at=row["acked_at"] or "",
            closed_at=row["closed_at"] or "",
        )


@dataclass(frozen=True, slots=True)
class Reported:
    """What a report did: opened an incident, joined one, or was held back."""

    incident: Incident | None
    opened: bool = False
    again: bool = False  # this volunteer had already reported this post
    limited: bool = False  # too many incidents opened in the last hour


@dataclass(frozen=True, slots=True)
class Recipient:
    """Someone to message: an identity, with the volunteer behind it when there is one."""

    channel: str
    chat_id: str
    volunteer_id: int | None
    language: str
    first_name: str = ""
    quiet_hours: str | None = ""
    timezone: str = ""


@dataclass(frozen=True, slots=True)
class Page:
    """One person paged about an incident."""

    channel: str
    chat_id: str
    ring: int
    volunteer_id: int | None
    language: str
    paged_at: str


@dataclass(frozen=True, slots=True)
class Event:
    """One line of an incident's timeline."""

    kind: str
    ring: int | None
    count: int | None
    actor_name: str
    at: str


@dataclass(frozen=True, slots=True)
class DutyState:
    """A hand-set duty switch: 'on' (until `until`, or until switched off) or 'off'."""

    volunteer_id: int
    state: str
    until: str


@dataclass(frozen=True, slots=True)
class DutySlot:
    """A weekly duty slot, in the campaign's time zone."""

    volunteer_id: int
    weekday: int
    start_minute: int
    end_minute: int


@dataclass(frozen=True, slots=True)
class Riposte:
    """An urgent micro-task sent to the rapid-response ring."""

    id: int
    organizer_id: int | None
    channel: str
    chat_id: str
    language: str
    incident_id: int | None
    url: str
    suggested_text: str
    target: int
    scope: frozenset[int] | None
    ring: int
    widen_at: str
    queued_ring: int
    created_at: str
    widened_at: str

    @classmethod
    def from_row(cls, row: aiosqlite.Row) -> Riposte:
        scope = row["scope"]
        return cls(
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
            widen_at=row["widen_at"] or "",
            queued_ring=row["queued_ring"],
            created_at=row["created_at"],
            widened_at=row["widened_at"] or "",
        )


@dataclass(frozen=True, slots=True)
class Call:
    """One volunteer called for a riposte, and how they answered."""

    riposte_id: int
    volunteer_id: int
    channel: str
    chat_id: str
    language: str
    ring: int
    called_at: str
    answer: str
    answered_at: str
    done_at: str


def _call(row: aiosqlite.Row) -> Call:
    return Call(
        riposte_id=row["riposte_id"],
        volunteer_id=row["volunteer_id"],
        channel=row["channel"],
        chat_id=row["chat_id"],
        language=row["language"],
        ring=row["ring"],
        called_at=row["called_at"],
        answer=row["answer"] or "",
        answered_at=row["answered_at"] or "",
        done_at=row["done_at"] or "",
    )


class AlertRepository:
    """Reads and writes everything rapid response keeps."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- incidents ----------------------------------------------------------------------

    async def report(
        self,
        *,
        link_key: str,
        url: str,
        summary: str,
        volunteer_id: int,
        comment: str,
        now: datetime,
        merge_window: timedelta,
        max_opened_per_hour: int,
    ) -> Reported:
        """Add a report to the open incident for this post, or open one (within limits)."""
        at = to_iso(now)
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "SELECT id FROM incidents WHERE link_key = ? AND first_seen_at >= ?"
                " ORDER BY id DESC LIMIT 1",
                (link_key, to_iso(now - merge_window)),
            )
            row = await cursor.fetchone()
            if row is not None:
                incident_id = int(row["id"])
                cursor = await tx.execute(
                    "SELECT comment FROM incident_reports WHERE incident_id = ?"
                    " AND volunteer_id = ?",
                    (incident_id, volunteer_id),
                )
                earlier = await cursor.fetchone()
                if earlier is None:
                    await tx.execute(
                        "INSERT INTO incident_reports (incident_id, volunteer_id, comment,"
                        " reported_at) VALUES (?, ?, ?, ?)",
                        (incident_id, volunteer_id, comment, at),
                    )
                    await tx.execute(
                        "UPDATE incidents SET reports = reports + 1, last_seen_at = ? WHERE id = ?",
                        (at, incident_id),
                    )
                elif comment:
                    joined = f"{earlier['comment']}\n{comment}".strip()[:1000]
                    await tx.execute(
                        "UPDATE incident_reports SET comment = ? WHERE incident_id = ?"
                        " AND volunteer_id = ?",
                        (joined, incident_id, volunteer_id),
                    )
                opened, again = False, earlier is not None
            else:
                cursor = await tx.execute(
                    "SELECT COUNT(*) FROM incidents WHERE opened_by = ? AND first_seen_at > ?",
                    (volunteer_id, to_iso(now - timedelta(hours=1))),
                )
                count = await cursor.fetchone()
                if count is not None and count[0] >= max_opened_per_hour:
                    return Reported(None, limited=True)
                cursor = await tx.execute(
                    "INSERT INTO incidents (link_key, url, summary, reports, opened_by,"
                    " first_seen_at, last_seen_at, next_ring_at) VALUES (?, ?, ?, 1, ?, ?, ?, ?)"
                    " RETURNING id",
                    (link_key, url or None, summary, volunteer_id, at, at, at),
                )
                new = await cursor.fetchone()
                assert new is not None
                incident_id = int(new["id"])
                await tx.execute(
                    "INSERT INTO incident_reports (incident_id, volunteer_id, comment,"
                    " reported_at) VALUES (?, ?, ?, ?)",
                    (incident_id, volunteer_id, comment, at),
                )
                await _event(tx, incident_id, "opened", at)
                opened, again = True, False
        return Reported(await self.incident(incident_id), opened=opened, again=again)

    async def incident(self, incident_id: int) -> Incident | None:
        row = await self.db.fetch_one("SELECT * FROM incidents WHERE id = ?", (incident_id,))
        return Incident.from_row(row) if row else None

    async def recent_incidents(
        self, limit: int = 10, teams: frozenset[int] | None = None
    ) -> list[Incident]:
        """The latest incidents; with `teams`, only those a member of these teams reported."""
        sql, params = "SELECT * FROM incidents", []
        if teams is not None:
            sql += f" WHERE EXISTS ({_REPORTED_BY_TEAMS.format(teams=placeholders(teams))})"
            params = sorted(teams)
        rows = await self.db.fetch_all(sql + " ORDER BY id DESC LIMIT ?", (*params, limit))
        return [Incident.from_row(r) for r in rows]

    async def reported_by_teams(self, incident_id: int, teams: frozenset[int]) -> bool:
        """Whether a member of one of these teams reported the incident."""
        sql = _REPORTED_BY_TEAMS.format(teams=placeholders(teams))
        return bool(
            await self.db.fetch_value(
                f"SELECT EXISTS ({sql}) FROM incidents WHERE id = ?", (*sorted(teams), incident_id)
            )
        )

    async def comments(
        self, incident_id: int, limit: int = 5, teams: frozenset[int] | None = None
    ) -> list[str]:
        """Reporters' comments, oldest first (no names: the page needs what, not who); with
        `teams`, only those of these teams' members."""
        sql = "SELECT r.comment FROM incident_reports r WHERE r.incident_id = ? AND r.comment != ''"
        params: list[object] = [incident_id]
        if teams is not None:
            sql += (
                " AND r.volunteer_id IN (SELECT volunteer_id FROM team_members"
                f" WHERE team_id IN ({placeholders(teams)}))"
            )
            params += sorted(teams)
        rows = await self.db.fetch_all(sql + " ORDER BY r.reported_at LIMIT ?", (*params, limit))
        return [r["comment"] for r in rows]

    async def set_notify(self, incident_id: int, volunteer_id: int) -> bool:
        """The reporter wants to hear when it is handled; False if they did not report it."""
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "UPDATE incident_reports SET notify = 1 WHERE incident_id = ? AND volunteer_id = ?",
                (incident_id, volunteer_id),
            )
            return cursor.rowcount > 0

    async def to_notify(self, incident_id: int) -> list[Recipient]:
        """Reporters who asked to hear the outcome and can still be messaged."""
        rows = await self.db.fetch_all(
            "SELECT v.id, v.first_name, v.language, i.channel, i.chat_id FROM incident_reports r"
            " JOIN volunteers v ON v.id = r.volunteer_id"
            " JOIN identities i ON i.volunteer_id = v.id AND i.unreachable_at IS NULL"
            " WHERE r.incident_id = ? AND r.notify = 1 AND v.status NOT IN ('stopped', 'erased')"
            " ORDER BY v.id, i.preferred DESC, i.created_at",
            (incident_id,),
        )
        return _first_per_volunteer(rows)

    async def due_incidents(self, now: datetime) -> list[Incident]:
        """New incidents whose next ring is due."""
        rows = await self.db.fetch_all(
            "SELECT * FROM incidents WHERE status = 'new' AND next_ring_at IS NOT NULL"
            " AND next_ring_at <= ? ORDER BY id",
            (to_iso(now),),
        )
        return [Incident.from_row(r) for r in rows]

    async def pages(self, incident_id: int) -> list[Page]:
        rows = await self.db.fetch_all(
            "SELECT * FROM incident_pages WHERE incident_id = ? ORDER BY ring, paged_at",
            (incident_id,),
        )
        return [
            Page(
                r["channel"],
                r["chat_id"],
                r["ring"],
                r["volunteer_id"],
                r["language"],
                r["paged_at"],
            )
            for r in rows
        ]

    async def add_pages(
        self, incident_id: int, ring: int, recipients: Iterable[Recipient], now: datetime
    ) -> None:
        """Remember who this ring pages (someone paged in an earlier ring keeps that ring)."""
        rows = [
            (incident_id, r.channel, r.chat_id, ring, r.volunteer_id, r.language, to_iso(now))
            for r in recipients
        ]
        if not rows:
            return
        async with self.db.raw_transaction() as tx:
            await tx.executemany(
                "INSERT INTO incident_pages (incident_id, channel, chat_id, ring, volunteer_id,"
                " language, paged_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (incident_id, channel, chat_id) DO NOTHING",
                rows,
            )

    async def advance(
        self,
        incident_id: int,
        from_ring: int,
        to_ring: int,
        paged: int,
        next_ring_at: datetime | None,
        now: datetime,
    ) -> bool:
        """Record that `to_ring` was paged; False if someone else already moved the ladder."""
        at = to_iso(now)
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "UPDATE incidents SET ring = ?, next_ring_at = ?,"
                " first_paged_at = COALESCE(first_paged_at, CASE WHEN ? > 0 THEN ? END)"
                " WHERE id = ? AND ring = ?",
                (
                    to_ring,
                    to_iso(next_ring_at) if next_ring_at else None,
                    paged,
                    at,
                    incident_id,
                    from_ring,
                ),
            )
            if cursor.rowcount == 0:
                return False
            await _event(tx, incident_id, "paged", at, ring=to_ring, count=paged)
            return True

    async def stop_ladder(self, incident_id: int) -> None:
        """No ring left to page."""
        async with self.db.raw_transaction() as tx:
            await tx.execute(
                "UPDATE incidents SET next_ring_at = NULL WHERE id = ?", (incident_id,)
            )

    async def transition(
        self,
        incident_id: int,
        from_statuses: Sequence[str],
        to_status: str,
        *,
        actor_id: int | None,
        actor_name: str,
        now: datetime,
    ) -> bool:
        """Move an incident to `to_status` if it is in one of `from_statuses`."""
        at = to_iso(now)
        taken = to_status == "taken"
        async with self.db.raw_transaction() as tx:
            # The first answer of any kind (taken, dismissed, handled) ends the paging.
            cursor = await tx.execute(
                "UPDATE incidents SET status = ?, next_ring_at = NULL,"
                " acked_at = COALESCE(acked_at, ?),"
                " taken_by = CASE WHEN ? THEN ? ELSE taken_by END,"
                " taken_by_name = CASE WHEN ? THEN ? ELSE taken_by_name END,"
                " closed_at = CASE WHEN ? IN ('dismissed', 'handled') THEN ? ELSE closed_at END"
                f" WHERE id = ? AND status IN ({placeholders(from_statuses)})",
                (
                    to_status,
                    at,
                    taken,
                    actor_id,
                    taken,
                    actor_name,
                    to_status,
                    at,
                    incident_id,
                    *from_statuses,
                ),
            )
            if cursor.rowcount == 0:
                return False
            await _event(tx, incident_id, to_status, at, actor_name=actor_name)
            return True

    async def escalate_now(self, incident_id: int, actor_name: str, now: datetime) -> bool:
        """Make the next ring due at once (an organizer asked for help)."""
        at = to_iso(now)
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "UPDATE incidents SET next_ring_at = ? WHERE id = ? AND status IN ('new', 'taken')"
                " AND ring < 3",
                (at, incident_id),
            )
            if cursor.rowcount == 0:
                return False
            await _event(tx, incident_id, "escalated", at, actor_name=actor_name)
            return True

    async def events(self, incident_id: int) -> list[Event]:
        rows = await self.db.fetch_all(
            "SELECT kind, ring, count, actor_name, at FROM incident_events"
            " WHERE incident_id = ? ORDER BY id",
            (incident_id,),
        )
        return [
            Event(r["kind"], r["ring"], r["count"], r["actor_name"] or "", r["at"]) for r in rows
        ]

    # -- people -------------------------------------------------------------------------

    async def reachable(self, volunteer_ids: Iterable[int]) -> list[Recipient]:
        """The preferred reachable identity of each volunteer not stopped or erased."""
        ids = sorted(set(volunteer_ids))
        if not ids:
            return []
        rows = await self.db.fetch_all(
            "SELECT v.id, v.first_name, v.language, i.channel, i.chat_id FROM volunteers v"
            " JOIN identities i ON i.volunteer_id = v.id AND i.unreachable_at IS NULL"
            f" WHERE v.id IN ({placeholders(ids)}) AND v.status NOT IN ('stopped', 'erased')"
            " ORDER BY v.id, i.preferred DESC, i.created_at",
            ids,
        )
        return _first_per_volunteer(rows)

    async def role_holders(self, role: str) -> list[int]:
        rows = await self.db.fetch_all(
            "SELECT DISTINCT volunteer_id FROM roles WHERE role = ? ORDER BY volunteer_id",
            (role,),
        )
        return [r["volunteer_id"] for r in rows]

    async def grant(
        self, volunteer_id: int, role: str, granted_by: int | None, now: datetime
    ) -> bool:
        """Give an everywhere role (comms, admin); False if they already had it."""
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "INSERT INTO roles (volunteer_id, role, team_id, granted_by, granted_at)"
                " VALUES (?, ?, NULL, ?, ?) ON CONFLICT DO NOTHING",
                (volunteer_id, role, granted_by, to_iso(now)),
            )
            return cursor.rowcount > 0

    async def revoke(self, volunteer_id: int, role: str) -> bool:
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "DELETE FROM roles WHERE volunteer_id = ? AND role = ? AND team_id IS NULL",
                (volunteer_id, role),
            )
            await tx.execute("DELETE FROM duty WHERE volunteer_id = ?", (volunteer_id,))
            await tx.execute("DELETE FROM duty_slots WHERE volunteer_id = ?", (volunteer_id,))
            return cursor.rowcount > 0

    async def names(self, volunteer_ids: Iterable[int]) -> dict[int, str]:
        ids = sorted(set(volunteer_ids))
        if not ids:
            return {}
        rows = await self.db.fetch_all(
            f"SELECT id, first_name FROM volunteers WHERE id IN ({placeholders(ids)})", ids
        )
        return {r["id"]: r["first_name"] or "" for r in rows}

    async def forget(self, volunteer_id: int, now: datetime) -> None:
        """Erasure on its own (the /forget erasure calls `erase_alerts` in its transaction)."""
        async with self.db.transaction() as tx:
            await erase_alerts(tx, volunteer_id, now)

    # -- duty ---------------------------------------------------------------------------

    async def set_duty(
        self, volunteer_id: int, state: str, until: datetime | None, now: datetime
    ) -> None:
        async with self.db.raw_transaction() as tx:
            await tx.execute(
                "INSERT INTO duty (volunteer_id, state, until, since) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (volunteer_id) DO UPDATE SET state = excluded.state,"
                " until = excluded.until, since = excluded.since",
                (volunteer_id, state, to_iso(until) if until else None, to_iso(now)),
            )

    async def clear_duty(self, volunteer_id: int) -> None:
        async with self.db.raw_transaction() as tx:
            await tx.execute("DELETE FROM duty WHERE volunteer_id = ?", (volunteer_id,))

    async def duty_states(self) -> list[DutyState]:
        rows = await self.db.fetch_all("SELECT volunteer_id, state, until FROM duty")
        return [DutyState(r["volunteer_id"], r["state"], r["until"] or "") for r in rows]

    async def duty_slots(self) -> list[DutySlot]:
        rows = await self.db.fetch_all(
            "SELECT * FROM duty_slots ORDER BY weekday, start_minute, volunteer_id"
        )
        return [
            DutySlot(r["volunteer_id"], r["weekday"], r["start_minute"], r["end_minute"])
            for r in rows
        ]

    async def add_slot(self, slot: DutySlot) -> None:
        async with self.db.raw_transaction() as tx:
            await tx.execute(
                "INSERT INTO duty_slots (volunteer_id, weekday, start_minute, end_minute)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (volunteer_id, weekday, start_minute)"
                " DO UPDATE SET end_minute = excluded.end_minute",
                (slot.volunteer_id, slot.weekday, slot.start_minute, slot.end_minute),
            )

    async def clear_slots(self, volunteer_id: int) -> int:
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "DELETE FROM duty_slots WHERE volunteer_id = ?", (volunteer_id,)
            )
            return cursor.rowcount

    # -- ripostes -----------------------------------------------------------------------

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
            " AND v.paused_until <= ?))"
        )
        params: list[object] = [to_iso(now)]
        if rapid_response:
            sql += " AND v.rapid_response = 1"
        if skill:
            sql += " AND (',' || v.skills || ',') LIKE ?"
            params.append(f"%,{skill},%")
        if scope is not None:
            teams = sorted(scope) or [-1]
            sql += (
                " AND v.id IN (SELECT volunteer_id FROM team_members"
                f" WHERE team_id IN ({placeholders(teams)}))"
            )
            params.extend(teams)
        sql += " ORDER BY v.id, i.preferred DESC, i.created_at"
        rows = await self.db.fetch_all(sql, params)
        return _first_per_volunteer(rows)

    async def create_riposte(
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
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "INSERT INTO ripostes (organizer_id, channel, chat_id, language, incident_id, url,"
                " suggested_text, target, scope, widen_at, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    organizer_id,
                    channel,
                    chat_id,
                    language,
                    incident_id,
                    url,
                    suggested_text,
                    target,
                    None if scope is None else ",".join(str(t) for t in sorted(scope)),
                    to_iso(widen_at),
                    at,
                ),
            )
            row = await cursor.fetchone()
            assert row is not None
            riposte_id = int(row["id"])
            await _insert_calls(tx, riposte_id, 1, callers, at)
        riposte = await self.riposte(riposte_id)
        assert riposte is not None
        return riposte

    async def riposte(self, riposte_id: int) -> Riposte | None:
        row = await self.db.fetch_one("SELECT * FROM ripostes WHERE id = ?", (riposte_id,))
        return Riposte.from_row(row) if row else None

    async def recent_ripostes(
        self, limit: int = 5, teams: frozenset[int] | None = None, organizer_id: int | None = None
    ) -> list[Riposte]:
        """The latest ripostes; with `teams`, only those this organizer launched or that
        called these teams' members."""
        sql, params = "SELECT * FROM ripostes", []
        if teams is not None:
            sql += (
                " WHERE organizer_id IS ? OR EXISTS (SELECT 1 FROM riposte_calls c"
                " JOIN team_members m ON m.volunteer_id = c.volunteer_id"
                f" WHERE c.riposte_id = ripostes.id AND m.team_id IN ({placeholders(teams)}))"
            )
            params = [organizer_id if organizer_id is not None else -1, *sorted(teams)]
        rows = await self.db.fetch_all(sql + " ORDER BY id DESC LIMIT ?", (*params, limit))
        return [Riposte.from_row(r) for r in rows]

    async def calls(self, riposte_id: int, ring: int | None = None) -> list[Call]:
        sql = "SELECT * FROM riposte_calls WHERE riposte_id = ?"
        params: list[object] = [riposte_id]
        if ring is not None:
            sql += " AND ring = ?"
            params.append(ring)
        rows = await self.db.fetch_all(sql + " ORDER BY ring, volunteer_id", params)
        return [_call(r) for r in rows]

    async def call(self, riposte_id: int, volunteer_id: int) -> Call | None:
        row = await self.db.fetch_one(
            "SELECT * FROM riposte_calls WHERE riposte_id = ? AND volunteer_id = ?",
            (riposte_id, volunteer_id),
        )
        return _call(row) if row else None

    async def ripostes_to_queue(self) -> list[Riposte]:
        """Ripostes whose latest ring of calls is written but not yet queued."""
        rows = await self.db.fetch_all(
            "SELECT * FROM ripostes WHERE queued_ring < ring ORDER BY id"
        )
        return [Riposte.from_row(r) for r in rows]

    async def mark_queued(self, riposte_id: int, ring: int) -> None:
        async with self.db.raw_transaction() as tx:
            await tx.execute(
                "UPDATE ripostes SET queued_ring = ? WHERE id = ? AND queued_ring < ?",
                (ring, riposte_id, ring),
            )

    async def answer(self, riposte_id: int, volunteer_id: int, answer: str, now: datetime) -> bool:
        """Record I'm on it / Can't now; an 'on it' is never taken back, nor counted twice."""
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "UPDATE riposte_calls SET answer = ?, answered_at = ?"
                " WHERE riposte_id = ? AND volunteer_id = ?"
                " AND (answer IS NULL OR (answer = 'cant' AND ? = 'on_it'))",
                (answer, to_iso(now), riposte_id, volunteer_id, answer),
            )
            return cursor.rowcount > 0

    async def done(self, riposte_id: int, volunteer_id: int, now: datetime) -> bool:
        """Record that the volunteer did it; False if already recorded."""
        at = to_iso(now)
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "UPDATE riposte_calls SET done_at = ?, answer = 'on_it',"
                " answered_at = COALESCE(answered_at, ?)"
                " WHERE riposte_id = ? AND volunteer_id = ? AND done_at IS NULL",
                (at, at, riposte_id, volunteer_id),
            )
            return cursor.rowcount > 0

    async def due_to_widen(self, now: datetime) -> list[Riposte]:
        rows = await self.db.fetch_all(
            "SELECT * FROM ripostes WHERE widen_at IS NOT NULL AND widen_at <= ? ORDER BY id",
            (to_iso(now),),
        )
        return [Riposte.from_row(r) for r in rows]

    async def widen(self, riposte_id: int, callers: Sequence[Recipient], now: datetime) -> bool:
        """Widen once: the second ring's calls and the new ring, written together."""
        at = to_iso(now)
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "UPDATE ripostes SET ring = 2, widen_at = NULL, widened_at = ?"
                " WHERE id = ? AND widen_at IS NOT NULL AND ring = 1",
                (at, riposte_id),
            )
            if cursor.rowcount == 0:
                return False
            await _insert_calls(tx, riposte_id, 2, callers, at)
            return True

    async def no_widening(self, riposte_id: int) -> None:
        """The target was met in time: the riposte stays with the first ring."""
        async with self.db.raw_transaction() as tx:
            await tx.execute("UPDATE ripostes SET widen_at = NULL WHERE id = ?", (riposte_id,))

    # -- the outbox rows rapid response edits later ---------------------------------------

    async def delivered_message(self, dedupe_key: str) -> tuple[str, str] | None:
        """(status, message id) of a queued message, e.g. a page, or None if never queued."""
        row = await self.db.fetch_one(
            "SELECT status, message_id FROM outbox WHERE dedupe_key = ?", (dedupe_key,)
        )
        return (row["status"], row["message_id"] or "") if row else None

    async def replace_pending(self, dedupe_key: str, outbound: Outbound) -> bool:
        """Change a message that has not left yet (a page nobody saw becomes 'taken by')."""
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "UPDATE outbox SET payload = ? WHERE dedupe_key = ? AND status = 'pending'",
                (outbound.to_json(), dedupe_key),
            )
            return cursor.rowcount > 0

    async def drop_pending_updates(self, kind: str, ref_id: int) -> None:
        """Withdraw updates not sent yet (a page's new count, once someone answered it)."""
        async with self.db.raw_transaction() as tx:
            await tx.execute(
                "UPDATE outbox SET status = 'cancelled' WHERE kind = ? AND ref_id = ?"
                " AND status = 'pending' AND dedupe_key IS NULL",
                (kind, ref_id),
            )

    async def show_latest(
        self,
        *,
        kind: str,
        ref_id: int,
        channel: str,
        chat_id: str,
        first_key: str,
        outbound: Outbound,
        volunteer_id: int | None,
        now: datetime,
        create: bool,
    ) -> bool:
        """Show the latest state of a message the system keeps up to date (a riposte board,
        a page whose report count grows): rewrite it while it waits, else edit the sent one.

        An update still waiting is rewritten rather than queued again, so a burst costs one
        edit and always shows the latest state. `create` sends the first message if there
        is none (or if it is in flight with no id yet); otherwise nothing is queued then.
        """
        at = to_iso(now)
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "SELECT id, status, message_id FROM outbox WHERE dedupe_key = ?", (first_key,)
            )
            first = await cursor.fetchone()
            if first is not None and first["status"] == "pending":
                await tx.execute(
                    "UPDATE outbox SET payload = ? WHERE id = ?", (outbound.to_json(), first["id"])
                )
                return True
            message_id = first["message_id"] if first is not None else None
            if not message_id and not create:
                return False
            if message_id:
                outbound = replace(outbound, edit_message_id=message_id)
            cursor = await tx.execute(
                "SELECT id FROM outbox WHERE kind = ? AND ref_id = ? AND channel = ?"
                " AND chat_id = ? AND status = 'pending' AND dedupe_key IS NULL",
                (kind, ref_id, channel, chat_id),
            )
            waiting = await cursor.fetchone()
            if waiting is not None:
                await tx.execute(
                    "UPDATE outbox SET payload = ? WHERE id = ?",
                    (outbound.to_json(), waiting["id"]),
                )
                return True
            await tx.execute(
                "INSERT INTO outbox (kind, ref_id, dedupe_key, volunteer_id, channel, chat_id,"
                " payload, priority, not_before, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    kind,
                    ref_id,
                    first_key if first is None else None,
                    volunteer_id,
                    channel,
                    chat_id,
                    outbound.to_json(),
                    PAGE,
                    at,
                    at,
                ),
            )
            return True


# An incident reported by at least one member of the given teams (for organizers' reads).
_REPORTED_BY_TEAMS = (
    "SELECT 1 FROM incident_reports r JOIN team_members m ON m.volunteer_id = r.volunteer_id"
    " WHERE r.incident_id = incidents.id AND m.team_id IN ({teams})"
)


async def _event(
    tx: aiosqlite.Connection,
    incident_id: int,
    kind: str,
    at: str,
    *,
    ring: int | None = None,
    count: int | None = None,
    actor_name: str = "",
) -> None:
    await tx.execute(
        "INSERT INTO incident_events (incident_id, kind, ring, count, actor_name, at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (incident_id, kind, ring, count, actor_name or None, at),
    )


async def _insert_calls(
    tx: aiosqlite.Connection, riposte_id: int, ring: int, callers: Sequence[Recipient], at: str
) -> None:
    await tx.executemany(
        "INSERT INTO riposte_calls (riposte_id, volunteer_id, channel, chat_id, language, ring,"
        " called_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (riposte_id, volunteer_id) DO NOTHING",
        [
            (riposte_id, c.volunteer_id, c.channel, c.chat_id, c.language, ring, at)
            for c in callers
            if c.volunteer_id is not None
        ],
    )


def _first_per_volunteer(rows: Iterable[aiosqlite.Row]) -> list[Recipient]:
    seen: set[int] = set()
    found: list[Recipient] = []
    for row in rows:
        if row["id"] in seen:
            continue
        seen.add(row["id"])
        keys = row.keys()
        found.append(
            Recipient(
                channel=row["channel"],
                chat_id=row["chat_id"],
                volunteer_id=row["id"],
                language=row["language"],
                first_name=row["first_name"] or "",
                quiet_hours=row["quiet_hours"] if "quiet_hours" in keys else "",
                timezone=(row["timezone"] or "") if "timezone" in keys else "",
            )
        )
    return found


# The audit actions that put an organizer's name on an incident's timeline.
_NAMED_ACTIONS = ("incident.taken", "incident.dismissed", "incident.handled", "incident.escalated")


async def export_alerts(db: Database, volunteer_id: int) -> dict[str, object]:
    """What rapid response keeps about a volunteer, for /mydata."""
    reports = await db.fetch_all(
        "SELECT r.incident_id, r.comment, r.reported_at, i.url,"
        " CASE WHEN i.opened_by = r.volunteer_id THEN i.summary ELSE '' END AS summary"
        " FROM incident_reports r JOIN incidents i ON i.id = r.incident_id"
        " WHERE r.volunteer_id = ? ORDER BY r.reported_at",
        (volunteer_id,),
    )
    calls = await db.fetch_all(
        "SELECT riposte_id, ring, called_at, answer, answered_at, done_at FROM riposte_calls"
        " WHERE volunteer_id = ? ORDER BY called_at",
        (volunteer_id,),
    )
    duty = await db.fetch_one(
        "SELECT state, until, since FROM duty WHERE volunteer_id = ?", (volunteer_id,)
    )
    slots = await db.fetch_all(
        "SELECT weekday, start_minute, end_minute FROM duty_slots WHERE volunteer_id = ?"
        " ORDER BY weekday, start_minute",
        (volunteer_id,),
    )
    pages = await db.fetch_all(
        "SELECT incident_id, ring, paged_at FROM incident_pages WHERE volunteer_id = ?"
        " ORDER BY paged_at",
        (volunteer_id,),
    )
    timeline = await db.fetch_all(
        "SELECT DISTINCT e.incident_id, e.kind, e.actor_name, e.at FROM incident_events e"
        " JOIN audit_log a ON a.subject = CAST(e.incident_id AS TEXT)"
        " AND a.action = 'incident.' || e.kind WHERE a.actor_id = ?"
        " AND e.actor_name IS NOT NULL ORDER BY e.id",
        (volunteer_id,),
    )
    taken = await db.fetch_all(
        "SELECT id, taken_by_name, acked_at FROM incidents WHERE taken_by = ? ORDER BY id",
        (volunteer_id,),
    )
    ripostes = await db.fetch_all(
        "SELECT id, incident_id, url, suggested_text, target, channel, chat_id, created_at"
        " FROM ripostes WHERE organizer_id = ? ORDER BY id",
        (volunteer_id,),
    )
    return {
        "alarms_raised": [
            {
                "incident": r["incident_id"],
                "link": r["url"],
                "comment": r["comment"],
                "text_around_the_link": r["summary"],
                "reported_at": r["reported_at"],
            }
            for r in reports
        ],
        "riposte_calls": [dict(r) for r in calls],
        "on_duty": dict(duty) if duty else None,
        "duty_slots": [
            {
                "weekday": r["weekday"],
                "from": f"{r['start_minute'] // 60:02d}:{r['start_minute'] % 60:02d}",
                "to": f"{r['end_minute'] // 60:02d}:{r['end_minute'] % 60:02d}",
            }
            for r in slots
        ],
        "alerts_paged_to_you": [dict(r) for r in pages],
        "incident_timelines_with_your_name": [dict(r) for r in timeline],
        "incidents_taken": [dict(r) for r in taken],
        "ripostes_launched": [dict(r) for r in ripostes],
    }


async def erase_alerts(tx: Tx, volunteer_id: int, now: datetime) -> None:
    """Remove what rapid response keeps about a volunteer (reports and their comments,
    calls, pages, duty, their name on timelines, their chat on riposte boards); incidents
    stay, counted, without them. Pages already queued or sent to the comms team quoted
    their comments and their name: those are taken out of the pages too."""
    conn = legacy_connection(tx)  # until this module moves to the Tx interface
    cursor = await conn.execute("SELECT first_name FROM volunteers WHERE id = ?", (volunteer_id,))
    row = await cursor.fetchone()
    name = clean_name(row[0] or "")[:64] if row else ""
    quoted: dict[int, set[str]] = {}  # incident -> texts of theirs quoted in its pages
    named: set[int] = set()  # incidents whose pages may show their name
    cursor = await conn.execute(
        "SELECT incident_id, comment FROM incident_reports WHERE volunteer_id = ?",
        (volunteer_id,),
    )
    for incident_id, comment in await cursor.fetchall():
        if comment:
            # Pages quote the first 200 characters, the timeline everything.
            quoted.setdefault(incident_id, set()).update({esc(comment), esc(comment[:200])})
    # What surrounded the link when they opened an incident is their words; without a
    # link, the text is the reported post itself and stays (it is the incident).
    cursor = await conn.execute(
        "SELECT id, summary FROM incidents WHERE opened_by = ? AND url IS NOT NULL"
        " AND summary != ''",
        (volunteer_id,),
    )
    for incident_id, summary in await cursor.fetchall():
        quoted.setdefault(incident_id, set()).update({esc(summary), esc(summary[:200])})
        await conn.execute("UPDATE incidents SET summary = '' WHERE id = ?", (incident_id,))
    cursor = await conn.execute(
        f"SELECT action, subject FROM audit_log WHERE actor_id = ?"
        f" AND action IN ({placeholders(_NAMED_ACTIONS)})",
        (volunteer_id, *_NAMED_ACTIONS),
    )
    for action, subject in await cursor.fetchall():
        if not str(subject).isdigit():
            continue
        kind = str(action).removeprefix("incident.")
        # Taken, dismissed and handled happen once per incident; escalations may be many.
        await conn.execute(
            "UPDATE incident_events SET actor_name = NULL WHERE incident_id = ? AND kind = ?"
            " AND (actor_name = ? OR kind != 'escalated')",
            (int(subject), kind, name),
        )
        named.add(int(subject))
    cursor = await conn.execute("SELECT id FROM incidents WHERE taken_by = ?", (volunteer_id,))
    named.update(r[0] for r in await cursor.fetchall())
    for incident_id in sorted(set(quoted) | named):
        await _scrub_pages(
            conn, incident_id, quoted.get(incident_id, set()), name if incident_id in named else ""
        )
    for table in ("incident_reports", "riposte_calls", "incident_pages", "duty", "duty_slots"):
        await conn.execute(f"DELETE FROM {table} WHERE volunteer_id = ?", (volunteer_id,))
    await conn.execute(
        "UPDATE incidents SET taken_by = NULL, taken_by_name = NULL WHERE taken_by = ?",
        (volunteer_id,),
    )
    await conn.execute("UPDATE incidents SET opened_by = NULL WHERE opened_by = ?", (volunteer_id,))
    # Their riposte boards were their chat: the riposte stays, its board goes nowhere.
    await conn.execute("UPDATE ripostes SET chat_id = '' WHERE organizer_id = ?", (volunteer_id,))


async def _scrub_pages(
    tx: aiosqlite.Connection, incident_id: int, texts: set[str], name: str
) -> None:
    """Take quoted texts and a name out of an incident's pages (queued or sent)."""
    cursor = await tx.execute(
        "SELECT id, payload FROM outbox WHERE kind = 'alert' AND ref_id = ?", (incident_id,)
    )
    pattern = re.compile(rf"(?<!\w){re.escape(esc(name))}(?!\w)") if name else None
    for row_id, payload in await cursor.fetchall():
        try:
            data = json.loads(payload)
        except ValueError:
            continue
        text = original = str(data.get("text", ""))
        for quote in sorted(texts, key=len, reverse=True):
            text = text.replace(quote, "…")
        if pattern is not None:
            text = pattern.sub("…", text)
        if text != original:
            data["text"] = text
            await tx.execute(
                "UPDATE outbox SET payload = ? WHERE id = ?",
                (json.dumps(data, ensure_ascii=False), row_id),
            )


register_personal_data("rapid_response", export_alerts, erase_alerts)


@dataclass(frozen=True, slots=True)
class ResponseTimes:
    """How fast the campaign reacted to the incidents first seen in a period."""

    incidents: int
    median_to_page_s: float | None
    median_to_answer_s: float | None
    escalated: int


async def response_times(db: Database, since: str, until: str) -> ResponseTimes:
    """Incidents first seen in [since, until): medians to first page and first answer."""
    rows = await db.fetch_all(
        "SELECT (julianday(first_paged_at) - julianday(first_seen_at)) * 86400 AS to_page,"
        " (julianday(acked_at) - julianday(first_seen_at)) * 86400 AS to_answer, ring"
        " FROM incidents WHERE first_seen_at >= ? AND first_seen_at < ?",
        (since, until),
    )

    def median(values: list[float]) -> float | None:
        values = sorted(values)
        if not values:
            return None
        middle = len(values) // 2
        return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2

    return ResponseTimes(
        incidents=len(rows),
        median_to_page_s=median([r["to_page"] for r in rows if r["to_page"] is not None]),
        median_to_answer_s=median([r["to_answer"] for r in rows if r["to_answer"] is not None]),
        escalated=sum(1 for r in rows if r["ring"] > 1),
    )
