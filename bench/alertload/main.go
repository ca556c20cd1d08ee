// Command alertload measures alert ingestion: it starts `groundcrew serve`
// (SQLite, or PostgreSQL with -database) and posts to /api/v2/alerts
// exactly as Prometheus's notifier does — JSON arrays of alerts with
// labels, annotations, startsAt, endsAt and generatorURL, the integration
// key as a bearer token.
//
// Two phases: "initial" sends -alerts distinct alerts in batches of -batch
// from -clients clients (each batch once); "refresh" then re-sends the same
// firing alerts, batch after batch, for -refresh (as Prometheus re-sends
// every firing alert every evaluation, with a later endsAt); "resolve"
// (-resolve) sends every batch once more with endsAt a second ago, as
// Prometheus reports alerts that stopped firing. It reports
// accepted alerts per second, request latency percentiles, the server's
// CPU and peak memory per phase, and — with a loopback webhook receiver
// behind an AlertRoute (-receiver) — how long each alert took from its
// 2xx to its first webhook delivery.
//
// With -alertmanager BIN it runs the same load against a Prometheus
// Alertmanager binary instead (one instance, no cluster, its webhook
// receiver the same loopback receiver), to compare the two on the same
// machine in the same hour.
//
// Every loop is bounded in count and time (-deadline for the whole run,
// -timeout per request, -max-requests per phase). Traffic goes to
// 127.0.0.1 only.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// config is what the flags say.
type config struct {
	bin, database string
	alertmanager  string
	alerts        int
	batch         int
	clients       int
	keys          int
	refresh       time.Duration
	resolve       bool
	maxRequests   int
	timeout       time.Duration
	deadline      time.Duration
	receiver      bool
	groupWait     string
	settle        time.Duration
	profileDir    string
	keep          bool
	serverLog     bool
	serverEnv     envList
	label         string
}

type envList []string

func (e *envList) String() string     { return fmt.Sprint(*e) }
func (e *envList) Set(v string) error { *e = append(*e, v); return nil }

func main() {
	var cfg config
	flag.StringVar(&cfg.bin, "bin", "", "groundcrew binary to run (default: build ./cmd/groundcrew)")
	flag.StringVar(&cfg.alertmanager, "alertmanager", "", "run the load against this Alertmanager binary instead of groundcrew")
	flag.StringVar(&cfg.database, "database", "", "postgres://… to run on PostgreSQL (a fresh schema, dropped afterwards); default SQLite")
	flag.IntVar(&cfg.alerts, "alerts", 10000, "distinct alerts")
	flag.IntVar(&cfg.batch, "batch", 100, "alerts per request")
	flag.IntVar(&cfg.clients, "clients", 8, "concurrent clients")
	flag.IntVar(&cfg.keys, "keys", 64, "integration keys, used in turn (each key is rate-limited to 50 requests/s, burst 500)")
	flag.DurationVar(&cfg.refresh, "refresh", 30*time.Second, "length of the refresh phase (0: none)")
	flag.BoolVar(&cfg.resolve, "resolve", true, "end with a resolve phase: every batch once more with endsAt in the past")
	flag.IntVar(&cfg.maxRequests, "max-requests", 1_000_000, "most requests per phase")
	flag.DurationVar(&cfg.timeout, "timeout", 30*time.Second, "timeout of one request")
	flag.DurationVar(&cfg.deadline, "deadline", 20*time.Minute, "the whole run")
	flag.BoolVar(&cfg.receiver, "receiver", true, "route every alert to a loopback webhook receiver and measure ingest→delivery latency")
	flag.StringVar(&cfg.groupWait, "group-wait", "1s", "group_wait and group_interval of the receiver's route")
	flag.DurationVar(&cfg.settle, "settle", 30*time.Second, "after the initial phase, wait at most this long for every alert to be delivered")
	flag.StringVar(&cfg.profileDir, "profile", "", "build bench/profserve and save a CPU profile of each phase in this directory")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the work directory (and the PostgreSQL schema)")
	flag.BoolVar(&cfg.serverLog, "server-log", false, "copy the server's log to standard error")
	flag.Var(&cfg.serverEnv, "env", "KEY=VALUE added to the server's environment (repeatable)")
	flag.StringVar(&cfg.label, "label", "", "first column of the markdown rows (default: the database)")
	flag.Parse()
	if err := cfg.validate(); err != nil {
		fmt.Fprintln(os.Stderr, "alertload:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, cfg.deadline)
	defer cancel()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "alertload:", err)
		os.Exit(1)
	}
}

func (c *config) validate() error {
	switch {
	case c.alerts < 1 || c.alerts > 1_000_000:
		return fmt.Errorf("-alerts %d: want 1…1,000,000", c.alerts)
	case c.batch < 1 || c.batch > 10000:
		return fmt.Errorf("-batch %d: want 1…10,000", c.batch)
	case c.clients < 1 || c.clients > 1000:
		return fmt.Errorf("-clients %d: want 1…1,000", c.clients)
	case c.keys < 1 || c.keys > 1000:
		return fmt.Errorf("-keys %d: want 1…1,000", c.keys)
	case c.refresh < 0 || c.timeout <= 0 || c.deadline <= 0 || c.maxRequests < 1:
		return fmt.Errorf("-refresh, -timeout, -deadline and -max-requests must be positive")
	}
	if d, err := time.ParseDuration(c.groupWait); err != nil || d <= 0 {
		return fmt.Errorf("-group-wait %q: want a positive duration", c.groupWait)
	}
	if c.alertmanager != "" && (c.bin != "" || c.database != "" || c.profileDir != "") {
		return fmt.Errorf("-alertmanager runs Alertmanager instead of groundcrew: leave out -bin, -database and -profile")
	}
	if c.label == "" {
		switch {
		case c.alertmanager != "":
			c.label = "Alertmanager"
		case c.database != "":
			c.label = "PostgreSQL"
		default:
			c.label = "SQLite"
		}
	}
	return nil
}
