package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// prometheusAlert is one alert as Prometheus's notifier posts it to
// Alertmanager's API v2.
type prometheusAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     string            `json:"startsAt"`
	EndsAt       string            `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
}

// alertNames is how many distinct alertnames the alerts share: the
// receiver's route groups by alertname, so this is the number of groups.
const alertNames = 50

// endsAtMark stands for endsAt in a pre-rendered batch; it is replaced by
// the real time on every send.
const endsAtMark = "\x00ENDS\x00"

// newAlert returns alert i of the load: its own instance, one of
// alertNames alertnames, every 10th critical.
func newAlert(i int, startsAt time.Time) prometheusAlert {
	sev := "warning"
	if i%10 == 0 {
		sev = "critical"
	}
	return prometheusAlert{
		Labels: map[string]string{
			"alertname": fmt.Sprintf("Load%02d", i%alertNames), "instance": instanceOf(i),
			"job": "node", "severity": sev, "team": fmt.Sprintf("team-%d", i%7),
		},
		Annotations: map[string]string{
			"summary":     fmt.Sprintf("Instance %s is over its limit", instanceOf(i)),
			"description": fmt.Sprintf("Alert %d of the alertload benchmark: value 0.%03d over the threshold.", i, i%1000),
		},
		StartsAt:     startsAt.UTC().Format(time.RFC3339Nano),
		EndsAt:       endsAtMark,
		GeneratorURL: "http://prometheus:9090/graph?g0.expr=node_load1+%3E+4&g0.tab=1",
	}
}

func instanceOf(i int) string { return fmt.Sprintf("host-%05d:9100", i) }

// indexOf returns the alert index of an instance label, -1 if it is not one.
func indexOf(instance string) int {
	var i int
	if _, err := fmt.Sscanf(instance, "host-%05d:9100", &i); err != nil {
		return -1
	}
	return i
}

// batch is one request's alerts, rendered once: parts joined by the endsAt
// of the send.
type batch struct {
	first, n int
	parts    [][]byte
}

// newBatches splits n alerts into batches of size.
func newBatches(n, size int, startsAt time.Time) ([]batch, error) {
	var out []batch
	for first := 0; first < n; first += size {
		k := min(size, n-first)
		list := make([]prometheusAlert, k)
		for j := range list {
			list[j] = newAlert(first+j, startsAt)
		}
		b, err := json.Marshal(list)
		if err != nil {
			return nil, err
		}
		out = append(out, batch{first: first, n: k, parts: bytes.Split(b, []byte(strings.Trim(mustJSON(endsAtMark), `"`)))})
	}
	return out, nil
}

func mustJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// body renders the batch with endsAt.
func (b *batch) body(endsAt time.Time) []byte {
	return bytes.Join(b.parts, []byte(endsAt.UTC().Format(time.RFC3339Nano)))
}

// poster sends batches to /api/v2/alerts. Safe for concurrent use.
type poster struct {
	url  string
	keys []string
	hc   *http.Client
	next atomic.Uint64
}

func newPoster(base string, keys []string, conns int, timeout time.Duration) *poster {
	tr := &http.Transport{
		Proxy:               nil, // loopback only, whatever the environment says
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        2 * conns,
		MaxIdleConnsPerHost: 2 * conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &poster{url: base + "/api/v2/alerts", keys: keys, hc: &http.Client{Transport: tr, Timeout: timeout}}
}

// post sends one body with the next key in turn and returns the status
// code (0 and the error for a transport error) and, for a failure, the
// start of the response.
func (p *poster) post(ctx context.Context, body []byte) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Prometheus/3.0 (alertload)")
	req.Header.Set("Authorization", "Bearer "+p.keys[p.next.Add(1)%uint64(len(p.keys))])
	resp, err := p.hc.Do(req)
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

// samples collects request latencies and outcomes. Safe for concurrent use.
type samples struct {
	mu        sync.Mutex
	latencies []time.Duration
	accepted  int64 // alerts in 2xx answers
	requests  int64
	errors    map[string]int // by status code or "transport"
	firstErr  map[string]string
}

func (s *samples) add(d time.Duration, alerts, code int, msg string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	s.latencies = append(s.latencies, d)
	if err == nil && code/100 == 2 {
		s.accepted += int64(alerts)
		return
	}
	k := fmt.Sprint(code)
	if err != nil {
		k, msg = "transport", err.Error()
	}
	if s.errors == nil {
		s.errors, s.firstErr = map[string]int{}, map[string]string{}
	}
	s.errors[k]++
	if _, ok := s.firstErr[k]; !ok {
		s.firstErr[k] = msg
	}
}

// runInitial posts every batch once from clients workers; acked[i] gets the
// time alert i's request was answered 2xx (UnixNano).
func runInitial(ctx context.Context, p *poster, batches []batch, clients, maxRequests int, acked []atomic.Int64) *samples {
	return runOnce(ctx, p, batches, clients, maxRequests, acked, func() time.Time { return time.Now().Add(4 * time.Minute) })
}

// runResolve posts every batch once more with endsAt a second ago, as
// Prometheus reports alerts that stopped firing: every alert resolves.
func runResolve(ctx context.Context, p *poster, batches []batch, clients, maxRequests int) *samples {
	return runOnce(ctx, p, batches, clients, maxRequests, nil, func() time.Time { return time.Now().Add(-time.Second) })
}

// runOnce posts every batch once from clients workers, with endsAt from
// ends at each send; acked (if not nil) as for runInitial.
func runOnce(ctx context.Context, p *poster, batches []batch, clients, maxRequests int, acked []atomic.Int64, ends func() time.Time) *samples {
	s := &samples{}
	work := make(chan *batch, len(batches))
	for i := range batches[:min(len(batches), maxRequests)] {
		work <- &batches[i]
	}
	close(work)
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for b := range work {
				if ctx.Err() != nil {
					return
				}
				body := b.body(ends())
				t0 := time.Now()
				code, msg, err := p.post(ctx, body)
				done := time.Now()
				s.add(done.Sub(t0), b.n, code, msg, err)
				if err == nil && code/100 == 2 && acked != nil {
					for j := b.first; j < b.first+b.n; j++ {
						acked[j].CompareAndSwap(0, done.UnixNano())
					}
				}
			}
		})
	}
	wg.Wait()
	return s
}

// runRefresh re-sends the batches in turn, each client taking the next,
// for d (or maxRequests requests), with endsAt 4 minutes ahead as
// Prometheus sends it (4 × its resend delay of 1 minute).
func runRefresh(ctx context.Context, p *poster, batches []batch, clients, maxRequests int, d time.Duration) *samples {
	s := &samples{}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var n atomic.Int64
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for ctx.Err() == nil {
				k := n.Add(1) - 1
				if k >= int64(maxRequests) {
					return
				}
				b := &batches[k%int64(len(batches))]
				body := b.body(time.Now().Add(4 * time.Minute))
				t0 := time.Now()
				code, msg, err := p.post(ctx, body)
				if ctx.Err() != nil && err != nil {
					return // cut off by the end of the phase: not a sample
				}
				s.add(time.Since(t0), b.n, code, msg, err)
				if code == http.StatusTooManyRequests {
					select { // the key's bucket is empty: Prometheus would back off too
					case <-ctx.Done():
					case <-time.After(20 * time.Millisecond):
					}
				}
			}
		})
	}
	wg.Wait()
	return s
}

// percentile returns the q-quantile (0…1) of sorted durations.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(len(sorted)-1, i))]
}

func sortedCopy(d []time.Duration) []time.Duration {
	out := slices.Clone(d)
	slices.Sort(out)
	return out
}
