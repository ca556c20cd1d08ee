package forecast

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestMedian checks the selection-based median against sorting.
func TestMedian(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 200; n++ {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = float64(rng.IntN(20)) // many ties
		}
		s := slices.Clone(xs)
		slices.Sort(s)
		want := 0.0
		if n > 0 {
			want = s[n/2]
			if n%2 == 0 {
				want = (s[n/2-1] + s[n/2]) / 2
			}
		}
		orig := slices.Clone(xs)
		if got := median(xs); got != want {
			t.Fatalf("n=%d: median %g, want %g", n, got, want)
		}
		if !slices.Equal(xs, orig) {
			t.Fatal("input modified")
		}
	}
}
