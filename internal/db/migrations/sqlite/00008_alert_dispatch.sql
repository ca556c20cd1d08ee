-- +goose Up
-- Named singleton leases: the replica holding one runs a loop that must run
-- once across the replicas (the alert dispatcher).
CREATE TABLE leader_leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

-- Alert routes: each document is a top-level route of the routing tree,
-- ordered by position, then name. The spec is kept whole as JSON.
CREATE TABLE alert_routes (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    position   INTEGER NOT NULL DEFAULT 0,
    spec       TEXT NOT NULL,
    labels     TEXT NOT NULL DEFAULT '{}',
    origin     TEXT NOT NULL DEFAULT '',
    revision   INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Inhibition rules: while an alert matching the source matchers fires,
-- alerts matching the target matchers with the same values of the equal
-- labels are not notified.
CREATE TABLE alert_inhibit_rules (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    spec       TEXT NOT NULL,
    labels     TEXT NOT NULL DEFAULT '{}',
    origin     TEXT NOT NULL DEFAULT '',
    revision   INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Silences mute matching alerts between starts_at and ends_at.
CREATE TABLE alert_silences (
    id         TEXT PRIMARY KEY,
    matchers   TEXT NOT NULL,
    starts_at  TIMESTAMP NOT NULL,
    ends_at    TIMESTAMP NOT NULL,
    created_by TEXT NOT NULL,
    comment    TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX alert_silences_ends ON alert_silences(ends_at);

-- Aggregation groups and what each last notified, so that a restart or a
-- new leader neither repeats nor loses a notification.
CREATE TABLE alert_groups (
    group_key  TEXT PRIMARY KEY,
    route      TEXT NOT NULL,
    labels     TEXT NOT NULL DEFAULT '{}',
    state      TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Every notification a group sent: why, to whom, which alerts.
CREATE TABLE alert_notifications (
    id         TEXT PRIMARY KEY,
    group_key  TEXT NOT NULL,
    route      TEXT NOT NULL,
    receiver   TEXT NOT NULL,
    reason     TEXT NOT NULL,
    at         TIMESTAMP NOT NULL,
    firing     INTEGER NOT NULL,
    resolved   INTEGER NOT NULL,
    detail     TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX alert_notifications_at ON alert_notifications(at);
CREATE INDEX alert_notifications_group ON alert_notifications(group_key, at);

-- Alerts changed since the dispatcher last looked: written in the
-- transaction of the change, consumed (deleted) by the dispatcher.
CREATE TABLE alert_dispatch_queue (
    id       INTEGER PRIMARY KEY,
    alert_id TEXT NOT NULL
);

-- Server-wide settings; "secret-key-check" holds a value sealed with the
-- secret key, so that a replica started with another key refuses to run
-- instead of failing to read every secret.
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- +goose Down
DROP TABLE settings;
DROP TABLE alert_dispatch_queue;
DROP TABLE alert_notifications;
DROP TABLE alert_groups;
DROP TABLE alert_silences;
DROP TABLE alert_inhibit_rules;
DROP TABLE alert_routes;
DROP TABLE leader_leases;
