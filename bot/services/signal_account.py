"""The Signal account's health, as admins need to hear about it."""

from __future__ import annotations

from bot.clock import to_iso
from bot.config import Identity
from bot.domain.messages import Envelope, Priority
from bot.i18n import _, use_language
from bot.messaging import Outbound
from bot.services import Services
from bot.storage.volunteers import Address
from bot.text import esc

CAPTCHA_URL = "https://signalcaptchas.org/challenge/generate.html"


async def admin_addresses(services: Services) -> list[tuple[Address | None, Identity]]:
    """One reachable address per admin (preferred messenger first), configured or by role."""
    found: dict[tuple[str, str], tuple[Address | None, Identity]] = {}
    people: set[int] = set()
    for admin in sorted(services.admins, key=str):
        if admin.channel == "console":
            continue
        volunteer = await services.volunteers.by_identity(admin.channel, admin.user_id)
        if volunteer is not None:
            if volunteer.id in people:
                continue
            addresses = await services.volunteers.addresses(volunteer.id)
            if addresses:
                people.add(volunteer.id)
                first = addresses[0]
                found.setdefault((first.channel, first.chat_id), (first, admin))
                continue
        # Not joined (yet): write to the identity as configured.
        found.setdefault((admin.channel, admin.user_id), (None, admin))
    for address in await services.links.links.admin_addresses():
        if address.volunteer_id in people:
            continue
        people.add(address.volunteer_id)
        identity = Identity(address.channel, address.chat_id)
        found.setdefault((address.channel, address.chat_id), (address, identity))
    return list(found.values())


async def report_captcha(services: Services, token: str) -> int:
    """Tell every admin that Signal sends are paused until someone solves a CAPTCHA."""
    account = services.settings.signal_account or "ACCOUNT"
    command = (
        f"signal-cli -a {account} submitRateLimitChallenge "
        f"--challenge {token or 'TOKEN'} --captcha CAPTCHA"
    )
    episode = token[:40] or to_iso(services.clock.now())
    envelopes = []
    for address, identity in await admin_addresses(services):
        language = services.settings.language
        if address is not None:
            volunteer = await services.volunteers.get(address.volunteer_id)
            language = volunteer.language if volunteer else language
        with use_language(language):
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
