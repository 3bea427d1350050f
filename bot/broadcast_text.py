"""The words of broadcasts: an audience as people read it, how to type one, what is wrong
with what an organizer typed, and the progress and delivery report an author reads.

`BroadcastService` decides who gets what and when; the composition root (`bot/core.py`)
gives it a `BroadcastText` for what it sends on its own. The chat wizard
(handlers/broadcasts.py), the command line and the dashboard word the rest with the
functions here. Services never import this module (`make lint`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from bot.config import Settings
from bot.domain.broadcasts import Audience, Broadcast
from bot.domain.errors import Invalid
from bot.i18n import (
    _,
    format_datetime,
    format_number,
    format_time,
    language_in_words,
    ngettext,
    use_language,
)
from bot.markup_text import markup_words
from bot.payloads import TaskCard
from bot.places import places
from bot.services.broadcasts import Figures, NewButton
from bot.text import esc
from bot.vocabulary import skill_word, skill_words


def audience_syntax() -> str:
    """How to type an audience, in the reader's language, with the skills in their words."""
    return _(
        "all, team:NAME, area:CODE (department or postcode), skill:{skills}, lang:fr or "
        "lang:en, active:DAYS (active in the last days)"
    ).format(skills=skill_words())


def describe_radius(around: tuple[str, float, float, float]) -> str:
    """'10 km around Villeurbanne (69)', in the reader's language."""
    code, _lat, _lon, km = around
    place = places().by_code.get(code)
    return _("{km} km around {place}").format(
        km=format_number(km), place=place.label() if place else code
    )


def audience_in_words(audience: Audience) -> str:
    """An audience as a person reads it, in their language: 'équipe Lyon 3e · secteur 69'."""
    parts = [_("team {name}").format(name=name) for name in audience.teams]
    parts += [_("area {code}").format(code=code) for code in audience.areas]
    if audience.skills:
        parts.append(
            _("skill: {skills}").format(
                skills=_(" or ").join(skill_word(skill) for skill in audience.skills)
            )
        )
    if audience.languages:
        parts.append(
            _("speaking {languages}").format(
                languages=_(" or ").join(language_in_words(lang) for lang in audience.languages)
            )
        )
    if audience.active_days is not None:
        parts.append(
            ngettext(
                "active in the last {n} day",
                "active in the last {n} days",
                audience.active_days,
            ).format(n=audience.active_days)
        )
    if audience.around is not None:
        parts.append(describe_radius(audience.around))
    return " · ".join(parts) if parts else _("everyone")


def _listed(names: tuple[str, ...]) -> str:
    return esc(", ".join(names) or _("none"))


_REFUSALS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "audience.quotes": lambda _data: _("Check the quotes in the audience."),
    "audience.skill": lambda data: _(
        "I don't know the skill “{word}”. The skills are: {skills}."
    ).format(word=esc(data["word"][:60]), skills=esc(skill_words().replace("|", ", "))),
    "audience.word": lambda data: _("I don't understand “{word}”. Use {syntax}.").format(
        word=esc(data["word"][:60]), syntax=esc(audience_syntax())
    ),
    "radius.distance": lambda _data: _(
        "Give the distance in km, from 1 to 500: e.g. “10 km around Villeurbanne”."
    ),
    "radius.unknown": lambda data: _("I don't know a French commune called “{name}”.").format(
        name=esc(data["name"][:60])
    ),
    "radius.several": lambda data: _(
        "Several communes are called “{name}”: {places}. Give the postcode instead."
    ).format(
        name=esc(data["name"][:60]),
        places=", ".join(f"{esc(label)} {postcode}".strip() for label, postcode in data["places"]),
    ),
    "button.format": lambda _data: _(
        "Send a button as its label then its https:// link, e.g. “Sign up https://…”."
    ),
    "button.task": lambda data: _("There is no open task #{id} you can offer.").format(
        id=data["id"]
    ),
    "team.unknown": lambda data: _(
        "There is no team “{name}” among yours. Your teams: {teams}."
    ).format(name=esc(data["name"]), teams=_listed(data["teams"])),
    "area.unknown": lambda data: _(
        "There is no area “{code}”: type a department (69, 2A, 974) or the "
        "start of a postcode (690). Areas of your volunteers: {areas}."
    ).format(code=esc(data["code"]), areas=_listed(data["areas"])),
    "paid.disabled": lambda _data: _(
        "Paid broadcasts are not enabled for this campaign (RELAIS_PAID_BROADCAST)."
    ),
    "send_at.past": lambda _data: _("That time is in the past. Choose a time to come."),
}


