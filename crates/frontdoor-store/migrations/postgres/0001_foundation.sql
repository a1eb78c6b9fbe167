-- Frontdoor foundation schema (PostgreSQL). Keep in step with ../sqlite/0001_foundation.sql:
-- tests/schema.rs checks the two declare the same tables and columns.

-- Append-only: refuse every UPDATE, DELETE and TRUNCATE of the log tables.
CREATE FUNCTION frontdoor_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;

-- The event log: append-only, hash-chained over a canonical encoding of every column.
CREATE TABLE events (
    seq            BIGINT PRIMARY KEY,
    stream         TEXT    NOT NULL,
    stream_version BIGINT  NOT NULL,
    kind           TEXT    NOT NULL,
    payload        TEXT    NOT NULL,
    actor_user     TEXT,
    actor_agency   TEXT,
    purpose        TEXT    NOT NULL,
    recorded_at    BIGINT  NOT NULL,
    prev_hash      TEXT    NOT NULL,
    hash           TEXT    NOT NULL,
    UNIQUE (stream, stream_version)
);
CREATE TRIGGER events_no_change BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION frontdoor_refuse_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION frontdoor_refuse_change();

-- Every read of personal data, and every denied attempt: append-only, hash-chained.
CREATE TABLE access_log (
    seq          BIGINT PRIMARY KEY,
    at           BIGINT  NOT NULL,
    user_id      TEXT    NOT NULL,
    agency_id    TEXT    NOT NULL,
    action       TEXT    NOT NULL,
    record_type  TEXT    NOT NULL,
    record_id    TEXT    NOT NULL,
    purpose      TEXT    NOT NULL,
    outcome      TEXT    NOT NULL,
    reason       TEXT    NOT NULL,
    prev_hash    TEXT    NOT NULL,
    hash         TEXT    NOT NULL
);
CREATE INDEX access_log_record ON access_log (record_type, record_id);
CREATE TRIGGER access_log_no_change BEFORE UPDATE OR DELETE ON access_log
    FOR EACH ROW EXECUTE FUNCTION frontdoor_refuse_change();
CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log
    FOR EACH STATEMENT EXECUTE FUNCTION frontdoor_refuse_change();

-- Chain heads, written in the same transaction as each append, so a removed tail is seen.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Projections (rebuilt from the log; pages read these).
CREATE TABLE agencies (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL
);

CREATE TABLE users (
    id           TEXT PRIMARY KEY,
    username     TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    agency_id    TEXT NOT NULL REFERENCES agencies (id),
    roles        TEXT NOT NULL,
    disabled     BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL
);

CREATE TABLE children (
    id            TEXT PRIMARY KEY,
    given_name    TEXT NOT NULL,
    family_name   TEXT NOT NULL,
    date_of_birth TEXT,
    sex           TEXT,
    postcode      TEXT,
    match_key     TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX children_match_key ON children (match_key);

CREATE TABLE contacts (
    id           TEXT PRIMARY KEY,
    reference    TEXT NOT NULL UNIQUE,
    child_id     TEXT NOT NULL REFERENCES children (id),
    channel      TEXT NOT NULL,
    source_code  TEXT NOT NULL,
    narrative    TEXT NOT NULL,
    received_at  BIGINT NOT NULL,
    recorded_by  TEXT,
    owner_agency TEXT NOT NULL,
    seq          BIGINT NOT NULL
);
CREATE INDEX contacts_child ON contacts (child_id);
CREATE INDEX contacts_received ON contacts (received_at);

-- Which events belong to which child's chronology, and which agency made each.
CREATE TABLE child_events (
    child_id    TEXT   NOT NULL,
    seq         BIGINT NOT NULL,
    agency_id   TEXT,
    occurred_at BIGINT NOT NULL,
    PRIMARY KEY (child_id, seq)
);

CREATE TABLE person_records (
    source        TEXT NOT NULL,
    record_id     TEXT NOT NULL,
    given_name    TEXT,
    family_name   TEXT,
    date_of_birth TEXT,
    sex           TEXT,
    postcode      TEXT,
    address       TEXT,
    phone         TEXT,
    seq           BIGINT NOT NULL,
    PRIMARY KEY (source, record_id)
);

-- Operational state (not case data, so not events).
CREATE TABLE credentials (
    user_id       TEXT PRIMARY KEY REFERENCES users (id),
    password_hash TEXT   NOT NULL,
    updated_at    BIGINT NOT NULL
);

-- Server-side sessions; the id is stored only as its SHA-256, so a database copy yields no live session.
CREATE TABLE sessions (
    id_hash    TEXT PRIMARY KEY,
    user_id    TEXT   NOT NULL REFERENCES users (id),
    kind       TEXT   NOT NULL,
    csrf_token TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE login_failures (
    username TEXT   NOT NULL,
    at       BIGINT NOT NULL
);
CREATE INDEX login_failures_username ON login_failures (username, at);

-- Notifications waiting to be sent (e-mail), written in the same transaction as their cause.
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    created_at      BIGINT NOT NULL,
    channel         TEXT   NOT NULL,
    recipient       TEXT   NOT NULL,
    subject         TEXT   NOT NULL,
    body            TEXT   NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    sent_at         BIGINT,
    last_error      TEXT
);
CREATE INDEX outbox_due ON outbox (sent_at, next_attempt_at);
