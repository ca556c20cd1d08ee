package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"groundcrew.dev/groundcrew/bench/harness"
)

// result is the outcome of one phase.
type result struct {
	phase       phaseSpec
	clients     int
	elapsed     time.Duration // from the end of the warm-up until the last measured response
	latencies   []time.Duration
	errors      int
	bytes       int64 // response bodies of the successful measured requests
	errorCodes  map[string]int
	firstErrors []string
	memBefore   harness.Memory
	memAfter    harness.Memory
	rssPeak     int64 // highest VmRSS sampled during the phase
	serverCPU   time.Duration
	loadCPU     time.Duration
	dbCPU       time.Duration // PostgreSQL's processes, when the database is PostgreSQL on this machine
	machineBusy float64       // fraction of all CPUs busy
}

// otherCPU is the CPU that neither the server, PostgreSQL nor the load
// generator used: other work on the machine competing with the benchmark.
func (r result) otherCPU() time.Duration {
	busy := time.Duration(r.machineBusy * float64(runtime.NumCPU()) * float64(r.elapsed))
	return max(0, busy-r.serverCPU-r.loadCPU-r.dbCPU)
}

// op performs one request of a phase and reports its status code.
type op func(ctx context.Context, buf *bytes.Buffer) (int, error)

// worker holds one client's state during a phase.
type worker struct {
	id     int
	rng    *rand.Rand
	cursor string // page phase
	seq    int    // create phase
}

func phaseOp(c *client, p phaseSpec, cat catalog, idx int, w *worker) (op, int) {
	switch p.kind {
	case "list":
		path := "/services?limit=" + strconv.Itoa(p.limit)
		return func(ctx context.Context, buf *bytes.Buffer) (int, error) {
			return c.do(ctx, http.MethodGet, path, nil, buf)
		}, http.StatusOK
	case "page":
		return func(ctx context.Context, buf *bytes.Buffer) (int, error) {
			path := "/services?limit=" + strconv.Itoa(p.limit)
			if w.cursor != "" {
				path += "&cursor=" + url.QueryEscape(w.cursor)
			}
			code, err := c.do(ctx, http.MethodGet, path, nil, buf)
			if err == nil && code == http.StatusOK {
				w.cursor = nextCursor(buf.Bytes())
			}
			return code, err
		}, http.StatusOK
	case "get":
		return func(ctx context.Context, buf *bytes.Buffer) (int, error) {
			name := cat.services[w.rng.IntN(len(cat.services))]
			return c.do(ctx, http.MethodGet, "/services/"+name, nil, buf)
		}, http.StatusOK
	case "create":
		return func(ctx context.Context, buf *bytes.Buffer) (int, error) {
			w.seq++
			name := fmt.Sprintf("new%d-c%03d-%07d", idx, w.id, w.seq)
			dep := ""
			if w.seq%4 == 0 && len(cat.services) > 0 {
				dep = cat.services[w.rng.IntN(len(cat.services))]
			}
			body, err := json.Marshal(newService(name, w.seq, dep))
			if err != nil {
				return 0, err
			}
			return c.do(ctx, http.MethodPost, "/services", body, buf)
		}, http.StatusCreated
	}
	panic("unknown phase " + p.kind)
}

