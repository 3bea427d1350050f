-- Signal: the numbered choices last shown in each chat (so "2" still means the same thing
-- after a restart), and one-time codes that link a Telegram and a Signal identity.

-- One row per chat on a messenger without buttons: the payloads and labels of the choices
-- last shown, in order, and the pending request (location/contact) if any.
CREATE TABLE numbered_choices (
    channel         TEXT NOT NULL,
    chat_id         TEXT NOT NULL,
    choices         TEXT NOT NULL DEFAULT '[]',   -- JSON [[payload, label], ...]
    request         TEXT NOT NULL DEFAULT '',
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (channel, chat_id)
);
CREATE INDEX numbered_choices_updated ON numbered_choices(updated_at);

-- A code shown on one messenger, typed on the other within 15 minutes. Only its SHA-256
-- is stored; it is deleted when used, replaced or expired.
CREATE TABLE link_codes (
    code_hash       TEXT PRIMARY KEY,
    volunteer_id    INTEGER NOT NULL REFERENCES volunteers(id) ON DELETE CASCADE,
    channel         TEXT NOT NULL,   -- where it was asked for: it must be typed elsewhere
    expires_at      TEXT NOT NULL,
    created_at      TEXT NOT NULL
);
CREATE INDEX link_codes_volunteer ON link_codes(volunteer_id);
