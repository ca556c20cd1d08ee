-- +goose Up
-- Integration keys: one per alert source (a Prometheus, an Alertmanager, a
-- PagerDuty-style sender, a script), optionally scoped to a service or a
-- team. Only the SHA-256 of the key is stored; prefix lets people
-- recognise it.
CREATE TABLE alert_integrations (
    id           UUID PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    type         TEXT NOT NULL CHECK (type IN ('alertmanager', 'pagerduty', 'webhook')),
    service_id   UUID REFERENCES services(id) ON DELETE SET NULL,
    team_id      UUID REFERENCES teams(id) ON DELETE SET NULL,
    key_hash     TEXT NOT NULL UNIQUE,
    key_prefix   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    revoked_at   TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ
);

-- Alerts. At most one open (firing) alert per fingerprint; an alert that
-- resolved and fires again is a new row, linked through its history.
-- ends_at of a firing alert is when it resolves unless refreshed (NULL:
-- only an explicit resolve ends it); of a resolved one, when it resolved.
CREATE TABLE alerts (
    id              UUID PRIMARY KEY,
    fingerprint     TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('firing', 'resolved')),
    severity        TEXT NOT NULL DEFAULT '',
    summary         TEXT NOT NULL DEFAULT '',
    labels          TEXT NOT NULL DEFAULT '{}',
    annotations     TEXT NOT NULL DEFAULT '{}',
    source          TEXT NOT NULL,
    integration_id  UUID REFERENCES alert_integrations(id),
    service_id      UUID REFERENCES services(id) ON DELETE SET NULL,
    dedup_key       TEXT NOT NULL DEFAULT '',
    generator_url   TEXT NOT NULL DEFAULT '',
    starts_at       TIMESTAMPTZ NOT NULL,
    ends_at         TIMESTAMPTZ,
    last_seen_at    TIMESTAMPTZ NOT NULL,
    refresh_count   BIGINT NOT NULL DEFAULT 1,
    acknowledged_at TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX alerts_open_fingerprint ON alerts(fingerprint) WHERE status = 'firing';
CREATE INDEX alerts_fingerprint ON alerts(fingerprint, starts_at);
CREATE INDEX alerts_service_status ON alerts(service_id, status);
CREATE INDEX alerts_status_ends ON alerts(status, ends_at);
CREATE INDEX alerts_dedup_key ON alerts(dedup_key);

-- The life of each alert: fired, refreshed, resolved, refired (flapping),
-- acknowledged… with who or what caused it.
CREATE TABLE alert_events (
    id             UUID PRIMARY KEY,
    alert_id       UUID NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    at             TIMESTAMPTZ NOT NULL,
    kind           TEXT NOT NULL,
    actor          TEXT NOT NULL DEFAULT '',
    integration_id UUID REFERENCES alert_integrations(id),
    detail         TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX alert_events_alert_at ON alert_events(alert_id, at);

-- +goose Down
DROP TABLE alert_events;
DROP TABLE alerts;
DROP TABLE alert_integrations;
