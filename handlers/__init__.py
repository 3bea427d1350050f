"""Transport-neutral flows, one module per thing a person does with Relais."""

from __future__ import annotations

from types import ModuleType

from bot.router import Router
from handlers import broadcasts, help, start

# Order matters only for fallbacks: the first module's fallback is tried first.
FLOWS: tuple[ModuleType, ...] = (start, help, broadcasts)


def register(router: Router) -> None:
    """Wire every flow's commands, buttons and steps into the router."""
    for module in FLOWS:
        module.register(router)
