package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"groundcrew.dev/groundcrew/internal/check"
	"groundcrew.dev/groundcrew/internal/check/probe"
	"groundcrew.dev/groundcrew/internal/client"
	"groundcrew.dev/groundcrew/internal/identity"
)

// TestBrowser_Checks creates a check through the API against a loopback
// server, sees it UP on the check list within seconds, makes it fail for a
// while, and finds its response-time chart, uptime bars, downtime and state
// changes on its page, and the check on its service's page.
func TestBrowser_Checks(t *testing.T) {
	base := startServer(t)
	ctx := browser(t, 90*time.Second)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start browser: %v", err)
	}
	con := watchConsole(ctx)
	b := &tab{t: t, ctx: ctx, base: base}

	// The target answers in a few milliseconds, every seventh time slowly
	// enough to fail the "fast" condition (a degraded run), and with 503
	// while failing is set.
	var failing atomic.Bool
	var hits atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := hits.Add(1)
		time.Sleep(time.Duration(2+n%5*2) * time.Millisecond)
		if n%7 == 0 {
			time.Sleep(40 * time.Millisecond)
		}
		if failing.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(`{"status":"UP"}`))
	}))
	t.Cleanup(target.Close)

	api := apiClient(t, base)
	in := check.Input{Name: "storefront-health", Spec: check.Spec{DisplayName: "Storefront answers", Service: "payments-api",
		Environment: "prod", Interval: probe.Duration(200 * time.Millisecond), Timeout: probe.Duration(150 * time.Millisecond),
		Spec: probe.Spec{Type: probe.HTTP, HTTP: &probe.HTTPSpec{URL: target.URL + "/health"}},
		Conditions: []check.Condition{{Name: "answers 200", Expr: "status == 200"}, {Expr: `json.status == "UP"`},
			{Name: "fast", Expr: `duration < duration("30ms")`, Degraded: true}}}}
	if _, err := client.Create[check.Check](context.Background(), api, "/checks", in); err != nil {
		t.Fatalf("create check: %v", err)
	}
	created := time.Now()

	b.login()
	b.waitFor("/checks?q=storefront", "table.check-list tbody tr", "up", 10*time.Second)
	t.Logf("check UP on /checks %v after its creation", time.Since(created).Round(time.Millisecond))
	row := b.text("table.check-list tbody tr")
	for _, want := range []string{"storefront-health", "payments-api", "prod", "http", "200ms"} {
		if !strings.Contains(row, want) {
			t.Errorf("check row lacks %q: %q", want, row)
		}
	}
	b.run("open the list from the navigation", chromedp.Navigate(base+"/"),
		loads(chromedp.Click(chromedp.CSS(`nav a[href="/checks"]`))), chromedp.WaitVisible(chromedp.CSS(`ul.status-summary`)))
	screenshots(t, ctx, "checks")

	// Fail for a while: DOWN after two failing runs, UP again after.
	time.Sleep(time.Second)
	failing.Store(true)
	b.waitFor("/checks/storefront-health", ".state-line", "down", 10*time.Second)
	b.run("home", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`.attention-down`)))
	if down := b.text(".attention-down"); !strings.Contains(down, "1 check down") || !strings.Contains(down, "storefront-health") {
		t.Errorf("home page's down checks: %q", down)
	}
	screenshots(t, ctx, "home-down")
	failing.Store(false)
	b.waitFor("/checks/storefront-health", ".state-line", "up", 10*time.Second)
	time.Sleep(1500 * time.Millisecond)

	b.run("open the check page", chromedp.Navigate(base+"/checks/storefront-health"),
		chromedp.WaitVisible(chromedp.CSS(`svg.line-chart`)))
	type facts struct {
		Role, Title  string
		Desc         string
		Line         bool
		Fails, Days  int
		Events, Runs int
		Downtimes    int
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[facts](`(() => {
		const chart = document.querySelector("svg.line-chart");
		const rows = (id) => document.querySelectorAll("#" + id).length ?
			document.querySelector("#" + id).closest("section").querySelectorAll("tbody tr").length : 0;
		return {
			role: chart.getAttribute("role"),
			title: chart.querySelector("title").textContent,
			desc: chart.querySelector("desc").textContent,
			line: !!chart.querySelector("path.line"),
			fails: chart.querySelectorAll("path.mark.fail").length,
			days: document.querySelectorAll("svg.uptime-bar g.day").length,
			events: rows("events"),
			runs: rows("results"),
			downtimes: rows("downtimes"),
		};
	})()`))
	if err != nil {
		t.Fatalf("read the check page: %v", err)
	}
	if got.Role != "img" || !strings.HasPrefix(got.Title, "Response time") || !got.Line || got.Fails < 2 {
		t.Errorf("response-time chart: %+v, want an image with a line and at least 2 failed runs marked", got)
	}
	if got.Days != 90 {
		t.Errorf("uptime bar has %d days, want 90", got.Days)
	}
	if got.Events < 3 || got.Runs < 10 || got.Downtimes < 1 {
		t.Errorf("check page lists %d state changes, %d runs and %d downtimes; want ≥ 3, ≥ 10 and ≥ 1", got.Events, got.Runs, got.Downtimes)
	}
	if !strings.Contains(got.Desc, "median") {
		t.Errorf("chart description = %q", got.Desc)
	}
	screenshots(t, ctx, "check")

	b.run("open its service", loads(chromedp.Click(chromedp.CSS(`dl.facts a[href="/services/payments-api"]`))),
		chromedp.WaitVisible(chromedp.ID("health")))
	if health := b.text("section[aria-labelledby=health] table.check-list"); !strings.Contains(health, "storefront-health") {
		t.Errorf("service page's checks: %q", health)
	}
	screenshots(t, ctx, "service-health")
	b.createCheck(strings.TrimPrefix(target.URL, "http://"))
	if errs := con.Errors(); len(errs) > 0 {
		t.Errorf("browser console errors (CSP violations show here):\n%s", strings.Join(errs, "\n"))
	}
}

