// Package e2e runs groundcrew end to end: the real server, driven by a
// real browser.
//
// The browser tests need Chromium (Debian's /usr/bin/chromium). Without it
// they are skipped, except under CI=true, where a missing browser fails.
// Set GROUNDCREW_SCREENSHOTS to a directory to keep screenshots of the
// pages in light and dark mode.
package e2e

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"groundcrew.dev/groundcrew/internal/check"
	"groundcrew.dev/groundcrew/internal/config"
	"groundcrew.dev/groundcrew/internal/e2e/browsertest"
	"groundcrew.dev/groundcrew/internal/server"
)

const adminPassword = "e2e-password-123456"

// startServer runs the real server on a random loopback port with the
// example configuration and returns its URL. Checks may run as often as
// every 100 ms.
func startServer(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cfg := config.Config{
		Listen: "127.0.0.1:0", DataDir: dir, Database: "sqlite://" + filepath.Join(dir, "groundcrew.db"),
		ConfigDir: "../../examples", LogFormat: "text", LogLevel: "warn", BaseURL: "http://127.0.0.1:0",
	}
	srv := server.New(cfg, server.Options{Out: io.Discard, Getenv: func(k string) string {
		if k == "GROUNDCREW_ADMIN_PASSWORD" {
			return adminPassword
		}
		return ""
	}, CheckLimits: check.Limits{MinInterval: 100 * time.Millisecond}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return srv.URL()
}

// browser starts a fresh headless Chromium bounded by timeout and returns
// its context.
func browser(t *testing.T, timeout time.Duration) context.Context {
	return browsertest.New(t, timeout, 1280, 900)
}

// watchConsole collects the page's errors, except the rejected form's 422
// that the tests provoke.
func watchConsole(ctx context.Context) *browsertest.Console {
	return browsertest.WatchConsole(ctx, func(m chromedp.ConsoleMessage) bool {
		return m.Source == "network" && strings.Contains(m.Text, "status of 422")
	})
}

// tab is one browser tab on the server at base.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
}

// run runs steps, failing the test with what on error.
func (b *tab) run(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// text returns the visible text of the first element matching sel.
func (b *tab) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// location returns the path and query of the current page.
func (b *tab) location() string {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return strings.TrimPrefix(loc, b.base)
}

// TestBrowser_ServiceLifecycle logs in, creates a service through the form
// (after a rejected first try), finds it by search and sees its creation in
// the audit log.
func TestBrowser_ServiceLifecycle(t *testing.T) {
	base := startServer(t)
	ctx := browser(t, 60*time.Second)
	if err := chromedp.Do(ctx); err != nil { // start the browser and open the tab
		t.Fatalf("start browser: %v", err)
	}
	con := watchConsole(ctx)
	b := &tab{t: t, ctx: ctx, base: base}

	b.login()
	b.createService()
	b.search()
	b.audit()
	b.run("home", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`ul.stats`)))
	screenshots(t, ctx, "home")
	if errs := con.Errors(); len(errs) > 0 {
		t.Errorf("browser console errors (CSP violations show here):\n%s", strings.Join(errs, "\n"))
	}
}

// login visits a page anonymously, lands on the login form and comes back
// to the page after logging in.
func (b *tab) login() {
	b.t.Helper()
	b.run("open services anonymously",
		chromedp.Navigate(b.base+"/services"),
		chromedp.WaitVisible(chromedp.ID("f-user")))
	if loc := b.location(); loc != "/login?next=%2Fservices" {
		b.t.Fatalf("anonymous visit landed on %s, want the login page", loc)
	}
	b.run("log in",
		chromedp.SendKeys(chromedp.ID("f-user"), "admin"),
		chromedp.SendKeys(chromedp.ID("f-password"), adminPassword),
		loads(chromedp.Click(chromedp.CSS(`button[type=submit]`))),
		chromedp.WaitVisible(chromedp.ID("f-q")))
	if loc := b.location(); loc != "/services" {
		b.t.Fatalf("after login at %s, want /services", loc)
	}
}

