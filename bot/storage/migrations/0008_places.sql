-- Places: the French commune each volunteer is in (INSEE code), so a typed town or a
-- shared position counts in its département and in radius targeting.
-- Append-only: never edit a migration once it is on main; add the next number instead.
-- After this script, bot/storage/data_migrations.py places the volunteers already stored
-- (in the same transaction).

ALTER TABLE volunteers ADD COLUMN commune TEXT;
CREATE INDEX volunteers_position ON volunteers(latitude, longitude);
