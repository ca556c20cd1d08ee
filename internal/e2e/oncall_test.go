package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowser_OnCall opens the on-call page of the example configuration,
// follows the payments schedule to its week calendar and checks that the
// calendar is drawn (shift blocks labelled with people) without a
// Content-Security-Policy violation.
func TestBrowser_OnCall(t *testing.T) {
	base := startServer(t)
	ctx := browser(t, 60*time.Second)
	if err := chromedp.Do(ctx); err != nil { // start the browser and open the tab
		t.Fatalf("start browser: %v", err)
	}
	con := watchConsole(ctx)
	b := &tab{t: t, ctx: ctx, base: base}
	b.login()

	b.run("open the on-call page",
		loads(chromedp.Click(chromedp.CSS(`header nav a[href="/oncall"]`))),
		chromedp.WaitVisible(chromedp.CSS(`table.oncall-list`)))
	row := b.text(`table.oncall-list tbody tr`)
	if !strings.Contains(row, "payments-primary") || !(strings.Contains(row, "alice") || strings.Contains(row, "bob")) {
		t.Errorf("on-call row says %q, want payments-primary with alice or bob", row)
	}
	screenshots(t, ctx, "oncall")

	b.run("open the schedule's week",
		loads(chromedp.Click(chromedp.CSS(`table.oncall-list a[href="/oncall/schedules/payments-primary"]`))),
		chromedp.WaitVisible(chromedp.CSS(`svg.calendar`)),
		loads(chromedp.Click(chromedp.CSS(`nav[aria-label="Calendar view"] a`))), // week
		chromedp.WaitVisible(chromedp.CSS(`svg.calendar g.shift`)))
	if loc := b.location(); !strings.HasPrefix(loc, "/oncall/schedules/payments-primary?from=") || !strings.Contains(loc, "view=week") {
		t.Errorf("week view at %s", loc)
	}
	blocks, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("svg.calendar g.shift title")).map(e => e.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) == 0 || !strings.Contains(strings.Join(blocks, "\n"), " on call: ") {
		t.Errorf("calendar shift blocks: %q", blocks)
	}
	if rows := b.text(`table.shift-list`); !strings.Contains(rows, "alice") && !strings.Contains(rows, "bob") {
		t.Errorf("shift table lacks the participants:\n%s", rows)
	}
	screenshots(t, ctx, "oncall-schedule")
	if errs := con.Errors(); len(errs) > 0 {
		t.Errorf("browser console errors (CSP violations show here):\n%s", strings.Join(errs, "\n"))
	}
}
