// Command apiload measures the throughput and latency of groundcrew's JSON
// API and the memory of the server while it works.
//
// It builds groundcrew (or takes -bin), starts `groundcrew serve` as a child
// process on a free loopback port with a fresh data directory (SQLite) or a
// fresh PostgreSQL schema (-database postgres://…), logs in, seeds a catalog
// through the API, then runs timed phases with C keep-alive clients each:
//
//	list      GET /api/v1/services?limit=L, the first page, again and again
//	list:20   the same with limit=20 (any page size after the colon)
//	page      each client walks the whole list with cursors, then starts over
//	get       GET /api/v1/services/{name} for random seeded names
//	create    POST /api/v1/services with unique names
//
// By default a phase is a closed loop: every client sends its next request
// as soon as the previous one is answered, which measures the most the
// server can do. A phase written with @RATE (create@500) is an open loop:
// requests are due at a fixed rate, spread over the clients, and latency
// counts from when a request was due, so a server falling behind shows as
// latency rather than as a lower request rate (no coordinated omission).
//
// For every phase it prints requests, requests per second, errors, latency
// percentiles from every sample, the server's resident memory (VmRSS, VmHWM)
// before and after, and the CPU the server and the load generator used, then
// markdown table rows for docs/benchmarks.md. It stops only the child it
// started, by its PID.
//
// The load generator runs on the same machine as the server, so on a small
// machine the two compete for CPU; the CPU columns show how much each took.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"groundcrew.dev/groundcrew/bench/harness"
)

// config is what the flags select.
type config struct {
	bin         string
	database    string
	services    int
	clients     int
	duration    time.Duration
	warmup      time.Duration
	phases      []phaseSpec
	limit       int
	seedClients int
	deps        bool
	maxRequests int
	timeout     time.Duration
	deadline    time.Duration
	keep        bool
	label       string
	profileDir  string
	serverLog   bool
	waitIdle    time.Duration
	analyze     bool
	serverEnv   []string // KEY=VALUE for the server, e.g. GOGC=200
}

func main() {
	var cfg config
	var phases string
	flag.StringVar(&cfg.bin, "bin", "", "groundcrew binary to run (default: build ./cmd/groundcrew into a temporary directory)")
	flag.StringVar(&cfg.database, "database", "", "postgres://… to benchmark PostgreSQL in a fresh schema (default: SQLite in a fresh data directory)")
	flag.IntVar(&cfg.services, "services", 10000, "services to seed before the phases")
	flag.IntVar(&cfg.clients, "clients", 50, "concurrent clients per phase")
	flag.DurationVar(&cfg.duration, "duration", 30*time.Second, "measured time per phase")
	flag.DurationVar(&cfg.warmup, "warmup", 2*time.Second, "unmeasured load before each phase")
	flag.StringVar(&phases, "phases", "list,create", "comma-separated phases: list, list:N (page size N), page, page:N, get, create;\nadd @RATE for an open loop at RATE requests/s (latency then counts from when a request was due)")
	flag.IntVar(&cfg.limit, "limit", 100, "page size of list and page phases without :N")
	flag.IntVar(&cfg.seedClients, "seed-clients", 16, "concurrent clients while seeding")
	flag.BoolVar(&cfg.deps, "deps", true, "make every 4th service depend on another, as real catalogs do")
	flag.IntVar(&cfg.maxRequests, "max-requests", 5_000_000, "stop a phase after this many requests even before -duration")
	flag.DurationVar(&cfg.timeout, "timeout", 10*time.Second, "timeout of one request")
	flag.DurationVar(&cfg.deadline, "deadline", 30*time.Minute, "give up on the whole run after this long")
	flag.BoolVar(&cfg.analyze, "analyze", true, "PostgreSQL: ANALYZE the schema's tables after seeding, as autovacuum would")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the data directory or PostgreSQL schema afterwards")
	flag.StringVar(&cfg.label, "label", "", "first column of the markdown rows (default: SQLite or PostgreSQL)")
	flag.StringVar(&cfg.profileDir, "profile", "", "directory for CPU profiles of the server, one per phase: runs the server built from ./bench/profserve, which serves net/http/pprof (slightly slower; do not publish those figures)")
	flag.DurationVar(&cfg.waitIdle, "wait-idle", 0, "before each phase, wait up to this long for the machine to be idle (for shared machines; 0: do not wait)")
	flag.Func("env", "KEY=VALUE added to the server's environment, e.g. GOGC=400 or GOMEMLIMIT=512MiB (repeatable)", func(v string) error {
		if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
			return fmt.Errorf("%q is not KEY=VALUE", v)
		}
		cfg.serverEnv = append(cfg.serverEnv, v)
		return nil
	})
	flag.BoolVar(&cfg.serverLog, "server-log", false, "copy the server's log to standard error")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./bench/apiload [flags]\n\nRun from the repository root. Flags:\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	var err error
	if cfg.phases, err = parsePhases(phases, cfg.limit); err != nil {
		fmt.Fprintln(os.Stderr, "apiload:", err)
		os.Exit(2)
	}
	if cfg.clients < 1 || cfg.services < 0 || cfg.seedClients < 1 || cfg.duration <= 0 || cfg.maxRequests < 1 {
		fmt.Fprintln(os.Stderr, "apiload: -clients, -seed-clients and -max-requests must be positive, -duration too")
		os.Exit(2)
	}
	if cfg.label == "" {
		cfg.label = "SQLite"
		if cfg.database != "" {
			cfg.label = "PostgreSQL"
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, cfg.deadline)
	defer cancel()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "apiload:", err)
		os.Exit(1)
	}
}

