"""/newtask: an organizer describes a task step by step, sees a preview and its reach, publishes.

Buttons: nt:<step>:<value> answer the step the flow waits on (a stale one has expired).
"""

from __future__ import annotations

import re
from datetime import tzinfo
from typing import Any

from bot.answers import parse_count, parse_distance
from bot.broadcast_text import describe_radius, refusal
from bot.clock import from_iso, to_iso
from bot.domain.errors import TaskError
from bot.domain.tasks import KINDS, TaskDraft, preview_of
from bot.i18n import N_, _, format_datetime, ngettext, worded
from bot.messaging import Answer, Outbound, choices
from bot.payloads import NewTask
from bot.places import Place, parse_radius, places
from bot.router import Reply, Request, Router, expired
from bot.services.broadcasts import BroadcastError, area_known, radius_around
from bot.services.people import ORGANIZER
from bot.services.tasks import parse_moment
from bot.task_text import describe
from bot.text import clean, esc
from bot.vocabulary import availability_code, skill_code, skill_word, task_kind_word
from bot.when_text import moment_refusal
from handlers.task_admin import ask_call_list

# The steps, in order. Each kind asks its own details between instructions and area.
COMMON_BEFORE = ("kind", "team", "title", "instructions")
DETAILS: dict[str, tuple[str, ...]] = {
    "share": ("link", "message"),
    "canvass": ("location", "radius", "area_streets", "doors", "starts"),
    "call": (),
    "text": ("message",),
    "event": ("location", "radius", "starts"),
    "custom": (),
}
COMMON_AFTER = ("area", "who", "quota", "closes", "preview")
# The skill a volunteer chose in their profile that matches each kind of task.
KIND_SKILL = {
    "share": "share",
    "canvass": "canvass",
    "call": "call",
    "text": "text",
    "event": "events",
}
# Words accepted at the "who" step (English and French), and what they target.
AUDIENCE_WORDS = {
    **{w: ("skill", "share") for w in ("share", "sharing", "partage", "partager")},
    **{w: ("skill", "canvass") for w in ("canvass", "canvassing", "porte-à-porte", "tractage")},
    **{w: ("skill", "call") for w in ("call", "calls", "appels", "appel")},
    **{w: ("skill", "text") for w in ("text", "texts", "sms", "messages")},
    **{w: ("skill", "events") for w in ("events", "event", "événements", "événement")},
    **{w: ("language", "fr") for w in ("fr", "french", "français", "francais")},
    **{w: ("language", "en") for w in ("en", "english", "anglais")},
    **{w: ("availability", "evenings") for w in ("evenings", "evening", "soirs", "soir", "soirée")},
    **{w: ("availability", "weekends") for w in ("weekends", "weekend", "week-end", "week-ends")},
    **{w: ("availability", "daytime") for w in ("daytime", "day", "journée", "jour", "journées")},
}
PROMPTS = {
    "title": N_("Title of the task? (short, e.g. “Share the video on pensions”)"),
    "instructions": N_(
        "Instructions for volunteers? For a phone bank, this is the call script. Send - for none."
    ),
    "link": N_("The link to share (https://…)?"),
    "message": N_("The suggested message volunteers can copy? Send - for none."),
    "location": N_("Where is the meeting point? Share a location, or type the address."),
    "radius": N_(
        "Offer it to volunteers within how many km of that point? Send a number, or - for everyone."
    ),
    "area_streets": N_("Which streets or area to canvass? Send - to skip."),
    "doors": N_("How many doors to knock? Send a number, or - to skip."),
    "starts": N_("When does it start? For example “saturday 10am” or 05/12 18:30."),
    "area": N_(
        "Only for some départements or postcodes? Send them separated by commas "
        "(e.g. 75, 93200), a distance around a commune (e.g. 10 km around Villeurbanne), "
        "or - for no restriction."
    ),
    "who": N_(
        "Only some volunteers? Tap a button, or type skills (share, canvass, call, text, "
        "events), languages (fr, en) or times (evenings, weekends, daytime) separated by "
        "commas."
    ),
    "quota": N_("How many completions do you need? Send a number, or - for no limit."),
    "closes": N_(
        "When does it close? For example “sunday 8pm” or 12/12 20:00, or - to keep it open."
    ),
}


def steps_for(kind: str) -> tuple[str, ...]:
    return COMMON_BEFORE + DETAILS.get(kind, ()) + COMMON_AFTER


