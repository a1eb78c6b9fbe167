-- Actions assigned to agencies, teams or people, followed up until done (F9).
-- Keep the sqlite and postgres files the same (tests/store.rs compares their tables).

CREATE TABLE action_items (
    id           TEXT PRIMARY KEY,
    child_id     TEXT   NOT NULL,
    case_id      TEXT,
    enquiry_id   TEXT,
    what         TEXT   NOT NULL,
    agency_id    TEXT   NOT NULL,
    assignee     TEXT,
    due_on       TEXT   NOT NULL,
    assigned_by  TEXT,
    assigned_at  BIGINT NOT NULL,
    completed_at BIGINT,
    completed_by TEXT,
    outcome      TEXT,
    overdue      BIGINT NOT NULL,
    seq          BIGINT NOT NULL
);
CREATE INDEX action_items_agency ON action_items (agency_id, completed_at);
CREATE INDEX action_items_due ON action_items (completed_at, due_on);
CREATE INDEX action_items_child ON action_items (child_id);
