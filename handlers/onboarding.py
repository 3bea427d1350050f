"""/start: joining Relais in six short steps, resumed where it stopped, and deep links.

The same questions (name, where, skills, availability) edit the profile: then the flow's
data says mode "profile" and the answer leads back to the profile card.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Literal

from bot.config import LANGUAGES
from bot.domain.volunteers import Volunteer
from bot.i18n import N_, _, language_name, set_language, worded
from bot.messaging import Choice, Outbound, choices
from bot.payloads import Joining
from bot.router import Reply, Request, Router, expired
from bot.services.joining import Answer, Invitation
from bot.services.teams import InviteProblem
from bot.services.volunteers import (
    AVAILABILITY,
    SKILLS,
    Agreement,
    Ambiguous,
    Invalid,
    next_step,
)
from bot.text import esc
from bot.vocabulary import availability_code, skill_code
from handlers.joining_text import (
    AVAILABILITY_LABELS,
    SKILL_LABELS,
    answer_problem,
    consent_text,
    invite_problem,
    place_noted,
    redeemed_text,
    welcome,
)
from handlers.profile_text import profile_card

FLOW = "onboarding"
# step            what the person sees                              how they answer
STEPS = (
    "language",  # the messenger's language first                  a tap
    "consent",  # who, why, what, how long, rights (versioned)    a tap: agree / no thanks
    "name",  # first name, the messenger's one offered          a tap, or type another
    "where",  # town or postcode, or share a location; abroad: town, country   type or share
    #           homonyms ("Saint-Denis") are offered as buttons, one per commune
    "skills",  # what they are willing to do                    taps, then Done
    "availability",  # when                                     taps, then Done
)  # … then the welcome, with what to do next.

# -- what each step shows -------------------------------------------------------------------


def _step_header(step: str, data: dict[str, Any]) -> str:
    if data.get("mode") in ("profile", "reconsent"):
        return ""
    return (
        "<i>"
        + _("Step {step} of {total}").format(step=STEPS.index(step) + 1, total=len(STEPS))
        + "</i>\n"
    )


def ask(request: Request, step: str, *, edit: bool = False) -> Outbound:
    """The question of `step`, with its buttons."""
    data = request.conversation.data if request.conversation else {}
    header = _step_header(step, data)
    if step == "language":
        current = data.get("language", LANGUAGES[0])
        ordered = sorted(LANGUAGES, key=lambda code: code != current)
        name = request.inbound.first_name.strip()
        hello = (
            _("Hello {name}! I am Relais, the campaign's volunteer bot.").format(name=esc(name))
            if name
            else _("Hello! I am Relais, the campaign's volunteer bot.")
        )
        return Outbound(
            header + hello + "\n\n" + _("Which language do you prefer?"),
            choices=choices(
                *(
                    Joining("lang", code).button(
                        ("✓ " if code == current else "") + language_name(code)
                    )
                    for code in ordered
                )
            ),
            edit=edit,
        )
    if step == "consent":
        return Outbound(
            header + consent_text(request.services.settings),
            choices=choices(
                [
                    Joining("consent", "yes").button(_("✅ I agree")),
                    # Only "no" decides: "Merci !" typed on Signal must not pick it.
                    Joining("consent", "no").button(_("❌ No")),
                ]
            ),
            edit=edit,
        )
    if step == "name":
        suggestion = _name_to_keep(request)
        text = header + _("What first name should the team call you?")
        buttons: tuple[tuple[Choice, ...], ...] = ()
        if suggestion:
            text += " " + worded(
                _("Tap the button, or type another name."),
                _("Answer 1 to keep it, or type another name."),
            )
            label = _("Keep “{name}”").format(name=suggestion[:40])
            buttons = choices(Joining("name", "keep").button(label))
        return Outbound(text, choices=buttons, edit=edit)
    if step == "where":
        return Outbound(
            header
            + worded(
                _(
                    "Where are you? Type your town or postcode (e.g. Villeurbanne, 75011), or "
                    "share your location with the button below. Living abroad? Type your town "
                    "and country."
                ),
                _(
                    "Where are you? Type your town or postcode (e.g. Villeurbanne, 75011), or "
                    "send your location. Living abroad? Type your town and country."
                ),
            ),
            request="location",
        )
    picked = set(data.get("picked", []))
    kind: Literal["skill", "avail"]
    if step == "skills":
        text = worded(
            _("What are you willing to do? Tap all that apply, then Done."),
            _(
                "What are you willing to do? Answer the number of each that applies, one "
                "at a time, then Done."
            ),
        )
        labels, kind = SKILL_LABELS, "skill"
    else:
        text = worded(
            _("When are you usually available? Tap all that apply, then Done."),
            _(
                "When are you usually available? Answer the number of each that applies, one "
                "at a time, then Done."
            ),
        )
        labels, kind = AVAILABILITY_LABELS, "avail"
    rows = [
        Joining(kind, code).button(("✅ " if code in picked else "▫️ ") + _(label))
        for code, label in labels.items()
    ]
    return Outbound(
        header + text,
        choices=choices(*rows, Joining(kind, "done").button(_("Done ▶"))),
        edit=edit,
    )


async def member_or_prompt(request: Request) -> Volunteer | Outbound:
    """The volunteer behind the request if they have joined, else an invitation to /start."""
    volunteer = request.actor.volunteer
    if volunteer is None or volunteer.status == "erased":
        return Outbound(_("You have not joined yet. Send /start to join."))
    if volunteer.status == "onboarding":
        return Outbound(_("You have not finished joining. Send /start to continue."))
    return volunteer


# -- /start ---------------------------------------------------------------------------------


async def cmd_start(request: Request) -> Reply:
    """Starts (or resumes) joining; for members, says welcome back and uses any invite code."""
    code = request.inbound.args
    volunteer = request.actor.volunteer
    if volunteer is None or volunteer.status == "erased":
        return await _start_new(request, code)
    restart = await request.services.joining.restart(volunteer, code)
    notes = [] if restart.invitation is None else [_invitation_note(restart.invitation)]
    back = restart.back
    if back is None:  # still answering the questions
        assert restart.volunteer is not None
        return [*notes, *await _continue(request, restart.volunteer)]
    if back.needs_consent:
        await request.begin(FLOW, "consent", {"mode": "reconsent"})
        return [
            *notes,
            Outbound(_("Our privacy notice has changed. Please read it again.")),
            ask(request, "consent"),
        ]
    volunteer = back.volunteer
    if back.resumed:
        text = _("Welcome back, {name}! Messages are on again.")
    else:
        text = _("Welcome back, {name}!")
    reply = text.format(name=esc(volunteer.first_name))
    if volunteer.status == "paused":
        reply += "\n" + _("You are on a break. Send /resume to receive tasks again.")
    reply += "\n\n" + _("Send /help to see what I can do.")
    return [*notes, Outbound(reply)]


async def _start_new(request: Request, code: str) -> Reply:
    """Someone Relais does not know: ask their language (resume if already asked)."""
    notes: list[Outbound] = []
    conversation = request.conversation
    data: dict[str, Any] = {}
    if conversation and conversation.flow == FLOW and conversation.step in ("language", "consent"):
        data = dict(conversation.data)
    if code:
        try:
            await request.services.teams.check(code)
            data["invite"] = code
        except InviteProblem as problem:
            notes.append(Outbound(invite_problem(problem) + " " + _("Let's continue without it.")))
    step = conversation.step if data.get("language") and conversation else "language"
    data.setdefault("language", _messenger_language(request))
    set_language(data["language"])
    await request.begin(FLOW, step, data)
    return [*notes, ask(request, step)]


def _messenger_language(request: Request) -> str:
    code = request.inbound.language_code.replace("-", "_").split("_")[0].lower()
    return code if code in LANGUAGES else request.services.settings.language


async def _continue(
    request: Request, volunteer: Volunteer, *, edit: bool = False
) -> list[Outbound]:
    """Ask the first unanswered question, or finish with the welcome (the service made
    them active with their last answer)."""
    step = next_step(volunteer)
    if step is None:
        await request.finish()
        return [welcome(volunteer)]
    picked = sorted(volunteer.skills if step == "skills" else volunteer.availability)
    conversation = request.conversation
    if conversation and (conversation.flow, conversation.step) == (FLOW, step):
        # Asked again (/start at this step): what they ticked is saved only at Done.
        picked = conversation.data.get("picked", picked)
    await request.begin(FLOW, step, {"picked": picked})
    return [ask(request, step, edit=edit)]


def _invitation_note(invitation: Invitation) -> Outbound:
    """What an invitation code did, or why it could not be used."""
    if invitation.redeemed is None:
        assert invitation.problem is not None
        return Outbound(invite_problem(invitation.problem))
    return Outbound(redeemed_text(invitation.redeemed))


# -- taps -----------------------------------------------------------------------------------


async def on_tap(request: Request) -> Reply:
    """Handles every onboarding button; a tap that does not match the current step expires."""
    tap = request.tap(Joining)
    conversation = request.conversation
    if conversation is None or conversation.flow != FLOW:
        return expired()
    kind, value = tap.step, tap.value
    step = conversation.step
    data = conversation.data
    if kind == "lang" and step == "language" and value in LANGUAGES:
        set_language(value)
        await request.goto("consent", language=value)
        return ask(request, "consent", edit=True)
    if kind == "consent" and step == "consent" and value in ("yes", "no"):
        if data.get("language"):
            set_language(data["language"])
        return await _consent(request, value == "yes")
    volunteer = request.actor.volunteer
    if volunteer is None or volunteer.status == "erased":
        return expired()
    if kind == "place" and step == "where" and value in data.get("candidates", []):
        return await _save(request, volunteer, "commune", value)
    if kind == "name" and step == "name" and value == "keep":
        return await _save(request, volunteer, "name", _name_to_keep(request))
    if (kind, step) in (("skill", "skills"), ("avail", "availability")):
        codes = SKILLS if step == "skills" else AVAILABILITY
        if value == "done":
            return await _save(request, volunteer, step, set(data.get("picked", [])))
        if value in codes:
            picked = set(data.get("picked", [])) ^ {value}
            await request.goto(step, picked=sorted(picked))
            return ask(request, step, edit=True)
    return expired()


def _name_to_keep(request: Request) -> str:
    """The name "Keep" offers: the one the team knows when a profile is edited, the
    messenger's name while joining."""
    volunteer = request.actor.volunteer
    conversation = request.conversation
    editing = conversation is not None and conversation.data.get("mode") == "profile"
    if editing and volunteer is not None and volunteer.first_name:
        return volunteer.first_name
    return request.inbound.first_name.strip()


