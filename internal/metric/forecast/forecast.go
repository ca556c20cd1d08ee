// Package forecast predicts when a metric series will cross a threshold.
//
// It is the pure core of predictive alerts (kind: ForecastRule): values in,
// values out — no database, no clock reads, no network. Forecast fits one of
// three methods to a series (a least-squares linear trend like Prometheus's
// predict_linear, Holt's double exponential smoothing, or Holt-Winters with an
// additive daily or weekly season); Crossing finds when the forecast and its
// confidence band cross a threshold within a horizon; Evaluate applies a whole
// rule with its noise guards (minimum history, clean-up resets, the absolute
// guard). The `for` duration is the evaluator's: Verdict.Firing is the
// per-evaluation condition it keeps pending.
//
// All functions are safe for concurrent use; no function keeps a reference to
// the series it is given.
package forecast

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"groundcrew.dev/groundcrew/internal/errs"
)

// Point is one sample of a series.
type Point struct {
	T time.Time `json:"t"`
	V float64   `json:"v"`
}

// Method names a forecasting method.
type Method string

// The methods.
const (
	// Linear is an ordinary least-squares line over the window, like
	// Prometheus's predict_linear. Irregular sampling needs no resampling.
	Linear Method = "linear"
	// Holt is Holt's double exponential smoothing (level and trend) on the
	// series resampled to a regular grid.
	Holt Method = "holt"
	// HoltWinters is Holt's method with an additive seasonal component of
	// Options.Period (Daily or Weekly) for cyclic series.
	HoltWinters Method = "holt-winters"
)

// Typical seasonal periods for HoltWinters.
const (
	Daily  = 24 * time.Hour
	Weekly = 7 * 24 * time.Hour
)

// Defaults applied to zero-valued Options fields.
const (
	DefaultMinPoints     = 12
	DefaultMinSpan       = time.Hour
	DefaultZ             = 1.96 // about 95% for Gaussian residuals
	DefaultResetFraction = 0.3
	DefaultCycleSlack    = 1.25
	// DefaultMaxSteps bounds the regular grid of Holt and HoltWinters.
	DefaultMaxSteps = 20000
	// DefaultStepsPerPeriod is the finest seasonal grid: 288 steps a day is
	// 5 minutes for Daily and 35 minutes for Weekly.
	DefaultStepsPerPeriod = 288
)

// Options tune Forecast. The zero value is a sane default for every field
// (documented per field); Validate reports out-of-range values.
type Options struct {
	// Window fits only points newer than the last point minus Window.
	// Zero uses every point given. Resets and saw-tooth cycles are detected
	// over the whole series, so give more history than the window (several
	// cycles) for a saw-tooth to be recognised.
	Window time.Duration `json:"window,omitempty"`
	// MinPoints is the fewest points (after the window and any reset) a
	// forecast needs. Zero means DefaultMinPoints; at least 3.
	MinPoints int `json:"min_points,omitempty"`
	// MinSpan is the shortest history (first to last point used) a forecast
	// needs. Zero means DefaultMinSpan. HoltWinters also always needs two
	// full periods.
	MinSpan time.Duration `json:"min_span,omitempty"`
	// Alpha, Beta and Gamma are the smoothing factors (level, trend, season)
	// of Holt and HoltWinters, each in (0, 1). Zero means fitted: a bounded
	// grid search minimising the one-step-ahead squared error.
	Alpha float64 `json:"alpha,omitempty"`
	Beta  float64 `json:"beta,omitempty"`
	Gamma float64 `json:"gamma,omitempty"`
	// Period is the season of HoltWinters (Daily, Weekly, or any period of at
	// least an hour). Required for HoltWinters, ignored otherwise.
	Period time.Duration `json:"period,omitempty"`
	// Step is the regular grid Holt and HoltWinters resample to. Zero means
	// the median sampling interval, for HoltWinters at least
	// Period/DefaultStepsPerPeriod. HoltWinters rounds it so a period is a
	// whole number of steps (at most DefaultMaxSteps/2) and keeps only the
	// newest DefaultMaxSteps steps; Holt coarsens it so the grid has at most
	// DefaultMaxSteps steps.
	Step time.Duration `json:"step,omitempty"`
	// Z is the band's half-width in residual standard errors. Zero means
	// DefaultZ.
	Z float64 `json:"z,omitempty"`
	// ResetFraction detects resets (a clean-up, a renewal): a jump between
	// neighbouring samples larger than this fraction of the series' range
	// (and far outside its noise) starts the fit afresh. Zero means
	// DefaultResetFraction for Linear and Holt and off for HoltWinters
	// (whose season already models a drop that recurs every period);
	// negative turns it off.
	ResetFraction float64 `json:"reset_fraction,omitempty"`
	// CycleSlack: when resets repeat (a saw-tooth), a crossing inside the
	// current cycle counts only before the next reset is due (last reset
	// plus the median cycle length); a reset that has not come by last
	// reset plus CycleSlack × the cycle length is overdue, and the in-cycle
	// forecast then applies without limit. Zero means DefaultCycleSlack;
	// between 1 and 10.
	CycleSlack float64 `json:"cycle_slack,omitempty"`
}

