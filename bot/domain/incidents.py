"""Rapid response: posts under attack (incidents), who is paged about them, and what
happened on each one's timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class IncidentStatus(StrEnum):
    """Where an incident stands: waiting for the comms team, taken, or closed."""

    NEW = "new"
    TAKEN = "taken"
    DISMISSED = "dismissed"
    HANDLED = "handled"

    @property
    def is_open(self) -> bool:
        return self in (IncidentStatus.NEW, IncidentStatus.TAKEN)


# Statuses from which an incident can still be answered.
OPEN_STATUSES = (IncidentStatus.NEW, IncidentStatus.TAKEN)


class EventKind(StrEnum):
    """One kind of line on an incident's timeline."""

    OPENED = "opened"
    PAGED = "paged"
    TAKEN = "taken"
    DISMISSED = "dismissed"
    HANDLED = "handled"
    ESCALATED = "escalated"


@dataclass(frozen=True, slots=True)
class Incident:
    """One post under attack, however many people reported it."""

    id: int
    link_key: str
    url: str  # '' for a forwarded text without a link
    summary: str
    status: IncidentStatus
    reports: int
    opened_by: int | None
    first_seen_at: datetime
    last_seen_at: datetime
    ring: int  # the last ring paged: 1 duty, 2 comms, 3 admins
    next_ring_at: datetime | None
    first_paged_at: datetime | None
    taken_by: int | None
    taken_by_name: str
    acked_at: datetime | None  # the first answer: taken, dismissed or handled
    closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class Reported:
    """What a report did: opened an incident, joined one, or was held back."""

    incident: Incident | None
    opened: bool = False
    again: bool = False  # this volunteer had already reported this post
    limited: bool = False  # too many incidents opened in the last hour


@dataclass(frozen=True, slots=True)
class Recipient:
    """Someone to message: an identity, with the volunteer behind it when there is one."""

    channel: str
    chat_id: str
    volunteer_id: int | None
    language: str
    first_name: str = ""
    quiet_hours: str | None = ""
    timezone: str = ""


@dataclass(frozen=True, slots=True)
class Page:
    """One person paged about an incident."""

    channel: str
    chat_id: str
    ring: int
    volunteer_id: int | None
    language: str
    paged_at: datetime


@dataclass(frozen=True, slots=True)
class Event:
    """One line of an incident's timeline."""

    kind: EventKind
    ring: int | None
    count: int | None
    actor_name: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ResponseTimes:
    """How fast the campaign reacted to the incidents first seen in a period."""

    incidents: int
    median_to_page_s: float | None
    median_to_answer_s: float | None
    escalated: int
