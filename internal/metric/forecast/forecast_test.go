package forecast_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/metric/forecast"
)

// t0 is the start of every synthetic series.
var t0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// series samples f from start for span every step, jittering each timestamp
// by up to ±jitter (fixed seed), and adds Gaussian noise of sd.
func series(span, step, jitter time.Duration, sd float64, seed uint64, f func(h float64) float64) []forecast.Point {
	rng := rand.New(rand.NewPCG(seed, 1))
	var pts []forecast.Point
	for d := time.Duration(0); d <= span; d += step {
		at := d
		if jitter > 0 && d > 0 && d < span {
			at += time.Duration((rng.Float64()*2 - 1) * float64(jitter))
		}
		h := at.Hours()
		pts = append(pts, forecast.Point{T: t0.Add(at), V: f(h) + rng.NormFloat64()*sd})
	}
	return pts
}

// within fails unless got is within tol of want.
func within(t *testing.T, what string, got, want time.Time, tol time.Duration) {
	t.Helper()
	if d := got.Sub(want); d < -tol || d > tol {
		t.Errorf("%s = %s, want %s ± %s (off by %s)", what, got.UTC().Format(time.RFC3339), want.UTC().Format(time.RFC3339), tol, d)
	}
}

func mustForecast(t *testing.T, pts []forecast.Point, m forecast.Method, o forecast.Options) forecast.Result {
	t.Helper()
	r, err := forecast.Forecast(pts, m, o)
	if err != nil {
		t.Fatalf("Forecast(%s): %v", m, err)
	}
	return r
}

// TestLinearFill: a disk filling 1%/h, now at 50%, is full at +50 h.
func TestLinearFill(t *testing.T) {
	fill := func(h float64) float64 { return 26 + h } // 26% at start, 50% after 24 h
	pts := series(24*time.Hour, 5*time.Minute, 2*time.Minute, 0, 1, fill)
	// Irregular sampling with a 3-hour gap.
	var gapped []forecast.Point
	for _, p := range pts {
		if h := p.T.Sub(t0).Hours(); h < 10 || h > 13 {
			gapped = append(gapped, p)
		}
	}
	end := t0.Add(24 * time.Hour)
	want := end.Add(50 * time.Hour)
	for _, m := range []forecast.Method{forecast.Linear, forecast.Holt} {
		t.Run(string(m), func(t *testing.T) {
			r := mustForecast(t, gapped, m, forecast.Options{})
			c, ok := forecast.Crossing(r, 100, forecast.Rising, 72*time.Hour)
			if !ok {
				t.Fatalf("no crossing; result %+v", r)
			}
			tol := 5 * time.Minute
			if m == forecast.Holt {
				tol = 30 * time.Minute // jittered samples land in neighbouring grid cells
			}
			within(t, "At", c.At, want, tol)
			if c.Earliest.After(c.At) || (!c.Latest.IsZero() && c.Latest.Before(c.At)) {
				t.Errorf("band [%s, %s] does not bracket %s", c.Earliest, c.Latest, c.At)
			}
			if _, ok := forecast.Crossing(r, 100, forecast.Rising, 40*time.Hour); ok {
				t.Errorf("crossing within 40h, want none (full at +50h)")
			}
		})
	}
}

// TestNoise: the same fill with Gaussian noise (sd 2%, fixed seed); the
// forecast is within 3 h and the band contains the true crossing.
func TestNoise(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		pts := series(24*time.Hour, 5*time.Minute, 2*time.Minute, 2, seed, func(h float64) float64 { return 26 + h })
		r := mustForecast(t, pts, forecast.Linear, forecast.Options{})
		want := t0.Add(74 * time.Hour)
		c, ok := forecast.Crossing(r, 100, forecast.Rising, 72*time.Hour)
		if !ok {
			t.Fatalf("seed %d: no crossing", seed)
		}
		within(t, "At", c.At, want, 3*time.Hour)
		if c.Earliest.After(want) || c.Latest.IsZero() || c.Latest.Before(want) {
			t.Errorf("seed %d: band [%s, %s] does not contain %s", seed, c.Earliest, c.Latest, want)
		}
	}
}

// dailyTrend is 40 + 0.1/h with a ±10 daily cycle peaking at 06:00.
func dailyTrend(h float64) float64 { return 40 + 0.1*h + 10*math.Sin(2*math.Pi*h/24) }

// firstCrossing scans f (hours from t0) from h for the first value ≥ thr.
func firstCrossing(f func(float64) float64, from, to, thr float64) time.Time {
	for h := from; h <= to; h += 1.0 / 3600 {
		if f(h) >= thr {
			return t0.Add(time.Duration(h * float64(time.Hour)))
		}
	}
	return time.Time{}
}

