-- +goose Up
-- Rollups are no longer added to on every write: a periodic roll-up
-- recomputes the hourly rollups from the raw results (and the daily ones
-- from the hourly) once an hour can no longer get late results, and moves
-- the watermark. Readers add the raw results from the watermark on to the
-- rollups. counted marks the raw rows the rollups count: a run's outcome
-- (not a heartbeat ping, not one location's result of a check probed from
-- several, whose combined outcome is a row of its own).
ALTER TABLE check_results ADD COLUMN counted BOOLEAN NOT NULL DEFAULT FALSE;

-- One row: rollups hold every counted result before rolled_through; since
-- is when the roll-up took over (results before it were added to the
-- rollups as they were written, and are not rolled again).
CREATE TABLE check_rollup_watermark (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    since          TIMESTAMPTZ NOT NULL,
    rolled_through TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE check_rollup_watermark;
ALTER TABLE check_results DROP COLUMN counted;