def _tz(request: Request) -> tzinfo:
    return request.services.settings.timezone


# What each step takes typed (a count is the number itself, never a list position).
STEP_ANSWERS: dict[str, Answer] = {"quota": "number", "closes": "date", "radius": "number"}


async def cmd_newtask(request: Request) -> Reply:
    """Starts the wizard: first, which kind of task."""
    request.actor.require(ORGANIZER)
    scope = request.actor.team_scope()
    if scope is not None and not scope:
        return Outbound(_("You are not an organizer of any team yet."))
    await request.begin("newtask", "kind", {})
    labels = [NewTask("kind", k).button(task_kind_word(k)) for k in KINDS]
    return Outbound(
        _("New task. Which kind? (Send /cancel at any time to stop.)"),
        choices=choices(labels[:3], labels[3:]),
    )


async def _ask(request: Request, step: str) -> Reply:
    """Ask the question of `step` (skipping the team step when there is nothing to choose)."""
    data = request.conversation.data if request.conversation else {}
    if step == "team":
        scope = request.actor.team_scope()
        teams = await request.services.tasks.teams(request.actor)
        if scope is not None and len(teams) == 1:
            return await _advance(request, "team", teams[0][0])
        rows = [NewTask("team", str(tid)).button(name[:40]) for tid, name in teams[:12]]
        if scope is None:
            rows.insert(0, NewTask("team", "0").button(_("Whole campaign")))
        return Outbound(_("For which team?"), choices=tuple((c,) for c in rows))
    if step == "location":
        return Outbound(_(PROMPTS[step]), request="location")
    if step == "radius" and data.get("latitude") is None:
        return await _advance(request, "radius", None)
    if step == "preview":
        return await _preview(request)
    if step == "who":
        buttons = [NewTask("who", "all").button(_("Everyone"))]
        skill = KIND_SKILL.get(data.get("kind", ""))
        if skill:
            buttons.append(
                NewTask("who", "skill").button(
                    _("Only those who chose “{skill}”").format(skill=skill_word(skill))
                )
            )
        return Outbound(_who_prompt(), choices=tuple((b,) for b in buttons))
    return Outbound(_(PROMPTS[step]), answer=STEP_ANSWERS.get(step, "text"))


def _who_prompt() -> str:
    return worded(
        _(PROMPTS["who"]),
        _(
            "Only some volunteers? Answer with the number of a choice, or type skills (share, "
            "canvass, call, text, events), languages (fr, en) or times (evenings, weekends, "
            "daytime) separated by commas."
        ),
    )


async def _advance(request: Request, step: str, value: Any) -> Reply:
    """Store the answer to `step` and move to the next step."""
    assert request.conversation is not None
    data = request.conversation.data
    order = steps_for(value if step == "kind" else data.get("kind", "custom"))
    following = order[order.index(step) + 1]
    await request.goto(following, **{step: value})
    return await _ask(request, following)


def _draft(data: dict[str, Any]) -> TaskDraft:
    """The task as answered so far."""
    targets: dict[str, tuple[str, ...]] = {}
    if data.get("team"):
        targets["team"] = (str(data["team"]),)
    places = [p for p in data.get("area") or []]
    if any(len(p) == 5 for p in places):
        targets["postcode"] = tuple(p for p in places if len(p) == 5)
    if any(len(p) != 5 for p in places):
        targets["department"] = tuple(p for p in places if len(p) != 5)
    for kind, values in (data.get("who") or {}).items():
        targets[kind] = tuple(values)
    return TaskDraft(
        kind=data["kind"],
        title=data.get("title", ""),
        instructions=data.get("instructions") or "",
        points={"share": 1, "text": 2, "custom": 1, "event": 3, "call": 3, "canvass": 5}[
            data["kind"]
        ],
        quota=data.get("quota"),
        closes_at=from_iso(data["closes"]) if data.get("closes") else None,
        link=data.get("link"),
        suggested_message=data.get("message"),
        place=data.get("place"),
        latitude=data.get("latitude"),
        longitude=data.get("longitude"),
        area=data.get("area_streets"),
        doors=data.get("doors"),
        starts_at=from_iso(data["starts"]) if data.get("starts") else None,
        radius_km=data.get("radius"),
        team_id=data.get("team") or None,
        targets=targets,
    )