// TestHoltWinters: a daily cycle with a trend crosses at the right peak;
// irregular samples with a gap.
func TestHoltWinters(t *testing.T) {
	pts := series(7*24*time.Hour, 10*time.Minute, 3*time.Minute, 0.3, 7, dailyTrend)
	var gapped []forecast.Point
	for _, p := range pts {
		if h := p.T.Sub(t0).Hours(); h < 100 || h > 104 {
			gapped = append(gapped, p)
		}
	}
	r := mustForecast(t, gapped, forecast.HoltWinters, forecast.Options{Period: forecast.Daily})
	if !r.Fitted || len(r.Season) == 0 {
		t.Fatalf("want fitted seasonal result, got %+v", r)
	}
	// Peaks are 50.6 + 2.4k at 6+24k h: the peak at 246 h reaches 74.6,
	// short of 76; the one at 270 h crosses it.
	want := firstCrossing(dailyTrend, 168, 400, 76)
	c, ok := forecast.Crossing(r, 76, forecast.Rising, 7*24*time.Hour)
	if !ok {
		t.Fatalf("no crossing (want %s)", want)
	}
	within(t, "At", c.At, want, 90*time.Minute)
	if c.Earliest.After(want) {
		t.Errorf("Earliest %s after the true crossing %s", c.Earliest, want)
	}
	// The linear trend alone (no season) would not see the peak: it crosses
	// 76 much later, when the mean does.
	lin := mustForecast(t, gapped, forecast.Linear, forecast.Options{})
	if lc, ok := forecast.Crossing(lin, 76, forecast.Rising, 7*24*time.Hour); ok && lc.At.Sub(want).Abs() < 12*time.Hour {
		t.Errorf("linear found the peak crossing too (%s); the fixture does not exercise the season", lc.At)
	}
}

// TestFalling: TLS days left, now 30, crosses 14 in 16 days.
func TestFalling(t *testing.T) {
	expiry := t0.Add(10*24*time.Hour + 30*24*time.Hour)
	days := func(h float64) float64 {
		return expiry.Sub(t0.Add(time.Duration(h*float64(time.Hour)))).Hours() / 24
	}
	pts := series(10*24*time.Hour, time.Hour, 10*time.Minute, 0, 3, days)
	r := mustForecast(t, pts, forecast.Linear, forecast.Options{})
	c, ok := forecast.Crossing(r, 14, forecast.Falling, 20*24*time.Hour)
	if !ok {
		t.Fatal("no crossing")
	}
	within(t, "At", c.At, expiry.Add(-14*24*time.Hour), time.Minute)
	if _, ok := forecast.Crossing(r, 40, forecast.Rising, 20*24*time.Hour); ok {
		t.Error("rising crossing of a falling series")
	}
}

// TestFlat: a flat noisy series crosses nothing.
func TestFlat(t *testing.T) {
	pts := series(48*time.Hour, 5*time.Minute, time.Minute, 1, 4, func(float64) float64 { return 50 })
	for _, m := range []forecast.Method{forecast.Linear, forecast.Holt} {
		r := mustForecast(t, pts, m, forecast.Options{})
		if c, ok := forecast.Crossing(r, 90, forecast.Rising, 7*24*time.Hour); ok {
			t.Errorf("%s: crossing at %s, want none", m, c.At)
		}
		if !r.Reset.IsZero() {
			t.Errorf("%s: reset detected at %s in a flat series", m, r.Reset)
		}
	}
	r := mustForecast(t, pts, forecast.HoltWinters, forecast.Options{Period: forecast.Daily})
	if c, ok := forecast.Crossing(r, 90, forecast.Rising, 7*24*time.Hour); ok {
		t.Errorf("holt-winters: crossing at %s, want none", c.At)
	}
}

// sawtooth fills from 40 to 80 over 24 h, then a clean-up drops it to 40.
func sawtooth(h float64) float64 { return 40 + 40*math.Mod(h, 24)/24 }

