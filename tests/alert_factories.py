"""People for rapid-response tests: volunteers with a status and opt-ins, comms organizers,
team organizers. Onboarding is another flow; here people are written as it would leave them."""

from __future__ import annotations

from datetime import datetime

from bot.clock import to_iso
from bot.services import Services
from bot.storage.volunteers import Volunteer


async def volunteer(
    services: Services,
    user_id: str,
    *,
    name: str = "Ana",
    language: str = "fr",
    status: str = "active",
    rapid_response: bool = False,
    skills: str = "",
    paused_until: datetime | None = None,
    quiet_hours: str | None = "",
    team: str | None = None,
    channel: str = "telegram",
) -> Volunteer:
    """A volunteer who finished onboarding (quiet hours off unless given)."""
    created = await services.volunteers.create(channel, user_id, user_id, language, name)
    async with services.db.transaction() as tx:
        await tx.execute(
            "UPDATE volunteers SET status = :status, rapid_response = :ring, skills = :skills,"
            " paused_until = :paused_until, quiet_hours = :quiet WHERE id = :id",
            {
                "status": status,
                "ring": int(rapid_response),
                "skills": skills,
                "paused_until": to_iso(paused_until) if paused_until else None,
                "quiet": quiet_hours,
                "id": created.id,
            },
        )
        if team is not None:
            now = to_iso(services.clock.now())
            await tx.execute(
                "INSERT INTO teams (name, created_at) VALUES (:team, :now) ON CONFLICT DO NOTHING",
                {"team": team, "now": now},
            )
            await tx.execute(
                "INSERT INTO team_members (team_id, volunteer_id, joined_at)"
                " SELECT id, :id, :now FROM teams WHERE name = :team",
                {"id": created.id, "now": now, "team": team},
            )
    found = await services.volunteers.get(created.id)
    assert found is not None
    return found


async def comms(services: Services, user_id: str, *, name: str, language: str = "fr") -> Volunteer:
    """An organizer on the comms team (role comms, everywhere)."""
    person = await volunteer(services, user_id, name=name, language=language)
    await services.volunteers.grant_role(person.id, "comms", None, None)
    return person


async def organizer(
    services: Services, user_id: str, *, name: str, team: str, language: str = "fr"
) -> Volunteer:
    """An organizer of one team."""
    person = await volunteer(services, user_id, name=name, language=language, team=team)
    async with services.db.transaction() as tx:
        await tx.execute(
            "INSERT INTO roles (volunteer_id, role, team_id, granted_at)"
            " SELECT :id, 'organizer', id, :now FROM teams WHERE name = :team",
            {"id": person.id, "now": to_iso(services.clock.now()), "team": team},
        )
    return person


async def outbox(services: Services, kind: str | None = None) -> list[dict[str, object]]:
    """Every outbox row (oldest first), as dicts, for asserting what was queued."""
    sql = "SELECT * FROM outbox"
    params: tuple[object, ...] = ()
    if kind is not None:
        sql += " WHERE kind = ?"
        params = (kind,)
    rows = await services.db.fetch_all(sql + " ORDER BY id", params)
    return [dict(row) for row in rows]


async def deliver_all(services: Services, first_message_id: int = 500) -> None:
    """Pretend the sender sent everything pending (so later edits find a message id)."""
    rows = await services.db.fetch_all("SELECT id FROM outbox WHERE status = 'pending'")
    async with services.db.transaction() as tx:  # in the sender's hands, as a claim does
        await tx.execute("UPDATE outbox SET status = 'sending' WHERE status = 'pending'")
    for offset, row in enumerate(rows):
        await services.outbox.settle(
            row["id"], "sent", services.clock.now(), message_id=str(first_message_id + offset)
        )
