package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"time"

	"groundcrew.dev/groundcrew/bench/harness"
)

// result is what one check count measured.
type result struct {
	n             int
	loadBefore    string // load average before the server started
	loadWindow    string // … and when the window started
	apiloadWaited time.Duration
	apiloadRan    bool // apiload was running when a wait gave up
	apiloadWindow bool // apiload was seen running during the window
	quietWaited   time.Duration
	quietGaveUp   bool

	idleCPU time.Duration // server CPU over the idle phase, before any check
	idle    time.Duration

	createTook time.Duration // applying the check batches
	createCPU  time.Duration // server CPU while creating everything

	allProbed   time.Duration // last batch applied → every check probed once (0: never)
	allStored   time.Duration // … → every check has a stored result (0: never)
	firstMax    time.Duration // longest wait of one check from its batch's apply to its first probe
	firstP99    time.Duration
	probedCount int // checks probed at least once by the end of the settle phase

	window    time.Duration
	runs      runStats
	hitsIn    int   // requests that arrived during the window
	stored    int64 // results stored during the window
	m0, m1    metrics
	serverCPU time.Duration
	dbCPU     time.Duration
	loadCPU   time.Duration
	busy      float64 // fraction of the machine's CPUs busy during the window
	dropped   int

	memLogin  harness.Memory // after the first login (argon2id)
	memCreate harness.Memory // after creating the checks
	rssPeak   int64          // highest VmRSS sampled in the window
	hwmWindow int64          // VmHWM at the end of the window
	hwmEnd    int64          // VmHWM at the end (after the API and UI requests)

	lat       []latency
	unknown   int // checks still unknown at the end
	downFound int // checks the API lists as down
	downWant  int
}

func (r result) otherCPU() time.Duration {
	busy := time.Duration(r.busy * float64(runtime.NumCPU()) * float64(r.window))
	return max(0, busy-r.serverCPU-r.loadCPU-r.dbCPU)
}

// idleRate is the idle server's CPU in ms per second.
func (r result) idleRate() float64 {
	if r.idle <= 0 {
		return 0
	}
	return float64(r.idleCPU) / 1e6 / r.idle.Seconds()
}

// marginalPerRun is the server CPU per run beyond what the idle server
// spends anyway, in ms.
func (r result) marginalPerRun() float64 {
	runs := r.runsInWindow()
	if runs == 0 || r.idle <= 0 {
		return 0
	}
	extra := float64(r.serverCPU)/1e6 - r.idleRate()*r.window.Seconds()
	return extra / runs
}

func (r result) cores(d time.Duration) float64 { return d.Seconds() / r.window.Seconds() }

// runsInWindow is the run count CPU is divided by: the server's own
// counter when /metrics answered, else the target's count.
func (r result) runsInWindow() float64 {
	if r.m0.ok && r.m1.ok && r.m1.runs > r.m0.runs {
		return r.m1.runs - r.m0.runs
	}
	return float64(r.hitsIn)
}

func (r result) cpuPerRun(d time.Duration) float64 {
	runs := r.runsInWindow()
	if runs == 0 {
		return 0
	}
	return float64(d) / 1e6 / runs
}

