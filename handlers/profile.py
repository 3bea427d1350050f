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
from bot.text import esc
from bot.when import read_day
from handlers.joining_text import AVAILABILITY_LABELS, SKILL_LABELS, answer_problem, where_text
from handlers.onboarding import FLOW, ask, member_or_prompt
from handlers.settings import settings_choices, settings_lines

PAUSE_FLOW = "pause"
# step    what the person sees                                  how they answer
# "date"  one week / one month, or type the date to come back   a tap, or DD/MM/YYYY
EDITABLE = ("name", "where", "skills", "availability")


def _status(volunteer: Volunteer, request: Request) -> str:
    if volunteer.status == "paused" and volunteer.paused_until:
        zone = request.services.settings.timezone
        return _("on a break until {date}").format(date=format_date(volunteer.paused_until, zone))
    if volunteer.status == "stopped":
        return _("stopped: no messages you did not ask for")
    return _("active")


async def profile_card(request: Request, volunteer: Volunteer) -> Outbound:
    """Everything on the profile, with a button to change each answer."""
    membership = await request.services.teams.membership(volunteer)
    teams, roles, team_names = membership.teams, membership.roles, membership.team_names
    role_lines = [
        _("organizer of {team}").format(team=esc(team_names.get(r.team_id or 0, "?")))
        if r.role == "organizer"
        else _("admin")
        if r.role == "admin"
        else _("comms on duty")
        for r in roles
    ]
    recruits = membership.recruits
    lines = [
        "<b>" + _("Your profile") + "</b>",
        _("First name: {value}").format(value=esc(volunteer.first_name)),
        _("Language: {value}").format(value=language_name(volunteer.language)),
        _("Where: {value}").format(value=where_text(volunteer)),
        _("Willing to: {value}").format(
            value=", ".join(_(SKILL_LABELS[c]) for c in SKILL_LABELS if c in volunteer.skills)
        ),
        _("Available: {value}").format(
            value=", ".join(
                _(AVAILABILITY_LABELS[c])
                for c in AVAILABILITY_LABELS
                if c in volunteer.availability
            )
        ),
        _("Status: {value}").format(value=_status(volunteer, request)),
        _("Teams: {value}").format(value=", ".join(esc(t.name) for t in teams) or "—"),
    ]
    if role_lines:
        lines.append(_("Roles: {value}").format(value=", ".join(role_lines)))
    lines.append(_("Friends who joined through your link: {count}").format(count=recruits))
    lines += settings_lines(request, volunteer)
    return Outbound(
        "\n".join(lines),
        choices=choices(
            [ProfileField("name").button(_("✏️ Name")), ProfileField("where").button(_("📍 Where"))],
            [
                ProfileField("skills").button(_("🛠 What")),
                ProfileField("availability").button(_("🕘 When")),
            ],
            ProfileField("language").button(_("🌐 Language")),
            *settings_choices(volunteer),
        ),
    )


async def cmd_profile(request: Request) -> Reply:
    """Shows the volunteer's whole profile with buttons to change each answer."""
    volunteer = await member_or_prompt(request)
    if isinstance(volunteer, Outbound):
        return volunteer
    return await profile_card(request, volunteer)


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
