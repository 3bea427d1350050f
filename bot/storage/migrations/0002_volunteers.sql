-- Volunteers: retention warnings, and indexes for the organizer directory and purges.
-- Append-only: never edit a migration once it is on main; add the next number instead.

-- When the volunteer was told their data would soon be erased for inactivity; a newer
-- last_active_at means they answered and the warning no longer counts.
ALTER TABLE volunteers ADD COLUMN retention_warned_at TEXT;

CREATE INDEX volunteers_last_active ON volunteers(status, last_active_at);
CREATE INDEX invites_created_by ON invites(created_by, kind);
CREATE INDEX roles_team ON roles(team_id);
