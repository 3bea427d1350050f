-- The roll-up triggers of 0007, each now one statement instead of six (or twelve): the same
-- rows, added in one INSERT of a UNION ALL. A tap on Accept ran eight statements of
-- trigger for one row of its own; the database now runs one.
-- PostgreSQL keeps its trigger functions (postgresql/0012_rollup_in_one_statement.sql).
-- Append-only: never edit once on main; add the next number instead.

DROP TRIGGER report_offer;
CREATE TRIGGER report_offer AFTER INSERT ON offers
BEGIN
    INSERT INTO report_rollup (axis, unit, span, hour, kind, offered)
    SELECT * FROM (
        SELECT 'all', '', 'h', substr(NEW.offered_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1
        UNION ALL SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'h', substr(NEW.offered_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1
        UNION ALL SELECT 'team', CAST(tm.team_id AS TEXT), 'h', substr(NEW.offered_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 FROM team_members tm WHERE tm.volunteer_id = NEW.volunteer_id
        UNION ALL SELECT 'all', '', 'd', substr(NEW.offered_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1
        UNION ALL SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'd', substr(NEW.offered_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1
        UNION ALL SELECT 'team', CAST(tm.team_id AS TEXT), 'd', substr(NEW.offered_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 FROM team_members tm WHERE tm.volunteer_id = NEW.volunteer_id
    ) WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET offered = offered + excluded.offered;
END;

DROP TRIGGER report_accepted_new;
CREATE TRIGGER report_accepted_new AFTER INSERT ON assignments
WHEN NEW.accepted_at IS NOT NULL
BEGIN
    INSERT INTO report_rollup (axis, unit, span, hour, kind, accepted)
    SELECT * FROM (
        SELECT 'all', '', 'h', substr(NEW.accepted_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1
        UNION ALL SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'h', substr(NEW.accepted_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1
        UNION ALL SELECT 'team', CAST(tm.team_id AS TEXT), 'h', substr(NEW.accepted_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 FROM team_members tm WHERE tm.volunteer_id = NEW.volunteer_id
        UNION ALL SELECT 'all', '', 'd', substr(NEW.accepted_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1
        UNION ALL SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'd', substr(NEW.accepted_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1
        UNION ALL SELECT 'team', CAST(tm.team_id AS TEXT), 'd', substr(NEW.accepted_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 FROM team_members tm WHERE tm.volunteer_id = NEW.volunteer_id
    ) WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET accepted = accepted + excluded.accepted;
END;

DROP TRIGGER report_accepted;
CREATE TRIGGER report_accepted AFTER UPDATE OF accepted_at ON assignments
WHEN OLD.accepted_at IS NULL AND NEW.accepted_at IS NOT NULL
BEGIN
    INSERT INTO report_rollup (axis, unit, span, hour, kind, accepted)
    SELECT * FROM (
        SELECT 'all', '', 'h', substr(NEW.accepted_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1
        UNION ALL SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'h', substr(NEW.accepted_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1
        UNION ALL SELECT 'team', CAST(tm.team_id AS TEXT), 'h', substr(NEW.accepted_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 FROM team_members tm WHERE tm.volunteer_id = NEW.volunteer_id
        UNION ALL SELECT 'all', '', 'd', substr(NEW.accepted_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1
        UNION ALL SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'd', substr(NEW.accepted_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1
        UNION ALL SELECT 'team', CAST(tm.team_id AS TEXT), 'd', substr(NEW.accepted_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 FROM team_members tm WHERE tm.volunteer_id = NEW.volunteer_id
    ) WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET accepted = accepted + excluded.accepted;
END;

DROP TRIGGER report_done_new;
CREATE TRIGGER report_done_new AFTER INSERT ON assignments
WHEN NEW.state = 'done' AND (SELECT COUNT(*) FROM assignments b WHERE b.state = 'done' AND b.volunteer_id = NEW.volunteer_id AND b.task_id = NEW.task_id AND b.id <> NEW.id) < (SELECT per_volunteer_cap FROM tasks WHERE id = NEW.task_id)
BEGIN
    INSERT INTO report_rollup (axis, unit, span, hour, kind, done)
    SELECT * FROM (
        SELECT 'all', '', 'h', substr(COALESCE(NEW.finished_at, NEW.updated_at), 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1
        UNION ALL SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'h', substr(COALESCE(NEW.finished_at, NEW.updated_at), 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1
        UNION ALL SELECT 'team', CAST(tm.team_id AS TEXT), 'h', substr(COALESCE(NEW.finished_at, NEW.updated_at), 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 FROM team_members tm WHERE tm.volunteer_id = NEW.volunteer_id
        UNION ALL SELECT 'all', '', 'd', substr(COALESCE(NEW.finished_at, NEW.updated_at), 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1
        UNION ALL SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'd', substr(COALESCE(NEW.finished_at, NEW.updated_at), 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1
        UNION ALL SELECT 'team', CAST(tm.team_id AS TEXT), 'd', substr(COALESCE(NEW.finished_at, NEW.updated_at), 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 FROM team_members tm WHERE tm.volunteer_id = NEW.volunteer_id
    ) WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET done = done + excluded.done;
END;

DROP TRIGGER report_done;
CREATE TRIGGER report_done AFTER UPDATE OF state ON assignments
WHEN OLD.state <> 'done' AND NEW.state = 'done' AND (SELECT COUNT(*) FROM assignments b WHERE b.state = 'done' AND b.volunteer_id = NEW.volunteer_id AND b.task_id = NEW.task_id AND b.id <> NEW.id) < (SELECT per_volunteer_cap FROM tasks WHERE id = NEW.task_id)
BEGIN
    INSERT INTO report_rollup (axis, unit, span, hour, kind, done)
    SELECT * FROM (
        SELECT 'all', '', 'h', substr(COALESCE(NEW.finished_at, NEW.updated_at), 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1
        UNION ALL SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'h', substr(COALESCE(NEW.finished_at, NEW.updated_at), 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1
        UNION ALL SELECT 'team', CAST(tm.team_id AS TEXT), 'h', substr(COALESCE(NEW.finished_at, NEW.updated_at), 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 FROM team_members tm WHERE tm.volunteer_id = NEW.volunteer_id
        UNION ALL SELECT 'all', '', 'd', substr(COALESCE(NEW.finished_at, NEW.updated_at), 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1
        UNION ALL SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'd', substr(COALESCE(NEW.finished_at, NEW.updated_at), 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1
        UNION ALL SELECT 'team', CAST(tm.team_id AS TEXT), 'd', substr(COALESCE(NEW.finished_at, NEW.updated_at), 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1 FROM team_members tm WHERE tm.volunteer_id = NEW.volunteer_id
    ) WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET done = done + excluded.done;
END;

DROP TRIGGER report_outcome;
CREATE TRIGGER report_outcome AFTER INSERT ON outcomes
WHEN (SELECT COUNT(*) FROM outcomes p WHERE p.volunteer_id = NEW.volunteer_id AND p.task_id = NEW.task_id AND p.assignment_id <> NEW.assignment_id) < (SELECT per_volunteer_cap FROM tasks WHERE id = NEW.task_id)
BEGIN
    INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
    SELECT * FROM (
        SELECT 'all', '', 'h', substr(NEW.recorded_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), COALESCE(NEW.doors_knocked, 0), COALESCE(NEW.conversations, 0), COALESCE(NEW.supporters, 0), COALESCE(NEW.people_reached, 0), COALESCE(NEW.attended, 0)
        UNION ALL SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'h', substr(NEW.recorded_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), COALESCE(NEW.doors_knocked, 0), COALESCE(NEW.conversations, 0), COALESCE(NEW.supporters, 0), COALESCE(NEW.people_reached, 0), COALESCE(NEW.attended, 0)
        UNION ALL SELECT 'team', CAST(tm.team_id AS TEXT), 'h', substr(NEW.recorded_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), COALESCE(NEW.doors_knocked, 0), COALESCE(NEW.conversations, 0), COALESCE(NEW.supporters, 0), COALESCE(NEW.people_reached, 0), COALESCE(NEW.attended, 0) FROM team_members tm WHERE tm.volunteer_id = NEW.volunteer_id
        UNION ALL SELECT 'all', '', 'd', substr(NEW.recorded_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), COALESCE(NEW.doors_knocked, 0), COALESCE(NEW.conversations, 0), COALESCE(NEW.supporters, 0), COALESCE(NEW.people_reached, 0), COALESCE(NEW.attended, 0)
        UNION ALL SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'd', substr(NEW.recorded_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), COALESCE(NEW.doors_knocked, 0), COALESCE(NEW.conversations, 0), COALESCE(NEW.supporters, 0), COALESCE(NEW.people_reached, 0), COALESCE(NEW.attended, 0)
        UNION ALL SELECT 'team', CAST(tm.team_id AS TEXT), 'd', substr(NEW.recorded_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), COALESCE(NEW.doors_knocked, 0), COALESCE(NEW.conversations, 0), COALESCE(NEW.supporters, 0), COALESCE(NEW.people_reached, 0), COALESCE(NEW.attended, 0) FROM team_members tm WHERE tm.volunteer_id = NEW.volunteer_id
    ) WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = doors_knocked + excluded.doors_knocked, conversations = conversations + excluded.conversations, supporters = supporters + excluded.supporters, people_reached = people_reached + excluded.people_reached, attended = attended + excluded.attended;
END;

DROP TRIGGER report_call;
CREATE TRIGGER report_call AFTER INSERT ON call_results
WHEN NEW.volunteer_id IS NOT NULL
BEGIN
    INSERT INTO report_rollup (axis, unit, span, hour, kind, calls, supporter, undecided, opposed, no_answer, wrong_number, callback, do_not_call)
    SELECT * FROM (
        SELECT 'all', '', 'h', substr(NEW.called_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1, (NEW.result = 'supporter'), (NEW.result = 'undecided'), (NEW.result = 'opposed'), (NEW.result = 'no_answer'), (NEW.result = 'wrong_number'), (NEW.result = 'callback'), (NEW.result = 'do_not_call')
        UNION ALL SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'h', substr(NEW.called_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1, (NEW.result = 'supporter'), (NEW.result = 'undecided'), (NEW.result = 'opposed'), (NEW.result = 'no_answer'), (NEW.result = 'wrong_number'), (NEW.result = 'callback'), (NEW.result = 'do_not_call')
        UNION ALL SELECT 'team', CAST(tm.team_id AS TEXT), 'h', substr(NEW.called_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1, (NEW.result = 'supporter'), (NEW.result = 'undecided'), (NEW.result = 'opposed'), (NEW.result = 'no_answer'), (NEW.result = 'wrong_number'), (NEW.result = 'callback'), (NEW.result = 'do_not_call') FROM team_members tm WHERE tm.volunteer_id = NEW.volunteer_id
        UNION ALL SELECT 'all', '', 'd', substr(NEW.called_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1, (NEW.result = 'supporter'), (NEW.result = 'undecided'), (NEW.result = 'opposed'), (NEW.result = 'no_answer'), (NEW.result = 'wrong_number'), (NEW.result = 'callback'), (NEW.result = 'do_not_call')
        UNION ALL SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'd', substr(NEW.called_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1, (NEW.result = 'supporter'), (NEW.result = 'undecided'), (NEW.result = 'opposed'), (NEW.result = 'no_answer'), (NEW.result = 'wrong_number'), (NEW.result = 'callback'), (NEW.result = 'do_not_call')
        UNION ALL SELECT 'team', CAST(tm.team_id AS TEXT), 'd', substr(NEW.called_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), 1, (NEW.result = 'supporter'), (NEW.result = 'undecided'), (NEW.result = 'opposed'), (NEW.result = 'no_answer'), (NEW.result = 'wrong_number'), (NEW.result = 'callback'), (NEW.result = 'do_not_call') FROM team_members tm WHERE tm.volunteer_id = NEW.volunteer_id
    ) WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET calls = calls + excluded.calls, supporter = supporter + excluded.supporter, undecided = undecided + excluded.undecided, opposed = opposed + excluded.opposed, no_answer = no_answer + excluded.no_answer, wrong_number = wrong_number + excluded.wrong_number, callback = callback + excluded.callback, do_not_call = do_not_call + excluded.do_not_call;
END;

DROP TRIGGER report_outcome_corrected;
CREATE TRIGGER report_outcome_corrected AFTER UPDATE OF doors_knocked, conversations, supporters, people_reached, attended, recorded_at ON outcomes
WHEN (SELECT COUNT(*) FROM outcomes p WHERE p.volunteer_id = NEW.volunteer_id AND p.task_id = NEW.task_id AND p.assignment_id < NEW.assignment_id) < (SELECT per_volunteer_cap FROM tasks WHERE id = NEW.task_id)
BEGIN
    INSERT INTO report_rollup (axis, unit, span, hour, kind, doors_knocked, conversations, supporters, people_reached, attended)
    SELECT * FROM (
        SELECT 'all', '', 'h', substr(NEW.recorded_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), COALESCE(NEW.doors_knocked, 0), COALESCE(NEW.conversations, 0), COALESCE(NEW.supporters, 0), COALESCE(NEW.people_reached, 0), COALESCE(NEW.attended, 0)
        UNION ALL SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'h', substr(NEW.recorded_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), COALESCE(NEW.doors_knocked, 0), COALESCE(NEW.conversations, 0), COALESCE(NEW.supporters, 0), COALESCE(NEW.people_reached, 0), COALESCE(NEW.attended, 0)
        UNION ALL SELECT 'team', CAST(tm.team_id AS TEXT), 'h', substr(NEW.recorded_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), COALESCE(NEW.doors_knocked, 0), COALESCE(NEW.conversations, 0), COALESCE(NEW.supporters, 0), COALESCE(NEW.people_reached, 0), COALESCE(NEW.attended, 0) FROM team_members tm WHERE tm.volunteer_id = NEW.volunteer_id
        UNION ALL SELECT 'all', '', 'd', substr(NEW.recorded_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), COALESCE(NEW.doors_knocked, 0), COALESCE(NEW.conversations, 0), COALESCE(NEW.supporters, 0), COALESCE(NEW.people_reached, 0), COALESCE(NEW.attended, 0)
        UNION ALL SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'd', substr(NEW.recorded_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), COALESCE(NEW.doors_knocked, 0), COALESCE(NEW.conversations, 0), COALESCE(NEW.supporters, 0), COALESCE(NEW.people_reached, 0), COALESCE(NEW.attended, 0)
        UNION ALL SELECT 'team', CAST(tm.team_id AS TEXT), 'd', substr(NEW.recorded_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), COALESCE(NEW.doors_knocked, 0), COALESCE(NEW.conversations, 0), COALESCE(NEW.supporters, 0), COALESCE(NEW.people_reached, 0), COALESCE(NEW.attended, 0) FROM team_members tm WHERE tm.volunteer_id = NEW.volunteer_id
        UNION ALL SELECT 'all', '', 'h', substr(OLD.recorded_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), -COALESCE(OLD.doors_knocked, 0), -COALESCE(OLD.conversations, 0), -COALESCE(OLD.supporters, 0), -COALESCE(OLD.people_reached, 0), -COALESCE(OLD.attended, 0)
        UNION ALL SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'h', substr(OLD.recorded_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), -COALESCE(OLD.doors_knocked, 0), -COALESCE(OLD.conversations, 0), -COALESCE(OLD.supporters, 0), -COALESCE(OLD.people_reached, 0), -COALESCE(OLD.attended, 0)
        UNION ALL SELECT 'team', CAST(tm.team_id AS TEXT), 'h', substr(OLD.recorded_at, 1, 13), (SELECT kind FROM tasks WHERE id = NEW.task_id), -COALESCE(OLD.doors_knocked, 0), -COALESCE(OLD.conversations, 0), -COALESCE(OLD.supporters, 0), -COALESCE(OLD.people_reached, 0), -COALESCE(OLD.attended, 0) FROM team_members tm WHERE tm.volunteer_id = NEW.volunteer_id
        UNION ALL SELECT 'all', '', 'd', substr(OLD.recorded_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), -COALESCE(OLD.doors_knocked, 0), -COALESCE(OLD.conversations, 0), -COALESCE(OLD.supporters, 0), -COALESCE(OLD.people_reached, 0), -COALESCE(OLD.attended, 0)
        UNION ALL SELECT 'area', COALESCE((SELECT department FROM volunteers WHERE id = NEW.volunteer_id), ''), 'd', substr(OLD.recorded_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), -COALESCE(OLD.doors_knocked, 0), -COALESCE(OLD.conversations, 0), -COALESCE(OLD.supporters, 0), -COALESCE(OLD.people_reached, 0), -COALESCE(OLD.attended, 0)
        UNION ALL SELECT 'team', CAST(tm.team_id AS TEXT), 'd', substr(OLD.recorded_at, 1, 10), (SELECT kind FROM tasks WHERE id = NEW.task_id), -COALESCE(OLD.doors_knocked, 0), -COALESCE(OLD.conversations, 0), -COALESCE(OLD.supporters, 0), -COALESCE(OLD.people_reached, 0), -COALESCE(OLD.attended, 0) FROM team_members tm WHERE tm.volunteer_id = NEW.volunteer_id
    ) WHERE true
    ON CONFLICT (axis, unit, span, hour, kind) DO UPDATE SET doors_knocked = doors_knocked + excluded.doors_knocked, conversations = conversations + excluded.conversations, supporters = supporters + excluded.supporters, people_reached = people_reached + excluded.people_reached, attended = attended + excluded.attended;
END;
