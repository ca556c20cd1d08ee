package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"groundcrew.dev/groundcrew/internal/api"
	"groundcrew.dev/groundcrew/internal/oncall/pager"
)

// PageFilter selects pages.
type PageFilter struct {
	Status, User, Policy, Service, Team string
	Limit                               int
	Cursor                              string
}

// ListPages returns one page of pages, newest first, and the cursor of the
// next ("" on the last).
func (c *Client) ListPages(ctx context.Context, f PageFilter) ([]pager.Page, string, error) {
	q := url.Values{}
	for k, v := range map[string]string{"status": f.Status, "user": f.User, "policy": f.Policy, "service": f.Service, "team": f.Team, "cursor": f.Cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var out Page[pager.Page]
	err := c.Do(ctx, http.MethodGet, "/pages", q, nil, &out)
	return out.Items, out.NextCursor, err
}

// GetPage returns a page with its history and sends.
func (c *Client) GetPage(ctx context.Context, id string) (pager.Page, error) {
	var out pager.Page
	err := c.Do(ctx, http.MethodGet, "/pages/"+url.PathEscape(id), nil, nil, &out)
	return out, err
}

// OpenPage pages an escalation policy by hand.
func (c *Client) OpenPage(ctx context.Context, in pager.OpenInput) (pager.Page, error) {
	var out pager.Page
	err := c.Do(ctx, http.MethodPost, "/pages", nil, in, &out)
	return out, err
}

// ActOnPage acknowledges, resolves or escalates a page (action
// "acknowledge", "resolve" or "escalate").
func (c *Client) ActOnPage(ctx context.Context, id, action string) (pager.Page, error) {
	var out pager.Page
	err := c.Do(ctx, http.MethodPost, "/pages/"+url.PathEscape(id)+"/"+action, nil, nil, &out)
	return out, err
}

// SnoozePage snoozes a page for duration ("30m").
func (c *Client) SnoozePage(ctx context.Context, id, duration string) (pager.Page, error) {
	var out pager.Page
	err := c.Do(ctx, http.MethodPost, "/pages/"+url.PathEscape(id)+"/snooze", nil, api.SnoozeInput{Duration: duration}, &out)
	return out, err
}
