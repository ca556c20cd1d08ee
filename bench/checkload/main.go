// Command checkload measures groundcrew's health-check scheduler: how many
// HTTP checks one server runs on time, with how much CPU and harness.Memory, and
// how fast the check list stays while it does.
//
// For each count N in -checks it starts a local target HTTP server (in this
// process), builds and starts `groundcrew serve` as a child process on a
// free loopback port with a fresh data directory (SQLite) or a fresh
// PostgreSQL schema (-database postgres://…), creates a team, an
// environment, services and N HTTP checks through POST /api/v1/apply
// (check i probes GET /c/i on the target every -interval, default
// condition), and then measures:
//
//   - how long after creation every check had been probed once (the
//     target's first request per path) and had a stored result
//     (count(DISTINCT check_id) of check_results, read outside the server);
//   - over a steady window of -window (default two intervals) that starts
//     -settle after the last check was created: runs per second, per-check
//     runs against the slots in the window, and schedule lateness — each
//     request's arrival at the target minus its slot, the slot being
//     computed exactly as internal/check/sched lays slots out — plus the
//     server's own groundcrew_check_lateness_seconds from /metrics;
//   - the server's CPU over the window (utime+stime of its PID only) per
//     run, which includes storing results; PostgreSQL's CPU separately;
//   - the server's resident memory: VmRSS sampled every second, VmHWM;
//   - after the window, sequential latency of GET /api/v1/checks?limit=100,
//     ?status=down, the UI's /checks page (logged in through its form) and
//     /metrics, while the checks keep running.
//
// Before each count it waits (at most -wait-apiload) until no bench/apiload
// runs, and prints the load average. Every loop is bounded in count and
// time; all traffic goes to 127.0.0.1. It stops only the child it started.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
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
	checks      []int
	interval    time.Duration
	idle        time.Duration
	waitQuiet   time.Duration
	analyze     bool
	settle      time.Duration
	window      time.Duration
	batch       int
	perService  int
	seedClients int
	downEvery   int
	targetClose bool
	apiRequests int
	uiRequests  int
	timeout     time.Duration
	deadline    time.Duration
	waitApiload time.Duration
	label       string
	profileDir  string
	serverLog   bool
	keep        bool
	serverEnv   []string
}

func main() {
	var cfg config
	var checks string
	flag.StringVar(&cfg.bin, "bin", "", "groundcrew binary to run (default: build ./cmd/groundcrew into a temporary directory)")
	flag.StringVar(&cfg.database, "database", "", "postgres://… to run on PostgreSQL in a fresh schema (default: SQLite in a fresh data directory)")
	flag.StringVar(&checks, "checks", "10000", "comma-separated check counts, each measured on a fresh server")
	flag.DurationVar(&cfg.interval, "interval", 30*time.Second, "interval of every check")
	flag.BoolVar(&cfg.analyze, "analyze", true, "PostgreSQL: ANALYZE the schema's tables once every check has run, as autovacuum would")
	flag.DurationVar(&cfg.waitQuiet, "wait-quiet", 5*time.Minute, "before the window, wait at most this long until other work on the machine stays under a quarter of a core (0: don't)")
	flag.DurationVar(&cfg.idle, "idle", 30*time.Second, "measure the server's CPU with no checks for this long first (0: skip)")
	flag.DurationVar(&cfg.settle, "settle", 0, "time from the last check created to the start of the steady window (default two intervals: every check has run, failing ones are confirmed DOWN)")
	flag.DurationVar(&cfg.window, "window", 0, "steady measurement window (default two intervals)")
	flag.IntVar(&cfg.batch, "batch", 1000, "documents per POST /api/v1/apply")
	flag.IntVar(&cfg.perService, "per-service", 50, "checks per catalog service")
	flag.IntVar(&cfg.seedClients, "seed-clients", 2, "concurrent apply requests while creating checks")
	flag.IntVar(&cfg.downEvery, "down-every", 100, "every Nth check's target answers 503, so that it is DOWN (0: none)")
	flag.BoolVar(&cfg.targetClose, "target-close", false, "the target answers with Connection: close, so every probe opens a new connection (as with many distinct hosts)")
	flag.IntVar(&cfg.apiRequests, "api-requests", 200, "sequential requests per API list measurement")
	flag.IntVar(&cfg.uiRequests, "ui-requests", 100, "sequential requests per UI page measurement (0: skip the UI)")
	flag.DurationVar(&cfg.timeout, "timeout", 2*time.Minute, "timeout of one API request (an apply of a whole batch included)")
	flag.DurationVar(&cfg.deadline, "deadline", 2*time.Hour, "give up on the whole run after this long")
	flag.DurationVar(&cfg.waitApiload, "wait-apiload", 20*time.Minute, "before each count and each window, wait at most this long for a running bench/apiload to finish")
	flag.StringVar(&cfg.label, "label", "", "first column of the markdown rows (default: SQLite or PostgreSQL)")
	flag.StringVar(&cfg.profileDir, "profile", "", "write a CPU profile of the steady window and a heap profile to this directory: runs ./bench/profserve (groundcrew serve plus net/http/pprof); don't publish those figures")
	flag.BoolVar(&cfg.serverLog, "server-log", false, "copy the server's log to standard error")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the data directory or PostgreSQL schema afterwards")
	flag.Func("env", "KEY=VALUE added to the server's environment, e.g. GOGC=200 (repeatable)", func(v string) error {
		if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
			return fmt.Errorf("%q is not KEY=VALUE", v)
		}
		cfg.serverEnv = append(cfg.serverEnv, v)
		return nil
	})
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := cfg.complete(checks); err != nil {
		fmt.Fprintln(os.Stderr, "checkload:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, cfg.deadline)
	defer cancel()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "checkload:", err)
		os.Exit(1)
	}
}

