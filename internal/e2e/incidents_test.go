package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowser_DeclareIncident declares an incident from the incidents page
// of the example configuration, lands on it, adds a note and finds both on
// its timeline, without a Content-Security-Policy violation.
func TestBrowser_DeclareIncident(t *testing.T) {
	base := startServer(t)
	ctx := browser(t, 60*time.Second)
	if err := chromedp.Do(ctx); err != nil { // start the browser and open the tab
		t.Fatalf("start browser: %v", err)
	}
	con := watchConsole(ctx)
	b := &tab{t: t, ctx: ctx, base: base}
	b.login()

	b.run("declare an incident",
		loads(chromedp.Click(chromedp.CSS(`header nav a[href="/incidents"]`))),
		chromedp.WaitVisible(chromedp.ID("f-title")),
		chromedp.SendKeys(chromedp.ID("f-title"), "Checkout fails for card payments"),
		chromedp.SetValue(chromedp.ID("f-decl-severity"), "SEV2"),
		chromedp.SendKeys(chromedp.ID("f-services"), "payments-api"),
		chromedp.SendKeys(chromedp.ID("f-message"), "5xx on /pay"),
		loads(chromedp.Click(chromedp.CSS(`form[action="/incidents"] button.primary[type=submit]`))),
		chromedp.WaitVisible(chromedp.CSS(`table.timeline`)))
	if loc := b.location(); loc != "/incidents/1" {
		t.Fatalf("after declaring at %s: %s", loc, b.text("main"))
	}
	page := b.text("main")
	for _, want := range []string{"INC-1: Checkout fails for card payments", "Declared INC-1 (SEV2)", "payments-api", "5xx on /pay"} {
		if !strings.Contains(page, want) {
			t.Errorf("incident page lacks %q:\n%s", want, page)
		}
	}
	screenshots(t, ctx, "incident")

	b.run("add a note",
		chromedp.SendKeys(chromedp.ID("f-text"), "rolling back to 1.41"),
		loads(chromedp.Click(chromedp.CSS(`form[action="/incidents/1/notes"] button[type=submit]`))),
		chromedp.WaitVisible(chromedp.CSS(`table.timeline`)))
	if tl := b.text("table.timeline"); !strings.Contains(tl, "rolling back to 1.41") {
		t.Errorf("timeline lacks the note:\n%s", tl)
	}
	b.run("back to the list",
		loads(chromedp.Click(chromedp.CSS(`header nav a[href="/incidents"]`))),
		chromedp.WaitVisible(chromedp.CSS(`table.incident-list`)))
	if rows := b.text("table.incident-list tbody"); !strings.Contains(rows, "INC-1") || !strings.Contains(rows, "SEV2") {
		t.Errorf("incident list shows:\n%s", rows)
	}
	if errs := con.Errors(); len(errs) > 0 {
		t.Errorf("browser console errors (CSP violations show here):\n%s", strings.Join(errs, "\n"))
	}
}
