"""The dashboard's tables (one-time links, sessions) and the read models its pages show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.clock import to_iso
from bot.domain.volunteers import DirectoryFilter
from bot.storage.backend import Backend, Tx, in_list
from bot.storage.personal_data import register_personal_data
from bot.storage.volunteers import Volunteer, members_where, volunteer_from_row

# Who a volunteer row shows to an organizer: the statuses of people who joined.
MEMBER_STATUSES = ("active", "paused", "stopped")


@dataclass(frozen=True, slots=True)
class LinkOwner:
    """Who a one-time link was made for."""

    channel: str
    user_id: str
    chat_id: str


@dataclass(frozen=True, slots=True)
class SessionRow:
    """A signed-in browser."""

    channel: str
    user_id: str
    chat_id: str
    volunteer_id: int | None
    csrf: str
    language: str
    expires_at: str


@dataclass(frozen=True, slots=True)
class VolunteerQuery(DirectoryFilter):
    """What the volunteers page filters on: the chat directory's filters, and a status."""

    status: str = ""


class DashboardRepository:
    """Links, sessions, and the dashboard's own reads of the campaign."""

    def __init__(self, db: Backend) -> None:
        self.db = db

    # -- one-time links ----------------------------------------------------------------------

    async def add_link(
        self, code_hash: str, owner: LinkOwner, expires: datetime, now: datetime
    ) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "DELETE FROM dashboard_links WHERE expires_at <= :now", {"now": to_iso(now)}
            )
            await tx.execute(
                "INSERT INTO dashboard_links (code_hash, channel, user_id, chat_id, expires_at,"
                " created_at) VALUES (:hash, :channel, :user_id, :chat_id, :expires, :now)",
                {
                    "hash": code_hash,
                    "channel": owner.channel,
                    "user_id": owner.user_id,
                    "chat_id": owner.chat_id,
                    "expires": to_iso(expires),
                    "now": to_iso(now),
                },
            )

    async def use_link(self, code_hash: str, now: datetime) -> LinkOwner | None:
        """The link's owner if it is still good; it is used up either way."""
        async with self.db.transaction() as tx:
            row = await tx.fetch_one(
                "SELECT channel, user_id, chat_id, expires_at FROM dashboard_links"
                " WHERE code_hash = :hash",
                {"hash": code_hash},
            )
            if row is None:
                return None
            await tx.execute(
                "DELETE FROM dashboard_links WHERE code_hash = :hash", {"hash": code_hash}
            )
            if row["expires_at"] <= to_iso(now):
                return None
            return LinkOwner(row["channel"], row["user_id"], row["chat_id"])

    # -- sessions ----------------------------------------------------------------------------

    async def add_session(
        self,
        token_hash: str,
        owner: LinkOwner,
        volunteer_id: int | None,
        csrf: str,
        language: str,
        expires: datetime,
        now: datetime,
    ) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "DELETE FROM dashboard_sessions WHERE expires_at <= :now", {"now": to_iso(now)}
            )
            await tx.execute(
                "INSERT INTO dashboard_sessions (token_hash, channel, user_id, chat_id,"
                " volunteer_id, csrf, language, created_at, expires_at) VALUES"
                " (:hash, :channel, :user_id, :chat_id, :volunteer_id, :csrf, :language,"
                " :now, :expires)",
                {
                    "hash": token_hash,
                    "channel": owner.channel,
                    "user_id": owner.user_id,
                    "chat_id": owner.chat_id,
                    "volunteer_id": volunteer_id,
                    "csrf": csrf,
                    "language": language,
                    "now": to_iso(now),
                    "expires": to_iso(expires),
                },
            )

    async def session(self, token_hash: str, now: datetime) -> SessionRow | None:
        row = await self.db.fetch_one(
            "SELECT channel, user_id, chat_id, volunteer_id, csrf, language, expires_at"
            " FROM dashboard_sessions WHERE token_hash = :hash AND expires_at > :now",
            {"hash": token_hash, "now": to_iso(now)},
        )
        if row is None:
            return None
        return SessionRow(
            row["channel"],
            row["user_id"],
            row["chat_id"],
            row["volunteer_id"],
            row["csrf"],
            row["language"],
            row["expires_at"],
        )

    async def end_session(self, token_hash: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "DELETE FROM dashboard_sessions WHERE token_hash = :hash", {"hash": token_hash}
            )

    # -- read models -------------------------------------------------------------------------

    async def volunteers(
        self, scope: frozenset[int] | None, query: VolunteerQuery, limit: int, offset: int
    ) -> tuple[int, list[Volunteer]]:
        """How many volunteers match, and one page of them, most recently active first."""
        where, params = members_where(scope, query, query.status)
        total = await self.db.fetch_value(
            f"SELECT COUNT(*) FROM volunteers v WHERE {where}", params
        )
        rows = await self.db.fetch_all(
            f"SELECT v.* FROM volunteers v WHERE {where}"
            " ORDER BY v.last_active_at DESC, v.id LIMIT :limit OFFSET :offset",
            {**params, "limit": limit, "offset": offset},
        )
        return int(total or 0), [volunteer_from_row(r) for r in rows]

    async def by_department(
        self, scope: frozenset[int] | None, query: VolunteerQuery
    ) -> dict[str, int]:
        """Volunteers per département code, within scope and filters."""
        where, params = members_where(scope, query, query.status)
        rows = await self.db.fetch_all(
            f"SELECT v.department AS k, COUNT(*) AS n FROM volunteers v WHERE {where}"
            " AND v.department IS NOT NULL GROUP BY v.department",
            params,
        )
        return {r["k"]: int(r["n"]) for r in rows}

    async def teams(self, scope: frozenset[int] | None) -> list[tuple[int, str]]:
        """The teams an organizer may pick, by name."""
        if scope is None:
            rows = await self.db.fetch_all("SELECT id, name FROM teams ORDER BY name")
        else:
            marks, params = in_list("scope", sorted(scope))
            rows = await self.db.fetch_all(
                f"SELECT id, name FROM teams WHERE id IN ({marks}) ORDER BY name", params
            )
        return [(int(r["id"]), r["name"]) for r in rows]


async def _export_sessions(db: Backend, volunteer_id: int) -> Any:
    rows = await db.fetch_all(
        "SELECT channel, created_at, expires_at FROM dashboard_sessions WHERE volunteer_id = :id",
        {"id": volunteer_id},
    )
    return [dict(zip(r.keys(), tuple(r), strict=True)) for r in rows]


async def _erase_sessions(tx: Tx, volunteer_id: int, now: datetime) -> None:
    """Erasure signs the person out everywhere and voids their links."""
    await tx.execute(
        "DELETE FROM dashboard_links WHERE EXISTS (SELECT 1 FROM identities i"
        " WHERE i.volunteer_id = :id AND i.channel = dashboard_links.channel"
        " AND i.user_id = dashboard_links.user_id)",
        {"id": volunteer_id},
    )
    await tx.execute(
        "DELETE FROM dashboard_sessions WHERE volunteer_id = :id", {"id": volunteer_id}
    )


register_personal_data("dashboard", _export_sessions, _erase_sessions)
