"""/teams, /invite, /promote, /demote and /audit: organizing teams and who runs them."""

from __future__ import annotations

from typing import cast

from bot.audit_text import action_in_words
from bot.domain.volunteers import Invite, Team, Volunteer
from bot.i18n import N_, _, characters, days, format_datetime, people, use_language
from bot.messaging import Outbound, choices
from bot.payloads import (
    Demote,
    InviteRecruit,
    InviteTeam,
    Promote,
    RoleName,
    TeamNew,
    TeamRename,
)
from bot.router import Reply, Request, Router, expired
from bot.services.people import ADMIN, ORGANIZER, NotAllowed
from bot.services.teams import INVITE_TERMS
from bot.services.volunteers import Invalid
from bot.text import esc, is_number
from handlers.onboarding import member_or_prompt

TEAM_FLOW = "team"
# step    what the person sees               how they answer
# "name"  the new name of a team (new/rename) type it


# -- /teams ---------------------------------------------------------------------------------


async def cmd_teams(request: Request) -> Reply:
    """Lists the organizer's teams with member counts; buttons to rename, or create (admins)."""
    teams = await request.services.teams.visible(request.actor)
    lines = ["<b>" + _("Teams") + "</b>"]
    lines += [f"• {esc(t.name)} — {t.members}" for t in teams] or [_("No team yet.")]
    rows = [
        TeamRename("ren", t.id).button(_("✏️ Rename {team}").format(team=t.name[:40])) for t in teams
    ]
    if request.actor.is_admin:
        rows.append(TeamNew("new").button(_("➕ New team")))
    return Outbound("\n".join(lines), choices=choices(*rows))


async def on_team_tap(request: Request) -> Reply:
    """Asks for the name of a new team, or the new name of one being renamed."""
    tap = request.payload
    if isinstance(tap, TeamNew) and request.actor.is_admin:
        await request.begin(TEAM_FLOW, "name", {"team_id": None})
        return Outbound(_("What is the new team's name? (e.g. Paris 11e)"), answer="text")
    if isinstance(tap, TeamRename):
        scope = request.actor.team_scope()
        team_id = tap.team
        if not request.actor.is_organizer or (scope is not None and team_id not in scope):
            return expired()
        await request.begin(TEAM_FLOW, "name", {"team_id": team_id})
        return Outbound(_("What is the team's new name?"), answer="text")
    return expired()


async def on_team_name(request: Request) -> Reply:
    """Creates or renames the team with the typed name."""
    assert request.conversation is not None
    team_id = request.conversation.data.get("team_id")
    service = request.services.teams
    try:
        if team_id is None:
            team = await service.create(request.actor, request.inbound.text)
            text = _("Team {team} created. Send /invite for its join link.")
        else:
            team = await service.rename(request.actor, int(team_id), request.inbound.text)
            text = _("The team is now called {team}.")
    except Invalid as problem:
        return Outbound(team_problem(problem))
    await request.finish()
    return Outbound(text.format(team=esc(team.name)))


def team_problem(problem: Invalid) -> str:
    """Why a team name was refused, in the organizer's language."""
    if problem.kind == "team.name_length":
        return _("A team name has 1 to {limit}.").format(limit=characters(problem.data["limit"]))
    if problem.kind == "team.name_taken":
        return _("There is already a team with this name.")
    return str(problem)


# -- /invite --------------------------------------------------------------------------------


def _link(request: Request, invite: Invite) -> str:
    return esc(request.services.messengers.invite_link(request.inbound.channel, invite.code))


async def cmd_invite(request: Request) -> Reply:
    """Gives a volunteer their personal recruiting link; organizers also choose team links."""
    actor = request.actor
    if not actor.is_organizer:
        volunteer = await member_or_prompt(request)
        if isinstance(volunteer, Outbound):
            return volunteer
        return await _recruit_link(request)
    rows = []
    if actor.volunteer is not None and actor.volunteer.is_member:
        rows.append(InviteRecruit("recruit").button(_("🙋 My personal link")))
    teams = await request.services.teams.visible(actor)
    rows += [
        InviteTeam("team", t.id).button(_("👥 Join link: {team}").format(team=t.name[:40]))
        for t in teams
    ]
    if actor.is_admin:
        rows += [
            InviteTeam("org", t.id).button(
                _("⭐ Organizer invite: {team}").format(team=t.name[:40])
            )
            for t in teams
        ]
    if not teams and actor.is_admin:
        rows.append(TeamNew("new").button(_("➕ New team")))
    return Outbound(_("Which link do you want?"), choices=choices(*rows))


