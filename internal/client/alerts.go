package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"groundcrew.dev/groundcrew/internal/alert"
)

// IntegrationCreated is a new alert integration with its key, which the
// server shows only this once.
type IntegrationCreated struct {
	alert.Integration
	Key string `json:"key"`
}

// CreateIntegration creates an alert integration and returns its key.
func (c *Client) CreateIntegration(ctx context.Context, in alert.IntegrationInput) (IntegrationCreated, error) {
	var out IntegrationCreated
	err := c.Do(ctx, http.MethodPost, "/integrations", nil, in, &out)
	return out, err
}

// ListIntegrations returns every alert integration, revoked ones included.
func (c *Client) ListIntegrations(ctx context.Context) ([]alert.Integration, error) {
	var out Page[alert.Integration]
	err := c.Do(ctx, http.MethodGet, "/integrations", nil, nil, &out)
	return out.Items, err
}

// RevokeIntegration revokes the key of the integration called name.
func (c *Client) RevokeIntegration(ctx context.Context, name string) error {
	return c.Do(ctx, http.MethodDelete, "/integrations/"+url.PathEscape(name), nil, nil, nil)
}

// AlertFilter selects alerts; the zero value selects all.
type AlertFilter struct {
	Status   alert.Status
	Service  string
	Severity string
	Label    string // name=value
	Limit    int
	Cursor   string
}

// ListAlerts returns one page of alerts, newest first, and the cursor of
// the next page ("" on the last).
func (c *Client) ListAlerts(ctx context.Context, f AlertFilter) ([]alert.Alert, string, error) {
	q := url.Values{}
	for k, v := range map[string]string{"status": string(f.Status), "service": f.Service, "severity": f.Severity, "label": f.Label, "cursor": f.Cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var out Page[alert.Alert]
	err := c.Do(ctx, http.MethodGet, "/alerts", q, nil, &out)
	return out.Items, out.NextCursor, err
}

// GetAlert returns an alert with its history; ref is its id, or a
// fingerprint or dedup key.
func (c *Client) GetAlert(ctx context.Context, ref string) (alert.Detail, error) {
	var out alert.Detail
	err := c.Do(ctx, http.MethodGet, "/alerts/"+url.PathEscape(ref), nil, nil, &out)
	return out, err
}

// RaiseAlert fires (or, with status resolved, resolves) an alert by hand.
func (c *Client) RaiseAlert(ctx context.Context, in alert.RaiseInput) (alert.Alert, error) {
	var out alert.Alert
	err := c.Do(ctx, http.MethodPost, "/alerts", nil, in, &out)
	return out, err
}