def refusal(problem: Invalid) -> str:
    """Why a broadcast (its message, audience, button or time) was refused, and what to do,
    in the reader's language (HTML)."""
    if problem.kind.startswith("markup."):
        return markup_words(problem.kind.removeprefix("markup."), problem.data)
    return _REFUSALS[problem.kind](problem.data)


def button_row(button: NewButton) -> tuple[str, str, str]:
    """(label, url, payload) as a broadcast stores a button: a link, or a task to accept
    right from the message (an ordinary task card tap)."""
    if button.task is not None:
        return f"✅ {button.task.title}"[:60], "", TaskCard("acc", button.task.id).pack()
    return button.label, button.url, ""


def figures_line(figures: Figures) -> str:
    """'Sent 12 · failed 0 · blocked 1 · remaining 30 (of 43)'."""
    return _(
        "Sent {sent} · failed {failed} · blocked {blocked} · remaining {remaining} "
        "(of {recipients})"
    ).format(
        sent=format_number(figures.sent),
        failed=format_number(figures.failed),
        blocked=format_number(figures.blocked),
        remaining=format_number(figures.remaining),
        recipients=format_number(figures.recipients),
    )


class BroadcastText:
    """What a broadcast's author reads about it on its own, in the broadcast's language,
    times in the campaign's zone."""

    def __init__(self, settings: Settings) -> None:
        self.zone = settings.timezone

    def progress(
        self, broadcast: Broadcast, figures: Figures, finish: datetime | None, ended: bool
    ) -> str:
        with use_language(broadcast.language):
            head = (
                _("📣 Broadcast #{id} finished.") if ended else _("📣 Broadcast #{id} in progress…")
            ).format(id=broadcast.id)
            lines = [head, figures_line(figures)]
            if finish is not None:
                lines.append(
                    _("Expected to finish at {time}.").format(time=format_time(finish, self.zone))
                )
            return "\n".join(lines)

    def cancelled(self, broadcast: Broadcast, figures: Figures) -> str:
        with use_language(broadcast.language):
            return "\n".join(
                [
                    _("📣 Broadcast #{id} cancelled.").format(id=broadcast.id),
                    figures_line(figures),
                ]
            )

    def report(self, broadcast: Broadcast, figures: Figures) -> str:
        with use_language(broadcast.language):
            lines = [
                _("<b>Delivery report, broadcast #{id}</b>").format(id=broadcast.id),
                _("Recipients: {n}").format(n=format_number(figures.recipients)),
                _("Delivered: {n}").format(n=format_number(figures.sent)),
                _("Blocked the bot: {n}").format(n=format_number(figures.blocked)),
                _("Failed: {n}").format(n=format_number(figures.failed)),
            ]
            if figures.uncertain:
                lines.append(
                    _("Unknown (interrupted while sending, not resent): {n}").format(
                        n=format_number(figures.uncertain)
                    )
                )
            if figures.cancelled:
                lines.append(
                    _("Not sent (stopped, paused or cancelled): {n}").format(
                        n=format_number(figures.cancelled)
                    )
                )
            if broadcast.started_at:
                lines.append(
                    _("Started {when}.").format(
                        when=format_datetime(broadcast.started_at, self.zone)
                    )
                )
            return "\n".join(lines)
