package metric

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/metric/forecast"
)

// Chart draws rule's forecast of series as an SVG image (see
// forecast.SVG): the history the evaluator loads, and the forecast with
// its band and the threshold when there is enough data for one. width
// and height are clamped by forecast.SVG; zero means 480 × 160. A nil
// series means the first series (by name and labels) the rule matches.
func (s *Service) Chart(ctx context.Context, rule string, series uuid.UUID, width, height int) (string, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return "", err
	}
	r, err := getRule(ctx, s.db.Reader(), rule)
	if err != nil {
		return "", err
	}
	c, err := r.Spec.Compile(r.Name)
	if err != nil {
		return "", err
	}
	var sr Series
	if series == uuid.Nil {
		first, err := s.matchingSeries(ctx, c.Spec.Series.Name, c.Matchers.Matches, 1)
		if err != nil {
			return "", err
		}
		if len(first) == 0 {
			return "", errs.NotFoundf("rule %s matches no series", rule)
		}
		sr = first[0]
	} else if sr, err = s.series(ctx, series); err != nil {
		return "", err
	}
	if !c.Matches(sr.Name, sr.Labels) {
		return "", errs.Invalidf("series", "series %s is not one rule %s forecasts", series, rule)
	}
	series = sr.ID
	now := s.clock.Now()
	samples, err := s.samples(ctx, sr, now.Add(-c.History), now.Add(time.Millisecond), maxLoad)
	if err != nil {
		return "", err
	}
	pts := make([]forecast.Point, len(samples))
	for i, smp := range samples {
		pts[i] = forecast.Point{T: smp.T, V: smp.V}
	}
	res, err := forecast.Forecast(pts, c.Rule.Method, c.Rule.Options)
	if err != nil && !errors.Is(err, forecast.ErrInsufficient) {
		return "", err
	}
	if width == 0 {
		width = 480
	}
	if height == 0 {
		height = 160
	}
	return forecast.SVG(pts, res, c.Rule.Threshold, width, height), nil
}
