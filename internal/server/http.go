package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"groundcrew.dev/groundcrew/internal/alert"
	"groundcrew.dev/groundcrew/internal/api"
	"groundcrew.dev/groundcrew/internal/oncall/pager"
	"groundcrew.dev/groundcrew/internal/statuspage"
	"groundcrew.dev/groundcrew/internal/ui"
)

// apiTimeout bounds one API request.
const apiTimeout = 30 * time.Second

// handler builds the whole HTTP handler: API, UI, health and metrics,
// behind cross-origin protection and request metrics.
func (s *Server) handler() http.Handler {
	root := http.NewServeMux()

	apiMux := routeMux{http.NewServeMux()}
	apiV1 := api.New(apiMux, api.Config{DB: s.DB, Identity: s.Identity, Catalog: s.Catalog, Registry: s.Registry, Checks: s.Checks,
		StatusPages: s.StatusPages, Maintenance: s.Maintenance, Fleet: s.Fleet, Notify: s.Notify, Logger: s.log, Version: Version, BaseURL: s.baseURL()})
	apiV1.RegisterAlerts(s.Alerts)
	apiV1.RegisterOnCall(s.OnCall)
	apiV1.RegisterContacts(s.OnCall)
	apiV1.RegisterSwaps(s.OnCall)
	apiV1.RegisterIncidents(s.Incidents)
	apiV1.RegisterPages(s.Pager)
	apiV1.RegisterMetrics(s.Metrics)
	var apiHandler http.Handler = apiMux
	apiHandler = api.Authenticate(s.Identity, s.log, apiHandler)
	apiHandler = api.WithRequest(apiHandler)
	apiHandler = api.Timeout(apiTimeout, apiHandler)
	root.Handle(api.Prefix+"/", apiHandler)
	root.HandleFunc(api.Prefix+"/ping/{secret}", s.ping)
	root.HandleFunc(api.Prefix+"/ping/{secret}/fail", s.ping)
	// Alert ingestion (Alertmanager, PagerDuty-style, webhooks): integration keys, not user tokens.
	alert.NewHandler(s.Alerts).Register(root)
	// Signed acknowledge/resolve links from notifications: the signature
	// is the credential.
	root.Handle("/a/", s.Alerts.LinkHandler())
	root.Handle(pager.LinkPrefix, s.Pager.LinkHandler())
	// Calendar feeds: the secret in the URL is the credential.
	root.Handle("GET "+api.ICalPath+"{file}", api.ICalFeed(s.OnCall, s.log))
	// The agent protocol: agents authenticate with their own credential.
	root.Handle(api.AgentPrefix+"/", api.Timeout(apiTimeout, api.AgentProtocol(s.Fleet, s.Checks, s.log)))

	root.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	root.HandleFunc("GET /readyz", s.ready)
	root.Handle("GET /metrics", promhttp.HandlerFor(s.metrics, promhttp.HandlerOpts{}))

	// Public status pages and badges: no session, nothing internal, cached.
	statuspage.NewHandler(s.StatusPages, statuspage.HandlerOptions{Logger: s.log}).Register(root)

	root.Handle("/", ui.New(ui.Config{
		DB: s.DB, Identity: s.Identity, Catalog: s.Catalog, Checks: s.Checks, Alerts: s.Alerts, Notify: s.Notify, OnCall: s.OnCall, Pager: s.Pager, Incidents: s.Incidents, BaseURL: s.cfg.BaseURL, Logger: s.log, Version: Version,
		Clock: s.opts.Clock, SecureCookies: s.cfg.TLSCert != "" || strings.HasPrefix(strings.ToLower(s.cfg.BaseURL), "https://"),
	}))

	var h http.Handler = root
	h = s.instrument(h)
	trusted, _ := s.cfg.TrustedProxyPrefixes() // validated when the config was resolved
	h = realClient(trusted, h)
	cop := http.NewCrossOriginProtection()
	h = cop.Handler(h)
	return h
}

// ready reports whether the database answers and its migrations are current.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	status := map[string]string{"database": "ok", "migrations": "current"}
	code := http.StatusOK
	if err := s.DB.Ping(ctx); err != nil {
		status["database"], code = "unreachable", http.StatusServiceUnavailable
	} else if ok, err := s.DB.MigrationsCurrent(ctx); err != nil || !ok {
		status["migrations"], code = "pending", http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(status)
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// instrument records request durations by route pattern and status code.
func (s *Server) instrument(next http.Handler) http.Handler {
	hist := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "groundcrew_http_request_duration_seconds",
		Help:    "HTTP request durations by route pattern, method and status code.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route", "method", "code"})
	s.metrics.MustRegister(hist)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		// The API's pattern is only known after its own mux routed the
		// request; routeMux reports it through this pointer.
		var route string
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), routeKey{}, &route)))
		if route == "" {
			route = r.Pattern
		}
		if route == "" {
			route = "other"
		}
		hist.WithLabelValues(route, r.Method, strconv.Itoa(rec.code)).Observe(time.Since(start).Seconds())
	})
}

// newMetrics returns the registry behind /metrics: Go runtime, process,
// database pools and job queue depth.
func (s *Server) newMetrics() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(&dbCollector{s: s}, &checkCollector{s: s})
	return reg
}

var (
	dbOpenDesc  = prometheus.NewDesc("groundcrew_db_connections_open", "Open database connections by pool.", []string{"pool"}, nil)
	dbInUseDesc = prometheus.NewDesc("groundcrew_db_connections_in_use", "Database connections in use by pool.", []string{"pool"}, nil)
	dbWaitDesc  = prometheus.NewDesc("groundcrew_db_wait_seconds_total", "Time spent waiting for a database connection, by pool.", []string{"pool"}, nil)
	queueDesc   = prometheus.NewDesc("groundcrew_jobs_queue_depth", "Background jobs waiting to run, by state.", []string{"state"}, nil)
)

type dbCollector struct{ s *Server }

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- dbOpenDesc
	ch <- dbInUseDesc
	ch <- dbWaitDesc
	ch <- queueDesc
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	d := c.s.DB
	if d == nil {
		return
	}
	write, read := d.Stats()
	for pool, st := range map[string]struct {
		open, inUse int
		wait        time.Duration
	}{"write": {write.OpenConnections, write.InUse, write.WaitDuration}, "read": {read.OpenConnections, read.InUse, read.WaitDuration}} {
		ch <- prometheus.MustNewConstMetric(dbOpenDesc, prometheus.GaugeValue, float64(st.open), pool)
		ch <- prometheus.MustNewConstMetric(dbInUseDesc, prometheus.GaugeValue, float64(st.inUse), pool)
		ch <- prometheus.MustNewConstMetric(dbWaitDesc, prometheus.CounterValue, st.wait.Seconds(), pool)
	}
	if c.s.Jobs == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	depth, err := c.s.Jobs.QueueDepth(ctx)
	if err != nil {
		c.s.log.Warn("metrics: queue depth", "err", err)
		return
	}
	for state, n := range depth {
		ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(n), state)
	}
}

type routeKey struct{}

// routeMux is a ServeMux that reports the pattern a request matched to the
// metrics middleware, so API durations are labelled per operation.
type routeMux struct{ *http.ServeMux }

func (m routeMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.ServeMux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if p, ok := r.Context().Value(routeKey{}).(*string); ok {
			*p = pattern
		}
		h(w, r)
	})
}
