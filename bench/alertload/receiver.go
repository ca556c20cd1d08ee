package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// receiver is a loopback webhook receiver: it counts deliveries and
// records when each alert was first delivered firing. Safe for concurrent
// use.
type receiver struct {
	srv        *http.Server
	url        string
	deliveries atomic.Int64
	delivered  []atomic.Int64 // by alert index: first firing delivery, UnixNano
	firstSeen  atomic.Int64   // distinct alerts delivered
	mu         sync.Mutex
	bad        []string
}

// startReceiver listens on 127.0.0.1 for the notifications of n alerts.
func startReceiver(n int) (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{url: "http://" + ln.Addr().String() + "/alerts", delivered: make([]atomic.Int64, n)}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	go r.srv.Serve(ln)
	return r, nil
}

// ServeHTTP takes one notification (Alertmanager's webhook format).
func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	now := time.Now().UnixNano()
	body, err := io.ReadAll(io.LimitReader(req.Body, 64<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var m struct {
		Alerts []struct {
			Status string            `json:"status"`
			Labels map[string]string `json:"labels"`
		} `json:"alerts"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		r.mu.Lock()
		if len(r.bad) < 5 {
			r.bad = append(r.bad, err.Error())
		}
		r.mu.Unlock()
		http.Error(w, "not JSON", http.StatusBadRequest)
		return
	}
	r.deliveries.Add(1)
	for _, a := range m.Alerts {
		i := indexOf(a.Labels["instance"])
		if a.Status != "firing" || i < 0 || i >= len(r.delivered) {
			continue
		}
		if r.delivered[i].CompareAndSwap(0, now) {
			r.firstSeen.Add(1)
		}
	}
	w.WriteHeader(http.StatusOK)
}

// latencies returns, for every alert both acknowledged and delivered, the
// time from its 2xx to its first delivery.
func (r *receiver) latencies(acked []atomic.Int64) []time.Duration {
	var out []time.Duration
	for i := range r.delivered {
		d, a := r.delivered[i].Load(), acked[i].Load()
		if d != 0 && a != 0 {
			out = append(out, time.Duration(d-a))
		}
	}
	return out
}

func (r *receiver) close() { r.srv.Close() }
