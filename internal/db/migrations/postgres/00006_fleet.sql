-- +goose Up
-- Enrollment tokens let an agent join once: operators create them for a
-- location, with an expiry and optionally a number of uses. Only the hash
-- of the secret is stored.
CREATE TABLE agent_enroll_tokens (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    token_hash  TEXT NOT NULL UNIQUE,
    prefix      TEXT NOT NULL,
    location    TEXT NOT NULL,
    uses_left   INTEGER,
    created_by  TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ
);

-- Enrolled agents, each with its own credential (hash only).
CREATE TABLE agents (
    id              UUID PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    location        TEXT NOT NULL,
    credential_hash TEXT NOT NULL UNIQUE,
    prefix          TEXT NOT NULL,
    hostname        TEXT NOT NULL DEFAULT '',
    version         TEXT NOT NULL DEFAULT '',
    protocol        INTEGER NOT NULL,
    token_name      TEXT NOT NULL DEFAULT '',
    enrolled_at     TIMESTAMPTZ NOT NULL,
    last_seen_at    TIMESTAMPTZ,
    revoked_at      TIMESTAMPTZ
);
CREATE INDEX agents_location ON agents(location);

-- Results reported by agents, waiting for the replica that runs the check
-- to fold them into its state (it deletes them as it does). Raw results
-- are stored in check_results when they arrive.
CREATE TABLE check_inbox (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    check_id    UUID NOT NULL REFERENCES checks(id) ON DELETE CASCADE,
    location    TEXT NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    status      TEXT NOT NULL,
    duration_us INTEGER NOT NULL,
    reason      TEXT NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE check_inbox;
DROP TABLE agents;
DROP TABLE agent_enroll_tokens;
