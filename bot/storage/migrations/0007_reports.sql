-- Reporting: an hourly roll-up the figures and charts read, kept up to date by triggers, the
-- indexes exports and digests need, and the digests already sent.
-- Append-only: never edit once on main; add the next number instead.

-- Counts per UTC hour (span 'h', hour 'YYYY-MM-DDTHH') and per UTC day (span 'd', hour
-- 'YYYY-MM-DD') and task kind, three ways: the whole campaign (axis 'all', unit ''),
-- per area (axis 'area', unit = volunteers.department at the time), per team (axis 'team',
-- unit = team id, one row per team the volunteer was in at the time). Reading a million
-- assignments for every /report is too slow. A period reads whole days from the day rows
-- and its two ragged ends from the hour rows, so it starts exactly at local midnight.
-- "Counted once": a done assignment or an outcome counts only if the volunteer has fewer
-- than per_volunteer_cap other done rows (outcomes) for the same task, so a double tap on
-- Done adds nothing.
CREATE TABLE report_rollup (
    axis            TEXT NOT NULL CHECK (axis IN ('all', 'area', 'team')),
    unit            TEXT NOT NULL,
    span            TEXT NOT NULL CHECK (span IN ('h', 'd')),
    hour            TEXT NOT NULL,            -- 'YYYY-MM-DDTHH' or 'YYYY-MM-DD', UTC
    kind            TEXT NOT NULL,
    offered         INTEGER NOT NULL DEFAULT 0,
    accepted        INTEGER NOT NULL DEFAULT 0,
    done            INTEGER NOT NULL DEFAULT 0,
    doors_knocked   INTEGER NOT NULL DEFAULT 0,
    conversations   INTEGER NOT NULL DEFAULT 0,
    supporters      INTEGER NOT NULL DEFAULT 0,
    people_reached  INTEGER NOT NULL DEFAULT 0,
    attended        INTEGER NOT NULL DEFAULT 0,
    calls           INTEGER NOT NULL DEFAULT 0,
    supporter       INTEGER NOT NULL DEFAULT 0,
    undecided       INTEGER NOT NULL DEFAULT 0,
    opposed         INTEGER NOT NULL DEFAULT 0,
    no_answer       INTEGER NOT NULL DEFAULT 0,
    wrong_number    INTEGER NOT NULL DEFAULT 0,
    callback        INTEGER NOT NULL DEFAULT 0,
    do_not_call     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (axis, unit, span, hour, kind)
);

-- The triggers' "counted once" probes, and exports.
CREATE INDEX outcomes_volunteer_task ON outcomes(volunteer_id, task_id);
-- Broadcast deliveries per period; members per team; sign-ups and activity per period.
CREATE INDEX outbox_kind_created ON outbox(kind, created_at, status);
CREATE INDEX team_members_team ON team_members(team_id, volunteer_id);
CREATE INDEX volunteers_created ON volunteers(created_at);
CREATE INDEX volunteers_last_active_at ON volunteers(last_active_at);

-- One row per digest sent, so a late or repeated wake-up sends each digest once.
-- period_key: the local date for daily digests, the ISO week reported for weekly ones.
CREATE TABLE digests_sent (
    volunteer_id    INTEGER NOT NULL REFERENCES volunteers(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('daily', 'weekly')),
    period_key      TEXT NOT NULL,
    sent_at         TEXT NOT NULL,
    PRIMARY KEY (volunteer_id, kind, period_key)
);

-- What happened before this migration.
INSERT INTO report_rollup (axis, unit, span, hour, kind, offered)
SELECT 'all', '', 'h', s.hour, s.kind, SUM(offered) FROM (SELECT x.volunteer_id AS vol, substr(x.offered_at, 1, 13) AS hour, t.kind, 1 AS offered FROM offers x JOIN tasks t ON t.id = x.task_id) s
WHERE true GROUP BY s.hour, s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET offered = offered + excluded.offered;
INSERT INTO report_rollup (axis, unit, span, hour, kind, offered)
SELECT 'area', COALESCE(v.department, ''), 'h', s.hour, s.kind, SUM(offered) FROM (SELECT x.volunteer_id AS vol, substr(x.offered_at, 1, 13) AS hour, t.kind, 1 AS offered FROM offers x JOIN tasks t ON t.id = x.task_id) s
JOIN volunteers v ON v.id = s.vol WHERE true GROUP BY COALESCE(v.department, ''), s.hour, s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET offered = offered + excluded.offered;
INSERT INTO report_rollup (axis, unit, span, hour, kind, offered)
SELECT 'team', CAST(tm.team_id AS TEXT), 'h', s.hour, s.kind, SUM(offered) FROM (SELECT x.volunteer_id AS vol, substr(x.offered_at, 1, 13) AS hour, t.kind, 1 AS offered FROM offers x JOIN tasks t ON t.id = x.task_id) s
JOIN team_members tm ON tm.volunteer_id = s.vol WHERE true GROUP BY tm.team_id, s.hour, s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET offered = offered + excluded.offered;
INSERT INTO report_rollup (axis, unit, span, hour, kind, offered)
SELECT 'all', '', 'd', substr(s.hour, 1, 10), s.kind, SUM(offered) FROM (SELECT x.volunteer_id AS vol, substr(x.offered_at, 1, 13) AS hour, t.kind, 1 AS offered FROM offers x JOIN tasks t ON t.id = x.task_id) s
WHERE true GROUP BY substr(s.hour, 1, 10), s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET offered = offered + excluded.offered;
INSERT INTO report_rollup (axis, unit, span, hour, kind, offered)
SELECT 'area', COALESCE(v.department, ''), 'd', substr(s.hour, 1, 10), s.kind, SUM(offered) FROM (SELECT x.volunteer_id AS vol, substr(x.offered_at, 1, 13) AS hour, t.kind, 1 AS offered FROM offers x JOIN tasks t ON t.id = x.task_id) s
JOIN volunteers v ON v.id = s.vol WHERE true GROUP BY COALESCE(v.department, ''), substr(s.hour, 1, 10), s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET offered = offered + excluded.offered;
INSERT INTO report_rollup (axis, unit, span, hour, kind, offered)
SELECT 'team', CAST(tm.team_id AS TEXT), 'd', substr(s.hour, 1, 10), s.kind, SUM(offered) FROM (SELECT x.volunteer_id AS vol, substr(x.offered_at, 1, 13) AS hour, t.kind, 1 AS offered FROM offers x JOIN tasks t ON t.id = x.task_id) s
JOIN team_members tm ON tm.volunteer_id = s.vol WHERE true GROUP BY tm.team_id, substr(s.hour, 1, 10), s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET offered = offered + excluded.offered;

