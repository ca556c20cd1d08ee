package forecast

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"groundcrew.dev/groundcrew/internal/errs"
)

// BacktestOptions say how to replay a recorded series.
type BacktestOptions struct {
	// Rule is evaluated at every cut-off on the points up to it.
	Rule Rule
	// Every spaces the cut-offs. Zero means 1/200 of the series' span.
	Every time.Duration
	// History is how much history each evaluation gets before its cut-off,
	// as the evaluator would load it. Zero means all points so far.
	History time.Duration
	// For plays the evaluator's `for`: a cut-off counts as firing only when
	// the rule has fired at every cut-off of the last For. Zero counts every
	// firing evaluation.
	For time.Duration
}

// Cutoff is one replayed evaluation.
type Cutoff struct {
	At      time.Time `json:"at"`
	Verdict Verdict   `json:"verdict"`
	Firing  bool      `json:"firing"` // Verdict.Firing held for BacktestOptions.For
	// Actual is when the recorded series first crossed the threshold after
	// At (interpolated between samples); zero if it never did.
	Actual time.Time `json:"actual,omitzero"`
	// Error is the predicted crossing minus Actual, when both exist and the
	// rule fired.
	Error  time.Duration `json:"error,omitempty"`
	InBand bool          `json:"in_band,omitempty"` // Actual within [Earliest, Latest]
}

// Backtest summarises a replay: the outcome at each cut-off and how the
// predicted crossings compare with the recorded ones. A cut-off is a hit when
// the rule fired (for BacktestOptions.For) and the series crossed within the
// horizon, a false alarm when it fired and the series did not, a miss when it
// did not fire and the series crossed, and quiet otherwise. Cut-offs already
// past the threshold are skipped.
type Backtest struct {
	Cutoffs []Cutoff `json:"cutoffs"`
	// Alerts is how many times firing started (with For applied).
	Alerts      int `json:"alerts"`
	Hits        int `json:"hits"`
	FalseAlarms int `json:"false_alarms"`
	Misses      int `json:"misses"`
	Quiet       int `json:"quiet"`
	Refused     int `json:"refused"` // insufficient data (counted in Misses or Quiet too)
	// Absolute errors of the predicted crossing over the hits.
	MedianAbsError time.Duration `json:"median_abs_error"`
	MeanAbsError   time.Duration `json:"mean_abs_error"`
	MaxAbsError    time.Duration `json:"max_abs_error"`
	// BandCoverage is the share of hits whose actual crossing lies within
	// the predicted band.
	BandCoverage float64 `json:"band_coverage"`
}

