"""/teams, /invite, /promote, /demote and /audit: organizing teams and who runs them."""

from __future__ import annotations

from bot.audit_text import action_in_words
from bot.clock import from_iso
from bot.i18n import N_, _, days, format_datetime, people, use_language
from bot.messaging import Choice, Outbound, choices
from bot.router import Reply, Request, Router, expired
from bot.services.people import ADMIN, ORGANIZER, NotAllowed
from bot.services.teams import INVITE_TERMS
from bot.services.volunteers import Invalid
from bot.storage.outbox import Envelope
from bot.storage.teams import Invite
from bot.text import esc
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
    rows = [Choice(_("✏️ Rename {team}").format(team=t.name[:40]), f"tm:ren:{t.id}") for t in teams]
    if request.actor.is_admin:
        rows.append(Choice(_("➕ New team"), "tm:new"))
    return Outbound("\n".join(lines), choices=choices(*rows))


async def on_team_tap(request: Request) -> Reply:
    """Asks for the name of a new team, or the new name of one being renamed."""
    parts = request.inbound.choice.split(":")
    if parts[1:] == ["new"] and request.actor.is_admin:
        await request.begin(TEAM_FLOW, "name", {"team_id": None})
        return Outbound(_("What is the new team's name? (e.g. Paris 11e)"))
    if len(parts) == 3 and parts[1] == "ren" and parts[2].isdigit():
        scope = request.actor.team_scope()
        team_id = int(parts[2])
        if not request.actor.is_organizer or (scope is not None and team_id not in scope):
            return expired()
        await request.begin(TEAM_FLOW, "name", {"team_id": team_id})
        return Outbound(_("What is the team's new name?"))
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
        return Outbound(str(problem))
    await request.finish()
    return Outbound(text.format(team=esc(team.name)))


# -- /invite --------------------------------------------------------------------------------


def _link(request: Request, invite: Invite) -> str:
    return esc(request.services.deep_link(request.inbound.channel, invite.code))


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
        rows.append(Choice(_("🙋 My personal link"), "iv:recruit"))
    teams = await request.services.teams.visible(actor)
    rows += [
        Choice(_("👥 Join link: {team}").format(team=t.name[:40]), f"iv:team:{t.id}") for t in teams
    ]
    if actor.is_admin:
        rows += [
            Choice(_("⭐ Organizer invite: {team}").format(team=t.name[:40]), f"iv:org:{t.id}")
            for t in teams
        ]
    if not teams and actor.is_admin:
        rows.append(Choice(_("➕ New team"), "tm:new"))
    return Outbound(_("Which link do you want?"), choices=choices(*rows))


async def _recruit_link(request: Request) -> Outbound:
    invite = await request.services.teams.invite(request.actor, "recruit")
    assert request.actor.volunteer is not None
    count = await request.services.volunteers.recruits(request.actor.volunteer.id)
    return Outbound(
        _(
            "Your personal link to bring friends: {link}\n\nEveryone who joins through it "
            "counts as recruited by you. So far: {count}."
        ).format(link=_link(request, invite), count=count)
    )


async def on_invite_tap(request: Request) -> Reply:
    """Creates the chosen link and shows it, with how long and how often it works."""
    parts = request.inbound.choice.split(":")
    if parts[1:] == ["recruit"]:
        if request.actor.volunteer is None or not request.actor.volunteer.is_member:
            return expired()
        return await _recruit_link(request)
    if len(parts) != 3 or parts[1] not in ("team", "org") or not parts[2].isdigit():
        return expired()
    kind = "team" if parts[1] == "team" else "organizer"
    team = await request.services.teams.teams.get(int(parts[2]))
    if team is None:
        return expired()
    try:
        invite = await request.services.teams.invite(request.actor, kind, team.id)
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
    return int(text) if text.isdigit() and len(text) < 12 else None


async def cmd_promote(request: Request) -> Reply:
    """Offers the roles an admin can give the volunteer whose number follows the command."""
    number = _volunteer_number(request.inbound.args)
    if number is None:
        return Outbound(_("Usage: /promote NUMBER — the volunteer's number, shown by /volunteers."))
    target = await request.services.teams.target(request.actor, number)
    if target is None:
        return Outbound(_("No volunteer has the number {number}.").format(number=number))
    teams = await request.services.teams.visible(request.actor)
    rows = [
        Choice(_("Organizer of {team}").format(team=t.name[:40]), f"pr:org:{target.id}:{t.id}")
        for t in teams
    ]
    rows.append(Choice(_("Admin (everything)"), f"pr:admin:{target.id}:0"))
    return Outbound(
        _("Which role for #{number} {name}?").format(number=target.id, name=esc(target.first_name)),
        choices=choices(*rows),
    )


