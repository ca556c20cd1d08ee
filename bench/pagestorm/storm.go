package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"
)

func teamName(i int) string    { return fmt.Sprintf("t%02d", i) }
func userName(i int) string    { return fmt.Sprintf("u%02d", i) }
func policyName(i int) string  { return fmt.Sprintf("p%02d", i) }
func serviceName(i int) string { return fmt.Sprintf("s%03d", i) }
func alertName(i int) string   { return fmt.Sprintf("A%02d", i) }

// stormAlert is alert (name, service) of the storm: its service's team is
// service % teams.
type stormAlert struct{ name, service int }

// stormOrder lists every alert of the storm in the order it is posted.
func stormOrder(cfg config) []stormAlert {
	out := make([]stormAlert, 0, cfg.alertnames*cfg.services)
	switch cfg.order {
	case "service":
		for s := range cfg.services {
			for a := range cfg.alertnames {
				out = append(out, stormAlert{a, s})
			}
		}
	default:
		for a := range cfg.alertnames {
			for s := range cfg.services {
				out = append(out, stormAlert{a, s})
			}
		}
		if cfg.order == "shuffle" {
			r := rand.New(rand.NewPCG(5, 5)) // the same storm every run
			r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
		}
	}
	return out
}

// stormBatch is one request of the storm.
type stormBatch struct {
	body     []byte
	n        int
	services []int // the services it has alerts of
}

// newStormBatches renders the storm as Prometheus's notifier posts it:
// JSON arrays of alerts with labels, annotations, startsAt, endsAt and
// generatorURL.
func newStormBatches(cfg config, now time.Time) ([]stormBatch, error) {
	type promAlert struct {
		Labels       map[string]string `json:"labels"`
		Annotations  map[string]string `json:"annotations"`
		StartsAt     time.Time         `json:"startsAt"`
		EndsAt       time.Time         `json:"endsAt"`
		GeneratorURL string            `json:"generatorURL"`
	}
	// Firing for the whole run, however long it waits.
	ends := now.Add(max(4*time.Minute, cfg.spread+cfg.wait+cfg.linger+2*time.Minute)).UTC()
	all := stormOrder(cfg)
	var out []stormBatch
	for lo := 0; lo < len(all); lo += cfg.batch {
		part := all[lo:min(len(all), lo+cfg.batch)]
		list := make([]promAlert, len(part))
		in := map[int]bool{}
		var b stormBatch
		for i, a := range part {
			svc := serviceName(a.service)
			list[i] = promAlert{
				Labels: map[string]string{"alertname": alertName(a.name), "service": svc, "team": teamName(a.service % cfg.teams),
					"severity": "critical"},
				Annotations:  map[string]string{"summary": fmt.Sprintf("%s on %s", alertName(a.name), svc)},
				StartsAt:     now.Add(-time.Minute).UTC(),
				EndsAt:       ends,
				GeneratorURL: "http://prometheus:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1",
			}
			if !in[a.service] {
				in[a.service] = true
				b.services = append(b.services, a.service)
			}
		}
		body, err := json.Marshal(list)
		if err != nil {
			return nil, err
		}
		b.body, b.n = body, len(part)
		out = append(out, b)
	}
	return out, nil
}

// stormResult is what posting the storm measured.
type stormResult struct {
	start, end  time.Time   // the first request sent, the last answered
	lastAck     time.Time   // the last 2xx: the last alert accepted
	firstPost   []time.Time // by service: when the first request with its alerts was sent
	accepted    int
	requests    int
	errors      map[string]int
	firstErr    string
	reqLatency  []time.Duration
	serviceSeen []bool
}

// postStorm posts every batch once from clients keep-alive clients, as
// fast as they can or, with -spread, each batch at its share of it.
func postStorm(ctx context.Context, base, key string, cfg config, batches []stormBatch) *stormResult {
	tr := &http.Transport{
		Proxy:               nil, // loopback only, whatever the environment says
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 2 * cfg.clients,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: cfg.timeout}
	res := &stormResult{firstPost: make([]time.Time, cfg.services), serviceSeen: make([]bool, cfg.services), errors: map[string]int{}}
	work := make(chan int, len(batches))
	for i := range batches {
		work <- i
	}
	close(work)
	var mu sync.Mutex
	var wg sync.WaitGroup
	res.start = time.Now()
	for range min(cfg.clients, len(batches)) {
		wg.Go(func() {
			for i := range work {
				b := &batches[i]
				if cfg.spread > 0 && len(batches) > 1 { // open loop: batch i is due at start + i/(n-1) of the spread
					due := res.start.Add(cfg.spread * time.Duration(i) / time.Duration(len(batches)-1))
					select {
					case <-ctx.Done():
					case <-time.After(time.Until(due)):
					}
				}
				if ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				mu.Lock()
				for _, s := range b.services {
					if !res.serviceSeen[s] {
						res.serviceSeen[s], res.firstPost[s] = true, t0
					}
				}
				mu.Unlock()
				code, msg, err := post(ctx, hc, base+"/api/v2/alerts", key, b.body)
				done := time.Now()
				mu.Lock()
				res.requests++
				res.reqLatency = append(res.reqLatency, done.Sub(t0))
				switch {
				case err == nil && code/100 == 2:
					res.accepted += b.n
					if done.After(res.lastAck) {
						res.lastAck = done
					}
				default:
					k := fmt.Sprint(code)
					if err != nil {
						k, msg = "transport", err.Error()
					}
					if res.errors[k]++; res.firstErr == "" {
						res.firstErr = k + ": " + msg
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	res.end = time.Now()
	return res
}

// post sends one body with the integration key as a bearer token and
// returns the status code (0 and the error for a transport error) and, for
// a failure, the start of the answer.
func post(ctx context.Context, hc *http.Client, url, key string, body []byte) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Prometheus/3.0 (pagestorm)")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, string(msg[:min(len(msg), 300)]), nil
	}
	return resp.StatusCode, "", nil
}
