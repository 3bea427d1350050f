"""Logs never hold a person's data, even at RELAIS_LOG_LEVEL=DEBUG: the bot runs as
deployed (`python -m bot`, Telegram and Signal), people join and raise an alarm, and the
whole log is searched for their names, numbers, ids, postcode, place and comment."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.relais import TOKEN, telegram_env
from tests.fakes.signal_cli import FakeSignalCli, signal_env
from tests.test_process import start_bot, stop_bot

TELEGRAM_ID = 987654321
NAME = "Zoraïde-Quintessa"
POSTCODE = "29242"
PLACE = "Hameau de Bellevue-Zorglub"
COMMENT = "Témoignage-Qwyxz : la photo date de 2019"
POST = "https://x.com/Opposant/status/1862512345678901234"
NUMBER = "+33699887766"
SIGNAL_NAME = "Ophélie-Brandywine"


async def tap(api: FakeBotAPI, label: str, since: int) -> int:
    """Wait for a button labelled `label` in the chat, tap it; return where to wait from."""
    call = await api.wait_for(
        lambda c: (
            c.ok
            and c.chat_id == TELEGRAM_ID
            and label in json.dumps(c.reply_markup or {}, ensure_ascii=False)
        ),
        timeout=20,
        since=since,
    )
    data = next(
        b["callback_data"]
        for row in (call.reply_markup or {})["inline_keyboard"]
        for b in row
        if label in b["text"]
    )
    mark = len(api.sent)
    api.tap(TELEGRAM_ID, data, message_id=call.message_id or 0, first_name=NAME)
    return mark


async def test_debug_logs_hold_nothing_about_the_people_who_use_relais(
    bot_api: FakeBotAPI, signal_cli: FakeSignalCli, database_url: str, tmp_path: Path
) -> None:
    database = database_url
    env = {
        **telegram_env(bot_api, database),
        **signal_env(signal_cli, database),
        "RELAIS_LOG_LEVEL": "DEBUG",
    }
    log_path = tmp_path / "bot.log"
    process = await start_bot(env, log_path)
    try:
        await bot_api.wait_for_requests("getUpdates", 1)  # up and polling, however slow
        bot_api.send_text(TELEGRAM_ID, "/start", first_name=NAME)
        mark = await tap(bot_api, "Français", 0)
        mark = await tap(bot_api, "J'accepte", mark)
        mark = await tap(bot_api, "Garder", mark)
        await bot_api.wait_for_text(TELEGRAM_ID, "", timeout=20, since=mark)
        bot_api.send_text(TELEGRAM_ID, f"{POSTCODE} {PLACE}", first_name=NAME)
        mark = await tap(bot_api, "Appeler", mark)
        mark = await tap(bot_api, "Terminé", mark)
        mark = await tap(bot_api, "Soirs", mark)
        mark = await tap(bot_api, "Terminé", mark)
        await bot_api.wait_for_text(TELEGRAM_ID, "Bienvenue dans l'équipe", timeout=20)
        bot_api.send_text(TELEGRAM_ID, f"/alerte {POST} {COMMENT}", first_name=NAME)
        await bot_api.wait_for_text(TELEGRAM_ID, "alerte n° 1", timeout=20)

        # On Signal, someone known only by their number writes, and the message comes twice.
        stamp = signal_cli.send_text("", "/start", number=NUMBER, name=SIGNAL_NAME)
        await signal_cli.wait_for_text(NUMBER, "Relais", timeout=20)
        seen = len(signal_cli.sent)
        signal_cli.send_text("", "/start", number=NUMBER, name=SIGNAL_NAME, timestamp=stamp)
        signal_cli.send_text("", "/help", number=NUMBER, name=SIGNAL_NAME)
        await signal_cli.wait_for_text(NUMBER, "", timeout=20, since=seen)
    finally:
        assert await stop_bot(process) == 0
    logs = log_path.read_text()
    assert "Relais is running" in logs and "replayed update" in logs
    secrets = (NAME, POSTCODE, PLACE, COMMENT, "Qwyxz", NUMBER, NUMBER[1:], SIGNAL_NAME)
    leaked = [s for s in (*secrets, str(TELEGRAM_ID)) if s in logs]
    assert leaked == [], logs[-3000:]
    assert TOKEN not in logs and TOKEN.split(":")[1] not in logs


def test_the_last_guard_masks_numbers_and_account_ids_but_not_relais_own_account() -> None:
    import logging

    from bot.logs import RedactingFormatter

    formatter = RedactingFormatter(keep=("+33600000000",))
    record = logging.LogRecord(
        "bot.x",
        logging.WARNING,
        __file__,
        1,
        "send to %s, %s and chat %s failed; solve the CAPTCHA for %s; row %d, port %d",
        (NUMBER, "a0a0a0a0-1111-4222-8333-444444444444", TELEGRAM_ID, "+33600000000", 42, 8080),
        None,
    )
    line = formatter.format(record)
    assert NUMBER not in line and "a0a0a0a0" not in line and str(TELEGRAM_ID) not in line
    assert "+33600000000" in line and "row 42, port 8080" in line
