-- A child recorded twice: once every contact has moved off a record that holds nothing else of
-- its own (no flag, enquiry or CSE case), the record points to the child they moved to, and a
-- later contact that names the child as that record did joins that child.
-- Keep the sqlite and postgres files the same (tests/store.rs compares their tables).

ALTER TABLE children ADD COLUMN moved_to TEXT;