// TestSawtooth: a disk cleaned up every day never reaches 95% in a cycle, so
// no crossing is predicted, though the in-cycle trend (and a trend over
// several cycles' peaks at 80%) would say otherwise without the guard.
func TestSawtooth(t *testing.T) {
	pts := series(5*24*time.Hour+10*time.Hour, 5*time.Minute, time.Minute, 0.5, 5, sawtooth)
	for _, m := range []forecast.Method{forecast.Linear, forecast.Holt} {
		t.Run(string(m), func(t *testing.T) {
			r := mustForecast(t, pts, m, forecast.Options{})
			if r.Cycle == nil || r.Cycle.Resets != 5 {
				t.Fatalf("cycle = %+v, want 5 resets", r.Cycle)
			}
			if d := r.Cycle.Length - 24*time.Hour; d.Abs() > 10*time.Minute {
				t.Errorf("cycle length %s, want 24h", r.Cycle.Length)
			}
			if c, ok := forecast.Crossing(r, 95, forecast.Rising, 48*time.Hour); ok {
				t.Errorf("crossing at %s (envelope %v), want none", c.At, c.Envelope)
			}
			v, err := forecast.Evaluate(pts, forecast.Rule{Method: m, Threshold: 95, Direction: forecast.Rising, Horizon: 48 * time.Hour})
			if err != nil || v.Firing || !strings.Contains(v.Reason, "saw-tooth") {
				t.Errorf("Evaluate = %v (%s), %v; want not firing, saw-tooth named", v.Firing, v.Reason, err)
			}
			// Without the guard, the in-cycle trend would cross 95 at
			// +23 h: proof that the cycle limit is what stops it.
			noCycle := r
			noCycle.Cycle = nil
			if _, ok := forecast.Crossing(noCycle, 95, forecast.Rising, 48*time.Hour); !ok {
				t.Error("in-cycle trend alone does not cross; the test proves nothing")
			}
		})
	}
	t.Run("overdue clean-up", func(t *testing.T) {
		// The last clean-up did not happen: the disk keeps filling.
		f := func(h float64) float64 {
			if h >= 96 {
				return 40 + 40*(h-96)/24
			}
			return sawtooth(h)
		}
		pts := series(96*time.Hour+32*time.Hour, 5*time.Minute, time.Minute, 0.5, 6, f)
		r := mustForecast(t, pts, forecast.Linear, forecast.Options{})
		c, ok := forecast.Crossing(r, 95, forecast.Rising, 48*time.Hour)
		if !ok {
			t.Fatalf("no crossing after an overdue clean-up; cycle %+v", r.Cycle)
		}
		within(t, "At", c.At, t0.Add(96*time.Hour+33*time.Hour), 30*time.Minute)
	})
	t.Run("peaks rising", func(t *testing.T) {
		// Each clean-up frees less: cycle k fills from 40+3k to 64+3k, so
		// no single cycle reaches 90 soon, but the peaks creep up to it.
		f := func(h float64) float64 {
			k := math.Floor(h / 24)
			return 40 + 3*k + 24*math.Mod(h, 24)/24
		}
		pts := series(5*24*time.Hour+10*time.Hour, 5*time.Minute, time.Minute, 0.3, 8, f)
		r := mustForecast(t, pts, forecast.Linear, forecast.Options{})
		c, ok := forecast.Crossing(r, 90, forecast.Rising, 7*24*time.Hour)
		if !ok || !c.Envelope {
			t.Fatalf("crossing = %+v, %v; want one from the envelope", c, ok)
		}
		// Peaks, stamped at the clean-up at 24(k+1) h, are 64+3k = 61 + h/8:
		// 90 at 232 h, 102 h ahead, from five noisy peaks: ±12 h, and the
		// band contains it.
		want := t0.Add(232 * time.Hour)
		within(t, "At", c.At, want, 12*time.Hour)
		if c.Earliest.After(want) || (!c.Latest.IsZero() && c.Latest.Before(want)) {
			t.Errorf("band [%s, %s] does not contain %s", c.Earliest, c.Latest, want)
		}
	})
}

// TestInsufficient: too few points, too short a history, too little since a
// reset, and too few periods for Holt-Winters are refused with a reason.
func TestInsufficient(t *testing.T) {
	lin := func(h float64) float64 { return h }
	cases := []struct {
		name string
		pts  []forecast.Point
		m    forecast.Method
		o    forecast.Options
	}{
		{"few points", series(5*time.Hour, time.Hour, 0, 0, 1, lin), forecast.Linear, forecast.Options{}},
		{"short span", series(10*time.Minute, 30*time.Second, 0, 0, 1, lin), forecast.Linear, forecast.Options{}},
		{"window", series(48*time.Hour, 5*time.Minute, 0, 0, 1, lin), forecast.Linear, forecast.Options{Window: 30 * time.Minute}},
		{"one period", series(30*time.Hour, 5*time.Minute, 0, 0, 1, lin), forecast.HoltWinters, forecast.Options{Period: forecast.Daily}},
		{"just reset", series(24*time.Hour+20*time.Minute, 5*time.Minute, 0, 0, 1, sawtooth), forecast.Linear, forecast.Options{}},
		{"custom minimum", series(3*time.Hour, 5*time.Minute, 0, 0, 1, lin), forecast.Linear, forecast.Options{MinSpan: 6 * time.Hour}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := forecast.Forecast(tc.pts, tc.m, tc.o)
			var ie *forecast.InsufficientError
			if !errors.Is(err, forecast.ErrInsufficient) || !errors.As(err, &ie) || ie.Reason == "" {
				t.Fatalf("err = %v, want an InsufficientError", err)
			}
			t.Log(err)
		})
	}
}

