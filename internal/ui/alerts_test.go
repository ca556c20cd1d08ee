package ui

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/alert"
	"groundcrew.dev/groundcrew/internal/catalog"
	"groundcrew.dev/groundcrew/internal/check"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/jobs"
	"groundcrew.dev/groundcrew/internal/notify"
	"groundcrew.dev/groundcrew/internal/secret"
)

// alertHarness is the UI harness with alerting: the seeded catalog plus
// viewer vera, member mia of team web (service web-frontend), receiver
// oncall (a webhook nobody answers: deliveries are enqueued, never
// worked) and route "all" sending every alert with a service label to it.
// The handler is wrapped in the server's cross-origin protection.
type alertHarness struct {
	*harness
	alerts *alert.Service
	notify *notify.Service
	disp   *alert.Dispatcher
}

func newAlertHarness(t *testing.T, d *db.DB) *alertHarness {
	t.Helper()
	clk := clock.NewFake(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	h := &harness{t: t, clock: clk, db: d, sys: identity.WithActor(context.Background(), identity.System())}
	h.ids = identity.NewService(d, clk, nil, identity.Options{})
	h.cat = catalog.New(d, clk, h.ids, nil)
	h.chk = check.NewService(d, clk, h.cat, check.Options{Limits: check.Limits{MinInterval: time.Second}})
	ah := &alertHarness{harness: h, alerts: alert.NewService(d, clk, h.cat, h.ids, alert.Options{})}
	box, err := secret.New(make([]byte, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	ah.notify = notify.NewService(d, clk, box, h.ids, notify.ServiceOptions{})
	if err := jobs.Migrate(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	runner, err := jobs.New(d, jobs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ah.notify.SetJobs(runner)
	ah.disp = alert.NewDispatcher(ah.alerts, ah.notify, alert.DispatcherOptions{Clock: clk})
	cfg := Config{DB: d, Identity: h.ids, Catalog: h.cat, Checks: h.chk, Alerts: ah.alerts, Notify: ah.notify, Clock: clk, Version: "test"}
	h.srv = httptest.NewServer(http.NewCrossOriginProtection().Handler(New(cfg)))
	t.Cleanup(h.srv.Close)

	h.seed()
	h.addUser("vera", identity.RoleViewer)
	h.addUser("mia", identity.RoleMember)
	h.must(h.ids.CreateTeam(h.sys, identity.TeamInput{Name: "web", Members: []string{"mia"}}))
	h.must(h.cat.CreateService(h.sys, catalog.ServiceInput{Name: "web-frontend", ServiceSpec: catalog.ServiceSpec{
		Owner: "web", Tier: 2, Environments: []string{"prod"}}}))
	h.must(ah.notify.Create(h.sys, notify.Input{Name: "oncall", Spec: notify.Spec{Channels: []notify.ChannelSpec{
		{Webhook: &notify.WebhookConfig{URL: "http://127.0.0.1:9/hook"}}}}}))
	h.must(ah.alerts.PutRoute(h.sys, alert.RouteInput{Name: "all", Spec: alert.RouteDocSpec{Position: 10, RouteSpec: alert.RouteSpec{
		Matchers: []string{`service=~".+"`}, GroupBy: []string{"alertname"}, GroupWait: "30s", Receivers: []string{"oncall"}}}}, 0, false))
	return ah
}

// fire raises an alert as the system and returns it.
func (h *alertHarness) fire(labels map[string]string, summary string) alert.Alert {
	h.t.Helper()
	a, err := h.alerts.Raise(h.sys, alert.RaiseInput{Labels: labels, Summary: summary})
	if err != nil {
		h.t.Fatal(err)
	}
	return a
}

func (h *alertHarness) resolve(labels map[string]string) {
	h.t.Helper()
	if _, err := h.alerts.Raise(h.sys, alert.RaiseInput{Labels: labels, Status: alert.Resolved}); err != nil {
		h.t.Fatal(err)
	}
}

// dispatch lets group_wait pass and runs the dispatcher once.
func (h *alertHarness) dispatch() {
	h.t.Helper()
	h.clock.Advance(31 * time.Second)
	if err := h.disp.Tick(context.Background()); err != nil {
		h.t.Fatal(err)
	}
}

func (h *alertHarness) silences() []alert.Silence {
	h.t.Helper()
	list, err := h.alerts.ListSilences(h.sys, false)
	if err != nil {
		h.t.Fatal(err)
	}
	return list
}

var (
	diskFull    = map[string]string{"alertname": "DiskFull", "service": "postgres-main", "severity": "critical", "instance": "db-1"}
	highLatency = map[string]string{"alertname": "HighLatency", "service": "payments-api", "severity": "warning"}
	webDown     = map[string]string{"alertname": "WebDown", "service": "web-frontend", "severity": "critical"}
)

// alertNames returns the alerts a list page shows, in order.
func alertNames(p page) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<a href="/alerts/[0-9a-f-]{36}" class="name">([^<]+)</a>`).FindAllStringSubmatch(p.Body, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestAlertPages(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		h := newAlertHarness(t, d)
		disk := h.fire(diskFull, "Disk almost full on db-1")
		h.fire(highLatency, "p95 above 800 ms")
		h.fire(webDown, "")
		h.dispatch()
		h.resolve(webDown)
		h.clock.Advance(time.Minute)
		h.fire(webDown, "") // fired again soon after: flapping
		h.resolve(webDown)
		admin := h.loggedIn("admin", adminPassword)

		t.Run("list shows firing alerts by default", func(t *testing.T) {
			p := admin.get("/alerts")
			wantStatus(t, p, http.StatusOK)
			if got := strings.Join(alertNames(p), ","); got != "HighLatency,DiskFull" {
				t.Errorf("firing alerts listed: %s", got)
			}
			wantContains(t, p, `<a href="/alerts" aria-current="page">Alerts</a>`,
				`<span class="badge sev sev-critical">critical</span>`, `<span class="sub">Disk almost full on db-1</span>`,
				`<a href="/services/postgres-main">postgres-main</a>`, `<span class="badge as as-firing">firing</span>`,
				`<time datetime="2025-03-01T12:00:00Z" title="2025-03-01 12:00:00 UTC">`)
			wantLacks(t, p, "WebDown")
		})
		t.Run("filters", func(t *testing.T) {
			for _, c := range []struct{ query, want string }{
				{"status=resolved", "WebDown,WebDown"},
				{"status=all&service=web-frontend", "WebDown,WebDown"},
				{"service=payments-api", "HighLatency"},
				{"severity=critical", "DiskFull"},
				{"q=latency", "HighLatency"},
				{"q=" + url.QueryEscape("instance=db-1"), "DiskFull"},
				{"q=nothing-like-this", ""},
			} {
				p := admin.get("/alerts?" + c.query)
				wantStatus(t, p, http.StatusOK)
				if got := strings.Join(alertNames(p), ","); got != c.want {
					t.Errorf("%s lists %q, want %q", c.query, got, c.want)
				}
			}
			p := admin.get("/alerts?status=burning")
			wantStatus(t, p, http.StatusUnprocessableEntity)
			wantContains(t, p, `id="f-status-error"`, `is not a status`)
		})
		t.Run("alert page tells its history and where it goes", func(t *testing.T) {
			p := admin.get("/alerts/" + disk.ID.String())
			wantStatus(t, p, http.StatusOK)
			wantContains(t, p, `<dt>instance</dt><dd>db-1</dd>`, `<strong class="what">fired</strong>`,
				`<strong class="what">notified oncall</strong>`, `reason: first notification of its group`,
				`<a href="/alerts/deliveries?receiver=oncall">deliveries to oncall</a>`,
				`<a href="/services/postgres-main">postgres-main</a>`, `Route <strong>all</strong>`, `Silence this`)
			silence := regexp.MustCompile(`<a class="button" href="([^"]+)">Silence this</a>`).FindStringSubmatch(p.Body)
			if silence == nil {
				t.Fatal("no silence link")
			}
			form := admin.get(html.UnescapeString(silence[1]))
			wantStatus(t, form, http.StatusOK)
			wantContains(t, form, "alertname=&#34;DiskFull&#34;\ninstance=&#34;db-1&#34;\nservice=&#34;postgres-main&#34;\nseverity=&#34;critical&#34;</textarea>")

			list := admin.get("/alerts?status=resolved")
			id := regexp.MustCompile(`<a href="/alerts/([0-9a-f-]{36})" class="name">WebDown</a>`).FindStringSubmatch(list.Body)
			if id == nil {
				t.Fatal("no WebDown alert listed")
			}
			p = admin.get("/alerts/" + id[1])
			wantContains(t, p, `<strong class="what">fired again</strong> <span class="badge as as-flapping">flapping</span>`,
				`flapping: it had been resolved for 1m0s`, `previous occurrence`, `<strong class="what">resolved</strong>`)
			wantLacks(t, p, "Silence this")
			wantStatus(t, admin.get("/alerts/00000000-0000-7000-8000-000000000000"), http.StatusNotFound)
		})
		t.Run("service page lists its firing alerts", func(t *testing.T) {
			p := admin.get("/services/postgres-main")
			wantStatus(t, p, http.StatusOK)
			wantContains(t, p, `<h2 id="firing">Firing alerts</h2>`, `class="name">DiskFull</a>`)
			p = admin.get("/services/web-frontend")
			wantContains(t, p, "No alert is firing for this service.")
		})
		t.Run("routing page and route test", func(t *testing.T) {
			p := admin.get("/alerts/routes")
			wantStatus(t, p, http.StatusOK)
			wantContains(t, p, `<h3>all</h3>`, `<code class="matcher">service=~&#34;.&#43;&#34;</code>`,
				`<a href="/alerts/deliveries?receiver=oncall">oncall</a>`, "No inhibition rules.")
			p = admin.get("/alerts/routes?" + url.Values{"labels": {"alertname=X\nservice=\"payments-api\""}}.Encode())
			wantStatus(t, p, http.StatusOK)
			wantContains(t, p, `Route <strong>all</strong> → <a href="/alerts/deliveries?receiver=oncall">oncall</a>`)
			p = admin.get("/alerts/routes?" + url.Values{"labels": {"team=db"}}.Encode())
			wantContains(t, p, `Route <strong>root</strong> → <span class="none">no receiver</span>`, "the alert has no label service")
			p = admin.get("/alerts/routes?" + url.Values{"labels": {"alertname=X\nnot a label"}}.Encode())
			wantStatus(t, p, http.StatusUnprocessableEntity)
			wantContains(t, p, `id="f-labels-error"`, "line 2: &#34;not a label&#34; is not name=value")
		})
		t.Run("deliveries", func(t *testing.T) {
			p := admin.get("/alerts/deliveries")
			wantStatus(t, p, http.StatusOK)
			if n := strings.Count(p.Body, `<tr class="delivery-row">`); n != 3 {
				t.Errorf("%d deliveries listed, want 3 (one per alertname group)", n)
			}
			wantContains(t, p, `<span class="badge ds ds-pending">pending</span>`, "webhook", "first")
			p = admin.get("/alerts/deliveries?status=failed")
			wantContains(t, p, "No deliveries match these filters.")
			p = admin.get("/alerts/deliveries?status=lost")
			wantStatus(t, p, http.StatusUnprocessableEntity)
			wantContains(t, p, `id="f-status-error"`)
		})
	})
}

