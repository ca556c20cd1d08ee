package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// apiPost posts a JSON body to the API as admin and decodes the answer.
func apiPost(t *testing.T, base, token, path string, body, out any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1"+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("POST %s = %d", path, resp.StatusCode)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBrowser_AcknowledgePageAndDeclare: someone on call acknowledges a
// page from the pages list, opens it, and declares an incident from it —
// the declare form comes filled in with the page's summary and service.
func TestBrowser_AcknowledgePageAndDeclare(t *testing.T) {
	base := startServer(t)
	var tok struct{ Secret string }
	apiPost(t, base, "", "/auth/token", map[string]string{"user": "admin", "password": adminPassword, "token_name": "e2e", "scope": "write"}, &tok)
	var pg struct{ ID string }
	apiPost(t, base, tok.Secret, "/pages", map[string]any{"policy": "payments", "summary": "Checkout returns 502", "service": "payments-api"}, &pg)

	ctx := browser(t, 60*time.Second)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start browser: %v", err)
	}
	con := watchConsole(ctx)
	b := &tab{t: t, ctx: ctx, base: base}
	b.login()

	b.run("open the pages",
		loads(chromedp.Click(chromedp.CSS(`header nav a[href="/oncall"]`))),
		loads(chromedp.Click(chromedp.CSS(`nav.tabs a[href="/oncall/pages"]`))),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/oncall/pages/`+pg.ID+`/acknowledge"] button`)))
	if rows := b.text("table.list tbody"); !strings.Contains(rows, "Checkout returns 502") || !strings.Contains(rows, "triggered") {
		t.Fatalf("pages list:\n%s", rows)
	}
	b.run("acknowledge it",
		loads(chromedp.Click(chromedp.CSS(`form[action="/oncall/pages/`+pg.ID+`/acknowledge"] button`))),
		chromedp.WaitVisible(chromedp.CSS(`table.list`)))
	if main := b.text("main"); !strings.Contains(main, "Acknowledged: escalation stopped.") || !strings.Contains(main, "acknowledged by admin") {
		t.Fatalf("after acknowledging:\n%s", main)
	}
	screenshots(t, ctx, "pages")

	b.run("open the page and declare an incident from it",
		loads(chromedp.Click(chromedp.CSS(`a[href="/oncall/pages/`+pg.ID+`"]`))),
		chromedp.WaitVisible(chromedp.CSS(`ol.timeline`)),
		loads(chromedp.Click(chromedp.CSS(`.page-actions a[href^="/incidents?"]`))),
		chromedp.WaitVisible(chromedp.ID("f-title")))
	title, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.ID("f-title")))
	if err != nil {
		t.Fatal(err)
	}
	services, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.ID("f-services")))
	if err != nil {
		t.Fatal(err)
	}
	if title != "Checkout returns 502" || services != "payments-api" {
		t.Fatalf("declare form filled with title %q, services %q", title, services)
	}
	b.run("declare",
		loads(chromedp.Click(chromedp.CSS(`form[action="/incidents"] button.primary[type=submit]`))),
		chromedp.WaitVisible(chromedp.CSS(`table.timeline`)))
	if loc := b.location(); loc != "/incidents/1" {
		t.Fatalf("after declaring at %s: %s", loc, b.text("main"))
	}
	if main := b.text("main"); !strings.Contains(main, "INC-1: Checkout returns 502") || !strings.Contains(main, "payments-api") {
		t.Errorf("incident page:\n%s", main)
	}
	if errs := con.Errors(); len(errs) > 0 {
		t.Errorf("browser console errors (CSP violations show here):\n%s", strings.Join(errs, "\n"))
	}
}