// withDefaults returns o with zero fields replaced by their defaults.
func (o Options) withDefaults() Options {
	if o.MinPoints == 0 {
		o.MinPoints = DefaultMinPoints
	}
	if o.MinSpan == 0 {
		o.MinSpan = DefaultMinSpan
	}
	if o.Z == 0 {
		o.Z = DefaultZ
	}
	if o.ResetFraction == 0 {
		o.ResetFraction = DefaultResetFraction
	}
	if o.CycleSlack == 0 {
		o.CycleSlack = DefaultCycleSlack
	}
	return o
}

// Validate reports the first out-of-range option as an errs.Invalid naming
// its field; zero values are always valid.
func (o Options) Validate() error {
	switch {
	case o.Window < 0:
		return errs.Invalidf("window", "must not be negative")
	case o.MinPoints != 0 && o.MinPoints < 3:
		return errs.Invalidf("min_points", "must be at least 3")
	case o.MinSpan < 0:
		return errs.Invalidf("min_span", "must not be negative")
	case !unitOpen(o.Alpha):
		return errs.Invalidf("alpha", "must be between 0 and 1 (exclusive), or 0 to fit it")
	case !unitOpen(o.Beta):
		return errs.Invalidf("beta", "must be between 0 and 1 (exclusive), or 0 to fit it")
	case !unitOpen(o.Gamma):
		return errs.Invalidf("gamma", "must be between 0 and 1 (exclusive), or 0 to fit it")
	case o.Period != 0 && o.Period < time.Hour:
		return errs.Invalidf("period", "must be at least 1h")
	case o.Step < 0 || (o.Step > 0 && o.Step < time.Second):
		return errs.Invalidf("step", "must be at least 1s")
	case o.Period > 0 && o.Step > o.Period/4:
		return errs.Invalidf("step", "must be at most a quarter of the period")
	case o.Z < 0 || math.IsNaN(o.Z) || o.Z > 10:
		return errs.Invalidf("z", "must be between 0 and 10")
	case math.IsNaN(o.ResetFraction) || o.ResetFraction > 1:
		return errs.Invalidf("reset_fraction", "must be at most 1 (negative turns reset detection off)")
	case o.CycleSlack != 0 && !(o.CycleSlack >= 1 && o.CycleSlack <= 10):
		return errs.Invalidf("cycle_slack", "must be between 1 and 10")
	}
	return nil
}

