package checkseries

import (
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/metric"
)

// TestP95 summarizes each five minutes by its 95th percentile (nearest
// rank), at the bucket's start, skipping empty buckets.
func TestP95(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	var in []metric.Sample
	for i := range 20 { // 10:00–10:04:45, 1..20 s
		in = append(in, metric.Sample{T: t0.Add(time.Duration(i) * 15 * time.Second), V: float64(i + 1)})
	}
	in = append(in, metric.Sample{T: t0.Add(12 * time.Minute), V: 0.5}) // alone in 10:10–10:15
	got := p95(in)
	want := []metric.Sample{{T: t0, V: 19}, {T: t0.Add(10 * time.Minute), V: 0.5}}
	if len(got) != len(want) {
		t.Fatalf("p95 = %+v, want %+v", got, want)
	}
	for i := range want {
		if !got[i].T.Equal(want[i].T) || got[i].V != want[i].V {
			t.Errorf("p95[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	if p95(nil) != nil {
		t.Errorf("p95 of nothing is not empty")
	}
}
