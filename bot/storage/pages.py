"""Pages: who was paged about each incident, at which ring (incident_pages); and the reads
that say who a ring pages (role holders, their reachable chats)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bot.clock import from_iso, to_iso
from bot.domain.incidents import Page, Recipient
from bot.storage.backend import Backend, Row, Tx, in_list


def recipients(rows: Iterable[Row]) -> list[Recipient]:
    """One recipient per volunteer: the first row of each (rows come preferred first)."""
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


class PageRepository:
    """Reads and writes who was paged about an incident, and finds whom to page."""

    def __init__(self, db: Backend) -> None:
        self.db = db

    async def pages(self, incident_id: int) -> list[Page]:
        rows = await self.db.fetch_all(
            "SELECT channel, chat_id, ring, volunteer_id, language, paged_at FROM incident_pages"
            " WHERE incident_id = :incident ORDER BY ring, paged_at",
            {"incident": incident_id},
        )
        return [
            Page(
                r["channel"],
                r["chat_id"],
                r["ring"],
                r["volunteer_id"],
                r["language"],
                from_iso(r["paged_at"]),
            )
            for r in rows
        ]

    async def add_pages(
        self, incident_id: int, ring: int, people: Iterable[Recipient], now: datetime
    ) -> None:
        """Remember who this ring pages (someone paged in an earlier ring keeps that ring)."""
        at = to_iso(now)
        rows = [
            {
                "incident": incident_id,
                "channel": r.channel,
                "chat": r.chat_id,
                "ring": ring,
                "volunteer": r.volunteer_id,
                "language": r.language,
                "at": at,
            }
            for r in people
        ]
        if not rows:
            return
        async with self.db.transaction() as tx:
            await tx.execute_many(
                "INSERT INTO incident_pages (incident_id, channel, chat_id, ring, volunteer_id,"
                " language, paged_at)"
                " VALUES (:incident, :channel, :chat, :ring, :volunteer, :language, :at)"
                " ON CONFLICT (incident_id, channel, chat_id) DO NOTHING",
                rows,
            )

    # -- whom to page ---------------------------------------------------------------------

    async def reachable(self, volunteer_ids: Iterable[int]) -> list[Recipient]:
        """The preferred reachable identity of each volunteer not stopped or erased."""
        ids = sorted(set(volunteer_ids))
        if not ids:
            return []
        names, params = in_list("id", ids)
        rows = await self.db.fetch_all(
            "SELECT v.id, v.first_name, v.language, i.channel, i.chat_id FROM volunteers v"
            " JOIN identities i ON i.volunteer_id = v.id AND i.unreachable_at IS NULL"
            f" WHERE v.id IN ({names}) AND v.status NOT IN ('stopped', 'erased')"
            " ORDER BY v.id, i.preferred DESC, i.created_at",
            params,
        )
        return recipients(rows)

    async def role_holders(self, role: str) -> list[int]:
        """Volunteers holding a role anywhere (comms, admin)."""
        rows = await self.db.fetch_all(
            "SELECT DISTINCT volunteer_id FROM roles WHERE role = :role ORDER BY volunteer_id",
            {"role": role},
        )
        return [r["volunteer_id"] for r in rows]

    async def names(self, volunteer_ids: Iterable[int]) -> dict[int, str]:
        """First names of these volunteers ('' when erased)."""
        ids = sorted(set(volunteer_ids))
        if not ids:
            return {}
        names, params = in_list("id", ids)
        rows = await self.db.fetch_all(
            f"SELECT id, first_name FROM volunteers WHERE id IN ({names})", params
        )
        return {r["id"]: r["first_name"] or "" for r in rows}


async def erase_from_pages(tx: Tx, volunteer_id: int) -> None:
    """Forget that a volunteer was paged (the pages themselves are the outbox's)."""
    await tx.execute(
        "DELETE FROM incident_pages WHERE volunteer_id = :volunteer", {"volunteer": volunteer_id}
    )
