-- The front door's triage projections (protocol verdicts, decisions, alerts, child flags).
-- Keep in step with ../sqlite/0002_front_door.sql (tests/store.rs compares the two).

-- One row per assessed contact: the protocol's verdict and what the alert rules count.
CREATE TABLE assessments (
    contact_id       TEXT PRIMARY KEY,
    child_id         TEXT   NOT NULL,
    call_type        TEXT   NOT NULL,
    level_of_need    BIGINT NOT NULL,
    manager_decision BIGINT NOT NULL,
    decision_due_at  BIGINT NOT NULL,
    open_case        BIGINT NOT NULL,
    signal           TEXT,
    signal_value     BIGINT
);
CREATE INDEX assessments_child_signal ON assessments (child_id, signal);
CREATE INDEX assessments_due ON assessments (decision_due_at);

CREATE TABLE decisions (
    contact_id TEXT PRIMARY KEY,
    outcome    TEXT   NOT NULL,
    reasons    TEXT   NOT NULL,
    decided_by TEXT,
    decided_at BIGINT NOT NULL
);

CREATE TABLE alerts (
    id         TEXT PRIMARY KEY,
    kind       TEXT   NOT NULL,
    child_id   TEXT   NOT NULL,
    contact_id TEXT,
    urgent     BIGINT NOT NULL,
    owner_role TEXT   NOT NULL,
    state      TEXT   NOT NULL,
    raised_at  BIGINT NOT NULL,
    due_at     BIGINT NOT NULL,
    reason     TEXT   NOT NULL,
    escalated  BIGINT NOT NULL,
    updated_by TEXT,
    updated_at BIGINT,
    resolution TEXT
);
CREATE INDEX alerts_child_kind ON alerts (child_id, kind, state);
CREATE INDEX alerts_contact ON alerts (contact_id);
CREATE INDEX alerts_state_due ON alerts (state, due_at);

CREATE TABLE child_flags (
    child_id TEXT   NOT NULL,
    flag     TEXT   NOT NULL,
    note     TEXT   NOT NULL,
    set_at   BIGINT NOT NULL,
    PRIMARY KEY (child_id, flag)
);