async def _consent(request: Request, agreed: bool) -> Reply:
    services = request.services
    inbound = request.inbound
    conversation = request.conversation
    assert conversation is not None
    data = conversation.data
    volunteer = request.actor.volunteer
    if data.get("mode") == "reconsent" and volunteer is not None:
        await request.finish()
        if agreed:
            notice = consent_text(services.settings)
            await services.profiles.reconsent(
                volunteer, inbound.channel, inbound.update_key, notice
            )
            return Outbound(_("Thank you. Send /help to see what I can do."), edit=True)
        await services.profiles.stop(volunteer)
        return Outbound(
            _(
                "Understood. I will not send you anything more. Send /forget to erase your "
                "data, or /start if you change your mind."
            ),
            edit=True,
        )
    if not agreed:
        await request.finish()
        return Outbound(
            _(
                "Understood: nothing about you was saved. Thank you for your time, and if you "
                "change your mind, just send /start. Goodbye!"
            ),
            edit=True,
        )
    notice = consent_text(services.settings)
    agreement = Agreement(
        inbound.channel,
        inbound.user_id,
        inbound.chat_id,
        data["language"],
        inbound.update_key,
        notice,
    )
    joined = await services.joining.agree(volunteer, agreement, data.get("invite", ""))
    # Keep the notice they agreed to in the chat, minus its buttons.
    agreed_text = notice + "\n\n✅ " + _("You agreed.")
    replies = [Outbound(agreed_text, edit=True), Outbound(_("Thank you! A few quick questions."))]
    if joined.invitation is not None:
        replies.append(_invitation_note(joined.invitation))
    return [*replies, *await _continue(request, joined.volunteer)]


