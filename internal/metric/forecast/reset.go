package forecast

import (
	"math"
	"slices"
	"time"
)

// Reset is a sudden jump between two neighbouring samples: a clean-up that
// frees a disk, a certificate renewal, a restart that zeroes a counter.
type Reset struct {
	Index  int       `json:"index"` // index of the first point after the jump
	At     time.Time `json:"at"`    // time of that point
	Before float64   `json:"before"`
	After  float64   `json:"after"`
}

// resetNoiseK is how many robust standard deviations of the step-to-step
// noise a jump must exceed, so that a noisy flat series never "resets".
const resetNoiseK = 8

// DetectResets returns the jumps in pts (sorted by time) larger than
// fraction of the series' range. A jump is measured against the series'
// median slope (so a steady fill across a gap is no jump) and must also
// exceed 8 robust standard deviations of the step-to-step noise. Only steps
// no longer than three median sampling intervals count: a change across a
// gap in the data is not sudden. It returns nil for fewer than three points.
func DetectResets(pts []Point, fraction float64) []Reset {
	n := len(pts)
	if n < 3 || fraction <= 0 {
		return nil
	}
	lo, hi := pts[0].V, pts[0].V
	for _, p := range pts {
		lo, hi = math.Min(lo, p.V), math.Max(hi, p.V)
	}
	rng := hi - lo
	if rng == 0 {
		return nil
	}
	dts := make([]float64, 0, n-1)
	slopes := make([]float64, 0, n-1)
	for i := 1; i < n; i++ {
		dt := pts[i].T.Sub(pts[i-1].T).Seconds()
		dts = append(dts, dt)
		if dt > 0 {
			slopes = append(slopes, (pts[i].V-pts[i-1].V)/dt)
		}
	}
	medDT := median(dts)
	ms := 0.0
	if len(slopes) > 0 {
		ms = median(slopes)
	}
	resid := make([]float64, n-1)
	for i := 1; i < n; i++ {
		resid[i-1] = pts[i].V - pts[i-1].V - ms*dts[i-1]
	}
	mr := median(resid)
	dev := make([]float64, len(resid))
	for i, r := range resid {
		dev[i] = math.Abs(r - mr)
	}
	scale := 1.4826 * median(dev)
	limit := math.Max(fraction*rng, resetNoiseK*scale)
	var out []Reset
	for i, r := range resid {
		if math.Abs(r) > limit && dts[i] <= 3*medDT {
			out = append(out, Reset{Index: i + 1, At: pts[i+1].T, Before: pts[i].V, After: pts[i+1].V})
		}
	}
	return out
}

// cycleOf describes the saw-tooth formed by the resets that jump the same way
// as the last one, or returns nil when there are fewer than two of them.
func cycleOf(resets []Reset, slack, z float64) *Cycle {
	last := resets[len(resets)-1]
	up := last.After > last.Before
	var same []Reset
	for _, r := range resets {
		if (r.After > r.Before) == up {
			same = append(same, r)
		}
	}
	if len(same) < 2 {
		return nil
	}
	gaps := make([]float64, 0, len(same)-1)
	for i := 1; i < len(same); i++ {
		gaps = append(gaps, same[i].At.Sub(same[i-1].At).Seconds())
	}
	length := time.Duration(median(gaps) * float64(time.Second))
	c := &Cycle{
		Resets:  len(same),
		Length:  length,
		Next:    last.At.Add(length),
		Overdue: last.At.Add(time.Duration(slack * float64(length))),
	}
	if len(same) >= 3 {
		ends := make([]Point, len(same))
		for i, r := range same {
			// The value just before the reset, stamped at the reset.
			ends[i] = Point{T: r.At, V: r.Before}
		}
		env := Result{Method: Linear, Start: ends[0].T, End: ends[len(ends)-1].T, Last: ends[len(ends)-1].V, N: len(ends), Z: z * studentFactor(len(ends)-2)}
		fitLinear(&env, ends)
		c.Envelope = &env
	}
	return c
}

// median returns the median of xs (0 for none) in linear expected time; xs
// is not modified.
func median(xs []float64) float64 {
	n := len(xs)
	if n == 0 {
		return 0
	}
	s := slices.Clone(xs)
	hi := selectKth(s, n/2)
	if n%2 == 1 {
		return hi
	}
	// After selection, s[:n/2] holds the smaller half.
	return (slices.Max(s[:n/2]) + hi) / 2
}

// selectKth partially orders s so that s[k] is the k-th smallest value, with
// no larger value before it and no smaller one after it (Hoare's selection
// with a median-of-three pivot), and returns s[k].
func selectKth(s []float64, k int) float64 {
	lo, hi := 0, len(s)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		// Median of three into s[mid].
		if s[mid] < s[lo] {
			s[mid], s[lo] = s[lo], s[mid]
		}
		if s[hi] < s[lo] {
			s[hi], s[lo] = s[lo], s[hi]
		}
		if s[hi] < s[mid] {
			s[hi], s[mid] = s[mid], s[hi]
		}
		p := s[mid]
		i, j := lo, hi
		for i <= j {
			for s[i] < p {
				i++
			}
			for s[j] > p {
				j--
			}
			if i <= j {
				s[i], s[j] = s[j], s[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return s[k]
		}
	}
	return s[k]
}
