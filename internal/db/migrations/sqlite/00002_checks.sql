-- +goose Up
CREATE TABLE checks (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    service_id     TEXT NOT NULL REFERENCES services(id),
    environment_id TEXT NOT NULL REFERENCES environments(id),
    type           TEXT NOT NULL,
    interval_ms    INTEGER NOT NULL,
    parent_id      TEXT REFERENCES checks(id) ON DELETE SET NULL,
    paused         BOOLEAN NOT NULL DEFAULT FALSE,
    spec           TEXT NOT NULL,
    labels         TEXT NOT NULL DEFAULT '{}',
    heartbeat_hash TEXT UNIQUE,
    origin         TEXT NOT NULL DEFAULT '',
    revision       INTEGER NOT NULL DEFAULT 1,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
CREATE INDEX checks_service ON checks(service_id);
CREATE INDEX checks_environment ON checks(environment_id);
CREATE INDEX checks_parent ON checks(parent_id);

-- The confirmed state of each check, one row per check.
CREATE TABLE check_state (
    check_id     TEXT PRIMARY KEY REFERENCES checks(id) ON DELETE CASCADE,
    status       TEXT NOT NULL,
    since        TIMESTAMP NOT NULL,
    reason       TEXT NOT NULL DEFAULT '',
    last_status  TEXT NOT NULL DEFAULT '',
    streak       INTEGER NOT NULL DEFAULT 0,
    last_run_at  TIMESTAMP,
    last_duration_us INTEGER NOT NULL DEFAULT 0,
    fail_streak  INTEGER NOT NULL DEFAULT 0,
    fail_down    BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX check_state_status ON check_state(status);

-- Every run of every check.
CREATE TABLE check_results (
    id          INTEGER PRIMARY KEY,
    check_id    TEXT NOT NULL REFERENCES checks(id) ON DELETE CASCADE,
    location    TEXT NOT NULL,
    at          TIMESTAMP NOT NULL,
    status      TEXT NOT NULL,
    duration_us INTEGER NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    conditions  TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX check_results_check_at ON check_results(check_id, at);
CREATE INDEX check_results_at ON check_results(at);

-- State changes, with the result that caused them.
CREATE TABLE check_events (
    id          TEXT PRIMARY KEY,
    check_id    TEXT NOT NULL REFERENCES checks(id) ON DELETE CASCADE,
    at          TIMESTAMP NOT NULL,
    from_status TEXT NOT NULL,
    to_status   TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    evidence    TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX check_events_check_at ON check_events(check_id, at);

-- Leases split the checks across replicas: shard = hash(check id) mod N.
CREATE TABLE check_leases (
    shard      INTEGER PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

-- Runs counted per check and hour or day, kept long after raw results are
-- deleted: uptime over 90 days and more. h0..h11 count run durations in the
-- buckets of check.DurationBuckets, for percentiles.
CREATE TABLE check_rollups (
    check_id    TEXT NOT NULL REFERENCES checks(id) ON DELETE CASCADE,
    period      TEXT NOT NULL CHECK (period IN ('hour', 'day')),
    bucket      TIMESTAMP NOT NULL,
    runs        INTEGER NOT NULL DEFAULT 0,
    up          INTEGER NOT NULL DEFAULT 0,
    degraded    INTEGER NOT NULL DEFAULT 0,
    down        INTEGER NOT NULL DEFAULT 0,
    duration_us INTEGER NOT NULL DEFAULT 0,
    h0         INTEGER NOT NULL DEFAULT 0,
    h1         INTEGER NOT NULL DEFAULT 0,
    h2         INTEGER NOT NULL DEFAULT 0,
    h3         INTEGER NOT NULL DEFAULT 0,
    h4         INTEGER NOT NULL DEFAULT 0,
    h5         INTEGER NOT NULL DEFAULT 0,
    h6         INTEGER NOT NULL DEFAULT 0,
    h7         INTEGER NOT NULL DEFAULT 0,
    h8         INTEGER NOT NULL DEFAULT 0,
    h9         INTEGER NOT NULL DEFAULT 0,
    h10        INTEGER NOT NULL DEFAULT 0,
    h11        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (check_id, period, bucket)
);

-- Replicas announce themselves so that each can take its fair share of shards.
CREATE TABLE check_replicas (
    holder  TEXT PRIMARY KEY,
    seen_at TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE check_rollups;
DROP TABLE check_replicas;
DROP TABLE check_leases;
DROP TABLE check_events;
DROP TABLE check_results;
DROP TABLE check_state;
DROP TABLE checks;
