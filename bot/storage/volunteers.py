"""Volunteers, their identities (messenger accounts), their consents, and the rule that
says who may be messaged unprompted. Roles live in `bot/storage/roles.py`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from bot.clock import Clock, from_iso, to_iso
from bot.domain.volunteers import (
    Address,
    Consent,
    DirectoryCounts,
    DirectoryFilter,
    Role,
    Volunteer,
    VolunteerStatus,
)
from bot.storage.backend import Backend, Row, Tx, in_list
from bot.storage.roles import RoleRepository

__all__ = [
    "Address",
    "Consent",
    "DirectoryFilter",
    "Role",
    "Volunteer",
    "VolunteerRepository",
    "unsolicited",
    "volunteer_from_row",
]


def unsolicited(alias: str = "v", now: str = "now") -> str:
    """The rule every feature honours before messaging someone who did not ask (task offers,
    reminders, broadcasts, digests, pages), as a SQL condition on the volunteers table
    aliased `alias`, with the moment as the ISO parameter `:now` (or another name).

    Active, or paused with the pause over. `/stop` sets 'stopped', `/pause` sets 'paused';
    'onboarding' and 'erased' are never reachable. `Volunteer.accepts_unsolicited` is the
    same rule on a volunteer already read.
    """
    return (
        f"({alias}.status = 'active' OR ({alias}.status = 'paused'"
        f" AND {alias}.paused_until IS NOT NULL AND {alias}.paused_until <= :{now}))"
    )


# The rule with the volunteers table aliased `v` and a `:now` parameter.
UNSOLICITED_SQL = unsolicited()

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
_MEMBERS = "('active', 'paused', 'stopped')"


def _moment(value: str | None) -> datetime | None:
    return from_iso(value) if value else None


def volunteer_from_row(row: Row) -> Volunteer:
    """A volunteer from a `SELECT *` (or `v.*`) row of the volunteers table."""
    return Volunteer(
        id=row["id"],
        status=VolunteerStatus(row["status"]),
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
        paused_until=_moment(row["paused_until"]),
        recruited_by=row["recruited_by"],
        created_at=from_iso(row["created_at"]),
        last_active_at=from_iso(row["last_active_at"]),
        commune=row["commune"] or "",
    )


class VolunteerRepository:
    """Reads and writes volunteers, their identities and consents; roles through `roles`."""

    def __init__(self, db: Backend, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.roles_repository = RoleRepository(db, clock)

    async def by_identity(self, channel: str, user_id: str) -> Volunteer | None:
        volunteer, _ = await self.by_identity_with_reach(channel, user_id)
        return volunteer

    async def by_identity_with_reach(
        self, channel: str, user_id: str
    ) -> tuple[Volunteer | None, bool]:
        """The volunteer behind an identity, and whether that identity is marked unreachable."""
        row = await self.db.fetch_one(
            "SELECT v.*, i.unreachable_at AS identity_unreachable_at FROM volunteers v"
            " JOIN identities i ON i.volunteer_id = v.id"
            " WHERE i.channel = :channel AND i.user_id = :user",
            {"channel": channel, "user": user_id},
        )
        if row is None:
            return None, False
        return volunteer_from_row(row), row["identity_unreachable_at"] is not None

    async def actor_at(
        self, channel: str, user_id: str
    ) -> tuple[Volunteer | None, bool, tuple[Role, ...], int]:
        """Who writes from an identity, in one round trip: the volunteer, whether that
        identity is marked unreachable, their roles (by role, then team) and how many
        messenger accounts they have."""
        held = self.db.dialect.joined("r.role || ':' || COALESCE(CAST(r.team_id AS TEXT), '')", ",")
        row = await self.db.fetch_one(
            "SELECT v.*, i.unreachable_at AS identity_unreachable_at,"
            f" (SELECT {held} FROM (SELECT role, team_id FROM roles"
            " WHERE volunteer_id = v.id ORDER BY role, team_id) r) AS held_roles,"
            " (SELECT COUNT(*) FROM identities o WHERE o.volunteer_id = v.id) AS accounts"
            " FROM volunteers v JOIN identities i ON i.volunteer_id = v.id"
            " WHERE i.channel = :channel AND i.user_id = :user",
            {"channel": channel, "user": user_id},
        )
        if row is None:
            return None, False, (), 0
        roles = []
        for part in (row["held_roles"] or "").split(","):
            if part:
                role, _sep, team = part.partition(":")
                roles.append(Role(role, int(team) if team else None))
        unreachable = row["identity_unreachable_at"] is not None
        return volunteer_from_row(row), unreachable, tuple(roles), int(row["accounts"])

    async def get(self, volunteer_id: int) -> Volunteer | None:
        row = await self.db.fetch_one(
            "SELECT * FROM volunteers WHERE id = :id", {"id": volunteer_id}
        )
        return volunteer_from_row(row) if row else None

    async def create(
        self, channel: str, user_id: str, chat_id: str, language: str, first_name: str = ""
    ) -> Volunteer:
        """A new volunteer in onboarding, reachable at this identity."""
        async with self.db.transaction() as tx:
            volunteer_id = await self._insert(tx, channel, user_id, chat_id, language, first_name)
            return await _written(tx, volunteer_id)

    async def _insert(
        self, tx: Tx, channel: str, user_id: str, chat_id: str, language: str, first_name: str
    ) -> int:
        now = to_iso(self.clock.now())
        volunteer_id = await tx.insert_returning_id(
            "INSERT INTO volunteers (status, first_name, language, created_at, last_active_at)"
            " VALUES ('onboarding', :name, :language, :now, :now)",
            {"name": first_name or None, "language": language, "now": now},
        )
        await tx.execute(
            "INSERT INTO identities (channel, user_id, volunteer_id, chat_id, created_at)"
            " VALUES (:channel, :user, :volunteer, :chat, :now)",
            {
                "channel": channel,
                "user": user_id,
                "volunteer": volunteer_id,
                "chat": chat_id,
                "now": now,
            },
        )
        return volunteer_id

    async def roles(self, volunteer_id: int) -> tuple[Role, ...]:
        return await self.roles_repository.of(volunteer_id)

    @staticmethod
    def mark_active(tx: Tx, volunteer_id: int, moment: datetime) -> None:
        """Remember the volunteer was active (retention counts from here), with the
        transaction's next statement (or its commit)."""
        tx.later(
            "UPDATE volunteers SET last_active_at = :moment WHERE id = :id",
            {"moment": to_iso(moment), "id": volunteer_id},
        )

    @staticmethod
    def mark_reachable(tx: Tx, channel: str, user_id: str) -> None:
        """A person who wrote to us can be messaged again (with the transaction's next
        statement, or its commit)."""
        tx.later(
            "UPDATE identities SET unreachable_at = NULL"
            " WHERE channel = :channel AND user_id = :user AND unreachable_at IS NOT NULL",
            {"channel": channel, "user": user_id},
        )

    async def reachable_again(self, channel: str, user_id: str) -> None:
        """A person who wrote to us can be messaged again."""
        async with self.db.transaction() as tx:
            self.mark_reachable(tx, channel, user_id)

    async def addresses(self, volunteer_id: int) -> list[Address]:
        """Reachable identities, preferred first."""
        rows = await self.db.fetch_all(
            "SELECT channel, chat_id FROM identities WHERE volunteer_id = :id"
            " AND unreachable_at IS NULL ORDER BY preferred DESC, created_at",
            {"id": volunteer_id},
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
        async with self.db.transaction() as tx:
            volunteer_id = await self._insert(tx, channel, user_id, chat_id, language, "")
            await self._consent(tx, volunteer_id, channel, consent)
            return await _written(tx, volunteer_id)

    async def _consent(
        self, tx: Tx, volunteer_id: int, channel: str, consent: tuple[str, str, str]
    ) -> None:
        version, sha256, update_key = consent
        await tx.execute(
            "INSERT INTO consents (volunteer_id, text_version, text_sha256, channel,"
            " update_key, given_at) VALUES (:volunteer, :version, :sha256, :channel, :key, :now)",
            {
                "volunteer": volunteer_id,
                "version": version,
                "sha256": sha256,
                "channel": channel,
                "key": update_key or None,
                "now": to_iso(self.clock.now()),
            },
        )

    async def record_consent(
        self, volunteer_id: int, channel: str, consent: tuple[str, str, str]
    ) -> None:
        """A newer consent (a new text version accepted)."""
        async with self.db.transaction() as tx:
            await self._consent(tx, volunteer_id, channel, consent)

    async def consents(self, volunteer_id: int) -> list[Consent]:
        rows = await self.db.fetch_all(
            "SELECT * FROM consents WHERE volunteer_id = :id ORDER BY id", {"id": volunteer_id}
        )
        return [
            Consent(
                r["id"],
                r["text_version"],
                r["text_sha256"],
                r["channel"],
                r["update_key"] or "",
                from_iso(r["given_at"]),
                _moment(r["withdrawn_at"]),
            )
            for r in rows
        ]

    async def update(self, volunteer_id: int, **fields: Any) -> Volunteer:
        """Change profile columns (see PROFILE_COLUMNS); sets are stored comma-separated."""
        unknown = set(fields) - PROFILE_COLUMNS
        if unknown or not fields:
            raise ValueError(f"not profile columns: {sorted(unknown)}")
        values = {
            name: ",".join(sorted(v)) if isinstance(v, frozenset | set | tuple | list) else v
            for name, v in fields.items()
        }
        assignments = ", ".join(f"{name} = :{name}" for name in fields)
        async with self.db.transaction() as tx:
            row = await tx.fetch_one(
                f"UPDATE volunteers SET {assignments} WHERE id = :volunteer_id"
                " AND status != 'erased' RETURNING *",
                {**values, "volunteer_id": volunteer_id},
            )
            return volunteer_from_row(row) if row else await _written(tx, volunteer_id)

    async def set_status(
        self, volunteer_id: int, status: str, paused_until: datetime | None = None
    ) -> Volunteer:
        """Onboarding done (which dates their joining, kept after erasure for the
        campaign's figures), paused, resumed, stopped; never used to erase."""
        if status not in ("active", "paused", "stopped"):
            raise ValueError(status)
        async with self.db.transaction() as tx:
            row = await tx.fetch_one(
                "UPDATE volunteers SET status = :status, paused_until = :until,"
                " joined_at = CASE WHEN status = 'onboarding' THEN :now ELSE joined_at END"
                " WHERE id = :id AND status != 'erased' RETURNING *",
                {
                    "status": str(status),
                    "until": to_iso(paused_until) if paused_until else None,
                    "now": to_iso(self.clock.now()),
                    "id": volunteer_id,
                },
            )
            return volunteer_from_row(row) if row else await _written(tx, volunteer_id)

    async def credit_recruiter(self, volunteer_id: int, recruiter_id: int) -> None:
        """Remember who brought this volunteer (only the first recruiter counts)."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE volunteers SET recruited_by = :recruiter WHERE id = :id"
                " AND recruited_by IS NULL AND id != :recruiter",
                {"recruiter": recruiter_id, "id": volunteer_id},
            )

    async def recruits(self, volunteer_id: int) -> int:
        """How many joined through this volunteer's personal link."""
        return int(
            await self.db.fetch_value(
                "SELECT COUNT(*) FROM volunteers WHERE recruited_by = :id AND status != 'erased'",
                {"id": volunteer_id},
            )
            or 0
        )

    # -- roles (kept for callers of this repository; `RoleRepository` writes them) --------

    async def grant_role(
        self, volunteer_id: int, role: str, team_id: int | None, granted_by: int | None
    ) -> bool:
        """Give a role; False if they already held it."""
        return await self.roles_repository.grant(volunteer_id, role, team_id, granted_by)

    async def revoke_role(self, volunteer_id: int, role: str, team_id: int | None) -> bool:
        """Take a role away; False if they did not hold it."""
        return await self.roles_repository.revoke(volunteer_id, role, team_id)

    # -- who may be messaged ------------------------------------------------------------

    async def reachable_for_unsolicited(
        self, now: datetime, volunteer_ids: Iterable[int] | None = None
    ) -> list[Address]:
        """Preferred reachable address of every volunteer who accepts messages they did not
        ask for (`unsolicited`), optionally among `volunteer_ids`."""
        params: dict[str, Any] = {"now": to_iso(now)}
        where = unsolicited()
        if volunteer_ids is not None:
            ids = list(volunteer_ids)
            if not ids:
                return []
            listed, listed_params = in_list("id", ids)
            params.update(listed_params)
            where += f" AND v.id IN ({listed})"
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
            "SELECT channel, user_id, chat_id FROM identities WHERE volunteer_id = :id"
            " ORDER BY created_at",
            {"id": volunteer_id},
        )
        return [(r["channel"], r["user_id"], r["chat_id"]) for r in rows]

    # -- one volunteer on several messengers (/link, inside its transaction) --------------

    @staticmethod
    async def identity_holder(tx: Tx, channel: str, user_id: str) -> tuple[int, str, int] | None:
        """Who holds this messenger account: (volunteer id, status, how many accounts)."""
        row = await tx.fetch_one(
            "SELECT i.volunteer_id, v.status,"
            " (SELECT COUNT(*) FROM identities o WHERE o.volunteer_id = i.volunteer_id) AS n"
            " FROM identities i JOIN volunteers v ON v.id = i.volunteer_id"
            " WHERE i.channel = :channel AND i.user_id = :user",
            {"channel": channel, "user": user_id},
        )
        return None if row is None else (int(row["volunteer_id"]), row["status"], int(row["n"]))

    @staticmethod
    async def move_identity(
        tx: Tx,
        target: int,
        identity: tuple[str, str, str],
        previous: int | None,
        now: datetime,
    ) -> None:
        """Attach the account (channel, user_id, chat_id) to volunteer `target`. A volunteer
        has one account per messenger: a new one replaces the old one (and keeps its being
        preferred). `previous`, the volunteer still in onboarding the account belonged to,
        is removed."""
        channel, user_id, chat_id = identity
        replaced = await tx.fetch_all(
            "DELETE FROM identities WHERE volunteer_id = :target AND channel = :channel"
            " RETURNING preferred",
            {"target": target, "channel": channel},
        )
        preferred = int(any(row["preferred"] for row in replaced))
        if previous is not None:
            await tx.execute(
                "DELETE FROM identities WHERE channel = :channel AND user_id = :user",
                {"channel": channel, "user": user_id},
            )
            await tx.execute(
                "DELETE FROM volunteers WHERE id = :id AND status = 'onboarding'",
                {"id": previous},
            )
        await tx.execute(
            "INSERT INTO identities (channel, user_id, volunteer_id, chat_id, preferred,"
            " created_at) VALUES (:channel, :user, :target, :chat, :preferred, :now)",
            {
                "channel": channel,
                "user": user_id,
                "target": target,
                "chat": chat_id,
                "preferred": preferred,
                "now": to_iso(now),
            },
        )

    @staticmethod
    async def prefer(tx: Tx, volunteer_id: int, channel: str) -> bool:
        """Make `channel` the one that receives offers and broadcasts; False if not linked."""
        params = {"id": volunteer_id, "channel": channel}
        linked = await tx.fetch_value(
            "SELECT 1 FROM identities WHERE volunteer_id = :id AND channel = :channel", params
        )
        if linked is None:
            return False
        await tx.execute(
            "UPDATE identities SET preferred = CASE WHEN channel = :channel THEN 1 ELSE 0"
            " END WHERE volunteer_id = :id",
            params,
        )
        return True

    @staticmethod
    async def mark_unreachable(tx: Tx, channel: str, chat_id: str, now: datetime) -> None:
        """The messenger says this chat blocked Relais: nothing unprompted goes there until
        the person writes again (`reachable_again`). Inside the caller's transaction."""
        await tx.execute(
            "UPDATE identities SET unreachable_at = :now"
            " WHERE channel = :channel AND chat_id = :chat",
            {"now": to_iso(now), "channel": channel, "chat": chat_id},
        )

    @staticmethod
    async def user_ids(reads: Backend | Tx, volunteer_id: int, channel: str) -> list[str]:
        """A volunteer's account ids on one messenger (read committed, or inside `reads`)."""
        rows = await reads.fetch_all(
            "SELECT user_id FROM identities WHERE volunteer_id = :id AND channel = :channel",
            {"id": volunteer_id, "channel": channel},
        )
        return [row["user_id"] for row in rows]

    # -- organizer directory --------------------------------------------------------------

    async def directory(
        self, scope: frozenset[int] | None, which: DirectoryFilter, limit: int = 20
    ) -> list[Volunteer]:
        """Volunteers an organizer may see (scope None: everyone), newest activity first."""
        where, params = members_where(scope, which)
        rows = await self.db.fetch_all(
            f"SELECT v.* FROM volunteers v WHERE {where} AND v.status != 'stopped'"
            " ORDER BY v.last_active_at DESC, v.id LIMIT :limit",
            {**params, "limit": limit},
        )
        return [volunteer_from_row(r) for r in rows]

    async def directory_counts(
        self,
        scope: frozenset[int] | None,
        which: DirectoryFilter,
        skills: Iterable[str],
        availability: Iterable[str],
    ) -> DirectoryCounts:
        """Counts within scope: by status, team, département, skill and availability."""
        where, params = members_where(scope, which)
        rows = await self.db.fetch_all(
            f"SELECT v.status AS k, COUNT(*) AS n FROM volunteers v WHERE {where}"
            " GROUP BY v.status",
            params,
        )
        status = {r["k"]: r["n"] for r in rows}
        reachable = f"{where} AND v.status != 'stopped'"
        team_clause = ""
        if scope:
            listed, _params = in_list("scope", sorted(scope))
            team_clause = f" AND t.id IN ({listed})"
        rows = await self.db.fetch_all(
            "SELECT t.name AS k, COUNT(*) AS n FROM volunteers v"
            " JOIN team_members m ON m.volunteer_id = v.id JOIN teams t ON t.id = m.team_id"
            f" WHERE {reachable}{team_clause}"
            " GROUP BY t.name ORDER BY n DESC, t.name LIMIT 10",
            params,
        )
        team = {r["k"]: r["n"] for r in rows}
        rows = await self.db.fetch_all(
            "SELECT COALESCE(v.department, '') AS k, COUNT(*) AS n FROM volunteers v"
            f" WHERE {reachable} GROUP BY COALESCE(v.department, '') ORDER BY n DESC, k LIMIT 10",
            params,
        )
        department = {r["k"]: r["n"] for r in rows}
        by_code: dict[str, dict[str, int]] = {}
        for column, codes in (("skills", skills), ("availability", availability)):
            by_code[column] = {}
            for code in codes:
                by_code[column][code] = int(
                    await self.db.fetch_value(
                        f"SELECT COUNT(*) FROM volunteers v WHERE {reachable}"
                        f" AND (',' || v.{column} || ',') LIKE :code",
                        {**params, "code": f"%,{code},%"},
                    )
                    or 0
                )
        return DirectoryCounts(status, team, department, by_code["skills"], by_code["availability"])

    # -- retention --------------------------------------------------------------------------

    async def to_warn_for_retention(self, inactive_since: datetime) -> list[Volunteer]:
        """Members inactive since before `inactive_since` and not yet warned since."""
        rows = await self.db.fetch_all(
            f"SELECT * FROM volunteers WHERE status IN {_MEMBERS}"
            " AND last_active_at <= :since AND (retention_warned_at IS NULL"
            " OR retention_warned_at < last_active_at) ORDER BY id",
            {"since": to_iso(inactive_since)},
        )
        return [volunteer_from_row(r) for r in rows]

    async def void_future_warnings(self, now: datetime) -> int:
        """Forget retention warnings dated after `now`: written while the clock was wrong,
        they prove nothing and must neither block a real warning nor count as one."""
        async with self.db.transaction() as tx:
            return await tx.execute(
                "UPDATE volunteers SET retention_warned_at = NULL WHERE retention_warned_at > :now",
                {"now": to_iso(now)},
            )

    async def mark_retention_warned(self, volunteer_ids: Iterable[int], moment: datetime) -> None:
        rows = [{"moment": to_iso(moment), "id": volunteer_id} for volunteer_id in volunteer_ids]
        if not rows:
            return
        async with self.db.transaction() as tx:
            await tx.execute_many(
                "UPDATE volunteers SET retention_warned_at = :moment WHERE id = :id", rows
            )

    async def to_erase_for_retention(
        self, inactive_since: datetime, warned_before: datetime, abandoned_since: datetime
    ) -> list[int]:
        """Members inactive since before `inactive_since` who were warned after their last
        activity and before `warned_before`, and onboardings abandoned since before
        `abandoned_since` (future-dated warnings were voided first)."""
        rows = await self.db.fetch_all(
            f"SELECT id FROM volunteers WHERE (status IN {_MEMBERS}"
            " AND last_active_at <= :inactive AND retention_warned_at >= last_active_at"
            " AND retention_warned_at <= :warned)"
            " OR (status = 'onboarding' AND last_active_at < :abandoned) ORDER BY id",
            {
                "inactive": to_iso(inactive_since),
                "warned": to_iso(warned_before),
                "abandoned": to_iso(abandoned_since),
            },
        )
        return [r["id"] for r in rows]

    async def end_pauses(self, now: datetime) -> int:
        """Pauses whose date has passed become active again."""
        async with self.db.transaction() as tx:
            return await tx.execute(
                "UPDATE volunteers SET status = 'active', paused_until = NULL"
                " WHERE status = 'paused' AND paused_until <= :now",
                {"now": to_iso(now)},
            )

    # -- erasure (inside the one erasure transaction of bot/storage/personal_data.py) -----

    @staticmethod
    async def chats(tx: Tx, volunteer_id: int) -> list[tuple[str, str]]:
        """(channel, chat_id) of every messenger account, read inside `tx`."""
        rows = await tx.fetch_all(
            "SELECT channel, chat_id FROM identities WHERE volunteer_id = :id",
            {"id": volunteer_id},
        )
        return [(row["channel"], row["chat_id"]) for row in rows]

    @staticmethod
    async def erase(tx: Tx, volunteer_id: int, now: datetime) -> None:
        """Remove a volunteer's identities and personal columns; keep the row (status
        'erased', with created_at and joined_at: dates, not who they are) so counts in
        reports do not change, and the proof of consent (version, text fingerprint, dates)
        without the message it came in: older Signal keys held the sender's number."""
        moment = to_iso(now)
        params = {"id": volunteer_id, "now": moment}
        await tx.execute("DELETE FROM identities WHERE volunteer_id = :id", params)
        await tx.execute(
            "UPDATE consents SET withdrawn_at = COALESCE(withdrawn_at, :now), update_key = NULL"
            " WHERE volunteer_id = :id",
            params,
        )
        await tx.execute(
            f"UPDATE volunteers SET status = 'erased', {_ERASED_COLUMNS}, last_active_at = :now,"
            " erased_at = :now WHERE id = :id",
            params,
        )

    async def erased_at(self, volunteer_id: int) -> datetime | None:
        """When this volunteer was erased, or None."""
        value = await self.db.fetch_value(
            "SELECT erased_at FROM volunteers WHERE id = :id", {"id": volunteer_id}
        )
        return from_iso(value) if value else None


