-- Reporting: the indexes the figures, charts and exports need, and the digests already sent.
-- Append-only: never edit once on main; add the next number instead.

-- Activity windows (accepted, recorded, called) read the time first, then who.
CREATE INDEX assignments_accepted ON assignments(accepted_at, volunteer_id);
-- Done per period, and the "counted once" rule (first done rows per volunteer and task).
CREATE INDEX assignments_done ON assignments(state, volunteer_id, task_id, id, finished_at);
CREATE INDEX outcomes_recorded_volunteer ON outcomes(recorded_at, volunteer_id);
CREATE INDEX offers_offered ON offers(offered_at, task_id, volunteer_id);
CREATE INDEX call_results_called ON call_results(called_at, volunteer_id, result);
CREATE INDEX volunteers_created ON volunteers(created_at);
CREATE INDEX outbox_kind_created ON outbox(kind, created_at, status);
CREATE INDEX team_members_team ON team_members(team_id, volunteer_id);

-- One row per digest sent, so a late or repeated wake-up sends each digest once.
-- period_key: the local date for daily digests, the ISO week reported for weekly ones.
CREATE TABLE digests_sent (
    volunteer_id    INTEGER NOT NULL REFERENCES volunteers(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('daily', 'weekly')),
    period_key      TEXT NOT NULL,
    sent_at         TEXT NOT NULL,
    PRIMARY KEY (volunteer_id, kind, period_key)
);
