// Package server wires `groundcrew serve`: configuration → database →
// jobs → domain services → HTTP. Main and the end-to-end tests both run a
// Server, so the tests exercise exactly what people run.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"groundcrew.dev/groundcrew/internal/alert"
	"groundcrew.dev/groundcrew/internal/api"
	"groundcrew.dev/groundcrew/internal/apply"
	"groundcrew.dev/groundcrew/internal/catalog"
	"groundcrew.dev/groundcrew/internal/check"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/config"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/fleet"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/incident"
	"groundcrew.dev/groundcrew/internal/jobs"
	"groundcrew.dev/groundcrew/internal/maintenance"
	"groundcrew.dev/groundcrew/internal/metric"
	"groundcrew.dev/groundcrew/internal/notify"
	"groundcrew.dev/groundcrew/internal/oncall"
	"groundcrew.dev/groundcrew/internal/oncall/pager"
	"groundcrew.dev/groundcrew/internal/secret"
	"groundcrew.dev/groundcrew/internal/statuspage"
)

// Version is the groundcrew version, set at build time with -ldflags.
var Version = "dev"

// Options are the parts of a Server that tests replace. The zero value
// uses the real clock, the process environment and standard error.
type Options struct {
	Clock  clock.Clock
	Getenv func(string) string
	Out    io.Writer // where logs and the start-up banner go
	// CheckLimits bound check definitions (minimum interval…); zero means
	// the defaults.
	CheckLimits check.Limits
	// Holder names this replica in check leases; default host name + pid.
	Holder string
	// LeaseTTL is how long a replica's check leases last unless renewed;
	// zero means 30 s. Tests shorten it.
	LeaseTTL time.Duration
}

// Server is a running groundcrew server.
type Server struct {
	cfg  config.Config
	opts Options
	// holderName names this replica in leases; see holder.
	holderName string
	box        *secret.Box // seals secrets, signs links
	log        *slog.Logger
	DB         *db.DB
	Identity   *identity.Service
	Catalog    *catalog.Catalog
	Registry   *apply.Registry
	Checks     *check.Service
	// StatusPages manages the public status pages.
	StatusPages *statuspage.Service
	// Maintenance manages maintenance windows; MaintenanceCache holds them
	// compiled for the check runner's muting.
	Maintenance      *maintenance.Service
	MaintenanceCache *maintenance.Cache
	Runner           *check.Runner
	// Alerts stores and ingests alerts; AlertSweeper resolves the expired.
	Alerts       *alert.Service
	AlertSweeper *alert.Sweeper
	// Dispatcher routes, groups and notifies alerts (one replica at a time).
	Dispatcher *alert.Dispatcher
	// Fleet manages agent enrollment and the agents.
	Fleet *fleet.Service
	// Metrics stores metric series and forecast rules; Forecasts runs the
	// rules (one replica at a time).
	Metrics   *metric.Service
	Forecasts *metric.Evaluator
	// OnCall manages schedules and escalation policies: who is on call.
	OnCall *oncall.Service
	// Incidents runs incidents, postmortems and their reports.
	Incidents *incident.Service
	// Pager opens pages and escalates them (one replica at a time).
	Pager *pager.Pager
	// Notify manages notification receivers and sends deliveries.
	Notify  *notify.Service
	Leases  *check.Leases
	Jobs    *jobs.Runner
	metrics *prometheus.Registry
	http    *http.Server
	ln      net.Listener
	done    chan error
}

// New returns a server for cfg; Start runs it.
func New(cfg config.Config, opts Options) *Server {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.Out == nil {
		opts.Out = os.Stderr
	}
	return &Server{cfg: cfg, opts: opts, log: NewLogger(opts.Out, cfg.LogFormat, cfg.LogLevel)}
}

// NewLogger returns the structured logger for format ("text" or "json")
// and level.
func NewLogger(w io.Writer, format, level string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	o := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, o))
	}
	return slog.New(slog.NewTextHandler(w, o))
}

