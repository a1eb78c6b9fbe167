-- Multi-agency enquiries about a child or a suspected perpetrator (F6): the enquiry, who it asked and who manages it, each agency's
-- contributions and every release of a contribution outside its agency's compartment.
-- Keep the sqlite and postgres files the same (tests/store.rs compares their tables).

CREATE TABLE enquiries (
    id              TEXT PRIMARY KEY,
    -- The child the enquiry is about, if any; a suspected perpetrator's name, date of birth and
    -- description when the enquiry is about one (at least one of the two).
    child_id        TEXT,
    person_name     TEXT,
    person_dob      TEXT,
    person_description TEXT,
    lead_user       TEXT   NOT NULL,
    lead_agency     TEXT   NOT NULL,
    question        TEXT   NOT NULL,
    opened_at       BIGINT NOT NULL,
    due_at          BIGINT NOT NULL,
    outcome         TEXT,
    outcome_reasons TEXT,
    concluded_by    TEXT,
    concluded_at    BIGINT,
    seq             BIGINT NOT NULL
);
CREATE INDEX enquiries_child ON enquiries (child_id);
CREATE INDEX enquiries_lead ON enquiries (lead_user);

-- kind 'agency' (asked) or 'manager' (a named manager's user id).
CREATE TABLE enquiry_members (
    enquiry_id TEXT NOT NULL,
    kind       TEXT NOT NULL,
    member_id  TEXT NOT NULL,
    PRIMARY KEY (enquiry_id, kind, member_id)
);
CREATE INDEX enquiry_members_member ON enquiry_members (member_id, kind);

CREATE TABLE enquiry_contributions (
    id          TEXT PRIMARY KEY,
    enquiry_id  TEXT   NOT NULL,
    agency_id   TEXT   NOT NULL,
    user_id     TEXT,
    text        TEXT   NOT NULL,
    known_on    TEXT,
    source      TEXT   NOT NULL,
    confidence  TEXT   NOT NULL,
    recorded_at BIGINT NOT NULL,
    amended_at  BIGINT,
    seq         BIGINT NOT NULL
);
CREATE INDEX enquiry_contributions_enquiry ON enquiry_contributions (enquiry_id);

CREATE TABLE enquiry_releases (
    contribution_id TEXT   NOT NULL,
    to_agency       TEXT   NOT NULL,
    basis           TEXT   NOT NULL,
    lawful_basis    TEXT   NOT NULL,
    reason          TEXT   NOT NULL,
    released_by     TEXT,
    released_at     BIGINT NOT NULL,
    seq             BIGINT NOT NULL,
    PRIMARY KEY (contribution_id, to_agency)
);
