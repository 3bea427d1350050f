-- Updates taken from Telegram and acknowledged before they were handled: one chat's slow
-- update no longer holds back every other chat's (Telegram sends at most 100 updates from
-- the oldest one not acknowledged). Each is kept here first, handled at the next start if
-- the process dies meanwhile, and deleted once handled (seconds later, as a rule).
CREATE TABLE kept_updates (
    id              INTEGER PRIMARY KEY,
    channel         TEXT NOT NULL,
    payload         TEXT NOT NULL,   -- the update as the messenger sent it (JSON)
    kept_at         TEXT NOT NULL
);