func runCount(ctx context.Context, cfg config, bin string, n int) (result, error) {
	r := result{n: n, window: cfg.window, downWant: 0}
	r.apiloadWaited, r.apiloadRan = waitApiload(ctx, cfg.waitApiload)
	r.loadBefore = harness.LoadAvg()
	logf("%d checks: load average %s", n, r.loadBefore)

	work, err := os.MkdirTemp("", "checkload-")
	if err != nil {
		return r, err
	}
	defer func() {
		if cfg.keep {
			logf("kept %s", work)
			return
		}
		os.RemoveAll(work)
	}()
	var schema *pgSchema
	dsn := ""
	if cfg.database != "" {
		if schema, err = freshSchema(ctx, cfg.database); err != nil {
			return r, err
		}
		dsn = schema.dsn
		if cfg.keep {
			logf("keeping schema %s", schema.name)
		} else {
			defer schema.drop()
		}
	}

	// Room for every run of the whole measurement, with a wide margin.
	total := cfg.settle + cfg.window + 10*time.Minute
	maxHits := n * (int(total/cfg.interval) + 4)
	tgt := newTarget(n, cfg.downEvery, cfg.targetClose, maxHits)
	if err := tgt.start(); err != nil {
		return r, err
	}
	defer tgt.stop()
	r.downWant = tgt.downCount()

	password := harness.RandomHex(16)
	srv, err := startServer(ctx, serverOptions{bin: bin, work: work, database: dsn, adminPassword: password,
		pprof: cfg.profileDir != "", echoLog: cfg.serverLog, env: cfg.serverEnv})
	if err != nil {
		return r, err
	}
	defer srv.stop()
	logf("server pid %d at %s; target at %s", srv.pid, srv.url, tgt.url)
	c := &client{base: srv.url, timeout: cfg.timeout}
	if err := c.login(ctx, password); err != nil {
		return r, err
	}
	r.memLogin = harness.ProcMemory(srv.pid)
	rdb, err := openResultsDB(filepath.Join(work, "data", "groundcrew.db"), schema)
	if err != nil {
		return r, err
	}
	defer rdb.close()

	if cfg.idle > 0 {
		// What the server costs with no checks at all: its pollers and
		// timers, to tell the fixed cost from the cost per run.
		var profDone chan error
		if cfg.profileDir != "" {
			profDone = make(chan error, 1)
			go func() {
				profDone <- fetchProfile(ctx, srv.pprofURL+"/debug/pprof/profile?seconds="+strconv.Itoa(max(1, int(cfg.idle.Seconds()))),
					filepath.Join(cfg.profileDir, fmt.Sprintf("%s-%d-idle.cpu.pprof", fileLabel(cfg), n)))
			}()
		}
		i0, _, _ := harness.ProcCPU(srv.pid)
		t0 := time.Now()
		if err := sleepUntil(ctx, srv, t0.Add(cfg.idle)); err != nil {
			return r, err
		}
		i1, _, _ := harness.ProcCPU(srv.pid)
		r.idle, r.idleCPU = time.Since(t0), i1-i0
		logf("idle server: %.0f ms CPU per second", r.idleRate())
		if profDone != nil {
			if err := <-profDone; err != nil {
				logf("idle CPU profile: %v", err)
			}
		}
	}
	cpu0, _, _ := harness.ProcCPU(srv.pid)
	sd, err := seed(ctx, c, cfg, n, tgt.url)
	if err != nil {
		return r, err
	}
	created := time.Now()
	cpu1, _, _ := harness.ProcCPU(srv.pid)
	r.createTook, r.createCPU = sd.took, cpu1-cpu0
	r.memCreate = harness.ProcMemory(srv.pid)
	logf("created %d checks in %s (%.0f/s), server CPU %.1f s; RSS %s, peak %s",
		n, sd.took.Round(time.Millisecond), float64(n)/sd.took.Seconds(), r.createCPU.Seconds(), harness.MiB(r.memCreate.RSS), harness.MiB(r.memCreate.HWM))

	if err := r.firstRuns(ctx, cfg, srv, tgt, rdb, sd, created); err != nil {
		return r, err
	}
	if schema != nil && cfg.analyze {
		if err := schema.analyze(ctx); err != nil {
			return r, err
		}
		logf("analyzed the tables of schema %s", schema.name)
	}
	if err := sleepUntil(ctx, srv, created.Add(cfg.settle)); err != nil {
		return r, err
	}
	if waited, ran := waitApiload(ctx, cfg.waitApiload); waited > 0 || ran {
		r.apiloadWaited += waited
		r.apiloadRan = r.apiloadRan || ran
	}

	if cfg.waitQuiet > 0 {
		r.quietWaited, r.quietGaveUp = waitQuiet(ctx, srv.pid, cfg.database != "", cfg.waitQuiet)
	}
	if err := r.steadyWindow(ctx, cfg, srv, c, tgt, rdb); err != nil {
		return r, err
	}
	r.hwmWindow = harness.ProcMemory(srv.pid).HWM

	// The check list, through the API and the UI, while checks keep running.
	r.lat = append(r.lat,
		timeRequests(ctx, c, "GET /api/v1/checks?limit=100", "/api/v1/checks?limit=100", cfg.apiRequests, time.Minute),
		timeRequests(ctx, c, "GET /api/v1/checks?status=down", "/api/v1/checks?status=down&limit=100", cfg.apiRequests, time.Minute))
	if cfg.uiRequests > 0 {
		if err := c.loginUI(ctx, password); err != nil {
			return r, err
		}
		r.lat = append(r.lat,
			timeRequests(ctx, c, "GET /checks (UI)", "/checks", cfg.uiRequests, time.Minute),
			timeRequests(ctx, c, "GET /checks?status=down (UI)", "/checks?status=down", cfg.uiRequests, time.Minute))
	}
	r.lat = append(r.lat, timeRequests(ctx, c, "GET /metrics", "/metrics", 5, 30*time.Second))
	r.hwmEnd = harness.ProcMemory(srv.pid).HWM

	var unknown, down struct {
		Items []struct {
			Name string `json:"name"`
		} `json:"items"`
	}
	if err := c.call(ctx, http.MethodGet, "/checks?status=unknown&limit=1000", nil, http.StatusOK, &unknown); err != nil {
		return r, err
	}
	if err := c.call(ctx, http.MethodGet, "/checks?status=down&limit=1000", nil, http.StatusOK, &down); err != nil {
		return r, err
	}
	r.unknown, r.downFound = len(unknown.Items), len(down.Items)
	if !srv.alive() {
		return r, fmt.Errorf("the server exited (%v); see its log in %s", srv.waitErr, work)
	}
	return r, nil
}

