package ui

import (
	"context"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/check"
	"groundcrew.dev/groundcrew/internal/check/probe"
	"groundcrew.dev/groundcrew/internal/identity"
)

// create creates a check as the system.
func (h *harness) create(in check.Input) {
	h.t.Helper()
	if _, _, err := h.chk.Create(h.sys, in); err != nil {
		h.t.Fatal(err)
	}
}

func httpCheck(name, service, env, target string) check.Input {
	return check.Input{Name: name, Spec: check.Spec{Service: service, Environment: env,
		Interval: probe.Duration(30 * time.Second), Timeout: probe.Duration(5 * time.Second),
		Spec: probe.Spec{Type: probe.HTTP, HTTP: &probe.HTTPSpec{URL: target}}}}
}

func tcpCheck(name, service, env, addr string) check.Input {
	return check.Input{Name: name, Spec: check.Spec{Service: service, Environment: env,
		Interval: probe.Duration(time.Minute), Timeout: probe.Duration(5 * time.Second),
		Spec: probe.Spec{Type: probe.TCP, TCP: &probe.TCPSpec{Address: addr}}}}
}

// rowNames returns the checks listed on a check list page, in order.
func rowNames(p page) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<tr class="row-[a-z]+">\s*<td[^>]*>.*?</td>\s*<td><a href="/checks/([^"]+)"`).FindAllStringSubmatch(p.Body, -1) {
		out = append(out, m[1])
	}
	return out
}

