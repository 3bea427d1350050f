"""Broadcasts: what an organizer sends to a segment of the campaign, and who it is for."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class BroadcastStatus(StrEnum):
    SCHEDULED = "scheduled"
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Audience:
    """Who a broadcast is for: every filter given must match (empty = everyone in scope)."""

    teams: tuple[str, ...] = ()
    areas: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    active_days: int | None = None
    # Within `km` of a French commune's centre: (INSEE code, latitude, longitude, km).
    around: tuple[str, float, float, float] | None = None

    def describe(self) -> str:
        """The same words the command line and the wizard accept: 'team:Nord skill:call'."""
        words = [f"team:{t}" for t in self.teams]
        words += [f"area:{a}" for a in self.areas]
        words += [f"skill:{s}" for s in self.skills]
        words += [f"lang:{lang}" for lang in self.languages]
        if self.active_days is not None:
            words.append(f"active:{self.active_days}")
        if self.around is not None:
            code, _lat, _lon, km = self.around
            words.append(f"near:{code}:{km:g}")
        return " ".join(shlex.quote(word) for word in words)


@dataclass(frozen=True, slots=True)
class Broadcast:
    """One broadcast, from draft figures to delivery report (moments in UTC)."""

    id: int
    created_by: int | None
    origin_channel: str
    origin_chat_id: str
    language: str
    body: str
    variants: Mapping[str, str]
    buttons: tuple[tuple[str, str, str], ...]  # (label, url, payload): a link or a tap
    audience: str
    scope: frozenset[int] | None
    urgent: bool
    paid: bool
    status: BroadcastStatus
    send_at: datetime
    recipients: int
    progress_text: str
    started_at: datetime | None
    finished_at: datetime | None
    created_at: datetime
    # Recipients are still being written into the outbox (in short steps).
    queueing: bool = False


@dataclass(frozen=True, slots=True)
class NewBroadcast:
    """What an organizer (or the command line) asks to send."""

    language: str
    body: str
    send_at: datetime
    audience: Audience = Audience()
    scope: frozenset[int] | None = None
    variants: Mapping[str, str] = field(default_factory=dict)
    buttons: tuple[tuple[str, str, str], ...] = ()
    urgent: bool = False
    paid: bool = False
    created_by: int | None = None
    origin_channel: str = ""
    origin_chat_id: str = ""
