package forecast

import (
	"math"
	"time"
)

// fitLinear fits an ordinary least-squares line to pts (at least three, with
// distinct times) and sets Level, Trend, Sigma, MeanOffset and Sxx of res.
// Offsets are measured in seconds from the last point, which keeps the
// arithmetic well conditioned for Unix-scale timestamps.
func fitLinear(res *Result, pts []Point) {
	end := pts[len(pts)-1].T
	n := float64(len(pts))
	var mx, my float64
	for _, p := range pts {
		mx += p.T.Sub(end).Seconds()
		my += p.V
	}
	mx /= n
	my /= n
	var sxx, sxy float64
	for _, p := range pts {
		dx := p.T.Sub(end).Seconds() - mx
		sxx += dx * dx
		sxy += dx * (p.V - my)
	}
	slope := 0.0
	if sxx > 0 {
		slope = sxy / sxx
	}
	level := my - slope*mx // the line at offset 0 (End)
	var sse float64
	for _, p := range pts {
		e := p.V - (level + slope*p.T.Sub(end).Seconds())
		sse += e * e
	}
	res.Level, res.Trend = level, slope
	res.MeanOffset, res.Sxx = mx, sxx
	if len(pts) > 2 {
		res.Sigma = math.Sqrt(sse / (n - 2))
	}
}

// shifted returns the linear forecast r re-anchored at to: the same line and
// band, with End (and Last, the line's value) moved there.
func (r Result) shifted(to time.Time) Result {
	d := to.Sub(r.End).Seconds()
	r.Level += r.Trend * d
	r.MeanOffset -= d
	r.End, r.Last = to, r.Level
	return r
}

// studentFactor widens a normal band for a small sample: Student's t over
// the normal quantile at 97.5% for dof degrees of freedom (a table for 1–4,
// 1.96 + 2.4/ν + 2.9/ν² beyond, within 1% of the exact value).
func studentFactor(dof int) float64 {
	switch {
	case dof <= 0:
		return 1
	case dof <= 4:
		return []float64{12.706, 4.303, 3.182, 2.776}[dof-1] / 1.96
	}
	v := float64(dof)
	return (1.96 + 2.4/v + 2.9/(v*v)) / 1.96
}
