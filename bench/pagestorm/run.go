package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"groundcrew.dev/groundcrew/bench/harness"
)

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "pagestorm: "+format+"\n", args...)
}

// api is the little of the JSON API pagestorm needs.
type api struct {
	base, token string
	hc          *http.Client
}

func (a *api) call(ctx context.Context, method, path string, in any, want int, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+"/api/v1"+path, body)
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
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %s %s", method, path, resp.Status, data[:min(len(data), 500)])
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

func doc(kind, name string, spec map[string]any) map[string]any {
	return map[string]any{"apiVersion": "groundcrew.dev/v1", "kind": kind, "metadata": map[string]any{"name": name}, "spec": spec}
}

// setUp creates the people, catalog, policies and routes of the storm and
// returns an alertmanager integration key.
func setUp(ctx context.Context, a *api, cfg config, hookBase string) (string, error) {
	docs := []map[string]any{doc("Environment", "prod", map[string]any{"criticality": "critical"})}
	for i := range cfg.teams {
		docs = append(docs, doc("User", userName(i), map[string]any{"role": "member", "email": userName(i) + "@example.com"}),
			doc("Team", teamName(i), map[string]any{"members": []string{userName(i)}}),
			doc("EscalationPolicy", policyName(i), map[string]any{"owner": teamName(i), "steps": []any{
				map[string]any{"delay": "5m", "targets": []any{map[string]any{"user": userName(i)}}}}}))
	}
	for i := range cfg.services {
		docs = append(docs, doc("Service", serviceName(i), map[string]any{"owner": teamName(i % cfg.teams), "tier": 2,
			"environments": []string{"prod"}}))
	}
	if err := a.call(ctx, "POST", "/apply", map[string]any{"documents": docs, "set": "pagestorm"}, 200, nil); err != nil {
		return "", fmt.Errorf("apply people, catalog and policies: %w", err)
	}
	docs = docs[:0]
	for i := range cfg.teams {
		docs = append(docs, doc("AlertRoute", "r"+teamName(i), map[string]any{
			"matchers": []string{fmt.Sprintf("team=%q", teamName(i))}, "group_by": []string{"service"},
			"group_wait": cfg.groupWait.String(), "group_interval": "5m", "team": teamName(i), "escalation_policy": policyName(i)}))
	}
	if err := a.call(ctx, "POST", "/apply", map[string]any{"documents": docs, "set": "pagestorm"}, 200, nil); err != nil {
		return "", fmt.Errorf("apply routes: %w", err)
	}
	for i := range cfg.teams {
		if err := a.call(ctx, "POST", "/users/"+userName(i)+"/contact-methods", map[string]any{"name": "hook", "type": "webhook",
			"address": hookBase + "/" + userName(i)}, 201, nil); err != nil {
			return "", fmt.Errorf("contact method: %w", err)
		}
	}
	var it struct{ Key string }
	if err := a.call(ctx, "POST", "/integrations", map[string]string{"name": "storm", "type": "alertmanager"}, 201, &it); err != nil {
		return "", fmt.Errorf("create integration: %w", err)
	}
	return it.Key, nil
}

// serverPages counts the pages the server opened (bounded: 100 requests).
func serverPages(ctx context.Context, a *api) (int, error) {
	n, cursor := 0, ""
	for range 100 {
		var out struct {
			Items      []struct{ ID string }
			NextCursor string `json:"next_cursor"`
		}
		if err := a.call(ctx, "GET", "/pages?limit=500&cursor="+url.QueryEscape(cursor), nil, 200, &out); err != nil {
			return n, err
		}
		n += len(out.Items)
		if cursor = out.NextCursor; cursor == "" {
			break
		}
	}
	return n, nil
}

// usage is the server's (and PostgreSQL's) use of the machine.
type usage struct {
	serverCPU, dbCPU time.Duration
	rssPeak          int64
	mem              harness.Memory
}

// sampler follows the server's memory and CPU from start to stop.
type sampler struct {
	srv      *harness.Server
	pg       bool
	cpu0     time.Duration
	db0      map[int]time.Duration
	stopC    chan struct{}
	peakC    chan int64
	finished *usage
}

func startSampler(srv *harness.Server, pg bool) *sampler {
	s := &sampler{srv: srv, pg: pg, cpu0: srv.CPU(), stopC: make(chan struct{}), peakC: make(chan int64, 1)}
	if pg {
		s.db0 = harness.CommCPU("postgres")
	}
	go func() {
		peak := srv.Memory().RSS
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-s.stopC:
				s.peakC <- peak
				return
			case <-t.C:
				peak = max(peak, srv.Memory().RSS)
			}
		}
	}()
	return s
}

func (s *sampler) stop() usage {
	if s.finished != nil {
		return *s.finished
	}
	close(s.stopC)
	u := usage{rssPeak: <-s.peakC, serverCPU: s.srv.CPU() - s.cpu0, mem: s.srv.Memory()}
	if s.pg {
		u.dbCPU = harness.CPUSince(s.db0, harness.CommCPU("postgres"))
	}
	u.rssPeak = max(u.rssPeak, u.mem.RSS)
	s.finished = &u
	return u
}

