-- An alert may be addressed to one person of the owning team (a CSE case's worker, the user who
-- assigned an overdue action); their home page counts it.
-- Keep the sqlite and postgres files the same (tests/store.rs compares their tables).

ALTER TABLE alerts ADD COLUMN for_user TEXT;
CREATE INDEX alerts_for_user ON alerts (for_user, state);
