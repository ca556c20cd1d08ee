package forecast

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// The bounded grid the smoothing factors are fitted on: at most
// 7 × 5 × 5 = 175 passes over the resampled series.
var (
	alphaGrid = []float64{0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9}
	betaGrid  = []float64{0.01, 0.03, 0.1, 0.2, 0.4}
	gammaGrid = []float64{0.01, 0.05, 0.1, 0.2, 0.4}
)

// fitHolt resamples pts to a regular grid and fits Holt or HoltWinters,
// setting Level, Trend, Sigma, Step, the smoothing factors and Season of res.
func fitHolt(res *Result, pts []Point, method Method, o Options) error {
	span := pts[len(pts)-1].T.Sub(pts[0].T)
	step := o.Step
	if step == 0 {
		step = medianSpacing(pts)
		if method == HoltWinters {
			step = max(step, o.Period/DefaultStepsPerPeriod)
		}
	}
	m := 0
	if method == HoltWinters {
		m = min(int(o.Period/step), DefaultMaxSteps/2)
		step = o.Period / time.Duration(m)
	} else if span/step > DefaultMaxSteps {
		step = span / DefaultMaxSteps
	}
	if span/step >= DefaultMaxSteps { // HoltWinters keeps its season and drops the oldest steps
		from := pts[len(pts)-1].T.Add(-step * (DefaultMaxSteps - 1))
		i, _ := slices.BinarySearchFunc(pts, from, func(p Point, t time.Time) int { return p.T.Compare(t) })
		pts = pts[i:]
	}
	x := Resample(pts, step)
	if len(x) < 3 || (m > 0 && len(x) < 2*m) {
		return &InsufficientError{Reason: fmt.Sprintf("only %d steps of %s after resampling", len(x), step), Points: len(pts), Span: span}
	}
	alphas, betas, gammas := alphaGrid, betaGrid, gammaGrid
	if o.Alpha > 0 {
		alphas = []float64{o.Alpha}
	}
	if o.Beta > 0 {
		betas = []float64{o.Beta}
	}
	if o.Gamma > 0 || m == 0 {
		gammas = []float64{o.Gamma}
	}
	res.Fitted = len(alphas) > 1 || len(betas) > 1 || len(gammas) > 1
	best := math.Inf(1)
	var ba, bb, bg float64
	for _, a := range alphas {
		for _, b := range betas {
			for _, g := range gammas {
				if sse, _ := smooth(x, m, a, b, g, nil); sse < best {
					best, ba, bb, bg = sse, a, b, g
				}
			}
		}
	}
	st := &smoothed{}
	sse, cnt := smooth(x, m, ba, bb, bg, st)
	res.Step, res.Alpha, res.Beta, res.Gamma = step, ba, bb, bg
	res.Level = st.level
	res.Trend = st.trend / step.Seconds()
	res.Season = st.season
	if cnt > 0 {
		res.Sigma = math.Sqrt(sse / float64(cnt))
	}
	return nil
}

// smoothed is the state at the end of a smoothing pass.
type smoothed struct {
	level, trend float64   // per step
	season       []float64 // Season[j] applies j steps after the last one
}

// smooth runs additive Holt (m == 0) or Holt-Winters (season m) over x and
// returns the sum of squared one-step-ahead errors after the warm-up and how
// many there were; with out non-nil it also returns the final state.
func smooth(x []float64, m int, alpha, beta, gamma float64, out *smoothed) (float64, int) {
	n := len(x)
	var l, b float64
	var s []float64
	from, warm := 1, 2
	if m == 0 {
		l = x[0]
		b = initialSlope(x[:max(min(n, 10), n/2)])
	} else {
		// Level and trend from the first two periods' means, the season
		// from both periods' deviations around that line.
		m1, m2 := mean(x[:m]), mean(x[m:2*m])
		b = (m2 - m1) / float64(m)
		s = make([]float64, m)
		var sum float64
		for i := range m {
			c := float64(i) - float64(m-1)/2
			s[i] = ((x[i] - (m1 + b*c)) + (x[i+m] - (m2 + b*c))) / 2
			sum += s[i]
		}
		for i := range s {
			s[i] -= sum / float64(m)
		}
		l = m1 - b*(float64(m-1)/2+1) // the level one step before x[0]
		from, warm = 0, m
	}
	var sse float64
	cnt := 0
	for t := from; t < n; t++ {
		si := 0.0
		if m > 0 {
			si = s[t%m]
		}
		e := x[t] - (l + b + si)
		if t >= warm {
			sse += e * e
			cnt++
		}
		nl := alpha*(x[t]-si) + (1-alpha)*(l+b)
		b = beta*(nl-l) + (1-beta)*b
		l = nl
		if m > 0 {
			s[t%m] = gamma*(x[t]-l) + (1-gamma)*si
		}
	}
	if out != nil {
		out.level, out.trend = l, b
		if m > 0 {
			out.season = make([]float64, m)
			for j := range m {
				out.season[j] = s[(n-1+j)%m]
			}
		}
	}
	return sse, cnt
}

// initialSlope is the least-squares slope of x per step.
func initialSlope(x []float64) float64 {
	n := float64(len(x))
	if n < 2 {
		return 0
	}
	mx, my := (n-1)/2, mean(x)
	var sxx, sxy float64
	for i, v := range x {
		d := float64(i) - mx
		sxx += d * d
		sxy += d * (v - my)
	}
	return sxy / sxx
}

func mean(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// medianSpacing is the median time between neighbouring points of a sorted
// series, or the mean spacing when the median is zero (duplicate times).
func medianSpacing(pts []Point) time.Duration {
	dts := make([]float64, 0, len(pts)-1)
	for i := 1; i < len(pts); i++ {
		dts = append(dts, pts[i].T.Sub(pts[i-1].T).Seconds())
	}
	d := time.Duration(median(dts) * float64(time.Second))
	if d <= 0 {
		d = pts[len(pts)-1].T.Sub(pts[0].T) / time.Duration(len(pts)-1)
	}
	return max(d, time.Second)
}

// Resample averages a sorted series onto a regular grid of step ending at its
// last point: value k belongs to time last − (n−1−k)·step and averages the
// points within half a step of it. Empty cells (gaps) are filled by linear
// interpolation between their filled neighbours. It returns nil for an empty
// series or a non-positive step.
func Resample(pts []Point, step time.Duration) []float64 {
	if len(pts) == 0 || step <= 0 {
		return nil
	}
	end := pts[len(pts)-1].T
	n := int(end.Sub(pts[0].T)/step) + 1
	sum := make([]float64, n)
	cnt := make([]int, n)
	for _, p := range pts {
		back := math.Round(end.Sub(p.T).Seconds() / step.Seconds())
		k := n - 1 - int(back)
		if k < 0 {
			k = 0
		}
		sum[k] += p.V
		cnt[k]++
	}
	prev := -1
	for k := range n {
		if cnt[k] == 0 {
			continue
		}
		sum[k] /= float64(cnt[k])
		if prev < 0 {
			for j := range k {
				sum[j] = sum[k]
			}
		} else {
			for j := prev + 1; j < k; j++ {
				f := float64(j-prev) / float64(k-prev)
				sum[j] = sum[prev]*(1-f) + sum[k]*f
			}
		}
		prev = k
	}
	return sum
}
