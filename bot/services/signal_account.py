"""The Signal account's health, as admins need to hear about it.

This module decides who is told and when; the words are a presenter's
(`bot/signal_text.py`), handed in by the bot (services choose no words).
"""

from __future__ import annotations

from collections.abc import Callable

from bot.clock import to_iso
from bot.domain.messages import Envelope, Priority
from bot.messaging import Outbound
from bot.services import Services

CAPTCHA_URL = "https://signalcaptchas.org/challenge/generate.html"
# The notice that Signal is paused: (the command that lifts it, the admin's language).
CaptchaNotice = Callable[[str, str], Outbound]


async def report_captcha(services: Services, token: str, notice: CaptchaNotice) -> int:
    """Tell every admin that Signal sends are paused until someone solves a CAPTCHA."""
    account = services.settings.signal_account or "ACCOUNT"
    command = (
        f"signal-cli -a {account} submitRateLimitChallenge "
        f"--challenge {token or 'TOKEN'} --captcha CAPTCHA"
    )
    episode = token[:40] or to_iso(services.clock.now())
    envelopes = []
    for address, identity, language in await services.people.admin_addresses():
        outbound = notice(command, language or services.settings.language)
        channel = address.channel if address else identity.channel
        chat_id = address.chat_id if address else identity.user_id
        envelopes.append(
            Envelope(
                "notice",
                channel,
                chat_id,
                outbound,
                volunteer_id=address.volunteer_id if address else None,
                priority=Priority.PAGE,
                dedupe_key=f"signal-captcha:{episode}:{channel}:{chat_id}",
            )
        )
    return await services.notifier.send(envelopes)
