"""/volunteers: an organizer sees how many volunteers they have, and who, within their teams."""

from __future__ import annotations

from bot.i18n import N_, _
from bot.messaging import Outbound
from bot.router import Reply, Request, Router
from bot.services.people import ORGANIZER
from bot.services.volunteers import AVAILABILITY, SKILLS, Invalid
from bot.text import esc
from bot.vocabulary import availability_word, skill_word
from handlers.joining_text import AVAILABILITY_LABELS, SKILL_LABELS


async def cmd_volunteers(request: Request) -> Reply:
    """Counts by team, area, skill and availability, and a short list, within the
    organizer's teams only (admins: everyone). Filters: département, skill, availability,
    team name."""
    try:
        directory = await request.services.teams.directory(request.actor, request.inbound.args)
    except Invalid as problem:
        return Outbound(
            _(
                "I don't know the filter “{word}”. Use a département (75, 2A, 974), a skill "
                "({skills}), an availability ({availability}) or a team name."
            ).format(
                word=esc(problem.data["word"][:40]),
                skills=", ".join(skill_word(code) for code in SKILLS),
                availability=", ".join(availability_word(code) for code in AVAILABILITY),
            )
        )
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
        arguments=True,
    )