INSERT INTO report_rollup (axis, unit, span, hour, kind, accepted)
SELECT 'all', '', 'h', s.hour, s.kind, SUM(accepted) FROM (SELECT x.volunteer_id AS vol, substr(x.accepted_at, 1, 13) AS hour, t.kind, 1 AS accepted FROM assignments x JOIN tasks t ON t.id = x.task_id WHERE x.accepted_at IS NOT NULL) s
WHERE true GROUP BY s.hour, s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET accepted = accepted + excluded.accepted;
INSERT INTO report_rollup (axis, unit, span, hour, kind, accepted)
SELECT 'area', COALESCE(v.department, ''), 'h', s.hour, s.kind, SUM(accepted) FROM (SELECT x.volunteer_id AS vol, substr(x.accepted_at, 1, 13) AS hour, t.kind, 1 AS accepted FROM assignments x JOIN tasks t ON t.id = x.task_id WHERE x.accepted_at IS NOT NULL) s
JOIN volunteers v ON v.id = s.vol WHERE true GROUP BY COALESCE(v.department, ''), s.hour, s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET accepted = accepted + excluded.accepted;
INSERT INTO report_rollup (axis, unit, span, hour, kind, accepted)
SELECT 'team', CAST(tm.team_id AS TEXT), 'h', s.hour, s.kind, SUM(accepted) FROM (SELECT x.volunteer_id AS vol, substr(x.accepted_at, 1, 13) AS hour, t.kind, 1 AS accepted FROM assignments x JOIN tasks t ON t.id = x.task_id WHERE x.accepted_at IS NOT NULL) s
JOIN team_members tm ON tm.volunteer_id = s.vol WHERE true GROUP BY tm.team_id, s.hour, s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET accepted = accepted + excluded.accepted;
INSERT INTO report_rollup (axis, unit, span, hour, kind, accepted)
SELECT 'all', '', 'd', substr(s.hour, 1, 10), s.kind, SUM(accepted) FROM (SELECT x.volunteer_id AS vol, substr(x.accepted_at, 1, 13) AS hour, t.kind, 1 AS accepted FROM assignments x JOIN tasks t ON t.id = x.task_id WHERE x.accepted_at IS NOT NULL) s
WHERE true GROUP BY substr(s.hour, 1, 10), s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET accepted = accepted + excluded.accepted;
INSERT INTO report_rollup (axis, unit, span, hour, kind, accepted)
SELECT 'area', COALESCE(v.department, ''), 'd', substr(s.hour, 1, 10), s.kind, SUM(accepted) FROM (SELECT x.volunteer_id AS vol, substr(x.accepted_at, 1, 13) AS hour, t.kind, 1 AS accepted FROM assignments x JOIN tasks t ON t.id = x.task_id WHERE x.accepted_at IS NOT NULL) s
JOIN volunteers v ON v.id = s.vol WHERE true GROUP BY COALESCE(v.department, ''), substr(s.hour, 1, 10), s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET accepted = accepted + excluded.accepted;
INSERT INTO report_rollup (axis, unit, span, hour, kind, accepted)
SELECT 'team', CAST(tm.team_id AS TEXT), 'd', substr(s.hour, 1, 10), s.kind, SUM(accepted) FROM (SELECT x.volunteer_id AS vol, substr(x.accepted_at, 1, 13) AS hour, t.kind, 1 AS accepted FROM assignments x JOIN tasks t ON t.id = x.task_id WHERE x.accepted_at IS NOT NULL) s
JOIN team_members tm ON tm.volunteer_id = s.vol WHERE true GROUP BY tm.team_id, substr(s.hour, 1, 10), s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET accepted = accepted + excluded.accepted;

INSERT INTO report_rollup (axis, unit, span, hour, kind, done)
SELECT 'all', '', 'h', s.hour, s.kind, SUM(done) FROM (SELECT x.volunteer_id AS vol, substr(COALESCE(x.finished_at, x.updated_at), 1, 13) AS hour, t.kind, 1 AS done FROM (SELECT a.*, ROW_NUMBER() OVER (PARTITION BY a.volunteer_id, a.task_id ORDER BY a.id) AS rn FROM assignments a WHERE a.state = 'done') x JOIN tasks t ON t.id = x.task_id WHERE x.rn <= t.per_volunteer_cap) s
WHERE true GROUP BY s.hour, s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET done = done + excluded.done;
INSERT INTO report_rollup (axis, unit, span, hour, kind, done)
SELECT 'area', COALESCE(v.department, ''), 'h', s.hour, s.kind, SUM(done) FROM (SELECT x.volunteer_id AS vol, substr(COALESCE(x.finished_at, x.updated_at), 1, 13) AS hour, t.kind, 1 AS done FROM (SELECT a.*, ROW_NUMBER() OVER (PARTITION BY a.volunteer_id, a.task_id ORDER BY a.id) AS rn FROM assignments a WHERE a.state = 'done') x JOIN tasks t ON t.id = x.task_id WHERE x.rn <= t.per_volunteer_cap) s
JOIN volunteers v ON v.id = s.vol WHERE true GROUP BY COALESCE(v.department, ''), s.hour, s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET done = done + excluded.done;
INSERT INTO report_rollup (axis, unit, span, hour, kind, done)
SELECT 'team', CAST(tm.team_id AS TEXT), 'h', s.hour, s.kind, SUM(done) FROM (SELECT x.volunteer_id AS vol, substr(COALESCE(x.finished_at, x.updated_at), 1, 13) AS hour, t.kind, 1 AS done FROM (SELECT a.*, ROW_NUMBER() OVER (PARTITION BY a.volunteer_id, a.task_id ORDER BY a.id) AS rn FROM assignments a WHERE a.state = 'done') x JOIN tasks t ON t.id = x.task_id WHERE x.rn <= t.per_volunteer_cap) s
JOIN team_members tm ON tm.volunteer_id = s.vol WHERE true GROUP BY tm.team_id, s.hour, s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET done = done + excluded.done;
INSERT INTO report_rollup (axis, unit, span, hour, kind, done)
SELECT 'all', '', 'd', substr(s.hour, 1, 10), s.kind, SUM(done) FROM (SELECT x.volunteer_id AS vol, substr(COALESCE(x.finished_at, x.updated_at), 1, 13) AS hour, t.kind, 1 AS done FROM (SELECT a.*, ROW_NUMBER() OVER (PARTITION BY a.volunteer_id, a.task_id ORDER BY a.id) AS rn FROM assignments a WHERE a.state = 'done') x JOIN tasks t ON t.id = x.task_id WHERE x.rn <= t.per_volunteer_cap) s
WHERE true GROUP BY substr(s.hour, 1, 10), s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET done = done + excluded.done;
INSERT INTO report_rollup (axis, unit, span, hour, kind, done)
SELECT 'area', COALESCE(v.department, ''), 'd', substr(s.hour, 1, 10), s.kind, SUM(done) FROM (SELECT x.volunteer_id AS vol, substr(COALESCE(x.finished_at, x.updated_at), 1, 13) AS hour, t.kind, 1 AS done FROM (SELECT a.*, ROW_NUMBER() OVER (PARTITION BY a.volunteer_id, a.task_id ORDER BY a.id) AS rn FROM assignments a WHERE a.state = 'done') x JOIN tasks t ON t.id = x.task_id WHERE x.rn <= t.per_volunteer_cap) s
JOIN volunteers v ON v.id = s.vol WHERE true GROUP BY COALESCE(v.department, ''), substr(s.hour, 1, 10), s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET done = done + excluded.done;
INSERT INTO report_rollup (axis, unit, span, hour, kind, done)
SELECT 'team', CAST(tm.team_id AS TEXT), 'd', substr(s.hour, 1, 10), s.kind, SUM(done) FROM (SELECT x.volunteer_id AS vol, substr(COALESCE(x.finished_at, x.updated_at), 1, 13) AS hour, t.kind, 1 AS done FROM (SELECT a.*, ROW_NUMBER() OVER (PARTITION BY a.volunteer_id, a.task_id ORDER BY a.id) AS rn FROM assignments a WHERE a.state = 'done') x JOIN tasks t ON t.id = x.task_id WHERE x.rn <= t.per_volunteer_cap) s
JOIN team_members tm ON tm.volunteer_id = s.vol WHERE true GROUP BY tm.team_id, substr(s.hour, 1, 10), s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET done = done + excluded.done;

INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
SELECT 'all', '', 'h', s.hour, s.kind, SUM(doors_knocked), SUM(conversations), SUM(supporters), SUM(people_reached), SUM(attended) FROM (SELECT x.volunteer_id AS vol, substr(x.recorded_at, 1, 13) AS hour, t.kind, COALESCE(x.doors_knocked, 0) AS doors_knocked, COALESCE(x.conversations, 0) AS conversations, COALESCE(x.supporters, 0) AS supporters, COALESCE(x.people_reached, 0) AS people_reached, COALESCE(x.attended, 0) AS attended FROM (SELECT o.*, ROW_NUMBER() OVER (PARTITION BY o.volunteer_id, o.task_id ORDER BY o.assignment_id) AS rn FROM outcomes o) x JOIN tasks t ON t.id = x.task_id WHERE x.rn <= t.per_volunteer_cap) s
WHERE true GROUP BY s.hour, s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = doors_knocked + excluded.doors_knocked, conversations = conversations + excluded.conversations, supporters = supporters + excluded.supporters, people_reached = people_reached + excluded.people_reached, attended = attended + excluded.attended;
INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
SELECT 'area', COALESCE(v.department, ''), 'h', s.hour, s.kind, SUM(doors_knocked), SUM(conversations), SUM(supporters), SUM(people_reached), SUM(attended) FROM (SELECT x.volunteer_id AS vol, substr(x.recorded_at, 1, 13) AS hour, t.kind, COALESCE(x.doors_knocked, 0) AS doors_knocked, COALESCE(x.conversations, 0) AS conversations, COALESCE(x.supporters, 0) AS supporters, COALESCE(x.people_reached, 0) AS people_reached, COALESCE(x.attended, 0) AS attended FROM (SELECT o.*, ROW_NUMBER() OVER (PARTITION BY o.volunteer_id, o.task_id ORDER BY o.assignment_id) AS rn FROM outcomes o) x JOIN tasks t ON t.id = x.task_id WHERE x.rn <= t.per_volunteer_cap) s
JOIN volunteers v ON v.id = s.vol WHERE true GROUP BY COALESCE(v.department, ''), s.hour, s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = doors_knocked + excluded.doors_knocked, conversations = conversations + excluded.conversations, supporters = supporters + excluded.supporters, people_reached = people_reached + excluded.people_reached, attended = attended + excluded.attended;
INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
SELECT 'team', CAST(tm.team_id AS TEXT), 'h', s.hour, s.kind, SUM(doors_knocked), SUM(conversations), SUM(supporters), SUM(people_reached), SUM(attended) FROM (SELECT x.volunteer_id AS vol, substr(x.recorded_at, 1, 13) AS hour, t.kind, COALESCE(x.doors_knocked, 0) AS doors_knocked, COALESCE(x.conversations, 0) AS conversations, COALESCE(x.supporters, 0) AS supporters, COALESCE(x.people_reached, 0) AS people_reached, COALESCE(x.attended, 0) AS attended FROM (SELECT o.*, ROW_NUMBER() OVER (PARTITION BY o.volunteer_id, o.task_id ORDER BY o.assignment_id) AS rn FROM outcomes o) x JOIN tasks t ON t.id = x.task_id WHERE x.rn <= t.per_volunteer_cap) s
JOIN team_members tm ON tm.volunteer_id = s.vol WHERE true GROUP BY tm.team_id, s.hour, s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = doors_knocked + excluded.doors_knocked, conversations = conversations + excluded.conversations, supporters = supporters + excluded.supporters, people_reached = people_reached + excluded.people_reached, attended = attended + excluded.attended;
INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
SELECT 'all', '', 'd', substr(s.hour, 1, 10), s.kind, SUM(doors_knocked), SUM(conversations), SUM(supporters), SUM(people_reached), SUM(attended) FROM (SELECT x.volunteer_id AS vol, substr(x.recorded_at, 1, 13) AS hour, t.kind, COALESCE(x.doors_knocked, 0) AS doors_knocked, COALESCE(x.conversations, 0) AS conversations, COALESCE(x.supporters, 0) AS supporters, COALESCE(x.people_reached, 0) AS people_reached, COALESCE(x.attended, 0) AS attended FROM (SELECT o.*, ROW_NUMBER() OVER (PARTITION BY o.volunteer_id, o.task_id ORDER BY o.assignment_id) AS rn FROM outcomes o) x JOIN tasks t ON t.id = x.task_id WHERE x.rn <= t.per_volunteer_cap) s
WHERE true GROUP BY substr(s.hour, 1, 10), s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = doors_knocked + excluded.doors_knocked, conversations = conversations + excluded.conversations, supporters = supporters + excluded.supporters, people_reached = people_reached + excluded.people_reached, attended = attended + excluded.attended;
INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
SELECT 'area', COALESCE(v.department, ''), 'd', substr(s.hour, 1, 10), s.kind, SUM(doors_knocked), SUM(conversations), SUM(supporters), SUM(people_reached), SUM(attended) FROM (SELECT x.volunteer_id AS vol, substr(x.recorded_at, 1, 13) AS hour, t.kind, COALESCE(x.doors_knocked, 0) AS doors_knocked, COALESCE(x.conversations, 0) AS conversations, COALESCE(x.supporters, 0) AS supporters, COALESCE(x.people_reached, 0) AS people_reached, COALESCE(x.attended, 0) AS attended FROM (SELECT o.*, ROW_NUMBER() OVER (PARTITION BY o.volunteer_id, o.task_id ORDER BY o.assignment_id) AS rn FROM outcomes o) x JOIN tasks t ON t.id = x.task_id WHERE x.rn <= t.per_volunteer_cap) s
JOIN volunteers v ON v.id = s.vol WHERE true GROUP BY COALESCE(v.department, ''), substr(s.hour, 1, 10), s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = doors_knocked + excluded.doors_knocked, conversations = conversations + excluded.conversations, supporters = supporters + excluded.supporters, people_reached = people_reached + excluded.people_reached, attended = attended + excluded.attended;
INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
SELECT 'team', CAST(tm.team_id AS TEXT), 'd', substr(s.hour, 1, 10), s.kind, SUM(doors_knocked), SUM(conversations), SUM(supporters), SUM(people_reached), SUM(attended) FROM (SELECT x.volunteer_id AS vol, substr(x.recorded_at, 1, 13) AS hour, t.kind, COALESCE(x.doors_knocked, 0) AS doors_knocked, COALESCE(x.conversations, 0) AS conversations, COALESCE(x.supporters, 0) AS supporters, COALESCE(x.people_reached, 0) AS people_reached, COALESCE(x.attended, 0) AS attended FROM (SELECT o.*, ROW_NUMBER() OVER (PARTITION BY o.volunteer_id, o.task_id ORDER BY o.assignment_id) AS rn FROM outcomes o) x JOIN tasks t ON t.id = x.task_id WHERE x.rn <= t.per_volunteer_cap) s
JOIN team_members tm ON tm.volunteer_id = s.vol WHERE true GROUP BY tm.team_id, substr(s.hour, 1, 10), s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = doors_knocked + excluded.doors_knocked, conversations = conversations + excluded.conversations, supporters = supporters + excluded.supporters, people_reached = people_reached + excluded.people_reached, attended = attended + excluded.attended;

