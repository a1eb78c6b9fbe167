-- Follow-up audits of CSE referrals (F9, Rec 23): each sample as drawn, and the findings.
-- Keep the sqlite and postgres files the same (tests/store.rs compares their tables).

CREATE TABLE audits (
    id         TEXT PRIMARY KEY,
    period_from TEXT   NOT NULL,
    period_to  TEXT   NOT NULL,
    seed       TEXT   NOT NULL,
    percent    BIGINT NOT NULL,
    population BIGINT NOT NULL,
    cases      TEXT   NOT NULL,
    drawn_by   TEXT,
    drawn_at   BIGINT NOT NULL,
    seq        BIGINT NOT NULL
);

CREATE TABLE audit_findings (
    audit_id    TEXT   NOT NULL,
    case_id     TEXT   NOT NULL,
    rating      TEXT   NOT NULL,
    finding     TEXT   NOT NULL,
    recorded_by TEXT,
    recorded_at BIGINT NOT NULL,
    seq         BIGINT NOT NULL,
    PRIMARY KEY (audit_id, case_id)
);
