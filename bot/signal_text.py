"""The words admins read about the Signal account: the CAPTCHA that pauses Signal and how
to lift it. `bot/services/signal_account.py` decides who is told; the bot hands it
`captcha_notice`."""

from __future__ import annotations

from bot.i18n import _, use_language
from bot.messaging import Outbound
from bot.services.signal_account import CAPTCHA_URL
from bot.text import esc


def captcha_notice(command: str, language: str) -> Outbound:
    """Signal is paused until an admin solves a CAPTCHA: the three steps, with `command`."""
    with use_language(language):
        return Outbound(
            "<b>"
            + _("Signal is paused: it asks for a CAPTCHA.")
            + "</b>\n"
            + _(
                "Messages to Signal volunteers wait in the outbox until it is solved. "
                "Telegram is not affected."
            )
            + "\n\n"
            + _("1. Open {url} and solve the puzzle.").format(url=CAPTCHA_URL)
            + "\n"
            + _(
                "2. Copy the address of the “Open Signal” link; the CAPTCHA is everything "
                "after signalcaptcha://"
            )
            + "\n"
            + _("3. On the server, run:")
            + f"\n<code>{esc(command)}</code>"
        )
