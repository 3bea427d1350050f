"""A bare python-telegram-bot echo bot: the framework's own ceiling, for comparison.

Run as `python bench/_echo_bot.py BASE_URL [httpx|aiohttp]`; it answers every text with the
same text, one update after the other (PTB's default). `aiohttp` plugs in the request
backend Relais itself uses (bot/transports/telegram_http.py).
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    """Sends the text back."""
    if update.effective_message and update.effective_message.text:
        await update.effective_message.reply_text(update.effective_message.text)


async def main(base_url: str, backend: str) -> None:
    builder = ApplicationBuilder().token("123456:ECHO-bench").base_url(base_url).job_queue(None)
    if backend == "aiohttp":
        from bot.transports.telegram_http import AiohttpRequest

        builder = builder.request(AiohttpRequest()).get_updates_request(AiohttpRequest(8))
    app = builder.build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=30)
        await stop.wait()
        await app.updater.stop()
        await app.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "httpx"))
