package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"groundcrew.dev/groundcrew/internal/oncall"
)

// SwapFilter selects swaps: Schedule's, or else User's (empty: the
// caller's), by Status.
type SwapFilter struct {
	Schedule, User, Status string
	Limit                  int
	Cursor                 string
}

// RequestSwap asks in.Counterpart to cover (or trade) a period of a shift
// in the schedule called name.
func (c *Client) RequestSwap(ctx context.Context, name string, in oncall.SwapInput) (oncall.Swap, error) {
	var out oncall.Swap
	err := c.Do(ctx, http.MethodPost, "/schedules/"+url.PathEscape(name)+"/swaps", nil, in, &out)
	return out, err
}

// ListSwaps returns one page of swaps, newest first, and the cursor of the
// next ("" on the last).
func (c *Client) ListSwaps(ctx context.Context, f SwapFilter) ([]oncall.Swap, string, error) {
	q := url.Values{}
	for k, v := range map[string]string{"status": f.Status, "cursor": f.Cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	path := "/swaps"
	if f.Schedule != "" {
		path = "/schedules/" + url.PathEscape(f.Schedule) + "/swaps"
	} else if f.User != "" {
		q.Set("user", f.User)
	}
	var out Page[oncall.Swap]
	err := c.Do(ctx, http.MethodGet, path, q, nil, &out)
	return out.Items, out.NextCursor, err
}

// DecideSwap accepts, declines or cancels a swap (action "accept",
// "decline" or "cancel").
func (c *Client) DecideSwap(ctx context.Context, id, action string) (oncall.Swap, error) {
	var out oncall.Swap
	err := c.Do(ctx, http.MethodPost, "/swaps/"+url.PathEscape(id)+"/"+action, nil, nil, &out)
	return out, err
}