# -- typed answers --------------------------------------------------------------------------


async def on_text(request: Request) -> Reply:
    """Takes a typed (or shared) answer to the current question."""
    conversation = request.conversation
    assert conversation is not None
    step = conversation.step
    inbound = request.inbound
    volunteer = request.actor.volunteer
    if data_language := conversation.data.get("language"):
        set_language(data_language)
    if step == "name" and volunteer is not None and inbound.text:
        return await _save(request, volunteer, "name", inbound.text)
    if step == "where" and volunteer is not None and (inbound.text or inbound.location):
        answer: Answer = inbound.location if inbound.location else inbound.text
        return await _save(request, volunteer, "where", answer)
    if step in ("skills", "availability") and (named := _named(step, inbound.text)):
        # "week-end", "soirs, week-end", "canvassing" in the French flow: ticked as if tapped.
        picked = set(conversation.data.get("picked", [])) ^ named
        await request.goto(step, picked=sorted(picked))
        return ask(request, step)
    return [
        Outbound(
            worded(
                _("Please answer with the buttons below."),
                _("Please answer with the number of a choice below."),
            )
        ),
        ask(request, step),
    ]


def _named(step: str, text: str) -> set[str]:
    """The skills or times a typed answer names, in French or English; none unless every
    part of it names one."""
    read = skill_code if step == "skills" else availability_code
    parts = [part for part in re.split(r"[,;/+]|\s(?:et|and)\s", text) if part.strip()]
    codes = [read(part) for part in parts]
    return {code for code in codes if code} if codes and all(codes) else set()


