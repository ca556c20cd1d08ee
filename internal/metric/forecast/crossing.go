package forecast

import (
	"errors"
	"fmt"
	"math"
	"time"

	"groundcrew.dev/groundcrew/internal/errs"
)

// Direction says which way a threshold is crossed.
type Direction string

// The directions.
const (
	Rising  Direction = "rising"  // the value goes up to the threshold (disk fills, latency grows)
	Falling Direction = "falling" // the value goes down to it (TLS days left, free space)
)

// Validate reports an unknown direction as an errs.Invalid on "direction".
func (d Direction) Validate() error {
	if d != Rising && d != Falling {
		return errs.Invalidf("direction", "must be %q or %q", Rising, Falling)
	}
	return nil
}

// past reports whether v is at or beyond threshold in direction d.
func (d Direction) past(v, threshold float64) bool {
	if d == Falling {
		return v <= threshold
	}
	return v >= threshold
}

// LatestFactor is how far past the horizon (as a multiple of it) Crossing
// looks for the band's far edge: Cross.Latest is zero when that edge does
// not cross within LatestFactor × horizon.
const LatestFactor = 4

// Cross is a predicted threshold crossing.
type Cross struct {
	// At is when the forecast crosses; zero when it does not within the
	// horizon (Earliest may still be set).
	At time.Time `json:"at,omitzero"`
	// Earliest is when the near edge of the band crosses (the hi edge for
	// Rising, lo for Falling): the earliest plausible crossing.
	Earliest time.Time `json:"earliest,omitzero"`
	// Latest is when the far edge crosses: the latest plausible crossing;
	// zero when it does not within LatestFactor × horizon.
	Latest time.Time `json:"latest,omitzero"`
	// Now is set when the last observed value is already past the threshold.
	Now bool `json:"now,omitempty"`
	// Envelope is set when the crossing comes from a saw-tooth's envelope
	// (the cycles' peaks reach the threshold) rather than the current cycle.
	Envelope bool `json:"envelope,omitempty"`
}

// Crossing reports whether the forecast r crosses threshold in direction dir
// within horizon after r.End, and when (with the band's earliest and latest
// crossing). For a saw-tooth (r.Cycle set), a crossing inside the current
// cycle counts only before Cycle.Limit (none once the reset is overdue);
// otherwise the envelope of the cycles' peaks (or troughs) is forecast
// instead. When ok is false, Cross.Earliest may still be set: the
// band, though not the forecast, reaches the threshold within the horizon.
func Crossing(r Result, threshold float64, dir Direction, horizon time.Duration) (c Cross, ok bool) {
	if r.End.IsZero() || horizon <= 0 || dir.Validate() != nil {
		return Cross{}, false
	}
	if dir.past(r.Last, threshold) {
		return Cross{At: r.End, Earliest: r.End, Latest: r.End, Now: true}, true
	}
	limit := r.End.Add(horizon)
	far := r.End.Add(LatestFactor * horizon)
	cycleLimit, limited := r.Cycle.Limit(r.End)
	if limited {
		limit, far = minTime(limit, cycleLimit), minTime(far, cycleLimit)
	}
	near, farEdge := 2, 1 // indexes into (v, lo, hi)
	if dir == Falling {
		near, farEdge = 1, 2
	}
	c.At, ok = scan(r, 0, threshold, dir, limit)
	c.Earliest, _ = scan(r, near, threshold, dir, limit)
	if ok {
		c.Latest, _ = scan(r, farEdge, threshold, dir, far)
		return c, true
	}
	if limited && r.Cycle.Envelope != nil {
		env := r.Cycle.Envelope.shifted(r.End)
		if ec, eok := Crossing(env, threshold, dir, horizon); eok {
			ec.Envelope, ec.Now = true, false // the peaks, not the current value, are past it
			return ec, true
		}
	}
	return c, false
}

