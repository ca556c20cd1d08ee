package metric

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/alert/matcher"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/metric/forecast"
	"groundcrew.dev/groundcrew/internal/names"
)

// SeriesSelector names the series a rule forecasts: a metric name and
// Alertmanager-syntax matchers over their labels.
type SeriesSelector struct {
	Name     string   `json:"name"`
	Matchers []string `json:"matchers,omitempty"`
}

// Guard is a rule's absolute guard: fire only when the last value is
// already at or above Above (rising rules) or at or below Below (falling).
type Guard struct {
	Above *float64 `json:"above,omitempty"`
	Below *float64 `json:"below,omitempty"`
}

// TuneSpec are the forecast options a rule may set; zero means the
// forecast package's default.
type TuneSpec struct {
	MinPoints     int     `json:"min_points,omitempty"`
	Z             float64 `json:"z,omitempty"`
	ResetFraction float64 `json:"reset_fraction,omitempty"`
	CycleSlack    float64 `json:"cycle_slack,omitempty"`
	Alpha         float64 `json:"alpha,omitempty"`
	Beta          float64 `json:"beta,omitempty"`
	Gamma         float64 `json:"gamma,omitempty"`
}

// RuleSpec is the spec of a ForecastRule document as people write it.
// Durations are Go durations or whole days ("15m", "12h", "14d").
type RuleSpec struct {
	Series    SeriesSelector `json:"series"`
	Method    string         `json:"method" doc:"linear, holt or holt_winters"`
	Season    string         `json:"season,omitempty" doc:"holt_winters: daily or weekly"`
	Window    string         `json:"window,omitempty" doc:"fit only this much recent history (default: all loaded)"`
	History   string         `json:"history,omitempty" doc:"history loaded per evaluation, for resets and saw-teeth (default max(3d, 3 × window); 3 seasons for holt_winters)"`
	Horizon   string         `json:"horizon"`
	Threshold float64        `json:"threshold"`
	Direction string         `json:"direction" doc:"rising or falling"`
	For       string         `json:"for,omitempty" doc:"fire once the condition has held this long (default 0)"`
	// MinHistory is the forecast's minimum span (forecast.Options.MinSpan).
	MinHistory  string            `json:"min_history,omitempty"`
	Guard       *Guard            `json:"guard,omitempty"`
	Options     *TuneSpec         `json:"options,omitempty"`
	Severity    string            `json:"severity,omitempty" doc:"default warning"`
	Service     string            `json:"service,omitempty" doc:"catalog service the alerts concern"`
	Labels      map[string]string `json:"labels,omitempty" doc:"added to the alerts' labels"`
	Annotations map[string]string `json:"annotations,omitempty" doc:"added to the alerts' annotations"`
}

