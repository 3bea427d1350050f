"""The outbox: every message the system initiates, one row per recipient, before sending."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import to_iso
from bot.messaging import Outbound
from bot.storage.backend import Tx, in_list
from bot.storage.db import Database, placeholders

# One order of priority, the same on every messenger; a lane always sends the lowest first.
PAGE = 0  # pages to comms on duty, their escalations and updates; Signal's CAPTCHA call
REPLY = 2  # answers to what a person just did (sent from memory; queued here on Signal)
CALL = 4  # riposte calls: volunteers asked to share a reply now
NORMAL = 5  # offers, reminders, notices
URGENT_BROADCAST = 8  # broadcasts marked urgent (they also ignore quiet hours)
BULK = 9  # broadcasts and digests
URGENT = PAGE  # the older name of the first rank
# (now, the recipient's time zone, their own quiet hours or NULL) → end of quiet hours or None.
QuietUntil = Callable[[datetime, str, str | None], datetime | None]


@dataclass(frozen=True, slots=True)
class Envelope:
    """One message waiting in the outbox for one recipient."""

    kind: str
    channel: str
    chat_id: str
    outbound: Outbound
    volunteer_id: int | None = None
    ref_id: int | None = None
    priority: int = NORMAL
    dedupe_key: str | None = None
    not_before: datetime | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """An outbox row claimed for sending."""

    id: int
    kind: str
    ref_id: int | None
    volunteer_id: int | None
    channel: str
    chat_id: str
    outbound: Outbound
    priority: int
    attempts: int


@dataclass(frozen=True, slots=True)
class Settlement:
    """How one send ended; `retry_at` puts the row back in the queue (status pending)."""

    id: int
    status: str
    message_id: str = ""
    error: str = ""
    retry_at: datetime | None = None


# Who may still receive anything: nobody who used /stop or was erased, whatever the kind.
# Broadcasts also skip volunteers paused until a moment still to come.
_SKIP_REASON = (
    "CASE WHEN v.status IN ('stopped', 'erased') THEN 'stopped'"
    " WHEN o.kind = 'broadcast' AND v.status = 'paused'"
    " AND (v.paused_until IS NULL OR v.paused_until > ?) THEN 'paused'"
    " ELSE NULL END"
)


class OutboxRepository:
    """Writes, claims and settles outbox rows."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, envelopes: Iterable[Envelope], now: datetime) -> int:
        """Queue messages; an envelope whose dedupe key is already queued is skipped."""
        rows = [
            (
                e.kind,
                e.ref_id,
                e.dedupe_key,
                e.volunteer_id,
                e.channel,
                e.chat_id,
                e.outbound.to_json(),
                e.priority,
                int(e.outbound.paid),
                to_iso(e.not_before or now),
                to_iso(now),
            )
            for e in envelopes
        ]
        if not rows:
            return 0
        async with self.db.raw_transaction() as tx:
            before = tx.total_changes
            await tx.executemany(
                "INSERT INTO outbox (kind, ref_id, dedupe_key, volunteer_id, channel, chat_id,"
                " payload, priority, paid, not_before, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING",
                rows,
            )
            return tx.total_changes - before

    async def claim(
        self,
        channel: str,
        now: datetime,
        limit: int,
        quiet_until: QuietUntil | None = None,
        *,
        below: int | None = None,
    ) -> list[Delivery]:
        """Mark up to `limit` due rows as sending (most urgent first) and return them; with
        `below`, only rows more urgent than that rank (a page while a broadcast is in hand).

        Rows for volunteers who stopped (or, for broadcasts, paused) since they were queued
        are withdrawn here, at send time, rather than sent. With `quiet_until`, ordinary
        broadcast rows whose recipient has entered their quiet hours since the broadcast
        started wait for the morning instead.
        """
        stamp = to_iso(now)
        rank = "" if below is None else f" AND priority < {int(below)}"
        # The sender asks every second; a read on the reader connection spares the writer
        # lock (and other processes waiting on it) when nothing is due.
        if not await self.db.fetch_value(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE status = 'pending' AND channel = ?"
            f" AND not_before <= ?{rank})",
            (channel, stamp),
        ):
            return []
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                f"SELECT o.id, o.kind, o.priority, v.timezone, v.quiet_hours,"
                f" {_SKIP_REASON} AS skip FROM outbox o"
                " LEFT JOIN volunteers v ON v.id = o.volunteer_id"
                " WHERE o.status = 'pending' AND o.channel = ? AND o.not_before <= ?"
                f"{rank.replace('priority', 'o.priority')} ORDER BY o.priority, o.id LIMIT ?",
                (stamp, channel, stamp, limit),
            )
            picked = await cursor.fetchall()
            skipped = [(r["skip"], r["id"]) for r in picked if r["skip"]]
            held = []
            if quiet_until is not None:
                for r in picked:
                    if not r["skip"] and r["kind"] == "broadcast" and r["priority"] == BULK:
                        until = quiet_until(now, r["timezone"] or "", r["quiet_hours"])
                        if until is not None:
                            held.append((to_iso(until), r["id"]))
            held_ids = {row_id for _, row_id in held}
            wanted = [r["id"] for r in picked if not r["skip"] and r["id"] not in held_ids]
            if skipped:
                await tx.executemany(
                    "UPDATE outbox SET status = 'cancelled', last_error = ? WHERE id = ?",
                    skipped,
                )
            if held:
                await tx.executemany("UPDATE outbox SET not_before = ? WHERE id = ?", held)
            if not wanted:
                return []
            cursor = await tx.execute(
                "UPDATE outbox SET status = 'sending', claimed_at = ?, attempts = attempts + 1"
                f" WHERE id IN ({placeholders(wanted)})"
                " RETURNING id, kind, ref_id, volunteer_id, channel, chat_id, payload, priority,"
                " attempts",
                (stamp, *wanted),
            )
            rows = await cursor.fetchall()
        deliveries = [
            Delivery(
                r["id"],
                r["kind"],
                r["ref_id"],
                r["volunteer_id"],
                r["channel"],
                r["chat_id"],
                Outbound.from_json(r["payload"]),
                r["priority"],
                r["attempts"],
            )
            for r in rows
        ]
        return sorted(deliveries, key=lambda d: (d.priority, d.id))

    async def settle_many(self, outcomes: Sequence[Settlement], now: datetime) -> None:
        """Record how several sends ended, in one transaction."""
        stamp = to_iso(now)
        retries = [
            (to_iso(o.retry_at), o.error[:500], o.id) for o in outcomes if o.retry_at is not None
        ]
        final = [
            (o.status, stamp, o.message_id or None, o.error[:500] or None, o.id)
            for o in outcomes
            if o.retry_at is None
        ]
        async with self.db.raw_transaction() as tx:
            if retries:
                await tx.executemany(
                    "UPDATE outbox SET status = 'pending', not_before = ?, last_error = ?"
                    " WHERE id = ? AND status = 'sending'",
                    retries,
                )
            if final:
                await tx.executemany(
                    "UPDATE outbox SET status = ?, sent_at = ?, message_id = ?, last_error = ?"
                    " WHERE id = ? AND status = 'sending'",
                    final,
                )

    async def release(self, delivery_ids: Sequence[int]) -> int:
        """Claimed rows that never left (clean shutdown): back to pending, attempt not counted."""
        if not delivery_ids:
            return 0
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "UPDATE outbox SET status = 'pending', attempts = MAX(attempts - 1, 0)"
                f" WHERE status = 'sending' AND id IN ({placeholders(delivery_ids)})",
                tuple(delivery_ids),
            )
            return cursor.rowcount

    async def settle(
        self,
        delivery_id: int,
        status: str,
        now: datetime,
        *,
        message_id: str = "",
        error: str = "",
        retry_at: datetime | None = None,
    ) -> None:
        """Record how a send ended; `retry_at` puts the row back in the queue."""
        async with self.db.raw_transaction() as tx:
            if retry_at is not None:
                await tx.execute(
                    "UPDATE outbox SET status = 'pending', not_before = ?, last_error = ?"
                    " WHERE id = ?",
                    (to_iso(retry_at), error[:500], delivery_id),
                )
            else:
                await tx.execute(
                    "UPDATE outbox SET status = ?, sent_at = ?, message_id = ?, last_error = ?"
                    " WHERE id = ?",
                    (status, to_iso(now), message_id or None, error[:500] or None, delivery_id),
                )

    async def requeue_without_attempt(self, delivery_id: int, retry_at: datetime) -> None:
        """Put a row back as if it had not been tried (after a rate-limit answer)."""
        async with self.db.raw_transaction() as tx:
            await tx.execute(
                "UPDATE outbox SET status = 'pending', not_before = ?,"
                " attempts = MAX(attempts - 1, 0) WHERE id = ?",
                (to_iso(retry_at), delivery_id),
            )

    async def mark_unreachable(self, channel: str, chat_id: str, now: datetime) -> None:
        """A blocked chat: flag its identity and drop what else waits for it."""
        async with self.db.raw_transaction() as tx:
            await tx.execute(
                "UPDATE identities SET unreachable_at = ? WHERE channel = ? AND chat_id = ?",
                (to_iso(now), channel, chat_id),
            )
            await tx.execute(
                "UPDATE outbox SET status = 'blocked', last_error = 'unreachable'"
                " WHERE status = 'pending' AND channel = ? AND chat_id = ?",
                (channel, chat_id),
            )

    async def recover(
        self, now: datetime, lease: timedelta = timedelta(minutes=5), *, resend: bool = True
    ) -> int:
        """After a crash: rows left 'sending' may or may not have left. `resend` queues them
        again (at-least-once: a missed mobilization costs more than a rare duplicate);
        otherwise they are marked uncertain and never resent (at-most-once)."""
        async with self.db.raw_transaction() as tx:
            if resend:
                cursor = await tx.execute(
                    "UPDATE outbox SET status = 'pending',"
                    " last_error = 'interrupted while sending; sent again'"
                    " WHERE status = 'sending' AND claimed_at <= ?",
                    (to_iso(now - lease),),
                )
            else:
                cursor = await tx.execute(
                    "UPDATE outbox SET status = 'uncertain',"
                    " last_error = 'interrupted while sending'"
                    " WHERE status = 'sending' AND claimed_at <= ?",
                    (to_iso(now - lease),),
                )
            return cursor.rowcount

    async def next_due(self, channel: str) -> str | None:
        """When the earliest pending row for a channel becomes due (ISO), or None."""
        value = await self.db.fetch_value(
            "SELECT MIN(not_before) FROM outbox WHERE status = 'pending' AND channel = ?",
            (channel,),
        )
        return str(value) if value else None

    async def counts(self, kind: str, ref_id: int) -> dict[str, int]:
        """How many rows of one broadcast/alert are in each state."""
        rows = await self.db.fetch_all(
            "SELECT status, COUNT(*) AS n FROM outbox WHERE kind = ? AND ref_id = ?"
            " GROUP BY status",
            (kind, ref_id),
        )
        return {row["status"]: row["n"] for row in rows}

    async def cancel(self, kind: str, ref_id: int) -> int:
        """Withdraw what has not been sent yet."""
        async with self.db.raw_transaction() as tx:
            cursor = await tx.execute(
                "UPDATE outbox SET status = 'cancelled' WHERE kind = ? AND ref_id = ?"
                " AND status = 'pending'",
                (kind, ref_id),
            )
            return cursor.rowcount

    # -- what the task queue asks of the outbox (offers and reminders are outbox rows) ------

    async def cancel_in(self, tx: Tx, kinds: Sequence[str], ref_id: int) -> int:
        """Inside a caller's transaction: withdraw rows of these kinds about one thing
        (a task's offers and reminders when it closes) that are not sent yet."""
        names, params = in_list("kind", kinds)
        return await tx.execute(
            f"UPDATE outbox SET status = 'cancelled' WHERE kind IN ({names}) AND ref_id = :ref"
            " AND status = 'pending'",
            {**params, "ref": ref_id},
        )

    async def unsolicited_since(self, volunteer_id: int, since: datetime) -> int:
        """Offers and reminders queued for a volunteer since a moment (the daily cap)."""
        return int(
            await self.db.fetch_value(
                "SELECT COUNT(*) FROM outbox WHERE volunteer_id = :volunteer"
                " AND kind IN ('offer', 'reminder') AND created_at >= :since",
                {"volunteer": volunteer_id, "since": to_iso(since)},
            )
            or 0
        )
