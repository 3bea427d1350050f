"""/profile, /language, /pause, /resume and /stop: a volunteer looks after their membership."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.config import LANGUAGES
from bot.domain.volunteers import Volunteer
from bot.i18n import N_, _, format_date, language_name, set_language, worded
from bot.messaging import Outbound, choices
from bot.payloads import Language, PauseSpan, ProfileField
from bot.router import Reply, Request, Router, expired
from bot.services.volunteers import Invalid
from bot.when import read_day
from handlers.joining_text import answer_problem
from handlers.onboarding import FLOW, ask, member_or_prompt
from handlers.profile_text import profile_card

PAUSE_FLOW = "pause"
# step    what the person sees                                  how they answer
# "date"  one week / one month, or type the date to come back   a tap, or DD/MM/YYYY
EDITABLE = ("name", "where", "skills", "availability")


async def cmd_profile(request: Request) -> Reply:
    """Shows the volunteer's whole profile with buttons to change each answer."""
    volunteer = await member_or_prompt(request)
    if isinstance(volunteer, Outbound):
        return volunteer
    return profile_card(request, volunteer, await request.services.teams.membership(volunteer))


async def on_profile_tap(request: Request) -> Reply:
    """Asks the question of the field the volunteer wants to change."""
    volunteer = await member_or_prompt(request)
    if isinstance(volunteer, Outbound):
        return expired()
    field = request.tap(ProfileField).field
    if field == "language":
        return language_picker(volunteer)
    picked = sorted(volunteer.skills if field == "skills" else volunteer.availability)
    await request.begin(FLOW, field, {"mode": "profile", "picked": picked})
    return ask(request, field)


def language_picker(volunteer: Volunteer) -> Outbound:
    return Outbound(
        _("Which language do you prefer?"),
        choices=choices(
            *(
                Language(code).button(
                    ("✓ " if code == volunteer.language else "") + language_name(code)
                )
                for code in LANGUAGES
            )
        ),
    )


async def cmd_language(request: Request) -> Reply:
    """Offers the languages Relais speaks, the current one ticked."""
    volunteer = await member_or_prompt(request)
    if isinstance(volunteer, Outbound):
        return volunteer
    return language_picker(volunteer)


async def on_language_tap(request: Request) -> Reply:
    """Switches the volunteer's language and answers in the new one."""
    volunteer = await member_or_prompt(request)
    language = request.tap(Language).language
    if isinstance(volunteer, Outbound) or language not in LANGUAGES:
        return expired()
    await request.services.profiles.set_language(volunteer, language)
    set_language(language)
    return Outbound(
        _("Done: I will speak {language} with you.").format(language=language_name(language)),
        edit=True,
    )


# -- pause, resume, stop --------------------------------------------------------------------


async def cmd_pause(request: Request) -> Reply:
    """Offers a break of one week or one month, or until a typed date."""
    volunteer = await member_or_prompt(request)
    if isinstance(volunteer, Outbound):
        return volunteer
    if request.inbound.args:
        return await _pause_until(request, volunteer, request.inbound.args)
    await request.begin(PAUSE_FLOW, "date")
    return Outbound(
        worded(
            _(
                "Take a break: no tasks or messages you did not ask for until you come back. "
                "For how long? Tap, or type the date you will be back (e.g. 15/01/2027)."
            ),
            _(
                "Take a break: no tasks or messages you did not ask for until you come back. "
                "For how long? Answer with the number of a choice, or type the date you will "
                "be back (e.g. 15/01/2027)."
            ),
        ),
        choices=choices(
            [PauseSpan("week").button(_("One week")), PauseSpan("month").button(_("One month"))]
        ),
        answer="date",
    )


async def on_pause_tap(request: Request) -> Reply:
    """Pauses for the tapped duration."""
    volunteer = await member_or_prompt(request)
    days = {"week": 7, "month": 30}[request.tap(PauseSpan).span]
    if isinstance(volunteer, Outbound):
        return expired()
    return await _pause(request, volunteer, request.now + timedelta(days=days), edit=True)


async def on_pause_text(request: Request) -> Reply:
    """Pauses until the typed date."""
    volunteer = await member_or_prompt(request)
    if isinstance(volunteer, Outbound):
        await request.finish()
        return volunteer
    return await _pause_until(request, volunteer, request.inbound.text)


async def _pause_until(request: Request, volunteer: Volunteer, text: str) -> Reply:
    day = read_day(text, request.now, request.services.settings.timezone)
    if day is None:
        return Outbound(
            _("I did not understand that date. Type it like 15/01/2027, “in 3 weeks” or “monday”.")
        )
    return await _pause(request, volunteer, day)


async def _pause(
    request: Request, volunteer: Volunteer, until: datetime, *, edit: bool = False
) -> Reply:
    try:
        volunteer = await request.services.profiles.pause(volunteer, until)
    except Invalid as problem:
        return Outbound(answer_problem(problem))
    await request.finish()
    return Outbound(
        _(
            "Enjoy your break! I will not send you anything until {date}. "
            "Send /resume to come back earlier."
        ).format(date=format_date(until, request.services.settings.timezone)),
        edit=edit,
    )


async def cmd_resume(request: Request) -> Reply:
    """Ends a break or a /stop: tasks and messages come again."""
    volunteer = await member_or_prompt(request)
    if isinstance(volunteer, Outbound):
        return volunteer
    if volunteer.status == "active":
        return Outbound(_("You are already active. Send /help to see what I can do."))
    await request.services.profiles.resume(volunteer)
    return Outbound(_("Welcome back! You will receive tasks and messages again."))


async def cmd_stop(request: Request) -> Reply:
    """Stops every message the volunteer did not ask for; /start brings them back."""
    volunteer = await member_or_prompt(request)
    if isinstance(volunteer, Outbound):
        return volunteer
    await request.services.profiles.stop(volunteer)
    return Outbound(
        _(
            "Done: I will not send you any task, reminder or message you did not ask for. "
            "Your data is kept until you send /forget. Send /start to come back."
        )
    )


def register(router: Router) -> None:
    router.command("profile", cmd_profile, description=N_("See and change your profile"))
    router.command("language", cmd_language, description=N_("Change language"))
    router.command("pause", cmd_pause, description=N_("Take a break"), arguments=True)
    router.command("resume", cmd_resume, description=N_("Come back after a break"))
    router.command("stop", cmd_stop, description=N_("No more messages you did not ask for"))
    router.choice(ProfileField, on_profile_tap)
    router.choice(Language, on_language_tap)
    router.choice(PauseSpan, on_pause_tap)
    router.flow(PAUSE_FLOW, on_pause_text)
