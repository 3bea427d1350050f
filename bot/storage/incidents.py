"""Incidents: posts reported by volunteers (incidents, incident_reports) and each one's
timeline (incident_events)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median
from typing import Any

from bot.clock import from_iso, to_iso
from bot.domain.incidents import (
    Event,
    EventKind,
    Incident,
    IncidentStatus,
    Recipient,
    Reported,
    ResponseTimes,
)
from bot.storage.backend import Backend, Row, Tx, in_list
from bot.storage.pages import recipients


def moment(value: str | None) -> datetime | None:
    """A stored moment, or None when there is none."""
    return from_iso(value) if value else None


def incident_of(row: Row) -> Incident:
    return Incident(
        id=row["id"],
        link_key=row["link_key"],
        url=row["url"] or "",
        summary=row["summary"],
        status=IncidentStatus(row["status"]),
        reports=row["reports"],
        opened_by=row["opened_by"],
        first_seen_at=from_iso(row["first_seen_at"]),
        last_seen_at=from_iso(row["last_seen_at"]),
        ring=row["ring"],
        next_ring_at=moment(row["next_ring_at"]),
        first_paged_at=moment(row["first_paged_at"]),
        taken_by=row["taken_by"],
        taken_by_name=row["taken_by_name"] or "",
        acked_at=moment(row["acked_at"]),
        closed_at=moment(row["closed_at"]),
    )


def _reported_by_teams(teams: frozenset[int]) -> tuple[str, dict[str, Any]]:
    """An incident reported by at least one member of these teams (organizers' reads)."""
    names, params = in_list("team", sorted(teams))
    return (
        "SELECT 1 FROM incident_reports r JOIN team_members m ON m.volunteer_id = r.volunteer_id"
        f" WHERE r.incident_id = incidents.id AND m.team_id IN ({names})",
        params,
    )


class IncidentRepository:
    """Reads and writes incidents, their reports and their timeline."""

    def __init__(self, db: Backend) -> None:
        self.db = db

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
        async with self.db.transaction() as tx:
            incident_id = await tx.fetch_value(
                "SELECT id FROM incidents WHERE link_key = :key AND first_seen_at >= :since"
                " ORDER BY id DESC LIMIT 1",
                {"key": link_key, "since": to_iso(now - merge_window)},
            )
            if incident_id is not None:
                mine = {"incident": incident_id, "volunteer": volunteer_id}
                earlier = await tx.fetch_one(
                    "SELECT comment FROM incident_reports WHERE incident_id = :incident"
                    " AND volunteer_id = :volunteer",
                    mine,
                )
                if earlier is None:
                    await tx.execute(
                        "INSERT INTO incident_reports (incident_id, volunteer_id, comment,"
                        " reported_at) VALUES (:incident, :volunteer, :comment, :at)",
                        {**mine, "comment": comment, "at": at},
                    )
                    await tx.execute(
                        "UPDATE incidents SET reports = reports + 1, last_seen_at = :at"
                        " WHERE id = :incident",
                        {"at": at, "incident": incident_id},
                    )
                elif comment:
                    await tx.execute(
                        "UPDATE incident_reports SET comment = :comment"
                        " WHERE incident_id = :incident AND volunteer_id = :volunteer",
                        {**mine, "comment": f"{earlier['comment']}\n{comment}".strip()[:1000]},
                    )
                opened, again = False, earlier is not None
            else:
                count = await tx.fetch_value(
                    "SELECT COUNT(*) FROM incidents WHERE opened_by = :volunteer"
                    " AND first_seen_at > :since",
                    {"volunteer": volunteer_id, "since": to_iso(now - timedelta(hours=1))},
                )
                if count >= max_opened_per_hour:
                    return Reported(None, limited=True)
                incident_id = await tx.insert_returning_id(
                    "INSERT INTO incidents (link_key, url, summary, reports, opened_by,"
                    " first_seen_at, last_seen_at, next_ring_at)"
                    " VALUES (:key, :url, :summary, 1, :volunteer, :at, :at, :at)",
                    {
                        "key": link_key,
                        "url": url or None,
                        "summary": summary,
                        "volunteer": volunteer_id,
                        "at": at,
                    },
                )
                await tx.execute(
                    "INSERT INTO incident_reports (incident_id, volunteer_id, comment,"
                    " reported_at) VALUES (:incident, :volunteer, :comment, :at)",
                    {
                        "incident": incident_id,
                        "volunteer": volunteer_id,
                        "comment": comment,
                        "at": at,
                    },
                )
                await _event(tx, incident_id, EventKind.OPENED, at)
                opened, again = True, False
            row = await tx.fetch_one("SELECT * FROM incidents WHERE id = :id", {"id": incident_id})
        return Reported(incident_of(row), opened=opened, again=again)

    async def get(self, incident_id: int) -> Incident | None:
        row = await self.db.fetch_one("SELECT * FROM incidents WHERE id = :id", {"id": incident_id})
        return incident_of(row) if row else None

    async def recent(self, limit: int = 10, teams: frozenset[int] | None = None) -> list[Incident]:
        """The latest incidents; with `teams`, only those a member of these teams reported."""
        sql, params = "SELECT * FROM incidents", {"limit": limit}
        if teams is not None:
            reported, team_params = _reported_by_teams(teams)
            sql += f" WHERE EXISTS ({reported})"
            params.update(team_params)
        rows = await self.db.fetch_all(sql + " ORDER BY id DESC LIMIT :limit", params)
        return [incident_of(r) for r in rows]

    async def reported_by_teams(self, incident_id: int, teams: frozenset[int]) -> bool:
        """Whether a member of one of these teams reported the incident."""
        reported, params = _reported_by_teams(teams)
        return bool(
            await self.db.fetch_value(
                f"SELECT EXISTS ({reported}) FROM incidents WHERE id = :id",
                {**params, "id": incident_id},
            )
        )

    async def comments(
        self, incident_id: int, limit: int = 5, teams: frozenset[int] | None = None
    ) -> list[str]:
        """Reporters' comments, oldest first (no names: the page needs what, not who); with
        `teams`, only those of these teams' members."""
        sql = (
            "SELECT r.comment FROM incident_reports r WHERE r.incident_id = :incident"
            " AND r.comment != ''"
        )
        params: dict[str, Any] = {"incident": incident_id, "limit": limit}
        if teams is not None:
            names, team_params = in_list("team", sorted(teams))
            sql += (
                " AND r.volunteer_id IN (SELECT volunteer_id FROM team_members"
                f" WHERE team_id IN ({names}))"
            )
            params.update(team_params)
        rows = await self.db.fetch_all(sql + " ORDER BY r.reported_at LIMIT :limit", params)
        return [r["comment"] for r in rows]

    async def set_notify(self, incident_id: int, volunteer_id: int) -> bool:
        """The reporter wants to hear when it is handled; False if they did not report it."""
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE incident_reports SET notify = 1 WHERE incident_id = :incident"
                " AND volunteer_id = :volunteer",
                {"incident": incident_id, "volunteer": volunteer_id},
            )
        return changed > 0

    async def to_notify(self, incident_id: int) -> list[Recipient]:
        """Reporters who asked to hear the outcome and can still be messaged."""
        rows = await self.db.fetch_all(
            "SELECT v.id, v.first_name, v.language, i.channel, i.chat_id FROM incident_reports r"
            " JOIN volunteers v ON v.id = r.volunteer_id"
            " JOIN identities i ON i.volunteer_id = v.id AND i.unreachable_at IS NULL"
            " WHERE r.incident_id = :incident AND r.notify = 1"
            " AND v.status NOT IN ('stopped', 'erased')"
            " ORDER BY v.id, i.preferred DESC, i.created_at",
            {"incident": incident_id},
        )
        return recipients(rows)

    async def due(self, now: datetime) -> list[Incident]:
        """New incidents whose next ring is due."""
        rows = await self.db.fetch_all(
            "SELECT * FROM incidents WHERE status = 'new' AND next_ring_at IS NOT NULL"
            " AND next_ring_at <= :now ORDER BY id",
            {"now": to_iso(now)},
        )
        return [incident_of(r) for r in rows]

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
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE incidents SET ring = :to_ring, next_ring_at = :next,"
                " first_paged_at = COALESCE(first_paged_at, :paged_at)"
                " WHERE id = :id AND ring = :from_ring",
                {
                    "to_ring": to_ring,
                    "next": to_iso(next_ring_at) if next_ring_at else None,
                    "paged_at": at if paged > 0 else None,
                    "id": incident_id,
                    "from_ring": from_ring,
                },
            )
            if changed == 0:
                return False
            await _event(tx, incident_id, EventKind.PAGED, at, ring=to_ring, count=paged)
            return True

    async def transition(
        self,
        incident_id: int,
        from_statuses: Sequence[IncidentStatus],
        to_status: IncidentStatus,
        *,
        actor_id: int | None,
        actor_name: str,
        now: datetime,
    ) -> Incident | None:
        """Move an incident to `to_status` if it is in one of `from_statuses`; the incident
        as it now stands if it moved, else None."""
        at = to_iso(now)
        statuses, params = in_list("from", [s.value for s in from_statuses])
        # The first answer of any kind (taken, dismissed, handled) ends the paging.
        sets = ["status = :to", "next_ring_at = NULL", "acked_at = COALESCE(acked_at, :at)"]
        if to_status is IncidentStatus.TAKEN:
            sets += ["taken_by = :actor", "taken_by_name = :name"]
        if to_status in (IncidentStatus.DISMISSED, IncidentStatus.HANDLED):
            sets.append("closed_at = :at")
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                f"UPDATE incidents SET {', '.join(sets)} WHERE id = :id AND status IN ({statuses})",
                {
                    **params,
                    "to": to_status.value,
                    "at": at,
                    "actor": actor_id,
                    "name": actor_name,
                    "id": incident_id,
                },
            )
            if changed == 0:
                return None
            await _event(tx, incident_id, EventKind(to_status.value), at, actor_name=actor_name)
            row = await tx.fetch_one("SELECT * FROM incidents WHERE id = :id", {"id": incident_id})
        return incident_of(row)

    async def escalate_now(self, incident_id: int, actor_name: str, now: datetime) -> bool:
        """Make the next ring due at once (an organizer asked for help)."""
        at = to_iso(now)
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE incidents SET next_ring_at = :at WHERE id = :id"
                " AND status IN ('new', 'taken') AND ring < 3",
                {"at": at, "id": incident_id},
            )
            if changed == 0:
                return False
            await _event(tx, incident_id, EventKind.ESCALATED, at, actor_name=actor_name)
            return True

    async def events(self, incident_id: int) -> list[Event]:
        rows = await self.db.fetch_all(
            "SELECT kind, ring, count, actor_name, at FROM incident_events"
            " WHERE incident_id = :incident ORDER BY id",
            {"incident": incident_id},
        )
        return [
            Event(
                EventKind(r["kind"]),
                r["ring"],
                r["count"],
                r["actor_name"] or "",
                from_iso(r["at"]),
            )
            for r in rows
        ]

    async def response_times(self, since: str, until: str) -> ResponseTimes:
        """Incidents first seen in [since, until): medians to first page and first answer."""
        rows = await self.db.fetch_all(
            "SELECT first_seen_at, first_paged_at, acked_at, ring FROM incidents"
            " WHERE first_seen_at >= :since AND first_seen_at < :until",
            {"since": since, "until": until},
        )
        to_page, to_answer = [], []
        for row in rows:
            seen = from_iso(row["first_seen_at"])
            if row["first_paged_at"]:
                to_page.append((from_iso(row["first_paged_at"]) - seen).total_seconds())
            if row["acked_at"]:
                to_answer.append((from_iso(row["acked_at"]) - seen).total_seconds())
        return ResponseTimes(
            incidents=len(rows),
            median_to_page_s=median(to_page) if to_page else None,
            median_to_answer_s=median(to_answer) if to_answer else None,
            escalated=sum(1 for r in rows if r["ring"] > 1),
        )


