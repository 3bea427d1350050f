"""Messenger adapters: each turns its updates into `Inbound` and renders `Outbound`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
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
    "answers_awaited",
    "answers_taken",
]


class Transport(Protocol):
    """What the core needs from a messenger."""

    channel: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def deliver(self, chat_id: str, outbound: Outbound) -> str:
        """Send one message the system initiated; return its message id."""
        ...


class Taken:
    """The answers a lane took while one update was handled (written with what it
    changed): each ends once sent, or once handed to the outbox to be tried again."""

    def __init__(self) -> None:
        self.answers: list[asyncio.Future[str]] = []

    async def sent(self) -> None:
        """Until every answer taken has left the lane's hands."""
        if self.answers:
            await asyncio.gather(*self.answers, return_exceptions=True)


_taking: ContextVar[Taken | None] = ContextVar("answers_taken", default=None)


@contextmanager
def answers_awaited() -> Iterator[Taken]:
    """Around an update's dispatch: the answers its messenger's lane takes are noted, so
    that the adapter that read the update shows them before reading the chat's next one
    (Signal, the console: what a number stands for is what is on screen)."""
    taken = Taken()
    token = _taking.set(taken)
    try:
        yield taken
    finally:
        _taking.reset(token)


def answers_taken(answers: Iterable[asyncio.Future[str]]) -> None:
    """A lane took an update's answers (called within the update): note them for the
    adapter awaiting them, if any."""
    taken = _taking.get()
    if taken is not None:
        taken.answers.extend(answers)
