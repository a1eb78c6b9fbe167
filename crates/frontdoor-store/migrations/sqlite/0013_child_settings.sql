-- The agencies a child is known to for transition notices (F15): their GP practice and their
-- school or college. Keep the sqlite and postgres files the same (tests/store.rs compares).

ALTER TABLE children ADD COLUMN gp_practice TEXT;
ALTER TABLE children ADD COLUMN education_setting TEXT;
