-- Rapid response: incidents raised by volunteers, the duty roster, the escalation ladder,
-- and ripostes sent to the rapid-response ring.

-- One post under attack, however many people reported it.
CREATE TABLE incidents (
    id              INTEGER PRIMARY KEY,
    link_key        TEXT NOT NULL,   -- normalized link (bot/links.py) or 'text:<hash>'
    url             TEXT,            -- the address to open, NULL for a forwarded text
    summary         TEXT NOT NULL DEFAULT '',  -- the first reported text, shortened
    status          TEXT NOT NULL DEFAULT 'new'
                    CHECK (status IN ('new', 'taken', 'dismissed', 'handled')),
    reports         INTEGER NOT NULL DEFAULT 0,
    opened_by       INTEGER REFERENCES volunteers(id) ON DELETE SET NULL,
    first_seen_at   TEXT NOT NULL,
    last_seen_at    TEXT NOT NULL,
    ring            INTEGER NOT NULL DEFAULT 0,   -- the last ring paged: 1 duty, 2 comms, 3 admins
    next_ring_at    TEXT,            -- when the next ring is due if nobody takes it
    first_paged_at  TEXT,
    taken_by        INTEGER REFERENCES volunteers(id) ON DELETE SET NULL,
    taken_by_name   TEXT,
    acked_at        TEXT,            -- the first answer: taken, dismissed or handled
    closed_at       TEXT
);
CREATE INDEX incidents_link ON incidents(link_key, first_seen_at);
CREATE INDEX incidents_due ON incidents(status, next_ring_at);
CREATE INDEX incidents_opened_by ON incidents(opened_by, first_seen_at);

-- Who reported it; one row per volunteer and incident (a second report adds no count).
CREATE TABLE incident_reports (
    incident_id     INTEGER NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    volunteer_id    INTEGER NOT NULL REFERENCES volunteers(id) ON DELETE CASCADE,
    comment         TEXT NOT NULL DEFAULT '',
    notify          INTEGER NOT NULL DEFAULT 0,   -- tell them when it is handled
    reported_at     TEXT NOT NULL,
    PRIMARY KEY (incident_id, volunteer_id)
);
CREATE INDEX incident_reports_volunteer ON incident_reports(volunteer_id);

-- Everyone paged about an incident, and in which ring: each ring is paged once, each
-- person at most once per incident, and a restart redoes an interrupted ring exactly.
CREATE TABLE incident_pages (
    incident_id     INTEGER NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    channel         TEXT NOT NULL,
    chat_id         TEXT NOT NULL,
    ring            INTEGER NOT NULL,
    volunteer_id    INTEGER REFERENCES volunteers(id) ON DELETE SET NULL,
    language        TEXT NOT NULL DEFAULT 'fr',
    paged_at        TEXT NOT NULL,
    PRIMARY KEY (incident_id, channel, chat_id)
);

-- What happened to an incident, in order: reported, paged, taken, escalated, handled…
CREATE TABLE incident_events (
    id              INTEGER PRIMARY KEY,
    incident_id     INTEGER NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    ring            INTEGER,
    count           INTEGER,
    actor_name      TEXT,
    at              TEXT NOT NULL
);
CREATE INDEX incident_events_incident ON incident_events(incident_id, id);

-- Who is on duty: switched on by hand (until switched off or `until`), or off by hand
-- for the rest of a scheduled slot.
CREATE TABLE duty (
    volunteer_id    INTEGER PRIMARY KEY REFERENCES volunteers(id) ON DELETE CASCADE,
    state           TEXT NOT NULL CHECK (state IN ('on', 'off')),
    until           TEXT,
    since           TEXT NOT NULL
);

-- The weekly duty schedule, in the campaign's time zone. Minutes from midnight.
CREATE TABLE duty_slots (
    volunteer_id    INTEGER NOT NULL REFERENCES volunteers(id) ON DELETE CASCADE,
    weekday         INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),  -- 0 Monday
    start_minute    INTEGER NOT NULL CHECK (start_minute BETWEEN 0 AND 1439),
    end_minute      INTEGER NOT NULL CHECK (end_minute BETWEEN 1 AND 1440),
    PRIMARY KEY (volunteer_id, weekday, start_minute),
    CHECK (end_minute > start_minute)
);

-- An urgent micro-task for the rapid-response ring, widened once if it falls short.
CREATE TABLE ripostes (
    id              INTEGER PRIMARY KEY,
    organizer_id    INTEGER REFERENCES volunteers(id) ON DELETE SET NULL,
    channel         TEXT NOT NULL,   -- where the organizer's live board lives
    chat_id         TEXT NOT NULL,
    language        TEXT NOT NULL DEFAULT 'fr',
    incident_id     INTEGER REFERENCES incidents(id) ON DELETE SET NULL,
    url             TEXT NOT NULL,
    suggested_text  TEXT NOT NULL DEFAULT '',
    target          INTEGER NOT NULL CHECK (target > 0),
    scope           TEXT,            -- comma-separated team ids; NULL for everyone
    ring            INTEGER NOT NULL DEFAULT 1,   -- 1 rapid-response ring, 2 widened
    widen_at        TEXT,            -- when to widen if still short; NULL once done
    queued_ring     INTEGER NOT NULL DEFAULT 0,   -- the last ring whose calls are queued
    created_at      TEXT NOT NULL,
    widened_at      TEXT
);
CREATE INDEX ripostes_widen ON ripostes(widen_at);

-- One call per volunteer and riposte; answers counted once per volunteer.
CREATE TABLE riposte_calls (
    riposte_id      INTEGER NOT NULL REFERENCES ripostes(id) ON DELETE CASCADE,
    volunteer_id    INTEGER NOT NULL REFERENCES volunteers(id) ON DELETE CASCADE,
    channel         TEXT NOT NULL,
    chat_id         TEXT NOT NULL,
    language        TEXT NOT NULL DEFAULT 'fr',
    ring            INTEGER NOT NULL,
    called_at       TEXT NOT NULL,
    answer          TEXT CHECK (answer IN ('on_it', 'cant')),
    answered_at     TEXT,
    done_at         TEXT,
    PRIMARY KEY (riposte_id, volunteer_id)
);
CREATE INDEX riposte_calls_volunteer ON riposte_calls(volunteer_id);
