-- When a volunteer finished joining (answered every question and became active), kept
-- when they are erased: a date, not about who they are, and the campaign's figures need it.
-- Erasure turns every row to 'erased', so the status alone no longer told a volunteer who
-- joined and was erased from someone who stopped at the first questions and was erased:
-- /report counted both as new volunteers. New volunteers are now those who joined in the
-- period; people still joining, or who never finished, have none (NULL).
ALTER TABLE volunteers ADD COLUMN joined_at TEXT;

-- Past figures stay as they were: every row out of 'onboarding' counted as joined when it
-- was created.
UPDATE volunteers SET joined_at = created_at
    WHERE status IN ('active', 'paused', 'stopped', 'erased');

CREATE INDEX volunteers_joined ON volunteers(joined_at);
