-- PostgreSQL's version of ../0007_reports.sql: the same tables, columns and meaning; the roll-up triggers are PL/pgSQL functions, a call's result counts through CASE.
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
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET offered = report_rollup.offered + excluded.offered;
INSERT INTO report_rollup (axis, unit, span, hour, kind, offered)
SELECT 'area', COALESCE(v.department, ''), 'h', s.hour, s.kind, SUM(offered) FROM (SELECT x.volunteer_id AS vol, substr(x.offered_at, 1, 13) AS hour, t.kind, 1 AS offered FROM offers x JOIN tasks t ON t.id = x.task_id) s
JOIN volunteers v ON v.id = s.vol WHERE true GROUP BY COALESCE(v.department, ''), s.hour, s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET offered = report_rollup.offered + excluded.offered;
INSERT INTO report_rollup (axis, unit, span, hour, kind, offered)
SELECT 'team', CAST(tm.team_id AS TEXT), 'h', s.hour, s.kind, SUM(offered) FROM (SELECT x.volunteer_id AS vol, substr(x.offered_at, 1, 13) AS hour, t.kind, 1 AS offered FROM offers x JOIN tasks t ON t.id = x.task_id) s
JOIN team_members tm ON tm.volunteer_id = s.vol WHERE true GROUP BY tm.team_id, s.hour, s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET offered = report_rollup.offered + excluded.offered;
INSERT INTO report_rollup (axis, unit, span, hour, kind, offered)
SELECT 'all', '', 'd', substr(s.hour, 1, 10), s.kind, SUM(offered) FROM (SELECT x.volunteer_id AS vol, substr(x.offered_at, 1, 13) AS hour, t.kind, 1 AS offered FROM offers x JOIN tasks t ON t.id = x.task_id) s
WHERE true GROUP BY substr(s.hour, 1, 10), s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET offered = report_rollup.offered + excluded.offered;
INSERT INTO report_rollup (axis, unit, span, hour, kind, offered)
SELECT 'area', COALESCE(v.department, ''), 'd', substr(s.hour, 1, 10), s.kind, SUM(offered) FROM (SELECT x.volunteer_id AS vol, substr(x.offered_at, 1, 13) AS hour, t.kind, 1 AS offered FROM offers x JOIN tasks t ON t.id = x.task_id) s
JOIN volunteers v ON v.id = s.vol WHERE true GROUP BY COALESCE(v.department, ''), substr(s.hour, 1, 10), s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET offered = report_rollup.offered + excluded.offered;
INSERT INTO report_rollup (axis, unit, span, hour, kind, offered)
SELECT 'team', CAST(tm.team_id AS TEXT), 'd', substr(s.hour, 1, 10), s.kind, SUM(offered) FROM (SELECT x.volunteer_id AS vol, substr(x.offered_at, 1, 13) AS hour, t.kind, 1 AS offered FROM offers x JOIN tasks t ON t.id = x.task_id) s
JOIN team_members tm ON tm.volunteer_id = s.vol WHERE true GROUP BY tm.team_id, substr(s.hour, 1, 10), s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET offered = report_rollup.offered + excluded.offered;

INSERT INTO report_rollup (axis, unit, span, hour, kind, accepted)
SELECT 'all', '', 'h', s.hour, s.kind, SUM(accepted) FROM (SELECT x.volunteer_id AS vol, substr(x.accepted_at, 1, 13) AS hour, t.kind, 1 AS accepted FROM assignments x JOIN tasks t ON t.id = x.task_id WHERE x.accepted_at IS NOT NULL) s
WHERE true GROUP BY s.hour, s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET accepted = report_rollup.accepted + excluded.accepted;
INSERT INTO report_rollup (axis, unit, span, hour, kind, accepted)
SELECT 'area', COALESCE(v.department, ''), 'h', s.hour, s.kind, SUM(accepted) FROM (SELECT x.volunteer_id AS vol, substr(x.accepted_at, 1, 13) AS hour, t.kind, 1 AS accepted FROM assignments x JOIN tasks t ON t.id = x.task_id WHERE x.accepted_at IS NOT NULL) s
JOIN volunteers v ON v.id = s.vol WHERE true GROUP BY COALESCE(v.department, ''), s.hour, s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET accepted = report_rollup.accepted + excluded.accepted;
INSERT INTO report_rollup (axis, unit, span, hour, kind, accepted)
SELECT 'team', CAST(tm.team_id AS TEXT), 'h', s.hour, s.kind, SUM(accepted) FROM (SELECT x.volunteer_id AS vol, substr(x.accepted_at, 1, 13) AS hour, t.kind, 1 AS accepted FROM assignments x JOIN tasks t ON t.id = x.task_id WHERE x.accepted_at IS NOT NULL) s
JOIN team_members tm ON tm.volunteer_id = s.vol WHERE true GROUP BY tm.team_id, s.hour, s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET accepted = report_rollup.accepted + excluded.accepted;
INSERT INTO report_rollup (axis, unit, span, hour, kind, accepted)
SELECT 'all', '', 'd', substr(s.hour, 1, 10), s.kind, SUM(accepted) FROM (SELECT x.volunteer_id AS vol, substr(x.accepted_at, 1, 13) AS hour, t.kind, 1 AS accepted FROM assignments x JOIN tasks t ON t.id = x.task_id WHERE x.accepted_at IS NOT NULL) s
WHERE true GROUP BY substr(s.hour, 1, 10), s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET accepted = report_rollup.accepted + excluded.accepted;
INSERT INTO report_rollup (axis, unit, span, hour, kind, accepted)
SELECT 'area', COALESCE(v.department, ''), 'd', substr(s.hour, 1, 10), s.kind, SUM(accepted) FROM (SELECT x.volunteer_id AS vol, substr(x.accepted_at, 1, 13) AS hour, t.kind, 1 AS accepted FROM assignments x JOIN tasks t ON t.id = x.task_id WHERE x.accepted_at IS NOT NULL) s
JOIN volunteers v ON v.id = s.vol WHERE true GROUP BY COALESCE(v.department, ''), substr(s.hour, 1, 10), s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET accepted = report_rollup.accepted + excluded.accepted;
INSERT INTO report_rollup (axis, unit, span, hour, kind, accepted)
SELECT 'team', CAST(tm.team_id AS TEXT), 'd', substr(s.hour, 1, 10), s.kind, SUM(accepted) FROM (SELECT x.volunteer_id AS vol, substr(x.accepted_at, 1, 13) AS hour, t.kind, 1 AS accepted FROM assignments x JOIN tasks t ON t.id = x.task_id WHERE x.accepted_at IS NOT NULL) s
JOIN team_members tm ON tm.volunteer_id = s.vol WHERE true GROUP BY tm.team_id, substr(s.hour, 1, 10), s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET accepted = report_rollup.accepted + excluded.accepted;

