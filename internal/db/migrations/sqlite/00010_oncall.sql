-- +goose Up
-- On-call schedules and escalation policies. The spec is kept whole as
-- JSON, so that it exports exactly as it was applied; the owning team is
-- also a column, so "every schedule of a team" is an index lookup and a
-- team that owns schedules cannot be deleted. People are named inside the
-- spec, not referenced: a schedule keeps its history when someone leaves.
CREATE TABLE oncall_schedules (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    owner_team_id TEXT NOT NULL REFERENCES teams(id),
    spec          TEXT NOT NULL,
    labels        TEXT NOT NULL DEFAULT '{}',
    origin        TEXT NOT NULL DEFAULT '',
    revision      INTEGER NOT NULL DEFAULT 1,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
CREATE INDEX oncall_schedules_owner ON oncall_schedules (owner_team_id);

CREATE TABLE oncall_escalation_policies (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    owner_team_id TEXT NOT NULL REFERENCES teams(id),
    spec          TEXT NOT NULL,
    labels        TEXT NOT NULL DEFAULT '{}',
    origin        TEXT NOT NULL DEFAULT '',
    revision      INTEGER NOT NULL DEFAULT 1,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
CREATE INDEX oncall_escalation_policies_owner ON oncall_escalation_policies (owner_team_id);

-- Per-person secret iCalendar feed tokens: the secret in the feed URL is
-- the credential, so only its SHA-256 is stored (like API tokens). One
-- feed per person: creating a new one replaces the old URL.
CREATE TABLE oncall_ical_tokens (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL UNIQUE REFERENCES users(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    prefix     TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE oncall_ical_tokens;
DROP TABLE oncall_escalation_policies;
DROP TABLE oncall_schedules;
