package main

import (
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/alert"
)

// TestBatchesParse checks that the bodies alertload sends are what
// groundcrew's Alertmanager parser accepts, with the endsAt of the send.
func TestBatchesParse(t *testing.T) {
	start := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	bs, err := newBatches(250, 100, start)
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 3 || bs[2].first != 200 || bs[2].n != 50 {
		t.Fatalf("batches = %d, last %+v", len(bs), bs[len(bs)-1])
	}
	ends := start.Add(4 * time.Minute)
	got, err := alert.ParseAlertmanager(bs[1].body(ends))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 100 {
		t.Fatalf("%d alerts in a batch of 100", len(got))
	}
	seen := map[string]bool{}
	for i, in := range got {
		if !in.EndsAt.Equal(ends) || !in.StartsAt.Equal(start) {
			t.Fatalf("alert %d: startsAt %v endsAt %v", i, in.StartsAt, in.EndsAt)
		}
		if err := in.Validate(start, time.Hour); err != nil {
			t.Fatalf("alert %d: %v", i, err)
		}
		if idx := indexOf(in.Labels["instance"]); idx != 100+i {
			t.Fatalf("alert %d has instance %q (index %d)", i, in.Labels["instance"], idx)
		}
		seen[alert.Fingerprint(in.Labels)] = true
	}
	if len(seen) != 100 {
		t.Fatalf("%d distinct fingerprints in 100 alerts", len(seen))
	}
}

func TestPercentile(t *testing.T) {
	d := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 5}, {0.99, 10}, {1, 10}, {0, 1}} {
		if got := percentile(d, c.q); got != c.want {
			t.Errorf("percentile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
	if percentile(nil, 0.5) != 0 {
		t.Error("percentile of nothing is not 0")
	}
	if indexOf("other") != -1 {
		t.Error("indexOf of a foreign instance")
	}
}
