"""A crowd presses /start at once against a Bot API stricter than Relais' own pace: every
answer arrives, exactly once and in order, and each 429 pauses the whole Telegram lane."""

from __future__ import annotations

import time
from collections import defaultdict

import pytest

from bot.app import Relais
from bot.messaging import Outbound, RateLimited
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
    # A loaded machine may not reach twenty a second: the tenth send is refused whatever
    # the pace, so that there is always a refusal to hold the lane.
    sends = [0]

    def count(call: SentCall) -> None:
        if call.method == "sendMessage":
            sends[0] += 1
            if sends[0] == 9:
                api.fail_next("sendMessage", 429)

    api.on_call = count
    async with api, running_relais(telegram_env(api, database_url), clock) as relais:
        started, refusals = _watch_sends(relais)
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
            # A generous wait for the next call: a loaded machine is slow, never wrong.
            await api.wait_for(lambda _call: True, timeout=120, since=len(api.sent))

    # What everyone saw in the end, after the bot stopped: nothing missing, nothing twice.
    seen.clear()
    for call in api.sent:
        if call.ok and isinstance(call.chat_id, int) and call.chat_id >= FIRST:
            seen[call.chat_id].append(_stage(call))
    for n in range(PEOPLE):
        assert seen[FIRST + n] == (EXPECTED if n < TAPPING else EXPECTED[:1]), FIRST + n
    # The server did refuse some sends, and each refusal held the whole lane: once Relais
    # had the 429, no new message left for the time it asked for (but those the lane had
    # already handed out). Counted from when Relais got the refusal, not when the server
    # sent it: on a loaded machine the lane may go on for a while before it hears of it.
    assert refusals and any(c.status == 429 for c in api.sent)
    for refused_at, wait in refusals:
        during = [t for t in started if 0 < t - refused_at < 0.9 * wait]
        # Without the pause the lane would go on at its pace: a dozen or more in that time.
        assert len(during) <= 4, (refused_at, during)


def _watch_sends(relais: Relais) -> tuple[list[float], list[tuple[float, float]]]:
    """When each new message began to be sent, and when each 429 reached the lane (with
    the seconds it asked for), on this process's monotonic clock."""
    started: list[float] = []
    refusals: list[tuple[float, float]] = []
    telegram = relais.telegram
    assert telegram is not None
    deliver = telegram.deliver

    async def watched(chat_id: str, outbound: Outbound) -> str:
        if not outbound.edit_message_id:
            started.append(time.monotonic())
        try:
            return await deliver(chat_id, outbound)
        except RateLimited as exc:
            refusals.append((time.monotonic(), exc.retry_after))
            raise

    telegram.deliver = watched  # type: ignore[method-assign]
    return started, refusals


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
