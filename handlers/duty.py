"""/duty: who on the comms team is paged first, now and each week; /comms: who is on it."""

from __future__ import annotations

import re

from bot.comms_text import comms_answer, parse_member
from bot.domain.errors import NotAVolunteer
from bot.i18n import N_, _, format_time
from bot.messaging import Outbound, choices
from bot.payloads import DutyTap
from bot.router import Reply, Request, Router
from bot.services.alerts import Roster
from bot.services.people import NotAllowed
from bot.text import esc

WEEKDAYS = {
    "mon": 0, "monday": 0, "lun": 0, "lundi": 0,
    "tue": 1, "tuesday": 1, "mar": 1, "mardi": 1,
    "wed": 2, "wednesday": 2, "mer": 2, "mercredi": 2,
    "thu": 3, "thursday": 3, "jeu": 3, "jeudi": 3,
    "fri": 4, "friday": 4, "ven": 4, "vendredi": 4,
    "sat": 5, "saturday": 5, "sam": 5, "samedi": 5,
    "sun": 6, "sunday": 6, "dim": 6, "dimanche": 6,
}  # fmt: skip
_SLOT = re.compile(r"^(\d{1,2})[:h](\d{2})?\s*-\s*(\d{1,2})[:h](\d{2})?$")


async def cmd_duty(request: Request) -> Reply:
    """Shows who is on duty now and the week's schedule; `on`, `off` and `week` change it."""
    args = request.inbound.args.lower().split()
    if not request.actor.is_comms:
        raise NotAllowed("comms")
    try:
        if not args:
            return roster_view(await request.services.alerts.roster(request.actor))
        if args[0] in ("on", "oui", "start"):
            return await _on(request, args[1:])
        if args[0] in ("off", "non", "stop"):
            await request.services.alerts.duty_off(request.actor)
            return Outbound(_("You are off duty. Alerts go to whoever else is on duty."))
        if args[0] in ("week", "semaine"):
            return await _week(request, args[1:])
    except NotAVolunteer:
        return Outbound(_("Join the campaign first: send /start."))
    return duty_help()


async def _on(request: Request, args: list[str]) -> Reply:
    hours = None
    if args:
        match = re.fullmatch(r"(\d{1,2})h?", args[0])
        if match is None or not 1 <= int(match[1]) <= 72:
            return duty_help()
        hours = int(match[1])
    until = await request.services.alerts.duty_on(request.actor, hours)
    if until is None:
        return Outbound(
            _("🟢 You are on duty: new alerts page you at once. Send /duty off when you stop.")
        )
    return Outbound(
        _("🟢 You are on duty until {time}: new alerts page you at once.").format(
            time=format_time(until, request.services.settings.timezone)
        )
    )


async def _week(request: Request, args: list[str]) -> Reply:
    alerts = request.services.alerts
    if args == ["clear"] or args == ["effacer"]:
        removed = await alerts.clear_slots(request.actor)
        return Outbound(_("Your weekly duty slots are cleared ({n}).").format(n=removed))
    if len(args) < 2 or args[0] not in WEEKDAYS:
        return duty_help()
    match = _SLOT.match("".join(args[1:]))
    if match is None:
        return duty_help()
    start = int(match[1]) * 60 + int(match[2] or 0)
    end = int(match[3]) * 60 + int(match[4] or 0)
    if not (0 <= start < end <= 1440) or int(match[1]) > 23 or int(match[3]) > 24:
        return Outbound(_("The slot must start before it ends, within one day (e.g. 09:00-18:00)."))
    return roster_view(await alerts.add_slot(request.actor, WEEKDAYS[args[0]], start, end))


def roster_view(roster: Roster, *, edit: bool = False) -> Outbound:
    """Who is on duty now, the weekly schedule, and buttons to switch."""
    lines = [_("<b>On duty now</b>")]
    lines.append(
        ", ".join(esc(n) for n in roster.on_now)
        if roster.on_now
        else _("Nobody: alerts go straight to the whole comms team.")
    )
    if roster.slots:
        lines += ["", _("<b>Every week</b>")]
        lines.extend(
            f"{day_name(s.weekday)} {_hhmm(s.start_minute)}–{_hhmm(s.end_minute)} · {esc(name)}"
            for name, s in roster.slots
        )
    lines += ["", duty_help().text]
    return Outbound(
        "\n".join(lines),
        choices(
            [DutyTap("on").button(_("🟢 I'm on duty")), DutyTap("off").button(_("⚪ Off duty"))]
        ),
        edit=edit,
    )


async def on_choice(request: Request) -> Reply:
    """The I'm on duty / Off duty buttons under /duty."""
    on = request.tap(DutyTap).action == "on"
    try:
        roster = await request.services.alerts.switch_duty(request.actor, on)
    except NotAVolunteer:
        return Outbound(_("Join the campaign first: send /start."))
    return roster_view(roster, edit=True)


def duty_help() -> Outbound:
    return Outbound(
        _(
            "/duty on — on duty now (/duty on 4h for four hours)\n"
            "/duty off — off duty\n"
            "/duty week mon 09:00-18:00 — on duty every Monday (mon…sun or lun…dim)\n"
            "/duty week clear — remove your weekly slots"
        )
    )


def day_name(weekday: int) -> str:
    names = (_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun"))
    return names[weekday]


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


async def cmd_comms(request: Request) -> Reply:
    """Admins: lists the comms team; `add`/`remove` followed by a Telegram id changes it."""
    alerts = request.services.alerts
    args = request.inbound.args.split()
    if not args:
        team = await alerts.comms_team()
        names = ", ".join(esc(n) for n in team) if team else _("nobody yet")
        return Outbound(_("Comms team: {names}").format(names=names) + "\n\n" + comms_help())
    if len(args) != 2 or args[0] not in ("add", "remove"):
        return Outbound(comms_help())
    who = parse_member(args[1], request.inbound.channel)
    if who is None:
        return Outbound(comms_help())
    if args[0] == "add":
        result = await alerts.grant_comms(request.actor, who)
    else:
        result = await alerts.revoke_comms(request.actor, who)
    return Outbound(esc(comms_answer(who, result)))


def comms_help() -> str:
    return _(
        "/comms add #12 — put a volunteer on the comms team (their number, shown by "
        "/volunteers; or their phone number on Signal)\n"
        "/comms remove #12 — take them off"
    )


def register(router: Router) -> None:
    router.command(
        "duty",
        cmd_duty,
        rank="organizer",
        description=N_("Who is on duty for alerts; go on or off duty"),
        arguments=True,
    )
    router.command(
        "comms", cmd_comms, rank="admin", description=N_("Who is on the comms team"), arguments=True
    )
    router.choice(DutyTap, on_choice)
