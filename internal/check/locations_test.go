package check

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestCombine(t *testing.T) {
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	res := func(s Status, reason string, d time.Duration) Result {
		return Result{Status: s, Reason: reason, Duration: d}
	}
	tests := []struct {
		name       string
		need       int
		locs       []string
		results    map[string]Result
		want       Status
		wantReason []string
		wantDur    time.Duration
	}{
		{"all up", 0, []string{"eu", "us"}, map[string]Result{"eu": res(Up, "", 10), "us": res(Up, "", 30)}, Up, nil, 10},
		{"one down is enough by default", 0, []string{"eu", "us"}, map[string]Result{"eu": res(Down, "refused", 10), "us": res(Up, "", 30)}, Down,
			[]string{"down from 1 of 2 locations", "eu: refused"}, 10},
		{"one of three below quorum", 2, []string{"ap", "eu", "us"}, map[string]Result{"ap": res(Up, "", 5), "eu": res(Down, "timeout", 50), "us": res(Up, "", 7)}, Up,
			[]string{"failing from 1 of 3 locations (2 needed to fail)", "eu: timeout"}, 7},
		{"two of three", 2, []string{"ap", "eu", "us"}, map[string]Result{"ap": res(Up, "", 5), "eu": res(Down, "timeout", 50), "us": res(Down, "503", 7)}, Down,
			[]string{"down from 2 of 3 locations", "eu: timeout", "us: 503"}, 7},
		{"down and degraded make degraded", 2, []string{"eu", "us"}, map[string]Result{"eu": res(Down, "x", 1), "us": res(Degraded, "slow", 2)}, Degraded,
			[]string{"degraded from 2 of 2 locations"}, 1},
		{"a missing location is named", 1, []string{"eu", "us"}, map[string]Result{"eu": res(Up, "", 1)}, Up, []string{"no result from us"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Check{Spec: Spec{Locations: tt.locs, MinFailingLocations: tt.need}}
			got := combine(c, at, tt.results)
			if got.Status != tt.want || got.Duration != tt.wantDur || !got.At.Equal(at) {
				t.Fatalf("combine = %s %v at %v (%q), want %s %v", got.Status, got.Duration, got.At, got.Reason, tt.want, tt.wantDur)
			}
			for _, w := range tt.wantReason {
				if !strings.Contains(got.Reason, w) {
					t.Errorf("reason %q lacks %q", got.Reason, w)
				}
			}
			if len(tt.wantReason) == 0 && got.Reason != "" {
				t.Errorf("reason = %q, want none", got.Reason)
			}
		})
	}
}

func TestSlots_Due(t *testing.T) {
	id := uuid.New()
	rn := &runnable{check: Check{ID: id, Spec: Spec{Locations: []string{"eu", "local"}, Interval: 10_000_000_000, Timeout: 2_000_000_000}}}
	lookup := func(got uuid.UUID) *runnable {
		if got == id {
			return rn
		}
		return nil
	}
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	s := newSlots()
	add := func(loc string, at time.Time, st Status) {
		s.add(Result{CheckID: id, Location: loc, At: at, Status: st})
	}
	add("local", t0, Up)
	add("local", t0.Add(10*time.Second), Up)
	add("eu", t0.Add(10*time.Second), Up)
	// The first slot waits for eu; the complete second one must not overtake it.
	if d := s.due(t0.Add(11*time.Second), lookup); len(d) != 0 {
		t.Fatalf("due = %d slots, want none before the first is complete or overdue", len(d))
	}
	// Once the first is overdue (run timeout + grace), both are decided, in order.
	d := s.due(t0.Add(rn.check.runTimeout()+reportGrace), lookup)
	if len(d) != 2 || !d[0].at.Equal(t0) || !d[1].at.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("due = %+v", d)
	}
	if !strings.Contains(d[0].outcome.Reason, "no result from eu") {
		t.Errorf("overdue slot reason = %q", d[0].outcome.Reason)
	}
	// A result added again (a retried flush) replaces, it does not add.
	add("eu", t0.Add(10*time.Second), Down)
	if got := s.due(t0.Add(time.Minute), lookup); len(got) != 2 || got[1].outcome.Status != Down {
		t.Fatalf("after replacing a result: %+v", got)
	}
	s.remove(d)
	if s.n != 0 || len(s.m) != 0 {
		t.Fatalf("after remove: n=%d, m=%v", s.n, s.m)
	}
	// Slots of checks the runner no longer knows are dropped.
	s.add(Result{CheckID: uuid.New(), Location: "eu", At: t0, Status: Up})
	if got := s.due(t0.Add(time.Hour), lookup); len(got) != 0 || s.n != 0 {
		t.Fatalf("unknown check: due %d, n %d", len(got), s.n)
	}
}
