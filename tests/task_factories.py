"""Volunteers, teams and tasks for the task tests, created through repository helpers."""

from __future__ import annotations

from typing import Any

from bot.domain.tasks import Task, TaskDraft
from bot.services import Services
from bot.services.people import Actor
from tools import seed


async def volunteer(services: Services, user_id: str, **profile: Any) -> int:
    """An active volunteer reachable on Telegram as `user_id` (profile fields overridable)."""
    profile.setdefault("first_name", f"V{user_id}")
    return await seed.add_volunteer(services.db, services.clock.now(), user_id=user_id, **profile)


async def team(services: Services, name: str) -> int:
    return await seed.add_team(services.db, name, services.clock.now())


async def task(services: Services, kind: str = "custom", **fields: Any) -> Task:
    """A published task, created as the admin command line would."""
    fields.setdefault("title", f"A {kind} task")
    return await services.tasks.create(Actor.system(), TaskDraft(kind=kind, **fields))