// Rule is a stored ForecastRule.
type Rule struct {
	ID        uuid.UUID         `json:"id"`
	Name      string            `json:"name"`
	Labels    map[string]string `json:"labels,omitempty"`
	Spec      RuleSpec          `json:"spec"`
	Origin    string            `json:"origin,omitempty"`
	Revision  int64             `json:"revision"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// RuleInput creates or replaces a rule.
type RuleInput struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
	Spec   RuleSpec          `json:"spec"`
}

// Compiled is a rule ready to evaluate.
type Compiled struct {
	Name     string
	Spec     RuleSpec
	Matchers matcher.Matchers
	Rule     forecast.Rule // what forecast.Evaluate applies
	For      time.Duration
	History  time.Duration // loaded per evaluation
	Severity string
}

// Matches reports whether series s is one the rule forecasts.
func (c *Compiled) Matches(name string, labels map[string]string) bool {
	return name == c.Spec.Series.Name && c.Matchers.Matches(labels)
}

// Validate checks the input and compiles it, naming the first bad field
// ("spec.window").
func (in *RuleInput) Validate() (Compiled, error) {
	if err := names.Check("name", in.Name); err != nil {
		return Compiled{}, err
	}
	c, err := in.Spec.Compile(in.Name)
	return c, errs.WithField("spec", err)
}

// MaxHistory bounds what a rule loads per evaluation: the retention.
const MaxHistory = Retention

// Compile validates the spec and returns the rule ready to evaluate; field
// names are relative to the spec.
func (s *RuleSpec) Compile(name string) (Compiled, error) {
	c := Compiled{Name: name, Spec: *s, Severity: s.Severity}
	if c.Severity == "" {
		c.Severity = "warning"
	}
	if !ValidName(s.Series.Name) {
		return c, errs.Invalidf("series.name", "%q is not a metric name", s.Series.Name)
	}
	for i, m := range s.Series.Matchers {
		ms, err := matcher.ParseMatchers(m)
		if err != nil {
			return c, errs.Invalidf(fmt.Sprintf("series.matchers[%d]", i), "%v", err)
		}
		c.Matchers = append(c.Matchers, ms...)
	}
	r := forecast.Rule{Threshold: s.Threshold, Direction: forecast.Direction(s.Direction)}
	switch s.Method {
	case "linear":
		r.Method = forecast.Linear
	case "holt":
		r.Method = forecast.Holt
	case "holt_winters", "holt-winters":
		r.Method = forecast.HoltWinters
		switch s.Season {
		case "daily":
			r.Options.Period = forecast.Daily
		case "weekly":
			r.Options.Period = forecast.Weekly
		default:
			return c, errs.Invalidf("season", "%q: holt_winters needs daily or weekly", s.Season)
		}
	default:
		return c, errs.Invalidf("method", "%q: want linear, holt or holt_winters", s.Method)
	}
	if s.Season != "" && r.Method != forecast.HoltWinters {
		return c, errs.Invalidf("season", "applies to holt_winters only")
	}
	durations := []struct {
		field    string
		s        string
		to       *time.Duration
		required bool
	}{{"window", s.Window, &r.Options.Window, false}, {"history", s.History, &c.History, false},
		{"horizon", s.Horizon, &r.Horizon, true}, {"for", s.For, &c.For, false}, {"min_history", s.MinHistory, &r.Options.MinSpan, false}}
	for _, d := range durations {
		if d.s == "" {
			if d.required {
				return c, errs.Invalidf(d.field, "is required (e.g. 24h, 14d)")
			}
			continue
		}
		v, err := ParseDuration(d.s)
		if err != nil || v <= 0 || v > 400*24*time.Hour {
			return c, errs.Invalidf(d.field, "%q is not a duration between 1ms and 400d (e.g. 15m, 12h, 14d)", d.s)
		}
		*d.to = v
	}
	if c.History == 0 {
		c.History = max(3*24*time.Hour, 3*r.Options.Window, 3*r.Options.Period)
	}
	c.History = min(c.History, MaxHistory)
	if r.Options.Window > c.History {
		return c, errs.Invalidf("window", "is longer than the history loaded (%s)", compact(c.History))
	}
	if r.Options.Window > 0 && r.Options.MinSpan >= r.Options.Window {
		return c, errs.Invalidf("min_history", "must be shorter than the window (%s), or the forecast is always refused", compact(r.Options.Window))
	}
	if r.Method == forecast.HoltWinters && c.History < 2*r.Options.Period {
		return c, errs.Invalidf("history", "holt_winters needs at least two seasons (%s)", compact(2*r.Options.Period))
	}
	if s.Guard != nil {
		switch {
		case s.Guard.Above != nil && s.Guard.Below != nil:
			return c, errs.Invalidf("guard", "set above or below, not both")
		case s.Guard.Above != nil && s.Direction == string(forecast.Falling):
			return c, errs.Invalidf("guard.above", "applies to rising rules; use below")
		case s.Guard.Below != nil && s.Direction == string(forecast.Rising):
			return c, errs.Invalidf("guard.below", "applies to falling rules; use above")
		case s.Guard.Above != nil:
			r.Guard = s.Guard.Above
		case s.Guard.Below != nil:
			r.Guard = s.Guard.Below
		default:
			return c, errs.Invalidf("guard", "set above (rising) or below (falling)")
		}
	}
	if o := s.Options; o != nil {
		r.Options.MinPoints, r.Options.Z, r.Options.ResetFraction, r.Options.CycleSlack = o.MinPoints, o.Z, o.ResetFraction, o.CycleSlack
		r.Options.Alpha, r.Options.Beta, r.Options.Gamma = o.Alpha, o.Beta, o.Gamma
	}
	if math.IsNaN(s.Threshold) || math.IsInf(s.Threshold, 0) {
		return c, errs.Invalidf("threshold", "must be a finite number")
	}
	if err := r.Validate(); err != nil {
		return c, ruleField(err)
	}
	if len(s.Severity) > 64 {
		return c, errs.Invalidf("severity", "at most 64 characters")
	}
	if s.Service != "" {
		if err := names.Check("service", s.Service); err != nil {
			return c, err
		}
	}
	if err := checkLabels(s.Labels); err != nil {
		return c, err
	}
	for _, k := range slices.Sorted(maps.Keys(s.Annotations)) {
		if !ValidName(k) {
			return c, errs.Invalidf("annotations", "%q is not an annotation name", k)
		}
	}
	c.Rule = r
	return c, nil
}

// ruleField maps the forecast core's field names to the spec's.
func ruleField(err error) error {
	f := errs.FieldOf(err)
	rename := map[string]string{"options.window": "window", "options.min_span": "min_history", "options.period": "season", "guard": "guard"}
	if to, ok := rename[f]; ok {
		e := errs.WithField("", err)
		if ce, ok := e.(*errs.Error); ok {
			ce.Field = to
			return ce
		}
	}
	return err
}
