package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/alert"
	"groundcrew.dev/groundcrew/internal/api"
)

// TestRoute asks where an alert with labels would go now, and why.
func (c *Client) TestRoute(ctx context.Context, labels map[string]string) (alert.RouteTest, error) {
	var out alert.RouteTest
	err := c.Do(ctx, http.MethodPost, "/alert-routes/test", nil, api.RouteTestInput{Labels: labels}, &out)
	return out, err
}

// CreateSilence creates a silence.
func (c *Client) CreateSilence(ctx context.Context, in alert.SilenceInput) (alert.Silence, error) {
	var out alert.Silence
	err := c.Do(ctx, http.MethodPost, "/silences", nil, in, &out)
	return out, err
}

// ListSilences returns the pending and active silences; with all, also
// those that ended in the last 30 days.
func (c *Client) ListSilences(ctx context.Context, all bool) ([]alert.Silence, error) {
	var out api.Page[alert.Silence]
	q := url.Values{}
	if all {
		q.Set("all", "true")
	}
	err := c.Do(ctx, http.MethodGet, "/silences", q, nil, &out)
	return out.Items, err
}

// ExpireSilence ends a silence now.
func (c *Client) ExpireSilence(ctx context.Context, id uuid.UUID) error {
	return c.Do(ctx, http.MethodDelete, "/silences/"+id.String(), nil, nil, nil)
}

// PreviewSilence returns the firing alerts matchers would silence.
func (c *Client) PreviewSilence(ctx context.Context, matchers []string) ([]alert.Alert, error) {
	var out api.Page[alert.Alert]
	err := c.Do(ctx, http.MethodPost, "/silences/preview", nil, api.SilencePreviewInput{Matchers: matchers}, &out)
	return out.Items, err
}