func nextLink(p page) string {
	m := regexp.MustCompile(`<a href="([^"]+)" rel="next">`).FindStringSubmatch(p.Body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// TestCheckList pages through 250 checks, with and without filters, one
// List query per page.
func TestCheckList(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{}).seed()
	start := time.Now()
	for i := range 250 {
		in := tcpCheck(fmt.Sprintf("chk-%03d", i), "postgres-main", "prod", "127.0.0.1:5432")
		if i%2 == 1 {
			in = httpCheck(fmt.Sprintf("chk-%03d", i), "payments-api", "staging", "https://pay.example.com/health")
		}
		in.Paused = i%10 == 0
		h.create(in)
	}
	t.Logf("created 250 checks in %v", time.Since(start))
	c := h.loggedIn("admin", adminPassword)

	t.Run("first page", func(t *testing.T) {
		p := c.get("/checks")
		wantStatus(t, p, http.StatusOK)
		names := rowNames(p)
		if len(names) != listLimit || names[0] != "chk-000" || names[listLimit-1] != "chk-049" {
			t.Fatalf("first page lists %d checks %v…", len(names), names[:min(3, len(names))])
		}
		wantContains(t, p, `<a href="/checks" aria-current="page">Checks</a>`,
			`<a href="/checks"><span class="num">250</span> all</a>`,
			`<a href="/checks?status=paused" class=""><span class="num">25</span> <span class="badge cs cs-paused">paused</span></a>`,
			`<a href="/checks?status=unknown" class=""><span class="num">225</span>`,
			`<a href="/checks?status=down" class="zero"><span class="num">0</span>`,
			`<a href="/checks/chk-001" class="name">chk-001</a>`, `<a href="/services/payments-api">payments-api</a>`,
			`<td class="nowrap num-col">30s</td>`, `<td class="nowrap num-col">1m</td>`, `<td class="nowrap">never</td>`)
		if got := nextLink(p); got != "/checks?after=chk-049" {
			t.Errorf("next page link = %q", got)
		}
	})
	t.Run("paging reaches every check once", func(t *testing.T) {
		seen := map[string]bool{}
		pages := 0
		for link := "/checks"; link != ""; pages++ {
			p := c.get(link)
			wantStatus(t, p, http.StatusOK)
			for _, n := range rowNames(p) {
				if seen[n] {
					t.Fatalf("%s listed twice", n)
				}
				seen[n] = true
			}
			if pages > 0 {
				wantContains(t, p, `href="/checks">« First page`)
			}
			link = nextLink(p)
		}
		if len(seen) != 250 || pages != 5 {
			t.Errorf("%d pages listed %d checks, want 5 and 250", pages, len(seen))
		}
	})
	t.Run("filters and paging keep them", func(t *testing.T) {
		p := c.get("/checks?service=payments-api")
		names := rowNames(p)
		if len(names) != listLimit || names[0] != "chk-001" || names[1] != "chk-003" {
			t.Fatalf("service filter lists %v…", names[:min(3, len(names))])
		}
		wantContains(t, p, `value="payments-api"`, `<a href="/checks?service=payments-api"><span class="num">125</span> all</a>`,
			`href="/checks?service=payments-api&amp;status=paused"`)
		if got := nextLink(p); got != "/checks?after=chk-099&service=payments-api" {
			t.Errorf("next page link = %q", got)
		}
		p = c.get(nextLink(p))
		if names := rowNames(p); len(names) != listLimit || names[0] != "chk-101" {
			t.Errorf("second filtered page starts at %v", names[:min(1, len(names))])
		}
		wantContains(t, p, `href="/checks?service=payments-api">« First page`)

		for _, tc := range []struct {
			query string
			n     int
			first string
		}{
			{"environment=staging", listLimit, "chk-001"},
			{"type=tcp", listLimit, "chk-000"},
			{"type=tcp&environment=staging", 0, ""},
			{"status=paused", 25, "chk-000"},
			{"status=paused&type=http", 0, ""},
			{"q=chk-12", 10, "chk-120"},
			{"q=payments&status=unknown", listLimit, "chk-001"},
		} {
			p := c.get("/checks?" + tc.query)
			wantStatus(t, p, http.StatusOK)
			names := rowNames(p)
			if len(names) != tc.n || tc.n > 0 && names[0] != tc.first {
				t.Errorf("%s lists %d checks from %v, want %d from %s", tc.query, len(names), names[:min(1, len(names))], tc.n, tc.first)
			}
			if tc.n == 0 {
				wantContains(t, p, "No checks match these filters.")
			}
		}
		p = c.get("/checks?status=paused")
		wantContains(t, p, `<option value="paused" selected>`, `aria-current="true"><span class="num">25</span>`)
	})
	t.Run("a status no check can have", func(t *testing.T) {
		p := c.get("/checks?status=sideways")
		wantStatus(t, p, http.StatusUnprocessableEntity)
		wantContains(t, p, `id="f-status-error"`, `&#34;sideways&#34; is not a status`)
		p = c.get("/checks?type=carrier-pigeon")
		wantStatus(t, p, http.StatusUnprocessableEntity)
		wantContains(t, p, `id="f-type-error"`)
	})
}

// runs advances the fake clock one interval at a time, n times, and waits
// until the runner has recorded each run of the check called name;
// before(i) runs before the i-th advance.
func (h *harness) runs(name string, interval time.Duration, n int, before func(i int)) {
	h.t.Helper()
	lastRun := func() time.Time {
		c, err := h.chk.Get(h.sys, name)
		if err != nil {
			h.t.Fatal(err)
		}
		if c.State.LastRunAt == nil {
			return time.Time{}
		}
		return *c.State.LastRunAt
	}
	for i := range n {
		if before != nil {
			before(i)
		}
		prev := lastRun()
		h.clock.Advance(interval)
		deadline := time.Now().Add(10 * time.Second)
		for !lastRun().After(prev) {
			if time.Now().After(deadline) {
				h.t.Fatalf("run %d of %s not recorded within 10 s", i, name)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// TestCheckPage runs a check against a test server that fails for a
// while, and reads its page, the service page and the home page.
func TestCheckPage(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{}).seed()
	h.addUser("vera", identity.RoleViewer)
	var status atomic.Int64
	status.Store(http.StatusOK)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(status.Load()))
	}))
	defer target.Close()

	parent := tcpCheck("pg-port", "postgres-main", "prod", "127.0.0.1:5432")
	parent.Paused = true
	h.create(parent)
	in := httpCheck("pay-health", "payments-api", "prod", target.URL+"/health")
	in.DisplayName, in.Parent = "Payments API answers", "pg-port"
	in.Conditions = []check.Condition{{Name: "answers 200", Expr: "status == 200"},
		{Name: "fast", Expr: `duration < duration("5s")`, Degraded: true}}
	h.create(in)

	r := check.NewRunner(h.db, check.RunnerOptions{Clock: h.clock, FlushInterval: 5 * time.Millisecond})
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer r.Stop(context.Background())
	admin := h.loggedIn("admin", adminPassword)

	// 6 good runs, 3 failing ones (DOWN after the second), then good again.
	h.runs("pay-health", 30*time.Second, 9, func(i int) {
		if i == 6 {
			status.Store(http.StatusServiceUnavailable)
		}
	})
	t.Run("home and service page show it down", func(t *testing.T) {
		p := admin.get("/")
		wantStatus(t, p, http.StatusOK)
		wantContains(t, p, `<a href="/checks?status=down">1 check down</a>`, `<a href="/checks/pay-health" class="name">pay-health</a>`,
			"failed: answers 200")
		p = admin.get("/services/payments-api")
		wantContains(t, p, `<h2 id="health">Health checks</h2>`, `<tr class="row-down">`,
			`<a href="/checks?service=payments-api&amp;status=down" class=""><span class="num">1</span>`)
	})
	h.runs("pay-health", 30*time.Second, 3, func(i int) { status.Store(http.StatusOK) })

	p := admin.get("/checks/pay-health")
	wantStatus(t, p, http.StatusOK)
	t.Run("header and definition", func(t *testing.T) {
		wantContains(t, p, `<h1>pay-health <span class="sub">Payments API answers</span></h1>`,
			`<div class="state state-up" role="status">`, `<span class="badge cs cs-up">up</span> <span class="sub">since <time`,
			`<code>GET `+target.URL+`/health</code>`, "every 30s, timeout 5s, no retries",
			"2 failing runs in a row to go down, 1 passing run to go back up",
			`<a href="/checks/pg-port">pg-port</a>`, "<strong>answers 200</strong> <code>status == 200</code>",
			`<strong>fast</strong> <code>duration &lt; duration(&#34;5s&#34;)</code> <span class="tag"`, "degraded only",
			`action="/checks/pay-health/pause"`, `name="revision" value="1"`)
	})
	t.Run("uptime and charts", func(t *testing.T) {
		wantContains(t, p, `<th scope="row">24 hours</th>`, "<strong>75 %</strong>", `<td class="num-col">12</td>`,
			`<svg class="chart line-chart"`, `aria-labelledby="response-time-t response-time-d"`,
			"12 runs from Mar 1 12:00 to Mar 1 12:06 UTC", "3 failed",
			`<svg class="chart uptime-bar"`, "2025-03-01: 75 % up, 3 down of 12 runs", "2025-02-28: no data")
		if n := strings.Count(p.Body, `class="mark fail"`); n != 3 {
			t.Errorf("%d failed runs marked on the chart, want 3", n)
		}
		if n := strings.Count(p.Body, `<g class="day">`); n != barDays {
			t.Errorf("%d days on the uptime bar, want %d", n, barDays)
		}
		for _, svg := range regexp.MustCompile(`(?s)<svg .*?</svg>`).FindAllString(p.Body, -1) {
			svgElements(t, template.HTML(svg))
		}
	})
	t.Run("downtimes, state changes and runs", func(t *testing.T) {
		body := p.Body
		down := body[strings.Index(body, `id="downtimes"`):strings.Index(body, `id="events"`)]
		rows := func(section string) int { return strings.Count(section, "<tr>") - 1 } // less the header
		if rows(down) != 1 || !strings.Contains(down, "1 min") || strings.Contains(down, "ongoing") ||
			!strings.Contains(down, "failed: answers 200") {
			t.Errorf("downtimes section:\n%s", down)
		}
		events := body[strings.Index(body, `id="events"`):strings.Index(body, `id="results"`)]
		for _, want := range []string{"cs-unknown", "cs-down", `<span class="alertable">alerts</span>`, "no alert"} {
			if !strings.Contains(events, want) {
				t.Errorf("state changes lack %q:\n%s", want, events)
			}
		}
		if n := rows(events); n != 3 {
			t.Errorf("%d state changes, want 3 (unknown→up, up→down, down→up)", n)
		}
		results := body[strings.Index(body, `id="results"`):]
		if n := rows(results); n != 12 {
			t.Errorf("%d runs listed, want 12", n)
		}
		wantContains(t, p, `<li class="pass"><span aria-hidden="true">✓</span> answers 200 <span class="visually-hidden">passed</span></li>`,
			`<li class="fail"><span aria-hidden="true">✗</span> answers 200 <span class="word">failed</span></li>`)
	})
	t.Run("service page lists its checks and their changes", func(t *testing.T) {
		p := admin.get("/services/payments-api")
		wantContains(t, p, `<a href="/checks/pay-health" class="name">pay-health</a>`, `<h3 id="health-changes">Latest state changes</h3>`)
		changes := p.Body[strings.Index(p.Body, `id="health-changes"`):]
		if n := strings.Count(changes, `<a href="/checks/pay-health" class="name">`); n != 3 {
			t.Errorf("%d state changes of pay-health on the service page, want 3", n)
		}
		wantContains(t, admin.get("/services/postgres-main"), `<a href="/checks/pg-port" class="name">pg-port</a>`, "cs-paused")
		wantContains(t, admin.get("/"), "No health check is down or degraded (of 2 checks).")
	})
	t.Run("a viewer reads but may not pause", func(t *testing.T) {
		vera := h.loggedIn("vera", adminPassword)
		p := vera.get("/checks/pay-health")
		wantStatus(t, p, http.StatusOK)
		wantLacks(t, p, `action="/checks/pay-health/pause"`)
		p = vera.post("/checks/pay-health/pause", url.Values{"revision": {"1"}, "paused": {"true"}})
		wantStatus(t, p, http.StatusForbidden)
		wantContains(t, p, "Not allowed")
	})
	t.Run("pause and resume", func(t *testing.T) {
		p := admin.post("/checks/pay-health/pause", url.Values{"revision": {"1"}, "paused": {"true"}})
		wantStatus(t, p, http.StatusSeeOther)
		p = admin.get("/checks/pay-health")
		wantContains(t, p, "Check pay-health paused", `<div class="state state-paused"`, ">Resume</button>", `name="revision" value="2"`)
		p = admin.post("/checks/pay-health/pause", url.Values{"revision": {"1"}, "paused": {"false"}})
		wantStatus(t, p, http.StatusPreconditionFailed)
		wantContains(t, p, "changed by someone else")
		wantStatus(t, admin.post("/checks/pay-health/pause", url.Values{"revision": {"2"}, "paused": {"false"}}), http.StatusSeeOther)
		wantContains(t, admin.get("/checks/pay-health"), "Check pay-health resumed.", ">Pause</button>")
	})
	t.Run("not found", func(t *testing.T) {
		wantStatus(t, admin.get("/checks/nope"), http.StatusNotFound)
		wantStatus(t, admin.post("/checks/nope/pause", url.Values{"revision": {"1"}}), http.StatusNotFound)
		wantStatus(t, admin.post("/checks/nope/ping-url", nil), http.StatusNotFound)
	})
}

