"""An aiogram 3 echo bot, the fastest common Python bot framework, for comparison.

Run with the environment the benchmark builds for it (aiogram is not a Relais dependency):
`bench/.venv-aiogram/bin/python bench/_echo_aiogram.py BASE_URL`.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message

dispatcher = Dispatcher()


@dispatcher.message()
async def echo(message: Message) -> None:
    """Sends the text back."""
    if message.text:
        await message.answer(message.text)


async def main(base_url: str) -> None:
    server = TelegramAPIServer.from_base(base_url.removesuffix("/bot"))
    bot = Bot("123456:ECHO-bench", session=AiohttpSession(api=server))
    loop = asyncio.get_running_loop()
    polling = asyncio.create_task(dispatcher.start_polling(bot, handle_signals=False))
    loop.add_signal_handler(signal.SIGTERM, polling.cancel)
    try:
        await polling
    except asyncio.CancelledError:
        pass
    finally:
        await bot.session.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