// phaseSpec is one phase to run.
type phaseSpec struct {
	kind  string // list, page, get, create
	limit int    // page size of list and page
	rate  int    // open loop: requests per second; 0 is a closed loop (every client sends as fast as it can)
}

func (p phaseSpec) String() string {
	s := p.kind
	if p.kind == "list" || p.kind == "page" {
		s = fmt.Sprintf("%s (limit=%d)", p.kind, p.limit)
	}
	if p.rate > 0 {
		s += fmt.Sprintf(" at %d/s", p.rate)
	}
	return s
}

// parsePhases parses a list like "list,list:20,create@500": a kind, an
// optional page size after a colon, an optional fixed rate after an @.
func parsePhases(s string, limit int) ([]phaseSpec, error) {
	var out []phaseSpec
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		spec, rate, hasRate := strings.Cut(f, "@")
		kind, arg, hasArg := strings.Cut(spec, ":")
		p := phaseSpec{kind: kind, limit: limit}
		switch kind {
		case "list", "page":
			if hasArg {
				n, err := strconv.Atoi(arg)
				if err != nil || n < 1 || n > 1000 {
					return nil, fmt.Errorf("phase %q: page size must be 1 to 1000", f)
				}
				p.limit = n
			}
		case "get", "create":
			if hasArg {
				return nil, fmt.Errorf("phase %q takes no page size", f)
			}
		default:
			return nil, fmt.Errorf("unknown phase %q: want list, list:N, page, page:N, get or create, each optionally @RATE", f)
		}
		if hasRate {
			n, err := strconv.Atoi(rate)
			if err != nil || n < 1 || n > 100000 {
				return nil, fmt.Errorf("phase %q: rate must be 1 to 100000 requests per second", f)
			}
			p.rate = n
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no phases")
	}
	return out, nil
}

func run(ctx context.Context, cfg config) error {
	work, err := os.MkdirTemp("", "apiload-")
	if err != nil {
		return err
	}
	defer func() {
		if cfg.keep {
			fmt.Fprintln(os.Stderr, "apiload: kept", work)
			return
		}
		os.RemoveAll(work)
	}()

	bin, err := binary(ctx, cfg, work)
	if err != nil {
		return err
	}
	dsn := ""
	var schema *harness.Schema
	if cfg.database != "" {
		if schema, err = harness.FreshSchema(ctx, cfg.database, "apiload"); err != nil {
			return err
		}
		dsn = schema.DSN
		if cfg.keep {
			fmt.Fprintln(os.Stderr, "apiload: keeping schema", schema.Name, "of", harness.RedactDSN(dsn))
		} else {
			defer schema.Drop()
		}
	}

	password := harness.RandomHex(16)
	srv, err := harness.Start(ctx, harness.Options{
		Bin: bin, Work: work, Database: dsn, AdminPassword: password,
		Pprof: cfg.profileDir != "", EchoLog: cfg.serverLog, Env: cfg.serverEnv, Name: "apiload",
	})
	if err != nil {
		return err
	}
	defer srv.Stop()
	mem := srv.Memory()
	fmt.Fprintf(os.Stderr, "apiload: server pid %d at %s (%s); RSS %s, peak %s\n", srv.PID, srv.URL, cfg.label, harness.MiB(mem.RSS), harness.MiB(mem.HWM))

	c := newClient(srv.URL, cfg.clients, cfg.timeout)
	if c.token, err = c.login(ctx, "admin", password); err != nil {
		return err
	}
	mem = srv.Memory()
	fmt.Fprintf(os.Stderr, "apiload: logged in; server RSS %s, peak %s\n", harness.MiB(mem.RSS), harness.MiB(mem.HWM))
	start := time.Now()
	cat, err := seed(ctx, c, cfg)
	if err != nil {
		return err
	}
	took := time.Since(start)
	mem = srv.Memory()
	fmt.Fprintf(os.Stderr, "apiload: seeded %d services in %s (%.0f/s); server RSS %s, peak %s\n",
		cfg.services, took.Round(time.Millisecond), float64(cfg.services)/took.Seconds(), harness.MiB(mem.RSS), harness.MiB(mem.HWM))
	if schema != nil && cfg.analyze {
		if err := schema.Analyze(ctx); err != nil {
			return err
		}
	}

	var results []result
	for i, p := range cfg.phases {
		if err := ctx.Err(); err != nil {
			return err
		}
		if cfg.waitIdle > 0 {
			waitIdle(ctx, cfg.waitIdle)
		}
		r, err := runPhase(ctx, c, srv, cfg, p, cat, i)
		if err != nil {
			return fmt.Errorf("phase %s: %w", p, err)
		}
		r.print(os.Stderr)
		results = append(results, r)
	}
	fmt.Println()
	fmt.Println(tableHeader)
	for _, r := range results {
		fmt.Println(r.row(cfg))
	}
	return nil
}