// firstRuns waits until every check has been probed once and has a stored
// result, or until the settle phase (and at least two intervals) is over.
func (r *result) firstRuns(ctx context.Context, cfg config, srv *server, tgt *target, rdb *resultsDB, sd seeding, created time.Time) error {
	deadline := created.Add(max(cfg.settle, 2*cfg.interval) + 10*time.Second)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		if !srv.alive() {
			return fmt.Errorf("the server exited (%v)", srv.waitErr)
		}
		seen, allAt, _ := tgt.progress()
		if allAt != 0 && r.allProbed == 0 {
			r.allProbed = max(0, time.Unix(0, allAt).Sub(created))
		}
		if r.allStored == 0 {
			if d, err := rdb.distinctChecks(ctx); err == nil && d == r.n {
				r.allStored = time.Since(created)
			}
		}
		r.probedCount = seen
		if r.allProbed > 0 && r.allStored > 0 {
			break
		}
	}
	_, first, _ := tgt.snapshot()
	var waits []time.Duration
	for i, f := range first {
		if f == 0 {
			continue
		}
		waits = append(waits, max(0, time.Unix(0, f).Sub(sd.batchDone[i/cfg.batch])))
	}
	slices.Sort(waits)
	r.firstMax, r.firstP99 = percentile(waits, 1), percentile(waits, .99)
	logf("every check probed %s and stored %s after the last was created; longest wait from a check's creation to its first probe %s (p99 %s); %d/%d probed",
		orNever(r.allProbed), orNever(r.allStored), r.firstMax.Round(time.Millisecond), r.firstP99.Round(time.Millisecond), r.probedCount, r.n)
	return nil
}

func orNever(d time.Duration) string {
	if d == 0 {
		return "never"
	}
	return d.Round(100 * time.Millisecond).String()
}

// sleepUntil waits until t, checking that the server still runs.
func sleepUntil(ctx context.Context, srv *server, t time.Time) error {
	for {
		d := time.Until(t)
		if d <= 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-srv.exited:
			return fmt.Errorf("the server exited (%v)", srv.waitErr)
		case <-time.After(min(d, 5*time.Second)):
		}
	}
}

