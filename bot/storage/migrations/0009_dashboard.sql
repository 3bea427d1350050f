-- The organizers' dashboard (a Telegram Mini App and a browser page): one-time links that
-- open it from Signal or the console, and the sessions they open.
-- Append-only: never edit a migration once it is on main; add the next number instead.

-- A link shown in a chat, good for one use within 10 minutes. Only its SHA-256 is stored;
-- it is deleted when used or expired.
CREATE TABLE dashboard_links (
    code_hash       TEXT PRIMARY KEY,
    channel         TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    chat_id         TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    created_at      TEXT NOT NULL
);
CREATE INDEX dashboard_links_expiry ON dashboard_links(expires_at);

-- A browser signed in as one messenger identity. The cookie holds the token; only its
-- SHA-256 is stored. The CSRF token is sent back in every form.
CREATE TABLE dashboard_sessions (
    token_hash      TEXT PRIMARY KEY,
    channel         TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    chat_id         TEXT NOT NULL,
    volunteer_id    INTEGER REFERENCES volunteers(id) ON DELETE CASCADE,
    csrf            TEXT NOT NULL,
    language        TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL
);
CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions(expires_at);
CREATE INDEX dashboard_sessions_volunteer ON dashboard_sessions(volunteer_id);
