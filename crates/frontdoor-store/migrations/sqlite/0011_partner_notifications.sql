-- Notifications to partner agencies at transitions (F15), each with its lawful basis.
-- Keep the sqlite and postgres files the same (tests/store.rs compares their tables).

CREATE TABLE partner_notifications (
    id           TEXT PRIMARY KEY,
    child_id     TEXT   NOT NULL,
    case_id      TEXT,
    to_agency    TEXT   NOT NULL,
    transition   TEXT   NOT NULL,
    lawful_basis TEXT   NOT NULL,
    message      TEXT   NOT NULL,
    sent_by      TEXT,
    sent_at      BIGINT NOT NULL,
    seq          BIGINT NOT NULL
);
CREATE INDEX partner_notifications_agency ON partner_notifications (to_agency, sent_at);
CREATE INDEX partner_notifications_case ON partner_notifications (case_id);