// apiClient returns an API client of the server at base with a write token
// of the admin.
func apiClient(t *testing.T, base string) *client.Client {
	t.Helper()
	ctx := context.Background()
	anon, err := client.New(base, "")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := anon.LoginToken(ctx, "admin", adminPassword, "e2e", identity.ScopeWrite)
	if err != nil {
		t.Fatalf("log in to the API: %v", err)
	}
	c, err := client.New(base, tok.Secret)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// waitFor loads path until the text of the first element matching sel
// contains want, failing the test after timeout.
func (b *tab) waitFor(path, sel, want string, timeout time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		b.run("load "+path, chromedp.Navigate(b.base+path), chromedp.WaitReady(chromedp.CSS("main")))
		q, _ := json.Marshal(sel)
		s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(document.querySelector(`+string(q)+`) || {}).innerText || ""`))
		if err == nil && strings.Contains(s, want) {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: %s does not say %q within %v (it says %q, %v)", path, sel, want, timeout, s, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// createCheck opens the new-check form from the service page, chooses the
// tcp type (the script shows only its settings), is told about a CEL typo
// next to the condition with the input kept, fixes it and creates the
// check, which then runs against addr.
func (b *tab) createCheck(addr string) {
	b.t.Helper()
	b.run("open the form from the service page",
		loads(chromedp.Click(chromedp.CSS(`a[href="/checks/new?service=payments-api"]`))),
		chromedp.WaitVisible(chromedp.ID("f-name")))
	shown := func() string {
		s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("fieldset.probe")]
			.filter(f => !f.hidden).map(f => f.dataset.types).join(" ")`))
		if err != nil {
			b.t.Fatal(err)
		}
		return s
	}
	if got := shown(); got != "http" {
		b.t.Errorf("probe settings shown for a new http check: %q, want only http", got)
	}
	screenshots(b.t, b.ctx, "check-form")
	b.run("fill the form with a typo",
		chromedp.SendKeys(chromedp.ID("f-name"), "storefront-port"),
		chromedp.SetValue(chromedp.ID("f-environment"), "prod"),
		chromedp.Evaluate[chromedp.Void](`(() => {
			const type = document.getElementById("f-type");
			type.value = "tcp";
			type.dispatchEvent(new Event("change"));
		})()`),
		chromedp.Clear(chromedp.ID("f-interval")),
		chromedp.SendKeys(chromedp.ID("f-interval"), "500ms"),
		chromedp.SendKeys(chromedp.ID("f-tcp-address"), addr),
		chromedp.SendKeys(chromedp.ID("f-conditions-0-expr"), "conected"),
		chromedp.SendKeys(chromedp.ID("f-conditions-0-name"), "accepts connections"))
	if got := shown(); got != "tcp" {
		b.t.Errorf("probe settings shown after choosing tcp: %q, want only tcp", got)
	}
	b.run("submit", loads(chromedp.Click(chromedp.CSS(`button.primary[type=submit]`))),
		chromedp.WaitVisible(chromedp.ID("f-conditions-0-expr-error")))
	if msg := b.text("#f-conditions-0-expr-error"); !strings.Contains(msg, "1:1: undeclared reference to 'conected'") {
		b.t.Errorf("condition error says %q", msg)
	}
	if got := shown(); got != "tcp" {
		b.t.Errorf("probe settings shown on the rejected form: %q, want only tcp", got)
	}
	screenshots(b.t, b.ctx, "check-form-error")
	b.run("fix the condition and create",
		chromedp.Clear(chromedp.ID("f-conditions-0-expr")),
		chromedp.SendKeys(chromedp.ID("f-conditions-0-expr"), "connected"),
		loads(chromedp.Click(chromedp.CSS(`button.primary[type=submit]`))))
	if loc := b.location(); loc != "/checks/storefront-port" {
		b.t.Fatalf("after create at %s: %s", loc, b.text("main"))
	}
	if page := b.text("main"); !strings.Contains(page, "Check storefront-port created.") || !strings.Contains(page, "accepts connections") {
		b.t.Errorf("check page after creation:\n%s", page)
	}
	b.waitFor("/checks/storefront-port", ".state-line", "up", 10*time.Second)
}