// nextCursor finds next_cursor in a list response without decoding the
// page, which would cost the load generator more CPU than the search.
func nextCursor(body []byte) string {
	const key = `"next_cursor":"`
	i := bytes.LastIndex(body, []byte(key))
	if i < 0 {
		return ""
	}
	rest := body[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}

// check makes sure a phase's request does what it should before it is
// timed: a list returns a full page, a get finds the service.
func check(ctx context.Context, c *client, p phaseSpec, cat catalog) error {
	switch p.kind {
	case "list", "page":
		var page struct {
			Items      []json.RawMessage `json:"items"`
			NextCursor string            `json:"next_cursor"`
		}
		if err := c.call(ctx, http.MethodGet, "/services?limit="+strconv.Itoa(p.limit), nil, http.StatusOK, &page); err != nil {
			return err
		}
		if want := min(p.limit, len(cat.services)); len(page.Items) != want {
			return fmt.Errorf("the first page has %d services, want %d", len(page.Items), want)
		}
	case "get":
		if len(cat.services) == 0 {
			return fmt.Errorf("nothing to get: seed some services")
		}
		return c.call(ctx, http.MethodGet, "/services/"+cat.services[0], nil, http.StatusOK, nil)
	}
	return nil
}

func runPhase(ctx context.Context, c *client, srv *harness.Server, cfg config, p phaseSpec, cat catalog, idx int) (result, error) {
	r := result{phase: p, clients: cfg.clients, errorCodes: map[string]int{}}
	if err := check(ctx, c, p, cat); err != nil {
		return r, err
	}
	fmt.Fprintf(os.Stderr, "apiload: phase %s: %d clients, %s warm-up + %s\n", p, cfg.clients, cfg.warmup, cfg.duration)
	if p.rate > 0 {
		fmt.Fprintf(os.Stderr, "apiload: open loop: latency counts from when each request was due\n")
	}

	start := time.Now()
	warmEnd := start.Add(cfg.warmup)
	end := warmEnd.Add(cfg.duration)
	pctx, cancel := context.WithDeadline(ctx, end.Add(cfg.timeout))
	defer cancel()

	// Open loop: a scheduler makes requests due at the phase's rate and
	// the clients take them in turn; latency counts from the due time.
	var due chan time.Time
	if p.rate > 0 {
		due = make(chan time.Time, 4*cfg.clients)
		go func() {
			defer close(due)
			for i := int64(0); i < int64(cfg.maxRequests); i++ {
				t := start.Add(time.Duration(i * int64(time.Second) / int64(p.rate)))
				if !t.Before(end) {
					return
				}
				if d := time.Until(t); d > 0 {
					select {
					case <-time.After(d):
					case <-pctx.Done():
						return
					}
				}
				select {
				case due <- t:
				case <-pctx.Done():
					return
				}
			}
		}()
	}

	var started atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for id := range cfg.clients {
		w := &worker{id: id, rng: rand.New(rand.NewPCG(uint64(idx), uint64(id)))}
		do, want := phaseOp(c, p, cat, idx, w)
		wg.Go(func() {
			var buf bytes.Buffer
			lat := make([]time.Duration, 0, 4096)
			var errCount int
			var bytesIn int64
			codes := map[string]int{}
			var msgs []string
			for pctx.Err() == nil {
				var t0 time.Time
				if due != nil {
					t, ok := <-due
					if !ok {
						break
					}
					t0 = t
				} else {
					if started.Add(1) > int64(cfg.maxRequests) {
						break
					}
					if t0 = time.Now(); !t0.Before(end) {
						break
					}
				}
				code, err := do(pctx, &buf)
				d := time.Since(t0)
				if t0.Before(warmEnd) {
					continue
				}
				lat = append(lat, d)
				if err == nil && code == want {
					bytesIn += int64(buf.Len())
					continue
				}
				errCount++
				key := strconv.Itoa(code)
				msg := ""
				if err != nil {
					key, msg = "transport", err.Error()
				} else {
					msg = fmt.Sprintf("%d %s", code, truncate(buf.String(), 300))
				}
				codes[key]++
				if len(msgs) < 3 {
					msgs = append(msgs, msg)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			r.latencies = append(r.latencies, lat...)
			r.errors += errCount
			r.bytes += bytesIn
			for k, v := range codes {
				r.errorCodes[k] += v
			}
			for _, m := range msgs {
				if len(r.firstErrors) < 5 {
					r.firstErrors = append(r.firstErrors, m)
				}
			}
		})
	}

	// Take the "before" figures when the warm-up ends, then sample the
	// server's memory until the workers are done.
	select {
	case <-time.After(time.Until(warmEnd)):
	case <-pctx.Done():
	}
	measured := time.Now()
	r.memBefore = srv.Memory()
	r.rssPeak = r.memBefore.RSS
	cpu0, self0 := srv.CPU(), harness.SelfCPU()
	var db0 map[int]time.Duration
	if cfg.database != "" {
		db0 = harness.CommCPU("postgres")
	}
	busy0, total0 := harness.MachineCPU()
	var profile chan error
	if cfg.profileDir != "" && srv.PprofURL != "" {
		profile = make(chan error, 1)
		go func() { profile <- fetchProfile(ctx, srv.PprofURL, cfg.profileDir, idx, p, cfg.duration) }()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var last time.Time
wait:
	for {
		select {
		case <-done:
			last = time.Now()
			break wait
		case <-tick.C:
			if m := srv.Memory(); m.RSS > r.rssPeak {
				r.rssPeak = m.RSS
			}
		}
	}
	r.elapsed = last.Sub(measured)
	r.serverCPU, r.loadCPU = srv.CPU()-cpu0, harness.SelfCPU()-self0
	if db0 != nil {
		r.dbCPU = harness.CPUSince(db0, harness.CommCPU("postgres"))
	}
	busy1, total1 := harness.MachineCPU()
	if total1 > total0 {
		r.machineBusy = float64(busy1-busy0) / float64(total1-total0)
	}
	r.memAfter = srv.Memory()
	r.rssPeak = max(r.rssPeak, r.memAfter.RSS)
	if profile != nil {
		if err := <-profile; err != nil {
			fmt.Fprintln(os.Stderr, "apiload: profile:", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return r, err
	}
	slices.Sort(r.latencies)
	return r, nil
}

// fetchProfile saves a CPU profile of the server over the measured part of
// a phase, and a heap profile after it.
func fetchProfile(ctx context.Context, base, dir string, idx int, p phaseSpec, d time.Duration) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	name := fmt.Sprintf("%d-%s", idx+1, p.kind)
	if p.kind == "list" || p.kind == "page" {
		name += strconv.Itoa(p.limit)
	}
	hc := &http.Client{Timeout: d + time.Minute}
	get := func(path, file string) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err != nil {
			return err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(resp.Body)
			return fmt.Errorf("%s: %s %s", path, resp.Status, truncate(string(b), 200))
		}
		f, err := os.Create(filepath.Join(dir, file))
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, resp.Body); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	secs := max(1, int(d/time.Second))
	if err := get("/debug/pprof/profile?seconds="+strconv.Itoa(secs), name+".cpu.pprof"); err != nil {
		return err
	}
	if err := get("/debug/pprof/heap", name+".heap.pprof"); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "apiload: profiles in %s: %s.cpu.pprof, %s.heap.pprof\n", dir, name, name)
	return nil
}

// percentile returns the nearest-rank percentile q (0 < q ≤ 1) of sorted.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*q+0.999999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func (r result) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(len(r.latencies)) / r.elapsed.Seconds()
}

func (r result) cores(d time.Duration) float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return d.Seconds() / r.elapsed.Seconds()
}

// cpuPerRequest is the server's CPU time per measured request: unlike the
// rate, it hardly depends on what else runs on the machine.
func (r result) cpuPerRequest() string {
	if len(r.latencies) == 0 {
		return "–"
	}
	us := r.serverCPU.Seconds() * 1e6 / float64(len(r.latencies))
	if us >= 1000 {
		return fmt.Sprintf("%.2f ms", us/1000)
	}
	return fmt.Sprintf("%.0f µs", us)
}

func kib(total int64, n int) string {
	if n <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f KiB", float64(total)/float64(n)/1024)
}

func ms(d time.Duration) string {
	f := float64(d) / float64(time.Millisecond)
	switch {
	case f < 10:
		return fmt.Sprintf("%.2f ms", f)
	case f < 100:
		return fmt.Sprintf("%.1f ms", f)
	default:
		return fmt.Sprintf("%.0f ms", f)
	}
}

func (r result) print(w io.Writer) {
	l := r.latencies
	fmt.Fprintf(w, "  %-22s %d requests in %s: %.0f req/s, %d errors\n", r.phase, len(l), r.elapsed.Round(time.Millisecond), r.rate(), r.errors)
	fmt.Fprintf(w, "  latency                p50 %s  p90 %s  p99 %s  max %s\n",
		ms(percentile(l, .50)), ms(percentile(l, .90)), ms(percentile(l, .99)), ms(percentile(l, 1)))
	fmt.Fprintf(w, "  server memory          RSS %s → %s (phase peak %s), VmHWM %s\n",
		harness.MiB(r.memBefore.RSS), harness.MiB(r.memAfter.RSS), harness.MiB(r.rssPeak), harness.MiB(r.memAfter.HWM))
	fmt.Fprintf(w, "  per request            server CPU %s, response body %s on average\n",
		r.cpuPerRequest(), kib(r.bytes, len(l)-r.errors))
	fmt.Fprintf(w, "  CPU (cores)            server %.2f, PostgreSQL %.2f, load generator %.2f, other %.2f; machine %.0f%% busy\n",
		r.cores(r.serverCPU), r.cores(r.dbCPU), r.cores(r.loadCPU), r.cores(r.otherCPU()), 100*r.machineBusy)
	if r.errors > 0 {
		var codes []string
		for k, v := range r.errorCodes {
			codes = append(codes, fmt.Sprintf("%s×%d", k, v))
		}
		slices.Sort(codes)
		fmt.Fprintf(w, "  errors                 %s\n", strings.Join(codes, ", "))
		for _, m := range r.firstErrors {
			fmt.Fprintf(w, "    %s\n", truncate(m, 200))
		}
	}
}

const tableHeader = `| Database | Phase | Clients | Requests | Req/s | Errors | p50 | p90 | p99 | Max | Server CPU / req | Server RSS before → after (peak) | CPU cores: server / PG / load-gen / other |
|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|---|`

func (r result) row(cfg config) string {
	l := r.latencies
	phase := "`GET /services?limit=" + strconv.Itoa(r.phase.limit) + "`"
	switch r.phase.kind {
	case "page":
		phase = "`GET /services?limit=" + strconv.Itoa(r.phase.limit) + "&cursor=…` (walk)"
	case "get":
		phase = "`GET /services/{name}`"
	case "create":
		phase = "`POST /services`"
	}
	if r.phase.rate > 0 {
		phase += fmt.Sprintf(" at %d/s", r.phase.rate)
	}
	pg := "–"
	if cfg.database != "" {
		pg = fmt.Sprintf("%.2f", r.cores(r.dbCPU))
	}
	return fmt.Sprintf("| %s | %s | %d | %d | %.0f | %d | %s | %s | %s | %s | %s | %s → %s (%s) | %.2f / %s / %.2f / %.2f |",
		cfg.label, phase, r.clients, len(l), r.rate(), r.errors,
		ms(percentile(l, .50)), ms(percentile(l, .90)), ms(percentile(l, .99)), ms(percentile(l, 1)), r.cpuPerRequest(),
		strings.TrimSuffix(harness.MiB(r.memBefore.RSS), " MiB"), harness.MiB(r.memAfter.RSS), harness.MiB(r.rssPeak),
		r.cores(r.serverCPU), pg, r.cores(r.loadCPU), r.cores(r.otherCPU()))
}

// waitIdle waits, at most maxWait, until the machine has been nearly idle
// (under idleCores busy) for three seconds in a row, so that a phase does
// not start while other work competes for the CPUs.
func waitIdle(ctx context.Context, maxWait time.Duration) {
	const idleCores = 0.15
	deadline := time.Now().Add(maxWait)
	calm, said := 0, false
	busy0, total0 := harness.MachineCPU()
	for calm < 3 {
		if !time.Now().Before(deadline) {
			fmt.Fprintf(os.Stderr, "apiload: the machine is still busy after %s; going on (see the \"other\" CPU)\n", maxWait)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		busy1, total1 := harness.MachineCPU()
		cores := 0.0
		if total1 > total0 {
			cores = float64(busy1-busy0) / float64(total1-total0) * float64(runtime.NumCPU())
		}
		busy0, total0 = busy1, total1
		if cores < idleCores {
			calm++
			continue
		}
		calm = 0
		if !said {
			fmt.Fprintf(os.Stderr, "apiload: waiting for the machine to be idle (%.2f cores busy)\n", cores)
			said = true
		}
	}
}