func finite(xs ...float64) bool {
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

func unitOpen(x float64) bool { return x == 0 || (x > 0 && x < 1) }

// ErrInsufficient is matched (errors.Is) by every refusal to forecast on too
// little data; the error itself is an *InsufficientError with the reason.
var ErrInsufficient = errors.New("insufficient data")

// InsufficientError says why Forecast refused: too few points or too short a
// history (after the window and since the last reset).
type InsufficientError struct {
	Reason string
	Points int
	Span   time.Duration
}

func (e *InsufficientError) Error() string { return "insufficient data: " + e.Reason }

// Is makes errors.Is(err, ErrInsufficient) true.
func (e *InsufficientError) Is(target error) bool { return target == ErrInsufficient }

// Result is a fitted forecast. Its zero value is not a forecast; get one from
// Forecast. All fields are exported so a Result can be stored or sent as JSON.
type Result struct {
	Method Method    `json:"method"`
	Start  time.Time `json:"start"` // first point used
	End    time.Time `json:"end"`   // last point used: the forecast origin
	Last   float64   `json:"last"`  // last observed value
	N      int       `json:"n"`     // points used

	// Level is the fitted value at End (without season), Trend its change
	// per second.
	Level float64 `json:"level"`
	Trend float64 `json:"trend"`
	// Sigma is the residual standard error: of the line for Linear, of the
	// one-step-ahead errors for Holt and HoltWinters.
	Sigma float64 `json:"sigma"`
	// Z is the band's half-width in standard errors: Options.Z, for Linear
	// widened by Student's t for N−2 degrees of freedom.
	Z float64 `json:"z"`

	// Linear only: the mean offset of the points from End in seconds and
	// their sum of squared deviations, for the prediction interval.
	MeanOffset float64 `json:"mean_offset,omitempty"`
	Sxx        float64 `json:"sxx,omitempty"`

	// Holt and HoltWinters: the grid, the smoothing factors used, whether
	// they were fitted, and the seasonal components (Season[j] applies j
	// steps after End, cyclically).
	Step   time.Duration `json:"step,omitempty"`
	Alpha  float64       `json:"alpha,omitempty"`
	Beta   float64       `json:"beta,omitempty"`
	Gamma  float64       `json:"gamma,omitempty"`
	Fitted bool          `json:"fitted,omitempty"`
	Season []float64     `json:"season,omitempty"`

	// Reset is the last detected reset (zero if none): the fit starts after
	// it. Cycle is set when resets repeat (a saw-tooth).
	Reset time.Time `json:"reset,omitzero"`
	Cycle *Cycle    `json:"cycle,omitempty"`
}

// Cycle describes a saw-tooth: resets that repeat, such as a disk cleaned up
// every night.
type Cycle struct {
	Resets int           `json:"resets"`
	Length time.Duration `json:"length"` // median time between resets
	// Next is when the next reset is due (last reset + Length); Overdue is
	// when it is late (last reset + CycleSlack × Length). See Limit.
	Next    time.Time `json:"next"`
	Overdue time.Time `json:"overdue"`
	// Envelope is a linear forecast of the values just before each reset
	// (the cycles' own peaks for clean-ups, troughs for renewals); nil with
	// fewer than three resets.
	Envelope *Result `json:"envelope,omitempty"`
}

// Limit returns the time until which a forecast made at end may extrapolate
// the current cycle: Next while the reset is not yet due, Overdue while it is
// due but not late, and ok false (no limit) once it is late — the clean-up
// has not happened and the in-cycle trend is what the series does now.
func (c *Cycle) Limit(end time.Time) (limit time.Time, ok bool) {
	switch {
	case c == nil:
		return time.Time{}, false
	case end.Before(c.Next):
		return c.Next, true
	case end.Before(c.Overdue):
		return c.Overdue, true
	}
	return time.Time{}, false
}

// At returns the forecast at t and its band [lo, hi]. Times before End
// return the fitted curve extended backwards (the band is then the one-step
// band).
func (r Result) At(t time.Time) (v, lo, hi float64) {
	dx := t.Sub(r.End).Seconds()
	var se float64
	switch r.Method {
	case Linear:
		v = r.Level + r.Trend*dx
		se = r.Sigma
		if r.N > 0 && r.Sxx > 0 {
			d := dx - r.MeanOffset
			se = r.Sigma * math.Sqrt(1+1/float64(r.N)+d*d/r.Sxx)
		}
	default:
		v = r.Level + r.Trend*dx
		h := 0.0
		if r.Step > 0 {
			h = dx / r.Step.Seconds()
		}
		v += r.seasonAt(h)
		se = r.Sigma * math.Sqrt(holtVarianceFactor(h, r.Alpha, r.Beta, r.Gamma, len(r.Season)))
	}
	return v, v - r.Z*se, v + r.Z*se
}

// seasonAt interpolates the seasonal component h steps after End.
func (r Result) seasonAt(h float64) float64 {
	m := len(r.Season)
	if m == 0 {
		return 0
	}
	f := math.Floor(h)
	frac := h - f
	i := int(math.Mod(f, float64(m)))
	if i < 0 {
		i += m
	}
	return r.Season[i]*(1-frac) + r.Season[(i+1)%m]*frac
}

// holtVarianceFactor is the h-step forecast variance of additive Holt(-Winters)
// in units of the one-step variance: 1 + Σ_{j=1}^{h-1} (α(1+jβ) + γ·[m | j])².
func holtVarianceFactor(h, alpha, beta, gamma float64, m int) float64 {
	if h <= 1 {
		return 1
	}
	k := h - 1
	f := 1 + alpha*alpha*(k+beta*h*k+beta*beta*k*h*(2*h-1)/6)
	if m > 0 && gamma > 0 {
		c := math.Floor(k / float64(m)) // seasonal lags within the horizon
		f += 2*gamma*alpha*(c+beta*float64(m)*c*(c+1)/2) + c*gamma*gamma
	}
	return f
}

// Forecast fits method to series with opts. It returns an errs.Invalid error
// for bad input (unknown method, invalid options, non-finite values, zero
// times) and an *InsufficientError (errors.Is ErrInsufficient) when there is
// too little data to forecast. The series need not be sorted or regularly
// spaced; it is not modified.
func Forecast(series []Point, method Method, opts Options) (Result, error) {
	if err := opts.Validate(); err != nil {
		return Result{}, err
	}
	switch method {
	case Linear, Holt:
	case HoltWinters:
		if opts.Period == 0 {
			return Result{}, errs.Invalidf("period", "is required for %s", method)
		}
	default:
		return Result{}, errs.Invalidf("method", "unknown method %q (want %s, %s or %s)", method, Linear, Holt, HoltWinters)
	}
	o := opts.withDefaults()
	pts, err := prepare(series)
	if err != nil {
		return Result{}, err
	}
	// Resets and cycles are looked for in the whole series, the fit only
	// within the window: a saw-tooth is recognised from cycles older than
	// the window.
	from := 0
	if o.Window > 0 && len(pts) > 0 {
		start := pts[len(pts)-1].T.Add(-o.Window)
		from, _ = slices.BinarySearchFunc(pts, start, func(p Point, t time.Time) int {
			if !p.T.After(t) {
				return -1
			}
			return 1
		})
	}
	var res Result
	if o.ResetFraction > 0 && (method != HoltWinters || opts.ResetFraction > 0) {
		resets := DetectResets(pts, o.ResetFraction)
		if len(resets) > 0 {
			last := resets[len(resets)-1]
			res.Reset = last.At
			res.Cycle = cycleOf(resets, o.CycleSlack, o.Z)
			from = max(from, last.Index)
		}
	}
	pts = pts[from:]
	if err := enough(pts, method, o, res.Reset); err != nil {
		return Result{}, err
	}
	switch method {
	case Linear:
		fitLinear(&res, pts)
	default:
		if err := fitHolt(&res, pts, method, o); err != nil {
			return Result{}, err
		}
	}
	if !finite(res.Level, res.Trend, res.Sigma) || !finite(res.Season...) {
		return Result{}, errs.Invalidf("series", "values too large to fit")
	}
	res.Method = method
	res.Start, res.End = pts[0].T, pts[len(pts)-1].T
	res.Last = pts[len(pts)-1].V
	res.N = len(pts)
	res.Z = o.Z
	if method == Linear {
		res.Z *= studentFactor(len(pts) - 2)
	}
	return res, nil
}

// prepare validates the series and returns a sorted copy.
func prepare(series []Point) ([]Point, error) {
	for i, p := range series {
		if p.T.IsZero() {
			return nil, errs.Invalidf(fmt.Sprintf("series[%d].t", i), "must be set")
		}
		if math.IsNaN(p.V) || math.IsInf(p.V, 0) {
			return nil, errs.Invalidf(fmt.Sprintf("series[%d].v", i), "must be a finite number")
		}
	}
	pts := slices.Clone(series)
	slices.SortStableFunc(pts, func(a, b Point) int { return a.T.Compare(b.T) })
	return pts, nil
}

// enough refuses too little data with a reason people understand.
func enough(pts []Point, method Method, o Options, reset time.Time) error {
	since := ""
	if !reset.IsZero() {
		since = " since the reset at " + reset.UTC().Format(time.RFC3339)
	}
	n := len(pts)
	var span time.Duration
	if n > 0 {
		span = pts[n-1].T.Sub(pts[0].T)
	}
	if n < o.MinPoints {
		return &InsufficientError{Reason: fmt.Sprintf("%d points%s, need at least %d", n, since, o.MinPoints), Points: n, Span: span}
	}
	if span < o.MinSpan {
		return &InsufficientError{Reason: fmt.Sprintf("%s of history%s, need at least %s", span, since, o.MinSpan), Points: n, Span: span}
	}
	if method == HoltWinters && span < 2*o.Period {
		return &InsufficientError{Reason: fmt.Sprintf("%s of history%s, need two periods (%s)", span, since, 2*o.Period), Points: n, Span: span}
	}
	return nil
}