INSERT INTO report_rollup (axis, unit, span, hour, kind, done)
SELECT 'all', '', 'h', s.hour, s.kind, SUM(done) FROM (SELECT x.volunteer_id AS vol, substr(COALESCE(x.finished_at, x.updated_at), 1, 13) AS hour, t.kind, 1 AS done FROM (SELECT a.*, ROW_NUMBER() OVER (PARTITION BY a.volunteer_id, a.task_id ORDER BY a.id) AS rn FROM assignments a WHERE a.state = 'done') x JOIN tasks t ON t.id = x.task_id WHERE x.rn <= t.per_volunteer_cap) s
WHERE true GROUP BY s.hour, s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET done = report_rollup.done + excluded.done;
INSERT INTO report_rollup (axis, unit, span, hour, kind, done)
SELECT 'area', COALESCE(v.department, ''), 'h', s.hour, s.kind, SUM(done) FROM (SELECT x.volunteer_id AS vol, substr(COALESCE(x.finished_at, x.updated_at), 1, 13) AS hour, t.kind, 1 AS done FROM (SELECT a.*, ROW_NUMBER() OVER (PARTITION BY a.volunteer_id, a.task_id ORDER BY a.id) AS rn FROM assignments a WHERE a.state = 'done') x JOIN tasks t ON t.id = x.task_id WHERE x.rn <= t.per_volunteer_cap) s
JOIN volunteers v ON v.id = s.vol WHERE true GROUP BY COALESCE(v.department, ''), s.hour, s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET done = report_rollup.done + excluded.done;
INSERT INTO report_rollup (axis, unit, span, hour, kind, done)
SELECT 'team', CAST(tm.team_id AS TEXT), 'h', s.hour, s.kind, SUM(done) FROM (SELECT x.volunteer_id AS vol, substr(COALESCE(x.finished_at, x.updated_at), 1, 13) AS hour, t.kind, 1 AS done FROM (SELECT a.*, ROW_NUMBER() OVER (PARTITION BY a.volunteer_id, a.task_id ORDER BY a.id) AS rn FROM assignments a WHERE a.state = 'done') x JOIN tasks t ON t.id = x.task_id WHERE x.rn <= t.per_volunteer_cap) s
JOIN team_members tm ON tm.volunteer_id = s.vol WHERE true GROUP BY tm.team_id, s.hour, s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET done = report_rollup.done + excluded.done;
INSERT INTO report_rollup (axis, unit, span, hour, kind, done)
SELECT 'all', '', 'd', substr(s.hour, 1, 10), s.kind, SUM(done) FROM (SELECT x.volunteer_id AS vol, substr(COALESCE(x.finished_at, x.updated_at), 1, 13) AS hour, t.kind, 1 AS done FROM (SELECT a.*, ROW_NUMBER() OVER (PARTITION BY a.volunteer_id, a.task_id ORDER BY a.id) AS rn FROM assignments a WHERE a.state = 'done') x JOIN tasks t ON t.id = x.task_id WHERE x.rn <= t.per_volunteer_cap) s
WHERE true GROUP BY substr(s.hour, 1, 10), s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET done = report_rollup.done + excluded.done;
INSERT INTO report_rollup (axis, unit, span, hour, kind, done)
SELECT 'area', COALESCE(v.department, ''), 'd', substr(s.hour, 1, 10), s.kind, SUM(done) FROM (SELECT x.volunteer_id AS vol, substr(COALESCE(x.finished_at, x.updated_at), 1, 13) AS hour, t.kind, 1 AS done FROM (SELECT a.*, ROW_NUMBER() OVER (PARTITION BY a.volunteer_id, a.task_id ORDER BY a.id) AS rn FROM assignments a WHERE a.state = 'done') x JOIN tasks t ON t.id = x.task_id WHERE x.rn <= t.per_volunteer_cap) s
JOIN volunteers v ON v.id = s.vol WHERE true GROUP BY COALESCE(v.department, ''), substr(s.hour, 1, 10), s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET done = report_rollup.done + excluded.done;
INSERT INTO report_rollup (axis, unit, span, hour, kind, done)
SELECT 'team', CAST(tm.team_id AS TEXT), 'd', substr(s.hour, 1, 10), s.kind, SUM(done) FROM (SELECT x.volunteer_id AS vol, substr(COALESCE(x.finished_at, x.updated_at), 1, 13) AS hour, t.kind, 1 AS done FROM (SELECT a.*, ROW_NUMBER() OVER (PARTITION BY a.volunteer_id, a.task_id ORDER BY a.id) AS rn FROM assignments a WHERE a.state = 'done') x JOIN tasks t ON t.id = x.task_id WHERE x.rn <= t.per_volunteer_cap) s
JOIN team_members tm ON tm.volunteer_id = s.vol WHERE true GROUP BY tm.team_id, substr(s.hour, 1, 10), s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET done = report_rollup.done + excluded.done;

INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
SELECT 'all', '', 'h', s.hour, s.kind, SUM(doors_knocked), SUM(conversations), SUM(supporters), SUM(people_reached), SUM(attended) FROM (SELECT x.volunteer_id AS vol, substr(x.recorded_at, 1, 13) AS hour, t.kind, COALESCE(x.doors_knocked, 0) AS doors_knocked, COALESCE(x.conversations, 0) AS conversations, COALESCE(x.supporters, 0) AS supporters, COALESCE(x.people_reached, 0) AS people_reached, COALESCE(x.attended, 0) AS attended FROM (SELECT o.*, ROW_NUMBER() OVER (PARTITION BY o.volunteer_id, o.task_id ORDER BY o.assignment_id) AS rn FROM outcomes o) x JOIN tasks t ON t.id = x.task_id WHERE x.rn <= t.per_volunteer_cap) s
WHERE true GROUP BY s.hour, s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = report_rollup.doors_knocked + excluded.doors_knocked, conversations = report_rollup.conversations + excluded.conversations, supporters = report_rollup.supporters + excluded.supporters, people_reached = report_rollup.people_reached + excluded.people_reached, attended = report_rollup.attended + excluded.attended;
INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
SELECT 'area', COALESCE(v.department, ''), 'h', s.hour, s.kind, SUM(doors_knocked), SUM(conversations), SUM(supporters), SUM(people_reached), SUM(attended) FROM (SELECT x.volunteer_id AS vol, substr(x.recorded_at, 1, 13) AS hour, t.kind, COALESCE(x.doors_knocked, 0) AS doors_knocked, COALESCE(x.conversations, 0) AS conversations, COALESCE(x.supporters, 0) AS supporters, COALESCE(x.people_reached, 0) AS people_reached, COALESCE(x.attended, 0) AS attended FROM (SELECT o.*, ROW_NUMBER() OVER (PARTITION BY o.volunteer_id, o.task_id ORDER BY o.assignment_id) AS rn FROM outcomes o) x JOIN tasks t ON t.id = x.task_id WHERE x.rn <= t.per_volunteer_cap) s
JOIN volunteers v ON v.id = s.vol WHERE true GROUP BY COALESCE(v.department, ''), s.hour, s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = report_rollup.doors_knocked + excluded.doors_knocked, conversations = report_rollup.conversations + excluded.conversations, supporters = report_rollup.supporters + excluded.supporters, people_reached = report_rollup.people_reached + excluded.people_reached, attended = report_rollup.attended + excluded.attended;
INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
SELECT 'team', CAST(tm.team_id AS TEXT), 'h', s.hour, s.kind, SUM(doors_knocked), SUM(conversations), SUM(supporters), SUM(people_reached), SUM(attended) FROM (SELECT x.volunteer_id AS vol, substr(x.recorded_at, 1, 13) AS hour, t.kind, COALESCE(x.doors_knocked, 0) AS doors_knocked, COALESCE(x.conversations, 0) AS conversations, COALESCE(x.supporters, 0) AS supporters, COALESCE(x.people_reached, 0) AS people_reached, COALESCE(x.attended, 0) AS attended FROM (SELECT o.*, ROW_NUMBER() OVER (PARTITION BY o.volunteer_id, o.task_id ORDER BY o.assignment_id) AS rn FROM outcomes o) x JOIN tasks t ON t.id = x.task_id WHERE x.rn <= t.per_volunteer_cap) s
JOIN team_members tm ON tm.volunteer_id = s.vol WHERE true GROUP BY tm.team_id, s.hour, s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = report_rollup.doors_knocked + excluded.doors_knocked, conversations = report_rollup.conversations + excluded.conversations, supporters = report_rollup.supporters + excluded.supporters, people_reached = report_rollup.people_reached + excluded.people_reached, attended = report_rollup.attended + excluded.attended;
INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
SELECT 'all', '', 'd', substr(s.hour, 1, 10), s.kind, SUM(doors_knocked), SUM(conversations), SUM(supporters), SUM(people_reached), SUM(attended) FROM (SELECT x.volunteer_id AS vol, substr(x.recorded_at, 1, 13) AS hour, t.kind, COALESCE(x.doors_knocked, 0) AS doors_knocked, COALESCE(x.conversations, 0) AS conversations, COALESCE(x.supporters, 0) AS supporters, COALESCE(x.people_reached, 0) AS people_reached, COALESCE(x.attended, 0) AS attended FROM (SELECT o.*, ROW_NUMBER() OVER (PARTITION BY o.volunteer_id, o.task_id ORDER BY o.assignment_id) AS rn FROM outcomes o) x JOIN tasks t ON t.id = x.task_id WHERE x.rn <= t.per_volunteer_cap) s
WHERE true GROUP BY substr(s.hour, 1, 10), s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = report_rollup.doors_knocked + excluded.doors_knocked, conversations = report_rollup.conversations + excluded.conversations, supporters = report_rollup.supporters + excluded.supporters, people_reached = report_rollup.people_reached + excluded.people_reached, attended = report_rollup.attended + excluded.attended;
INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
SELECT 'area', COALESCE(v.department, ''), 'd', substr(s.hour, 1, 10), s.kind, SUM(doors_knocked), SUM(conversations), SUM(supporters), SUM(people_reached), SUM(attended) FROM (SELECT x.volunteer_id AS vol, substr(x.recorded_at, 1, 13) AS hour, t.kind, COALESCE(x.doors_knocked, 0) AS doors_knocked, COALESCE(x.conversations, 0) AS conversations, COALESCE(x.supporters, 0) AS supporters, COALESCE(x.people_reached, 0) AS people_reached, COALESCE(x.attended, 0) AS attended FROM (SELECT o.*, ROW_NUMBER() OVER (PARTITION BY o.volunteer_id, o.task_id ORDER BY o.assignment_id) AS rn FROM outcomes o) x JOIN tasks t ON t.id = x.task_id WHERE x.rn <= t.per_volunteer_cap) s
JOIN volunteers v ON v.id = s.vol WHERE true GROUP BY COALESCE(v.department, ''), substr(s.hour, 1, 10), s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = report_rollup.doors_knocked + excluded.doors_knocked, conversations = report_rollup.conversations + excluded.conversations, supporters = report_rollup.supporters + excluded.supporters, people_reached = report_rollup.people_reached + excluded.people_reached, attended = report_rollup.attended + excluded.attended;
INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
SELECT 'team', CAST(tm.team_id AS TEXT), 'd', substr(s.hour, 1, 10), s.kind, SUM(doors_knocked), SUM(conversations), SUM(supporters), SUM(people_reached), SUM(attended) FROM (SELECT x.volunteer_id AS vol, substr(x.recorded_at, 1, 13) AS hour, t.kind, COALESCE(x.doors_knocked, 0) AS doors_knocked, COALESCE(x.conversations, 0) AS conversations, COALESCE(x.supporters, 0) AS supporters, COALESCE(x.people_reached, 0) AS people_reached, COALESCE(x.attended, 0) AS attended FROM (SELECT o.*, ROW_NUMBER() OVER (PARTITION BY o.volunteer_id, o.task_id ORDER BY o.assignment_id) AS rn FROM outcomes o) x JOIN tasks t ON t.id = x.task_id WHERE x.rn <= t.per_volunteer_cap) s
JOIN team_members tm ON tm.volunteer_id = s.vol WHERE true GROUP BY tm.team_id, substr(s.hour, 1, 10), s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = report_rollup.doors_knocked + excluded.doors_knocked, conversations = report_rollup.conversations + excluded.conversations, supporters = report_rollup.supporters + excluded.supporters, people_reached = report_rollup.people_reached + excluded.people_reached, attended = report_rollup.attended + excluded.attended;

