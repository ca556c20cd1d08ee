-- +goose Up
-- Pages: an alert group routed to an escalation policy (or a person paging
-- by hand) opens a page that notifies the policy's steps one after the
-- other until someone acknowledges it. The page row is the escalation's
-- state (step, round, next_at); every change bumps version, and the pager
-- changes a page only where its version is still the one it read, so two
-- replicas (or a restart) never notify a step twice.
CREATE TABLE pages (
    id              UUID PRIMARY KEY,
    group_key       TEXT NOT NULL DEFAULT '',
    policy          TEXT NOT NULL,
    policy_id       UUID REFERENCES oncall_escalation_policies(id) ON DELETE SET NULL,
    service         TEXT NOT NULL DEFAULT '',
    team            TEXT NOT NULL DEFAULT '',
    summary         TEXT NOT NULL,
    details         TEXT NOT NULL DEFAULT '{}',
    status          TEXT NOT NULL CHECK (status IN ('triggered', 'acknowledged', 'resolved')),
    step            INTEGER NOT NULL DEFAULT -1,
    round           INTEGER NOT NULL DEFAULT 0,
    seq             INTEGER NOT NULL DEFAULT 0,
    next_at         TIMESTAMPTZ,
    exhausted       BOOLEAN NOT NULL DEFAULT FALSE,
    version         INTEGER NOT NULL DEFAULT 1,
    acknowledged_by TEXT NOT NULL DEFAULT '',
    acknowledged_at TIMESTAMPTZ,
    resolved_by     TEXT NOT NULL DEFAULT '',
    resolved_at     TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
-- One open page per alert group.
CREATE UNIQUE INDEX pages_open_group ON pages (group_key) WHERE status <> 'resolved' AND group_key <> '';
CREATE INDEX pages_due ON pages (next_at) WHERE next_at IS NOT NULL;
CREATE INDEX pages_created ON pages (created_at, id);

-- A page's life: opened, notified, nobody on call, acknowledged,
-- escalated, snoozed, resolved, exhausted, messages queued.
CREATE TABLE page_events (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    page_id UUID NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    at      TIMESTAMPTZ NOT NULL,
    kind    TEXT NOT NULL,
    actor   TEXT NOT NULL DEFAULT '',
    detail  TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX page_events_page ON page_events (page_id, id);

-- What a step's notification owes each person: one row per notification
-- (seq) and contact method, due after the person's rule delay. The sender
-- bundles the due rows of a contact method into one message, within the
-- method's throttle, and marks them sent in the transaction that queues the
-- message; rows of pages acknowledged meanwhile are cancelled.
CREATE TABLE page_sends (
    id                UUID PRIMARY KEY,
    page_id           UUID NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    seq               INTEGER NOT NULL,
    step              INTEGER NOT NULL,
    round             INTEGER NOT NULL,
    user_name         TEXT NOT NULL,
    contact_method_id UUID NOT NULL REFERENCES oncall_contact_methods(id) ON DELETE CASCADE,
    due_at            TIMESTAMPTZ NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'cancelled')),
    message_id        UUID,
    created_at        TIMESTAMPTZ NOT NULL,
    UNIQUE (page_id, seq, contact_method_id, due_at)
);
CREATE INDEX page_sends_pending ON page_sends (due_at) WHERE status = 'pending';
CREATE INDEX page_sends_page ON page_sends (page_id);

-- Messages sent to a contact method (one per bundle): the throttle counts
-- them.
CREATE TABLE page_messages (
    id                UUID PRIMARY KEY,
    contact_method_id UUID NOT NULL REFERENCES oncall_contact_methods(id) ON DELETE CASCADE,
    user_name         TEXT NOT NULL,
    delivery_id       UUID,
    pages             INTEGER NOT NULL,
    sent_at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX page_messages_contact ON page_messages (contact_method_id, sent_at);

-- A delivery to an ad-hoc channel (a person's contact method) has no
-- receiver: its channel is stored with it, sealed with the server key.
ALTER TABLE notify_deliveries ADD COLUMN channel TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE notify_deliveries DROP COLUMN channel;
DROP TABLE page_messages;
DROP TABLE page_sends;
DROP TABLE page_events;
DROP TABLE pages;
