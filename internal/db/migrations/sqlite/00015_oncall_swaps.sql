-- +goose Up
-- Swaps: a person on call asks someone else to cover a period of their
-- shift (cover), or to trade it for a period of theirs (trade). Nothing
-- changes coverage while a swap is pending: accepting it adds replace
-- overrides to the schedule in the same transaction. People are named,
-- not referenced, as in schedules; a pending swap expires when its first
-- period starts (expires_at).
CREATE TABLE oncall_swaps (
    id              TEXT PRIMARY KEY,
    schedule_id     TEXT NOT NULL REFERENCES oncall_schedules(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('cover', 'trade')),
    requester       TEXT NOT NULL,
    counterpart     TEXT NOT NULL,
    starts_at       TIMESTAMP NOT NULL,
    ends_at         TIMESTAMP NOT NULL,
    trade_starts_at TIMESTAMP,
    trade_ends_at   TIMESTAMP,
    expires_at      TIMESTAMP NOT NULL,
    message         TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'declined', 'cancelled', 'expired')),
    created_by      TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    decided_by      TEXT NOT NULL DEFAULT '',
    decided_at      TIMESTAMP
);
CREATE INDEX oncall_swaps_schedule ON oncall_swaps (schedule_id, id);
CREATE INDEX oncall_swaps_requester ON oncall_swaps (requester, id);
CREATE INDEX oncall_swaps_counterpart ON oncall_swaps (counterpart, id);
CREATE INDEX oncall_swaps_pending ON oncall_swaps (expires_at) WHERE status = 'pending';

-- +goose Down
DROP TABLE oncall_swaps;
