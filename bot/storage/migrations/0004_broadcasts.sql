-- Broadcasts: what an organizer sends to a segment, now or at a set time.
-- One outbox row per recipient is written when a broadcast starts (dedupe key
-- 'broadcast:<id>:<volunteer>'), so starting twice after a crash queues nobody twice.

CREATE TABLE broadcasts (
    id              INTEGER PRIMARY KEY,
    created_by      INTEGER REFERENCES volunteers(id) ON DELETE SET NULL,
    -- Where the progress message and the delivery report go ('' for the command line).
    origin_channel  TEXT NOT NULL DEFAULT '',
    origin_chat_id  TEXT NOT NULL DEFAULT '',
    language        TEXT NOT NULL,               -- the language of `body`
    body            TEXT NOT NULL,               -- Relais markup (Telegram's HTML subset)
    variants        TEXT NOT NULL DEFAULT '{}',  -- JSON {language: body}
    buttons         TEXT NOT NULL DEFAULT '[]',  -- JSON [[label, url], ...]
    audience        TEXT NOT NULL DEFAULT '',    -- 'team:Nord area:75 skill:call' ('' = all)
    scope           TEXT,                        -- JSON team ids the author may reach; NULL = all
    urgent          INTEGER NOT NULL DEFAULT 0,
    paid            INTEGER NOT NULL DEFAULT 0,
    status          TEXT NOT NULL DEFAULT 'scheduled'
                    CHECK (status IN ('scheduled', 'sending', 'done', 'cancelled')),
    send_at         TEXT NOT NULL,
    recipients      INTEGER NOT NULL DEFAULT 0,
    progress_message_id TEXT,
    progress_text   TEXT,
    started_at      TEXT,
    finished_at     TEXT,
    created_at      TEXT NOT NULL
);
CREATE INDEX broadcasts_due ON broadcasts(status, send_at);
CREATE INDEX broadcasts_author ON broadcasts(created_by, created_at);
