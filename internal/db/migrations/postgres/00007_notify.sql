-- +goose Up
-- Notification receivers: named sets of channels. The spec (description,
-- owner, channels) is kept as JSON with every secret replaced by the
-- literal "<redacted>"; the secrets themselves (SMTP passwords, Slack and
-- Teams webhook URLs, webhook signing secrets, bearer tokens, webhook URLs
-- carrying credentials) are one JSON document sealed with the server key
-- (internal/secret), so a database dump alone reveals none of them.
CREATE TABLE notify_receivers (
    id            UUID PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    owner_team_id UUID REFERENCES teams(id) ON DELETE SET NULL,
    spec          TEXT NOT NULL,
    secrets       TEXT NOT NULL DEFAULT '',
    labels        TEXT NOT NULL DEFAULT '{}',
    origin        TEXT NOT NULL DEFAULT '',
    revision      INTEGER NOT NULL DEFAULT 1,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX notify_receivers_owner ON notify_receivers (owner_team_id);

-- One delivery per notification and channel of its receiver; a River job
-- sends it. The receiver's name is kept so that the history outlives a
-- deleted receiver (receiver_id becomes NULL).
CREATE TABLE notify_deliveries (
    id             UUID PRIMARY KEY,
    receiver_id    UUID REFERENCES notify_receivers(id) ON DELETE SET NULL,
    receiver       TEXT NOT NULL,
    channel_index  INTEGER NOT NULL,
    channel_type   TEXT NOT NULL,
    group_key      TEXT NOT NULL DEFAULT '',
    reason         TEXT NOT NULL DEFAULT '',
    payload        TEXT NOT NULL,
    status         TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts       INTEGER NOT NULL DEFAULT 0,
    last_error     TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    delivered_at   TIMESTAMPTZ
);
CREATE INDEX notify_deliveries_receiver ON notify_deliveries (receiver, id);
CREATE INDEX notify_deliveries_status ON notify_deliveries (status, id);

-- Every attempt of a delivery, as it went.
CREATE TABLE notify_attempts (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id UUID NOT NULL REFERENCES notify_deliveries(id) ON DELETE CASCADE,
    at          TIMESTAMPTZ NOT NULL,
    duration_us BIGINT NOT NULL,
    ok          BOOLEAN NOT NULL,
    status_code INTEGER NOT NULL DEFAULT 0,
    error       TEXT NOT NULL DEFAULT '',
    retryable   BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX notify_attempts_delivery ON notify_attempts (delivery_id, id);

-- +goose Down
DROP TABLE notify_attempts;
DROP TABLE notify_deliveries;
DROP TABLE notify_receivers;
