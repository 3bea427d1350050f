-- Micro-tasks: the task queue, who it is for, who took what, what came of it, phone banking.
-- Times are ISO-8601 UTC text (bot.clock.to_iso), so they sort and compare as text.
-- Append-only: never edit once on main; add the next number instead.

-- One micro-task an organizer put in the queue.
CREATE TABLE tasks (
    id                  INTEGER PRIMARY KEY,
    kind                TEXT NOT NULL
                        CHECK (kind IN ('share', 'canvass', 'call', 'text', 'event', 'custom')),
    title               TEXT NOT NULL,
    instructions        TEXT NOT NULL DEFAULT '',   -- in the campaign's language
    status              TEXT NOT NULL DEFAULT 'open'
                        CHECK (status IN ('draft', 'open', 'paused', 'closed')),
    points              INTEGER NOT NULL DEFAULT 1 CHECK (points >= 0),
    priority            INTEGER NOT NULL DEFAULT 0,  -- higher comes first
    opens_at            TEXT NOT NULL,
    closes_at           TEXT,                        -- NULL: open until closed by hand
    quota               INTEGER CHECK (quota IS NULL OR quota > 0),  -- completions wanted
    per_volunteer_cap   INTEGER NOT NULL DEFAULT 1 CHECK (per_volunteer_cap > 0),
    -- Slots in use: accepted + done assignments. Claims increment it with a conditional
    -- UPDATE (slots_taken < quota) so two volunteers never take the last slot.
    slots_taken         INTEGER NOT NULL DEFAULT 0,
    -- share / text
    link                TEXT,
    suggested_message   TEXT,
    proof_wanted        INTEGER NOT NULL DEFAULT 0,
    -- canvass / event: where and when
    place               TEXT,                        -- meeting point or venue, as text
    latitude            REAL,
    longitude           REAL,
    area                TEXT,                        -- streets / neighbourhood to canvass
    doors               INTEGER,                     -- doors to knock
    starts_at           TEXT,                        -- when the canvass or event begins
    -- targeting that is not a list (lists are in task_targets)
    radius_km           REAL,                        -- from latitude/longitude; NULL: anywhere
    team_id             INTEGER REFERENCES teams(id) ON DELETE SET NULL,  -- owning team; NULL: campaign-wide
    created_by          INTEGER REFERENCES volunteers(id) ON DELETE SET NULL,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    closed_at           TEXT,
    reminders_done_at   TEXT                         -- the pre-close reminder pass ran
);
-- The next-task query walks open tasks by priority.
CREATE INDEX tasks_queue ON tasks(status, priority DESC, id);
CREATE INDEX tasks_closing ON tasks(status, closes_at);
CREATE INDEX tasks_team ON tasks(team_id);

-- Instructions in other languages than the campaign's.
CREATE TABLE task_translations (
    task_id             INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    language            TEXT NOT NULL,
    title               TEXT,
    instructions        TEXT NOT NULL,
    PRIMARY KEY (task_id, language)
);

-- Who a task is for. Within one kind the values are alternatives (team 3 OR team 5);
-- across kinds all must match (team AND skill). No row of a kind: that kind is open.
CREATE TABLE task_targets (
    task_id             INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    kind                TEXT NOT NULL
                        CHECK (kind IN ('team', 'postcode', 'department', 'skill',
                                        'language', 'availability')),
    value               TEXT NOT NULL,
    PRIMARY KEY (task_id, kind, value)
);

-- A volunteer's relation to a task: took it, skipped it, put it off, did it.
-- One row per claim: a task with per_volunteer_cap 3 may have 3 'done' rows per volunteer.
CREATE TABLE assignments (
    id                  INTEGER PRIMARY KEY,
    task_id             INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    volunteer_id        INTEGER NOT NULL REFERENCES volunteers(id) ON DELETE CASCADE,
    state               TEXT NOT NULL
                        CHECK (state IN ('accepted', 'done', 'cant', 'skipped', 'later',
                                         'expired')),
    source              TEXT NOT NULL DEFAULT 'asked'   -- asked (/task) | offer (sent by Relais)
                        CHECK (source IN ('asked', 'offer')),
    rsvp                TEXT CHECK (rsvp IS NULL OR rsvp IN ('going', 'not_going')),
    later_until         TEXT,                        -- 'later': back in the queue after this
    created_at          TEXT NOT NULL,
    accepted_at         TEXT,
    finished_at         TEXT,                        -- done, can't, expired
    reminded_at         TEXT,
    updated_at          TEXT NOT NULL
);
-- Next-task exclusion and per-volunteer cap: one index probe per candidate task.
CREATE INDEX assignments_volunteer_task ON assignments(volunteer_id, task_id, state);
-- /tasks progress (accepted, done, skipped per task) and expiry at close.
CREATE INDEX assignments_task_state ON assignments(task_id, state);

