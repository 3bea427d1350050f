"""/volunteers: an organizer sees how many volunteers they have, and who, within their teams."""

from __future__ import annotations

from bot.domain.volunteers import DirectoryFilter
from bot.i18n import N_, _
from bot.messaging import Outbound
from bot.router import Reply, Request, Router
from bot.services.areas import department_of
from bot.services.people import ORGANIZER
from bot.services.volunteers import AVAILABILITY, SKILLS
from bot.text import esc
from bot.vocabulary import availability_code, availability_word, skill_code, skill_word
from handlers.onboarding import AVAILABILITY_LABELS, SKILL_LABELS


async def parse_filter(request: Request, words: list[str]) -> DirectoryFilter | str:
    """'/volunteers 75 canvass evenings' → a filter; a word that is none of these is an error."""
    which = DirectoryFilter()
    teams = {t.name.lower(): t.id for t in await request.services.teams.visible(request.actor)}
    rest = " ".join(words).lower()
    for name, team_id in teams.items():
        if name and name in rest:
            which = DirectoryFilter(team_id=team_id)
            rest = rest.replace(name, " ")
            break
    for word in rest.split():
        if skill := skill_code(word):
            which = DirectoryFilter(which.team_id, which.department, skill, which.availability)
        elif availability := availability_code(word):
            which = DirectoryFilter(which.team_id, which.department, which.skill, availability)
        elif _department(word):
            which = DirectoryFilter(
                which.team_id, _department(word), which.skill, which.availability
            )
        else:
            return word
    return which


def _department(word: str) -> str:
    word = word.upper()
    if word in ("2A", "2B") or (word.isdigit() and len(word) == 3 and department_of(word + "00")):
        return word
    if word.isdigit() and len(word) == 2 and department_of(word + "000"):
        return word
    return ""


async def cmd_volunteers(request: Request) -> Reply:
    """Counts by team, area, skill and availability, and a short list, within the
    organizer's teams only (admins: everyone). Filters: département, skill, availability,
    team name."""
    actor = request.actor
    actor.require(ORGANIZER)
    which = await parse_filter(request, request.inbound.args.split())
    if isinstance(which, str):
        return Outbound(
            _(
                "I don't know the filter “{word}”. Use a département (75, 2A, 974), a skill "
                "({skills}), an availability ({availability}) or a team name."
            ).format(
                word=esc(which[:40]),
                skills=", ".join(skill_word(code) for code in SKILLS),
                availability=", ".join(availability_word(code) for code in AVAILABILITY),
            )
        )
    directory = await request.services.teams.directory(actor, which)
    counts, people = directory.counts, directory.people
    status = counts.status
    lines = [
        "<b>" + _("Volunteers") + "</b>",
        _("active: {active} · on a break: {paused} · stopped: {stopped}").format(
            active=status.get("active", 0),
            paused=status.get("paused", 0),
            stopped=status.get("stopped", 0),
        ),
    ]
    if counts.team:
        lines.append(
            _("By team: {counts}").format(
                counts=", ".join(f"{esc(k)} {n}" for k, n in counts.team.items())
            )
        )
    if counts.department:
        lines.append(
            _("By département: {counts}").format(
                counts=", ".join(f"{esc(k) or '?'} {n}" for k, n in counts.department.items())
            )
        )
    lines.append(
        _("By skill: {counts}").format(
            counts=", ".join(f"{_(SKILL_LABELS[k])} {n}" for k, n in counts.skills.items())
        )
    )
    lines.append(
        _("By availability: {counts}").format(
            counts=", ".join(
                f"{_(AVAILABILITY_LABELS[k])} {n}" for k, n in counts.availability.items()
            )
        )
    )
    if people:
        lines += ["", "<b>" + _("Most recently active") + "</b>"]
        for v in people:
            area = (
                f"{v.place} ({v.department})"
                if v.place and v.department
                else v.department or v.place or "?"
            )
            lines.append(
                f"#{v.id} {esc(v.first_name)} — {esc(area)} — "
                + ", ".join(skill_word(code) for code in SKILLS if code in v.skills)
                + (" ⏸" if v.status == "paused" else "")
            )
    else:
        lines += ["", _("Nobody matches.")]
    return Outbound("\n".join(lines))


def register(router: Router) -> None:
    router.command(
        "volunteers",
        cmd_volunteers,
        rank=ORGANIZER,
        description=N_("Counts and list of your volunteers"),
    )
