package statuspage_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
)

// addResult stores a raw check result as the runner does: counted when it
// is a run's outcome.
func (p *public) addResult(name string, at time.Time, status, location string, counted bool) {
	p.t.Helper()
	_, err := p.db.Writer().ExecContext(context.Background(), `INSERT INTO check_results (check_id, location, at, status, duration_us, counted)
		VALUES ($1, $2, $3, $4, 1000, $5)`, p.checkID(name), location, at.UTC(), status, counted)
	p.noErr(err)
}

// TestPublicPage_CountsRunsNotRolledUp: the daily bars and the uptime badge
// add the counted raw results from the roll-up's watermark on to the
// rollups — not those before it (already rolled up), not the results of
// one location of several, not pings.
func TestPublicPage_CountsRunsNotRolledUp(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		p := setupPublic(t, d)
		wm := start.Add(-2 * time.Hour)
		_, err := p.db.Writer().ExecContext(context.Background(), `INSERT INTO check_rollup_watermark (id, since, rolled_through) VALUES (1, $1, $2)`,
			start.AddDate(0, 0, -3), wm)
		p.noErr(err)
		p.addRuns("api-http", start.Add(-3*time.Hour), 6, 0, 0)                 // rolled up today…
		p.addResult("api-http", start.Add(-3*time.Hour), "down", "local", true) // …so its raw results are not counted again
		p.addResult("api-http", wm, "up", "local", true)
		p.addResult("api-http", start.Add(-time.Hour), "down", "", true) // a combined outcome
		p.addResult("api-http", start.Add(-time.Hour), "down", "eu", false)
		p.addResult("api-latency", start.Add(-time.Minute), "down", "ping", false)
		p.clk.Advance(time.Minute)

		v := p.view()
		today := v.Components[0].Days[len(v.Components[0].Days)-1]
		if want := 7.0 / 8 * 100; today.Percent == nil || math.Abs(*today.Percent-want) > 1e-9 {
			t.Errorf("today: %v%%, want %v%% (7 of 8 runs up)", deref(today.Percent), want)
		}
		resp, body := p.get("/badge/check/api-http/uptime.svg?window=24h")
		if resp.StatusCode != 200 || !strings.Contains(body, "87.5") {
			t.Errorf("uptime badge = %d: %s; want 87.5%%", resp.StatusCode, body)
		}
	})
}
