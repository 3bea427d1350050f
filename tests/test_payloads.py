"""Button payloads: every declared kind packs and parses back, and nothing else gets in.

Property tests (Hypothesis) over every kind in bot/payloads.py, then the real router with
every handler watched: a forged, cut or hostile payload never reaches a handler, never
raises, and is answered "expired" with nothing stored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Literal, get_args, get_origin

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.payloads import MAX_ID, Payload, declared, fields_of, parse
from bot.router import FloodGate, Request, Router
from bot.services import Services
from tests.factories import make_volunteer
from tests.fakes.chat import Chat

KINDS = [kind for kind in declared() if kind.__module__ == "bot.payloads"]


def values(kind: Any) -> st.SearchStrategy[Any]:
    if kind is int:
        return st.integers(0, MAX_ID)
    if kind is str:
        return st.from_regex(r"[A-Za-z0-9_-]{1,8}", fullmatch=True)
    assert get_origin(kind) is Literal
    return st.sampled_from(get_args(kind))


def instances(kind: type[Payload]) -> st.SearchStrategy[Payload]:
    return st.builds(kind, **{name: values(field) for name, field in fields_of(kind)})


every_payload = st.one_of(*(instances(kind) for kind in KINDS))


def test_every_kind_is_a_frozen_dataclass_with_a_prefix() -> None:
    assert len(KINDS) >= 30
    for kind in KINDS:
        assert dataclasses.is_dataclass(kind) and kind.prefix, kind
        assert ":" not in kind.prefix


@settings(max_examples=400, deadline=None)
@given(every_payload)
def test_pack_then_parse_gives_the_same_button_back(payload: Payload) -> None:
    data = payload.pack()
    assert len(data.encode()) <= 64
    # Parsed among all kinds at once: no two kinds can read the same payload.
    assert parse(data, KINDS) == payload
    assert type(parse(data, KINDS)) is type(payload)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=80))
def test_random_text_is_refused_or_read_exactly(data: str) -> None:
    parsed = parse(data, KINDS)
    assert parsed is None or parsed.pack() == data


def hostile(payload: Payload) -> list[str]:
    """Near misses of a real payload: cut, stretched, numbers that int() would mangle."""
    data = payload.pack()
    head, _, tail = data.rpartition(":")
    return [
        data + ":",
        data + ":1",
        head,
        data.upper() if data.upper() != data else data + "x",
        f"{head}:²" if head else "²",
        f"{head}:٣" if head else "٣",
        f"{head}:-1" if head else "-1",
        f"{head}:0{tail}" if tail.isdigit() else f"{head}:{tail} ",
        f"{head}:{MAX_ID + 1}" if tail.isdigit() else f"{head}:<b>{tail}</b>",
        data.replace(":", "::", 1),
        data + "\x00",
        " " + data,
    ]


@settings(max_examples=300, deadline=None)
@given(every_payload)
def test_near_misses_of_real_payloads_are_refused(payload: Payload) -> None:
    for data in hostile(payload):
        parsed = parse(data, KINDS)
        assert parsed is None or parsed.pack() == data, data


def test_a_payload_that_does_not_fit_its_declaration_cannot_be_packed() -> None:
    from bot.payloads import TaskCard

    with pytest.raises(ValueError):
        TaskCard("acc", -1).pack()
    with pytest.raises(ValueError):
        TaskCard("nope", 1).pack()  # type: ignore[arg-type]


@pytest.fixture
def watched(router: Router) -> list[Payload | None]:
    """Every handler of every button kind records what it was given."""
    seen: list[Payload | None] = []
    for registered in router.choices.values():
        for index, (kind, handler) in enumerate(registered):

            async def spy(request: Request, handler: Any = handler) -> Any:
                seen.append(request.payload)
                return await handler(request)

            registered[index] = (kind, spy)
    return seen


def samples(kind: type[Payload], end: int) -> Payload:
    """One real payload of `kind`: the first (end=0) or last (end=-1) value of each field."""
    picks: dict[str, Any] = {}
    for name, field in fields_of(kind):
        if field is int:
            picks[name] = (1, MAX_ID)[end]
        elif field is str:
            picks[name] = ("a", "t12")[end]
        else:
            picks[name] = get_args(field)[end]
    return kind(**picks)


CORPUS = [samples(kind, end) for kind in KINDS for end in (0, -1)]


async def test_forged_payloads_never_reach_a_handler_and_change_nothing(
    router: Router,
    services: Services,
    chat: Callable[..., Chat],
    watched: list[Payload | None],
) -> None:
    router.flood = FloodGate(limit=100_000)
    await make_volunteer(services, "100")
    before = await services.db.fetch_value("SELECT COUNT(*) FROM conversations")
    person = chat("100")
    forged = [bad for payload in CORPUS for bad in hostile(payload)]
    forged += [":", "task", "task:acc:²", "duty:", "duty:on:1", "tadm:ef:1:title:x"]
    for data in forged:
        if parse(data, KINDS) is not None:
            continue  # a near miss that happens to be another real payload
        replies = await person.tap_data(data)
        assert person.texts(replies) == "Ce bouton a expiré. Rien n'a été modifié.", data
    assert watched == []
    assert await services.db.fetch_value("SELECT COUNT(*) FROM conversations") == before
    # Real payloads do reach their handler, typed.
    for payload in CORPUS:
        await person.tap_data(payload.pack())
    assert watched == CORPUS
