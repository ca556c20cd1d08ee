-- +goose Up
-- Maintenance windows. The spec (services, environments, one-off start and
-- end or a recurrence in a time zone) is kept whole as JSON, so that it
-- exports exactly as it was applied. Services and environments are named,
-- not referenced by id: windows are few and read whole into memory, and a
-- window must not stop a service from being deleted.
CREATE TABLE maintenance_windows (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    spec       TEXT NOT NULL,
    labels     TEXT NOT NULL DEFAULT '{}',
    origin     TEXT NOT NULL DEFAULT '',
    revision   INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE maintenance_windows;
