-- +goose Up
-- Incidents: declared by people (or from an alert), numbered INC-1, INC-2…
-- per installation. The number comes from the single counter row, bumped
-- in the declaring transaction: the UPDATE serializes declarations (a row
-- lock on PostgreSQL, the one writer on SQLite), so numbers are unique and
-- gapless even with several replicas, and a rolled-back declaration gives
-- its number back.
CREATE TABLE incident_counter (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    last_number BIGINT NOT NULL
);
INSERT INTO incident_counter (id, last_number) VALUES (1, 0);

-- One row per incident. Times are set as they happen: acknowledged_at by
-- the first acknowledgement (MTTA), mitigated_at when it first reaches
-- monitoring or resolved, resolved_at when resolved (cleared on re-open).
-- timeline_seq is the last timeline entry's seq: appending bumps it, which
-- also serializes writers of one incident. People are kept by name, so an
-- incident keeps its history when someone leaves.
CREATE TABLE incidents (
    id              UUID PRIMARY KEY,
    number          BIGINT NOT NULL UNIQUE,
    title           TEXT NOT NULL,
    severity        TEXT NOT NULL CHECK (severity IN ('SEV1', 'SEV2', 'SEV3', 'SEV4')),
    status          TEXT NOT NULL CHECK (status IN ('investigating', 'identified', 'monitoring', 'resolved')),
    summary         TEXT NOT NULL DEFAULT '',
    source_kind     TEXT NOT NULL DEFAULT 'manual' CHECK (source_kind IN ('manual', 'alert', 'ticket')),
    source_ref      TEXT NOT NULL DEFAULT '',
    declared_by     TEXT NOT NULL,
    declared_at     TIMESTAMPTZ NOT NULL,
    acknowledged_at TIMESTAMPTZ,
    acknowledged_by TEXT NOT NULL DEFAULT '',
    mitigated_at    TIMESTAMPTZ,
    resolved_at     TIMESTAMPTZ,
    timeline_seq    BIGINT NOT NULL DEFAULT 0,
    revision        INTEGER NOT NULL DEFAULT 1,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX incidents_status ON incidents (status, number);
CREATE INDEX incidents_declared ON incidents (declared_at);

-- The catalog services an incident affects, by name: the incident keeps
-- them when a service is deleted; owner teams are looked up when read.
CREATE TABLE incident_services (
    incident_id UUID NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    service     TEXT NOT NULL,
    added_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (incident_id, service)
);
CREATE INDEX incident_services_service ON incident_services (service);

-- Who holds which role: lead (always exactly one), communications,
-- scribe, or a custom role name. One person per role.
CREATE TABLE incident_roles (
    incident_id UUID NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    role        TEXT NOT NULL,
    user_name   TEXT NOT NULL,
    assigned_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (incident_id, role)
);

-- The append-only timeline: everything that happened, by whom. Entries
-- other domains add (alerts, pages, checks, access grants) come through
-- the service's hooks. seq orders entries of the same instant.
CREATE TABLE incident_timeline (
    id          UUID PRIMARY KEY,
    incident_id UUID NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    seq         BIGINT NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    kind        TEXT NOT NULL,
    actor       TEXT NOT NULL DEFAULT '',
    text        TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '{}',
    UNIQUE (incident_id, seq)
);
CREATE INDEX incident_timeline_at ON incident_timeline (incident_id, at, seq);

-- The public status page notice each incident posts to, per page: the
-- first post creates the notice, later ones add updates to it.
CREATE TABLE incident_status_notices (
    incident_id   UUID NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    page          TEXT NOT NULL,
    notice_number BIGINT NOT NULL,
    PRIMARY KEY (incident_id, page)
);

-- One postmortem per incident, created from a template prefilled from the
-- incident; its timeline is a copy (JSON rows) of the incident's timeline
-- when it was created. Review: draft → in_review → approved.
CREATE TABLE incident_postmortems (
    incident_id  UUID PRIMARY KEY REFERENCES incidents(id) ON DELETE CASCADE,
    status       TEXT NOT NULL CHECK (status IN ('draft', 'in_review', 'approved')),
    summary      TEXT NOT NULL DEFAULT '',
    impact       TEXT NOT NULL DEFAULT '',
    timeline     TEXT NOT NULL DEFAULT '[]',
    root_causes  TEXT NOT NULL DEFAULT '',
    went_well    TEXT NOT NULL DEFAULT '',
    went_wrong   TEXT NOT NULL DEFAULT '',
    lessons      TEXT NOT NULL DEFAULT '',
    created_by   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    submitted_by TEXT NOT NULL DEFAULT '',
    submitted_at TIMESTAMPTZ,
    approved_by  TEXT NOT NULL DEFAULT '',
    approved_at  TIMESTAMPTZ,
    revision     INTEGER NOT NULL DEFAULT 1,
    updated_at   TIMESTAMPTZ NOT NULL
);

-- Action items of a postmortem: owned by a team (which cannot be deleted
-- while it owns some), due on a date (YYYY-MM-DD), tracked to done.
CREATE TABLE incident_action_items (
    id            UUID PRIMARY KEY,
    incident_id   UUID NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    title         TEXT NOT NULL,
    owner_team_id UUID NOT NULL REFERENCES teams(id),
    due_date      TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('open', 'done')),
    done_by       TEXT NOT NULL DEFAULT '',
    done_at       TIMESTAMPTZ,
    created_by    TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX incident_action_items_incident ON incident_action_items (incident_id);
CREATE INDEX incident_action_items_team ON incident_action_items (owner_team_id, status, due_date);

-- +goose Down
DROP TABLE incident_action_items;
DROP TABLE incident_postmortems;
DROP TABLE incident_status_notices;
DROP TABLE incident_timeline;
DROP TABLE incident_roles;
DROP TABLE incident_services;
DROP TABLE incidents;
DROP TABLE incident_counter;
