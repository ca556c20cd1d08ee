package server

import (
	"context"
	"time"

	"groundcrew.dev/groundcrew/internal/apply"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/jobs"
	"groundcrew.dev/groundcrew/internal/metric"
	"groundcrew.dev/groundcrew/internal/metric/checkseries"
)

// startForecasts creates the metric service, registers the ForecastRule
// kind and starts the forecast evaluator (every minute; on PostgreSQL one
// replica at a time, which also prunes old samples). Call it before the
// configuration directory is applied, so that it may hold forecast rules.
func (s *Server) startForecasts(ctx context.Context) {
	s.Metrics = metric.NewService(s.DB, s.opts.Clock, metric.Options{Logger: s.log})
	s.Metrics.SetSource(checkseries.New(s.DB)) // check durations as series, read from the results
	apply.RegisterForecasts(s.Registry, s.Metrics)
	opts := metric.EvaluatorOptions{Clock: s.opts.Clock, Logger: s.log, BaseURL: s.baseURL}
	if s.DB.Engine == db.Postgres {
		ttl := 3 * time.Minute // several rounds long, or leadership would flap
		if s.opts.LeaseTTL > 0 {
			ttl = max(s.opts.LeaseTTL, 5*time.Second)
		}
		opts.Leader = jobs.NewLeader(s.DB, s.opts.Clock, "forecast-evaluator", s.holder(), ttl, s.log)
	}
	s.Forecasts = metric.NewEvaluator(s.Metrics, s.Alerts, opts)
	// The evaluator lives until Shutdown, not until the start-up context ends.
	s.Forecasts.Start(context.WithoutCancel(ctx))
}
