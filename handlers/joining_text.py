"""How joining and one's own answers read: the consent notice, the labels of what and when
people can help, the welcome, what an invitation did, and why an answer was refused.

The onboarding flow's presenter (/start, and the profile and settings flows that ask the
same questions): services return volunteers, invites and typed refusals (`Invalid(kind,
**data)`), never words. Texts follow the current language.
"""

from __future__ import annotations

from bot.config import Settings
from bot.domain.errors import Invalid
from bot.domain.volunteers import Volunteer
from bot.i18n import N_, _, characters, days, worded
from bot.messaging import Outbound
from bot.services.teams import InviteProblem, Redeemed
from bot.text import esc

SKILL_LABELS = {
    "share": N_("📣 Share online"),
    "canvass": N_("🚪 Canvass"),
    "call": N_("📞 Call"),
    "text": N_("💬 Text"),
    "events": N_("🎪 Events"),
}
AVAILABILITY_LABELS = {
    "evenings": N_("🌙 Weekday evenings"),
    "weekends": N_("☀️ Weekends"),
    "daytime": N_("🕘 Daytime"),
}


def consent_text(settings: Settings) -> str:
    """The consent notice, in the current language (its substance is versioned by
    bot.services.volunteers.CONSENT_VERSION; its exact words are fingerprinted)."""
    return _(
        "<b>Before we start: your data</b>\n"
        "Joining means telling {controller} that you support the campaign — a political "
        "opinion, which the law protects specially. So we ask first.\n\n"
        "• <b>Who</b>: {controller} is responsible for this data.\n"
        "• <b>Why</b>: only to offer you campaign tasks and to organize volunteers.\n"
        "• <b>What</b>: your first name, your area (postcode or location), what you are "
        "willing to do and when, your teams, the tasks you take and their outcomes, and the "
        "messages we send you. Nothing else, and it is never sold or shared outside the "
        "campaign.\n"
        "• <b>How long</b>: until you leave, and erased after {days} without activity "
        "(you are warned a month before).\n"
        "• <b>Your rights</b>: /mydata sends you everything stored; /forget erases it; "
        "/stop ends messages you did not ask for.\n\n"
        "Messages pass through your messenger's servers: do not send anything sensitive. "
        "Do you agree?"
    ).format(
        controller=settings.controller or _("the campaign team"),
        days=days(settings.retention_days),
    )


def welcome(volunteer: Volunteer) -> Outbound:
    """The end of onboarding: what happens next and the commands that matter."""
    return Outbound(
        _("Welcome to the team, {name}! 🎉").format(name=esc(volunteer.first_name))
        + "\n\n"
        + _(
            "What happens next: I will send you small tasks that match what you can do and "
            "when you are available. Meanwhile:"
        )
        + "\n"
        + "\n".join(
            (
                _("• /task — a task to do right now"),
                _("• /invite — your personal link to bring friends"),
                _("• /profile — see or change your answers"),
                _("• /pause or /stop — take a break, or no more messages"),
                _("• /mydata and /forget — your data, your rights"),
                _("• /help — everything I can do"),
            )
        )
    )


def redeemed_text(result: Redeemed) -> str:
    """What a used invite code did, in one sentence."""
    team = esc(result.team.name) if result.team else ""
    if result.kind == "organizer":
        if not result.changed:
            return _("You are already an organizer of {team}.").format(team=team)
        return _("You are now an organizer of {team}. Send /help to see your commands.").format(
            team=team
        )
    if result.kind == "team":
        if not result.changed:
            return _("You are already a member of {team}.").format(team=team)
        return _("You joined the team {team}.").format(team=team)
    if result.changed:
        return _("Thanks for coming through a friend's invitation!")
    return _("You are already registered: this invitation is for newcomers.")


def invite_problem(problem: InviteProblem) -> str:
    """Why an invitation link cannot be used, in the person's language."""
    if problem.reason == "expired":
        return _("This invitation link has expired.")
    if problem.reason == "used":
        return _("This invitation link has already been used as many times as allowed.")
    return _("I don't know this invitation link.")


# Why an answer about oneself was refused, by the refusal's kind: one sentence, or two
# (with buttons, with numbered choices); `{…}` filled from the refusal's data, typed text
# escaped and a `limit` counted in characters.
ANSWER_PROBLEMS: dict[str, str | tuple[str, str]] = {
    "name.missing": N_("Please type your first name."),
    "name.number": N_(
        "“{typed}” is not a first name, nor one of the choices below. Please type your "
        "first name in letters."
    ),
    "name.too_long": N_("That name is too long (over {limit}). Please type a shorter one."),
    "place.missing": N_("Please type your town or postcode, or share your location."),
    "place.too_long": N_("That is too long (over {limit}). Please type a shorter one."),
    "place.homonyms": N_("Several communes are called “{name}”. Which one is yours?"),
    "place.suggestions": N_("I don't know a French commune called “{name}”. Did you mean:"),
    "place.unknown": N_(
        "I don't know a French commune called “{name}”. Check the spelling or type your "
        "postcode. Living abroad? Type your town and country, e.g. “London, United "
        "Kingdom”."
    ),
    "postcode.unknown": N_(
        "{code} is not a French postcode. Type the 5 digits of your postcode "
        "(e.g. 75011), or your town and country if you live abroad."
    ),
    "location.impossible": N_("That location looks wrong. Please type your postcode instead."),
    "choices.none": (
        N_("Pick at least one, then tap Done."),
        N_("Pick at least one, then answer Done."),
    ),
    "quiet_hours.unreadable": (
        N_("Type quiet hours like 22:00-08:00 (from, to), or tap a choice."),
        N_("Type quiet hours like 22:00-08:00 (from, to), or answer with the number of a choice."),
    ),
    "timezone.unknown": N_(
        "I don't know the time zone “{name}”. Type it like Europe/London or "
        "America/Montreal, or a big city near you."
    ),
    "onboarding.unfinished": N_("A few questions are still unanswered."),
    "pause.past": N_("That date is already past. Please give a date in the future."),
    "pause.too_long": N_("Please pause for a year at most."),
    "button.expired": N_("This button has expired. Nothing was changed."),
}


def answer_problem(problem: Invalid) -> str:
    """Why an answer about oneself (name, place, choices, quiet hours, time zone, a pause)
    was refused, in the person's language: the words for what the service's kind names."""
    words = ANSWER_PROBLEMS.get(problem.kind)
    if words is None:
        # Transitional: a refusal still raised with its own sentence.
        return str(problem)
    text = worded(_(words[0]), _(words[1])) if isinstance(words, tuple) else _(words)
    data = {
        key: characters(value) if key == "limit" else esc(str(value))
        for key, value in problem.data.items()
    }
    text = text.format(**data)
    if problem.kind == "place.homonyms" and problem.data.get("more"):
        text += " " + _("If yours is not listed, type its postcode.")
    return text


def where_text(volunteer: Volunteer) -> str:
    """Where a volunteer is, as the profile shows it: 'Boulogne-Billancourt (92100)'."""
    if volunteer.place and volunteer.department:
        return f"{esc(volunteer.place)} ({esc(volunteer.postcode or volunteer.department)})"
    if volunteer.postcode:
        return f"{esc(volunteer.postcode)} ({esc(volunteer.department)})"
    if volunteer.place:
        return esc(volunteer.place)
    if volunteer.latitude is not None:
        return _("shared location")
    return "—"


def place_noted(volunteer: Volunteer) -> Outbound:
    """The place just understood, said back so a wrong guess is seen at once."""
    return Outbound(_("📍 Noted: {place}.").format(place=where_text(volunteer)))
