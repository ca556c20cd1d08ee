package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"groundcrew.dev/groundcrew/bench/harness"
)

// api is the little of the JSON API alertload needs.
type api struct {
	base, token string
	hc          *http.Client
}

func (a *api) call(ctx context.Context, method, path string, in any, want int, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+"/api/v1"+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %s %s", method, path, resp.Status, data[:min(len(data), 300)])
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// phase is what one phase measured.
type phase struct {
	name             string
	s                *samples
	took             time.Duration
	serverCPU        time.Duration
	dbCPU, loadCPU   time.Duration
	otherCPU         time.Duration
	rssPeak          int64
	memAfter         harness.Memory
	deliveryLatency  []time.Duration // initial phase with a receiver
	delivered, total int
}

// measure runs fn and measures the server and the machine meanwhile.
func measure(srv *harness.Server, pg bool, name string, fn func() *samples) phase {
	p := phase{name: name, rssPeak: srv.Memory().RSS}
	cpu0, self0 := srv.CPU(), harness.SelfCPU()
	var db0 map[int]time.Duration
	if pg {
		db0 = harness.CommCPU("postgres")
	}
	busy0, total0 := harness.MachineCPU()
	stop := make(chan struct{})
	sampled := make(chan int64)
	go func() {
		peak := int64(0)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				sampled <- peak
				return
			case <-t.C:
				peak = max(peak, srv.Memory().RSS)
			}
		}
	}()
	start := time.Now()
	p.s = fn()
	p.took = time.Since(start)
	close(stop)
	p.rssPeak = max(p.rssPeak, <-sampled)
	p.serverCPU, p.loadCPU = srv.CPU()-cpu0, harness.SelfCPU()-self0
	if pg {
		p.dbCPU = harness.CPUSince(db0, harness.CommCPU("postgres"))
	}
	busy1, total1 := harness.MachineCPU()
	if total1 > total0 {
		// /proc/stat ticks are 1/100 s each, summed over all CPUs.
		all := time.Duration(busy1-busy0) * 10 * time.Millisecond
		p.otherCPU = max(0, all-p.serverCPU-p.dbCPU-p.loadCPU)
	}
	p.memAfter = srv.Memory()
	p.rssPeak = max(p.rssPeak, p.memAfter.RSS)
	return p
}

