"""What rapid response keeps about a volunteer, across incidents, pages, duty and ripostes:
their part of /mydata and of /forget."""

from __future__ import annotations

from datetime import datetime

from bot.storage.backend import Backend, Tx
from bot.storage.duty import erase_from_duty
from bot.storage.incidents import erase_from_incidents
from bot.storage.outbox import OutboxRepository
from bot.storage.pages import erase_from_pages
from bot.storage.personal_data import register_personal_data
from bot.storage.ripostes import erase_from_ripostes
from bot.text import clean_name, esc


async def export_alerts(db: Backend, volunteer_id: int) -> dict[str, object]:
    """What rapid response keeps about a volunteer, for /mydata."""
    me = {"volunteer": volunteer_id}
    reports = await db.fetch_all(
        "SELECT r.incident_id, r.comment, r.reported_at, i.url,"
        " CASE WHEN i.opened_by = r.volunteer_id THEN i.summary ELSE '' END AS summary"
        " FROM incident_reports r JOIN incidents i ON i.id = r.incident_id"
        " WHERE r.volunteer_id = :volunteer ORDER BY r.reported_at",
        me,
    )
    calls = await db.fetch_all(
        "SELECT riposte_id, ring, called_at, answer, answered_at, done_at FROM riposte_calls"
        " WHERE volunteer_id = :volunteer ORDER BY called_at",
        me,
    )
    duty = await db.fetch_one(
        "SELECT state, until, since FROM duty WHERE volunteer_id = :volunteer", me
    )
    slots = await db.fetch_all(
        "SELECT weekday, start_minute, end_minute FROM duty_slots WHERE volunteer_id = :volunteer"
        " ORDER BY weekday, start_minute",
        me,
    )
    pages = await db.fetch_all(
        "SELECT incident_id, ring, paged_at FROM incident_pages WHERE volunteer_id = :volunteer"
        " ORDER BY paged_at",
        me,
    )
    timeline = await db.fetch_all(
        "SELECT DISTINCT e.id, e.incident_id, e.kind, e.actor_name, e.at FROM incident_events e"
        " JOIN audit_log a ON a.subject = CAST(e.incident_id AS TEXT)"
        " AND a.action = 'incident.' || e.kind WHERE a.actor_id = :volunteer"
        " AND e.actor_name IS NOT NULL ORDER BY e.id",
        me,
    )
    taken = await db.fetch_all(
        "SELECT id, taken_by_name, acked_at FROM incidents WHERE taken_by = :volunteer ORDER BY id",
        me,
    )
    ripostes = await db.fetch_all(
        "SELECT id, incident_id, url, suggested_text, target, channel, chat_id, created_at"
        " FROM ripostes WHERE organizer_id = :volunteer ORDER BY id",
        me,
    )
    return {
        "alarms_raised": [
            {
                "incident": r["incident_id"],
                "link": r["url"],
                "comment": r["comment"],
                "text_around_the_link": r["summary"],
                "reported_at": r["reported_at"],
            }
            for r in reports
        ],
        "riposte_calls": [dict(r) for r in calls],
        "on_duty": dict(duty) if duty else None,
        "duty_slots": [
            {
                "weekday": r["weekday"],
                "from": f"{r['start_minute'] // 60:02d}:{r['start_minute'] % 60:02d}",
                "to": f"{r['end_minute'] // 60:02d}:{r['end_minute'] % 60:02d}",
            }
            for r in slots
        ],
        "alerts_paged_to_you": [dict(r) for r in pages],
        "incident_timelines_with_your_name": [
            {key: r[key] for key in ("incident_id", "kind", "actor_name", "at")} for r in timeline
        ],
        "incidents_taken": [dict(r) for r in taken],
        "ripostes_launched": [dict(r) for r in ripostes],
    }


async def erase_alerts(tx: Tx, volunteer_id: int, now: datetime) -> None:
    """Remove what rapid response keeps about a volunteer (reports and their comments,
    calls, pages, duty, their name on timelines, their chat on riposte boards); incidents
    stay, counted, without them. Pages already queued or sent to the comms team quoted
    their comments and their name: those are taken out of the pages too."""
    first_name = await tx.fetch_value(
        "SELECT first_name FROM volunteers WHERE id = :volunteer", {"volunteer": volunteer_id}
    )
    name = clean_name(first_name or "")[:64]
    words = await erase_from_incidents(tx, volunteer_id, name)
    for incident_id in sorted(set(words.quoted) | words.named):
        # Pages quote the first 200 characters of a text, the timeline all of it.
        texts = words.quoted.get(incident_id, set())
        quotes = {esc(text) for text in texts} | {esc(text[:200]) for text in texts}
        named = esc(name) if incident_id in words.named else ""
        await OutboxRepository.scrub_texts(tx, "alert", incident_id, quotes, named)
    await erase_from_pages(tx, volunteer_id)
    await erase_from_duty(tx, volunteer_id)
    await erase_from_ripostes(tx, volunteer_id)


register_personal_data("rapid_response", export_alerts, erase_alerts)