// scan returns the first time in (r.End, to] at which curve k of r.At (0 the
// forecast, 1 lo, 2 hi) is past threshold: a coarse scan, then bisection.
func scan(r Result, k int, threshold float64, dir Direction, to time.Time) (time.Time, bool) {
	span := to.Sub(r.End)
	if span <= 0 {
		return time.Time{}, false
	}
	steps := 512 // enough for a line and a widening band; a season needs 4 per step
	if r.Step > 0 && len(r.Season) > 0 {
		steps = int(min(max(4*float64(span)/float64(r.Step), 512), 50000))
	}
	at := func(d time.Duration) float64 {
		v, lo, hi := r.At(r.End.Add(d))
		return [3]float64{v, lo, hi}[k]
	}
	prev := time.Duration(0)
	for i := 1; i <= steps; i++ {
		d := time.Duration(float64(span) * float64(i) / float64(steps))
		if !dir.past(at(d), threshold) {
			prev = d
			continue
		}
		lo, hi := prev, d
		for hi-lo > time.Second {
			mid := lo + (hi-lo)/2
			if dir.past(at(mid), threshold) {
				hi = mid
			} else {
				lo = mid
			}
		}
		return r.End.Add(hi).Truncate(time.Second), true
	}
	return time.Time{}, false
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// Rule is what a ForecastRule asks: forecast with Method and Options, and
// fire when the forecast crosses Threshold in Direction within Horizon —
// only when the last value is already past Guard, if Guard is set. The `for`
// duration is the evaluator's: it fires when Verdict.Firing has held that
// long.
type Rule struct {
	Method    Method        `json:"method"`
	Options   Options       `json:"options"`
	Threshold float64       `json:"threshold"`
	Direction Direction     `json:"direction"`
	Horizon   time.Duration `json:"horizon"`
	// Guard is the absolute guard: for Rising, fire only when the last value
	// is at or above it (a fill-up forecast pages only when usage is already
	// high); for Falling, at or below it. Nil means no guard.
	Guard *float64 `json:"guard,omitempty"`
}

// Validate reports the first bad field of the rule as an errs.Invalid.
func (r Rule) Validate() error {
	switch r.Method {
	case Linear, Holt:
	case HoltWinters:
		if r.Options.Period == 0 {
			return errs.Invalidf("options.period", "is required for %s", r.Method)
		}
	default:
		return errs.Invalidf("method", "unknown method %q (want %s, %s or %s)", r.Method, Linear, Holt, HoltWinters)
	}
	if err := r.Options.Validate(); err != nil {
		return errs.WithField("options", err)
	}
	if math.IsNaN(r.Threshold) || math.IsInf(r.Threshold, 0) {
		return errs.Invalidf("threshold", "must be a finite number")
	}
	if err := r.Direction.Validate(); err != nil {
		return err
	}
	if r.Horizon <= 0 {
		return errs.Invalidf("horizon", "must be positive")
	}
	if r.Guard != nil && (math.IsNaN(*r.Guard) || math.IsInf(*r.Guard, 0)) {
		return errs.Invalidf("guard", "must be a finite number")
	}
	return nil
}

// Verdict is the outcome of one evaluation of a Rule.
type Verdict struct {
	Result       Result `json:"result"`
	Cross        Cross  `json:"cross"`
	Crossing     bool   `json:"crossing"`     // the forecast crosses within the horizon
	Insufficient bool   `json:"insufficient"` // refused: too little data (see Reason)
	Firing       bool   `json:"firing"`       // crossing and the guard (if any) passed
	Reason       string `json:"reason"`       // one line for people, always set
}

// Evaluate forecasts series with rule and decides whether it fires. Too
// little data is not an error: the verdict is Insufficient, not firing, with
// the reason. It returns an errs.Invalid error for an invalid rule or series.
func Evaluate(series []Point, rule Rule) (Verdict, error) {
	if err := rule.Validate(); err != nil {
		return Verdict{}, err
	}
	res, err := Forecast(series, rule.Method, rule.Options)
	var ie *InsufficientError
	if errors.As(err, &ie) {
		return Verdict{Insufficient: true, Reason: ie.Error()}, nil
	}
	if err != nil {
		return Verdict{}, fmt.Errorf("forecast: %w", err)
	}
	v := Verdict{Result: res}
	v.Cross, v.Crossing = Crossing(res, rule.Threshold, rule.Direction, rule.Horizon)
	switch {
	case !v.Crossing:
		v.Reason = fmt.Sprintf("no %s crossing of %g within %s", rule.Direction, rule.Threshold, rule.Horizon)
		if lim, ok := res.Cycle.Limit(res.End); ok && lim.Before(res.End.Add(rule.Horizon)) {
			v.Reason += fmt.Sprintf(" before the next reset, due by %s (saw-tooth: %d resets, every %s)",
				lim.UTC().Format(time.RFC3339), res.Cycle.Resets, res.Cycle.Length.Round(time.Minute))
		}
	case rule.Guard != nil && !rule.Direction.past(res.Last, *rule.Guard):
		v.Reason = fmt.Sprintf("crosses %g at %s, but the last value %g is not past the guard %g",
			rule.Threshold, v.Cross.At.UTC().Format(time.RFC3339), res.Last, *rule.Guard)
	case v.Cross.Now:
		v.Firing = true
		v.Reason = fmt.Sprintf("already past %g (last value %g)", rule.Threshold, res.Last)
	default:
		v.Firing = true
		v.Reason = fmt.Sprintf("crosses %g in %s (at %s)", rule.Threshold,
			v.Cross.At.Sub(res.End).Round(time.Minute), v.Cross.At.UTC().Format(time.RFC3339))
	}
	return v, nil
}