func TestAlertList_Paging(t *testing.T) {
	t.Parallel()
	h := newAlertHarness(t, dbtest.Open(t, dbtest.SQLiteDSN(t)))
	for i := range 120 {
		sev := "warning"
		if i%3 == 0 {
			sev = "critical"
		}
		h.fire(map[string]string{"alertname": fmt.Sprintf("Bulk%03d", i), "severity": sev}, "")
	}
	c := h.loggedIn("admin", adminPassword)
	for _, query := range []string{"", "?severity=critical", "?q=bulk0"} {
		seen := map[string]bool{}
		pages := 0
		for link := "/alerts" + query; link != ""; pages++ {
			if pages > 10 {
				t.Fatalf("%s: too many pages", query)
			}
			p := c.get(link)
			wantStatus(t, p, http.StatusOK)
			for _, n := range alertNames(p) {
				if seen[n] {
					t.Fatalf("%s: %s listed twice", query, n)
				}
				seen[n] = true
			}
			link = nextLink(p)
		}
		want := map[string]int{"": 120, "?severity=critical": 40, "?q=bulk0": 100}[query]
		if len(seen) != want {
			t.Errorf("%s: paging listed %d alerts, want %d", query, len(seen), want)
		}
	}
}

func TestSilencePages(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		h := newAlertHarness(t, d)
		h.fire(diskFull, "Disk almost full on db-1")
		h.fire(highLatency, "")
		h.fire(webDown, "")
		admin := h.loggedIn("admin", adminPassword)
		form := func(action, matchers string) url.Values {
			return url.Values{"action": {action}, "matchers": {matchers}, "duration": {"2h"}, "comment": {"disk replaced tonight"}}
		}

		t.Run("preview lists what it would mute and stores nothing", func(t *testing.T) {
			p := admin.post("/silences", form("preview", `alertname="DiskFull"`+"\n"+`instance=~"db-.*"`))
			wantStatus(t, p, http.StatusOK)
			wantContains(t, p, "It would mute 1 firing alert", `class="name">DiskFull</a>`)
			wantLacks(t, p, `class="name">HighLatency</a>`)
			if n := len(h.silences()); n != 0 {
				t.Errorf("%d silences stored by a preview", n)
			}
		})
		t.Run("a bad matcher is shown next to its line, nothing stored", func(t *testing.T) {
			p := admin.post("/silences", form("create", "\n"+`alertname="DiskFull"`+"\n"+`instance=~"db-(`))
			wantStatus(t, p, http.StatusUnprocessableEntity)
			wantContains(t, p, `<p class="field-error" id="f-matchers-error"><span aria-hidden="true">✕</span> line 3:`,
				`aria-invalid="true" aria-describedby="f-matchers-error"`, "disk replaced tonight</textarea>")
			p = admin.post("/silences", url.Values{"action": {"create"}, "matchers": {`alertname="DiskFull"`}, "duration": {"soon"}, "comment": {"x"}})
			wantStatus(t, p, http.StatusUnprocessableEntity)
			wantContains(t, p, `id="f-duration-error"`, "is not a duration")
			if n := len(h.silences()); n != 0 {
				t.Errorf("%d silences stored from bad forms", n)
			}
		})
		t.Run("a cross-site form is refused", func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, admin.base+"/silences", strings.NewReader(form("create", `alertname="DiskFull"`).Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", "https://evil.example")
			req.Header.Set("Sec-Fetch-Site", "cross-site")
			p := admin.do(req)
			wantStatus(t, p, http.StatusForbidden)
			if n := len(h.silences()); n != 0 {
				t.Errorf("%d silences stored by a cross-site form", n)
			}
		})
		var silenceID string
		t.Run("create, see it mute, expire", func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, admin.base+"/silences", strings.NewReader(form("create", `alertname="DiskFull"`).Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", admin.base)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			p := admin.do(req)
			wantStatus(t, p, http.StatusSeeOther)
			list := h.silences()
			if len(list) != 1 || list[0].CreatedBy != "admin" || list[0].EndsAt.Sub(list[0].StartsAt) != 2*time.Hour {
				t.Fatalf("silences after create: %+v", list)
			}
			silenceID = list[0].ID.String()
			p = admin.get("/silences")
			wantContains(t, p, "Silence created: alertname=&#34;DiskFull&#34;", `<span class="badge ss ss-active">active</span>`,
				`<code class="matcher">alertname=&#34;DiskFull&#34;</code>`, "disk replaced tonight", `action="/silences/`+silenceID+`/expire"`)
			p = admin.get("/alerts")
			if !regexp.MustCompile(`DiskFull</a>(?s:.*?)as-silenced`).MatchString(p.Body) || strings.Count(p.Body, "as-silenced\">silenced") != 1 {
				t.Errorf("the alert list does not mark DiskFull alone silenced")
			}

			p = admin.post("/silences/"+silenceID+"/expire", nil)
			wantStatus(t, p, http.StatusSeeOther)
			if n := len(h.silences()); n != 0 {
				t.Errorf("%d silences active after expiring", n)
			}
			wantStatus(t, admin.post("/silences/"+silenceID+"/expire", nil), http.StatusConflict)
			p = admin.get("/silences?all=1")
			wantContains(t, p, `<span class="badge ss ss-expired">expired</span>`)
		})
		t.Run("viewers cannot silence", func(t *testing.T) {
			vera := h.loggedIn("vera", adminPassword)
			p := vera.get("/silences")
			wantStatus(t, p, http.StatusOK)
			wantContains(t, p, "Viewers cannot create silences")
			wantLacks(t, p, `action="/silences"`)
			p = vera.post("/silences", form("create", `alertname="DiskFull"`))
			wantStatus(t, p, http.StatusForbidden)
			if n := len(h.silences()); n != 0 {
				t.Errorf("a viewer stored %d silences", n)
			}
			s, err := h.alerts.CreateSilence(h.sys, alert.SilenceInput{Matchers: []string{`alertname="HighLatency"`}, EndsAt: h.clock.Now().Add(time.Hour), Comment: "x"})
			if err != nil {
				t.Fatal(err)
			}
			wantStatus(t, vera.post("/silences/"+s.ID.String()+"/expire", nil), http.StatusForbidden)
			if n := len(h.silences()); n != 1 {
				t.Errorf("%d silences after a viewer's expire, want 1", n)
			}
			if err := h.alerts.ExpireSilence(h.sys, s.ID); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("members silence only their own services", func(t *testing.T) {
			mia := h.loggedIn("mia", adminPassword)
			p := mia.post("/silences", form("create", `service="payments-api"`))
			wantStatus(t, p, http.StatusForbidden)
			wantContains(t, p, `<div class="alert" role="alert"><strong>Not saved.</strong>`)
			p = mia.post("/silences", form("create", `alertname="WebDown"`))
			wantStatus(t, p, http.StatusForbidden)
			wantContains(t, p, "members may silence only their teams")
			if n := len(h.silences()); n != 0 {
				t.Fatalf("%d silences stored by refused forms", n)
			}
			p = mia.post("/silences", form("create", `service="web-frontend"`+"\n"+`alertname="WebDown"`))
			wantStatus(t, p, http.StatusSeeOther)
			if list := h.silences(); len(list) != 1 || list[0].CreatedBy != "mia" {
				t.Fatalf("silences: %+v", list)
			}
		})
	})
}

