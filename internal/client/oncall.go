package client

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"groundcrew.dev/groundcrew/internal/api"
	"groundcrew.dev/groundcrew/internal/oncall"
	"groundcrew.dev/groundcrew/internal/oncall/schedule"
)

// OnCallQuery selects the schedules of OnCall: at most one of Schedule,
// Team and Service (none: every schedule), at At (zero: now).
type OnCallQuery struct {
	Schedule, Team, Service string
	At                      time.Time
}

// OnCall returns who is on call, per schedule.
func (c *Client) OnCall(ctx context.Context, q OnCallQuery) (api.OnCallAnswer, error) {
	v := url.Values{}
	for k, s := range map[string]string{"schedule": q.Schedule, "team": q.Team, "service": q.Service} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if !q.At.IsZero() {
		v.Set("at", q.At.UTC().Format(time.RFC3339Nano))
	}
	var out api.OnCallAnswer
	err := c.Do(ctx, http.MethodGet, "/oncall", v, nil, &out)
	return out, err
}

// Shifts returns the final calendar of a schedule over [from, to); zero
// times take the server's defaults (from now for 7 days).
func (c *Client) Shifts(ctx context.Context, name string, from, to time.Time) ([]schedule.Shift, error) {
	var out api.Page[schedule.Shift]
	err := c.Do(ctx, http.MethodGet, "/schedules/"+url.PathEscape(name)+"/shifts", rangeQuery(from, to), nil, &out)
	return out.Items, err
}

// Gaps returns when nobody is on call in a schedule over [from, to).
func (c *Client) Gaps(ctx context.Context, name string, from, to time.Time) ([]schedule.Interval, error) {
	var out api.Page[schedule.Interval]
	err := c.Do(ctx, http.MethodGet, "/schedules/"+url.PathEscape(name)+"/gaps", rangeQuery(from, to), nil, &out)
	return out.Items, err
}

// UpcomingGaps returns every schedule's coverage gaps from now until
// within ("7d", "48h"; empty: the server's default).
func (c *Client) UpcomingGaps(ctx context.Context, within string) ([]oncall.Gap, error) {
	v := url.Values{}
	if within != "" {
		v.Set("within", within)
	}
	var out api.Page[oncall.Gap]
	err := c.Do(ctx, http.MethodGet, "/oncall/gaps", v, nil, &out)
	return out.Items, err
}

// CreateFeedToken creates the caller's calendar feed and returns its URL,
// shown only this once.
func (c *Client) CreateFeedToken(ctx context.Context) (api.FeedTokenOutput, error) {
	var out api.FeedTokenOutput
	err := c.Do(ctx, http.MethodPost, "/ical-tokens", nil, nil, &out)
	return out, err
}

func rangeQuery(from, to time.Time) url.Values {
	v := url.Values{}
	if !from.IsZero() {
		v.Set("from", from.UTC().Format(time.RFC3339Nano))
	}
	if !to.IsZero() {
		v.Set("to", to.UTC().Format(time.RFC3339Nano))
	}
	return v
}