INSERT INTO report_rollup (axis, unit, span, hour, kind, calls, supporter, undecided, opposed, no_answer, wrong_number, callback, do_not_call)
SELECT 'all', '', 'h', s.hour, s.kind, SUM(calls), SUM(supporter), SUM(undecided), SUM(opposed), SUM(no_answer), SUM(wrong_number), SUM(callback), SUM(do_not_call) FROM (SELECT x.volunteer_id AS vol, substr(x.called_at, 1, 13) AS hour, t.kind, 1 AS calls, (x.result = 'supporter') AS supporter, (x.result = 'undecided') AS undecided, (x.result = 'opposed') AS opposed, (x.result = 'no_answer') AS no_answer, (x.result = 'wrong_number') AS wrong_number, (x.result = 'callback') AS callback, (x.result = 'do_not_call') AS do_not_call FROM call_results x JOIN tasks t ON t.id = x.task_id WHERE x.volunteer_id IS NOT NULL) s
WHERE true GROUP BY s.hour, s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET calls = calls + excluded.calls, supporter = supporter + excluded.supporter, undecided = undecided + excluded.undecided, opposed = opposed + excluded.opposed, no_answer = no_answer + excluded.no_answer, wrong_number = wrong_number + excluded.wrong_number, callback = callback + excluded.callback, do_not_call = do_not_call + excluded.do_not_call;
INSERT INTO report_rollup (axis, unit, span, hour, kind, calls, supporter, undecided, opposed, no_answer, wrong_number, callback, do_not_call)
SELECT 'area', COALESCE(v.department, ''), 'h', s.hour, s.kind, SUM(calls), SUM(supporter), SUM(undecided), SUM(opposed), SUM(no_answer), SUM(wrong_number), SUM(callback), SUM(do_not_call) FROM (SELECT x.volunteer_id AS vol, substr(x.called_at, 1, 13) AS hour, t.kind, 1 AS calls, (x.result = 'supporter') AS supporter, (x.result = 'undecided') AS undecided, (x.result = 'opposed') AS opposed, (x.result = 'no_answer') AS no_answer, (x.result = 'wrong_number') AS wrong_number, (x.result = 'callback') AS callback, (x.result = 'do_not_call') AS do_not_call FROM call_results x JOIN tasks t ON t.id = x.task_id WHERE x.volunteer_id IS NOT NULL) s
JOIN volunteers v ON v.id = s.vol WHERE true GROUP BY COALESCE(v.department, ''), s.hour, s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET calls = calls + excluded.calls, supporter = supporter + excluded.supporter, undecided = undecided + excluded.undecided, opposed = opposed + excluded.opposed, no_answer = no_answer + excluded.no_answer, wrong_number = wrong_number + excluded.wrong_number, callback = callback + excluded.callback, do_not_call = do_not_call + excluded.do_not_call;
INSERT INTO report_rollup (axis, unit, span, hour, kind, calls, supporter, undecided, opposed, no_answer, wrong_number, callback, do_not_call)
SELECT 'team', CAST(tm.team_id AS TEXT), 'h', s.hour, s.kind, SUM(calls), SUM(supporter), SUM(undecided), SUM(opposed), SUM(no_answer), SUM(wrong_number), SUM(callback), SUM(do_not_call) FROM (SELECT x.volunteer_id AS vol, substr(x.called_at, 1, 13) AS hour, t.kind, 1 AS calls, (x.result = 'supporter') AS supporter, (x.result = 'undecided') AS undecided, (x.result = 'opposed') AS opposed, (x.result = 'no_answer') AS no_answer, (x.result = 'wrong_number') AS wrong_number, (x.result = 'callback') AS callback, (x.result = 'do_not_call') AS do_not_call FROM call_results x JOIN tasks t ON t.id = x.task_id WHERE x.volunteer_id IS NOT NULL) s
JOIN team_members tm ON tm.volunteer_id = s.vol WHERE true GROUP BY tm.team_id, s.hour, s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET calls = calls + excluded.calls, supporter = supporter + excluded.supporter, undecided = undecided + excluded.undecided, opposed = opposed + excluded.opposed, no_answer = no_answer + excluded.no_answer, wrong_number = wrong_number + excluded.wrong_number, callback = callback + excluded.callback, do_not_call = do_not_call + excluded.do_not_call;
INSERT INTO report_rollup (axis, unit, span, hour, kind, calls, supporter, undecided, opposed, no_answer, wrong_number, callback, do_not_call)
SELECT 'all', '', 'd', substr(s.hour, 1, 10), s.kind, SUM(calls), SUM(supporter), SUM(undecided), SUM(opposed), SUM(no_answer), SUM(wrong_number), SUM(callback), SUM(do_not_call) FROM (SELECT x.volunteer_id AS vol, substr(x.called_at, 1, 13) AS hour, t.kind, 1 AS calls, (x.result = 'supporter') AS supporter, (x.result = 'undecided') AS undecided, (x.result = 'opposed') AS opposed, (x.result = 'no_answer') AS no_answer, (x.result = 'wrong_number') AS wrong_number, (x.result = 'callback') AS callback, (x.result = 'do_not_call') AS do_not_call FROM call_results x JOIN tasks t ON t.id = x.task_id WHERE x.volunteer_id IS NOT NULL) s
WHERE true GROUP BY substr(s.hour, 1, 10), s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET calls = calls + excluded.calls, supporter = supporter + excluded.supporter, undecided = undecided + excluded.undecided, opposed = opposed + excluded.opposed, no_answer = no_answer + excluded.no_answer, wrong_number = wrong_number + excluded.wrong_number, callback = callback + excluded.callback, do_not_call = do_not_call + excluded.do_not_call;
INSERT INTO report_rollup (axis, unit, span, hour, kind, calls, supporter, undecided, opposed, no_answer, wrong_number, callback, do_not_call)
SELECT 'area', COALESCE(v.department, ''), 'd', substr(s.hour, 1, 10), s.kind, SUM(calls), SUM(supporter), SUM(undecided), SUM(opposed), SUM(no_answer), SUM(wrong_number), SUM(callback), SUM(do_not_call) FROM (SELECT x.volunteer_id AS vol, substr(x.called_at, 1, 13) AS hour, t.kind, 1 AS calls, (x.result = 'supporter') AS supporter, (x.result = 'undecided') AS undecided, (x.result = 'opposed') AS opposed, (x.result = 'no_answer') AS no_answer, (x.result = 'wrong_number') AS wrong_number, (x.result = 'callback') AS callback, (x.result = 'do_not_call') AS do_not_call FROM call_results x JOIN tasks t ON t.id = x.task_id WHERE x.volunteer_id IS NOT NULL) s
JOIN volunteers v ON v.id = s.vol WHERE true GROUP BY COALESCE(v.department, ''), substr(s.hour, 1, 10), s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET calls = calls + excluded.calls, supporter = supporter + excluded.supporter, undecided = undecided + excluded.undecided, opposed = opposed + excluded.opposed, no_answer = no_answer + excluded.no_answer, wrong_number = wrong_number + excluded.wrong_number, callback = callback + excluded.callback, do_not_call = do_not_call + excluded.do_not_call;
INSERT INTO report_rollup (axis, unit, span, hour, kind, calls, supporter, undecided, opposed, no_answer, wrong_number, callback, do_not_call)
SELECT 'team', CAST(tm.team_id AS TEXT), 'd', substr(s.hour, 1, 10), s.kind, SUM(calls), SUM(supporter), SUM(undecided), SUM(opposed), SUM(no_answer), SUM(wrong_number), SUM(callback), SUM(do_not_call) FROM (SELECT x.volunteer_id AS vol, substr(x.called_at, 1, 13) AS hour, t.kind, 1 AS calls, (x.result = 'supporter') AS supporter, (x.result = 'undecided') AS undecided, (x.result = 'opposed') AS opposed, (x.result = 'no_answer') AS no_answer, (x.result = 'wrong_number') AS wrong_number, (x.result = 'callback') AS callback, (x.result = 'do_not_call') AS do_not_call FROM call_results x JOIN tasks t ON t.id = x.task_id WHERE x.volunteer_id IS NOT NULL) s
JOIN team_members tm ON tm.volunteer_id = s.vol WHERE true GROUP BY tm.team_id, substr(s.hour, 1, 10), s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET calls = calls + excluded.calls, supporter = supporter + excluded.supporter, undecided = undecided + excluded.undecided, opposed = opposed + excluded.opposed, no_answer = no_answer + excluded.no_answer, wrong_number = wrong_number + excluded.wrong_number, callback = callback + excluded.callback, do_not_call = do_not_call + excluded.do_not_call;