func run(ctx context.Context, cfg config) error {
	work, err := os.MkdirTemp("", "alertload-")
	if err != nil {
		return err
	}
	defer func() {
		if cfg.keep {
			fmt.Fprintln(os.Stderr, "alertload: kept", work)
			return
		}
		os.RemoveAll(work)
	}()
	var srv *harness.Server
	var keys []string
	var schema *harness.Schema
	var rcv *receiver
	if cfg.receiver {
		if rcv, err = startReceiver(cfg.alerts); err != nil {
			return err
		}
		defer rcv.close()
	}
	if cfg.alertmanager != "" {
		srv, err = startAlertmanager(ctx, cfg, work, rcv)
		keys = []string{"unused"} // Alertmanager takes any Authorization header
	} else {
		srv, keys, schema, err = startGroundcrew(ctx, cfg, work, rcv)
		if schema != nil && !cfg.keep {
			defer schema.Drop()
		}
	}
	if err != nil {
		return err
	}
	defer srv.Stop()
	batches, err := newBatches(cfg.alerts, cfg.batch, time.Now().Add(-time.Minute))
	if err != nil {
		return err
	}
	p := newPoster(srv.URL, keys, cfg.clients, cfg.timeout)
	acked := make([]atomic.Int64, cfg.alerts)
	pg := cfg.database != ""
	var phases []phase

	// One CPU profile at a time: the refresh's waits for the initial's.
	profiling := make(chan struct{})
	close(profiling)
	profile := func(name string, d time.Duration) {
		if cfg.profileDir == "" {
			return
		}
		select {
		case <-profiling:
		case <-ctx.Done():
		}
		done := make(chan struct{})
		profiling = done
		go func() {
			defer close(done)
			fetchProfile(ctx, srv.PprofURL, cfg.profileDir, name, d)
		}()
	}
	profile("initial", 3*time.Second)
	first := measure(srv, pg, "initial", func() *samples { return runInitial(ctx, p, batches, cfg.clients, cfg.maxRequests, acked) })
	fmt.Fprintf(os.Stderr, "alertload: initial: %d alerts accepted in %s\n", first.s.accepted, first.took.Round(time.Millisecond))
	if rcv != nil {
		deadline := time.Now().Add(cfg.settle)
		for rcv.firstSeen.Load() < first.s.accepted && time.Now().Before(deadline) && ctx.Err() == nil {
			time.Sleep(100 * time.Millisecond)
		}
		first.deliveryLatency = sortedCopy(rcv.latencies(acked))
		first.delivered, first.total = int(rcv.firstSeen.Load()), int(first.s.accepted)
		fmt.Fprintf(os.Stderr, "alertload: %d of %d alerts delivered (%d webhook deliveries)\n", first.delivered, first.total, rcv.deliveries.Load())
	}
	phases = append(phases, first)
	if cfg.refresh > 0 && ctx.Err() == nil {
		if schema != nil {
			if err := schema.Analyze(ctx); err != nil {
				return err
			}
		}
		before := int64(0)
		if rcv != nil {
			before = rcv.deliveries.Load()
		}
		profile("refresh", cfg.refresh)
		ref := measure(srv, pg, "refresh", func() *samples { return runRefresh(ctx, p, batches, cfg.clients, cfg.maxRequests, cfg.refresh) })
		if rcv != nil {
			fmt.Fprintf(os.Stderr, "alertload: %d webhook deliveries during the refreshes\n", rcv.deliveries.Load()-before)
		}
		phases = append(phases, ref)
	}
	if cfg.resolve && ctx.Err() == nil {
		profile("resolve", 2*time.Second)
		phases = append(phases, measure(srv, pg, "resolve", func() *samples { return runResolve(ctx, p, batches, cfg.clients, cfg.maxRequests) }))
	}
	select { // the last profile is still being written
	case <-profiling:
	case <-ctx.Done():
	}
	if rcv != nil {
		rcv.mu.Lock()
		if len(rcv.bad) > 0 {
			fmt.Fprintf(os.Stderr, "alertload: the receiver got bad notifications: %s\n", strings.Join(rcv.bad, "; "))
		}
		rcv.mu.Unlock()
	}
	for _, ph := range phases {
		ph.print(os.Stderr, cfg)
	}
	fmt.Println("| Database | Phase | Alerts accepted | Requests | Alerts/s | Errors | Request p50 | p99 | max | Server CPU / alert | CPU s: server / PG / load-gen / other | RSS peak / VmHWM | Ingest→delivery p50 / p99 (delivered) |")
	fmt.Println("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|---|---|")
	for _, ph := range phases {
		fmt.Println(ph.row(cfg))
	}
	fmt.Fprintf(os.Stderr, "alertload: load average at the end %s\n", harness.LoadAvg())
	return nil
}

