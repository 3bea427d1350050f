"""A small campaign built by hand, so every report figure can be checked by counting.

The clock of the tests is Saturday 28 November 2026, 14:00 UTC (15:00 in Paris).
  today      = since 2026-11-27T23:00Z (midnight in Paris)
  this week  = since 2026-11-22T23:00Z (Monday 23 November, midnight in Paris)
  this month = since 2026-10-31T23:00Z

Teams: 1 "Évry Sud" (organizer Alice, telegram 501), 2 "Paris 11e" (organizer Driss,
telegram 502). Volunteer 4 is erased (row kept, personal columns NULL, still a member of
team 1). Volunteer 2 tapped Done twice on task 1 (two done rows, cap 1): counted once.
"""

from __future__ import annotations

from bot.storage import bulk
from bot.storage.db import Database

EVRY, PARIS = 1, 2
ALICE_TG, DRISS_TG, FARID_TG = "501", "502", "507"

# id, status, first_name, department, postcode, created_at, skills, digest
VOLUNTEERS = [
    (1, "active", "Alice", "91", "91000", "2026-10-01T08:00:00.000000Z", "canvass,share", 1),
    (2, "active", "Bruno", "91", "91080", "2026-11-25T08:00:00.000000Z", "canvass", 1),
    (3, "paused", "Chloé", "91", "91000", "2026-11-10T08:00:00.000000Z", "events", 1),
    (4, "erased", None, None, None, "2026-09-15T08:00:00.000000Z", "", 1),
    (5, "active", "Driss", "75", "75011", "2026-11-28T07:00:00.000000Z", "call", 1),
    (6, "stopped", "Emma", "75", "75011", "2026-10-20T08:00:00.000000Z", "share", 1),
    (7, "active", "Farid", "75", "75020", "2026-11-27T08:00:00.000000Z", "share", 1),
]
# When each last used Relais (the clock is 2026-11-28T14:00Z).
LAST_ACTIVE = {
    1: "2026-11-28T10:00:00.000000Z",
    2: "2026-11-24T18:00:00.000000Z",
    3: "2026-11-20T09:00:00.000000Z",
    4: "2026-11-05T10:00:00.000000Z",
    5: "2026-11-28T12:00:00.000000Z",
    6: "2026-10-25T12:00:00.000000Z",
    7: "2026-11-28T11:00:00.000000Z",
}
MEMBERS = [(EVRY, 1), (EVRY, 2), (EVRY, 3), (EVRY, 4), (PARIS, 5), (PARIS, 6)]

# id, kind, title, team_id, per_volunteer_cap
TASKS = [
    (1, "canvass", "Porte-à-porte quartier des Épinettes", EVRY, 1),
    (2, "call", "Appels aux sympathisants du 11e", PARIS, 1),
    (3, "share", "Partager la vidéo du meeting", None, 1),
    (4, "event", "Réunion publique à Évry", EVRY, 1),
    (5, "text", "Écrire à vos contacts", None, 2),
    (6, "call", "Appels nationaux", None, 1),
]

# id, task, volunteer, state, accepted_at, finished_at, source
ASSIGNMENTS = [
    (1, 1, 1, "done", "2026-11-27T08:00:00.000000Z", "2026-11-28T10:00:00.000000Z", "asked"),
    (2, 1, 2, "done", "2026-11-24T08:00:00.000000Z", "2026-11-24T18:00:00.000000Z", "offer"),
    (3, 1, 2, "done", "2026-11-24T08:00:00.000000Z", "2026-11-24T18:00:05.000000Z", "offer"),
    (4, 1, 4, "done", "2026-11-05T08:00:00.000000Z", "2026-11-05T10:00:00.000000Z", "asked"),
    (5, 3, 1, "done", "2026-11-27T09:00:00.000000Z", "2026-11-28T09:00:00.000000Z", "offer"),
    (6, 3, 5, "done", "2026-11-26T11:00:00.000000Z", "2026-11-26T12:00:00.000000Z", "asked"),
    (7, 3, 6, "done", "2026-10-25T11:00:00.000000Z", "2026-10-25T12:00:00.000000Z", "asked"),
    (8, 3, 7, "done", "2026-11-28T10:30:00.000000Z", "2026-11-28T11:00:00.000000Z", "asked"),
    (9, 2, 5, "done", "2026-11-28T08:00:00.000000Z", "2026-11-28T12:00:00.000000Z", "offer"),
    (10, 4, 2, "done", "2026-11-20T08:00:00.000000Z", "2026-11-22T20:00:00.000000Z", "asked"),
    (11, 4, 3, "accepted", "2026-11-20T09:00:00.000000Z", None, "asked"),
    (12, 5, 1, "done", "2026-11-27T14:00:00.000000Z", "2026-11-27T15:00:00.000000Z", "asked"),
    (13, 5, 1, "done", "2026-11-27T15:30:00.000000Z", "2026-11-27T16:00:00.000000Z", "asked"),
    (14, 2, 2, "skipped", None, None, "offer"),
]

