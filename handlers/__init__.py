"""Transport-neutral flows, one module per thing a person does with Relais."""

from __future__ import annotations

from types import ModuleType

from bot.router import Router
from handlers import (
    alerts,
    broadcasts,
    calls,
    dashboard,
    duty,
    help,
    incidents,
    link,
    newtask,
    onboarding,
    privacy,
    profile,
    reports,
    riposte,
    settings,
    task_admin,
    tasks,
    teams,
    volunteers,
)

# Order matters only for fallbacks: the first module's fallback is tried first.
FLOWS: tuple[ModuleType, ...] = (
    onboarding,
    profile,
    settings,
    privacy,
    teams,
    volunteers,
    tasks,
    calls,
    newtask,
    task_admin,
    alerts,
    duty,
    incidents,
    riposte,
    broadcasts,
    reports,
    link,
    dashboard,
    help,
)


def register(router: Router) -> None:
    """Wire every flow's commands, buttons and steps into the router."""
    for module in FLOWS:
        module.register(router)
