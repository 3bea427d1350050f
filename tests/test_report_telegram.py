"""/report, a chart and an export over Telegram: the real PTB client against the fake API."""

from __future__ import annotations

from bot.app import Relais
from tests.fakes.bot_api import FakeBotAPI, UploadedFile
from tests.report_data import build_campaign


async def test_admin_gets_a_report_a_chart_and_a_csv(
    telegram_relais: Relais, bot_api: FakeBotAPI
) -> None:
    await build_campaign(telegram_relais.db)
    bot_api.send_text(1, "/report", language_code="fr")
    report = await bot_api.wait_for_text(1, "Cette semaine")
    assert "Porte-à-porte : 1 → 3 → 2" in (report.text or "")
    assert report.message_id is not None
    buttons = {label: data for row in bot_api.last_keyboard(1) for label, data in row}
    chart = next(data for label, data in buttons.items() if "Graphique" in label)
    assert chart is not None
    since = len(bot_api.sent)
    bot_api.tap(1, chart, message_id=report.message_id)
    photo = await bot_api.wait_for(
        lambda call: call.method == "sendPhoto" and call.ok, timeout=20, since=since
    )
    upload = photo.params["photo"]
    assert isinstance(upload, UploadedFile)
    assert upload.data.startswith(b"\x89PNG")
    since = len(bot_api.sent)
    bot_api.send_text(1, "/export volunteers", language_code="fr")
    document = await bot_api.wait_for(
        lambda call: call.method == "sendDocument" and call.ok, since=since
    )
    upload = document.params["document"]
    assert isinstance(upload, UploadedFile)
    assert upload.filename is not None and upload.filename.endswith(".csv")
    assert upload.data.startswith("\ufeffvolunteer,first_name".encode())
    assert "Chloé".encode() in upload.data
