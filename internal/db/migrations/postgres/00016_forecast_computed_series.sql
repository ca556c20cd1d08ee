-- +goose Up
-- Forecast rules may read computed series (a check's durations) that have
-- no row in metric_series: the evaluator's state no longer references it.
-- The evaluator forgets the state of series that stop matching, so nothing
-- is left behind when a pushed series is pruned.
ALTER TABLE forecast_state DROP CONSTRAINT IF EXISTS forecast_state_series_id_fkey;

-- +goose Down
DELETE FROM forecast_state WHERE series_id NOT IN (SELECT id FROM metric_series);
ALTER TABLE forecast_state ADD CONSTRAINT forecast_state_series_id_fkey FOREIGN KEY (series_id) REFERENCES metric_series (id) ON DELETE CASCADE;
