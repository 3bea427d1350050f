"""Count the service calls a handler makes for one update (issue #13: one use case per action).

Inside `service_calls(router)` every update's handler is given a bundle whose services
record each method called on them ("profiles.answer"); the router's own calls (the chat's
turn, who the person is) are made before and after the handler and are not counted, nor
are the calls services make on each other (those go through their own references, not the
bundle). The campaign's settings, clock, admins and messengers are facts, not use cases.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields, replace
from typing import Any

import pytest

from bot.router import Reply, Request, Router
from bot.services import Services

NOT_USE_CASES = frozenset(("settings", "clock", "admins", "messengers"))


class _Recorded:
    """A service whose method calls are written down, by name, as they are made."""

    def __init__(self, name: str, service: Any, seen: list[str]) -> None:
        self._name = name
        self._service = service
        self._seen = seen

    def __getattr__(self, attribute: str) -> Any:
        value = getattr(self._service, attribute)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            self._seen.append(f"{self._name}.{attribute}")
            return value(*args, **kwargs)

        return call


def recorded(services: Services, seen: list[str]) -> Services:
    """The same services, each call on them noted in `seen`."""
    counted = {
        f.name: _Recorded(f.name, getattr(services, f.name), seen)
        for f in fields(services)
        if f.name not in NOT_USE_CASES
    }
    return replace(services, **counted)


@contextmanager
def service_calls(router: Router) -> Iterator[list[str]]:
    """The service calls handlers make inside the block, in order, for every update."""
    seen: list[str] = []
    bundle = recorded(router.services, seen)
    route = router._route

    async def counted(request: Request) -> Reply:
        request.services = bundle
        return await route(request)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(router, "_route", counted)
        yield seen