async def _recruit_link(request: Request) -> Outbound:
    invite, count = await request.services.teams.recruit_link(request.actor)
    return Outbound(
        _(
            "Your personal link to bring friends: {link}\n\nEveryone who joins through it "
            "counts as recruited by you. So far: {count}."
        ).format(link=_link(request, invite), count=count)
    )


async def on_invite_tap(request: Request) -> Reply:
    """Creates the chosen link and shows it, with how long and how often it works."""
    tap = request.payload
    if isinstance(tap, InviteRecruit):
        if request.actor.volunteer is None or not request.actor.volunteer.is_member:
            return expired()
        return await _recruit_link(request)
    tap = request.tap(InviteTeam)
    kind = "team" if tap.kind == "team" else "organizer"
    try:
        team, invite = await request.services.teams.team_invite(request.actor, kind, tap.team)
    except NotAllowed:
        return expired()
    lifetime = INVITE_TERMS[kind][0].days
    if kind == "team":
        text = _("Link to join {team} (works for {days}, up to {uses}): {link}").format(
            team=esc(team.name),
            days=days(lifetime),
            uses=people(invite.max_uses),
            link=_link(request, invite),
        )
    else:
        text = _(
            "Organizer invite for {team}: it works once, for {days}. Send it privately "
            "to the person: {link}"
        ).format(team=esc(team.name), days=days(lifetime), link=_link(request, invite))
    return Outbound(text)


# -- /promote, /demote ----------------------------------------------------------------------


def _volunteer_number(text: str) -> int | None:
    text = text.strip().lstrip("#")
    return int(text) if is_number(text) and len(text) < 12 else None


async def cmd_promote(request: Request) -> Reply:
    """Offers the roles an admin can give the volunteer whose number follows the command."""
    number = _volunteer_number(request.inbound.args)
    if number is None:
        return Outbound(_("Usage: /promote NUMBER — the volunteer's number, shown by /volunteers."))
    choice = await request.services.teams.role_choice(request.actor, number, removing=False)
    if choice is None:
        return Outbound(_("No volunteer has the number {number}.").format(number=number))
    target, teams = choice.volunteer, choice.teams
    rows = [
        Promote("org", target.id, t.id).button(_("Organizer of {team}").format(team=t.name[:40]))
        for t in teams
    ]
    rows.append(Promote("comms", target.id, 0).button(_("Comms team (alerts, duty)")))
    rows.append(Promote("admin", target.id, 0).button(_("Admin (everything)")))
    return Outbound(
        _("Which role for #{number} {name}?").format(number=target.id, name=esc(target.first_name)),
        choices=choices(*rows),
    )


async def on_promote_tap(request: Request) -> Reply:
    """Grants the tapped role and confirms."""
    parsed = _role(request.tap(Promote))
    if parsed is None:
        return expired()
    volunteer_id, role, team_id = parsed
    try:
        if role == "comms":  # the comms team's own rule, as /comms add gives it
            granted = await request.services.alerts.grant_comms(
                request.actor, volunteer_id, notice=_on_comms_team
            )
            if granted.result == "unknown":
                return expired()
            changed = granted.result == "granted"
        else:
            changed = await request.services.teams.promote(
                request.actor, volunteer_id, role, team_id, notice=_new_role
            )
    except NotAllowed:
        return expired()
    text = (
        _("Done: #{number} has the new role.") if changed else _("#{number} already had this role.")
    )
    return Outbound(text.format(number=volunteer_id), edit=True)


def _new_role(volunteer: Volunteer, team: Team | None) -> Outbound:
    """What the promoted person reads, in their language."""
    with use_language(volunteer.language):
        if team is not None:
            text = _("You are now an organizer of {team}. Send /help to see your commands.")
        else:
            text = _("You are now an admin of Relais. Send /help to see your commands.")
        return Outbound(text.format(team=esc(team.name) if team else ""))


def _on_comms_team(volunteer: Volunteer) -> Outbound:
    """What the person put on the comms team reads, in their language."""
    with use_language(volunteer.language):
        return Outbound(
            _(
                "You are now on the comms team: urgent alerts reach you, and /duty puts you on "
                "duty. Send /help to see your commands."
            )
        )


