package metric

import (
	"context"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/metric/forecast"
)

// SeriesStatus is a rule's view of one series now: the verdict of a fresh
// evaluation and the evaluator's stored state.
type SeriesStatus struct {
	Series       Series     `json:"series"`
	Firing       bool       `json:"firing" doc:"the evaluator's alert for this series is firing"`
	PendingSince *time.Time `json:"pending_since,omitempty" doc:"since when the condition has held, as the evaluator last saw it"`
	Condition    bool       `json:"condition" doc:"the condition holds now (forecast crosses, guard passed)"`
	Insufficient bool       `json:"insufficient,omitempty" doc:"too little data to forecast"`
	Reason       string     `json:"reason"`
	PredictedAt  *time.Time `json:"predicted_at,omitempty"`
	Earliest     *time.Time `json:"earliest,omitempty"`
	Latest       *time.Time `json:"latest,omitempty"`
	Chart        string     `json:"chart" doc:"API path of the chart"`
}

// MaxStatusSeries bounds the series RuleStatus evaluates.
const MaxStatusSeries = 100

// RuleStatus evaluates rule now over the series it matches (at most
// MaxStatusSeries, by name and labels) and reports each verdict with the
// evaluator's state, so people can see why a rule does or does not fire.
func (s *Service) RuleStatus(ctx context.Context, rule string) ([]SeriesStatus, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return nil, err
	}
	r, err := getRule(ctx, s.db.Reader(), rule)
	if err != nil {
		return nil, err
	}
	c, err := r.Spec.Compile(r.Name)
	if err != nil {
		return nil, err
	}
	series, err := s.matchingSeries(ctx, c.Spec.Series.Name, c.Matchers.Matches, MaxStatusSeries)
	if err != nil {
		return nil, err
	}
	states, err := loadStates(ctx, s.db.Reader())
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	out := []SeriesStatus{}
	for _, sr := range series {
		samples, err := s.samples(ctx, sr, now.Add(-c.History), now.Add(time.Millisecond), maxLoad)
		if err != nil {
			return nil, err
		}
		pts := make([]forecast.Point, len(samples))
		for i, smp := range samples {
			pts[i] = forecast.Point{T: smp.T, V: smp.V}
		}
		v, err := forecast.Evaluate(pts, c.Rule)
		if err != nil {
			return nil, err
		}
		st := states[stateKey{rule, sr.ID}]
		out = append(out, SeriesStatus{Series: sr, Firing: st.firing, PendingSince: st.pendingSince, Condition: v.Firing,
			Insufficient: v.Insufficient, Reason: v.Reason, PredictedAt: timePtr(v.Cross.At), Earliest: timePtr(v.Cross.Earliest),
			Latest: timePtr(v.Cross.Latest), Chart: ChartPath(rule, sr.ID)})
	}
	return out, nil
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}