# Personal columns of `volunteers`, NULLed (or reset) by erasure. Kept: status, language,
# created_at, joined_at (when they finished joining: the campaign's figures count it).
_ERASED_COLUMNS = (
    "first_name = NULL, postcode = NULL, department = NULL, place = NULL, latitude = NULL,"
    " commune = NULL,"
    " longitude = NULL, skills = '', availability = '', timezone = NULL, quiet_hours = NULL,"
    " rapid_response = 0, leaderboard = 0, digest = 0, paused_until = NULL,"
    " recruited_by = NULL, retention_warned_at = NULL"
)


async def _written(tx: Tx, volunteer_id: int) -> Volunteer:
    """The row just written, read in the same transaction: the reader connection may still
    hold an older snapshot while other reads overlap (a surge of newcomers)."""
    row = await tx.fetch_one("SELECT * FROM volunteers WHERE id = :id", {"id": volunteer_id})
    assert row is not None
    return volunteer_from_row(row)


def members_where(
    scope: frozenset[int] | None, which: DirectoryFilter, status: str = ""
) -> tuple[str, dict[str, Any]]:
    """The WHERE clause (volunteers aliased `v`) for members an organizer may see (scope
    None: everyone), narrowed by `which` and, if given, one status."""
    clauses = [f"v.status IN {_MEMBERS}"]
    params: dict[str, Any] = {}
    if scope is not None:
        listed, listed_params = in_list("scope", sorted(scope))
        clauses.append(
            f"v.id IN (SELECT volunteer_id FROM team_members WHERE team_id IN ({listed}))"
        )
        params.update(listed_params)
    if which.team_id is not None:
        clauses.append("v.id IN (SELECT volunteer_id FROM team_members WHERE team_id = :team)")
        params["team"] = which.team_id
    if which.department:
        clauses.append("v.department = :department")
        params["department"] = which.department
    if which.skill:
        clauses.append("(',' || v.skills || ',') LIKE :skill")
        params["skill"] = f"%,{which.skill},%"
    if which.availability:
        clauses.append("(',' || v.availability || ',') LIKE :availability")
        params["availability"] = f"%,{which.availability},%"
    if status:
        clauses.append("v.status = :status")
        params["status"] = status
    return " AND ".join(clauses), params