async def cmd_demote(request: Request) -> Reply:
    """Lists the roles of the volunteer whose number follows the command, to remove one."""
    number = _volunteer_number(request.inbound.args)
    if number is None:
        return Outbound(_("Usage: /demote NUMBER — the volunteer's number, shown by /volunteers."))
    choice = await request.services.teams.role_choice(request.actor, number, removing=True)
    if choice is None:
        return Outbound(_("No volunteer has the number {number}.").format(number=number))
    target, roles = choice.volunteer, choice.roles
    if not roles:
        return Outbound(_("#{number} has no role to remove.").format(number=target.id))
    names = {t.id: t.name for t in choice.teams}
    rows = [
        Demote(cast(RoleName, r.role), target.id, r.team_id or 0).button(
            _("Organizer of {team}").format(team=names.get(r.team_id or 0, "?")[:40])
            if r.role == ORGANIZER
            else _("Admin (everything)")
            if r.role == ADMIN
            else _("Comms team (alerts, duty)")
        )
        for r in roles
        if r.role in (ORGANIZER, ADMIN, "comms")
    ]
    return Outbound(
        _("Which role should #{number} {name} lose?").format(
            number=target.id, name=esc(target.first_name)
        ),
        choices=choices(*rows),
    )


async def on_demote_tap(request: Request) -> Reply:
    """Removes the tapped role and confirms."""
    parsed = _role(request.tap(Demote))
    if parsed is None:
        return expired()
    volunteer_id, role, team_id = parsed
    try:
        if role == "comms":  # off the comms team as /comms remove does it: off duty too
            revoked = await request.services.alerts.revoke_comms(
                request.actor, volunteer_id, notice=_off_comms_team
            )
            changed = revoked.result == "revoked"
        else:
            changed = await request.services.teams.demote(
                request.actor, volunteer_id, role, team_id, notice=_lost_role
            )
    except NotAllowed:
        return expired()
    if not changed:
        return expired()
    return Outbound(_("Done: #{number} lost this role.").format(number=volunteer_id), edit=True)


def _lost_role(volunteer: Volunteer, team: Team | None) -> Outbound:
    """What the demoted person reads, in their language."""
    with use_language(volunteer.language):
        if team is not None:
            return Outbound(
                _("You are no longer an organizer of {team}.").format(team=esc(team.name))
            )
        return Outbound(_("You are no longer an admin of Relais."))


def _off_comms_team(volunteer: Volunteer) -> Outbound:
    """What the person taken off the comms team reads, in their language."""
    with use_language(volunteer.language):
        return Outbound(
            _(
                "You are no longer on the comms team: urgent alerts no longer reach you, and "
                "you are off duty."
            )
        )


def _role(tap: Promote | Demote) -> tuple[int, str, int | None] | None:
    """Promote('org', 12, 3) → (12, 'organizer', 3); Demote('admin', 12, 0) → (12, 'admin',
    None); None when the team does not fit the role (an organizer role needs one)."""
    role = ORGANIZER if tap.role == "org" else tap.role
    team_id = tap.team or None
    if (role == ORGANIZER) != (team_id is not None):
        return None
    return tap.volunteer, role, team_id


# -- /audit ---------------------------------------------------------------------------------


async def cmd_audit(request: Request) -> Reply:
    """Shows admins the latest organizer actions on people's data: who, what, when."""
    trail = await request.services.teams.audit_trail(request.actor)
    entries, people, teams = trail.entries, trail.people, trail.team_names
    zone = request.services.settings.timezone
    lines = ["<b>" + _("Latest organizer actions") + "</b>"]
    for e in entries:
        at = format_datetime(e.at, zone)
        who = esc(_actor(e.actor_id, people))
        lines.append(f"{at} — {who} {esc(action_in_words(e.action, e.subject, teams))}")
    if not entries:
        lines.append(_("Nothing yet."))
    return Outbound("\n".join(lines))


def _actor(actor_id: int | None, people: dict[int, str]) -> str:
    if not actor_id:
        return _("an admin (settings)")
    if actor_id in people:
        return _("{name} (volunteer #{id})").format(name=people[actor_id], id=actor_id)
    return _("volunteer #{id}").format(id=actor_id)


def register(router: Router) -> None:
    router.command(
        "invite", cmd_invite, description=N_("Your link to bring friends (organizers: team links)")
    )
    router.command("teams", cmd_teams, rank=ORGANIZER, description=N_("List, create, rename teams"))
    router.command(
        "promote", cmd_promote, rank=ADMIN, description=N_("Give someone a role"), arguments=True
    )
    router.command(
        "demote", cmd_demote, rank=ADMIN, description=N_("Take a role away"), arguments=True
    )
    router.command("audit", cmd_audit, rank=ADMIN, description=N_("Who read or changed data"))
    router.choice([TeamRename, TeamNew], on_team_tap)
    router.choice([InviteRecruit, InviteTeam], on_invite_tap)
    router.choice(Promote, on_promote_tap)
    router.choice(Demote, on_demote_tap)
    router.flow(TEAM_FLOW, on_team_name)
