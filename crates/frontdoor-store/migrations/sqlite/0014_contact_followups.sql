-- Anonymous online senders (F14): the hash of each one's follow-up code, the front door's short
-- message for them, and what they added later with the code.
-- Keep the sqlite and postgres files the same (tests/store.rs compares their tables).

CREATE TABLE contact_followups (
    contact_id     TEXT PRIMARY KEY,
    code_hash      TEXT   NOT NULL UNIQUE,
    status_message TEXT,
    status_at      BIGINT
);

CREATE TABLE contact_additions (
    contact_id TEXT   NOT NULL,
    seq        BIGINT NOT NULL,
    text       TEXT   NOT NULL,
    added_at   BIGINT NOT NULL,
    PRIMARY KEY (contact_id, seq)
);
