-- Cases on the CSE pathway (F7). `state` is the core's pathway::Case as JSON, re-derived by
-- applying each recorded step; the other columns are copies of it for the board's queries.
-- Keep the sqlite and postgres files the same (tests/store.rs compares their tables).

CREATE TABLE cse_cases (
    id          TEXT PRIMARY KEY,
    child_id    TEXT   NOT NULL,
    contact_id  TEXT,
    enquiry_id  TEXT,
    reason      TEXT   NOT NULL,
    stage       TEXT   NOT NULL,
    worker      TEXT,
    level       TEXT,
    state       TEXT   NOT NULL,
    referred_at BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    seq         BIGINT NOT NULL
);
CREATE INDEX cse_cases_stage ON cse_cases (stage);
CREATE INDEX cse_cases_worker ON cse_cases (worker, stage);
CREATE INDEX cse_cases_child ON cse_cases (child_id);
-- One open case per child: a new referral of a child already on the pathway joins that case.
CREATE UNIQUE INDEX cse_cases_open_child ON cse_cases (child_id) WHERE stage <> 'closed';
CREATE INDEX cse_cases_enquiry ON cse_cases (enquiry_id);

-- Each deadline the sweep found missed, once.
CREATE TABLE cse_deadline_alerts (
    case_id  TEXT   NOT NULL,
    deadline TEXT   NOT NULL,
    due_at   BIGINT NOT NULL,
    seq      BIGINT NOT NULL,
    PRIMARY KEY (case_id, deadline, due_at)
);

-- Allocations made over the caseload maximum with a manager's override (F8: breaches over time).
CREATE TABLE caseload_overrides (
    case_id   TEXT   NOT NULL,
    worker    TEXT   NOT NULL,
    reason    TEXT   NOT NULL,
    decided_by TEXT,
    at        BIGINT NOT NULL,
    seq       BIGINT PRIMARY KEY
);