async def _preview(request: Request) -> Reply:
    """The task as volunteers will see it, how many it reaches, and Publish / Cancel."""
    assert request.conversation is not None
    draft = _draft(request.conversation.data)
    service = request.services.tasks
    reach = await service.reach(draft)
    preview = preview_of(draft, request.now)
    quota = _("Quota: {n}").format(n=draft.quota) if draft.quota else _("Quota: no limit")
    return Outbound(
        _("Preview:")
        + "\n\n"
        + describe(preview, draft.instructions, _tz(request))
        + "\n"
        + quota
        + "\n\n"
        + ngettext(
            "This task reaches {n} volunteer right now.",
            "This task reaches {n} volunteers right now.",
            reach,
        ).format(n=reach),
        choices=choices(
            [
                NewTask("preview", "publish").button("✅ " + _("Publish")),
                NewTask("preview", "cancel").button(_("Cancel")),
            ]
        ),
    )


async def _publish(request: Request) -> Reply:
    assert request.conversation is not None
    draft = _draft(request.conversation.data)
    try:
        task = await request.services.tasks.create(request.actor, draft)
    except TaskError:
        await request.finish()
        return Outbound(
            _("This task could not be published. Nothing was saved: try /newtask again.")
        )
    await request.finish()
    text = _(
        "Published: task #{id}. Volunteers who fit will be offered it. Follow it with /tasks."
    ).format(id=task.id)
    if task.kind != "call":
        return Outbound(text, edit=True)
    text += "\n\n" + _(
        "A long list can also be imported on the server: python -m bot calls import {id} "
        "list.csv (columns name, phone, notes)."
    ).format(id=task.id)
    return [Outbound(text, edit=True), await ask_call_list(request, task)]


async def on_button(request: Request) -> Reply:
    """A button of the wizard: kind, team, publish or cancel."""
    tap = request.tap(NewTask)
    conversation = request.conversation
    if (
        conversation is None
        or conversation.flow != "newtask"
        or conversation.step != tap.step
        or not request.actor.is_organizer
    ):
        return expired()
    step, value = tap.step, tap.value
    if step == "kind" and value in KINDS:
        return await _advance(request, "kind", value)
    if step == "team" and value.isdigit():
        team = int(value)
        scope = request.actor.team_scope()
        if (team == 0 and scope is not None) or (team and scope is not None and team not in scope):
            return expired()
        return await _advance(request, "team", team)
    if step == "who" and value in ("all", "skill"):
        skill = KIND_SKILL.get(conversation.data.get("kind", ""))
        chosen = {"skill": [skill]} if value == "skill" and skill else {}
        return await _advance(request, "who", chosen)
    if step == "preview" and value == "publish":
        return await _publish(request)
    if step == "preview" and value == "cancel":
        await request.finish()
        return Outbound(_("Cancelled. Nothing was published."), edit=True)
    return expired()


