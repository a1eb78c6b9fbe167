-- Referrals from a CSE case to support services and their outcomes (F13, practitioner side);
-- a declined one may carry a re-contact date the sweep alerts on once.
-- Keep the sqlite and postgres files the same (tests/store.rs compares their tables).

CREATE TABLE support_referrals (
    case_id           TEXT   NOT NULL,
    service           TEXT   NOT NULL,
    outcome           TEXT   NOT NULL,
    note              TEXT   NOT NULL,
    recontact_on      TEXT,
    recontact_alerted BIGINT NOT NULL,
    recorded_by       TEXT,
    recorded_at       BIGINT NOT NULL,
    seq               BIGINT NOT NULL,
    PRIMARY KEY (case_id, service)
);
CREATE INDEX support_referrals_recontact ON support_referrals (recontact_alerted, recontact_on);