// TestHeartbeatPage: the ping URL is secret; writers get a new one shown
// once, as the response to the form.
func TestHeartbeatPage(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{}).seed()
	h.addUser("vera", identity.RoleViewer)
	in := check.Input{Name: "nightly-backup", Spec: check.Spec{Service: "postgres-main", Environment: "prod",
		Interval: probe.Duration(24 * time.Hour), Spec: probe.Spec{Type: check.Heartbeat}}}
	_, first, err := h.chk.Create(h.sys, in)
	if err != nil {
		t.Fatal(err)
	}
	admin := h.loggedIn("admin", adminPassword)
	p := admin.get("/checks/nightly-backup")
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, "pings to its secret URL", "every 24h, at most 4h48m late", "The URL is the only credential",
		`action="/checks/nightly-backup/ping-url"`, ">New ping URL</button>")
	wantLacks(t, p, "gchb_", `<svg class="chart line-chart"`, "<h3>Conditions</h3>")

	p = admin.post("/checks/nightly-backup/ping-url", nil)
	wantStatus(t, p, http.StatusCreated)
	m := regexp.MustCompile(`value="(http://127\.0\.0\.1:\d+/api/v1/ping/(gchb_[A-Za-z0-9_-]+))"`).FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no ping URL shown:\n%s", p.Body)
	}
	wantContains(t, p, "it is not shown again")
	if _, err := h.chk.Ping(context.Background(), m[2], false, ""); err != nil {
		t.Errorf("ping with the new URL: %v", err)
	}
	if _, err := h.chk.Ping(context.Background(), first, false, ""); err == nil {
		t.Error("the old ping URL still works")
	}
	wantLacks(t, admin.get("/checks/nightly-backup"), m[2])

	vera := h.loggedIn("vera", adminPassword)
	wantLacks(t, vera.get("/checks/nightly-backup"), "New ping URL")
	wantStatus(t, vera.post("/checks/nightly-backup/ping-url", nil), http.StatusForbidden)

	h.create(httpCheck("web", "postgres-main", "prod", "https://example.com/"))
	p = admin.post("/checks/web/ping-url", nil)
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantContains(t, p, "is not a heartbeat check")
}
