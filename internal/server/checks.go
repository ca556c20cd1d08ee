package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"groundcrew.dev/groundcrew/internal/catalog"
	"groundcrew.dev/groundcrew/internal/check"
	"groundcrew.dev/groundcrew/internal/check/sched"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/maintenance"
	"groundcrew.dev/groundcrew/internal/statuspage"
)

var (
	_ check.Muter         = (*maintenance.Cache)(nil)
	_ maintenance.Catalog = (*catalog.Catalog)(nil)
)

// startChecks starts the check runner, muted during maintenance windows;
// on PostgreSQL, with leases that split the checks across the replicas.
func (s *Server) startChecks(ctx context.Context) error {
	s.MaintenanceCache = maintenance.NewCache(s.DB, maintenance.CacheOptions{Clock: s.opts.Clock, Logger: s.log})
	s.Maintenance.SetChanged(s.MaintenanceCache.Changed)
	if err := s.MaintenanceCache.Start(ctx); err != nil {
		return fmt.Errorf("maintenance windows: %w", err)
	}
	ro := check.RunnerOptions{Clock: s.opts.Clock, Logger: s.log, Muter: s.MaintenanceCache, Sink: s.Alerts,
		Slack: sched.SlackFor(s.opts.Clock)}
	if s.DB.Engine == db.Postgres {
		s.Leases = check.NewLeases(s.DB, s.opts.Clock, s.holder(), check.LeaseOptions{Logger: s.log, TTL: s.opts.LeaseTTL})
		if err := s.Leases.Start(ctx); err != nil {
			return fmt.Errorf("check leases: %w", err)
		}
		ro.Owns = s.Leases.Owns
	}
	s.Runner = check.NewRunner(s.DB, ro)
	s.Checks.SetChanged(s.Runner.Changed)
	if err := s.Runner.Start(ctx); err != nil {
		return fmt.Errorf("check runner: %w", err)
	}
	return nil
}

// ping receives heartbeat pings: GET, HEAD or POST /api/v1/ping/{secret},
// and /api/v1/ping/{secret}/fail with an optional message as the body.
// The secret in the URL is the credential, as cron jobs expect.
func (s *Server) ping(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	fail := strings.HasSuffix(r.URL.Path, "/fail")
	msg := r.URL.Query().Get("msg")
	if r.Method == http.MethodPost {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 16<<10))
		if err != nil {
			http.Error(w, "body over 16 KiB", http.StatusRequestEntityTooLarge)
			return
		}
		if len(body) > 0 {
			msg = string(body)
		}
	}
	if _, err := s.Checks.Ping(r.Context(), r.PathValue("secret"), fail, msg); err != nil {
		code := errs.HTTPStatus(errs.CodeOf(err))
		if code >= 500 {
			s.log.Error("heartbeat ping", "err", err)
		}
		http.Error(w, errs.MessageOf(err), code)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("OK\n"))
}

var (
	checkUpDesc       = prometheus.NewDesc("groundcrew_check_up", "1 when the check's confirmed state is up or degraded, 0 when down or blocked.", []string{"check", "service", "environment", "type"}, nil)
	checkStatusDesc   = prometheus.NewDesc("groundcrew_check_status", "The check's confirmed status (1 for the current one).", []string{"check", "status"}, nil)
	checkDurationDesc = prometheus.NewDesc("groundcrew_check_duration_seconds", "Duration of the check's latest run.", []string{"check"}, nil)
	schedRunsDesc     = prometheus.NewDesc("groundcrew_check_runs_total", "Check runs started by this replica.", nil, nil)
	schedSkippedDesc  = prometheus.NewDesc("groundcrew_check_skipped_total", "Check slots skipped because the previous run of the check was still going.", nil, nil)
	schedLateDesc     = prometheus.NewDesc("groundcrew_check_lateness_seconds", "Lateness of check starts over recent runs, by quantile.", []string{"quantile"}, nil)
)

// checkCollector exposes per-check state and scheduler health.
type checkCollector struct{ s *Server }

func (c *checkCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{checkUpDesc, checkStatusDesc, checkDurationDesc, schedRunsDesc, schedSkippedDesc, schedLateDesc} {
		ch <- d
	}
}

func (c *checkCollector) Collect(ch chan<- prometheus.Metric) {
	r := c.s.Runner
	if r == nil {
		return
	}
	for _, v := range r.Snapshot() {
		up := 0.0
		if v.State.Status == check.Up || v.State.Status == check.Degraded {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(checkUpDesc, prometheus.GaugeValue, up, v.Name, v.Service, v.Environment, string(v.Type))
		ch <- prometheus.MustNewConstMetric(checkStatusDesc, prometheus.GaugeValue, 1, v.Name, string(v.State.Status))
		if v.State.LastRunAt != nil {
			ch <- prometheus.MustNewConstMetric(checkDurationDesc, prometheus.GaugeValue, v.State.LastDuration.Seconds(), v.Name)
		}
	}
	st := r.Stats()
	ch <- prometheus.MustNewConstMetric(schedRunsDesc, prometheus.CounterValue, float64(st.Runs))
	ch <- prometheus.MustNewConstMetric(schedSkippedDesc, prometheus.CounterValue, float64(st.Skipped))
	ch <- prometheus.MustNewConstMetric(schedLateDesc, prometheus.GaugeValue, st.Lateness.P50.Seconds(), "0.5")
	ch <- prometheus.MustNewConstMetric(schedLateDesc, prometheus.GaugeValue, st.Lateness.P99.Seconds(), "0.99")
}

var _ statuspage.Schedule = (*maintenance.Service)(nil)
