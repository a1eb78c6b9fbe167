-- A contact's child is matched (F5) against the children recorded with the same date of birth.
-- Keep the sqlite and postgres files the same (tests/store.rs compares their tables).

CREATE INDEX children_date_of_birth ON children (date_of_birth);
