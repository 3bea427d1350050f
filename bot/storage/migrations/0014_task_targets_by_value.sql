-- PostgreSQL only (migrations/postgresql/0014_task_targets_by_value.sql): an index of task
-- targets by kind and value. SQLite looks each task's targets up by the task, through the
-- primary key, and needs nothing more.
-- (A statement, so that every migration runs something on each backend.)
SELECT 1;
