"""A volunteer's own settings: the rapid-response ring, the leaderboard, their quiet hours
and their time zone — as commands and from /profile.

Steps (flow "settings", one question at a time):
  quiet   "22:00-08:00", or a tap: the campaign's hours / none     typed hours, or a tap
  zone    "Europe/London" or a city ("London"), or the campaign's   typed zone, or a tap
"""

from __future__ import annotations

from bot.i18n import N_, _, worded
from bot.messaging import Outbound, choices
from bot.payloads import Setting
from bot.router import Reply, Request, Router, expired
from bot.services.volunteers import Invalid, Volunteer
from bot.text import clean, esc
from handlers.joining_text import answer_problem
from handlers.onboarding import member_or_prompt
from handlers.profile_text import offset_text, quiet_text, settings_choices, zone_text

FLOW = "settings"
ON = frozenset(("on", "yes", "oui", "join", "rejoindre", "in"))
OFF = frozenset(("off", "no", "non", "leave", "quitter", "out"))


# -- the ring and the leaderboard ---------------------------------------------------------------


async def cmd_ring(request: Request) -> Reply:
    """Joins or leaves the rapid-response ring (/ring on, /ring off), or says where one is."""
    volunteer = await member_or_prompt(request)
    if isinstance(volunteer, Outbound):
        return volunteer
    word = request.inbound.args.strip().lower()
    if word in ON or word in OFF:
        return await _set_ring(request, volunteer, word in ON)
    if word:
        return Outbound(_("Send /ring on to join the rapid-response ring, /ring off to leave."))
    return _ring_card(volunteer)


def _ring_card(volunteer: Volunteer) -> Outbound:
    state = (
        _(
            "You are in the rapid-response ring: when a post attacks the campaign, you may "
            "be called to answer it within minutes (never during your quiet hours)."
        )
        if volunteer.rapid_response
        else _(
            "You are not in the rapid-response ring. Join it to be called when a post "
            "attacking the campaign must be answered within minutes (never during your "
            "quiet hours)."
        )
    )
    return Outbound(state, choices=choices(settings_choices(volunteer)[0][0]))


async def _set_ring(request: Request, volunteer: Volunteer, on: bool, edit: bool = False) -> Reply:
    await request.services.profiles.set_rapid_response(volunteer, on)
    return Outbound(
        _("Done: you are in the rapid-response ring. /ring off leaves it.")
        if on
        else _("Done: you left the rapid-response ring. /ring on brings you back."),
        edit=edit,
    )


async def cmd_leaderboard(request: Request) -> Reply:
    """Shows or hides the volunteer's first name on the leaderboard (/leaderboard on|off)."""
    volunteer = await member_or_prompt(request)
    if isinstance(volunteer, Outbound):
        return volunteer
    word = request.inbound.args.strip().lower()
    if word in ON or word in OFF:
        return await _set_board(request, volunteer, word in ON)
    if word:
        return Outbound(
            _("Send /leaderboard on to appear on the leaderboard, /leaderboard off to hide.")
        )
    state = (
        _("Your first name and points are shown on the leaderboard in /me.")
        if volunteer.leaderboard
        else _("You are not on the leaderboard: your points stay private, in /me.")
    )
    return Outbound(state, choices=choices(settings_choices(volunteer)[0][1]))


async def _set_board(request: Request, volunteer: Volunteer, on: bool, edit: bool = False) -> Reply:
    await request.services.profiles.set_leaderboard(volunteer, on)
    return Outbound(
        _("Done: your first name and points appear on the leaderboard.")
        if on
        else _("Done: you are no longer on the leaderboard."),
        edit=edit,
    )


# -- quiet hours and time zone -------------------------------------------------------------------


async def cmd_quiet(request: Request) -> Reply:
    """Sets the volunteer's own quiet hours (/quiet 22:00-08:00, /quiet off, /quiet campaign)."""
    volunteer = await member_or_prompt(request)
    if isinstance(volunteer, Outbound):
        return volunteer
    if request.inbound.args:
        return await _take_quiet(request, volunteer, request.inbound.args)
    return await _ask(request, volunteer, "quiet")


async def cmd_timezone(request: Request) -> Reply:
    """Sets the volunteer's time zone (/timezone Europe/London, /timezone London)."""
    volunteer = await member_or_prompt(request)
    if isinstance(volunteer, Outbound):
        return volunteer
    if request.inbound.args:
        return await _take_zone(request, volunteer, request.inbound.args)
    return await _ask(request, volunteer, "zone")