// startGroundcrew builds (unless -bin names it) and starts groundcrew,
// logs in, creates the integration keys and, with a receiver, routes every
// alert of the load to it.
func startGroundcrew(ctx context.Context, cfg config, work string, rcv *receiver) (*harness.Server, []string, *harness.Schema, error) {
	bin := cfg.bin
	var err error
	switch {
	case cfg.profileDir != "" && bin != "":
		return nil, nil, nil, fmt.Errorf("-profile builds its own server; leave out -bin")
	case cfg.profileDir != "":
		bin, err = harness.Build(ctx, "alertload", "./bench/profserve", work)
	case bin == "":
		bin, err = harness.Build(ctx, "alertload", "./cmd/groundcrew", work)
	default:
		bin, err = filepath.Abs(bin)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	dsn := ""
	var schema *harness.Schema
	if cfg.database != "" {
		if schema, err = harness.FreshSchema(ctx, cfg.database, "alertload"); err != nil {
			return nil, nil, nil, err
		}
		dsn = schema.DSN
		if cfg.keep {
			fmt.Fprintln(os.Stderr, "alertload: keeping schema", schema.Name)
		}
	}
	fail := func(err error) (*harness.Server, []string, *harness.Schema, error) { return nil, nil, schema, err }
	password := harness.RandomHex(16)
	srv, err := harness.Start(ctx, harness.Options{Bin: bin, Work: work, Database: dsn, AdminPassword: password,
		Pprof: cfg.profileDir != "", EchoLog: cfg.serverLog, Env: cfg.serverEnv, Name: "alertload"})
	if err != nil {
		return fail(err)
	}
	fmt.Fprintf(os.Stderr, "alertload: server pid %d at %s (%s); load average %s\n", srv.PID, srv.URL, cfg.label, harness.LoadAvg())
	fail = func(err error) (*harness.Server, []string, *harness.Schema, error) {
		srv.Stop()
		return nil, nil, schema, err
	}
	a := &api{base: srv.URL, hc: &http.Client{Timeout: cfg.timeout}}
	var tok struct{ Secret string }
	if err := a.call(ctx, "POST", "/auth/token", map[string]string{"user": "admin", "password": password, "token_name": "alertload"}, 201, &tok); err != nil {
		return fail(fmt.Errorf("log in: %w", err))
	}
	a.token = tok.Secret
	keys := make([]string, cfg.keys)
	for i := range keys {
		var it struct{ Key string }
		if err := a.call(ctx, "POST", "/integrations", map[string]string{"name": fmt.Sprintf("prometheus-%03d", i), "type": "alertmanager"}, 201, &it); err != nil {
			return fail(fmt.Errorf("create integration: %w", err))
		}
		keys[i] = it.Key
	}
	if rcv != nil {
		if err := a.call(ctx, "POST", "/receivers", map[string]any{"name": "load", "channels": []any{
			map[string]any{"webhook": map[string]any{"url": rcv.url, "secret": harness.RandomHex(16)}}}}, 201, nil); err != nil {
			return fail(err)
		}
		if err := a.call(ctx, "POST", "/alert-routes", map[string]any{"name": "load", "spec": map[string]any{
			"matchers": []string{`job="node"`}, "group_by": []string{"alertname"}, "group_wait": cfg.groupWait,
			"group_interval": cfg.groupWait, "receivers": []string{"load"}}}, 201, nil); err != nil {
			return fail(err)
		}
	}
	return srv, keys, schema, nil
}

// startAlertmanager starts Alertmanager with one route: with a receiver,
// every alert to it, grouped as groundcrew's route groups them; without,
// to a receiver with no integrations.
func startAlertmanager(ctx context.Context, cfg config, work string, rcv *receiver) (*harness.Server, error) {
	bin, err := filepath.Abs(cfg.alertmanager)
	if err != nil {
		return nil, err
	}
	conf := "route:\n  receiver: \"null\"\nreceivers:\n  - name: \"null\"\n"
	if rcv != nil {
		conf = fmt.Sprintf("route:\n  receiver: load\n  group_by: [alertname]\n  group_wait: %s\n  group_interval: %s\n"+
			"receivers:\n  - name: load\n    webhook_configs:\n      - url: %q\n        send_resolved: true\n", cfg.groupWait, cfg.groupWait, rcv.url)
	}
	file := filepath.Join(work, "alertmanager.yml")
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	addr, err := harness.FreePort()
	if err != nil {
		return nil, err
	}
	srv, err := harness.StartOther(ctx, harness.OtherOptions{Bin: bin, Work: work, URL: "http://" + addr, Ready: "/-/ready",
		Name: "alertload", Echo: cfg.serverLog, Args: []string{"--config.file=" + file, "--storage.path=" + filepath.Join(work, "data"),
			"--web.listen-address=" + addr, "--cluster.listen-address="}})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "alertload: Alertmanager pid %d at %s; load average %s\n", srv.PID, srv.URL, harness.LoadAvg())
	return srv, nil
}

func (p phase) rate() float64 { return float64(p.s.accepted) / p.took.Seconds() }

func (p phase) errorsText() string {
	if len(p.s.errors) == 0 {
		return "0"
	}
	var parts []string
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range p.s.errors {
			if !yield(k) {
				return
			}
		}
	}) {
		parts = append(parts, fmt.Sprintf("%d×%s", p.s.errors[k], k))
	}
	return strings.Join(parts, " ")
}