# assignment, doors, conversations, supporters, people_reached, calls_made, attended, proof
OUTCOMES = [
    (1, 40, 12, 5, None, None, None, None),
    (2, 25, 6, 2, None, None, None, None),
    (3, 25, 6, 2, None, None, None, None),  # the double tap
    (4, 30, 9, 3, None, None, None, None),
    (5, None, None, None, None, None, None, "https://example.org/p/1"),
    (6, None, None, None, None, None, None, None),
    (7, None, None, None, None, None, None, None),
    (8, None, None, None, None, None, None, None),
    (9, None, None, None, None, 3, None, None),
    (10, None, None, None, None, None, 1, None),
    (12, None, None, None, 10, None, None, None),
    (13, None, None, None, 8, None, None, None),
]

# task, volunteer, state, offered_at
OFFERS = [
    (3, 1, "accepted", "2026-11-27T09:00:00.000000Z"),
    (3, 2, "skipped", "2026-11-27T09:00:00.000000Z"),
    (2, 5, "accepted", "2026-11-28T08:00:00.000000Z"),
    (2, 6, "expired", "2026-11-20T08:00:00.000000Z"),
    (1, 2, "accepted", "2026-11-23T08:00:00.000000Z"),
    (2, 2, "skipped", "2026-11-26T08:00:00.000000Z"),
]

# id, task, name, phone
CONTACTS = [
    (1, 2, "Jean Dupont", "+33612345601"),
    (2, 2, "Marie Curie", "+33612345602"),
    (3, 2, "Luc Besson", "+33612345603"),
    (4, 6, "Zoé Lambert", "+33612345604"),
]

# contact, task, volunteer, result, called_at
CALLS = [
    (1, 2, 5, "supporter", "2026-11-28T11:00:00.000000Z"),
    (2, 2, 5, "no_answer", "2026-11-28T11:05:00.000000Z"),
    (3, 2, 5, "opposed", "2026-11-28T11:10:00.000000Z"),
    (4, 6, 1, "undecided", "2026-11-26T17:00:00.000000Z"),
    (1, 2, 6, "callback", "2026-10-22T17:00:00.000000Z"),
]

# ref (broadcast id), volunteer, status, created_at
BROADCAST_ROWS = [
    (1, 1, "sent", "2026-11-27T10:00:00.000000Z"),
    (1, 2, "sent", "2026-11-27T10:00:00.000000Z"),
    (1, 3, "failed", "2026-11-27T10:00:00.000000Z"),
    (1, 5, "blocked", "2026-11-27T10:00:00.000000Z"),
    (2, 1, "pending", "2026-11-28T13:00:00.000000Z"),
    (2, 5, "sent", "2026-11-28T13:00:00.000000Z"),
]

NOW_ISO = "2026-11-28T14:00:00.000000Z"