// complete parses the check counts, fills the defaults and validates.
func (cfg *config) complete(checks string) error {
	for _, f := range strings.Split(checks, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 100_000 {
			return fmt.Errorf("-checks %q: want counts from 1 to 100000", checks)
		}
		cfg.checks = append(cfg.checks, n)
	}
	if cfg.interval < 5*time.Second || cfg.interval > time.Hour {
		return errors.New("-interval: 5s to 1h")
	}
	if cfg.settle == 0 {
		cfg.settle = 2 * cfg.interval
	}
	if cfg.window == 0 {
		cfg.window = 2 * cfg.interval
	}
	if cfg.window < cfg.interval || cfg.settle < cfg.interval {
		return errors.New("-window and -settle must each be at least one interval")
	}
	if cfg.batch < 1 || cfg.batch > 20000 || cfg.perService < 1 || cfg.seedClients < 1 || cfg.apiRequests < 1 || cfg.uiRequests < 0 || cfg.downEvery < 0 {
		return errors.New("-batch (1 to 20000), -per-service, -seed-clients and -api-requests must be positive; -ui-requests and -down-every not negative")
	}
	if cfg.profileDir != "" && cfg.bin != "" {
		return errors.New("-profile builds its own server (./bench/profserve); leave out -bin")
	}
	if cfg.label == "" {
		cfg.label = "SQLite"
		if cfg.database != "" {
			cfg.label = "PostgreSQL"
		}
		if cfg.targetClose {
			cfg.label += ", new connection per probe"
		}
	}
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "checkload: "+format+"\n", args...)
}

func run(ctx context.Context, cfg config) error {
	printMachine()
	dir, err := os.MkdirTemp("", "checkload-bin-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := cfg.bin
	switch {
	case cfg.profileDir != "":
		if err := os.MkdirAll(cfg.profileDir, 0o750); err != nil {
			return err
		}
		bin, err = build(ctx, "./bench/profserve", dir)
	case bin == "":
		bin, err = build(ctx, "./cmd/groundcrew", dir)
	default:
		bin, err = filepath.Abs(bin)
	}
	if err != nil {
		return err
	}
	var results []result
	for _, n := range cfg.checks {
		r, err := runCount(ctx, cfg, bin, n)
		if err != nil {
			return fmt.Errorf("%d checks: %w", n, err)
		}
		r.print(os.Stderr, cfg)
		results = append(results, r)
	}
	fmt.Println()
	fmt.Println(schedHeader)
	for _, r := range results {
		fmt.Println(r.schedRow(cfg))
	}
	fmt.Println()
	fmt.Println(apiHeader)
	for _, r := range results {
		fmt.Println(r.apiRow(cfg))
	}
	return nil
}

// printMachine says what the figures were measured on.
func printMachine() {
	model := "?"
	if out, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := "?"
	if out, err := os.ReadFile("/proc/meminfo"); err == nil {
		line, _, _ := strings.Cut(string(out), "\n")
		if f := strings.Fields(line); len(f) >= 2 {
			if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				mem = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
			}
		}
	}
	logf("machine: %d CPUs (%s), %s harness.Memory, %s/%s, %s; load average %s",
		runtime.NumCPU(), model, mem, runtime.GOOS, runtime.GOARCH, runtime.Version(), harness.LoadAvg())
}