// TestInvalid: bad input names its field.
func TestInvalid(t *testing.T) {
	ok := series(24*time.Hour, 5*time.Minute, 0, 0, 1, func(h float64) float64 { return h })
	bad := append([]forecast.Point(nil), ok...)
	bad[3].V = math.NaN()
	cases := []struct {
		name  string
		pts   []forecast.Point
		m     forecast.Method
		o     forecast.Options
		field string
	}{
		{"method", ok, "arima", forecast.Options{}, "method"},
		{"nan", bad, forecast.Linear, forecast.Options{}, "series[3].v"},
		{"zero time", []forecast.Point{{V: 1}}, forecast.Linear, forecast.Options{}, "series[0].t"},
		{"alpha", ok, forecast.Holt, forecast.Options{Alpha: 1.5}, "alpha"},
		{"period missing", ok, forecast.HoltWinters, forecast.Options{}, "period"},
		{"min points", ok, forecast.Linear, forecast.Options{MinPoints: 2}, "min_points"},
		{"z", ok, forecast.Linear, forecast.Options{Z: -1}, "z"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := forecast.Forecast(tc.pts, tc.m, tc.o)
			if !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != tc.field {
				t.Fatalf("err = %v (field %q), want invalid %q", err, errs.FieldOf(err), tc.field)
			}
		})
	}
}

// TestEvaluate: the rule-level verdict with the absolute guard.
func TestEvaluate(t *testing.T) {
	pts := series(24*time.Hour, 5*time.Minute, 0, 0, 1, func(h float64) float64 { return 26 + h }) // at 50%, full at +50h
	g := func(v float64) *float64 { return &v }
	cases := []struct {
		name   string
		rule   forecast.Rule
		firing bool
	}{
		{"fires", forecast.Rule{Method: forecast.Linear, Threshold: 100, Direction: forecast.Rising, Horizon: 72 * time.Hour}, true},
		{"outside horizon", forecast.Rule{Method: forecast.Linear, Threshold: 100, Direction: forecast.Rising, Horizon: 24 * time.Hour}, false},
		{"guard below", forecast.Rule{Method: forecast.Linear, Threshold: 100, Direction: forecast.Rising, Horizon: 72 * time.Hour, Guard: g(45)}, true},
		{"guard above", forecast.Rule{Method: forecast.Linear, Threshold: 100, Direction: forecast.Rising, Horizon: 72 * time.Hour, Guard: g(80)}, false},
		{"already past", forecast.Rule{Method: forecast.Linear, Threshold: 40, Direction: forecast.Rising, Horizon: time.Hour}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := forecast.Evaluate(pts, tc.rule)
			if err != nil {
				t.Fatal(err)
			}
			if v.Firing != tc.firing || v.Reason == "" {
				t.Errorf("Firing = %v (%s), want %v", v.Firing, v.Reason, tc.firing)
			}
		})
	}
	v, err := forecast.Evaluate(pts[:4], forecast.Rule{Method: forecast.Linear, Threshold: 100, Direction: forecast.Rising, Horizon: time.Hour})
	if err != nil || !v.Insufficient || v.Firing {
		t.Errorf("4 points: %+v, %v; want insufficient, not firing", v, err)
	}
	_, err = forecast.Evaluate(pts, forecast.Rule{Method: forecast.Linear, Threshold: 100, Direction: "up", Horizon: time.Hour})
	if errs.FieldOf(err) != "direction" {
		t.Errorf("bad direction: %v", err)
	}
}

// TestUnsortedInput: order does not matter and the input is not modified.
func TestUnsortedInput(t *testing.T) {
	pts := series(24*time.Hour, 5*time.Minute, 0, 0, 1, func(h float64) float64 { return 26 + h })
	rev := make([]forecast.Point, len(pts))
	for i, p := range pts {
		rev[len(pts)-1-i] = p
	}
	first := rev[0]
	r := mustForecast(t, rev, forecast.Linear, forecast.Options{})
	if rev[0] != first {
		t.Error("input modified")
	}
	if math.Abs(r.Trend*3600-1) > 1e-9 {
		t.Errorf("trend %g/h, want 1", r.Trend*3600)
	}
}