// Start opens and migrates the database, prepares the first admin, applies
// the configuration directory, starts background jobs and begins serving
// HTTP. It returns once the server accepts connections.
func (s *Server) Start(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			s.cleanup(context.Background())
		}
	}()
	s.log.Info("starting groundcrew", "version", Version, "database", db.Redact(s.cfg.Database))
	if s.DB, err = db.Open(ctx, s.cfg.Database, db.Options{Logger: s.log}); err != nil {
		return err
	}
	if _, err = s.DB.Migrate(ctx); err != nil {
		return err
	}
	if err = jobs.Migrate(ctx, s.DB); err != nil {
		return err
	}
	s.Identity = identity.NewService(s.DB, s.opts.Clock, s.log, identity.Options{})
	s.Catalog = catalog.New(s.DB, s.opts.Clock, s.Identity, s.log)
	s.Registry = apply.NewRegistry(s.DB)
	apply.RegisterCore(s.Registry, s.Identity, s.Catalog)
	s.Checks = check.NewService(s.DB, s.opts.Clock, s.Catalog, check.Options{Logger: s.log, Limits: s.opts.CheckLimits})
	apply.RegisterChecks(s.Registry, s.Checks)
	s.Maintenance = maintenance.NewService(s.DB, s.opts.Clock, s.Catalog, maintenance.Options{Logger: s.log})
	apply.RegisterMaintenance(s.Registry, s.Maintenance)
	s.StatusPages = statuspage.NewService(s.DB, s.opts.Clock, s.Catalog, statuspage.Options{Logger: s.log, Schedule: s.Maintenance})
	apply.RegisterStatusPages(s.Registry, s.StatusPages)
	s.OnCall = oncall.NewService(s.DB, s.opts.Clock, s.Identity, s.Catalog, oncall.Options{Logger: s.log})
	apply.RegisterOnCall(s.Registry, s.OnCall)
	s.Incidents = incident.NewService(s.DB, s.opts.Clock, s.Identity, s.Catalog, incident.Options{Logger: s.log, StatusPages: s.StatusPages})
	rate, _ := s.cfg.AlertKeyRateValue() // validated when the config was resolved
	s.Alerts = alert.NewService(s.DB, s.opts.Clock, s.Catalog, s.Identity, alert.Options{Logger: s.log, Rate: rate, Burst: int(10 * rate)})
	s.Fleet = fleet.NewService(s.DB, s.opts.Clock, fleet.Options{Logger: s.log})
	box, err := secret.Load(s.opts.Getenv, s.cfg.DataDir)
	if err != nil {
		return err
	}
	if err = secret.CheckShared(ctx, s.DB, box); err != nil {
		return err
	}
	s.box = box
	s.Notify = notify.NewService(s.DB, s.opts.Clock, box, s.Identity, notify.ServiceOptions{Logger: s.log})
	s.Notify.SetFailureSink(s.Alerts) // a notification lost for good raises an alert
	s.Pager = s.newPager()
	s.Alerts.SetIncidents(incidentTimeline{s.Incidents}) // check state changes reach incident timelines
	s.OnCall.SetSwapNotifier(swapNotices{oncall: s.OnCall, notify: s.Notify, mailer: s.cfg.PagingMailer, baseURL: s.baseURL, log: s.log})
	apply.RegisterReceivers(s.Registry, s.Notify)
	apply.RegisterAlerts(s.Registry, s.Alerts, func() {
		if s.Dispatcher != nil {
			s.Dispatcher.Wake()
		}
	})
	s.startForecasts(ctx)

	setup, err := s.Identity.Bootstrap(ctx, s.opts.Getenv("GROUNDCREW_ADMIN_PASSWORD"))
	if err != nil {
		return err
	}
	if s.cfg.ConfigDir != "" {
		if err = s.applyConfigDir(ctx); err != nil {
			return err
		}
	}
	if err = s.startJobs(ctx); err != nil {
		return err
	}
	if err = s.startChecks(ctx); err != nil {
		return err
	}
	s.metrics = s.newMetrics()
	handler := s.handler()
	s.http = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	if s.ln, err = net.Listen("tcp", s.cfg.Listen); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if s.cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(s.cfg.TLSCert, s.cfg.TLSKey)
		if err != nil {
			return fmt.Errorf("tls: %w", err)
		}
		s.http.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.ln = tls.NewListener(s.ln, s.http.TLSConfig)
	}
	s.startAlerts(ctx)
	s.done = make(chan error, 1)
	go func() { s.done <- s.http.Serve(s.ln) }()
	s.banner(setup)
	return nil
}

// URL returns the base URL the server listens on (with the real port when
// --listen asked for port 0).
func (s *Server) URL() string {
	scheme := "http"
	if s.cfg.TLSCert != "" {
		scheme = "https"
	}
	return scheme + "://" + s.ln.Addr().String()
}

func (s *Server) baseURL() string {
	if strings.HasSuffix(s.cfg.BaseURL, ":0") && s.ln != nil {
		return s.URL()
	}
	return s.cfg.BaseURL
}

