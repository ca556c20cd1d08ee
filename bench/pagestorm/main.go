// Command pagestorm measures the pager under an alert storm (issue 5):
// how long until every first-step page of a storm reaches the people it
// pages, and whether bundling and the per-contact throttle hold.
//
// It starts `groundcrew serve` (through bench/harness: SQLite in a fresh
// data directory, or PostgreSQL in a fresh schema with -database) and a
// webhook receiver on 127.0.0.1, then sets up through the API -teams (20)
// teams t00…, one member each (users u00…, each with one webhook contact
// method to the receiver's /u00…), -services (200) services s000… (owner
// team i % teams, in one environment), one escalation policy per team
// (p00…: one step paging its user, delay 5m) and one AlertRoute per team
// (matching team="tNN", grouped by service, group_wait -group-wait,
// group_interval 5m, escalation_policy pNN): every service is one alert
// group, so one page.
//
// The storm: -alertnames (25) × services distinct alerts (labels
// alertname, service, team, severity=critical) posted to /api/v2/alerts
// in batches of -batch (100) by -clients (8) clients, as fast as they can
// or evenly over -spread. The receiver records
// every message: when, to whom, and the pages it carries (label page of
// each alert of the Alertmanager v4 body). pagestorm waits at most -wait
// (60 s) for every page to arrive, then -linger (3 s) for duplicates, and
// reports the time from the last accepted post to the last page, per-page
// percentiles, messages per contact against the throttle, pages per
// message, duplicates, and the server's CPU and memory.
//
// Every loop is bounded in count and time (-deadline for the whole run,
// -timeout per request). Traffic goes to 127.0.0.1 only; only the child it
// started is stopped.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// config is what the flags say.
type config struct {
	bin, database string
	teams         int
	services      int
	alertnames    int
	batch         int
	clients       int
	groupWait     time.Duration
	throttle      string // MESSAGES/WINDOW as the server takes it
	throttleN     int
	throttleW     time.Duration
	order         string
	spread        time.Duration
	wait          time.Duration
	linger        time.Duration
	timeout       time.Duration
	deadline      time.Duration
	profileDir    string
	keep          bool
	serverLog     bool
	serverEnv     envList
	label         string
}

type envList []string

func (e *envList) String() string { return fmt.Sprint(*e) }
func (e *envList) Set(v string) error {
	if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
		return fmt.Errorf("%q is not KEY=VALUE", v)
	}
	*e = append(*e, v)
	return nil
}

func main() {
	var cfg config
	flag.StringVar(&cfg.bin, "bin", "", "groundcrew binary to run (default: build ./cmd/groundcrew)")
	flag.StringVar(&cfg.database, "database", "", "postgres://… to run on PostgreSQL (a fresh schema, dropped afterwards); default SQLite")
	flag.StringVar(&cfg.database, "postgres", "", "the same as -database")
	flag.IntVar(&cfg.teams, "teams", 20, "teams, each with one member, policy and route")
	flag.IntVar(&cfg.services, "services", 200, "services: alert groups, so pages")
	flag.IntVar(&cfg.alertnames, "alertnames", 25, "distinct alertnames per service")
	flag.IntVar(&cfg.batch, "batch", 100, "alerts per request")
	flag.IntVar(&cfg.clients, "clients", 8, "concurrent clients posting the storm")
	flag.DurationVar(&cfg.groupWait, "group-wait", time.Second, "group_wait of the routes")
	flag.StringVar(&cfg.throttle, "page-throttle", "1/1m", "the server's --page-throttle (MESSAGES/WINDOW), also the limit messages per contact are compared with")
	flag.StringVar(&cfg.order, "order", "alertname", "order of the alerts in the storm: alertname (A00 of every service, then A01 …), service (every alert of s000, then s001 …) or shuffle")
	flag.DurationVar(&cfg.spread, "spread", 0, "post the batches evenly over this long instead of as fast as possible (a storm that builds up: more messages per contact, so the throttle shows)")
	flag.DurationVar(&cfg.wait, "wait", time.Minute, "after the last post, wait at most this long for every page")
	flag.DurationVar(&cfg.linger, "linger", 3*time.Second, "once every page arrived, keep listening this long for duplicates")
	flag.DurationVar(&cfg.timeout, "timeout", 30*time.Second, "timeout of one request")
	flag.DurationVar(&cfg.deadline, "deadline", 10*time.Minute, "the whole run")
	flag.StringVar(&cfg.profileDir, "profile", "", "build bench/profserve and save a CPU profile of the storm and its pages (and a heap profile) in this directory")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the work directory (and the PostgreSQL schema)")
	flag.BoolVar(&cfg.serverLog, "server-log", false, "copy the server's log to standard error")
	flag.Var(&cfg.serverEnv, "env", "KEY=VALUE added to the server's environment (repeatable)")
	flag.StringVar(&cfg.label, "label", "", "first column of the markdown row (default: the database)")
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := cfg.validate(); err != nil {
		fmt.Fprintln(os.Stderr, "pagestorm:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, cfg.deadline)
	defer cancel()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "pagestorm:", err)
		os.Exit(1)
	}
}

func (c *config) validate() error {
	switch {
	case c.teams < 1 || c.teams > 100:
		return fmt.Errorf("-teams %d: want 1…100", c.teams)
	case c.services < c.teams || c.services > 10_000:
		return fmt.Errorf("-services %d: want -teams…10,000", c.services)
	case c.alertnames < 1 || c.alertnames > 100:
		return fmt.Errorf("-alertnames %d: want 1…100", c.alertnames)
	case c.batch < 1 || c.batch > 10_000:
		return fmt.Errorf("-batch %d: want 1…10,000", c.batch)
	case c.clients < 1 || c.clients > 100:
		return fmt.Errorf("-clients %d: want 1…100", c.clients)
	case c.groupWait <= 0 || c.groupWait > time.Minute:
		return errors.New("-group-wait: want 1ms…1m")
	case c.wait <= 0 || c.wait > 30*time.Minute || c.linger < 0 || c.linger > time.Minute:
		return errors.New("-wait: want up to 30m; -linger: up to 1m")
	case c.timeout <= 0 || c.deadline <= 0:
		return errors.New("-timeout and -deadline must be positive")
	case c.spread < 0 || c.spread > 10*time.Minute:
		return errors.New("-spread: want 0…10m")
	case c.order != "alertname" && c.order != "service" && c.order != "shuffle":
		return fmt.Errorf("-order %q: want alertname, service or shuffle", c.order)
	case c.profileDir != "" && c.bin != "":
		return errors.New("-profile builds its own server (./bench/profserve); leave out -bin")
	}
	n, w, ok := strings.Cut(c.throttle, "/")
	var err error
	if c.throttleN, err = strconv.Atoi(n); !ok || err != nil || c.throttleN < 1 {
		return fmt.Errorf("-page-throttle %q: want MESSAGES/WINDOW such as 3/5m", c.throttle)
	}
	if c.throttleW, err = time.ParseDuration(w); err != nil || c.throttleW <= 0 {
		return fmt.Errorf("-page-throttle %q: want MESSAGES/WINDOW such as 3/5m", c.throttle)
	}
	if c.label == "" {
		c.label = "SQLite"
		if c.database != "" {
			c.label = "PostgreSQL"
		}
	}
	return nil
}
