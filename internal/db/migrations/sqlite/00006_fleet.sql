-- +goose Up
-- Enrollment tokens let an agent join once: operators create them for a
-- location, with an expiry and optionally a number of uses. Only the hash
-- of the secret is stored.
CREATE TABLE agent_enroll_tokens (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    token_hash  TEXT NOT NULL UNIQUE,
    prefix      TEXT NOT NULL,
    location    TEXT NOT NULL,
    uses_left   INTEGER,
    created_by  TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    revoked_at  TIMESTAMP
);

-- Enrolled agents, each with its own credential (hash only).
CREATE TABLE agents (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    location        TEXT NOT NULL,
    credential_hash TEXT NOT NULL UNIQUE,
    prefix          TEXT NOT NULL,
    hostname        TEXT NOT NULL DEFAULT '',
    version         TEXT NOT NULL DEFAULT '',
    protocol        INTEGER NOT NULL,
    token_name      TEXT NOT NULL DEFAULT '',
    enrolled_at     TIMESTAMP NOT NULL,
    last_seen_at    TIMESTAMP,
    revoked_at      TIMESTAMP
);
CREATE INDEX agents_location ON agents(location);

-- Results reported by agents, waiting for the replica that runs the check
-- to fold them into its state (it deletes them as it does). Raw results
-- are stored in check_results when they arrive.
CREATE TABLE check_inbox (
    id          INTEGER PRIMARY KEY,
    check_id    TEXT NOT NULL REFERENCES checks(id) ON DELETE CASCADE,
    location    TEXT NOT NULL,
    at          TIMESTAMP NOT NULL,
    status      TEXT NOT NULL,
    duration_us INTEGER NOT NULL,
    reason      TEXT NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE check_inbox;
DROP TABLE agents;
DROP TABLE agent_enroll_tokens;