-- From now on, every new row updates the roll-up in the same transaction.
CREATE TRIGGER report_offer AFTER INSERT ON offers
BEGIN
    INSERT INTO report_rollup (axis, unit, span, hour, kind, offered)
    SELECT 'all', '', 'h', substr(NEW.offered_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET offered = offered + excluded.offered;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, offered)
    SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'h', substr(NEW.offered_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET offered = offered + excluded.offered;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, offered)
    SELECT 'team', CAST(tm.team_id AS TEXT), 'h', substr(NEW.offered_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 FROM team_members tm
    WHERE tm.volunteer_id = NEW.volunteer_id
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET offered = offered + excluded.offered;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, offered)
    SELECT 'all', '', 'd', substr(NEW.offered_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET offered = offered + excluded.offered;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, offered)
    SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'd', substr(NEW.offered_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET offered = offered + excluded.offered;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, offered)
    SELECT 'team', CAST(tm.team_id AS TEXT), 'd', substr(NEW.offered_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 FROM team_members tm
    WHERE tm.volunteer_id = NEW.volunteer_id
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET offered = offered + excluded.offered;
END;

CREATE TRIGGER report_accepted_new AFTER INSERT ON assignments
WHEN NEW.accepted_at IS NOT NULL
BEGIN
    INSERT INTO report_rollup (axis, unit, span, hour, kind, accepted)
    SELECT 'all', '', 'h', substr(NEW.accepted_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET accepted = accepted + excluded.accepted;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, accepted)
    SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'h', substr(NEW.accepted_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET accepted = accepted + excluded.accepted;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, accepted)
    SELECT 'team', CAST(tm.team_id AS TEXT), 'h', substr(NEW.accepted_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 FROM team_members tm
    WHERE tm.volunteer_id = NEW.volunteer_id
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET accepted = accepted + excluded.accepted;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, accepted)
    SELECT 'all', '', 'd', substr(NEW.accepted_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET accepted = accepted + excluded.accepted;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, accepted)
    SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'd', substr(NEW.accepted_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET accepted = accepted + excluded.accepted;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, accepted)
    SELECT 'team', CAST(tm.team_id AS TEXT), 'd', substr(NEW.accepted_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 FROM team_members tm
    WHERE tm.volunteer_id = NEW.volunteer_id
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET accepted = accepted + excluded.accepted;
END;

CREATE TRIGGER report_accepted AFTER UPDATE OF accepted_at ON assignments
WHEN OLD.accepted_at IS NULL AND NEW.accepted_at IS NOT NULL
BEGIN
    INSERT INTO report_rollup (axis, unit, span, hour, kind, accepted)
    SELECT 'all', '', 'h', substr(NEW.accepted_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET accepted = accepted + excluded.accepted;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, accepted)
    SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'h', substr(NEW.accepted_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET accepted = accepted + excluded.accepted;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, accepted)
    SELECT 'team', CAST(tm.team_id AS TEXT), 'h', substr(NEW.accepted_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 FROM team_members tm
    WHERE tm.volunteer_id = NEW.volunteer_id
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET accepted = accepted + excluded.accepted;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, accepted)
    SELECT 'all', '', 'd', substr(NEW.accepted_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET accepted = accepted + excluded.accepted;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, accepted)
    SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'd', substr(NEW.accepted_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET accepted = accepted + excluded.accepted;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, accepted)
    SELECT 'team', CAST(tm.team_id AS TEXT), 'd', substr(NEW.accepted_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 FROM team_members tm
    WHERE tm.volunteer_id = NEW.volunteer_id
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET accepted = accepted + excluded.accepted;
END;

CREATE TRIGGER report_done_new AFTER INSERT ON assignments
WHEN NEW.state = 'done' AND (SELECT COUNT(*) FROM assignments b WHERE b.state = 'done' AND b.volunteer_id = NEW.volunteer_id AND b.task_id = NEW.task_id AND b.id <> NEW.id) < (SELECT per_volunteer_cap FROM tasks WHERE id = NEW.task_id)
BEGIN
    INSERT INTO report_rollup (axis, unit, span, hour, kind, done)
    SELECT 'all', '', 'h', substr(COALESCE(NEW.finished_at, NEW.updated_at), 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET done = done + excluded.done;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, done)
    SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'h', substr(COALESCE(NEW.finished_at, NEW.updated_at), 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET done = done + excluded.done;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, done)
    SELECT 'team', CAST(tm.team_id AS TEXT), 'h', substr(COALESCE(NEW.finished_at, NEW.updated_at), 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 FROM team_members tm
    WHERE tm.volunteer_id = NEW.volunteer_id
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET done = done + excluded.done;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, done)
    SELECT 'all', '', 'd', substr(COALESCE(NEW.finished_at, NEW.updated_at), 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET done = done + excluded.done;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, done)
    SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'd', substr(COALESCE(NEW.finished_at, NEW.updated_at), 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET done = done + excluded.done;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, done)
    SELECT 'team', CAST(tm.team_id AS TEXT), 'd', substr(COALESCE(NEW.finished_at, NEW.updated_at), 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 FROM team_members tm
    WHERE tm.volunteer_id = NEW.volunteer_id
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET done = done + excluded.done;
END;

CREATE TRIGGER report_done AFTER UPDATE OF state ON assignments
WHEN OLD.state <> 'done' AND NEW.state = 'done' AND (SELECT COUNT(*) FROM assignments b WHERE b.state = 'done' AND b.volunteer_id = NEW.volunteer_id AND b.task_id = NEW.task_id AND b.id <> NEW.id) < (SELECT per_volunteer_cap FROM tasks WHERE id = NEW.task_id)
BEGIN
    INSERT INTO report_rollup (axis, unit, span, hour, kind, done)
    SELECT 'all', '', 'h', substr(COALESCE(NEW.finished_at, NEW.updated_at), 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET done = done + excluded.done;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, done)
    SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'h', substr(COALESCE(NEW.finished_at, NEW.updated_at), 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET done = done + excluded.done;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, done)
    SELECT 'team', CAST(tm.team_id AS TEXT), 'h', substr(COALESCE(NEW.finished_at, NEW.updated_at), 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 FROM team_members tm
    WHERE tm.volunteer_id = NEW.volunteer_id
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET done = done + excluded.done;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, done)
    SELECT 'all', '', 'd', substr(COALESCE(NEW.finished_at, NEW.updated_at), 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET done = done + excluded.done;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, done)
    SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'd', substr(COALESCE(NEW.finished_at, NEW.updated_at), 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET done = done + excluded.done;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, done)
    SELECT 'team', CAST(tm.team_id AS TEXT), 'd', substr(COALESCE(NEW.finished_at, NEW.updated_at), 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 FROM team_members tm
    WHERE tm.volunteer_id = NEW.volunteer_id
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET done = done + excluded.done;
END;

CREATE TRIGGER report_outcome AFTER INSERT ON outcomes
WHEN (SELECT COUNT(*) FROM outcomes p WHERE p.volunteer_id = NEW.volunteer_id AND p.task_id = NEW.task_id AND p.assignment_id <> NEW.assignment_id) < (SELECT per_volunteer_cap FROM tasks WHERE id = NEW.task_id)
BEGIN
    INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
    SELECT 'all', '', 'h', substr(NEW.recorded_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), COALESCE(NEW.doors_knocked, 0), COALESCE(NEW.conversations, 0), COALESCE(NEW.supporters, 0), COALESCE(NEW.people_reached, 0), COALESCE(NEW.attended, 0) WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = doors_knocked + excluded.doors_knocked, conversations = conversations + excluded.conversations, supporters = supporters + excluded.supporters, people_reached = people_reached + excluded.people_reached, attended = attended + excluded.attended;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
    SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'h', substr(NEW.recorded_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), COALESCE(NEW.doors_knocked, 0), COALESCE(NEW.conversations, 0), COALESCE(NEW.supporters, 0), COALESCE(NEW.people_reached, 0), COALESCE(NEW.attended, 0) WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = doors_knocked + excluded.doors_knocked, conversations = conversations + excluded.conversations, supporters = supporters + excluded.supporters, people_reached = people_reached + excluded.people_reached, attended = attended + excluded.attended;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
    SELECT 'team', CAST(tm.team_id AS TEXT), 'h', substr(NEW.recorded_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), COALESCE(NEW.doors_knocked, 0), COALESCE(NEW.conversations, 0), COALESCE(NEW.supporters, 0), COALESCE(NEW.people_reached, 0), COALESCE(NEW.attended, 0) FROM team_members tm
    WHERE tm.volunteer_id = NEW.volunteer_id
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = doors_knocked + excluded.doors_knocked, conversations = conversations + excluded.conversations, supporters = supporters + excluded.supporters, people_reached = people_reached + excluded.people_reached, attended = attended + excluded.attended;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
    SELECT 'all', '', 'd', substr(NEW.recorded_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), COALESCE(NEW.doors_knocked, 0), COALESCE(NEW.conversations, 0), COALESCE(NEW.supporters, 0), COALESCE(NEW.people_reached, 0), COALESCE(NEW.attended, 0) WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = doors_knocked + excluded.doors_knocked, conversations = conversations + excluded.conversations, supporters = supporters + excluded.supporters, people_reached = people_reached + excluded.people_reached, attended = attended + excluded.attended;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
    SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'd', substr(NEW.recorded_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), COALESCE(NEW.doors_knocked, 0), COALESCE(NEW.conversations, 0), COALESCE(NEW.supporters, 0), COALESCE(NEW.people_reached, 0), COALESCE(NEW.attended, 0) WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = doors_knocked + excluded.doors_knocked, conversations = conversations + excluded.conversations, supporters = supporters + excluded.supporters, people_reached = people_reached + excluded.people_reached, attended = attended + excluded.attended;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
    SELECT 'team', CAST(tm.team_id AS TEXT), 'd', substr(NEW.recorded_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), COALESCE(NEW.doors_knocked, 0), COALESCE(NEW.conversations, 0), COALESCE(NEW.supporters, 0), COALESCE(NEW.people_reached, 0), COALESCE(NEW.attended, 0) FROM team_members tm
    WHERE tm.volunteer_id = NEW.volunteer_id
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = doors_knocked + excluded.doors_knocked, conversations = conversations + excluded.conversations, supporters = supporters + excluded.supporters, people_reached = people_reached + excluded.people_reached, attended = attended + excluded.attended;
END;

CREATE TRIGGER report_call AFTER INSERT ON call_results
WHEN NEW.volunteer_id IS NOT NULL
BEGIN
    INSERT INTO report_rollup (axis, unit, span, hour, kind, calls, supporter, undecided, opposed, no_answer, wrong_number, callback, do_not_call)
    SELECT 'all', '', 'h', substr(NEW.called_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1, (NEW.result = 'supporter'), (NEW.result = 'undecided'), (NEW.result = 'opposed'), (NEW.result = 'no_answer'), (NEW.result = 'wrong_number'), (NEW.result = 'callback'), (NEW.result = 'do_not_call') WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET calls = calls + excluded.calls, supporter = supporter + excluded.supporter, undecided = undecided + excluded.undecided, opposed = opposed + excluded.opposed, no_answer = no_answer + excluded.no_answer, wrong_number = wrong_number + excluded.wrong_number, callback = callback + excluded.callback, do_not_call = do_not_call + excluded.do_not_call;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, calls, supporter, undecided, opposed, no_answer, wrong_number, callback, do_not_call)
    SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'h', substr(NEW.called_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1, (NEW.result = 'supporter'), (NEW.result = 'undecided'), (NEW.result = 'opposed'), (NEW.result = 'no_answer'), (NEW.result = 'wrong_number'), (NEW.result = 'callback'), (NEW.result = 'do_not_call') WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET calls = calls + excluded.calls, supporter = supporter + excluded.supporter, undecided = undecided + excluded.undecided, opposed = opposed + excluded.opposed, no_answer = no_answer + excluded.no_answer, wrong_number = wrong_number + excluded.wrong_number, callback = callback + excluded.callback, do_not_call = do_not_call + excluded.do_not_call;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, calls, supporter, undecided, opposed, no_answer, wrong_number, callback, do_not_call)
    SELECT 'team', CAST(tm.team_id AS TEXT), 'h', substr(NEW.called_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1, (NEW.result = 'supporter'), (NEW.result = 'undecided'), (NEW.result = 'opposed'), (NEW.result = 'no_answer'), (NEW.result = 'wrong_number'), (NEW.result = 'callback'), (NEW.result = 'do_not_call') FROM team_members tm
    WHERE tm.volunteer_id = NEW.volunteer_id
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET calls = calls + excluded.calls, supporter = supporter + excluded.supporter, undecided = undecided + excluded.undecided, opposed = opposed + excluded.opposed, no_answer = no_answer + excluded.no_answer, wrong_number = wrong_number + excluded.wrong_number, callback = callback + excluded.callback, do_not_call = do_not_call + excluded.do_not_call;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, calls, supporter, undecided, opposed, no_answer, wrong_number, callback, do_not_call)
    SELECT 'all', '', 'd', substr(NEW.called_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1, (NEW.result = 'supporter'), (NEW.result = 'undecided'), (NEW.result = 'opposed'), (NEW.result = 'no_answer'), (NEW.result = 'wrong_number'), (NEW.result = 'callback'), (NEW.result = 'do_not_call') WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET calls = calls + excluded.calls, supporter = supporter + excluded.supporter, undecided = undecided + excluded.undecided, opposed = opposed + excluded.opposed, no_answer = no_answer + excluded.no_answer, wrong_number = wrong_number + excluded.wrong_number, callback = callback + excluded.callback, do_not_call = do_not_call + excluded.do_not_call;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, calls, supporter, undecided, opposed, no_answer, wrong_number, callback, do_not_call)
    SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'd', substr(NEW.called_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1, (NEW.result = 'supporter'), (NEW.result = 'undecided'), (NEW.result = 'opposed'), (NEW.result = 'no_answer'), (NEW.result = 'wrong_number'), (NEW.result = 'callback'), (NEW.result = 'do_not_call') WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET calls = calls + excluded.calls, supporter = supporter + excluded.supporter, undecided = undecided + excluded.undecided, opposed = opposed + excluded.opposed, no_answer = no_answer + excluded.no_answer, wrong_number = wrong_number + excluded.wrong_number, callback = callback + excluded.callback, do_not_call = do_not_call + excluded.do_not_call;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, calls, supporter, undecided, opposed, no_answer, wrong_number, callback, do_not_call)
    SELECT 'team', CAST(tm.team_id AS TEXT), 'd', substr(NEW.called_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1, (NEW.result = 'supporter'), (NEW.result = 'undecided'), (NEW.result = 'opposed'), (NEW.result = 'no_answer'), (NEW.result = 'wrong_number'), (NEW.result = 'callback'), (NEW.result = 'do_not_call') FROM team_members tm
    WHERE tm.volunteer_id = NEW.volunteer_id
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET calls = calls + excluded.calls, supporter = supporter + excluded.supporter, undecided = undecided + excluded.undecided, opposed = opposed + excluded.opposed, no_answer = no_answer + excluded.no_answer, wrong_number = wrong_number + excluded.wrong_number, callback = callback + excluded.callback, do_not_call = do_not_call + excluded.do_not_call;
END;

-- A corrected outcome moves its numbers (deleted rows keep their history: erased
-- volunteers and closed tasks still count).
CREATE TRIGGER report_outcome_corrected AFTER UPDATE OF doors_knocked, conversations, supporters, people_reached, attended, recorded_at ON outcomes
WHEN (SELECT COUNT(*) FROM outcomes p WHERE p.volunteer_id = NEW.volunteer_id AND p.task_id = NEW.task_id AND p.assignment_id < NEW.assignment_id) < (SELECT per_volunteer_cap FROM tasks WHERE id = NEW.task_id)
BEGIN
    INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
    SELECT 'all', '', 'h', substr(NEW.recorded_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), COALESCE(NEW.doors_knocked, 0), COALESCE(NEW.conversations, 0), COALESCE(NEW.supporters, 0), COALESCE(NEW.people_reached, 0), COALESCE(NEW.attended, 0) WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = doors_knocked + excluded.doors_knocked, conversations = conversations + excluded.conversations, supporters = supporters + excluded.supporters, people_reached = people_reached + excluded.people_reached, attended = attended + excluded.attended;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
    SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'h', substr(NEW.recorded_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), COALESCE(NEW.doors_knocked, 0), COALESCE(NEW.conversations, 0), COALESCE(NEW.supporters, 0), COALESCE(NEW.people_reached, 0), COALESCE(NEW.attended, 0) WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = doors_knocked + excluded.doors_knocked, conversations = conversations + excluded.conversations, supporters = supporters + excluded.supporters, people_reached = people_reached + excluded.people_reached, attended = attended + excluded.attended;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
    SELECT 'team', CAST(tm.team_id AS TEXT), 'h', substr(NEW.recorded_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), COALESCE(NEW.doors_knocked, 0), COALESCE(NEW.conversations, 0), COALESCE(NEW.supporters, 0), COALESCE(NEW.people_reached, 0), COALESCE(NEW.attended, 0) FROM team_members tm
    WHERE tm.volunteer_id = NEW.volunteer_id
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = doors_knocked + excluded.doors_knocked, conversations = conversations + excluded.conversations, supporters = supporters + excluded.supporters, people_reached = people_reached + excluded.people_reached, attended = attended + excluded.attended;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
    SELECT 'all', '', 'd', substr(NEW.recorded_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), COALESCE(NEW.doors_knocked, 0), COALESCE(NEW.conversations, 0), COALESCE(NEW.supporters, 0), COALESCE(NEW.people_reached, 0), COALESCE(NEW.attended, 0) WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = doors_knocked + excluded.doors_knocked, conversations = conversations + excluded.conversations, supporters = supporters + excluded.supporters, people_reached = people_reached + excluded.people_reached, attended = attended + excluded.attended;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
    SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'd', substr(NEW.recorded_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), COALESCE(NEW.doors_knocked, 0), COALESCE(NEW.conversations, 0), COALESCE(NEW.supporters, 0), COALESCE(NEW.people_reached, 0), COALESCE(NEW.attended, 0) WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = doors_knocked + excluded.doors_knocked, conversations = conversations + excluded.conversations, supporters = supporters + excluded.supporters, people_reached = people_reached + excluded.people_reached, attended = attended + excluded.attended;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
    SELECT 'team', CAST(tm.team_id AS TEXT), 'd', substr(NEW.recorded_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), COALESCE(NEW.doors_knocked, 0), COALESCE(NEW.conversations, 0), COALESCE(NEW.supporters, 0), COALESCE(NEW.people_reached, 0), COALESCE(NEW.attended, 0) FROM team_members tm
    WHERE tm.volunteer_id = NEW.volunteer_id
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = doors_knocked + excluded.doors_knocked, conversations = conversations + excluded.conversations, supporters = supporters + excluded.supporters, people_reached = people_reached + excluded.people_reached, attended = attended + excluded.attended;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
    SELECT 'all', '', 'h', substr(OLD.recorded_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), -COALESCE(OLD.doors_knocked, 0), -COALESCE(OLD.conversations, 0), -COALESCE(OLD.supporters, 0), -COALESCE(OLD.people_reached, 0), -COALESCE(OLD.attended, 0) WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = doors_knocked + excluded.doors_knocked, conversations = conversations + excluded.conversations, supporters = supporters + excluded.supporters, people_reached = people_reached + excluded.people_reached, attended = attended + excluded.attended;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
    SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'h', substr(OLD.recorded_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), -COALESCE(OLD.doors_knocked, 0), -COALESCE(OLD.conversations, 0), -COALESCE(OLD.supporters, 0), -COALESCE(OLD.people_reached, 0), -COALESCE(OLD.attended, 0) WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = doors_knocked + excluded.doors_knocked, conversations = conversations + excluded.conversations, supporters = supporters + excluded.supporters, people_reached = people_reached + excluded.people_reached, attended = attended + excluded.attended;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
    SELECT 'team', CAST(tm.team_id AS TEXT), 'h', substr(OLD.recorded_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), -COALESCE(OLD.doors_knocked, 0), -COALESCE(OLD.conversations, 0), -COALESCE(OLD.supporters, 0), -COALESCE(OLD.people_reached, 0), -COALESCE(OLD.attended, 0) FROM team_members tm
    WHERE tm.volunteer_id = NEW.volunteer_id
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = doors_knocked + excluded.doors_knocked, conversations = conversations + excluded.conversations, supporters = supporters + excluded.supporters, people_reached = people_reached + excluded.people_reached, attended = attended + excluded.attended;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
    SELECT 'all', '', 'd', substr(OLD.recorded_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), -COALESCE(OLD.doors_knocked, 0), -COALESCE(OLD.conversations, 0), -COALESCE(OLD.supporters, 0), -COALESCE(OLD.people_reached, 0), -COALESCE(OLD.attended, 0) WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = doors_knocked + excluded.doors_knocked, conversations = conversations + excluded.conversations, supporters = supporters + excluded.supporters, people_reached = people_reached + excluded.people_reached, attended = attended + excluded.attended;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
    SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'd', substr(OLD.recorded_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), -COALESCE(OLD.doors_knocked, 0), -COALESCE(OLD.conversations, 0), -COALESCE(OLD.supporters, 0), -COALESCE(OLD.people_reached, 0), -COALESCE(OLD.attended, 0) WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = doors_knocked + excluded.doors_knocked, conversations = conversations + excluded.conversations, supporters = supporters + excluded.supporters, people_reached = people_reached + excluded.people_reached, attended = attended + excluded.attended;
    INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
    SELECT 'team', CAST(tm.team_id AS TEXT), 'd', substr(OLD.recorded_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), -COALESCE(OLD.doors_knocked, 0), -COALESCE(OLD.conversations, 0), -COALESCE(OLD.supporters, 0), -COALESCE(OLD.people_reached, 0), -COALESCE(OLD.attended, 0) FROM team_members tm
    WHERE tm.volunteer_id = NEW.volunteer_id
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = doors_knocked + excluded.doors_knocked, conversations = conversations + excluded.conversations, supporters = supporters + excluded.supporters, people_reached = people_reached + excluded.people_reached, attended = attended + excluded.attended;
END;
