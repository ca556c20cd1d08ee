-- +goose Up
-- People's contact methods (e-mail, Slack webhook, generic webhook) and
-- notification rules ("immediately by Slack, after 5 min by e-mail"): what
-- the pager will use. They go with the person.
CREATE TABLE oncall_contact_methods (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    type       TEXT NOT NULL CHECK (type IN ('email', 'slack', 'webhook')),
    address    TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (user_id, name)
);

CREATE TABLE oncall_notification_rules (
    id                TEXT PRIMARY KEY,
    user_id           TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    contact_method_id TEXT NOT NULL REFERENCES oncall_contact_methods(id) ON DELETE CASCADE,
    delay_minutes     INTEGER NOT NULL CHECK (delay_minutes BETWEEN 0 AND 60)
);
CREATE INDEX oncall_notification_rules_user ON oncall_notification_rules (user_id);
CREATE INDEX oncall_notification_rules_method ON oncall_notification_rules (contact_method_id);

-- +goose Down
DROP TABLE oncall_notification_rules;
DROP TABLE oncall_contact_methods;
