-- The dashboard's map counts volunteers per département and status: an index holding
-- both answers it from the index alone, without reading 100,000 rows one by one.
-- Append-only: never edit a migration once it is on main; add the next number instead.

CREATE INDEX volunteers_department_status ON volunteers(department, status);
