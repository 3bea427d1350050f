"""Linking a volunteer's Telegram and Signal accounts with a one-time code.

`/link` on one messenger shows a code; `/link CODE` on the other attaches that account to
the same volunteer. The code is random (8 characters from 32, about 10^12 possibilities),
valid 15 minutes, used once, and only its hash is stored. Wrong codes are counted per
account (in memory): after 5 in 15 minutes, further tries are refused for a while.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.services.people import Actor
from bot.storage.audit import AuditLog
from bot.storage.link import LinkedIdentity, LinkRepository, Redeemed

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, no 1/I: read aloud, typed by hand
CODE_LENGTH = 8
CODE_LIFETIME = timedelta(minutes=15)
MAX_FAILURES = 5
FAILURE_WINDOW = 15 * 60.0


class NotJoined(Exception):
    """Only someone who joined can ask for a code; nothing was changed."""


@dataclass(frozen=True, slots=True)
class LinkCode:
    """A code to type on the other messenger, shown as ABCD-EFGH, and the messenger
    accounts already linked (preferred first), to choose where messages arrive."""

    text: str
    expires_at: datetime
    identities: tuple[LinkedIdentity, ...] = ()


def normalize_code(text: str) -> str:
    """'abcd efgh', 'ABCD-EFGH' → 'ABCDEFGH'; anything else becomes ''."""
    code = "".join(c for c in text.upper() if c.isalnum())
    if len(code) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in code):
        return ""
    return code


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


class LinkService:
    """One volunteer, several messengers."""

    def __init__(self, links: LinkRepository, audit: AuditLog, clock: Clock) -> None:
        self._links = links
        self._audit = audit
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}

    async def new_code(self, actor: Actor) -> LinkCode:
        """A fresh code for the actor's volunteer record; earlier codes stop working."""
        if actor.volunteer is None:
            raise NotJoined
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        now = self.clock.now()
        expires_at = now + CODE_LIFETIME
        await self._links.create_code(
            actor.volunteer.id, actor.identity.channel, hash_code(code), expires_at, now
        )
        identities = await self._links.identities(actor.volunteer.id)
        return LinkCode(f"{code[:4]}-{code[4:]}", expires_at, tuple(identities))

    async def redeem(self, actor: Actor, typed: str) -> Redeemed:
        """Attach the actor's account to the volunteer who asked for this code."""
        key = str(actor.identity)
        failures = self._failures.setdefault(key, deque())
        now_mono = time.monotonic()
        while failures and now_mono - failures[0] > FAILURE_WINDOW:
            failures.popleft()
        if len(failures) >= MAX_FAILURES:
            return Redeemed.LOCKED
        code = normalize_code(typed)
        outcome, volunteer_id = Redeemed.INVALID, None
        if code:
            outcome, volunteer_id = await self._links.redeem(
                hash_code(code),
                actor.identity.channel,
                actor.identity.user_id,
                actor.chat_id,
                self.clock.now(),
            )
        if outcome is Redeemed.INVALID:
            failures.append(now_mono)
        elif not failures:
            self._failures.pop(key, None)
        if outcome is Redeemed.LINKED:
            await self._audit.record(volunteer_id, "identity linked", actor.identity.channel)
        return outcome

    async def identities(self, actor: Actor) -> list[LinkedIdentity]:
        if actor.volunteer is None:
            return []
        return await self._links.identities(actor.volunteer.id)

    async def prefer(self, actor: Actor, channel: str) -> bool:
        """Offers and broadcasts go to `channel` from now on; False if not linked there."""
        if actor.volunteer is None:
            return False
        return await self._links.prefer(actor.volunteer.id, channel)

    async def purge_expired(self) -> int:
        """Forget codes whose time is up; how many."""
        return await self._links.purge_expired(self.clock.now())