func run(ctx context.Context, cfg config) error {
	work, err := os.MkdirTemp("", "pagestorm-")
	if err != nil {
		return err
	}
	defer func() {
		if cfg.keep {
			logf("kept %s", work)
			return
		}
		os.RemoveAll(work)
	}()
	bin := cfg.bin
	switch {
	case cfg.profileDir != "":
		bin, err = harness.Build(ctx, "pagestorm", "./bench/profserve", work)
	case bin == "":
		bin, err = harness.Build(ctx, "pagestorm", "./cmd/groundcrew", work)
	default:
		bin, err = filepath.Abs(bin)
	}
	if err != nil {
		return err
	}
	dsn := ""
	if cfg.database != "" {
		schema, err := harness.FreshSchema(ctx, cfg.database, "pagestorm")
		if err != nil {
			return err
		}
		dsn = schema.DSN
		if cfg.keep {
			logf("keeping schema %s", schema.Name)
		} else {
			defer schema.Drop()
		}
	}
	rcv, err := startReceiver(100_000)
	if err != nil {
		return err
	}
	defer rcv.close()
	password := harness.RandomHex(16)
	env := append([]string{"GROUNDCREW_PAGE_THROTTLE=" + cfg.throttle}, cfg.serverEnv...)
	srv, err := harness.Start(ctx, harness.Options{Bin: bin, Work: work, Database: dsn, AdminPassword: password,
		Pprof: cfg.profileDir != "", EchoLog: cfg.serverLog, Env: env, Name: "pagestorm"})
	if err != nil {
		return err
	}
	defer srv.Stop()
	logf("server pid %d at %s (%s); load average %s", srv.PID, srv.URL, cfg.label, harness.LoadAvg())

	a := &api{base: srv.URL, hc: &http.Client{Timeout: cfg.timeout}}
	var tok struct{ Secret string }
	if err := a.call(ctx, "POST", "/auth/token", map[string]string{"user": "admin", "password": password, "token_name": "pagestorm"}, 201, &tok); err != nil {
		return fmt.Errorf("log in: %w", err)
	}
	a.token = tok.Secret
	t0 := time.Now()
	key, err := setUp(ctx, a, cfg, rcv.url)
	if err != nil {
		return err
	}
	logf("set up %d teams, people, policies and routes and %d services in %s", cfg.teams, cfg.services, time.Since(t0).Round(time.Millisecond))
	batches, err := newStormBatches(cfg, time.Now())
	if err != nil {
		return err
	}

	profileDone := make(chan struct{})
	if cfg.profileDir != "" {
		go func() {
			defer close(profileDone)
			fetchProfile(ctx, srv.PprofURL, cfg.profileDir, "storm.cpu.pprof", "profile?seconds="+strconv.Itoa(int(max(time.Second, cfg.groupWait+10*time.Second)/time.Second)))
		}()
	} else {
		close(profileDone)
	}
	smp := startSampler(srv, cfg.database != "")
	storm := postStorm(ctx, srv.URL, key, cfg, batches)
	logf("storm: %d of %d alerts accepted in %d requests, %s", storm.accepted, cfg.alertnames*cfg.services, storm.requests, storm.end.Sub(storm.start).Round(time.Millisecond))
	if storm.accepted == 0 {
		smp.stop()
		return fmt.Errorf("no alert accepted: %s", storm.firstErr)
	}
	deadline := time.NewTimer(time.Until(storm.lastAck.Add(cfg.wait)))
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	allIn := time.Time{}
wait:
	for {
		select {
		case <-ctx.Done():
			break wait
		case <-deadline.C:
			break wait
		case <-tick.C:
			if rcv.pages() >= cfg.services {
				allIn = time.Now()
				break wait
			}
		}
	}
	if !allIn.IsZero() && cfg.linger > 0 {
		select { // duplicates and late extra messages
		case <-ctx.Done():
		case <-time.After(cfg.linger):
		}
	}
	use := smp.stop()
	<-profileDone
	if cfg.profileDir != "" {
		fetchProfile(ctx, srv.PprofURL, cfg.profileDir, "heap.pprof", "heap")
	}
	opened, err := serverPages(ctx, a)
	if err != nil {
		logf("count the server's pages: %v", err)
		opened = -1
	}
	msgs, seen, bad := rcv.snapshot()
	r := analyze(cfg, storm, msgs, seen)
	r.opened, r.use = opened, use
	for _, b := range bad {
		logf("bad message: %s", b)
	}
	r.print(os.Stderr, cfg)
	fmt.Println(header)
	fmt.Println(r.row(cfg))
	logf("load average at the end %s", harness.LoadAvg())
	return nil
}

// fetchProfile saves /debug/pprof/<what> as dir/name.
func fetchProfile(ctx context.Context, base, dir, name, what string) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		logf("profile: %v", err)
		return
	}
	hc := &http.Client{Timeout: 2 * time.Minute}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/debug/pprof/"+what, nil)
	if err != nil {
		return
	}
	resp, err := hc.Do(req)
	if err != nil {
		logf("profile: %v", err)
		return
	}
	defer resp.Body.Close()
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		return
	}
	defer f.Close()
	if _, err := io.Copy(f, resp.Body); err == nil {
		logf("profile %s", f.Name())
	}
}