-- What came of an assignment, with numbers; written once when it is done.
CREATE TABLE outcomes (
    assignment_id       INTEGER PRIMARY KEY REFERENCES assignments(id) ON DELETE CASCADE,
    task_id             INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    volunteer_id        INTEGER NOT NULL REFERENCES volunteers(id) ON DELETE CASCADE,
    kind                TEXT NOT NULL,               -- the task's kind, for reports
    doors_knocked       INTEGER,
    conversations       INTEGER,
    supporters          INTEGER,
    people_reached      INTEGER,                     -- text: people messaged
    calls_made          INTEGER,                     -- call: contacts with a result
    attended            INTEGER,                     -- event: 1 came, 0 did not
    proof               TEXT,                        -- share: link to the post
    comment             TEXT,
    points              INTEGER NOT NULL DEFAULT 0,
    recorded_at         TEXT NOT NULL
);
CREATE INDEX outcomes_volunteer ON outcomes(volunteer_id, recorded_at);
CREATE INDEX outcomes_task ON outcomes(task_id);
CREATE INDEX outcomes_recorded ON outcomes(recorded_at);

-- Tasks Relais proposed on its own (through the outbox), one per volunteer and task.
CREATE TABLE offers (
    id                  INTEGER PRIMARY KEY,
    task_id             INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    volunteer_id        INTEGER NOT NULL REFERENCES volunteers(id) ON DELETE CASCADE,
    state               TEXT NOT NULL DEFAULT 'sent'
                        CHECK (state IN ('sent', 'accepted', 'skipped', 'later', 'expired')),
    offered_at          TEXT NOT NULL,
    answered_at         TEXT,
    UNIQUE (task_id, volunteer_id)
);
CREATE INDEX offers_volunteer ON offers(volunteer_id, offered_at);
CREATE INDEX offers_task_state ON offers(task_id, state);

-- Phone banking: the people to call for a call task, imported from CSV.
CREATE TABLE call_contacts (
    id                  INTEGER PRIMARY KEY,
    task_id             INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    name                TEXT NOT NULL,
    phone               TEXT NOT NULL,               -- E.164, normalized with phonenumbers
    notes               TEXT,
    state               TEXT NOT NULL DEFAULT 'ready'
                        CHECK (state IN ('ready', 'held', 'callback', 'done')),
    held_by             INTEGER REFERENCES volunteers(id) ON DELETE SET NULL,
    held_until          TEXT,                        -- a hold lapses after 20 minutes
    callback_at         TEXT,                        -- 'callback': ready again from then
    last_result         TEXT,
    attempts            INTEGER NOT NULL DEFAULT 0,
    line                INTEGER,                     -- line in the imported file
    updated_at          TEXT NOT NULL,
    UNIQUE (task_id, phone)
);
CREATE INDEX call_contacts_queue ON call_contacts(task_id, state, id);
CREATE INDEX call_contacts_holder ON call_contacts(held_by, state);
CREATE INDEX call_contacts_phone ON call_contacts(phone);

-- Every call made and how it went.
CREATE TABLE call_results (
    id                  INTEGER PRIMARY KEY,
    contact_id          INTEGER NOT NULL REFERENCES call_contacts(id) ON DELETE CASCADE,
    task_id             INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    volunteer_id        INTEGER REFERENCES volunteers(id) ON DELETE SET NULL,
    result              TEXT NOT NULL
                        CHECK (result IN ('supporter', 'undecided', 'opposed', 'no_answer',
                                          'wrong_number', 'callback', 'do_not_call')),
    callback_at         TEXT,
    called_at           TEXT NOT NULL
);
CREATE INDEX call_results_task ON call_results(task_id, result);
CREATE INDEX call_results_volunteer ON call_results(volunteer_id, called_at);

-- Numbers never to call again, on any list: asked not to be called, or wrong number.
CREATE TABLE do_not_call (
    phone               TEXT PRIMARY KEY,            -- E.164
    reason              TEXT NOT NULL CHECK (reason IN ('do_not_call', 'wrong_number')),
    added_by            INTEGER REFERENCES volunteers(id) ON DELETE SET NULL,
    added_at            TEXT NOT NULL
);
