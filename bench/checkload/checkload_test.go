package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/check/sched"
)

func TestLastSlotMatchesScheduler(t *testing.T) {
	const iv = 30 * time.Second
	base := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	for _, id := range []string{"0b1c6f3e-5d0e-4b4e-9a57-3f3c1d2e4f5a", "a", "chk-00017"} {
		off := int64(sched.Offset(id, iv))
		for _, at := range []time.Time{base, base.Add(123456789 * time.Nanosecond), base.Add(-7 * time.Minute)} {
			want := sched.NextSlot(id, iv, at.Add(-iv)) // the first slot after at-iv: the last at or before at
			if got := lastSlot(off, int64(iv), at.UnixNano()); got != want.UnixNano() {
				t.Errorf("lastSlot(%s, %s) = %s, want %s", id, at, time.Unix(0, got).UTC(), want)
			}
		}
		slot := sched.NextSlot(id, iv, base)
		if got := lastSlot(off, int64(iv), slot.UnixNano()); got != slot.UnixNano() {
			t.Errorf("a slot is its own last slot: got %s, want %s", time.Unix(0, got).UTC(), slot)
		}
	}
}

func TestWindowRuns(t *testing.T) {
	const iv = int64(10 * time.Second)
	offs := []int64{0, int64(3 * time.Second), -1}
	from, to := int64(100*time.Second), int64(120*time.Second) // two intervals
	s := func(sec float64) int64 { return int64(sec * float64(time.Second)) }
	hits := []hit{
		{0, s(99.5)},  // slot 90 s: before the window
		{0, s(100.2)}, // slot 100 s, 200 ms late
		{0, s(110.1)}, // slot 110 s
		{0, s(120.0)}, // slot 120 s: after
		{1, s(103.0)}, // slot 103 s, on time
		{1, s(113.9)}, // slot 113 s, 900 ms late — check 1 has both its slots
		{1, s(114.0)}, // a second run of slot 113 s: extra
		{2, s(105)},   // unknown check: ignored
	}
	st := windowRuns(hits, offs, time.Duration(iv), from, to)
	if st.runs != 5 || st.expectedPerCheck != 2 || st.perCheckMin != 2 || st.perCheckMax != 3 || st.checksShort != 0 || st.checksExtra != 1 {
		t.Errorf("windowRuns = %+v", st)
	}
	if got, want := st.lateness[len(st.lateness)-1], time.Second; got != want {
		t.Errorf("max lateness %s, want %s", got, want)
	}
	st = windowRuns(hits[:2], offs, time.Duration(iv), from, to)
	if st.checksShort != 2 {
		t.Errorf("with one run of check 0 and none of check 1: %d checks short, want 2", st.checksShort)
	}
}

func TestParseMetrics(t *testing.T) {
	m := parseMetrics([]byte(`# HELP groundcrew_check_runs_total Check runs started by this replica.
groundcrew_check_runs_total 12345
groundcrew_check_skipped_total 2
groundcrew_check_lateness_seconds{quantile="0.5"} 0.0015
groundcrew_check_lateness_seconds{quantile="0.99"} 0.25
groundcrew_check_up{check="a",environment="prod",service="s",type="http"} 1
`))
	if !m.ok || m.runs != 12345 || m.skipped != 2 || m.lateP50 != 1500*time.Microsecond || m.lateP99 != 250*time.Millisecond {
		t.Errorf("parseMetrics = %+v", m)
	}
}

func TestPercentile(t *testing.T) {
	var v []time.Duration
	for i := 1; i <= 100; i++ {
		v = append(v, time.Duration(i))
	}
	for q, want := range map[float64]time.Duration{.5: 50, .99: 99, 1: 100, .001: 1} {
		if got := percentile(v, q); got != want {
			t.Errorf("percentile(1..100, %v) = %v, want %v", q, got, want)
		}
	}
	if percentile(nil, .5) != 0 {
		t.Error("percentile of nothing is not 0")
	}
}

func TestTargetRecordsFirstRuns(t *testing.T) {
	tg := newTarget(3, 3, false, 10)
	for _, path := range []string{"/c/0", "/c/2", "/c/0", "/c/7", "/x/1", "/c/1"} {
		rec := httptest.NewRecorder()
		tg.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		want := http.StatusOK
		switch path {
		case "/c/2":
			want = http.StatusServiceUnavailable // every third check fails
		case "/c/7", "/x/1":
			want = http.StatusNotFound
		}
		if rec.Code != want {
			t.Errorf("GET %s: %d, want %d", path, rec.Code, want)
		}
	}
	seen, allAt, total := tg.progress()
	if seen != 3 || allAt == 0 || total != 4 {
		t.Errorf("progress = %d seen, all at %d, %d hits; want 3, set, 4", seen, allAt, total)
	}
	if tg.downCount() != 1 || tg.bad != 2 {
		t.Errorf("downCount %d, bad %d; want 1, 2", tg.downCount(), tg.bad)
	}
}