INSERT INTO report_rollup (axis, unit, span, hour, kind, calls, supporter, undecided, opposed, no_answer, wrong_number, callback, do_not_call)
SELECT 'all', '', 'h', s.hour, s.kind, SUM(calls), SUM(supporter), SUM(undecided), SUM(opposed), SUM(no_answer), SUM(wrong_number), SUM(callback), SUM(do_not_call) FROM (SELECT x.volunteer_id AS vol, substr(x.called_at, 1, 13) AS hour, t.kind, 1 AS calls, (CASE WHEN x.result = 'supporter' THEN 1 ELSE 0 END) AS supporter, (CASE WHEN x.result = 'undecided' THEN 1 ELSE 0 END) AS undecided, (CASE WHEN x.result = 'opposed' THEN 1 ELSE 0 END) AS opposed, (CASE WHEN x.result = 'no_answer' THEN 1 ELSE 0 END) AS no_answer, (CASE WHEN x.result = 'wrong_number' THEN 1 ELSE 0 END) AS wrong_number, (CASE WHEN x.result = 'callback' THEN 1 ELSE 0 END) AS callback, (CASE WHEN x.result = 'do_not_call' THEN 1 ELSE 0 END) AS do_not_call FROM call_results x JOIN tasks t ON t.id = x.task_id WHERE x.volunteer_id IS NOT NULL) s
WHERE true GROUP BY s.hour, s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET calls = report_rollup.calls + excluded.calls, supporter = report_rollup.supporter + excluded.supporter, undecided = report_rollup.undecided + excluded.undecided, opposed = report_rollup.opposed + excluded.opposed, no_answer = report_rollup.no_answer + excluded.no_answer, wrong_number = report_rollup.wrong_number + excluded.wrong_number, callback = report_rollup.callback + excluded.callback, do_not_call = report_rollup.do_not_call + excluded.do_not_call;
INSERT INTO report_rollup (axis, unit, span, hour, kind, calls, supporter, undecided, opposed, no_answer, wrong_number, callback, do_not_call)
SELECT 'area', COALESCE(v.department, ''), 'h', s.hour, s.kind, SUM(calls), SUM(supporter), SUM(undecided), SUM(opposed), SUM(no_answer), SUM(wrong_number), SUM(callback), SUM(do_not_call) FROM (SELECT x.volunteer_id AS vol, substr(x.called_at, 1, 13) AS hour, t.kind, 1 AS calls, (CASE WHEN x.result = 'supporter' THEN 1 ELSE 0 END) AS supporter, (CASE WHEN x.result = 'undecided' THEN 1 ELSE 0 END) AS undecided, (CASE WHEN x.result = 'opposed' THEN 1 ELSE 0 END) AS opposed, (CASE WHEN x.result = 'no_answer' THEN 1 ELSE 0 END) AS no_answer, (CASE WHEN x.result = 'wrong_number' THEN 1 ELSE 0 END) AS wrong_number, (CASE WHEN x.result = 'callback' THEN 1 ELSE 0 END) AS callback, (CASE WHEN x.result = 'do_not_call' THEN 1 ELSE 0 END) AS do_not_call FROM call_results x JOIN tasks t ON t.id = x.task_id WHERE x.volunteer_id IS NOT NULL) s
JOIN volunteers v ON v.id = s.vol WHERE true GROUP BY COALESCE(v.department, ''), s.hour, s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET calls = report_rollup.calls + excluded.calls, supporter = report_rollup.supporter + excluded.supporter, undecided = report_rollup.undecided + excluded.undecided, opposed = report_rollup.opposed + excluded.opposed, no_answer = report_rollup.no_answer + excluded.no_answer, wrong_number = report_rollup.wrong_number + excluded.wrong_number, callback = report_rollup.callback + excluded.callback, do_not_call = report_rollup.do_not_call + excluded.do_not_call;
INSERT INTO report_rollup (axis, unit, span, hour, kind, calls, supporter, undecided, opposed, no_answer, wrong_number, callback, do_not_call)
SELECT 'team', CAST(tm.team_id AS TEXT), 'h', s.hour, s.kind, SUM(calls), SUM(supporter), SUM(undecided), SUM(opposed), SUM(no_answer), SUM(wrong_number), SUM(callback), SUM(do_not_call) FROM (SELECT x.volunteer_id AS vol, substr(x.called_at, 1, 13) AS hour, t.kind, 1 AS calls, (CASE WHEN x.result = 'supporter' THEN 1 ELSE 0 END) AS supporter, (CASE WHEN x.result = 'undecided' THEN 1 ELSE 0 END) AS undecided, (CASE WHEN x.result = 'opposed' THEN 1 ELSE 0 END) AS opposed, (CASE WHEN x.result = 'no_answer' THEN 1 ELSE 0 END) AS no_answer, (CASE WHEN x.result = 'wrong_number' THEN 1 ELSE 0 END) AS wrong_number, (CASE WHEN x.result = 'callback' THEN 1 ELSE 0 END) AS callback, (CASE WHEN x.result = 'do_not_call' THEN 1 ELSE 0 END) AS do_not_call FROM call_results x JOIN tasks t ON t.id = x.task_id WHERE x.volunteer_id IS NOT NULL) s
JOIN team_members tm ON tm.volunteer_id = s.vol WHERE true GROUP BY tm.team_id, s.hour, s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET calls = report_rollup.calls + excluded.calls, supporter = report_rollup.supporter + excluded.supporter, undecided = report_rollup.undecided + excluded.undecided, opposed = report_rollup.opposed + excluded.opposed, no_answer = report_rollup.no_answer + excluded.no_answer, wrong_number = report_rollup.wrong_number + excluded.wrong_number, callback = report_rollup.callback + excluded.callback, do_not_call = report_rollup.do_not_call + excluded.do_not_call;
INSERT INTO report_rollup (axis, unit, span, hour, kind, calls, supporter, undecided, opposed, no_answer, wrong_number, callback, do_not_call)
SELECT 'all', '', 'd', substr(s.hour, 1, 10), s.kind, SUM(calls), SUM(supporter), SUM(undecided), SUM(opposed), SUM(no_answer), SUM(wrong_number), SUM(callback), SUM(do_not_call) FROM (SELECT x.volunteer_id AS vol, substr(x.called_at, 1, 13) AS hour, t.kind, 1 AS calls, (CASE WHEN x.result = 'supporter' THEN 1 ELSE 0 END) AS supporter, (CASE WHEN x.result = 'undecided' THEN 1 ELSE 0 END) AS undecided, (CASE WHEN x.result = 'opposed' THEN 1 ELSE 0 END) AS opposed, (CASE WHEN x.result = 'no_answer' THEN 1 ELSE 0 END) AS no_answer, (CASE WHEN x.result = 'wrong_number' THEN 1 ELSE 0 END) AS wrong_number, (CASE WHEN x.result = 'callback' THEN 1 ELSE 0 END) AS callback, (CASE WHEN x.result = 'do_not_call' THEN 1 ELSE 0 END) AS do_not_call FROM call_results x JOIN tasks t ON t.id = x.task_id WHERE x.volunteer_id IS NOT NULL) s
WHERE true GROUP BY substr(s.hour, 1, 10), s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET calls = report_rollup.calls + excluded.calls, supporter = report_rollup.supporter + excluded.supporter, undecided = report_rollup.undecided + excluded.undecided, opposed = report_rollup.opposed + excluded.opposed, no_answer = report_rollup.no_answer + excluded.no_answer, wrong_number = report_rollup.wrong_number + excluded.wrong_number, callback = report_rollup.callback + excluded.callback, do_not_call = report_rollup.do_not_call + excluded.do_not_call;
INSERT INTO report_rollup (axis, unit, span, hour, kind, calls, supporter, undecided, opposed, no_answer, wrong_number, callback, do_not_call)
SELECT 'area', COALESCE(v.department, ''), 'd', substr(s.hour, 1, 10), s.kind, SUM(calls), SUM(supporter), SUM(undecided), SUM(opposed), SUM(no_answer), SUM(wrong_number), SUM(callback), SUM(do_not_call) FROM (SELECT x.volunteer_id AS vol, substr(x.called_at, 1, 13) AS hour, t.kind, 1 AS calls, (CASE WHEN x.result = 'supporter' THEN 1 ELSE 0 END) AS supporter, (CASE WHEN x.result = 'undecided' THEN 1 ELSE 0 END) AS undecided, (CASE WHEN x.result = 'opposed' THEN 1 ELSE 0 END) AS opposed, (CASE WHEN x.result = 'no_answer' THEN 1 ELSE 0 END) AS no_answer, (CASE WHEN x.result = 'wrong_number' THEN 1 ELSE 0 END) AS wrong_number, (CASE WHEN x.result = 'callback' THEN 1 ELSE 0 END) AS callback, (CASE WHEN x.result = 'do_not_call' THEN 1 ELSE 0 END) AS do_not_call FROM call_results x JOIN tasks t ON t.id = x.task_id WHERE x.volunteer_id IS NOT NULL) s
JOIN volunteers v ON v.id = s.vol WHERE true GROUP BY COALESCE(v.department, ''), substr(s.hour, 1, 10), s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET calls = report_rollup.calls + excluded.calls, supporter = report_rollup.supporter + excluded.supporter, undecided = report_rollup.undecided + excluded.undecided, opposed = report_rollup.opposed + excluded.opposed, no_answer = report_rollup.no_answer + excluded.no_answer, wrong_number = report_rollup.wrong_number + excluded.wrong_number, callback = report_rollup.callback + excluded.callback, do_not_call = report_rollup.do_not_call + excluded.do_not_call;
INSERT INTO report_rollup (axis, unit, span, hour, kind, calls, supporter, undecided, opposed, no_answer, wrong_number, callback, do_not_call)
SELECT 'team', CAST(tm.team_id AS TEXT), 'd', substr(s.hour, 1, 10), s.kind, SUM(calls), SUM(supporter), SUM(undecided), SUM(opposed), SUM(no_answer), SUM(wrong_number), SUM(callback), SUM(do_not_call) FROM (SELECT x.volunteer_id AS vol, substr(x.called_at, 1, 13) AS hour, t.kind, 1 AS calls, (CASE WHEN x.result = 'supporter' THEN 1 ELSE 0 END) AS supporter, (CASE WHEN x.result = 'undecided' THEN 1 ELSE 0 END) AS undecided, (CASE WHEN x.result = 'opposed' THEN 1 ELSE 0 END) AS opposed, (CASE WHEN x.result = 'no_answer' THEN 1 ELSE 0 END) AS no_answer, (CASE WHEN x.result = 'wrong_number' THEN 1 ELSE 0 END) AS wrong_number, (CASE WHEN x.result = 'callback' THEN 1 ELSE 0 END) AS callback, (CASE WHEN x.result = 'do_not_call' THEN 1 ELSE 0 END) AS do_not_call FROM call_results x JOIN tasks t ON t.id = x.task_id WHERE x.volunteer_id IS NOT NULL) s
JOIN team_members tm ON tm.volunteer_id = s.vol WHERE true GROUP BY tm.team_id, substr(s.hour, 1, 10), s.kind
ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET calls = report_rollup.calls + excluded.calls, supporter = report_rollup.supporter + excluded.supporter, undecided = report_rollup.undecided + excluded.undecided, opposed = report_rollup.opposed + excluded.opposed, no_answer = report_rollup.no_answer + excluded.no_answer, wrong_number = report_rollup.wrong_number + excluded.wrong_number, callback = report_rollup.callback + excluded.callback, do_not_call = report_rollup.do_not_call + excluded.do_not_call;

