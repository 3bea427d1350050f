"""/link: one volunteer on Telegram and Signal, and where offers and broadcasts arrive.

Steps (no stored flow: each message stands alone):
  /link            on the messenger where the person joined → a one-time code, and when
                   several accounts are linked, a choice of the one that receives messages
  /link CODE       on the other messenger → this account joins the same volunteer
  PreferMessenger  tapped (or its number typed) → messenger X receives offers and broadcasts
"""

from __future__ import annotations

from typing import cast

from bot.domain.volunteers import Identity as LinkedIdentity
from bot.domain.volunteers import Redeemed
from bot.i18n import N_, _
from bot.messaging import Choice, Outbound, choices
from bot.payloads import Messenger, PreferMessenger
from bot.router import Reply, Request, Router, expired
from bot.services.link import NotJoined
from bot.text import esc

MESSENGERS = {"telegram": "Telegram", "signal": "Signal", "console": "Console"}


def messenger(channel: str) -> str:
    return MESSENGERS.get(channel, channel)


async def cmd_link(request: Request) -> Reply:
    """Shows a one-time code to type on the other messenger, or links this account with it."""
    links = request.services.links
    if request.inbound.args:
        outcome = await links.redeem(request.actor, request.inbound.args)
        return Outbound(_redeemed_text(outcome, request.inbound.channel))
    try:
        code = await links.new_code(request.actor)
    except NotJoined:
        return Outbound(
            _(
                "To link this account, send /link on the messenger where you already joined "
                "Relais, then type the code it gives you here, like this: /link ABCD-EFGH"
            )
        )
    text = (
        "<b>"
        + _("Link your Telegram and Signal accounts")
        + "</b>\n\n"
        + _("On your other messenger, send this to Relais:")
        + f"\n<code>/link {esc(code.text)}</code>\n"
        + _("The code works once, for 15 minutes. Never give it to anyone else.")
    )
    identities = list(code.identities)
    if len(identities) < 2:
        return Outbound(text)
    return Outbound(
        text + "\n\n" + _preferred_text(identities), choices=_prefer_choices(identities)
    )


def _redeemed_text(outcome: Redeemed, channel: str) -> str:
    if outcome is Redeemed.LINKED:
        return _(
            "Linked! This {messenger} account now belongs to your volunteer profile. Offers "
            "and broadcasts still arrive where they did; send /link to change that."
        ).format(messenger=messenger(channel))
    if outcome is Redeemed.ALREADY:
        return _("This account is already linked to your profile. Nothing was changed.")
    if outcome is Redeemed.SAME_CHANNEL:
        return _("Type this code on your other messenger, not here. Nothing was changed.")
    if outcome is Redeemed.TAKEN:
        return _(
            "This account already has its own volunteer profile, so it cannot be linked. "
            "Nothing was changed. An organizer can help you merge them."
        )
    if outcome is Redeemed.LOCKED:
        return _("Too many wrong codes. Wait 15 minutes and try again. Nothing was changed.")
    return _(
        "This code is wrong or has expired. Nothing was changed. Send /link on your other "
        "messenger to get a new one."
    )


def _preferred_text(identities: list[LinkedIdentity]) -> str:
    linked = ", ".join(messenger(i.channel) for i in identities)
    preferred = next((i for i in identities if i.preferred), identities[0])
    return _("Linked: {linked}. Offers and broadcasts arrive on {messenger}.").format(
        linked=linked, messenger=messenger(preferred.channel)
    )


def _prefer_choices(identities: list[LinkedIdentity]) -> tuple[tuple[Choice, ...], ...]:
    """One button per other messenger: 'Receive them on Signal'."""
    preferred = next((i for i in identities if i.preferred), identities[0])
    return choices(
        *(
            PreferMessenger("prefer", cast(Messenger, i.channel)).button(
                _("Receive them on {messenger}").format(messenger=messenger(i.channel))
            )
            for i in identities
            if i.channel != preferred.channel
        )
    )


async def on_prefer(request: Request) -> Reply:
    """Confirms which messenger now receives offers and broadcasts."""
    channel = request.tap(PreferMessenger).channel
    if not await request.services.links.prefer(request.actor, channel):
        return expired()
    return Outbound(
        _("Done: offers and broadcasts now arrive on {messenger}.").format(
            messenger=messenger(channel)
        ),
        edit=True,
    )


def register(router: Router) -> None:
    settings = router.services.settings
    # In the menu only where there is something to link: Telegram and Signal both running.
    both = bool(settings.telegram_token and settings.signal_cli_url)
    router.command(
        "link",
        cmd_link,
        description=N_("Link your Telegram and Signal accounts"),
        menu=both,
        arguments=True,
    )
    router.choice(PreferMessenger, on_prefer)
