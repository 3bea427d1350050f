"""Messages Relais sends on its own: what waits in the outbox, in which order, how it ended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, StrEnum

from bot.messaging import Outbound


class Priority(IntEnum):
    """One order of priority, the same on every messenger; a lane sends the lowest first."""

    PAGE = 0  # pages to comms on duty, their escalations and updates; Signal's CAPTCHA call
    REPLY = 2  # answers to what a person just did (sent from memory; queued if they fail)
    CALL = 4  # riposte calls: volunteers asked to share a reply now
    NORMAL = 5  # offers, reminders, notices, a broadcast's progress
    URGENT_BROADCAST = 8  # broadcasts marked urgent (they also ignore quiet hours)
    BULK = 9  # broadcasts and digests


class DeliveryStatus(StrEnum):
    """Where one outbox row stands."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    BLOCKED = "blocked"
    UNCERTAIN = "uncertain"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Envelope:
    """One message to queue for one recipient; `not_before` (UTC) holds it until then."""

    kind: str
    channel: str
    chat_id: str
    outbound: Outbound
    volunteer_id: int | None = None
    ref_id: int | None = None
    priority: int = Priority.NORMAL
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
class RecentSend:
    """A message a lane sent a moment ago (`sent_at`, UTC), or had in hand (None) when its
    sender stopped: what the next sender counts against the messenger's limits."""

    chat_id: str
    sent_at: datetime | None
    priority: int
    paid: bool


@dataclass(frozen=True, slots=True)
class Settlement:
    """How one send ended; `retry_at` (UTC) puts the row back in the queue (pending).
    Not `tried`: it never left, it waits behind an earlier message to its chat (the attempt
    its claim counted is given back)."""

    id: int
    status: str
    message_id: str = ""
    error: str = ""
    retry_at: datetime | None = None
    tried: bool = True


@dataclass(frozen=True, slots=True)
class Shown:
    """A message the system keeps up to date (a broadcast's progress, a board): the state
    of the first one queued under its key."""

    status: DeliveryStatus
    message_id: str