-- From now on, every new row updates the roll-up in the same transaction.
CREATE FUNCTION report_offer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
        INSERT INTO report_rollup (axis, unit, span, hour, kind, offered)
        SELECT 'all', '', 'h', substr(NEW.offered_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 WHERE true
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET offered = report_rollup.offered + excluded.offered;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, offered)
        SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'h', substr(NEW.offered_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 WHERE true
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET offered = report_rollup.offered + excluded.offered;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, offered)
        SELECT 'team', CAST(tm.team_id AS TEXT), 'h', substr(NEW.offered_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 FROM team_members tm
        WHERE tm.volunteer_id = NEW.volunteer_id
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET offered = report_rollup.offered + excluded.offered;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, offered)
        SELECT 'all', '', 'd', substr(NEW.offered_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 WHERE true
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET offered = report_rollup.offered + excluded.offered;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, offered)
        SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'd', substr(NEW.offered_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 WHERE true
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET offered = report_rollup.offered + excluded.offered;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, offered)
        SELECT 'team', CAST(tm.team_id AS TEXT), 'd', substr(NEW.offered_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 FROM team_members tm
        WHERE tm.volunteer_id = NEW.volunteer_id
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET offered = report_rollup.offered + excluded.offered;
    RETURN NULL;
END
$$;
CREATE TRIGGER report_offer AFTER INSERT ON offers
FOR EACH ROW EXECUTE FUNCTION report_offer();

CREATE FUNCTION report_accepted_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.accepted_at IS NOT NULL THEN
        INSERT INTO report_rollup (axis, unit, span, hour, kind, accepted)
        SELECT 'all', '', 'h', substr(NEW.accepted_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 WHERE true
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET accepted = report_rollup.accepted + excluded.accepted;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, accepted)
        SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'h', substr(NEW.accepted_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 WHERE true
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET accepted = report_rollup.accepted + excluded.accepted;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, accepted)
        SELECT 'team', CAST(tm.team_id AS TEXT), 'h', substr(NEW.accepted_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 FROM team_members tm
        WHERE tm.volunteer_id = NEW.volunteer_id
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET accepted = report_rollup.accepted + excluded.accepted;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, accepted)
        SELECT 'all', '', 'd', substr(NEW.accepted_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 WHERE true
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET accepted = report_rollup.accepted + excluded.accepted;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, accepted)
        SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'd', substr(NEW.accepted_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 WHERE true
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET accepted = report_rollup.accepted + excluded.accepted;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, accepted)
        SELECT 'team', CAST(tm.team_id AS TEXT), 'd', substr(NEW.accepted_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 FROM team_members tm
        WHERE tm.volunteer_id = NEW.volunteer_id
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET accepted = report_rollup.accepted + excluded.accepted;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER report_accepted_new AFTER INSERT ON assignments
FOR EACH ROW EXECUTE FUNCTION report_accepted_new();

CREATE FUNCTION report_accepted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.accepted_at IS NULL AND NEW.accepted_at IS NOT NULL THEN
        INSERT INTO report_rollup (axis, unit, span, hour, kind, accepted)
        SELECT 'all', '', 'h', substr(NEW.accepted_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 WHERE true
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET accepted = report_rollup.accepted + excluded.accepted;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, accepted)
        SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'h', substr(NEW.accepted_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 WHERE true
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET accepted = report_rollup.accepted + excluded.accepted;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, accepted)
        SELECT 'team', CAST(tm.team_id AS TEXT), 'h', substr(NEW.accepted_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 FROM team_members tm
        WHERE tm.volunteer_id = NEW.volunteer_id
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET accepted = report_rollup.accepted + excluded.accepted;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, accepted)
        SELECT 'all', '', 'd', substr(NEW.accepted_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 WHERE true
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET accepted = report_rollup.accepted + excluded.accepted;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, accepted)
        SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'd', substr(NEW.accepted_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 WHERE true
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET accepted = report_rollup.accepted + excluded.accepted;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, accepted)
        SELECT 'team', CAST(tm.team_id AS TEXT), 'd', substr(NEW.accepted_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 FROM team_members tm
        WHERE tm.volunteer_id = NEW.volunteer_id
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET accepted = report_rollup.accepted + excluded.accepted;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER report_accepted AFTER UPDATE OF accepted_at ON assignments
FOR EACH ROW EXECUTE FUNCTION report_accepted();

CREATE FUNCTION report_done_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state = 'done' AND (SELECT COUNT(*) FROM assignments b WHERE b.state = 'done' AND b.volunteer_id = NEW.volunteer_id AND b.task_id = NEW.task_id AND b.id <> NEW.id) < (SELECT per_volunteer_cap FROM tasks WHERE id = NEW.task_id) THEN
        INSERT INTO report_rollup (axis, unit, span, hour, kind, done)
        SELECT 'all', '', 'h', substr(COALESCE(NEW.finished_at, NEW.updated_at), 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 WHERE true
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET done = report_rollup.done + excluded.done;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, done)
        SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'h', substr(COALESCE(NEW.finished_at, NEW.updated_at), 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 WHERE true
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET done = report_rollup.done + excluded.done;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, done)
        SELECT 'team', CAST(tm.team_id AS TEXT), 'h', substr(COALESCE(NEW.finished_at, NEW.updated_at), 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 FROM team_members tm
        WHERE tm.volunteer_id = NEW.volunteer_id
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET done = report_rollup.done + excluded.done;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, done)
        SELECT 'all', '', 'd', substr(COALESCE(NEW.finished_at, NEW.updated_at), 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 WHERE true
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET done = report_rollup.done + excluded.done;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, done)
        SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'd', substr(COALESCE(NEW.finished_at, NEW.updated_at), 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 WHERE true
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET done = report_rollup.done + excluded.done;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, done)
        SELECT 'team', CAST(tm.team_id AS TEXT), 'd', substr(COALESCE(NEW.finished_at, NEW.updated_at), 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 FROM team_members tm
        WHERE tm.volunteer_id = NEW.volunteer_id
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET done = report_rollup.done + excluded.done;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER report_done_new AFTER INSERT ON assignments
FOR EACH ROW EXECUTE FUNCTION report_done_new();

CREATE FUNCTION report_done() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.state <> 'done' AND NEW.state = 'done' AND (SELECT COUNT(*) FROM assignments b WHERE b.state = 'done' AND b.volunteer_id = NEW.volunteer_id AND b.task_id = NEW.task_id AND b.id <> NEW.id) < (SELECT per_volunteer_cap FROM tasks WHERE id = NEW.task_id) THEN
        INSERT INTO report_rollup (axis, unit, span, hour, kind, done)
        SELECT 'all', '', 'h', substr(COALESCE(NEW.finished_at, NEW.updated_at), 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 WHERE true
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET done = report_rollup.done + excluded.done;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, done)
        SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'h', substr(COALESCE(NEW.finished_at, NEW.updated_at), 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 WHERE true
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET done = report_rollup.done + excluded.done;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, done)
        SELECT 'team', CAST(tm.team_id AS TEXT), 'h', substr(COALESCE(NEW.finished_at, NEW.updated_at), 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 FROM team_members tm
        WHERE tm.volunteer_id = NEW.volunteer_id
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET done = report_rollup.done + excluded.done;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, done)
        SELECT 'all', '', 'd', substr(COALESCE(NEW.finished_at, NEW.updated_at), 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 WHERE true
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET done = report_rollup.done + excluded.done;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, done)
        SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'd', substr(COALESCE(NEW.finished_at, NEW.updated_at), 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 WHERE true
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET done = report_rollup.done + excluded.done;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, done)
        SELECT 'team', CAST(tm.team_id AS TEXT), 'd', substr(COALESCE(NEW.finished_at, NEW.updated_at), 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 FROM team_members tm
        WHERE tm.volunteer_id = NEW.volunteer_id
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET done = report_rollup.done + excluded.done;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER report_done AFTER UPDATE OF state ON assignments
FOR EACH ROW EXECUTE FUNCTION report_done();

CREATE FUNCTION report_outcome() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT COUNT(*) FROM outcomes p WHERE p.volunteer_id = NEW.volunteer_id AND p.task_id = NEW.task_id AND p.assignment_id <> NEW.assignment_id) < (SELECT per_volunteer_cap FROM tasks WHERE id = NEW.task_id) THEN
        INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
        SELECT 'all', '', 'h', substr(NEW.recorded_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), COALESCE(NEW.doors_knocked, 0), COALESCE(NEW.conversations, 0), COALESCE(NEW.supporters, 0), COALESCE(NEW.people_reached, 0), COALESCE(NEW.attended, 0) WHERE true
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = report_rollup.doors_knocked + excluded.doors_knocked, conversations = report_rollup.conversations + excluded.conversations, supporters = report_rollup.supporters + excluded.supporters, people_reached = report_rollup.people_reached + excluded.people_reached, attended = report_rollup.attended + excluded.attended;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
        SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'h', substr(NEW.recorded_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), COALESCE(NEW.doors_knocked, 0), COALESCE(NEW.conversations, 0), COALESCE(NEW.supporters, 0), COALESCE(NEW.people_reached, 0), COALESCE(NEW.attended, 0) WHERE true
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = report_rollup.doors_knocked + excluded.doors_knocked, conversations = report_rollup.conversations + excluded.conversations, supporters = report_rollup.supporters + excluded.supporters, people_reached = report_rollup.people_reached + excluded.people_reached, attended = report_rollup.attended + excluded.attended;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
        SELECT 'team', CAST(tm.team_id AS TEXT), 'h', substr(NEW.recorded_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), COALESCE(NEW.doors_knocked, 0), COALESCE(NEW.conversations, 0), COALESCE(NEW.supporters, 0), COALESCE(NEW.people_reached, 0), COALESCE(NEW.attended, 0) FROM team_members tm
        WHERE tm.volunteer_id = NEW.volunteer_id
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = report_rollup.doors_knocked + excluded.doors_knocked, conversations = report_rollup.conversations + excluded.conversations, supporters = report_rollup.supporters + excluded.supporters, people_reached = report_rollup.people_reached + excluded.people_reached, attended = report_rollup.attended + excluded.attended;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
        SELECT 'all', '', 'd', substr(NEW.recorded_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), COALESCE(NEW.doors_knocked, 0), COALESCE(NEW.conversations, 0), COALESCE(NEW.supporters, 0), COALESCE(NEW.people_reached, 0), COALESCE(NEW.attended, 0) WHERE true
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = report_rollup.doors_knocked + excluded.doors_knocked, conversations = report_rollup.conversations + excluded.conversations, supporters = report_rollup.supporters + excluded.supporters, people_reached = report_rollup.people_reached + excluded.people_reached, attended = report_rollup.attended + excluded.attended;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
        SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'd', substr(NEW.recorded_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), COALESCE(NEW.doors_knocked, 0), COALESCE(NEW.conversations, 0), COALESCE(NEW.supporters, 0), COALESCE(NEW.people_reached, 0), COALESCE(NEW.attended, 0) WHERE true
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = report_rollup.doors_knocked + excluded.doors_knocked, conversations = report_rollup.conversations + excluded.conversations, supporters = report_rollup.supporters + excluded.supporters, people_reached = report_rollup.people_reached + excluded.people_reached, attended = report_rollup.attended + excluded.attended;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
        SELECT 'team', CAST(tm.team_id AS TEXT), 'd', substr(NEW.recorded_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), COALESCE(NEW.doors_knocked, 0), COALESCE(NEW.conversations, 0), COALESCE(NEW.supporters, 0), COALESCE(NEW.people_reached, 0), COALESCE(NEW.attended, 0) FROM team_members tm
        WHERE tm.volunteer_id = NEW.volunteer_id
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = report_rollup.doors_knocked + excluded.doors_knocked, conversations = report_rollup.conversations + excluded.conversations, supporters = report_rollup.supporters + excluded.supporters, people_reached = report_rollup.people_reached + excluded.people_reached, attended = report_rollup.attended + excluded.attended;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER report_outcome AFTER INSERT ON outcomes
FOR EACH ROW EXECUTE FUNCTION report_outcome();

CREATE FUNCTION report_call() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.volunteer_id IS NOT NULL THEN
        INSERT INTO report_rollup (axis, unit, span, hour, kind, calls, supporter, undecided, opposed, no_answer, wrong_number, callback, do_not_call)
        SELECT 'all', '', 'h', substr(NEW.called_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1, (CASE WHEN NEW.result = 'supporter' THEN 1 ELSE 0 END), (CASE WHEN NEW.result = 'undecided' THEN 1 ELSE 0 END), (CASE WHEN NEW.result = 'opposed' THEN 1 ELSE 0 END), (CASE WHEN NEW.result = 'no_answer' THEN 1 ELSE 0 END), (CASE WHEN NEW.result = 'wrong_number' THEN 1 ELSE 0 END), (CASE WHEN NEW.result = 'callback' THEN 1 ELSE 0 END), (CASE WHEN NEW.result = 'do_not_call' THEN 1 ELSE 0 END) WHERE true
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET calls = report_rollup.calls + excluded.calls, supporter = report_rollup.supporter + excluded.supporter, undecided = report_rollup.undecided + excluded.undecided, opposed = report_rollup.opposed + excluded.opposed, no_answer = report_rollup.no_answer + excluded.no_answer, wrong_number = report_rollup.wrong_number + excluded.wrong_number, callback = report_rollup.callback + excluded.callback, do_not_call = report_rollup.do_not_call + excluded.do_not_call;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, calls, supporter, undecided, opposed, no_answer, wrong_number, callback, do_not_call)
        SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'h', substr(NEW.called_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1, (CASE WHEN NEW.result = 'supporter' THEN 1 ELSE 0 END), (CASE WHEN NEW.result = 'undecided' THEN 1 ELSE 0 END), (CASE WHEN NEW.result = 'opposed' THEN 1 ELSE 0 END), (CASE WHEN NEW.result = 'no_answer' THEN 1 ELSE 0 END), (CASE WHEN NEW.result = 'wrong_number' THEN 1 ELSE 0 END), (CASE WHEN NEW.result = 'callback' THEN 1 ELSE 0 END), (CASE WHEN NEW.result = 'do_not_call' THEN 1 ELSE 0 END) WHERE true
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET calls = report_rollup.calls + excluded.calls, supporter = report_rollup.supporter + excluded.supporter, undecided = report_rollup.undecided + excluded.undecided, opposed = report_rollup.opposed + excluded.opposed, no_answer = report_rollup.no_answer + excluded.no_answer, wrong_number = report_rollup.wrong_number + excluded.wrong_number, callback = report_rollup.callback + excluded.callback, do_not_call = report_rollup.do_not_call + excluded.do_not_call;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, calls, supporter, undecided, opposed, no_answer, wrong_number, callback, do_not_call)
        SELECT 'team', CAST(tm.team_id AS TEXT), 'h', substr(NEW.called_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1, (CASE WHEN NEW.result = 'supporter' THEN 1 ELSE 0 END), (CASE WHEN NEW.result = 'undecided' THEN 1 ELSE 0 END), (CASE WHEN NEW.result = 'opposed' THEN 1 ELSE 0 END), (CASE WHEN NEW.result = 'no_answer' THEN 1 ELSE 0 END), (CASE WHEN NEW.result = 'wrong_number' THEN 1 ELSE 0 END), (CASE WHEN NEW.result = 'callback' THEN 1 ELSE 0 END), (CASE WHEN NEW.result = 'do_not_call' THEN 1 ELSE 0 END) FROM team_members tm
        WHERE tm.volunteer_id = NEW.volunteer_id
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET calls = report_rollup.calls + excluded.calls, supporter = report_rollup.supporter + excluded.supporter, undecided = report_rollup.undecided + excluded.undecided, opposed = report_rollup.opposed + excluded.opposed, no_answer = report_rollup.no_answer + excluded.no_answer, wrong_number = report_rollup.wrong_number + excluded.wrong_number, callback = report_rollup.callback + excluded.callback, do_not_call = report_rollup.do_not_call + excluded.do_not_call;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, calls, supporter, undecided, opposed, no_answer, wrong_number, callback, do_not_call)
        SELECT 'all', '', 'd', substr(NEW.called_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1, (CASE WHEN NEW.result = 'supporter' THEN 1 ELSE 0 END), (CASE WHEN NEW.result = 'undecided' THEN 1 ELSE 0 END), (CASE WHEN NEW.result = 'opposed' THEN 1 ELSE 0 END), (CASE WHEN NEW.result = 'no_answer' THEN 1 ELSE 0 END), (CASE WHEN NEW.result = 'wrong_number' THEN 1 ELSE 0 END), (CASE WHEN NEW.result = 'callback' THEN 1 ELSE 0 END), (CASE WHEN NEW.result = 'do_not_call' THEN 1 ELSE 0 END) WHERE true
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET calls = report_rollup.calls + excluded.calls, supporter = report_rollup.supporter + excluded.supporter, undecided = report_rollup.undecided + excluded.undecided, opposed = report_rollup.opposed + excluded.opposed, no_answer = report_rollup.no_answer + excluded.no_answer, wrong_number = report_rollup.wrong_number + excluded.wrong_number, callback = report_rollup.callback + excluded.callback, do_not_call = report_rollup.do_not_call + excluded.do_not_call;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, calls, supporter, undecided, opposed, no_answer, wrong_number, callback, do_not_call)
        SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'd', substr(NEW.called_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1, (CASE WHEN NEW.result = 'supporter' THEN 1 ELSE 0 END), (CASE WHEN NEW.result = 'undecided' THEN 1 ELSE 0 END), (CASE WHEN NEW.result = 'opposed' THEN 1 ELSE 0 END), (CASE WHEN NEW.result = 'no_answer' THEN 1 ELSE 0 END), (CASE WHEN NEW.result = 'wrong_number' THEN 1 ELSE 0 END), (CASE WHEN NEW.result = 'callback' THEN 1 ELSE 0 END), (CASE WHEN NEW.result = 'do_not_call' THEN 1 ELSE 0 END) WHERE true
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET calls = report_rollup.calls + excluded.calls, supporter = report_rollup.supporter + excluded.supporter, undecided = report_rollup.undecided + excluded.undecided, opposed = report_rollup.opposed + excluded.opposed, no_answer = report_rollup.no_answer + excluded.no_answer, wrong_number = report_rollup.wrong_number + excluded.wrong_number, callback = report_rollup.callback + excluded.callback, do_not_call = report_rollup.do_not_call + excluded.do_not_call;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, calls, supporter, undecided, opposed, no_answer, wrong_number, callback, do_not_call)
        SELECT 'team', CAST(tm.team_id AS TEXT), 'd', substr(NEW.called_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1, (CASE WHEN NEW.result = 'supporter' THEN 1 ELSE 0 END), (CASE WHEN NEW.result = 'undecided' THEN 1 ELSE 0 END), (CASE WHEN NEW.result = 'opposed' THEN 1 ELSE 0 END), (CASE WHEN NEW.result = 'no_answer' THEN 1 ELSE 0 END), (CASE WHEN NEW.result = 'wrong_number' THEN 1 ELSE 0 END), (CASE WHEN NEW.result = 'callback' THEN 1 ELSE 0 END), (CASE WHEN NEW.result = 'do_not_call' THEN 1 ELSE 0 END) FROM team_members tm
        WHERE tm.volunteer_id = NEW.volunteer_id
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET calls = report_rollup.calls + excluded.calls, supporter = report_rollup.supporter + excluded.supporter, undecided = report_rollup.undecided + excluded.undecided, opposed = report_rollup.opposed + excluded.opposed, no_answer = report_rollup.no_answer + excluded.no_answer, wrong_number = report_rollup.wrong_number + excluded.wrong_number, callback = report_rollup.callback + excluded.callback, do_not_call = report_rollup.do_not_call + excluded.do_not_call;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER report_call AFTER INSERT ON call_results
FOR EACH ROW EXECUTE FUNCTION report_call();

-- A corrected outcome moves its numbers (deleted rows keep their history: erased
-- volunteers and closed tasks still count).
CREATE FUNCTION report_outcome_corrected() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT COUNT(*) FROM outcomes p WHERE p.volunteer_id = NEW.volunteer_id AND p.task_id = NEW.task_id AND p.assignment_id < NEW.assignment_id) < (SELECT per_volunteer_cap FROM tasks WHERE id = NEW.task_id) THEN
        INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
        SELECT 'all', '', 'h', substr(NEW.recorded_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), COALESCE(NEW.doors_knocked, 0), COALESCE(NEW.conversations, 0), COALESCE(NEW.supporters, 0), COALESCE(NEW.people_reached, 0), COALESCE(NEW.attended, 0) WHERE true
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = report_rollup.doors_knocked + excluded.doors_knocked, conversations = report_rollup.conversations + excluded.conversations, supporters = report_rollup.supporters + excluded.supporters, people_reached = report_rollup.people_reached + excluded.people_reached, attended = report_rollup.attended + excluded.attended;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
        SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'h', substr(NEW.recorded_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), COALESCE(NEW.doors_knocked, 0), COALESCE(NEW.conversations, 0), COALESCE(NEW.supporters, 0), COALESCE(NEW.people_reached, 0), COALESCE(NEW.attended, 0) WHERE true
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = report_rollup.doors_knocked + excluded.doors_knocked, conversations = report_rollup.conversations + excluded.conversations, supporters = report_rollup.supporters + excluded.supporters, people_reached = report_rollup.people_reached + excluded.people_reached, attended = report_rollup.attended + excluded.attended;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
        SELECT 'team', CAST(tm.team_id AS TEXT), 'h', substr(NEW.recorded_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), COALESCE(NEW.doors_knocked, 0), COALESCE(NEW.conversations, 0), COALESCE(NEW.supporters, 0), COALESCE(NEW.people_reached, 0), COALESCE(NEW.attended, 0) FROM team_members tm
        WHERE tm.volunteer_id = NEW.volunteer_id
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = report_rollup.doors_knocked + excluded.doors_knocked, conversations = report_rollup.conversations + excluded.conversations, supporters = report_rollup.supporters + excluded.supporters, people_reached = report_rollup.people_reached + excluded.people_reached, attended = report_rollup.attended + excluded.attended;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
        SELECT 'all', '', 'd', substr(NEW.recorded_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), COALESCE(NEW.doors_knocked, 0), COALESCE(NEW.conversations, 0), COALESCE(NEW.supporters, 0), COALESCE(NEW.people_reached, 0), COALESCE(NEW.attended, 0) WHERE true
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = report_rollup.doors_knocked + excluded.doors_knocked, conversations = report_rollup.conversations + excluded.conversations, supporters = report_rollup.supporters + excluded.supporters, people_reached = report_rollup.people_reached + excluded.people_reached, attended = report_rollup.attended + excluded.attended;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
        SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'd', substr(NEW.recorded_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), COALESCE(NEW.doors_knocked, 0), COALESCE(NEW.conversations, 0), COALESCE(NEW.supporters, 0), COALESCE(NEW.people_reached, 0), COALESCE(NEW.attended, 0) WHERE true
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = report_rollup.doors_knocked + excluded.doors_knocked, conversations = report_rollup.conversations + excluded.conversations, supporters = report_rollup.supporters + excluded.supporters, people_reached = report_rollup.people_reached + excluded.people_reached, attended = report_rollup.attended + excluded.attended;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
        SELECT 'team', CAST(tm.team_id AS TEXT), 'd', substr(NEW.recorded_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), COALESCE(NEW.doors_knocked, 0), COALESCE(NEW.conversations, 0), COALESCE(NEW.supporters, 0), COALESCE(NEW.people_reached, 0), COALESCE(NEW.attended, 0) FROM team_members tm
        WHERE tm.volunteer_id = NEW.volunteer_id
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = report_rollup.doors_knocked + excluded.doors_knocked, conversations = report_rollup.conversations + excluded.conversations, supporters = report_rollup.supporters + excluded.supporters, people_reached = report_rollup.people_reached + excluded.people_reached, attended = report_rollup.attended + excluded.attended;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
        SELECT 'all', '', 'h', substr(OLD.recorded_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), -COALESCE(OLD.doors_knocked, 0), -COALESCE(OLD.conversations, 0), -COALESCE(OLD.supporters, 0), -COALESCE(OLD.people_reached, 0), -COALESCE(OLD.attended, 0) WHERE true
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = report_rollup.doors_knocked + excluded.doors_knocked, conversations = report_rollup.conversations + excluded.conversations, supporters = report_rollup.supporters + excluded.supporters, people_reached = report_rollup.people_reached + excluded.people_reached, attended = report_rollup.attended + excluded.attended;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
        SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'h', substr(OLD.recorded_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), -COALESCE(OLD.doors_knocked, 0), -COALESCE(OLD.conversations, 0), -COALESCE(OLD.supporters, 0), -COALESCE(OLD.people_reached, 0), -COALESCE(OLD.attended, 0) WHERE true
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = report_rollup.doors_knocked + excluded.doors_knocked, conversations = report_rollup.conversations + excluded.conversations, supporters = report_rollup.supporters + excluded.supporters, people_reached = report_rollup.people_reached + excluded.people_reached, attended = report_rollup.attended + excluded.attended;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
        SELECT 'team', CAST(tm.team_id AS TEXT), 'h', substr(OLD.recorded_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), -COALESCE(OLD.doors_knocked, 0), -COALESCE(OLD.conversations, 0), -COALESCE(OLD.supporters, 0), -COALESCE(OLD.people_reached, 0), -COALESCE(OLD.attended, 0) FROM team_members tm
        WHERE tm.volunteer_id = NEW.volunteer_id
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = report_rollup.doors_knocked + excluded.doors_knocked, conversations = report_rollup.conversations + excluded.conversations, supporters = report_rollup.supporters + excluded.supporters, people_reached = report_rollup.people_reached + excluded.people_reached, attended = report_rollup.attended + excluded.attended;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
        SELECT 'all', '', 'd', substr(OLD.recorded_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), -COALESCE(OLD.doors_knocked, 0), -COALESCE(OLD.conversations, 0), -COALESCE(OLD.supporters, 0), -COALESCE(OLD.people_reached, 0), -COALESCE(OLD.attended, 0) WHERE true
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = report_rollup.doors_knocked + excluded.doors_knocked, conversations = report_rollup.conversations + excluded.conversations, supporters = report_rollup.supporters + excluded.supporters, people_reached = report_rollup.people_reached + excluded.people_reached, attended = report_rollup.attended + excluded.attended;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
        SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'd', substr(OLD.recorded_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), -COALESCE(OLD.doors_knocked, 0), -COALESCE(OLD.conversations, 0), -COALESCE(OLD.supporters, 0), -COALESCE(OLD.people_reached, 0), -COALESCE(OLD.attended, 0) WHERE true
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = report_rollup.doors_knocked + excluded.doors_knocked, conversations = report_rollup.conversations + excluded.conversations, supporters = report_rollup.supporters + excluded.supporters, people_reached = report_rollup.people_reached + excluded.people_reached, attended = report_rollup.attended + excluded.attended;
        INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
        SELECT 'team', CAST(tm.team_id AS TEXT), 'd', substr(OLD.recorded_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), -COALESCE(OLD.doors_knocked, 0), -COALESCE(OLD.conversations, 0), -COALESCE(OLD.supporters, 0), -COALESCE(OLD.people_reached, 0), -COALESCE(OLD.attended, 0) FROM team_members tm
        WHERE tm.volunteer_id = NEW.volunteer_id
        ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = report_rollup.doors_knocked + excluded.doors_knocked, conversations = report_rollup.conversations + excluded.conversations, supporters = report_rollup.supporters + excluded.supporters, people_reached = report_rollup.people_reached + excluded.people_reached, attended = report_rollup.attended + excluded.attended;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER report_outcome_corrected AFTER UPDATE OF doors_knocked, conversations, supporters, people_reached, attended, recorded_at ON outcomes
FOR EACH ROW EXECUTE FUNCTION report_outcome_corrected();
