-- The whole campaign's report sums the roll-up's day rows (and today's hours) per team and
-- per area: at 1,000,000 assignments that is 30,000 rows among 1,500,000, the hour rows
-- being most of the table. Without this index PostgreSQL read all of them for each
-- breakdown (about a second on a loaded machine, where the whole report must take under
-- two); with it, it reads the rows of the period, and the figures it sums are in the index.
CREATE INDEX report_rollup_by_period ON report_rollup(axis, span, hour)
    INCLUDE (unit, done, doors_knocked, conversations, calls);