// TestAlertPages_Disabled: a UI without alerting says so, and the service
// page has no alert section.
func TestAlertPages_Disabled(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{}).seed()
	c := h.loggedIn("admin", adminPassword)
	for _, path := range []string{"/alerts", "/silences", "/alerts/routes", "/alerts/deliveries"} {
		wantStatus(t, c.get(path), http.StatusNotFound)
	}
	p := c.get("/services/postgres-main")
	wantStatus(t, p, http.StatusOK)
	wantLacks(t, p, "Firing alerts")
}

func TestParseLabelLines(t *testing.T) {
	got, err := parseLabelLines("labels", "a=1\n\n b = \"two words\" \nc=")
	if err != nil || len(got) != 3 || got["a"] != "1" || got["b"] != "two words" || got["c"] != "" {
		t.Errorf("parseLabelLines = %v, %v", got, err)
	}
	if isLabelSearch(`a=~"b"`) || isLabelSearch("a!=b") || isLabelSearch("disk full") || !isLabelSearch("a=b") {
		t.Error("isLabelSearch takes only name=value for a label matcher")
	}
	for _, bad := range []string{"", "a", "1a=b", "a b=c"} {
		if _, err := parseLabelLines("labels", bad); err == nil {
			t.Errorf("parseLabelLines(%q) accepted", bad)
		}
	}
}