func (s *Server) banner(setup string) {
	base := s.baseURL()
	switch {
	case setup != "":
		s.log.Warn("no administrator yet: open the one-time setup link to choose the admin password (valid 24 h)",
			"url", base+"/setup?token="+setup)
	default:
		s.log.Info("log in as admin (password from GROUNDCREW_ADMIN_PASSWORD) or with your account", "url", base+"/login")
	}
	s.log.Info("groundcrew is ready", "url", base, "api", base+api.Prefix, "openapi", base+api.Prefix+"/openapi.json")
}

func (s *Server) applyConfigDir(ctx context.Context) error {
	docs, err := apply.ReadPaths(s.cfg.ConfigDir)
	if err != nil {
		return fmt.Errorf("config dir %s: %w", s.cfg.ConfigDir, err)
	}
	res, err := s.Registry.Apply(identity.WithActor(ctx, identity.System()), docs, apply.Options{Set: "config-dir"})
	if err != nil {
		return fmt.Errorf("config dir %s: %w", s.cfg.ConfigDir, err)
	}
	counts := map[string]int{}
	for _, c := range res.Changes {
		counts[c.Action]++
	}
	s.log.Info("applied config dir", "dir", s.cfg.ConfigDir, "documents", len(docs), "created", counts["created"],
		"configured", counts["configured"], "unchanged", counts["unchanged"])
	for _, w := range res.Warnings {
		s.log.Warn("config dir", "warning", w)
	}
	return nil
}

func (s *Server) startJobs(ctx context.Context) error {
	workers := river.NewWorkers()
	river.AddWorker(workers, &cleanupWorker{ids: s.Identity, log: s.log})
	river.AddWorker(workers, &auditVerifyWorker{db: s.DB, log: s.log})
	river.AddWorker(workers, &checkRetentionWorker{s: s})
	river.AddWorker(workers, s.Notify.Worker())
	var err error
	s.Jobs, err = jobs.New(s.DB, jobs.Options{
		Logger:  s.log,
		Workers: workers,
		Periodic: []*river.PeriodicJob{
			river.NewPeriodicJob(river.PeriodicInterval(15*time.Minute), func() (river.JobArgs, *river.InsertOpts) {
				return cleanupArgs{}, nil
			}, &river.PeriodicJobOpts{RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(6*time.Hour), func() (river.JobArgs, *river.InsertOpts) {
				return auditVerifyArgs{}, nil
			}, &river.PeriodicJobOpts{RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(time.Hour), func() (river.JobArgs, *river.InsertOpts) {
				return checkRetentionArgs{}, nil
			}, &river.PeriodicJobOpts{RunOnStart: true}),
		},
	})
	if err != nil {
		return err
	}
	s.Notify.SetJobs(s.Jobs)
	// Jobs live until Shutdown, not until the start-up context ends.
	return s.Jobs.Start(context.WithoutCancel(ctx))
}

// Wait blocks until the HTTP server stops and returns its error.
func (s *Server) Wait() error {
	err := <-s.done
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting requests, lets running ones finish (until ctx
// ends), stops the jobs and closes the database.
func (s *Server) Shutdown(ctx context.Context) error {
	var err error
	if s.http != nil {
		err = s.http.Shutdown(ctx)
	}
	return errors.Join(err, s.cleanup(ctx))
}

func (s *Server) cleanup(ctx context.Context) error {
	var err error
	if s.Runner != nil {
		err = errors.Join(err, s.Runner.Stop(ctx))
		s.Runner = nil
	}
	if s.Dispatcher != nil {
		s.Dispatcher.Stop(ctx)
		s.Dispatcher = nil
	}
	if s.Pager != nil {
		s.Pager.Stop(ctx)
	}
	if s.Forecasts != nil {
		s.Forecasts.Stop(ctx)
		s.Forecasts = nil
	}
	if s.AlertSweeper != nil {
		err = errors.Join(err, s.AlertSweeper.Stop(ctx))
		s.AlertSweeper = nil
	}
	if s.MaintenanceCache != nil {
		err = errors.Join(err, s.MaintenanceCache.Stop(ctx))
		s.MaintenanceCache = nil
	}
	if s.Leases != nil {
		err = errors.Join(err, s.Leases.Stop(ctx))
		s.Leases = nil
	}
	if s.Jobs != nil {
		err = errors.Join(err, s.Jobs.Stop(ctx))
		s.Jobs = nil
	}
	if s.DB != nil {
		err = errors.Join(err, s.DB.Close())
		s.DB = nil
	}
	return err
}

// Config returns the resolved configuration.
func (s *Server) Config() config.Config { return s.cfg }
