"""A crowd presses /start at once against a Bot API stricter than Relais' own pace: every
answer arrives, exactly once and in order, and each 429 pauses the whole Telegram lane."""

from __future__ import annotations

from collections import defaultdict

import pytest

from tests.fakes.bot_api import FakeBotAPI, SentCall
from tests.fakes.clock import FakeClock
from tests.fakes.relais import running_relais, telegram_env

PEOPLE = 40
TAPPING = 10  # the first ten go on through the privacy notice
FIRST = 70_000
# What a newcomer who agrees sees, in order (sends and edits of the tapped message).
EXPECTED = ["language", "consent", "agreed", "thanks", "name"]


def _stage(call: SentCall) -> str:
    markup = call.reply_markup or {}
    buttons = {b.get("callback_data", "") for row in markup.get("inline_keyboard", []) for b in row}
    if call.method == "sendMessage" and any(b.startswith("ob:lang:") for b in buttons):
        return "language"
    if call.method == "sendMessage" and "ob:name:keep" in buttons:
        return "name"
    if call.method == "sendMessage" and not buttons:
        return "thanks"
    if call.method == "editMessageText" and "ob:consent:yes" in buttons:
        return "consent"
    if call.method == "editMessageText" and not buttons:
        return "agreed"
    return f"{call.method}?"


@pytest.mark.slow
async def test_a_crowd_gets_every_answer_once_in_order_and_429_pauses_the_lane(
    database_url: str, clock: FakeClock
) -> None:
    # Twenty sends a second allowed where Relais paces itself for thirty: the server will
    # refuse some, as Telegram does when it is busier than usual.
    api = FakeBotAPI(limit_global_per_s=20, limit_per_chat_per_s=1)
    async with api, running_relais(telegram_env(api, database_url), clock):
        seen: defaultdict[int, list[str]] = defaultdict(list)
        tapped: set[tuple[int, str]] = set()
        for n in range(PEOPLE):
            api.send_text(FIRST + n, "/start", language_code="fr")

        def done() -> bool:
            seen.clear()
            for call in api.sent:
                if call.ok and isinstance(call.chat_id, int) and call.chat_id >= FIRST:
                    seen[call.chat_id].append(_stage(call))
                    _tap_through(api, call, tapped)
            everyone = all(seen[FIRST + n][:1] == ["language"] for n in range(PEOPLE))
            tappers = all(len(seen[FIRST + n]) >= len(EXPECTED) for n in range(TAPPING))
            return everyone and tappers

        while not done():
            await api.wait_for(lambda _call: True, timeout=30, since=len(api.sent))
        refused = [c for c in api.sent if c.status == 429]

    # What everyone saw in the end, after the bot stopped: nothing missing, nothing twice.
    seen.clear()
    for call in api.sent:
        if call.ok and isinstance(call.chat_id, int) and call.chat_id >= FIRST:
            seen[call.chat_id].append(_stage(call))
    for n in range(PEOPLE):
        assert seen[FIRST + n] == (EXPECTED if n < TAPPING else EXPECTED[:1]), FIRST + n
    # The server did refuse some sends, and each refusal held the whole lane: at most the
    # sends already on their way when the 429 came back arrived in the second it asked for.
    assert refused
    for no in refused:
        during = [
            c
            for c in api.sent
            if c.ok and c.method == "sendMessage" and 0 < c.timestamp - no.timestamp < 0.9
        ]
        # Without the pause the lane would go on at its pace and the server would take a
        # dozen or more of them in that second, as its window frees.
        assert len(during) <= 4, [str(c) for c in during]


def _tap_through(api: FakeBotAPI, call: SentCall, tapped: set[tuple[int, str]]) -> None:
    """The first TAPPING people answer: French, then "I agree"."""
    assert isinstance(call.chat_id, int)
    if call.chat_id - FIRST >= TAPPING:
        return
    stage = _stage(call)
    data = {"language": "ob:lang:fr", "consent": "ob:consent:yes"}.get(stage)
    if data and (call.chat_id, stage) not in tapped:
        tapped.add((call.chat_id, stage))
        api.tap(call.chat_id, data, message_id=call.message_id or 0, language_code="fr")