async def _ask(request: Request, volunteer: Volunteer, step: str) -> Outbound:
    await request.begin(FLOW, step)
    settings = request.services.settings
    if step == "quiet":
        campaign = settings.quiet_hours
        default = f"{campaign.start:%H:%M}–{campaign.end:%H:%M}" if campaign else _("none")
        return Outbound(
            worded(
                _(
                    "Quiet hours: {hours} now. During them I send you no task, reminder or "
                    "broadcast (urgent alerts excepted). Type your own, like 22:00-08:00, or tap."
                ),
                _(
                    "Quiet hours: {hours} now. During them I send you no task, reminder or "
                    "broadcast (urgent alerts excepted). Type your own, like 22:00-08:00, or "
                    "answer with the number of a choice."
                ),
            ).format(hours=esc(quiet_text(request, volunteer))),
            answer="text",
            choices=choices(
                Setting("quiet", "campaign").button(
                    _("The campaign's ({hours})").format(hours=default)
                ),
                Setting("quiet", "none").button(_("No quiet hours")),
            ),
        )
    return Outbound(
        worded(
            _(
                "Time zone: {zone} now. Times are shown and quiet hours counted in it. Type "
                "yours, like Europe/London or a city such as Montreal, or tap."
            ),
            _(
                "Time zone: {zone} now. Times are shown and quiet hours counted in it. Type "
                "yours, like Europe/London or a city such as Montreal, or answer with the "
                "number of a choice."
            ),
        ).format(zone=esc(zone_text(request, volunteer))),
        answer="text",
        choices=choices(
            Setting("zone", "campaign").button(
                _("The campaign's ({zone})").format(zone=settings.timezone.key)
            )
        ),
    )


async def _take_quiet(request: Request, volunteer: Volunteer, text: str) -> Reply:
    word = clean(text).lower()
    try:
        if word in OFF or word in ("none", "aucune", "aucun"):
            volunteer = await request.services.profiles.set_quiet_hours(volunteer, "")
        elif word in ("campaign", "campagne", "default", "défaut", "defaut"):
            volunteer = await request.services.profiles.set_quiet_hours(volunteer, None)
        else:
            volunteer = await request.services.profiles.set_quiet_hours(volunteer, text)
    except Invalid as problem:
        return Outbound(answer_problem(problem))
    await request.finish()
    return Outbound(
        _("Done: quiet hours {hours}.").format(hours=esc(quiet_text(request, volunteer)))
    )


async def _take_zone(request: Request, volunteer: Volunteer, text: str) -> Reply:
    word = clean(text).lower()
    try:
        if word in ("campaign", "campagne", "default", "défaut", "defaut"):
            volunteer = await request.services.profiles.set_timezone(volunteer, "")
        else:
            volunteer = await request.services.profiles.set_timezone(volunteer, text)
    except Invalid as problem:
        return Outbound(answer_problem(problem))
    await request.finish()
    zone = zone_text(request, volunteer)
    offset = offset_text(volunteer.timezone or request.services.settings.timezone.key, request.now)
    if zone == offset:
        return Outbound(_("Done: time zone {zone}.").format(zone=esc(zone)))
    return Outbound(
        _("Done: time zone {zone} (now {offset}).").format(zone=esc(zone), offset=offset)
    )


async def on_text(request: Request) -> Reply:
    """What the volunteer types when asked for quiet hours or a time zone."""
    assert request.conversation is not None
    volunteer = await member_or_prompt(request)
    if isinstance(volunteer, Outbound):
        await request.finish()
        return volunteer
    if request.conversation.step == "quiet":
        return await _take_quiet(request, volunteer, request.text)
    return await _take_zone(request, volunteer, request.text)


async def on_tap(request: Request) -> Reply:
    """The settings buttons, under /profile and the settings commands."""
    volunteer = await member_or_prompt(request)
    if isinstance(volunteer, Outbound):
        return expired()
    tap = request.tap(Setting)
    what, value = tap.what, tap.value
    if what == "ring" and value in ("on", "off"):
        return await _set_ring(request, volunteer, value == "on", edit=True)
    if what == "board" and value in ("on", "off"):
        return await _set_board(request, volunteer, value == "on", edit=True)
    if what == "ask" and value in ("quiet", "zone"):
        return await _ask(request, volunteer, value)
    flow = request.conversation.flow if request.conversation else ""
    if what == "quiet" and value in ("campaign", "none") and flow == FLOW:
        return await _take_quiet(request, volunteer, value)
    if what == "zone" and value == "campaign" and flow == FLOW:
        return await _take_zone(request, volunteer, value)
    return expired()


def register(router: Router) -> None:
    router.command(
        "ring", cmd_ring, description=N_("Join or leave the rapid-response ring"), arguments=True
    )
    router.command(
        "leaderboard",
        cmd_leaderboard,
        description=N_("Appear on the leaderboard or not"),
        arguments=True,
    )
    router.command("quiet", cmd_quiet, description=N_("Your quiet hours"), arguments=True)
    router.command("timezone", cmd_timezone, description=N_("Your time zone"), arguments=True)
    router.choice(Setting, on_tap)
    router.flow(FLOW, on_text)
