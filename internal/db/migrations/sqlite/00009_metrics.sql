-- +goose Up
-- Metric series: a name and a label set. key is the name and the labels
-- sorted by name (name{a="x",b="y"}): one series per distinct pair.
-- updated_at is when samples last arrived (retention drops series that
-- have had none for its whole period).
CREATE TABLE metric_series (
    id         TEXT PRIMARY KEY,
    key        TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    labels     TEXT NOT NULL DEFAULT '{}',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX metric_series_name ON metric_series (name, key);

-- Samples: at is Unix time in milliseconds (compact, and compared as a
-- number on both engines). A re-sent sample replaces the stored value.
CREATE TABLE metric_samples (
    series_id TEXT NOT NULL REFERENCES metric_series (id) ON DELETE CASCADE,
    at        BIGINT NOT NULL,
    value     REAL NOT NULL,
    PRIMARY KEY (series_id, at)
) WITHOUT ROWID;
-- For retention, which deletes by age across series.
CREATE INDEX metric_samples_at ON metric_samples (at);

-- Forecast rules (kind: ForecastRule). The spec is kept whole as JSON, so
-- that it exports exactly as it was applied.
CREATE TABLE forecast_rules (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    spec       TEXT NOT NULL,
    labels     TEXT NOT NULL DEFAULT '{}',
    origin     TEXT NOT NULL DEFAULT '',
    revision   INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- The evaluator's state per (rule, series): since when the condition has
-- held (pending_since), and whether its alert fires. Kept in the database
-- so that a restart, or another replica taking over, keeps the `for`
-- clock. Rules are named, not referenced: when a rule goes away the
-- evaluator resolves its alerts and then deletes the rows.
CREATE TABLE forecast_state (
    rule          TEXT NOT NULL,
    series_id     TEXT NOT NULL REFERENCES metric_series (id) ON DELETE CASCADE,
    pending_since TIMESTAMP,
    firing        BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (rule, series_id)
);

-- +goose Down
DROP TABLE forecast_state;
DROP TABLE forecast_rules;
DROP TABLE metric_samples;
DROP TABLE metric_series;
