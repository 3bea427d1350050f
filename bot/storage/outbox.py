"""The outbox: every message the system initiates, one row per recipient, before sending.

This module is the only writer of the `outbox` table. Other repositories that need rows
written in their own transaction (a broadcast's recipients, an incident's pages) pass their
`Tx` to the methods here, or a SELECT of the rows for `add_selected`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from bot.clock import from_iso, to_iso
from bot.domain.messages import (
    Delivery,
    DeliveryStatus,
    Envelope,
    Priority,
    RecentSend,
    Settlement,
    Shown,
)
from bot.messaging import Outbound
from bot.storage.backend import Backend, Params, Tx, in_list
from bot.storage.volunteers import VolunteerRepository

__all__ = [
    "BULK",
    "CALL",
    "NORMAL",
    "PAGE",
    "REPLY",
    "URGENT",
    "URGENT_BROADCAST",
    "Delivery",
    "Envelope",
    "OutboxRepository",
    "QuietUntil",
    "RecentSend",
    "Settlement",
    "Shown",
]

PAGE = Priority.PAGE
REPLY = Priority.REPLY
CALL = Priority.CALL
NORMAL = Priority.NORMAL
URGENT_BROADCAST = Priority.URGENT_BROADCAST
BULK = Priority.BULK
URGENT = PAGE  # the older name of the first rank
# (now, the recipient's time zone, their own quiet hours or NULL) → end of quiet hours or None.
QuietUntil = Callable[[datetime, str, str | None], datetime | None]

_COLUMNS = (
    "kind, ref_id, dedupe_key, volunteer_id, channel, chat_id, payload, priority, paid,"
    " not_before, created_at"
)
# Rows written by one multi-row INSERT: 11 parameters each, far below every backend's cap.
_ROWS_PER_INSERT = 500

# Who may still receive anything: nobody who used /stop or was erased, whatever the kind
# (but the answer to /forget itself, written after the erasure and marked with who it was).
# Broadcasts also skip volunteers paused until a moment still to come.
_SKIP_REASON = (
    "CASE WHEN v.status = 'stopped' OR (v.status = 'erased' AND o.kind <> 'reply')"
    " THEN 'stopped'"
    " WHEN o.kind = 'broadcast' AND v.status = 'paused'"
    " AND (v.paused_until IS NULL OR v.paused_until > :now) THEN 'paused'"
    " ELSE NULL END"
)
# The pending rows of one messenger, in the order a lane sends them. The partial index
# `outbox_pending` (migration 0010) holds exactly these rows in exactly this order, so each
# step below reads only the rows it returns, however many wait behind them.
_PENDING = "status = 'pending' AND channel = :channel"


# A send's end. Answers ('reply') lose their words: nothing reads them once sent, and they
# may hold someone else's data (a call list's names and numbers shown to a caller).
_ERASED_ROW = (
    "(chat_id = '' OR (kind = 'reply' AND volunteer_id IS NOT NULL AND EXISTS (SELECT 1"
    " FROM volunteers v WHERE v.id = outbox.volunteer_id AND v.status = 'erased')))"
)
# The same when an answer never leaves: its chat blocked Relais, or its person used /stop.
_BLANK_ANSWER = "payload = CASE WHEN kind = 'reply' THEN '{}' ELSE payload END"
_SETTLE = (
    "UPDATE outbox SET status = :status, sent_at = :now,"
    f" message_id = CASE WHEN {_ERASED_ROW} THEN NULL ELSE :message_id END,"
    f" last_error = CASE WHEN {_ERASED_ROW} THEN NULL ELSE :error END,"
    f" chat_id = CASE WHEN {_ERASED_ROW} THEN '' ELSE chat_id END,"
    f" {_BLANK_ANSWER} WHERE id = :id AND status = 'sending'"
)


def _row(e: Envelope, now: datetime) -> dict[str, Any]:
    return {
        "kind": e.kind,
        "ref_id": e.ref_id,
        "dedupe_key": e.dedupe_key,
        "volunteer_id": e.volunteer_id,
        "channel": e.channel,
        "chat_id": e.chat_id,
        "payload": e.outbound.to_json(),
        "priority": int(e.priority),
        "paid": int(e.outbound.paid),
        "not_before": to_iso(e.not_before or now),
        "created_at": to_iso(now),
    }


class OutboxRepository:
    """Writes, claims and settles outbox rows."""

    def __init__(self, db: Backend) -> None:
        self.db = db

    @asynccontextmanager
    async def _within(self, tx: Tx | None) -> AsyncIterator[Tx]:
        """The caller's transaction, or a new one."""
        if tx is not None:
            yield tx
            return
        async with self.db.transaction() as own:
            yield own

    # -- queueing -------------------------------------------------------------------------

    async def add(self, envelopes: Iterable[Envelope], now: datetime, tx: Tx | None = None) -> int:
        """Queue messages; an envelope whose dedupe key is already queued is skipped.
        Returns how many were queued."""
        rows = [_row(e, now) for e in envelopes]
        if not rows:
            return 0
        added = 0
        async with self._within(tx) as within:
            for start in range(0, len(rows), _ROWS_PER_INSERT):
                chunk = rows[start : start + _ROWS_PER_INSERT]
                params: dict[str, Any] = {}
                values = []
                for index, row in enumerate(chunk):
                    values.append("(" + ", ".join(f":{name}_{index}" for name in row) + ")")
                    params.update({f"{name}_{index}": value for name, value in row.items()})
                added += await within.execute(
                    f"INSERT INTO outbox ({_COLUMNS}) VALUES {', '.join(values)}"
                    " ON CONFLICT (dedupe_key) DO NOTHING",
                    params,
                )
        return added

    @staticmethod
    async def add_answers(
        tx: Tx, envelopes: Sequence[Envelope], now: datetime, *, in_hand: bool = True
    ) -> list[Delivery]:
        """Queue an update's answers in the caller's transaction (the update's own). `in_hand`:
        this process's lane sends them at once, so they are written as being sent (no claim
        needed); after a kill -9 before they left, `recover` finds them and they go out at
        the next start. Otherwise they wait, pending, for whichever process sends. The rows."""
        if not envelopes:
            return []
        rows = [_row(e, now) for e in envelopes]
        params: dict[str, Any] = {"now": to_iso(now) if in_hand else None}
        state = ", 'sending', :now, 1)" if in_hand else ", 'pending', :now, 0)"
        values = []
        for index, row in enumerate(rows):
            values.append("(" + ", ".join(f":{name}_{index}" for name in row) + state)
            params.update({f"{name}_{index}": value for name, value in row.items()})
        found = await tx.fetch_all(
            f"INSERT INTO outbox ({_COLUMNS}, status, claimed_at, attempts)"
            f" VALUES {', '.join(values)} RETURNING id",
            params,
        )
        ids = sorted(int(r["id"]) for r in found)
        return [
            Delivery(
                row_id,
                e.kind,
                e.ref_id,
                e.volunteer_id,
                e.channel,
                e.chat_id,
                e.outbound,
                e.priority,
                int(in_hand),
            )
            for row_id, e in zip(ids, envelopes, strict=True)
        ]

    async def forget_answers_before(self, moment: datetime) -> int:
        """Delete answers to people queued before `moment` that are no longer waiting: once
        sent (or given up), what they said is kept nowhere."""
        async with self.db.transaction() as tx:
            return await tx.execute(
                "DELETE FROM outbox WHERE kind = 'reply' AND created_at < :moment"
                " AND status NOT IN ('pending', 'sending')",
                {"moment": to_iso(moment)},
            )

    async def add_selected(self, tx: Tx, select: str, params: Params) -> int:
        """Queue the rows a SELECT yields, in the outbox's column order (kind, ref_id,
        dedupe_key, volunteer_id, channel, chat_id, payload, priority, paid, not_before,
        created_at); rows whose dedupe key is queued already are skipped. The SELECT must
        have a WHERE clause (SQLite reads ON CONFLICT after a bare FROM as a join's).
        Returns how many were queued."""
        return await tx.execute(
            f"INSERT INTO outbox ({_COLUMNS}) {select} ON CONFLICT (dedupe_key) DO NOTHING",
            params,
        )

    async def show_latest(self, envelope: Envelope, key: str, now: datetime) -> bool:
        """Show the latest state of a message the system keeps up to date (a broadcast's
        progress): the first one is queued under `key`; later states rewrite it while it
        waits, else edit the sent message in place (an edit still waiting is rewritten, so a
        burst costs one edit). False, with nothing queued, while the first one is being sent
        (its message id is not known yet): ask again later."""
        async with self.db.transaction() as tx:
            first = await tx.fetch_one(
                "SELECT id, status, message_id FROM outbox WHERE dedupe_key = :key", {"key": key}
            )
            if first is None:
                await self.add([replace(envelope, dedupe_key=key)], now, tx)
                return True
            if first["status"] == DeliveryStatus.PENDING:
                await tx.execute(
                    "UPDATE outbox SET payload = :payload WHERE id = :id",
                    {"payload": envelope.outbound.to_json(), "id": first["id"]},
                )
                return True
            if first["status"] == DeliveryStatus.SENDING:
                return False
            message_id = first["message_id"] or ""
            outbound = replace(envelope.outbound, edit_message_id=message_id)
            changed = await tx.execute(
                "UPDATE outbox SET payload = :payload WHERE dedupe_key = :edit"
                " AND status = 'pending'",
                {"payload": outbound.to_json(), "edit": f"{key}:edit"},
            )
            if changed:
                return True
            # The edit's key is freed once it has been sent, so the next state queues anew.
            await tx.execute(
                "UPDATE outbox SET dedupe_key = NULL WHERE dedupe_key = :edit",
                {"edit": f"{key}:edit"},
            )
            await self.add(
                [replace(envelope, outbound=outbound, dedupe_key=f"{key}:edit")], now, tx
            )
            return True

    async def shown(self, key: str) -> Shown | None:
        """Where the first message queued under `key` stands, or None if there is none."""
        row = await self.db.fetch_one(
            "SELECT status, message_id FROM outbox WHERE dedupe_key = :key", {"key": key}
        )
        if row is None:
            return None
        return Shown(DeliveryStatus(row["status"]), row["message_id"] or "")

    # -- sending --------------------------------------------------------------------------

    async def claim(
        self,
        channel: str,
        now: datetime,
        limit: int,
        quiet_until: QuietUntil | None = None,
        *,
        below: int | None = None,
    ) -> list[Delivery]:
        """Mark up to `limit` due rows as sending (most urgent first, then first due) and
        return them; with `below`, only rows more urgent than that rank (a page while a
        broadcast is in hand).

        Rows for volunteers who stopped (or, for broadcasts, paused) since they were queued
        are withdrawn here, at send time, rather than sent. With `quiet_until`, ordinary
        broadcast rows whose recipient has entered their quiet hours since the broadcast
        started wait for the morning instead.

        The rows are picked rank by rank through the `outbox_pending` index (each step reads
        only what it returns) and then written by id: the cost, and the time the writer is
        held, are the same with 1,000 or 200,000 rows waiting.
        """
        stamp = to_iso(now)
        below = 99 if below is None else int(below)
        # The sender asks every second; a read on the reader connection spares the writer
        # lock (and everyone waiting on it) when nothing waits at all.
        if not await self.db.fetch_value(
            f"SELECT EXISTS (SELECT 1 FROM outbox WHERE {_PENDING} AND priority < :below)",
            {"channel": channel, "below": below},
        ):
            return []
        async with self.db.transaction() as tx:
            # Picked inside the transaction: a page queued a moment ago is seen, and taken
            # before what is less urgent.
            picked = await self._due(tx, channel, stamp, limit, below)
            skipped = [{"reason": r["skip"], "id": r["id"]} for r in picked if r["skip"]]
            held: list[dict[str, Any]] = []
            if quiet_until is not None:
                for r in picked:
                    if not r["skip"] and r["kind"] == "broadcast" and r["priority"] == BULK:
                        until = quiet_until(now, r["timezone"] or "", r["quiet_hours"])
                        if until is not None:
                            held.append({"until": to_iso(until), "id": r["id"]})
            held_ids = {h["id"] for h in held}
            wanted = [r["id"] for r in picked if not r["skip"] and r["id"] not in held_ids]
            if skipped:
                await tx.execute_many(
                    "UPDATE outbox SET status = 'cancelled', last_error = :reason,"
                    f" {_BLANK_ANSWER} WHERE id = :id",
                    skipped,
                )
            if held:
                await tx.execute_many("UPDATE outbox SET not_before = :until WHERE id = :id", held)
            if not wanted:
                return []
            ids, params = in_list("id", wanted)
            # Still pending: on PostgreSQL another process may have withdrawn a row (a
            # cancelled broadcast, a blocked chat) since it was picked; its write is kept.
            rows = await tx.fetch_all(
                "UPDATE outbox SET status = 'sending', claimed_at = :now, attempts = attempts + 1"
                f" WHERE id IN ({ids}) AND status = 'pending'"
                " RETURNING id, kind, ref_id, volunteer_id, channel, chat_id, payload, priority,"
                " attempts",
                {"now": stamp, **params},
            )
        order = {row_id: index for index, row_id in enumerate(wanted)}
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
        return sorted(deliveries, key=lambda d: order[d.id])

    @staticmethod
    async def _due(tx: Tx, channel: str, stamp: str, limit: int, below: int) -> list[Any]:
        """Up to `limit` due rows, rank by rank, with what decides whether they still go."""
        picked: list[Any] = []
        rank = -1
        while len(picked) < limit:
            # The next rank with anything pending (due or not): one step down the index.
            rank = await tx.fetch_value(
                f"SELECT MIN(priority) FROM outbox WHERE {_PENDING}"
                " AND priority > :after AND priority < :below",
                {"channel": channel, "after": rank, "below": below},
            )
            if rank is None:
                break
            picked += await tx.fetch_all(
                f"SELECT o.id, o.kind, o.priority, v.timezone, v.quiet_hours,"
                f" {_SKIP_REASON} AS skip FROM (SELECT id, kind, priority, volunteer_id,"
                f" not_before FROM outbox WHERE {_PENDING} AND priority = :rank"
                " AND not_before <= :now ORDER BY not_before, id LIMIT :limit) o"
                " LEFT JOIN volunteers v ON v.id = o.volunteer_id"
                " ORDER BY o.not_before, o.id",
                {"channel": channel, "rank": rank, "now": stamp, "limit": limit - len(picked)},
            )
        return picked

    async def settle_many(self, outcomes: Sequence[Settlement], now: datetime) -> None:
        """Record how several sends ended, in one transaction. An answer keeps none of its
        words once it left (or never will): only what pacing reads (chat, moment, rank); an
        answer to someone erased meanwhile (/forget's own) keeps not even where it went, and
        a row erasure blanked gets no message id back."""
        stamp = to_iso(now)
        retries = [
            {"until": to_iso(o.retry_at), "error": o.error[:500], "id": o.id}
            for o in outcomes
            if o.retry_at is not None and o.tried
        ]
        behind = [
            {"until": to_iso(o.retry_at), "id": o.id}
            for o in outcomes
            if o.retry_at is not None and not o.tried
        ]
        final = [
            {
                "status": o.status,
                "now": stamp,
                "message_id": o.message_id or None,
                "error": o.error[:500] or None,
                "id": o.id,
            }
            for o in outcomes
            if o.retry_at is None
        ]
        forgotten = False
        async with self.db.transaction() as tx:
            if retries:
                await tx.execute_many(
                    "UPDATE outbox SET status = 'pending', not_before = :until,"
                    " last_error = :error WHERE id = :id AND status = 'sending'",
                    retries,
                )
            if behind:
                await tx.execute_many(
                    "UPDATE outbox SET status = 'pending', not_before = :until,"
                    " attempts = attempts - 1 WHERE id = :id AND status = 'sending'",
                    behind,
                )
            if final:
                ids, params = in_list("id", [row["id"] for row in final])
                forgotten = bool(
                    await tx.fetch_value(
                        f"SELECT EXISTS (SELECT 1 FROM outbox WHERE id IN ({ids})"
                        f" AND status = 'sending' AND chat_id <> '' AND {_ERASED_ROW})",
                        params,
                    )
                )
                await tx.execute_many(_SETTLE, final)
        if forgotten:
            # The chat of someone erased (in /forget's own answers) is no longer in the
            # row, but SQLite's log and the file's old page still hold it until folded.
            await self.db.checkpoint()

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
        """Record how one send ended (as `settle_many` does); `retry_at` puts the row back
        in the queue."""
        await self.settle_many([Settlement(delivery_id, status, message_id, error, retry_at)], now)

    async def release(self, delivery_ids: Sequence[int]) -> int:
        """Claimed rows that never left (clean shutdown): back to pending, attempt not counted."""
        if not delivery_ids:
            return 0
        ids, params = in_list("id", delivery_ids)
        attempts = self.db.dialect.greatest("attempts - 1", "0")
        async with self.db.transaction() as tx:
            return await tx.execute(
                f"UPDATE outbox SET status = 'pending', attempts = {attempts}"
                f" WHERE status = 'sending' AND id IN ({ids})",
                params,
            )

    async def mark_unreachable(self, channel: str, chat_id: str, now: datetime) -> None:
        """A blocked chat: flag its identity and drop what else waits for it."""
        where = {"channel": channel, "chat_id": chat_id}
        async with self.db.transaction() as tx:
            await VolunteerRepository.mark_unreachable(tx, channel, chat_id, now)
            await tx.execute(
                f"UPDATE outbox SET status = 'blocked', last_error = 'unreachable', {_BLANK_ANSWER}"
                " WHERE status = 'pending' AND channel = :channel AND chat_id = :chat_id",
                where,
            )

    async def recent_sends(self, channel: str, since: datetime) -> list[RecentSend]:
        """What one messenger's lane sent since a moment (settled rows, through the
        `outbox_sent` index), and what it has in hand now (rows still 'sending', with no
        moment): a new sender's pace starts from these."""
        rows = await self.db.fetch_all(
            "SELECT chat_id, sent_at, priority, paid FROM outbox"
            " WHERE channel = :channel AND sent_at >= :since"
            " UNION ALL SELECT chat_id, NULL, priority, paid FROM outbox"
            " WHERE status = 'sending' AND channel = :channel",
            {"channel": channel, "since": to_iso(since)},
        )
        return [
            RecentSend(
                r["chat_id"],
                from_iso(r["sent_at"]) if r["sent_at"] else None,
                r["priority"],
                bool(r["paid"]),
            )
            for r in rows
        ]

    async def recover(
        self,
        now: datetime,
        lease: timedelta = timedelta(minutes=5),
        *,
        resend: bool = True,
        channel: str | None = None,
        keep: Sequence[int] = (),
    ) -> int:
        """After a crash: rows left 'sending' may or may not have left. `resend` queues them
        again (at-least-once: a missed mobilization costs more than a rare duplicate);
        otherwise they are marked uncertain and never resent (at-most-once). With `channel`,
        only that messenger's rows (its new sender takes over from a dead one)."""
        if resend:
            change = "status = 'pending', last_error = 'interrupted while sending; sent again'"
        else:
            change = "status = 'uncertain', last_error = 'interrupted while sending'"
        sql = f"UPDATE outbox SET {change} WHERE status = 'sending' AND claimed_at <= :since"
        params: dict[str, Any] = {"since": to_iso(now - lease)}
        if channel is not None:
            sql += " AND channel = :channel"
            params["channel"] = channel
        if keep:
            # Rows in this process's hands (`keep`: their lane sends them) are not lost.
            ids, kept = in_list("keep", keep)
            sql += f" AND id NOT IN ({ids})"
            params.update(kept)
        async with self.db.transaction() as tx:
            return await tx.execute(sql, params)

    # -- what was queued ------------------------------------------------------------------

    async def counts(self, kind: str, ref_id: int) -> dict[str, int]:
        """How many rows of one broadcast/alert are in each state."""
        rows = await self.db.fetch_all(
            "SELECT status, COUNT(*) AS n FROM outbox WHERE kind = :kind AND ref_id = :ref_id"
            " GROUP BY status",
            {"kind": kind, "ref_id": ref_id},
        )
        return {row["status"]: row["n"] for row in rows}

    async def last_not_before(self, kind: str, ref_id: int) -> str | None:
        """When the last row still waiting of one broadcast may be sent (ISO), if any waits."""
        value = await self.db.fetch_value(
            "SELECT MAX(not_before) FROM outbox WHERE kind = :kind AND ref_id = :ref_id"
            " AND status = 'pending'",
            {"kind": kind, "ref_id": ref_id},
        )
        return str(value) if value else None

    async def cancel(
        self, kind: str, ref_id: int, *, reason: str | None = None, tx: Tx | None = None
    ) -> int:
        """Withdraw what has not been sent yet of one broadcast, task, incident…"""
        async with self._within(tx) as within:
            return await within.execute(
                "UPDATE outbox SET status = 'cancelled', last_error = COALESCE(:reason, last_error)"
                " WHERE kind = :kind AND ref_id = :ref_id AND status = 'pending'",
                {"reason": reason, "kind": kind, "ref_id": ref_id},
            )

    # -- rows other modules change (kept here: this module is the outbox's one writer) ----

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

    # -- erasure: called by bot/storage/personal_data.py inside the one erasure transaction,
    # so the outbox stays the only writer of its rows.

    @staticmethod
    async def erase_volunteer(tx: Tx, volunteer_id: int, chats: Iterable[tuple[str, str]]) -> None:
        """Keep a volunteer's outbox rows (delivery counts stay right) but not what they said
        nor where; what was still waiting is cancelled. Rows queued to one of their `chats`
        before the volunteer was known are theirs too."""
        await tx.execute_many(
            "UPDATE outbox SET volunteer_id = :volunteer WHERE channel = :channel"
            " AND chat_id = :chat AND volunteer_id IS NULL",
            [{"volunteer": volunteer_id, "channel": c, "chat": chat} for c, chat in chats],
        )
        await tx.execute(
            "UPDATE outbox SET payload = '{}', chat_id = '', dedupe_key = NULL,"
            " message_id = NULL, last_error = NULL, status = CASE WHEN status = 'pending'"
            " THEN 'cancelled' ELSE status END WHERE volunteer_id = :volunteer",
            {"volunteer": volunteer_id},
        )

    # -- messages the system keeps up to date (pages, riposte boards) ---------------------
    # Rapid response edits what it queued: a page's count grows, a board's counts change,
    # a page nobody saw yet becomes "taken by", an erased reporter's words leave the pages.

    async def replace_pending(self, dedupe_key: str, outbound: Outbound) -> bool:
        """Change a message that has not left yet (a page nobody saw becomes 'taken by')."""
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE outbox SET payload = :payload WHERE dedupe_key = :key"
                " AND status = 'pending'",
                {"payload": outbound.to_json(), "key": dedupe_key},
            )
        return changed > 0

    async def cancel_pending_edits(self, kind: str, ref_id: int) -> None:
        """Withdraw edits not sent yet (a page's new count, once someone answered it) of
        messages shown with `show_latest`; the first messages stay."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE outbox SET status = 'cancelled' WHERE kind = :kind AND ref_id = :ref"
                " AND status = 'pending' AND dedupe_key LIKE :edits",
                {"kind": kind, "ref": ref_id, "edits": "%:edit"},
            )

    @staticmethod
    async def scrub_texts(
        tx: Tx, kind: str, ref_id: int, quotes: Iterable[str], name: str = ""
    ) -> None:
        """Take quoted texts (as written in the messages' markup) and a name out of every
        message of one kind about one thing, queued or sent, inside an erasure."""
        rows = await tx.fetch_all(
            "SELECT id, payload FROM outbox WHERE kind = :kind AND ref_id = :ref",
            {"kind": kind, "ref": ref_id},
        )
        longest_first = sorted(set(quotes), key=len, reverse=True)
        for row in rows:
            try:
                data = json.loads(row["payload"])
            except ValueError:
                continue
            text = original = str(data.get("text", ""))
            for quote in longest_first:
                text = text.replace(quote, "…")
            if name:
                text = _strike_word(text, name)
            if text != original:
                data["text"] = text
                await tx.execute(
                    "UPDATE outbox SET payload = :payload WHERE id = :id",
                    {"payload": json.dumps(data, ensure_ascii=False), "id": row["id"]},
                )


def _strike_word(text: str, word: str) -> str:
    """`text` with `word` replaced by '…' wherever it stands as a whole word."""

    def wordy(index: int) -> bool:
        return 0 <= index < len(text) and (text[index].isalnum() or text[index] == "_")

    parts, start, at = [], 0, text.find(word)
    while at != -1:
        end = at + len(word)
        if wordy(at - 1) or wordy(end):
            at = text.find(word, at + 1)
            continue
        parts += [text[start:at], "…"]
        start = end
        at = text.find(word, end)
    return "".join(parts) + text[start:]