async def build_campaign(db: Database, *, joined_at: bool = True) -> None:
    """Insert the whole hand-built campaign. Each volunteer joined the day they came
    (volunteer 4 too, erased since); `joined_at=False` leaves the column out, as a database
    older than migration 0018 holds them."""
    columns = ("id", "status", "first_name", "department", "postcode", "created_at")
    columns += ("joined_at",) if joined_at else ()
    columns += ("last_active_at", "skills", "availability", "digest", "language")
    await bulk.insert(
        db,
        "volunteers",
        columns,
        [
            (
                (i, st, name, dep, pc, created)
                + ((created,) if joined_at else ())
                + (LAST_ACTIVE[i], skills, "evenings" if name else "", dg, "fr")
            )
            for i, st, name, dep, pc, created, skills, dg in VOLUNTEERS
        ],
    )
    await bulk.insert(
        db,
        "identities",
        ("channel", "user_id", "volunteer_id", "chat_id", "created_at"),
        [
            ("telegram", ALICE_TG, 1, ALICE_TG, NOW_ISO),
            ("telegram", DRISS_TG, 5, DRISS_TG, NOW_ISO),
            ("telegram", FARID_TG, 7, FARID_TG, NOW_ISO),
        ],
    )
    await bulk.insert(
        db,
        "teams",
        ("id", "name", "created_at"),
        [(EVRY, "Évry Sud", NOW_ISO), (PARIS, "Paris 11e", NOW_ISO)],
    )
    await bulk.insert(
        db,
        "team_members",
        ("team_id", "volunteer_id", "joined_at"),
        [(*m, NOW_ISO) for m in MEMBERS],
    )
    await bulk.insert(
        db,
        "roles",
        ("volunteer_id", "role", "team_id", "granted_at"),
        [(1, "organizer", EVRY, NOW_ISO), (5, "organizer", PARIS, NOW_ISO)],
    )
    await bulk.insert(
        db,
        "tasks",
        (
            "id",
            "kind",
            "title",
            "team_id",
            "per_volunteer_cap",
            "opens_at",
            "created_at",
            "updated_at",
        ),
        [
            (*t, "2026-09-01T00:00:00.000000Z", *(["2026-09-01T00:00:00.000000Z"] * 2))
            for t in TASKS
        ],
    )
    await bulk.insert(
        db,
        "assignments",
        (
            "id",
            "task_id",
            "volunteer_id",
            "state",
            "accepted_at",
            "finished_at",
            "source",
            "created_at",
            "updated_at",
        ),
        [(*a, a[4] or "2026-11-26T08:00:00.000000Z", a[5] or a[4] or NOW_ISO) for a in ASSIGNMENTS],
    )
    by_id = {a[0]: a for a in ASSIGNMENTS}
    kinds = {t[0]: t[1] for t in TASKS}
    await bulk.insert(
        db,
        "outcomes",
        (
            "assignment_id",
            "task_id",
            "volunteer_id",
            "kind",
            "doors_knocked",
            "conversations",
            "supporters",
            "people_reached",
            "calls_made",
            "attended",
            "proof",
            "points",
            "recorded_at",
        ),
        [
            (
                o[0],
                by_id[o[0]][1],
                by_id[o[0]][2],
                kinds[by_id[o[0]][1]],
                *o[1:],
                1,
                by_id[o[0]][5],
            )
            for o in OUTCOMES
        ],
    )
    await bulk.insert(db, "offers", ("task_id", "volunteer_id", "state", "offered_at"), OFFERS)
    await bulk.insert(
        db,
        "call_contacts",
        ("id", "task_id", "name", "phone", "updated_at"),
        [(*c, NOW_ISO) for c in CONTACTS],
    )
    await bulk.insert(
        db,
        "call_results",
        ("contact_id", "task_id", "volunteer_id", "result", "called_at"),
        CALLS,
    )
    await bulk.insert(
        db,
        "outbox",
        (
            "kind",
            "ref_id",
            "volunteer_id",
            "channel",
            "chat_id",
            "payload",
            "status",
            "not_before",
            "created_at",
        ),
        [
            ("broadcast", ref, vid, "telegram", str(500 + vid), '{"text": "x"}', st, at, at)
            for ref, vid, st, at in BROADCAST_ROWS
        ],
    )


async def execute(db: Database, sql: str, params: dict[str, object] | None = None) -> None:
    """Change the campaign behind Relais' back, in a transaction of its own."""
    async with db.transaction() as tx:
        await tx.execute(sql, params)