async def on_text(request: Request) -> Reply:
    """What the organizer types (or the location they share) at each step."""
    assert request.conversation is not None
    step = request.conversation.step
    text = clean(request.text)
    inbound = request.inbound
    skip = text == "-"
    if step == "who":
        if skip:
            return await _advance(request, step, {})
        chosen: dict[str, list[str]] = {}
        for word in (w.strip().lower() for w in text.split(",") if w.strip()):
            found = _audience_word(word)
            if found is None:
                return Outbound(
                    _("I don't know “{word}”. {prompt}").format(
                        word=esc(word[:40]), prompt=_who_prompt()
                    )
                )
            kind, target = found
            if target not in chosen.setdefault(kind, []):
                chosen[kind].append(target)
        return await _advance(request, step, chosen)
    if step in ("kind", "team", "preview"):
        return Outbound(
            worded(
                _("Please tap one of the buttons above, or send /cancel."),
                _("Please answer with the number of a choice above, or send /cancel."),
            )
        )
    if step == "title":
        if not text or len(text) > 200:
            return Outbound(_("Please send a title of 1 to 200 characters."))
        return await _advance(request, step, text)
    if step in ("instructions", "message", "area_streets"):
        if len(text) > 3000:
            return Outbound(_("That is too long: 3000 characters at most."))
        return await _advance(request, step, None if skip or not text else text)
    if step == "link":
        if not re.match(r"^https?://\S+$", text) or len(text) > 500:
            return Outbound(_("Please send a link starting with https://"))
        return await _advance(request, step, text)
    if step == "location":
        if inbound.location is not None:
            latitude, longitude = inbound.location
            await request.goto("location", latitude=latitude, longitude=longitude)
            return await _advance(request, step, None)
        if not text or len(text) > 300:
            return Outbound(_("Share a location or type the address."), request="location")
        # "Villeurbanne", "12 rue Colin, Villeurbanne": the commune's centre, for distances.
        commune = _commune_in(text)
        centre = {"latitude": commune.latitude, "longitude": commune.longitude} if commune else {}
        await request.goto("location", place=text, **centre)
        return await _advance(request, step, text)
    if step in ("radius", "doors", "quota"):
        if skip:
            return await _advance(request, step, None)
        limit = {"radius": 500, "doors": 10_000, "quota": 1_000_000}[step]
        value: Any
        if step == "radius":  # kilometres may have decimals and their unit: "2,5", "5 km"
            value = parse_distance(text)
        else:  # a count, read as everywhere else: "1 200", "1.200" are 1200; "1.2" is none
            value = parse_count(text)
        if value is None or not 0 < value <= limit:
            return Outbound(_("Please send a number (or - to skip)."))
        return await _advance(request, step, value)
    if step in ("starts", "closes"):
        if skip and step == "closes":
            return await _advance(request, step, None)
        moment = parse_moment(text, _tz(request), request.now)
        if refusal := moment_refusal(text, moment, request.now, _tz(request)):
            return Outbound(refusal)
        if moment is None:
            return Outbound(
                _(
                    "I did not understand that date. Write it like “saturday 10am”, "
                    "“tomorrow 6:30pm” or 05/12 18:30."
                )
            )
        if moment <= request.now:
            return Outbound(_("That moment has already passed. Please send a later one."))
        starts = request.conversation.data.get("starts")
        if step == "closes" and starts and moment <= from_iso(starts):
            return Outbound(
                _(
                    "The task must close after it starts ({start}). Please send a later moment."
                ).format(start=format_datetime(from_iso(starts), _tz(request)))
            )
        return await _advance(request, step, to_iso(moment))
    if step == "area":
        if skip:
            return await _advance(request, step, [])
        if (radius := parse_radius(text)) is not None:
            return await _take_radius(request, *radius)
        places = [p.strip().upper() for p in text.split(",") if p.strip()]
        if not places or not all(re.match(r"^(\d{2,3}|2[AB]|\d{5})$", p) for p in places):
            return Outbound(
                _("Send départements (75, 2A) or postcodes (93200) separated by commas, or -.")
            )
        unknown = next((p for p in places if not area_known(p)), None)
        if unknown is not None:
            return Outbound(
                _(
                    "There is no département or postcode “{code}” in France. Send départements "
                    "(75, 2A, 974) or postcodes (93200) separated by commas, or -."
                ).format(code=esc(unknown))
            )
        return await _advance(request, step, places)
    return expired()


def _audience_word(word: str) -> tuple[str, str] | None:
    """What a word typed at the "who" step targets, in French or English, or None."""
    if word in AUDIENCE_WORDS:
        return AUDIENCE_WORDS[word]
    if skill := skill_code(word):
        return ("skill", skill)
    if availability := availability_code(word):
        return ("availability", availability)
    return None


def _commune_in(text: str) -> Place | None:
    """The one French commune a typed address names (whole, or after its last comma)."""
    for candidate in (text, text.rpartition(",")[2]):
        found = places().find(candidate).places
        if len(found) == 1 and found[0].latitude is not None:
            return found[0]
    return None


async def _take_radius(request: Request, km: float, name: str) -> Reply:
    """'10 km autour de Villeurbanne' at the area step: the radius, and who it reaches."""
    try:
        code, latitude, longitude, radius = radius_around(name, str(km))
    except BroadcastError as problem:
        return Outbound(refusal(problem))
    await request.goto("area", latitude=latitude, longitude=longitude, radius=radius)
    assert request.conversation is not None
    reach = await request.services.tasks.reach(_draft(request.conversation.data))
    counted = Outbound(
        ngettext(
            "{where}: {n} volunteer right now.",
            "{where}: {n} volunteers right now.",
            reach,
        ).format(where=esc(describe_radius((code, latitude, longitude, radius))), n=reach)
    )
    following = await _advance(request, "area", [])
    if isinstance(following, Outbound):
        return [counted, following]
    return [counted, *(following or ())]


def register(router: Router) -> None:
    router.command(
        "newtask", cmd_newtask, rank=ORGANIZER, description=N_("Create a task for volunteers")
    )
    router.choice(NewTask, on_button)
    router.flow("newtask", on_text)