async def _event(
    tx: Tx,
    incident_id: int,
    kind: EventKind,
    at: str,
    *,
    ring: int | None = None,
    count: int | None = None,
    actor_name: str = "",
) -> None:
    await tx.execute(
        "INSERT INTO incident_events (incident_id, kind, ring, count, actor_name, at)"
        " VALUES (:incident, :kind, :ring, :count, :name, :at)",
        {
            "incident": incident_id,
            "kind": kind.value,
            "ring": ring,
            "count": count,
            "name": actor_name or None,
            "at": at,
        },
    )


# The audit actions that put an organizer's name on an incident's timeline.
_NAMED_ACTIONS = ("incident.taken", "incident.dismissed", "incident.handled", "incident.escalated")


@dataclass
class TheirWords:
    """What erasing a volunteer took out of incidents, for the pages that quoted it."""

    quoted: dict[int, set[str]] = field(default_factory=dict)  # incident -> their texts
    named: set[int] = field(default_factory=set)  # incidents whose pages may show their name


async def erase_from_incidents(tx: Tx, volunteer_id: int, name: str) -> TheirWords:
    """Take a volunteer out of incidents: their reports and comments, the text around a
    link they reported, their name on timelines; incidents stay, counted, without them."""
    me = {"volunteer": volunteer_id}
    words = TheirWords()
    for row in await tx.fetch_all(
        "SELECT incident_id, comment FROM incident_reports WHERE volunteer_id = :volunteer", me
    ):
        if row["comment"]:
            words.quoted.setdefault(row["incident_id"], set()).add(row["comment"])
    # What surrounded the link when they opened an incident is their words; without a
    # link, the text is the reported post itself and stays (it is the incident).
    for row in await tx.fetch_all(
        "SELECT id, summary FROM incidents WHERE opened_by = :volunteer AND url IS NOT NULL"
        " AND summary != ''",
        me,
    ):
        words.quoted.setdefault(row["id"], set()).add(row["summary"])
        await tx.execute("UPDATE incidents SET summary = '' WHERE id = :id", {"id": row["id"]})
    actions, action_params = in_list("action", _NAMED_ACTIONS)
    for row in await tx.fetch_all(
        f"SELECT action, subject FROM audit_log WHERE actor_id = :volunteer"
        f" AND action IN ({actions})",
        {**me, **action_params},
    ):
        if not str(row["subject"]).isdigit():
            continue
        incident_id = int(row["subject"])
        # Taken, dismissed and handled happen once per incident; escalations may be many.
        await tx.execute(
            "UPDATE incident_events SET actor_name = NULL WHERE incident_id = :incident"
            " AND kind = :kind AND (actor_name = :name OR kind != 'escalated')",
            {
                "incident": incident_id,
                "kind": str(row["action"]).removeprefix("incident."),
                "name": name,
            },
        )
        words.named.add(incident_id)
    for row in await tx.fetch_all("SELECT id FROM incidents WHERE taken_by = :volunteer", me):
        words.named.add(row["id"])
    await tx.execute("DELETE FROM incident_reports WHERE volunteer_id = :volunteer", me)
    await tx.execute(
        "UPDATE incidents SET taken_by = NULL, taken_by_name = NULL WHERE taken_by = :volunteer",
        me,
    )
    await tx.execute("UPDATE incidents SET opened_by = NULL WHERE opened_by = :volunteer", me)
    return words
