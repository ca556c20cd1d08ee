-- +goose Up
-- Public status pages. The spec (title, components with the services and
-- checks they show) is kept whole as JSON, so that it exports exactly as it
-- was applied; status_page_refs holds the same references flattened, for
-- the queries that join them to checks.
CREATE TABLE status_pages (
    id         UUID PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    title      TEXT NOT NULL,
    spec       TEXT NOT NULL,
    labels     TEXT NOT NULL DEFAULT '{}',
    notice_seq BIGINT NOT NULL DEFAULT 0,
    origin     TEXT NOT NULL DEFAULT '',
    revision   INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- One row per service of a component that shows all of the service's
-- checks (check_name ''), or per check a component names. Names, not ids:
-- a page keeps naming a service or check deleted later, and shows it again
-- if it comes back.
CREATE TABLE status_page_refs (
    page_id      UUID NOT NULL REFERENCES status_pages(id) ON DELETE CASCADE,
    component    INTEGER NOT NULL,
    service_name TEXT NOT NULL DEFAULT '',
    check_name   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX status_page_refs_page ON status_page_refs(page_id);
CREATE INDEX status_page_refs_service ON status_page_refs(service_name);
CREATE INDEX status_page_refs_check ON status_page_refs(check_name);

-- Incident and maintenance notices, numbered per page.
CREATE TABLE status_notices (
    id         UUID PRIMARY KEY,
    page_id    UUID NOT NULL REFERENCES status_pages(id) ON DELETE CASCADE,
    number     BIGINT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('incident', 'maintenance')),
    title      TEXT NOT NULL,
    status     TEXT NOT NULL,
    components TEXT NOT NULL DEFAULT '[]',
    starts_at  TIMESTAMPTZ NOT NULL,
    ends_at    TIMESTAMPTZ,
    closed_at  TIMESTAMPTZ,
    ref        TEXT NOT NULL DEFAULT '',
    revision   INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (page_id, number)
);
CREATE INDEX status_notices_ref ON status_notices(ref);

-- The public timeline of a notice.
CREATE TABLE status_notice_updates (
    id        UUID PRIMARY KEY,
    notice_id UUID NOT NULL REFERENCES status_notices(id) ON DELETE CASCADE,
    at        TIMESTAMPTZ NOT NULL,
    status    TEXT NOT NULL,
    message   TEXT NOT NULL,
    author    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX status_notice_updates_notice ON status_notice_updates(notice_id, at);

-- +goose Down
DROP TABLE status_notice_updates;
DROP TABLE status_notices;
DROP TABLE status_page_refs;
DROP TABLE status_pages;
