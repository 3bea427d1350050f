"""Messenger adapters: each turns its updates into `Inbound` and renders `Outbound`."""

from __future__ import annotations

from typing import Protocol

from bot.messaging import (
    DeliveryError,
    Outbound,
    PermanentFailure,
    RateLimited,
    TransientFailure,
    UncertainDelivery,
    Unreachable,
)

__all__ = [
    "DeliveryError",
    "PermanentFailure",
    "RateLimited",
    "TransientFailure",
    "Transport",
    "UncertainDelivery",
    "Unreachable",
]


class Transport(Protocol):
    """What the core needs from a messenger."""

    channel: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def deliver(self, chat_id: str, outbound: Outbound) -> str:
        """Send one message the system initiated; return its message id."""
        ...
