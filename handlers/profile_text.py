"""What a volunteer's profile shows: the card /profile sends (and sends again after an
answer is changed), its settings lines and buttons, and how quiet hours and time zones read.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.volunteers import Volunteer
from bot.i18n import _, format_date, language_name
from bot.messaging import Choice, Outbound, choices
from bot.payloads import ProfileField, Setting
from bot.quiet_hours import quiet_hours_of
from bot.router import Request
from bot.services.teams import Membership
from bot.text import esc
from handlers.joining_text import AVAILABILITY_LABELS, SKILL_LABELS, where_text


def _status(volunteer: Volunteer, request: Request) -> str:
    if volunteer.status == "paused" and volunteer.paused_until:
        zone = request.services.settings.timezone
        return _("on a break until {date}").format(date=format_date(volunteer.paused_until, zone))
    if volunteer.status == "stopped":
        return _("stopped: no messages you did not ask for")
    return _("active")


def profile_card(request: Request, volunteer: Volunteer, membership: Membership) -> Outbound:
    """Everything on the profile, with a button to change each answer."""
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


# -- what is shown ----------------------------------------------------------------------------


def quiet_text(request: Request, volunteer: Volunteer) -> str:
    """'21:00–09:00 (the campaign's)', '22:00–07:00', or 'none'."""
    campaign = request.services.settings.quiet_hours
    hours = quiet_hours_of(volunteer.quiet_hours, campaign)
    if hours is None:
        return _("none")
    shown = f"{hours.start:%H:%M}–{hours.end:%H:%M}"
    if volunteer.quiet_hours is None:
        return _("{hours} (the campaign's)").format(hours=shown)
    return shown


def offset_text(zone: str, now: datetime) -> str:
    """'UTC+2', 'UTC−5', 'UTC+5:30': how far the zone is from UTC at `now`."""
    offset = ZoneInfo(zone).utcoffset(now) or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    if minutes == 0:
        return "UTC"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{'+' if minutes > 0 else '−'}{hours}" + (f":{rest:02d}" if rest else "")


def zone_text(request: Request, volunteer: Volunteer) -> str:
    """'Europe/London', 'UTC+2' for an offset zone (never its inverted POSIX name), or the
    campaign's zone marked as such."""
    if volunteer.timezone and volunteer.timezone.startswith("Etc/"):
        return offset_text(volunteer.timezone, request.now)
    if volunteer.timezone:
        return volunteer.timezone
    return _("{zone} (the campaign's)").format(zone=request.services.settings.timezone.key)


def settings_lines(request: Request, volunteer: Volunteer) -> list[str]:
    """The four settings as lines of the profile card."""
    return [
        _("Rapid-response ring: {value}").format(
            value=_("yes, call me when a post must be answered fast")
            if volunteer.rapid_response
            else _("no")
        ),
        _("Leaderboard: {value}").format(
            value=_("my first name is shown") if volunteer.leaderboard else _("hidden")
        ),
        _("Quiet hours: {value}").format(value=esc(quiet_text(request, volunteer))),
        _("Time zone: {value}").format(value=esc(zone_text(request, volunteer))),
    ]


def settings_choices(volunteer: Volunteer) -> list[list[Choice]]:
    """Buttons under the profile: switch the ring and the leaderboard, change the hours."""
    return [
        [
            Setting("ring", "off" if volunteer.rapid_response else "on").button(
                _("⚡ Leave the ring") if volunteer.rapid_response else _("⚡ Join the ring")
            ),
            Setting("board", "off" if volunteer.leaderboard else "on").button(
                _("🏆 Hide me") if volunteer.leaderboard else _("🏆 Show me")
            ),
        ],
        [
            Setting("ask", "quiet").button(_("🌙 Quiet hours")),
            Setting("ask", "zone").button(_("🌍 Time zone")),
        ],
    ]