async def _save(request: Request, volunteer: Volunteer, step: str, answer: Answer) -> Reply:
    """Store one answer, then go on: next question, the welcome, or back to the profile."""
    assert request.conversation is not None
    from_profile = request.conversation.data.get("mode") == "profile"
    try:
        answered = await request.services.joining.answer(
            volunteer, step, answer, from_profile=from_profile
        )
    except Ambiguous as problem:
        # Homonyms: one button per commune; the tap is checked against this list.
        await request.goto(step, candidates=[place.code for place in problem.places])
        return Outbound(
            answer_problem(problem),
            choices=tuple((Joining("place", p.code).button(p.label()),) for p in problem.places),
        )
    except Invalid as problem:
        reply = Outbound(answer_problem(problem))
        if step in ("skills", "availability"):
            return [reply]
        return [reply, ask(request, "where" if step == "commune" else step)]
    volunteer = answered.volunteer
    if answered.membership is not None:
        await request.finish()
        request.actor = replace(request.actor, volunteer=volunteer)
        return profile_card(request, volunteer, answered.membership)
    following = await _continue(request, volunteer, edit=step in ("skills", "availability"))
    if step in ("where", "commune") and not isinstance(answer, tuple):
        return [place_noted(volunteer), *following]
    return following


def register(router: Router) -> None:
    router.command(
        "start", cmd_start, description=N_("Join the campaign or resume"), arguments=True
    )
    router.choice(Joining, on_tap)
    router.flow(FLOW, on_text)