func FuzzParseLabelLines(f *testing.F) {
	for _, s := range []string{"a=1\nb=2", "x=\"\"", "=", "\n\n", "a==b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseLabelLines("labels", s)
		if err != nil {
			return
		}
		if len(got) == 0 || len(got) > maxLabelLines {
			t.Fatalf("%d labels accepted", len(got))
		}
		for k := range got {
			if !alert.ValidLabelName(k) {
				t.Fatalf("bad label name %q accepted", k)
			}
		}
	})
}

func TestSilenceEnd(t *testing.T) {
	now := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		f    silenceForm
		want time.Time
		bad  string
	}{
		{f: silenceForm{Duration: "2h"}, want: now.Add(2 * time.Hour)},
		{f: silenceForm{Duration: "3d"}, want: now.Add(72 * time.Hour)},
		{f: silenceForm{Duration: "2h", EndsAt: "2026-01-02T08:30"}, want: time.Date(2026, 1, 2, 8, 30, 0, 0, time.UTC)},
		{f: silenceForm{}, bad: "duration"},
		{f: silenceForm{Duration: "-1h"}, bad: "duration"},
		{f: silenceForm{Duration: "99999d"}, bad: "duration"},
		{f: silenceForm{EndsAt: "tomorrow"}, bad: "ends_at"},
	} {
		got, err := silenceEnd(c.f, now)
		if c.bad != "" {
			if errs.FieldOf(err) != c.bad {
				t.Errorf("%+v: err %v, want one about %s", c.f, err, c.bad)
			}
			continue
		}
		if err != nil || !got.Equal(c.want) {
			t.Errorf("%+v: %v, %v; want %v", c.f, got, err, c.want)
		}
	}
}
