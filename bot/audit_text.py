"""The audit log as an admin reads it: each recorded action in words, in their language."""

from __future__ import annotations

import re
from collections.abc import Mapping

from bot.i18n import N_, _, ngettext
from bot.vocabulary import availability_word, skill_word

# What each recorded action means; {subject} is the person, team, task… it concerned.
ACTIONS = {
    "role.grant.organizer": N_("made {subject} an organizer"),
    "role.revoke.organizer": N_("took the organizer role from {subject}"),
    "role.grant.admin": N_("made {subject} an admin"),
    "role.revoke.admin": N_("took the admin role from {subject}"),
    "role.grant.comms": N_("put {subject} on the comms team"),
    "role.revoke.comms": N_("took {subject} off the comms team"),
    "team.create": N_("created {subject}"),
    "team.rename": N_("renamed {subject}"),
    "invite.team": N_("made a link to join {subject}"),
    "invite.organizer": N_("made an organizer invite for {subject}"),
    "volunteer.view": N_("looked at the profile of {subject}"),
    "volunteers.list": N_("listed volunteers {subject}"),
    "volunteer.erase.cli": N_("erased {subject} (command line)"),
    "broadcast.create": N_("created {subject}"),
    "broadcast.cancel": N_("cancelled {subject}"),
    "task.create": N_("created {subject}"),
    "task.import": N_("imported tasks from a file ({subject})"),
    "task.edit": N_("edited {subject}"),
    "task.open": N_("resumed {subject}"),
    "task.paused": N_("paused {subject}"),
    "task.closed": N_("closed {subject}"),
    "incident.escalated": N_("escalated incident {subject}"),
    "incident.taken": N_("took incident {subject}"),
    "incident.dismissed": N_("marked incident {subject} not relevant"),
    "incident.handled": N_("marked incident {subject} handled"),
    "incident.read": N_("read the reports of incident {subject}"),
    "riposte.start": N_("started riposte {subject}"),
    "duty.on": N_("went on duty"),
    "duty.off": N_("went off duty"),
    "identity linked": N_("linked a {subject} account to their profile"),
    "dashboard.link": N_("asked for a dashboard link on {subject}"),
    "dashboard.login": N_("opened the dashboard from {subject}"),
    "volunteers.map": N_("looked at the map of volunteers"),
}
EXPORTS = {
    "volunteers": N_("volunteers"),
    "tasks": N_("tasks"),
    "outcomes": N_("outcomes"),
    "calls": N_("calls"),
}
_EXPORT = re.compile(r"^(\w+): (\d+) rows, (all teams|teams [\d,]+)$")
STATUS_WORDS = {"active": N_("active"), "paused": N_("on a break"), "stopped": N_("stopped")}
_KINDS = {"volunteer": N_("volunteer #{id}"), "team": N_("team #{id}"), "task": N_("task #{id}")}


def action_in_words(action: str, subject: str, teams: Mapping[int, str] | None = None) -> str:
    """'role.grant.organizer', 'volunteer:5' → 'made volunteer #5 an organizer'; teams
    named when `teams` knows them ('team Lyon 3e')."""
    if action == "export":
        return _export(subject)
    if action.startswith("task.") and action not in ACTIONS:
        action = "task.edit"
    sentence = ACTIONS.get(action)
    if sentence is None:
        return _("did something Relais no longer describes ({action})").format(action=action)
    return _(sentence).format(subject=_subject(action, subject, teams or {}))


def _subject(action: str, subject: str, teams: Mapping[int, str]) -> str:
    if action == "volunteers.list":
        return _filters(subject)
    kind, sep, rest = subject.partition(":")
    ident = rest.split()[0] if sep and rest.split() else ""
    if action in ("identity linked", "dashboard.link", "dashboard.login"):
        return {"telegram": "Telegram", "signal": "Signal", "console": _("the console")}.get(
            subject, subject
        )
    if action.startswith("broadcast.") and kind == "broadcast":
        return _("broadcast #{id}").format(id=ident)
    if kind == "team" and ident.isdigit() and int(ident) in teams:
        return _("team {name}").format(name=teams[int(ident)])
    if kind in _KINDS and ident.isdigit():
        return _(_KINDS[kind]).format(id=ident)
    if action == "task.import" and "added:" in subject:
        counts = dict(word.partition(":")[::2] for word in subject.split())
        added, updated = int(counts.get("added") or 0), int(counts.get("updated") or 0)
        return (
            ngettext("{n} added", "{n} added", added).format(n=added)
            + ", "
            + ngettext("{n} updated", "{n} updated", updated).format(n=updated)
        )
    if subject.isdigit():
        if action.startswith("role."):
            return _("volunteer #{id}").format(id=subject)
        return f"#{subject}"
    return subject


def _filters(subject: str) -> str:
    """'team:3 area:69 skill:share' → '(team #3, area 69, sharing)'; '' for none."""
    shown = []
    for word in subject.split():
        key, _sep, value = word.partition(":")
        if key == "team":
            shown.append(_("team #{id}").format(id=value))
        elif key == "area":
            shown.append(_("area {code}").format(code=value))
        elif key == "skill":
            shown.append(skill_word(value))
        elif key == "availability":
            shown.append(availability_word(value))
        elif key == "status":
            shown.append(_(STATUS_WORDS.get(value, value)))
        else:
            shown.append(word)
    return "(" + ", ".join(shown) + ")" if shown else ""


def _export(subject: str) -> str:
    match = _EXPORT.match(subject)
    if match is None:
        return _("exported {what}").format(what=subject)
    what, rows, where = match.groups()
    count = int(rows)
    text = ngettext("exported {what}: {n} row", "exported {what}: {n} rows", count).format(
        what=_(EXPORTS.get(what, what)), n=count
    )
    if where == "all teams":
        return text + ", " + _("all teams")
    teams = where.removeprefix("teams ").split(",")
    return text + ", " + ", ".join(_("team #{id}").format(id=t) for t in teams if t)
