-- +goose Up
CREATE TABLE checks (
    id             UUID PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    service_id     UUID NOT NULL REFERENCES services(id),
    environment_id UUID NOT NULL REFERENCES environments(id),
    type           TEXT NOT NULL,
    interval_ms    BIGINT NOT NULL,
    parent_id      UUID REFERENCES checks(id) ON DELETE SET NULL,
    paused         BOOLEAN NOT NULL DEFAULT FALSE,
    spec           TEXT NOT NULL,
    labels         TEXT NOT NULL DEFAULT '{}',
    heartbeat_hash TEXT UNIQUE,
    origin         TEXT NOT NULL DEFAULT '',
    revision       INTEGER NOT NULL DEFAULT 1,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX checks_service ON checks(service_id);
CREATE INDEX checks_environment ON checks(environment_id);
CREATE INDEX checks_parent ON checks(parent_id);

-- The confirmed state of each check, one row per check.
CREATE TABLE check_state (
    check_id     UUID PRIMARY KEY REFERENCES checks(id) ON DELETE CASCADE,
    status       TEXT NOT NULL,
    since        TIMESTAMPTZ NOT NULL,
    reason       TEXT NOT NULL DEFAULT '',
    last_status  TEXT NOT NULL DEFAULT '',
    streak       INTEGER NOT NULL DEFAULT 0,
    last_run_at  TIMESTAMPTZ,
    last_duration_us BIGINT NOT NULL DEFAULT 0,
    fail_streak  INTEGER NOT NULL DEFAULT 0,
    fail_down    BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX check_state_status ON check_state(status);

-- Every run of every check.
CREATE TABLE check_results (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    check_id    UUID NOT NULL REFERENCES checks(id) ON DELETE CASCADE,
    location    TEXT NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    status      TEXT NOT NULL,
    duration_us BIGINT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    conditions  TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX check_results_check_at ON check_results(check_id, at);
CREATE INDEX check_results_at ON check_results(at);

-- State changes, with the result that caused them.
CREATE TABLE check_events (
    id          UUID PRIMARY KEY,
    check_id    UUID NOT NULL REFERENCES checks(id) ON DELETE CASCADE,
    at          TIMESTAMPTZ NOT NULL,
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
    expires_at TIMESTAMPTZ NOT NULL
);

-- Runs counted per check and hour or day, kept long after raw results are
-- deleted: uptime over 90 days and more. h0..h11 count run durations in the
-- buckets of check.DurationBuckets, for percentiles.
CREATE TABLE check_rollups (
    check_id    UUID NOT NULL REFERENCES checks(id) ON DELETE CASCADE,
    period      TEXT NOT NULL CHECK (period IN ('hour', 'day')),
    bucket      TIMESTAMPTZ NOT NULL,
    runs        BIGINT NOT NULL DEFAULT 0,
    up          BIGINT NOT NULL DEFAULT 0,
    degraded    BIGINT NOT NULL DEFAULT 0,
    down        BIGINT NOT NULL DEFAULT 0,
    duration_us BIGINT NOT NULL DEFAULT 0,
    h0         BIGINT NOT NULL DEFAULT 0,
    h1         BIGINT NOT NULL DEFAULT 0,
    h2         BIGINT NOT NULL DEFAULT 0,
    h3         BIGINT NOT NULL DEFAULT 0,
    h4         BIGINT NOT NULL DEFAULT 0,
    h5         BIGINT NOT NULL DEFAULT 0,
    h6         BIGINT NOT NULL DEFAULT 0,
    h7         BIGINT NOT NULL DEFAULT 0,
    h8         BIGINT NOT NULL DEFAULT 0,
    h9         BIGINT NOT NULL DEFAULT 0,
    h10        BIGINT NOT NULL DEFAULT 0,
    h11        BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (check_id, period, bucket)
);

-- Replicas announce themselves so that each can take its fair share of shards.
CREATE TABLE check_replicas (
    holder  TEXT PRIMARY KEY,
    seen_at TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE check_rollups;
DROP TABLE check_replicas;
DROP TABLE check_leases;
DROP TABLE check_events;
DROP TABLE check_results;
DROP TABLE check_state;
DROP TABLE checks;
