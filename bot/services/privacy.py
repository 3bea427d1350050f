"""The volunteer's rights in the chat: /mydata (everything stored) and /forget (erasure),
and the retention purge of inactive volunteers (its warning worded by a `PrivacyWords`
presenter, bot/privacy_text.py, given by the composition root).

Each feature that stores personal data in its own tables registers how to export and
erase its part, once, at import time of its storage module:

    from bot.storage.personal_data import register_personal_data
    register_personal_data("tasks", export_tasks, erase_tasks)

`export(db, volunteer_id)` returns JSON-ready data (shown under the part's name in the
/mydata document); `erase(tx, volunteer_id, now)` runs inside the erasure transaction,
before the foundation tables are erased (identities are still there to look up chats).
Erase personal data and free text; keep anonymous rows that reports count.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any, Protocol

from bot.clock import Clock, to_iso
from bot.config import Settings
from bot.domain.messages import Envelope, Priority
from bot.messaging import ChatsErased, Inbound, Outbound
from bot.services.reports import pseudonym_key
from bot.storage.audit import AuditLog
from bot.storage.backend import Backend, Store, Tx, after_commit
from bot.storage.conversations import UpdateLog
from bot.storage.personal_data import (
    erase_core,
    export_core,
    personal_data_parts,
)
from bot.storage.volunteers import VolunteerRepository

log = logging.getLogger(__name__)

WARNING_DAYS = 30
ABANDONED_ONBOARDING = timedelta(days=30)


class PrivacyWords(Protocol):
    """The words of what the retention sweep sends on its own, in its reader's language and
    for their messenger (bot/privacy_text.py's `PrivacyText`)."""

    def retention_warning(
        self, retention_days: int, warning_days: int, language: str, channel: str
    ) -> Outbound: ...


class PrivacyService:
    """Export, erasure and retention."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        db: Store,
        volunteers: VolunteerRepository,
        audit: AuditLog,
        words: PrivacyWords,
        erasure_watchers: Sequence[ChatsErased] = (),
    ) -> None:
        self._settings = settings
        # The running messengers, told of each erasure: they forget what they kept in memory
        # of those chats (Signal's and the console's numbered lists quote the person).
        self._erasure_watchers = erasure_watchers
        self._clock = clock
        self._db = db
        self._volunteers = volunteers
        self._audit = audit
        self._words = words
        self._updates = UpdateLog(db)
        self._key: str | None = None

    # -- update keys -----------------------------------------------------------------------

    def sender_tag(self, user_id: str) -> str:
        """A Signal sender as update keys remember them: a keyed hash, never the number."""
        if self._key is None:
            self._key = pseudonym_key(self._settings)
        digest = hmac.new(self._key.encode(), f"signal-sender:{user_id}".encode(), "sha256")
        return digest.hexdigest()[:20]

    def update_key(self, inbound: Inbound) -> str:
        """The key an update is de-duplicated by and a consent refers to. Signal's is the
        message's timestamp and its sender, who may be known only by phone number: the
        sender is replaced by `sender_tag`, so the number is stored nowhere else."""
        if inbound.channel != "signal" or not inbound.update_key:
            return inbound.update_key
        stamp, _sep, sender = inbound.update_key.partition(":")
        return f"{stamp}:{self.sender_tag(sender)}"

    async def _key_endings(self, reads: Backend | Tx, volunteer_id: int) -> list[str]:
        """How this volunteer's Signal update keys end (':<tag>', or ':<sender>' before)."""
        users = await VolunteerRepository.user_ids(reads, volunteer_id, "signal")
        # Keys written before the tag held the sender itself.
        return [f":{suffix}" for u in users for suffix in (self.sender_tag(u), u)]

    # -- rights -----------------------------------------------------------------------------

    async def export(self, volunteer_id: int) -> dict[str, Any]:
        """Everything stored about a volunteer."""
        document: dict[str, Any] = {
            "generated_at": to_iso(self._clock.now()),
            "controller": self._settings.controller,
            "retention_days": self._settings.retention_days,
        }
        document.update(await export_core(self._db, volunteer_id))
        for part in personal_data_parts():
            document[part.name] = await part.export(self._db, volunteer_id)
        # Kept two days so a message delivered twice is handled once.
        document["recent_message_keys"] = await self._updates.signal_keys_ending(
            await self._key_endings(self._db, volunteer_id)
        )
        return document

    async def export_json(self, volunteer_id: int) -> bytes:
        document = await self.export(volunteer_id)
        return json.dumps(document, ensure_ascii=False, indent=2, default=str).encode("utf-8")

    async def erase(self, volunteer_id: int, *, checkpoint: bool = True) -> None:
        """Erase a volunteer's personal data everywhere, in one transaction, then fold the
        WAL into the file so nothing of it stays readable on disk (a batch of erasures may
        checkpoint once at the end instead)."""
        now = self._clock.now()
        async with self._db.transaction() as tx:
            await UpdateLog.erase_signal_keys(tx, await self._key_endings(tx, volunteer_id))
            for part in personal_data_parts():
                await part.erase(tx, volunteer_id, now)
            chats = await erase_core(tx, volunteer_id, now)
        # In the chat (/forget) once the update commits; from the command line or the
        # retention job at once.
        await after_commit(lambda: self._tell_erased(chats))
        if checkpoint:
            await self._db.checkpoint()
        log.info("volunteer %s erased", volunteer_id)

    def _tell_erased(self, chats: Sequence[tuple[str, str]]) -> None:
        for watcher in self._erasure_watchers:
            try:
                watcher(chats)
            except Exception:
                log.exception("erasure watcher failed")

    async def on_file(self, volunteer_id: int) -> bool:
        """Whether Relais holds anything about volunteer #id (not erased already)."""
        volunteer = await self._volunteers.get(volunteer_id)
        return volunteer is not None and volunteer.status != "erased"

    async def erase_at_command_line(self, volunteer_id: int) -> None:
        """An admin erases someone who cannot use the chat any more (audited)."""
        await self.erase(volunteer_id)
        await self._audit.record(None, "volunteer.erase.cli", f"volunteer:{volunteer_id}")

    # -- retention ------------------------------------------------------------------------

    async def retention_sweep(
        self, send_later: Callable[[list[Envelope]], Awaitable[int]]
    ) -> tuple[int, int]:
        """Warn members inactive for (retention − 30) days, erase those inactive for the
        whole retention period who were warned and did not answer; abandoned onboardings
        go after 30 days. `send_later` queues the warnings. Returns (warned, erased)."""
        now = self._clock.now()
        retention = timedelta(days=self._settings.retention_days)
        await self._volunteers.end_pauses(now)
        voided = await self._volunteers.void_future_warnings(now)
        if voided:
            # The clock was ahead when they were written; warn again, by this clock.
            log.warning(
                "retention: %d warnings dated in the future were voided (clock jump?)", voided
            )
        envelopes = []
        warned = await self._volunteers.to_warn_for_retention(
            now - retention + timedelta(days=WARNING_DAYS)
        )
        for volunteer in warned:
            for address in (await self._volunteers.addresses(volunteer.id))[:1]:
                envelopes.append(
                    Envelope(
                        "notice",
                        address.channel,
                        address.chat_id,
                        self._words.retention_warning(
                            self._settings.retention_days,
                            WARNING_DAYS,
                            volunteer.language,
                            address.channel,
                        ),
                        volunteer_id=volunteer.id,
                        priority=Priority.NORMAL,
                        # The day too: a warning voided by a clock jump is sent again.
                        dedupe_key=(
                            f"retention:{volunteer.id}:{to_iso(volunteer.last_active_at)}"
                            f":{to_iso(now)[:10]}"
                        ),
                    )
                )
        # Queue first, then mark: a crash in between re-sends nothing (dedupe key).
        if envelopes:
            await send_later(envelopes)
        await self._volunteers.mark_retention_warned([v.id for v in warned], now)
        to_erase = await self._volunteers.to_erase_for_retention(
            now - retention,
            # A late or early daily run still counts the warning's 30 days.
            now - timedelta(days=WARNING_DAYS) + timedelta(hours=1),
            now - ABANDONED_ONBOARDING,
        )
        for volunteer_id in to_erase:
            await self.erase(volunteer_id, checkpoint=False)
        if to_erase:
            await self._db.checkpoint()
        if warned or to_erase:
            log.info("retention: %d warned, %d erased", len(warned), len(to_erase))
        return len(warned), len(to_erase)