// steadyWindow measures one window: CPU and stored results between two
// readings, /metrics just outside them, RSS sampled every second.
func (r *result) steadyWindow(ctx context.Context, cfg config, srv *server, c *client, tgt *target, rdb *resultsDB) error {
	r.loadWindow = harness.LoadAvg()
	logf("steady window of %s; load average %s", cfg.window, r.loadWindow)
	r.m0 = scrapeMetrics(ctx, c)

	var profDone chan error
	if cfg.profileDir != "" {
		profDone = make(chan error, 1)
		go func() {
			profDone <- fetchProfile(ctx, srv.pprofURL+"/debug/pprof/profile?seconds="+strconv.Itoa(int(cfg.window.Seconds())),
				filepath.Join(cfg.profileDir, fmt.Sprintf("%s-%d.cpu.pprof", fileLabel(cfg), r.n)))
		}()
	}
	cpu0, _, _ := harness.ProcCPU(srv.pid)
	pg0 := map[int]time.Duration{}
	if cfg.database != "" {
		pg0 = harness.CommCPU("postgres")
	}
	self0 := harness.SelfCPU()
	busy0, total0 := harness.MachineCPU()
	id0, err := rdb.maxID(ctx)
	if err != nil {
		return fmt.Errorf("count results: %w", err)
	}
	_, _, hits0 := tgt.progress()
	t0 := time.Now()
	end := t0.Add(cfg.window)

	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	r.apiloadWindow = apiloadRunning(ctx)
	lastPgrep := time.Now()
	for time.Now().Before(end) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-srv.exited:
			return fmt.Errorf("the server exited (%v)", srv.waitErr)
		case <-tick.C:
		}
		r.rssPeak = max(r.rssPeak, harness.ProcMemory(srv.pid).RSS)
		if time.Since(lastPgrep) >= 10*time.Second {
			r.apiloadWindow = r.apiloadWindow || apiloadRunning(ctx)
			lastPgrep = time.Now()
		}
	}

	_, _, hits1 := tgt.progress()
	t1 := time.Now()
	id1, err := rdb.maxID(ctx)
	if err != nil {
		return fmt.Errorf("count results: %w", err)
	}
	busy1, total1 := harness.MachineCPU()
	self1 := harness.SelfCPU()
	if cfg.database != "" {
		r.dbCPU = harness.CPUSince(pg0, harness.CommCPU("postgres"))
	}
	cpu1, _, _ := harness.ProcCPU(srv.pid)
	r.m1 = scrapeMetrics(ctx, c)

	r.window = t1.Sub(t0)
	r.serverCPU, r.loadCPU = cpu1-cpu0, self1-self0
	if total1 > total0 {
		r.busy = float64(busy1-busy0) / float64(total1-total0)
	}
	r.stored, r.hitsIn = id1-id0, hits1-hits0
	r.rssPeak = max(r.rssPeak, harness.ProcMemory(srv.pid).RSS)
	if profDone != nil {
		if err := <-profDone; err != nil {
			logf("CPU profile: %v", err)
		}
		if err := fetchProfile(ctx, srv.pprofURL+"/debug/pprof/heap",
			filepath.Join(cfg.profileDir, fmt.Sprintf("%s-%d.heap.pprof", fileLabel(cfg), r.n))); err != nil {
			logf("heap profile: %v", err)
		}
	}

	// Runs whose slot fell in the window may arrive a little after it.
	time.Sleep(3 * time.Second)
	ids, err := rdb.checkIDs(ctx)
	if err != nil {
		return fmt.Errorf("read check ids: %w", err)
	}
	hits, _, dropped := tgt.snapshot()
	r.dropped = dropped
	r.runs = windowRuns(hits, offsets(r.n, ids, cfg.interval), cfg.interval, t0.UnixNano(), t1.UnixNano())
	return nil
}

func fileLabel(cfg config) string {
	if cfg.database != "" {
		return "postgres"
	}
	return "sqlite"
}

func fetchProfile(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := loopbackClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	logf("wrote %s", path)
	return f.Close()
}

func (r result) print(w io.Writer, cfg config) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	rate := float64(r.runs.runs) / r.window.Seconds()
	p("\n%s, %d HTTP checks every %s", cfg.label, r.n, cfg.interval)
	p("  load average           before %s; at the window %s", r.loadBefore, r.loadWindow)
	if r.apiloadWaited > 0 || r.apiloadRan || r.apiloadWindow {
		p("  apiload                waited %s for it; gave up waiting: %v; seen during the window: %v", r.apiloadWaited.Round(time.Second), r.apiloadRan, r.apiloadWindow)
	}
	if r.quietWaited > 6*time.Second || r.quietGaveUp {
		p("  other work             waited %s for the machine to calm down; gave up: %v", r.quietWaited.Round(time.Second), r.quietGaveUp)
	}
	p("  created                %d checks in %s (%.0f/s), server CPU %.1f s", r.n, r.createTook.Round(time.Millisecond), float64(r.n)/r.createTook.Seconds(), r.createCPU.Seconds())
	p("  every check ran once   probed %s, stored %s after the last was created; longest wait of one check from creation to first probe %s (p99 %s)",
		orNever(r.allProbed), orNever(r.allStored), r.firstMax.Round(time.Millisecond), r.firstP99.Round(time.Millisecond))
	p("  window                 %s: %d runs by slot (%.1f/s, expected %.1f/s), %d requests arrived, %d results stored (%.1f/s)",
		r.window.Round(time.Millisecond), r.runs.runs, rate, float64(r.n)/cfg.interval.Seconds(), r.hitsIn, r.stored, float64(r.stored)/r.window.Seconds())
	p("  runs per check         %d to %d (slots in the window: %d); checks short of a slot %d, with an extra run %d",
		r.runs.perCheckMin, r.runs.perCheckMax, r.runs.expectedPerCheck, r.runs.checksShort, r.runs.checksExtra)
	l := r.runs.lateness
	p("  lateness at the target p50 %s, p90 %s, p99 %s, max %s (arrival of the request minus its slot)",
		ms(percentile(l, .5)), ms(percentile(l, .9)), ms(percentile(l, .99)), ms(percentile(l, 1)))
	if r.m1.ok {
		p("  server's own lateness  p50 %s, p99 %s (groundcrew_check_lateness_seconds, recent runs); runs %.0f, skipped %.0f in the window",
			ms(r.m1.lateP50), ms(r.m1.lateP99), r.m1.runs-r.m0.runs, r.m1.skipped-r.m0.skipped)
	}
	p("  server CPU             %.2f s = %.2f cores; %.3f ms per run (stored result included)", r.serverCPU.Seconds(), r.cores(r.serverCPU), r.cpuPerRun(r.serverCPU))
	if r.idle > 0 {
		p("  idle server CPU        %.1f ms per second with no checks (over %s); beyond that, %.3f ms per run", r.idleRate(), r.idle.Round(time.Second), r.marginalPerRun())
	}
	if cfg.database != "" {
		p("  PostgreSQL CPU         %.2f s = %.2f cores; %.3f ms per run", r.dbCPU.Seconds(), r.cores(r.dbCPU), r.cpuPerRun(r.dbCPU))
	}
	p("  other CPU              load generator + target %.2f cores, everything else %.2f cores; machine %.0f%% busy",
		r.cores(r.loadCPU), r.cores(r.otherCPU()), 100*r.busy)
	p("  server harness.Memory          after login RSS %s (peak %s); after creating RSS %s (peak %s); window RSS peak %s, VmHWM %s; VmHWM at the end %s",
		harness.MiB(r.memLogin.RSS), harness.MiB(r.memLogin.HWM), harness.MiB(r.memCreate.RSS), harness.MiB(r.memCreate.HWM), harness.MiB(r.rssPeak), harness.MiB(r.hwmWindow), harness.MiB(r.hwmEnd))
	if r.m1.ok {
		p("  /metrics               %d KiB, scraped in %s", r.m1.bytes>>10, ms(r.m1.took))
	}
	for _, x := range r.lat {
		p("  %s", x)
	}
	p("  states at the end      %d unknown, %d down (want %d)", r.unknown, r.downFound, r.downWant)
	if r.dropped > 0 {
		p("  warning: the target dropped %d hits for lack of room", r.dropped)
	}
}