func (p phase) cpuPerAlert() string {
	if p.s.accepted == 0 {
		return "–"
	}
	return us(p.serverCPU / time.Duration(p.s.accepted))
}

func (p phase) print(w io.Writer, cfg config) {
	lat := sortedCopy(p.s.latencies)
	fmt.Fprintf(w, "\n%s (%s): %d requests of %d alerts in %s\n", p.name, cfg.label, p.s.requests, cfg.batch, p.took.Round(time.Millisecond))
	fmt.Fprintf(w, "  accepted          %d alerts, %.0f alerts/s\n", p.s.accepted, p.rate())
	fmt.Fprintf(w, "  errors            %s\n", p.errorsText())
	for k, m := range p.s.firstErr {
		fmt.Fprintf(w, "    first %s: %s\n", k, m)
	}
	fmt.Fprintf(w, "  request latency   p50 %s  p90 %s  p99 %s  max %s\n", ms(percentile(lat, .5)), ms(percentile(lat, .9)), ms(percentile(lat, .99)), ms(percentile(lat, 1)))
	fmt.Fprintf(w, "  CPU seconds       server %.2f (%s per alert)  PostgreSQL %.2f  load generator %.2f  other %.2f\n",
		p.serverCPU.Seconds(), p.cpuPerAlert(), p.dbCPU.Seconds(), p.loadCPU.Seconds(), p.otherCPU.Seconds())
	fmt.Fprintf(w, "  server memory     RSS peak %s, VmHWM %s\n", harness.MiB(p.rssPeak), harness.MiB(p.memAfter.HWM))
	if p.total > 0 {
		d := p.deliveryLatency
		fmt.Fprintf(w, "  ingest→delivery   %d of %d alerts delivered; p50 %s  p99 %s  max %s\n", p.delivered, p.total, ms(percentile(d, .5)), ms(percentile(d, .99)), ms(percentile(d, 1)))
	}
}

func (p phase) row(cfg config) string {
	lat := sortedCopy(p.s.latencies)
	deliv := "–"
	if p.total > 0 {
		deliv = fmt.Sprintf("%s / %s (%d of %d)", ms(percentile(p.deliveryLatency, .5)), ms(percentile(p.deliveryLatency, .99)), p.delivered, p.total)
	}
	pgCPU := "–"
	if cfg.database != "" {
		pgCPU = fmt.Sprintf("%.2f", p.dbCPU.Seconds())
	}
	return fmt.Sprintf("| %s | %s | %d | %d | %.0f | %s | %s | %s | %s | %s | %.2f / %s / %.2f / %.2f | %s / %s | %s |",
		cfg.label, p.name, p.s.accepted, p.s.requests, p.rate(), p.errorsText(), ms(percentile(lat, .5)), ms(percentile(lat, .99)), ms(percentile(lat, 1)),
		p.cpuPerAlert(), p.serverCPU.Seconds(), pgCPU, p.loadCPU.Seconds(), p.otherCPU.Seconds(), harness.MiB(p.rssPeak), harness.MiB(p.memAfter.HWM), deliv)
}

func ms(d time.Duration) string {
	switch {
	case d >= 100*time.Millisecond:
		return strconv.FormatInt(d.Milliseconds(), 10) + " ms"
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	}
}

func us(d time.Duration) string { return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond)) }

// fetchProfile saves a CPU profile of the server over the next d.
func fetchProfile(ctx context.Context, base, dir, name string, d time.Duration) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "alertload: profile:", err)
		return
	}
	hc := &http.Client{Timeout: d + time.Minute}
	secs := max(1, int(d/time.Second))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/debug/pprof/profile?seconds="+strconv.Itoa(secs), nil)
	if err != nil {
		return
	}
	resp, err := hc.Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, "alertload: profile:", err)
		return
	}
	defer resp.Body.Close()
	f, err := os.Create(filepath.Join(dir, name+".cpu.pprof"))
	if err != nil {
		return
	}
	defer f.Close()
	if _, err := io.Copy(f, resp.Body); err == nil {
		fmt.Fprintf(os.Stderr, "alertload: profile %s\n", f.Name())
	}
}
