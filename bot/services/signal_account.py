"""The Signal account's health, as admins need to hear about it."""

from __future__ import annotations

from bot.clock import to_iso
from bot.domain.messages import Envelope, Priority
from bot.i18n import _, use_language
from bot.messaging import Outbound
from bot.services import Services
from bot.text import esc

CAPTCHA_URL = "https://signalcaptchas.org/challenge/generate.html"


async def report_captcha(services: Services, token: str) -> int:
    """Tell every admin that Signal sends are paused until someone solves a CAPTCHA."""
    account = services.settings.signal_account or "ACCOUNT"
    command = (
        f"signal-cli -a {account} submitRateLimitChallenge "
        f"--challenge {token or 'TOKEN'} --captcha CAPTCHA"
    )
    episode = token[:40] or to_iso(services.clock.now())
    envelopes = []
    for address, identity, language in await services.people.admin_addresses():
        with use_language(language or services.settings.language):
            text = (
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
        channel = address.channel if address else identity.channel
        chat_id = address.chat_id if address else identity.user_id
        envelopes.append(
            Envelope(
                "notice",
                channel,
                chat_id,
                Outbound(text),
                volunteer_id=address.volunteer_id if address else None,
                priority=Priority.PAGE,
                dedupe_key=f"signal-captcha:{episode}:{channel}:{chat_id}",
            )
        )
    return await services.notifier.send(envelopes)
