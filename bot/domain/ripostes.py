"""Ripostes: urgent micro-tasks sent to the rapid-response ring, and each volunteer's call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class CallAnswer(StrEnum):
    """How a called volunteer answered (Done is recorded apart, as `done_at`)."""

    ON_IT = "on_it"
    CANT = "cant"


@dataclass(frozen=True, slots=True)
class Riposte:
    """An urgent micro-task sent to the rapid-response ring."""

    id: int
    organizer_id: int | None
    channel: str
    chat_id: str  # the organizer's chat, where the live board goes ('' once erased)
    language: str
    incident_id: int | None
    url: str
    suggested_text: str
    target: int
    scope: frozenset[int] | None  # teams it may reach; None: everyone
    ring: int
    widen_at: datetime | None
    queued_ring: int
    created_at: datetime
    widened_at: datetime | None


@dataclass(frozen=True, slots=True)
class Call:
    """One volunteer called for a riposte, and how they answered."""

    riposte_id: int
    volunteer_id: int
    channel: str
    chat_id: str
    language: str
    ring: int
    called_at: datetime
    answer: CallAnswer | None
    answered_at: datetime | None
    done_at: datetime | None
