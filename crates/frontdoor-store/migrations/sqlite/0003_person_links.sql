-- The person index's links (issue 4): projections of the person_* events.

-- One row per scored or decided pair of person records (a < b, by source then record id).
-- `machine` is what the matcher said ('auto' linked, 'queued' for a person, 'held' possible twins
-- below the review threshold, 'none' never scored);
-- `human` what a person decided ('same', 'different' or NULL) and always wins.
CREATE TABLE person_links (
    a_source        TEXT   NOT NULL,
    a_record        TEXT   NOT NULL,
    b_source        TEXT   NOT NULL,
    b_record        TEXT   NOT NULL,
    machine         TEXT   NOT NULL,
    probability_ppm BIGINT,
    -- 1: same family name and date of birth, different given names (possible twins): never
    -- linked by the matcher, and a wall no chain of links may cross; +2: one side has no given
    -- name, so the link holds only if all such links of the record point to one person.
    guard           BIGINT NOT NULL DEFAULT 0,
    human           TEXT,
    decided_by      TEXT,
    reason          TEXT,
    run             TEXT,
    seq             BIGINT NOT NULL,
    PRIMARY KEY (a_source, a_record, b_source, b_record)
);
CREATE INDEX person_links_b ON person_links (b_source, b_record);
CREATE INDEX person_links_machine ON person_links (machine, probability_ppm);

-- Deduplication runs and how far each got (a run resumes from `next_record`).
CREATE TABLE link_runs (
    run             TEXT PRIMARY KEY,
    records         BIGINT NOT NULL,
    last_record_seq BIGINT NOT NULL,
    model           TEXT   NOT NULL,
    next_record     BIGINT NOT NULL,
    started_seq     BIGINT NOT NULL,
    finished        BIGINT NOT NULL,
    clusters        BIGINT,
    auto_linked     BIGINT,
    queued          BIGINT
);