// createService fills the new-service form with a bad repository URL, sees
// the error next to that field with the input kept, fixes it and creates.
func (b *tab) createService() {
	b.t.Helper()
	b.run("fill the service form",
		loads(chromedp.Click(chromedp.CSS(`a[href="/services/new"]`))),
		chromedp.WaitVisible(chromedp.ID("f-name")),
		chromedp.SendKeys(chromedp.ID("f-name"), "checkout"),
		chromedp.SendKeys(chromedp.ID("f-display_name"), "Checkout web"),
		chromedp.SendKeys(chromedp.ID("f-description"), "Takes the money: cart, payment page, receipts."),
		chromedp.SetValue(chromedp.ID("f-owner"), "payments"),
		chromedp.SetValue(chromedp.ID("f-tier"), "1"),
		chromedp.Click(chromedp.CSS(`input[name=environments][value=prod]`)),
		chromedp.Click(chromedp.CSS(`input[name=environments][value=staging]`)),
		chromedp.SendKeys(chromedp.ID("f-depends_on"), "payments-api, catalog-api"),
		chromedp.SendKeys(chromedp.ID("f-repository"), "git.example.com/storefront/checkout"),
		chromedp.SendKeys(chromedp.ID("f-tags"), "web, pci"),
		chromedp.SendKeys(chromedp.ID("f-labels"), "cost-center=cc-7"),
		loads(chromedp.Click(chromedp.CSS(`button.primary[type=submit]`))),
		chromedp.WaitVisible(chromedp.ID("f-repository-error")))
	if msg := b.text("#f-repository-error"); !strings.Contains(msg, "is not an http(s) URL") {
		b.t.Errorf("repository error says %q", msg)
	}
	if v, _ := chromedp.Run(b.ctx, chromedp.Value(chromedp.ID("f-display_name"))); v != "Checkout web" {
		b.t.Errorf("rejected form lost the display name: %q", v)
	}
	screenshots(b.t, b.ctx, "form-error")
	b.run("fix the repository and create",
		chromedp.Clear(chromedp.ID("f-repository")),
		chromedp.SendKeys(chromedp.ID("f-repository"), "https://git.example.com/storefront/checkout"),
		loads(chromedp.Click(chromedp.CSS(`button.primary[type=submit]`))))
	if loc := b.location(); loc != "/services/checkout" {
		b.t.Fatalf("after create at %s: %s", loc, b.text("main"))
	}
	page := b.text("main")
	for _, want := range []string{"Service checkout created.", "payments", "tier 1", "payments-api", "catalog-api", "no runbook", "create"} {
		if !strings.Contains(page, want) {
			b.t.Errorf("service page lacks %q:\n%s", want, page)
		}
	}
	screenshots(b.t, b.ctx, "service")
}

// search finds the new service with the search box of the service list.
func (b *tab) search() {
	b.t.Helper()
	b.run("search for it",
		chromedp.Navigate(b.base+"/services"),
		chromedp.WaitVisible(chromedp.ID("f-q")),
		chromedp.SendKeys(chromedp.ID("f-q"), "checkout"),
		loads(chromedp.Submit(chromedp.ID("f-q"))))
	if loc := b.location(); loc != "/services?q=checkout" {
		b.t.Errorf("search went to %s, want /services?q=checkout (empty filters left out)", loc)
	}
	screenshots(b.t, b.ctx, "services")
	if rows := b.text("table.list tbody"); !strings.Contains(rows, "checkout") || strings.Contains(rows, "storefront-web") {
		b.t.Errorf("search for checkout shows:\n%s", rows)
	}
}

// audit opens the audit log from the navigation and finds the creation.
func (b *tab) audit() {
	b.t.Helper()
	b.run("open the audit log",
		loads(chromedp.Click(chromedp.CSS(`nav a[href="/audit"]`))),
		chromedp.WaitVisible(chromedp.CSS(`table.audit`)))
	found, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`[...document.querySelectorAll("table.audit tbody tr")].some(tr =>
		tr.querySelector(".action-create") && tr.querySelector('a[href="/services/checkout"]'))`))
	if err != nil || !found {
		b.t.Errorf("audit log has no create entry for checkout (%v):\n%s", err, b.text("table.audit"))
	}
	screenshots(b.t, b.ctx, "audit")
}

// loads runs trigger and waits for the page it leads to to load.
func loads[T any](trigger chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	wait := chromedp.WaitEvent(page.LoadEventFired, nil, trigger)
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := wait(ctx, t)
		return chromedp.Void{}, err
	}
}

// screenshots saves the current page in light and dark mode when
// GROUNDCREW_SCREENSHOTS names a directory.
func screenshots(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("GROUNDCREW_SCREENSHOTS")
	if dir == "" {
		return
	}
	for _, scheme := range []string{"light", "dark"} {
		media := emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}}
		if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, media); err != nil {
			t.Fatalf("emulate %s: %v", scheme, err)
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s %s: %v", name, scheme, err)
		}
		path := filepath.Join(dir, "groundcrew-"+name+"-"+scheme+".png")
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", path)
	}
}
