"""Messenger adapters: each turns its updates into `Inbound` and renders `Outbound`."""

from __future__ import annotations

from typing import Protocol

from bot.messaging import Outbound


class DeliveryError(Exception):
    """A message could not be delivered; subclasses say what to do next."""


class RateLimited(DeliveryError):
    """The messenger asks us to wait before sending anything else."""

    def __init__(self, retry_after: float, reason: str = "") -> None:
        super().__init__(reason or f"rate limited for {retry_after:g}s")
        self.retry_after = retry_after


class Unreachable(DeliveryError):
    """The person blocked the bot or left the messenger; do not try again until they write."""


class PermanentFailure(DeliveryError):
    """The message can never be delivered as it is (chat not found, bad request)."""


class TransientFailure(DeliveryError):
    """A network or server error before the message left; safe to retry later."""


class UncertainDelivery(DeliveryError):
    """The request left but no answer came back; resending could duplicate it."""


class Transport(Protocol):
    """What the core needs from a messenger."""

    channel: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def deliver(self, chat_id: str, outbound: Outbound) -> str:
        """Send one message the system initiated; return its message id."""
        ...