// RunBacktest replays series: at each cut-off it evaluates the rule on the
// points up to the cut-off and compares the prediction with what the series
// did next. It returns an errs.Invalid error for an invalid rule or series.
// Its cost is one Evaluate per cut-off.
func RunBacktest(series []Point, o BacktestOptions) (Backtest, error) {
	if err := o.Rule.Validate(); err != nil {
		return Backtest{}, errs.WithField("rule", err)
	}
	if o.Every < 0 {
		return Backtest{}, errs.Invalidf("every", "must not be negative")
	}
	if o.History < 0 {
		return Backtest{}, errs.Invalidf("history", "must not be negative")
	}
	if o.For < 0 {
		return Backtest{}, errs.Invalidf("for", "must not be negative")
	}
	pts, err := prepare(series)
	if err != nil {
		return Backtest{}, err
	}
	var bt Backtest
	if len(pts) < 2 {
		return bt, nil
	}
	every := o.Every
	if every == 0 {
		every = max(pts[len(pts)-1].T.Sub(pts[0].T)/200, time.Second)
	}
	dir, thr := o.Rule.Direction, o.Rule.Threshold
	var abs []float64
	inBand := 0
	next := pts[0].T
	var pending time.Time // since when the rule has fired without a break
	wasFiring := false
	first := 0 // the oldest point given to the evaluation
	for i, p := range pts {
		if p.T.Before(next) {
			continue
		}
		next = p.T.Add(every)
		if dir.past(p.V, thr) {
			pending, wasFiring = time.Time{}, false
			continue
		}
		for o.History > 0 && pts[first].T.Before(p.T.Add(-o.History)) {
			first++
		}
		v, err := Evaluate(pts[first:i+1], o.Rule)
		if err != nil {
			return Backtest{}, err
		}
		if !v.Firing {
			pending = time.Time{}
		} else if pending.IsZero() {
			pending = p.T
		}
		firing := v.Firing && p.T.Sub(pending) >= o.For
		if firing && !wasFiring {
			bt.Alerts++
		}
		wasFiring = firing
		c := Cutoff{At: p.T, Verdict: v, Firing: firing, Actual: actualCrossing(pts[i:], thr, dir)}
		crossed := !c.Actual.IsZero() && !c.Actual.After(p.T.Add(o.Rule.Horizon))
		if v.Insufficient {
			bt.Refused++
		}
		switch {
		case firing && crossed:
			bt.Hits++
			c.Error = v.Cross.At.Sub(c.Actual)
			abs = append(abs, math.Abs(c.Error.Seconds()))
			c.InBand = !c.Actual.Before(v.Cross.Earliest) && (v.Cross.Latest.IsZero() || !c.Actual.After(v.Cross.Latest))
			if c.InBand {
				inBand++
			}
		case firing:
			bt.FalseAlarms++
			if !c.Actual.IsZero() {
				c.Error = v.Cross.At.Sub(c.Actual)
			}
		case crossed:
			bt.Misses++
		default:
			bt.Quiet++
		}
		bt.Cutoffs = append(bt.Cutoffs, c)
	}
	if len(abs) > 0 {
		sec := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
		bt.MedianAbsError = sec(median(abs))
		bt.MeanAbsError = sec(mean(abs))
		bt.MaxAbsError = sec(slices.Max(abs))
		bt.BandCoverage = float64(inBand) / float64(len(abs))
	}
	return bt, nil
}

// actualCrossing is when pts (sorted, pts[0] not past) first reach threshold,
// interpolated linearly between the samples either side; zero if never.
func actualCrossing(pts []Point, thr float64, dir Direction) time.Time {
	for i := 1; i < len(pts); i++ {
		if !dir.past(pts[i].V, thr) {
			continue
		}
		a, b := pts[i-1], pts[i]
		f := 1.0
		if b.V != a.V {
			f = (thr - a.V) / (b.V - a.V)
		}
		return a.T.Add(time.Duration(f * float64(b.T.Sub(a.T))))
	}
	return time.Time{}
}

// MaxCSVRows bounds ParseCSV.
const MaxCSVRows = 1_000_000

// ParseCSV reads a recorded series: one "time,value" row per sample, the time
// in RFC 3339 or Unix seconds, an optional header row whose first field is
// not a time, blank lines and lines starting with # ignored. Errors (an
// errs.Invalid naming the line) for malformed rows, non-finite values and
// more than MaxCSVRows rows. The result is sorted by time.
func ParseCSV(r io.Reader) ([]Point, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	var pts []Point
	for row := 0; ; row++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, errs.Invalidf("csv", "%v", err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != 2 {
			return nil, errs.Invalidf(fmt.Sprintf("line %d", line), "want 2 fields (time,value), got %d", len(rec))
		}
		t, terr := parseTime(strings.TrimSpace(rec[0]))
		if terr != nil && row == 0 {
			continue // a header
		}
		if terr != nil {
			return nil, errs.Invalidf(fmt.Sprintf("line %d", line), "time: %v", terr)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rec[1]), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, errs.Invalidf(fmt.Sprintf("line %d", line), "value %q is not a finite number", rec[1])
		}
		if len(pts) == MaxCSVRows {
			return nil, errs.Invalidf("csv", "more than %d rows", MaxCSVRows)
		}
		pts = append(pts, Point{T: t, V: v})
	}
	slices.SortStableFunc(pts, func(a, b Point) int { return a.T.Compare(b.T) })
	return pts, nil
}

// parseTime accepts RFC 3339 or Unix seconds (with an optional fraction)
// between 1970 and 9999.
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(f > 0 && f < 253402300800) {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor Unix seconds", s)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}
