// Package browsertest starts a headless Chromium for browser tests and
// collects the errors pages report. Tests without Chromium are skipped,
// except under CI=true, where a missing browser fails them.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Chromium returns the browser's path, skipping the test without one
// (failing it under CI=true).
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("Chromium not found under CI=true: browser tests must run in CI (apt-get install chromium)")
	}
	t.Skip("Chromium not found; skipping the browser test")
	return ""
}

// New starts a fresh headless Chromium (its own profile, a window of width
// × height) bounded by timeout, and returns the context of its first tab.
// Everything is stopped when the test ends.
func New(t testing.TB, timeout time.Duration, width, height int) context.Context {
	t.Helper()
	exe := Chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	)
	t.Cleanup(cancelAlloc)
	ctx, cancelTab := chromedp.NewContext(ctx)
	t.Cleanup(cancelTab)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start browser: %v", err)
	}
	return ctx
}

// Console collects a page's errors: script exceptions and browser log
// errors, which include Content-Security-Policy violations. Safe for
// concurrent use.
type Console struct {
	mu   sync.Mutex
	errs []string
}

// WatchConsole starts collecting the errors of the tab in ctx; expected,
// if not nil, tells errors the test provokes on purpose.
func WatchConsole(ctx context.Context, expected func(chromedp.ConsoleMessage) bool) *Console {
	c := &Console{}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if (m.Type == chromedp.ConsoleError || m.IsException()) && (expected == nil || !expected(m)) {
				c.mu.Lock()
				c.errs = append(c.errs, m.String()+" at "+m.URL)
				c.mu.Unlock()
			}
		}
	}()
	return c
}

// Errors returns the errors collected so far.
func (c *Console) Errors() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.errs...)
}
