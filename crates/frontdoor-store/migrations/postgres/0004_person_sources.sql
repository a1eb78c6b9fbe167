-- Source systems of person records and the agencies that run them (projection of
-- person_source_registered). A source's records are shown in a record check to the front-door
-- team and to the owning agency's staff only.
CREATE TABLE person_sources (
    name      TEXT PRIMARY KEY,
    label     TEXT   NOT NULL,
    agency_id TEXT   NOT NULL,
    fields    TEXT   NOT NULL,
    seq       BIGINT NOT NULL
);