async def on_promote_tap(request: Request) -> Reply:
    """Grants the tapped role and confirms."""
    parsed = _role_payload(request.inbound.choice)
    if parsed is None:
        return expired()
    volunteer_id, role, team_id = parsed
    try:
        changed = await request.services.teams.promote(request.actor, volunteer_id, role, team_id)
    except NotAllowed:
        return expired()
    if changed:
        await _tell_new_role(request, volunteer_id, role, team_id)
    text = (
        _("Done: #{number} has the new role.") if changed else _("#{number} already had this role.")
    )
    return Outbound(text.format(number=volunteer_id), edit=True)


async def _tell_new_role(
    request: Request, volunteer_id: int, role: str, team_id: int | None
) -> None:
    """Let the promoted person know, in their language, through the outbox."""
    services = request.services
    volunteer = await services.volunteers.get(volunteer_id)
    addresses = await services.volunteers.addresses(volunteer_id)
    if volunteer is None or not addresses:
        return
    team = await services.teams.teams.get(team_id) if team_id else None
    with use_language(volunteer.language):
        if team is not None:
            text = _("You are now an organizer of {team}. Send /help to see your commands.")
        else:
            text = _("You are now an admin of Relais. Send /help to see your commands.")
        outbound = Outbound(text.format(team=esc(team.name) if team else ""))
    await services.send_later(
        [
            Envelope(
                "notice",
                addresses[0].channel,
                addresses[0].chat_id,
                outbound,
                volunteer_id=volunteer_id,
            )
        ]
    )


async def cmd_demote(request: Request) -> Reply:
    """Lists the roles of the volunteer whose number follows the command, to remove one."""
    number = _volunteer_number(request.inbound.args)
    if number is None:
        return Outbound(_("Usage: /demote NUMBER — the volunteer's number, shown by /volunteers."))
    target = await request.services.teams.target(request.actor, number)
    if target is None:
        return Outbound(_("No volunteer has the number {number}.").format(number=number))
    roles = await request.services.volunteers.roles(target.id)
    if not roles:
        return Outbound(_("#{number} has no role to remove.").format(number=target.id))
    names = {t.id: t.name for t in await request.services.teams.visible(request.actor)}
    rows = [
        Choice(
            _("Organizer of {team}").format(team=names.get(r.team_id or 0, "?")[:40])
            if r.role == ORGANIZER
            else _("Admin (everything)")
            if r.role == ADMIN
            else r.role,
            f"dm:{r.role}:{target.id}:{r.team_id or 0}",
        )
        for r in roles
    ]
    return Outbound(
        _("Which role should #{number} {name} lose?").format(
            number=target.id, name=esc(target.first_name)
        ),
        choices=choices(*rows),
    )


async def on_demote_tap(request: Request) -> Reply:
    """Removes the tapped role and confirms."""
    parsed = _role_payload(request.inbound.choice)
    if parsed is None:
        return expired()
    volunteer_id, role, team_id = parsed
    try:
        changed = await request.services.teams.demote(request.actor, volunteer_id, role, team_id)
    except NotAllowed:
        return expired()
    if not changed:
        return expired()
    return Outbound(_("Done: #{number} lost this role.").format(number=volunteer_id), edit=True)


def _role_payload(data: str) -> tuple[int, str, int | None] | None:
    """'pr:org:12:3' → (12, 'organizer', 3); 'dm:admin:12:0' → (12, 'admin', None)."""
    parts = data.split(":")
    if len(parts) != 4 or not parts[2].isdigit() or not parts[3].isdigit():
        return None
    role = {"org": ORGANIZER, ORGANIZER: ORGANIZER, ADMIN: ADMIN, "comms": "comms"}.get(parts[1])
    if role is None:
        return None
    team_id = int(parts[3]) or None
    if (role == ORGANIZER) != (team_id is not None):
        return None
    return int(parts[2]), role, team_id


# -- /audit ---------------------------------------------------------------------------------


async def cmd_audit(request: Request) -> Reply:
    """Shows admins the latest organizer actions on people's data: who, what, when."""
    request.actor.require(ADMIN)
    entries = await request.services.audit.recent(30)
    zone = request.services.settings.timezone
    teams = {t.id: t.name for t in await request.services.teams.teams.in_scope(None)}
    people: dict[int, str] = {}
    for actor_id in {e.actor_id for e in entries if e.actor_id}:
        volunteer = await request.services.volunteers.get(actor_id)
        if volunteer is not None and volunteer.first_name:
            people[actor_id] = volunteer.first_name
    lines = ["<b>" + _("Latest organizer actions") + "</b>"]
    for e in entries:
        at = format_datetime(from_iso(e.at), zone)
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
    router.command("promote", cmd_promote, rank=ADMIN, description=N_("Give someone a role"))
    router.command("demote", cmd_demote, rank=ADMIN, description=N_("Take a role away"))
    router.command("audit", cmd_audit, rank=ADMIN, description=N_("Who read or changed data"))
    router.choice("tm", on_team_tap)
    router.choice("iv", on_invite_tap)
    router.choice("pr", on_promote_tap)
    router.choice("dm", on_demote_tap)
    router.flow(TEAM_FLOW, on_team_name)
