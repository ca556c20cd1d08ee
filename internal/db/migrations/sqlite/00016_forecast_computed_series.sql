-- +goose Up
-- Forecast rules may read computed series (a check's durations) that have
-- no row in metric_series: the evaluator's state no longer references it.
-- The evaluator forgets the state of series that stop matching, so nothing
-- is left behind when a pushed series is pruned.
CREATE TABLE forecast_state_new (
    rule          TEXT NOT NULL,
    series_id     TEXT NOT NULL,
    pending_since TIMESTAMP,
    firing        BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (rule, series_id)
);
INSERT INTO forecast_state_new SELECT rule, series_id, pending_since, firing, updated_at FROM forecast_state;
DROP TABLE forecast_state;
ALTER TABLE forecast_state_new RENAME TO forecast_state;

-- +goose Down
DELETE FROM forecast_state WHERE series_id NOT IN (SELECT id FROM metric_series);
CREATE TABLE forecast_state_old (
    rule          TEXT NOT NULL,
    series_id     TEXT NOT NULL REFERENCES metric_series (id) ON DELETE CASCADE,
    pending_since TIMESTAMP,
    firing        BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (rule, series_id)
);
INSERT INTO forecast_state_old SELECT rule, series_id, pending_since, firing, updated_at FROM forecast_state;
DROP TABLE forecast_state;
ALTER TABLE forecast_state_old RENAME TO forecast_state;
