"""Where a chat stands in a multi-step flow."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Conversation:
    """Where a chat stands in a flow: its name, its step, what was answered so far."""

    flow: str
    step: str
    data: dict[str, Any] = field(default_factory=dict)
