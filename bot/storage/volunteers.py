"""Volunteers, how to reach them, and their roles."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from bot.clock import Clock, from_iso, to_iso
from bot.storage.db import Database, placeholders

# The rule every feature honours before messaging someone who did not ask (task offers,
# reminders, broadcasts, digests): active, or paused with the pause over. `/stop` sets
# 'stopped', `/pause` sets 'paused'; 'onboarding' and 'erased' are never reachable.
# Embed it in SQL with the volunteers table aliased `v` and a `:now` ISO parameter.
UNSOLICITED_SQL = (
    "(v.status = 'active' OR (v.status = 'paused' AND v.paused_until IS NOT NULL"
    " AND v.paused_until <= :now))"
)
# Columns a volunteer (or the onboarding) may set; anything else is refused.
PROFILE_COLUMNS = frozenset(
    {
        "first_name",
        "language",
        "postcode",
        "department",
        "place",
        "commune",
        "latitude",
        "longitude",
        "skills",
        "availability",
        "timezone",
        "quiet_hours",
        "rapid_response",
        "leaderboard",
        "digest",
    }
)


@dataclass(frozen=True, slots=True)
class Volunteer:
    """A person who joined Relais (or is joining)."""

    id: int
    status: str
    first_name: str
    language: str
    postcode: str
    department: str
    place: str
    latitude: float | None
    longitude: float | None
    skills: frozenset[str]
    availability: frozenset[str]
    timezone: str
    quiet_hours: str | None
    rapid_response: bool
    leaderboard: bool
    digest: bool
    paused_until: str
    recruited_by: int | None
    created_at: str
    last_active_at: str
    commune: str = ""  # INSEE code of the French commune they are in, "" abroad or unknown

    @classmethod
    def from_row(cls, row: aiosqlite.Row) -> Volunteer:
        return cls(
            id=row["id"],
            status=row["status"],
            first_name=row["first_name"] or "",
            language=row["language"],
            postcode=row["postcode"] or "",
            department=row["department"] or "",
            place=row["place"] or "",
            latitude=row["latitude"],
            longitude=row["longitude"],
            skills=frozenset(filter(None, row["skills"].split(","))),
            availability=frozenset(filter(None, row["availability"].split(","))),
            timezone=row["timezone"] or "",
            quiet_hours=row["quiet_hours"],
            rapid_response=bool(row["rapid_response"]),
            leaderboard=bool(row["leaderboard"]),
            digest=bool(row["digest"]),
            paused_until=row["paused_until"] or "",
            recruited_by=row["recruited_by"],
            created_at=row["created_at"],
            last_active_at=row["last_active_at"],
            commune=row["commune"] or "",
        )

    @property
    def is_member(self) -> bool:
        """Joined (consented and finished onboarding), not erased."""
        return self.status in ("active", "paused", "stopped")

    def accepts_unsolicited(self, now: datetime) -> bool:
        """Whether Relais may message this person without being asked (see UNSOLICITED_SQL)."""
        if self.status == "active":
            return True
        return (
            self.status == "paused"
            and bool(self.paused_until)
            and from_iso(self.paused_until) <= now
        )

    @property
    def has_place(self) -> bool:
        return bool(self.postcode or self.place or self.latitude is not None)


@dataclass(frozen=True, slots=True)
class Role:
    """A role held by a volunteer; `team_id` None means everywhere."""

    role: str
    team_id: int | None


@dataclass(frozen=True, slots=True)
class Consent:
    """What a volunteer agreed to, when, and through which update."""

    id: int
    text_version: str
    text_sha256: str
    channel: str
    update_key: str
    given_at: str
    withdrawn_at: str


@dataclass(frozen=True, slots=True)
class DirectoryFilter:
    """Narrows the organizer directory; empty fields match everyone."""

    team_id: int | None = None
    department: str = ""
    skill: str = ""
    availability: str = ""


@dataclass(frozen=True, slots=True)
class Address:
    """Where to send a volunteer a message."""

    channel: str
    chat_id: str
    volunteer_id: int


class VolunteerRepository:
    """Reads and writes volunteers, identities and roles."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def by_identity(self, channel: str, user_id: str) -> Volunteer | None:
        volunteer, _ = await self.by_identity_with_reach(channel, user_id)
        return volunteer

    async def by_identity_with_reach(
        self, channel: str, user_id: str
    ) -> tuple[Volunteer | None, bool]:
        """The volunteer behind an identity, and whether that identity is marked unreachable."""
        row = await self.db.fetch_one(
            "SELECT v.*, i.unreachable_at AS identity_unreachable_at FROM volunteers v"
            " JOIN identities i ON i.volunteer_id = v.id WHERE i.channel = ? AND i.user_id = ?",
            (channel, user_id),
        )
        if row is None:
            return None, False
        return Volunteer.from_row(row), row["identity_unreachable_at"] is not None

    async def get(self, volunteer_id: int) -> Volunteer | None:
        row = await self.db.fetch_one("SELECT * FROM volunteers WHERE id = ?", (volunteer_id,))
        return Volunteer.from_row(row) if row else None

    async def create(
        self, channel: str, user_id: str, chat_id: str, language: str, first_name: str = ""
    ) -> Volunteer:
        """A new volunteer in onboarding, reachable at this identity."""
        now = to_iso(self.clock.now())
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "INSERT INTO volunteers (status, first_name, language, created_at, last_active_at)"
                " VALUES ('onboarding', ?, ?, ?, ?)",
                (first_name or None, language, now, now),
            )
            volunteer_id = cursor.lastrowid
            await tx.execute(
                "INSERT INTO identities (channel, user_id, volunteer_id, chat_id, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (channel, user_id, volunteer_id, chat_id, now),
            )
            return await _written(tx, int(volunteer_id or 0))

    async def roles(self, volunteer_id: int) -> tuple[Role, ...]:
        rows = await self.db.fetch_all(
            "SELECT role, team_id FROM roles WHERE volunteer_id = ? ORDER BY role, team_id",
            (volunteer_id,),
        )
        return tuple(Role(row["role"], row["team_id"]) for row in rows)

    async def touch(self, volunteer_id: int, moment: datetime) -> None:
        """Remember the volunteer was active (retention counts from here)."""
        async with self.db.raw_transaction() as tx:
            await tx.execute(
                "UPDATE volunteers SET last_active_at = ? WHERE id = ?",
                (to_iso(moment), volunteer_id),
            )

    async def reachable_again(self, channel: str, user_id: str) -> None:
        """A person who wrote to us can be messaged again."""
        async with self.db.raw_transaction() as tx:
            await tx.execute(
                "UPDATE identities SET unreachable_at = NULL WHERE channel = ? AND user_id = ?"
                " AND unreachable_at IS NOT NULL",
                (channel, user_id),
            )

    async def addresses(self, volunteer_id: int) -> list[Address]:
        """Reachable identities, preferred first."""
        rows = await self.db.fetch_all(
            "SELECT channel, chat_id FROM identities WHERE volunteer_id = ?"
            " AND unreachable_at IS NULL ORDER BY preferred DESC, created_at",
            (volunteer_id,),
        )
        return [Address(row["channel"], row["chat_id"], volunteer_id) for row in rows]

    async def join(
        self,
        channel: str,
        user_id: str,
        chat_id: str,
        language: str,
        consent: tuple[str, str, str],
    ) -> Volunteer:
        """A new volunteer in onboarding, with the consent they just gave (version, sha256,
        update key), in one transaction: no consent, no row."""
        version, sha256, update_key = consent
        now = to_iso(self.clock.now())
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "INSERT INTO volunteers (status, language, created_at, last_active_at)"
                " VALUES ('onboarding', ?, ?, ?)",
                (language, now, now),
            )
            volunteer_id = int(cursor.lastrowid or 0)
            await tx.execute(
                "INSERT INTO identities (channel, user_id, volunteer_id, chat_id, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (channel, user_id, volunteer_id, chat_id, now),
            )
            await tx.execute(
                "INSERT INTO consents (volunteer_id, text_version, text_sha256, channel,"
                " update_key, given_at) VALUES (?, ?, ?, ?, ?, ?)",
                (volunteer_id, version, sha256, channel, update_key or None, now),
            )
            return await _written(tx, volunteer_id)

    async def record_consent(
        self, volunteer_id: int, channel: str, consent: tuple[str, str, str]
    ) -> None:
        """A newer consent (a new text version accepted)."""
        version, sha256, update_key = consent
        async with self.db.raw_transaction() as tx:
            await tx.execute(
                "INSERT INTO consents (volunteer_id, text_version, text_sha256, channel,"
                " update_key, given_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    volunteer_id,
                    version,
                    sha256,
                    channel,
                    update_key or None,
                    to_iso(self.clock.now()),
                ),
            )

    async def consents(self, volunteer_id: int) -> list[Consent]:
        rows = await self.db.fetch_all(
            "SELECT * FROM consents WHERE volunteer_id = ? ORDER BY id", (volunteer_id,)
        )
        return [
            Consent(
                r["id"],
                r["text_version"],
                r["text_sha256"],
                r["channel"],
                r["update_key"] or "",
                r["given_at"],
                r["withdrawn_at"] or "",
            )
            for r in rows
        ]

    async def update(self, volunteer_id: int, **fields: Any) -> Volunteer:
        """Change profile columns (see PROFILE_COLUMNS); sets are stored comma-separated."""
        unknown = set(fields) - PROFILE_COLUMNS
        if unknown or not fields:
            raise ValueError(f"not profile columns: {sorted(unknown)}")
        values = [
            ",".join(sorted(v)) if isinstance(v, frozenset | set | tuple | list) else v
            for v in fields.values()
        ]
        assignments = ", ".join(f"{name} = ?" for name in fields)
        async with self.db.raw_transaction() as tx:
            await tx.execute(
                f"UPDATE volunteers SET {assignments} WHERE id = ? AND status != 'erased'",
                (*values, volunteer_id),
            )
        volunteer = await self.get(volunteer_id)
        assert volunteer is not None
        return volunteer

    async def set_status(
        self, volunteer_id: int, status: str, paused_until: datetime | None = None
    ) -> Volunteer:
        """Onboarding done, paused, resumed, stopped; never used to erase."""
        if status not in ("active", "paused", "stopped"):
            raise ValueError(status)
        async with self.db.raw_transaction() as tx:
            await tx.execute(
                "UPDATE volunteers SET status = ?, paused_until = ?"
                " WHERE id = ? AND status != 'erased'",
                (status, to_iso(paused_until) if paused_until else None, volunteer_id),
            )
        volunteer = await self.get(volunteer_id)
        assert volunteer is not None
        return volunteer

    async def credit_recruiter(self, volunteer_id: int, recruiter_id: int) -> None:
        """Remember who brought this volunteer (only the first recruiter counts)."""
        async with self.db.raw_transaction() as tx:
            await tx.execute(
                "UPDATE volunteers SET recruited_by = ? WHERE id = ? AND recruited_by IS NULL"
                " AND id != ?",
                (recruiter_id, volunteer_id, recruiter_id),
            )

    async def recruits(self, volunteer_id: int) -> int:
        """How many joined through this volunteer's personal link."""
        return int(
            await self.db.fetch_value(
                "SELECT COUNT(*) FROM volunteers WHERE recruited_by = ? AND status != 'erased'",
                (volunteer_id,),
            )
            or 0
        )

    # -- roles --------------------------------------------------------------------------

    async def grant_role(
        self, volunteer_id: int, role: str, team_id: int | None, granted_by: int | None
    ) -> bool:
        """Give a role; False if they already held it."""
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "INSERT INTO roles (volunteer_id, role, team_id, granted_by, granted_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (volunteer_id, role, team_id, granted_by, to_iso(self.clock.now())),
            )
            return cursor.rowcount == 1

    async def revoke_role(self, volunteer_id: int, role: str, team_id: int | None) -> bool:
        """Take a role away; False if they did not hold it."""
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "DELETE FROM roles WHERE volunteer_id = ? AND role = ?"
                " AND IFNULL(team_id, 0) = IFNULL(?, 0)",
                (volunteer_id, role, team_id),
            )
            return cursor.rowcount > 0

    # -- who may be messaged ------------------------------------------------------------

    async def reachable_for_unsolicited(
        self, now: datetime, volunteer_ids: Iterable[int] | None = None
    ) -> list[Address]:
        """Preferred reachable address of every volunteer who accepts messages they did not
        ask for (UNSOLICITED_SQL), optionally among `volunteer_ids`."""
        params: dict[str, Any] = {"now": to_iso(now)}
        where = UNSOLICITED_SQL
        if volunteer_ids is not None:
            ids = list(volunteer_ids)
            if not ids:
                return []
            names = [f"id{i}" for i in range(len(ids))]
            params.update(zip(names, ids, strict=True))
            where += " AND v.id IN (" + ", ".join(f":{n}" for n in names) + ")"
        rows = await self.db.fetch_all(
            "SELECT v.id, i.channel, i.chat_id FROM volunteers v JOIN identities i"
            " ON i.volunteer_id = v.id AND i.unreachable_at IS NULL"
            f" WHERE {where} ORDER BY v.id, i.preferred DESC, i.created_at",
            params,
        )
        seen: set[int] = set()
        found = []
        for row in rows:
            if row["id"] not in seen:
                seen.add(row["id"])
                found.append(Address(row["channel"], row["chat_id"], row["id"]))
        return found

    async def identities(self, volunteer_id: int) -> list[tuple[str, str, str]]:
        """(channel, user_id, chat_id) of every messenger account of a volunteer."""
        rows = await self.db.fetch_all(
            "SELECT channel, user_id, chat_id FROM identities WHERE volunteer_id = ?"
            " ORDER BY created_at",
            (volunteer_id,),
        )
        return [(r["channel"], r["user_id"], r["chat_id"]) for r in rows]

    # -- organizer directory --------------------------------------------------------------

    def _directory_where(
        self, scope: frozenset[int] | None, which: DirectoryFilter
    ) -> tuple[str, list[Any]]:
        clauses = ["v.status IN ('active', 'paused', 'stopped')"]
        params: list[Any] = []
        if scope is not None:
            if not scope:
                clauses.append("0")
            else:
                clauses.append(
                    "v.id IN (SELECT volunteer_id FROM team_members WHERE team_id IN"
                    f" ({placeholders(scope)}))"
                )
                params.extend(sorted(scope))
        if which.team_id is not None:
            clauses.append("v.id IN (SELECT volunteer_id FROM team_members WHERE team_id = ?)")
            params.append(which.team_id)
        if which.department:
            clauses.append("v.department = ?")
            params.append(which.department)
        if which.skill:
            clauses.append("(',' || v.skills || ',') LIKE ?")
            params.append(f"%,{which.skill},%")
        if which.availability:
            clauses.append("(',' || v.availability || ',') LIKE ?")
            params.append(f"%,{which.availability},%")
        return " AND ".join(clauses), params

    async def directory(
        self, scope: frozenset[int] | None, which: DirectoryFilter, limit: int = 20
    ) -> list[Volunteer]:
        """Volunteers an organizer may see (scope None: everyone), newest activity first."""
        where, params = self._directory_where(scope, which)
        rows = await self.db.fetch_all(
            f"SELECT v.* FROM volunteers v WHERE {where} AND v.status != 'stopped'"
            " ORDER BY v.last_active_at DESC, v.id LIMIT ?",
            (*params, limit),
        )
        return [Volunteer.from_row(r) for r in rows]

    async def directory_counts(
        self,
        scope: frozenset[int] | None,
        which: DirectoryFilter,
        skills: Iterable[str],
        availability: Iterable[str],
    ) -> dict[str, dict[str, int]]:
        """Counts within scope: by status, team, département, skill and availability."""
        where, params = self._directory_where(scope, which)
        counts: dict[str, dict[str, int]] = {}
        rows = await self.db.fetch_all(
            f"SELECT v.status AS k, COUNT(*) AS n FROM volunteers v WHERE {where}"
            " GROUP BY v.status",
            params,
        )
        counts["status"] = {r["k"]: r["n"] for r in rows}
        reachable = f"{where} AND v.status != 'stopped'"
        rows = await self.db.fetch_all(
            "SELECT t.name AS k, COUNT(*) AS n FROM volunteers v"
            " JOIN team_members m ON m.volunteer_id = v.id JOIN teams t ON t.id = m.team_id"
            f" WHERE {reachable}"
            + (f" AND t.id IN ({placeholders(scope)})" if scope else "")
            + " GROUP BY t.name ORDER BY n DESC, t.name LIMIT 10",
            (*params, *sorted(scope or ())),
        )
        counts["team"] = {r["k"]: r["n"] for r in rows}
        rows = await self.db.fetch_all(
            "SELECT IFNULL(v.department, '') AS k, COUNT(*) AS n FROM volunteers v"
            f" WHERE {reachable} GROUP BY k ORDER BY n DESC, k LIMIT 10",
            params,
        )
        counts["department"] = {r["k"]: r["n"] for r in rows}
        for column, codes in (("skills", skills), ("availability", availability)):
            counts[column] = {}
            for code in codes:
                counts[column][code] = int(
                    await self.db.fetch_value(
                        f"SELECT COUNT(*) FROM volunteers v WHERE {reachable}"
                        f" AND (',' || v.{column} || ',') LIKE ?",
                        (*params, f"%,{code},%"),
                    )
                    or 0
                )
        return counts

    # -- retention --------------------------------------------------------------------------

    async def to_warn_for_retention(self, inactive_since: datetime) -> list[Volunteer]:
        """Members inactive since before `inactive_since` and not yet warned since."""
        rows = await self.db.fetch_all(
            "SELECT * FROM volunteers WHERE status IN ('active', 'paused', 'stopped')"
            " AND last_active_at <= ? AND (retention_warned_at IS NULL"
            " OR retention_warned_at < last_active_at) ORDER BY id",
            (to_iso(inactive_since),),
        )
        return [Volunteer.from_row(r) for r in rows]

    async def void_future_warnings(self, now: datetime) -> int:
        """Forget retention warnings dated after `now`: written while the clock was wrong,
        they prove nothing and must neither block a real warning nor count as one."""
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "UPDATE volunteers SET retention_warned_at = NULL WHERE retention_warned_at > ?",
                (to_iso(now),),
            )
            return cursor.rowcount

    async def mark_retention_warned(self, volunteer_ids: Iterable[int], moment: datetime) -> None:
        rows = [(to_iso(moment), volunteer_id) for volunteer_id in volunteer_ids]
        if not rows:
            return
        async with self.db.raw_transaction() as tx:
            await tx.executemany("UPDATE volunteers SET retention_warned_at = ? WHERE id = ?", rows)

    async def to_erase_for_retention(
        self, inactive_since: datetime, warned_before: datetime, abandoned_since: datetime
    ) -> list[int]:
        """Members inactive since before `inactive_since` who were warned after their last
        activity and before `warned_before`, and onboardings abandoned since before
        `abandoned_since` (future-dated warnings were voided first)."""
        rows = await self.db.fetch_all(
            "SELECT id FROM volunteers WHERE (status IN ('active', 'paused', 'stopped')"
            " AND last_active_at <= ? AND retention_warned_at >= last_active_at"
            " AND retention_warned_at <= ?)"
            " OR (status = 'onboarding' AND last_active_at < ?) ORDER BY id",
            (to_iso(inactive_since), to_iso(warned_before), to_iso(abandoned_since)),
        )
        return [r["id"] for r in rows]

    async def end_pauses(self, now: datetime) -> int:
        """Pauses whose date has passed become active again."""
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "UPDATE volunteers SET status = 'active', paused_until = NULL"
                " WHERE status = 'paused' AND paused_until <= ?",
                (to_iso(now),),
            )
            return cursor.rowcount


async def _written(tx: aiosqlite.Connection, volunteer_id: int) -> Volunteer:
    """The row just written, read in the same transaction: the reader connection may still
    hold an older snapshot while other reads overlap (a surge of newcomers)."""
    cursor = await tx.execute("SELECT * FROM volunteers WHERE id = ?", (volunteer_id,))
    row = await cursor.fetchone()
    assert row is not None
    return Volunteer.from_row(row)
