-- SQLite's roll-up triggers became one statement each (../0012_rollup_in_one_statement.sql).
-- PostgreSQL's triggers are functions (0007), one call per row already: nothing to change.
-- (A statement, so that every migration runs something on each backend.)
SELECT 1;
