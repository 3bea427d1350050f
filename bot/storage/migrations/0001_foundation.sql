-- Relais foundation: people, teams, roles, consent, conversations, the outbox, the audit log.
-- Append-only: never edit a migration once it is on main; add the next number instead.

CREATE TABLE volunteers (
    id              INTEGER PRIMARY KEY,
    status          TEXT NOT NULL DEFAULT 'onboarding'
                    CHECK (status IN ('onboarding', 'active', 'paused', 'stopped', 'erased')),
    first_name      TEXT,
    language        TEXT NOT NULL DEFAULT 'fr',
    postcode        TEXT,
    department      TEXT,
    place           TEXT,            -- free text for places outside France
    latitude        REAL,
    longitude       REAL,
    skills          TEXT NOT NULL DEFAULT '',   -- comma-separated: share,canvass,call,text,events
    availability    TEXT NOT NULL DEFAULT '',   -- comma-separated: evenings,weekends,daytime
    timezone        TEXT,
    quiet_hours     TEXT,            -- 'HH:MM-HH:MM', '' for none, NULL for the campaign's
    rapid_response  INTEGER NOT NULL DEFAULT 0,
    leaderboard     INTEGER NOT NULL DEFAULT 0,
    digest          INTEGER NOT NULL DEFAULT 1,
    paused_until    TEXT,
    recruited_by    INTEGER REFERENCES volunteers(id) ON DELETE SET NULL,
    created_at      TEXT NOT NULL,
    last_active_at  TEXT NOT NULL,
    erased_at       TEXT
);
CREATE INDEX volunteers_status ON volunteers(status);
CREATE INDEX volunteers_department ON volunteers(department);

-- How to reach a volunteer on each messenger. Erasure deletes these rows.
CREATE TABLE identities (
    channel         TEXT NOT NULL,   -- telegram | signal | console
    user_id         TEXT NOT NULL,
    volunteer_id    INTEGER NOT NULL REFERENCES volunteers(id) ON DELETE CASCADE,
    chat_id         TEXT NOT NULL,
    preferred       INTEGER NOT NULL DEFAULT 1,
    unreachable_at  TEXT,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (channel, user_id)
);
CREATE INDEX identities_volunteer ON identities(volunteer_id);

CREATE TABLE teams (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE COLLATE NOCASE,
    created_at      TEXT NOT NULL
);

CREATE TABLE team_members (
    team_id         INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    volunteer_id    INTEGER NOT NULL REFERENCES volunteers(id) ON DELETE CASCADE,
    joined_at       TEXT NOT NULL,
    PRIMARY KEY (team_id, volunteer_id)
);
CREATE INDEX team_members_volunteer ON team_members(volunteer_id);

-- Organizer roles are scoped to a team; admin and comms roles have team_id NULL for "everywhere".
CREATE TABLE roles (
    volunteer_id    INTEGER NOT NULL REFERENCES volunteers(id) ON DELETE CASCADE,
    role            TEXT NOT NULL CHECK (role IN ('organizer', 'admin', 'comms')),
    team_id         INTEGER REFERENCES teams(id) ON DELETE CASCADE,
    granted_by      INTEGER REFERENCES volunteers(id) ON DELETE SET NULL,
    granted_at      TEXT NOT NULL
);
CREATE UNIQUE INDEX roles_unique ON roles(volunteer_id, role, IFNULL(team_id, 0));

CREATE TABLE consents (
    id              INTEGER PRIMARY KEY,
    volunteer_id    INTEGER NOT NULL REFERENCES volunteers(id) ON DELETE CASCADE,
    text_version    TEXT NOT NULL,
    text_sha256     TEXT NOT NULL,
    channel         TEXT NOT NULL,
    update_key      TEXT,
    given_at        TEXT NOT NULL,
    withdrawn_at    TEXT
);
CREATE INDEX consents_volunteer ON consents(volunteer_id);

CREATE TABLE invites (
    code            TEXT PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('team', 'organizer', 'recruit')),
    team_id         INTEGER REFERENCES teams(id) ON DELETE CASCADE,
    created_by      INTEGER REFERENCES volunteers(id) ON DELETE SET NULL,
    max_uses        INTEGER NOT NULL,
    uses            INTEGER NOT NULL DEFAULT 0,
    expires_at      TEXT NOT NULL,
    created_at      TEXT NOT NULL
);

-- One row per chat with a flow in progress; survives restarts, same on every messenger.
CREATE TABLE conversations (
    channel         TEXT NOT NULL,
    chat_id         TEXT NOT NULL,
    flow            TEXT NOT NULL,
    step            TEXT NOT NULL,
    data            TEXT NOT NULL DEFAULT '{}',
    expires_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (channel, chat_id)
);

-- Updates already handled, so a replay (webhook retry, restart) changes nothing.
CREATE TABLE processed_updates (
    key             TEXT PRIMARY KEY,
    seen_at         TEXT NOT NULL
);
CREATE INDEX processed_updates_seen ON processed_updates(seen_at);

-- Everything the system initiates: one row per recipient, written before anything is sent.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL,   -- broadcast | offer | reminder | alert | riposte | digest | notice
    ref_id          INTEGER,         -- the broadcast, task, incident… it belongs to
    dedupe_key      TEXT UNIQUE,
    volunteer_id    INTEGER REFERENCES volunteers(id) ON DELETE SET NULL,
    channel         TEXT NOT NULL,
    chat_id         TEXT NOT NULL,
    payload         TEXT NOT NULL,   -- the rendered Outbound, as JSON
    priority        INTEGER NOT NULL DEFAULT 5,   -- 0 urgent … 9 bulk
    paid            INTEGER NOT NULL DEFAULT 0,
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'blocked',
                                      'uncertain', 'cancelled')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    not_before      TEXT NOT NULL,
    claimed_at      TEXT,
    sent_at         TEXT,
    message_id      TEXT,
    last_error      TEXT,
    created_at      TEXT NOT NULL
);
CREATE INDEX outbox_due ON outbox(status, priority, not_before);
CREATE INDEX outbox_ref ON outbox(kind, ref_id, status);
CREATE INDEX outbox_volunteer ON outbox(volunteer_id);

-- Who read or changed people's data, and when. Admins can read it.
CREATE TABLE audit_log (
    id              INTEGER PRIMARY KEY,
    actor_id        INTEGER REFERENCES volunteers(id) ON DELETE SET NULL,
    action          TEXT NOT NULL,
    subject         TEXT NOT NULL DEFAULT '',
    at              TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log(at);
