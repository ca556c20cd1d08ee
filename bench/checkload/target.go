package main

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// target is the local HTTP server the checks probe: GET /c/{index} answers
// 200 "ok", or 503 for every downEvery-th check so that some checks are
// DOWN and the status filters find something. It records when each
// request arrived, so that lateness and runs are measured outside the
// server under test. Safe for concurrent use.
type target struct {
	n         int
	downEvery int
	close     bool // answer with Connection: close: every probe dials afresh

	srv *http.Server
	url string

	mu      sync.Mutex
	hits    []hit
	max     int // hits kept at most; later ones are only counted
	dropped int
	first   []int64 // first arrival per check, Unix ns; 0 before
	seen    int     // checks with a first arrival
	allAt   int64   // when seen reached n
	bad     int     // requests for no check
}

// hit is one probe's arrival.
type hit struct {
	idx int32
	at  int64 // Unix ns
}

func newTarget(n, downEvery int, closeConns bool, maxHits int) *target {
	return &target{n: n, downEvery: downEvery, close: closeConns, max: maxHits, first: make([]int64, n),
		hits: make([]hit, 0, min(maxHits, 16*n))}
}

// start listens on a free loopback port.
func (t *target) start() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	t.url = "http://" + ln.Addr().String()
	t.srv = &http.Server{Handler: t, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 5 * time.Minute}
	go t.srv.Serve(ln)
	return nil
}

func (t *target) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	t.srv.Shutdown(ctx)
}

func (t *target) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now().UnixNano()
	idx, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/c/"))
	if err != nil || idx < 0 || idx >= t.n || !strings.HasPrefix(r.URL.Path, "/c/") {
		t.mu.Lock()
		t.bad++
		t.mu.Unlock()
		http.NotFound(w, r)
		return
	}
	t.mu.Lock()
	if len(t.hits) < t.max {
		t.hits = append(t.hits, hit{int32(idx), now})
	} else {
		t.dropped++
	}
	if t.first[idx] == 0 {
		t.first[idx] = now
		if t.seen++; t.seen == t.n {
			t.allAt = now
		}
	}
	t.mu.Unlock()
	h := w.Header()
	h["Content-Type"] = textPlain
	if t.close {
		h["Connection"] = connClose
	}
	if t.isDown(idx) {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write(downBody)
		return
	}
	w.Write(okBody)
}

var (
	textPlain = []string{"text/plain; charset=utf-8"}
	connClose = []string{"close"}
	okBody    = []byte("ok\n")
	downBody  = []byte("unavailable\n")
)

// isDown reports whether check idx is made to fail.
func (t *target) isDown(idx int) bool {
	return t.downEvery > 0 && idx%t.downEvery == t.downEvery-1
}

// downCount is how many checks fail.
func (t *target) downCount() int {
	if t.downEvery <= 0 {
		return 0
	}
	return t.n / t.downEvery
}

// progress returns how many checks have been probed at least once, when
// all were (0 before), and how many requests arrived.
func (t *target) progress() (seen int, allAt int64, total int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.seen, t.allAt, len(t.hits) + t.dropped
}

// snapshot returns a copy of the hits, the first arrivals and the hits
// dropped for lack of room.
func (t *target) snapshot() ([]hit, []int64, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]hit(nil), t.hits...), append([]int64(nil), t.first...), t.dropped
}
