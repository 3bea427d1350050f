"""The duty roster: who on the comms team is paged first, switched by hand or weekly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class DutyState(StrEnum):
    """A hand-set duty switch."""

    ON = "on"
    OFF = "off"


@dataclass(frozen=True, slots=True)
class DutySwitch:
    """On duty (until `until`, or until switched off), or off (for the rest of a slot)."""

    volunteer_id: int
    state: DutyState
    until: datetime | None

    def current(self, now: datetime) -> bool:
        """Whether the switch still holds at `now`."""
        return self.until is None or self.until > now


@dataclass(frozen=True, slots=True)
class DutySlot:
    """A weekly duty slot, in the campaign's time zone (minutes from midnight)."""

    volunteer_id: int
    weekday: int
    start_minute: int
    end_minute: int