const schedHeader = `| Database | Checks | Created in | All ran once after | Runs/s (expected) | Lateness p50 / p99 / max (target) | Lateness p50 / p99 (server) | Server CPU / run (beyond idle) | PG CPU / run | RSS peak (window) / VmHWM | CPU cores: server / PG / load-gen / other | Load avg |
|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|---|`

func (r result) schedRow(cfg config) string {
	l := r.runs.lateness
	pg := "–"
	pgCores := "–"
	if cfg.database != "" {
		pg = fmt.Sprintf("%.3f ms", r.cpuPerRun(r.dbCPU))
		pgCores = fmt.Sprintf("%.2f", r.cores(r.dbCPU))
	}
	marginal := "–"
	if r.idle > 0 {
		marginal = fmt.Sprintf("%.3f ms", r.marginalPerRun())
	}
	server := "–"
	if r.m1.ok {
		server = ms(r.m1.lateP50) + " / " + ms(r.m1.lateP99)
	}
	return fmt.Sprintf("| %s | %d | %s | %s (stored %s) | %.1f (%.1f) | %s / %s / %s | %s | %.3f ms (%s) | %s | %s / %s | %.2f / %s / %.2f / %.2f | %s |",
		cfg.label, r.n, r.createTook.Round(100*time.Millisecond), orNever(r.allProbed), orNever(r.allStored),
		float64(r.runs.runs)/r.window.Seconds(), float64(r.n)/cfg.interval.Seconds(),
		ms(percentile(l, .5)), ms(percentile(l, .99)), ms(percentile(l, 1)), server,
		r.cpuPerRun(r.serverCPU), marginal, pg, harness.MiB(r.rssPeak), harness.MiB(r.hwmWindow),
		r.cores(r.serverCPU), pgCores, r.cores(r.loadCPU), r.cores(r.otherCPU()), r.loadWindow)
}

const apiHeader = `| Database | Checks | Page | Requests | p50 | p99 | Max | Response |
|---|--:|---|--:|--:|--:|--:|--:|`

func (r result) apiRow(cfg config) string {
	var s string
	for i, l := range r.lat {
		if i > 0 {
			s += "\n"
		}
		s += fmt.Sprintf("| %s | %d | `%s` | %d | %s | %s | %s | %.0f KiB |", cfg.label, r.n, l.name, len(l.samples),
			ms(percentile(l.samples, .5)), ms(percentile(l.samples, .99)), ms(percentile(l.samples, 1)), float64(l.bytes)/1024)
	}
	return s
}
