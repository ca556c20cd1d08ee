package ui

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"

	"groundcrew.dev/groundcrew/internal/check"
	"groundcrew.dev/groundcrew/internal/check/probe"
	"groundcrew.dev/groundcrew/internal/identity"
)

// formValues returns what a browser would send with the form of p whose
// action is action, as the page has it filled in.
func formValues(t *testing.T, p page, action string) url.Values {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(p.Body))
	if err != nil {
		t.Fatal(err)
	}
	attr := func(n *html.Node, key string) (string, bool) {
		for _, a := range n.Attr {
			if a.Key == key {
				return a.Val, true
			}
		}
		return "", false
	}
	text := func(n *html.Node) string {
		var b strings.Builder
		for c := range n.Descendants() {
			if c.Type == html.TextNode {
				b.WriteString(c.Data)
			}
		}
		return b.String()
	}
	var form *html.Node
	for n := range doc.Descendants() {
		if a, _ := attr(n, "action"); n.Type == html.ElementNode && n.Data == "form" && a == action {
			form = n
			break
		}
	}
	if form == nil {
		t.Fatalf("%s has no form to %s", p.Request.URL, action)
	}
	v := url.Values{}
	for n := range form.Descendants() {
		name, ok := attr(n, "name")
		if n.Type != html.ElementNode || !ok {
			continue
		}
		switch n.Data {
		case "input":
			typ, _ := attr(n, "type")
			if _, checked := attr(n, "checked"); (typ == "checkbox" || typ == "radio") && !checked {
				continue
			}
			val, _ := attr(n, "value")
			v.Add(name, val)
		case "textarea":
			v.Add(name, strings.ReplaceAll(text(n), "\n", "\r\n")) // as browsers send line breaks
		case "select":
			var first, selected *html.Node
			for o := range n.Descendants() {
				if o.Type == html.ElementNode && o.Data == "option" {
					if first == nil {
						first = o
					}
					if _, ok := attr(o, "selected"); ok {
						selected = o
					}
				}
			}
			if selected == nil {
				selected = first
			}
			if o := selected; o != nil {
				val, ok := attr(o, "value")
				if !ok {
					val = text(o)
				}
				v.Add(name, val)
			}
		}
	}
	return v
}

// errorFields returns the inputs that have an error next to them.
func errorFields(p page) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<p class="field-error" id="f-([a-z0-9_-]+)-error"`).FindAllStringSubmatch(p.Body, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestCreateCheck(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{}).seed()
	c := h.loggedIn("admin", adminPassword)

	t.Run("buttons lead to the form", func(t *testing.T) {
		wantContains(t, c.get("/checks"), `<a class="button primary" href="/checks/new">New check</a>`)
		wantContains(t, c.get("/checks?service=payments-api"), `href="/checks/new?service=payments-api">New check</a>`)
		wantContains(t, c.get("/services/payments-api"), `<a class="button" href="/checks/new?service=payments-api">New check</a>`)
	})
	p := c.get("/checks/new?service=payments-api")
	wantStatus(t, p, http.StatusOK)
	t.Run("form", func(t *testing.T) {
		wantContains(t, p, `<option value="payments-api" selected>payments-api (prod, staging)</option>`,
			`<option value="">choose an environment</option>`, `<option value="http" selected>`, `data-switch`,
			`<option value="">none</option>`, `name="conditions[4].expr"`, `<code title="the HTTP status code of the final response">status</code>`)
		for _, typ := range checkTypeChoices {
			wantContains(t, p, `<fieldset data-types="`+typ.Value+`" class="probe">`)
		}
		wantLacks(t, p, `name="conditions[5].expr"`, `name="revision"`)
		// A service that runs in one environment has it chosen.
		wantContains(t, c.get("/checks/new?service=postgres-main"), `<option value="prod" selected>`)
	})

	form := formValues(t, p, "/checks/new")
	for k, v := range map[string]string{
		"name": "api-health", "display_name": "API answers", "environment": "prod", "interval": "30s", "timeout": "5s",
		"retries": "1", "confirm.down": "3", "labels": "tier=gold",
		"http.url": "https://pay.example.com/health", "http.method": "POST", "http.headers": "Accept: application/json\r\nX-Probe:  groundcrew",
		"http.body": `{"deep": true}`, "http.redirects": "none", "http.tls_skip_verify": "true",
		"tcp.address":        "not an address", // another type's settings are ignored
		"conditions[0].expr": "status == 200", "conditions[0].name": "answers 200",
		"conditions[2].expr": `duration < duration("300ms")`, "conditions[2].name": "fast", "conditions[2].degraded": "true",
	} {
		form.Set(k, v)
	}
	with := func(kv ...string) url.Values {
		f := url.Values{}
		for k, v := range form {
			f[k] = slices.Clone(v)
		}
		for i := 0; i < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return f
	}

	t.Run("a CEL typo is shown next to its condition, input kept", func(t *testing.T) {
		p := c.post("/checks/new", with("conditions[0].expr", "stauts == 200"))
		wantStatus(t, p, http.StatusUnprocessableEntity)
		wantContains(t, p, `<a href="#f-conditions-0-expr">condition 1 expr</a>`,
			`aria-invalid="true" aria-describedby="f-conditions-0-expr-error">`,
			`1:1: undeclared reference to &#39;stauts&#39; (did you mean &#39;status&#39;?)`,
			`value="stauts == 200"`, `value="API answers"`, `value="https://pay.example.com/health"`, `value="fast"`,
			"Accept: application/json\r\nX-Probe:  groundcrew</textarea>", `<option value="none" selected>`)
		if got := errorFields(p); !slices.Equal(got, []string{"conditions-0-expr"}) {
			t.Errorf("errors next to %v, want only condition 1", got)
		}
	})
	t.Run("a condition after an empty row keeps its row", func(t *testing.T) {
		p := c.post("/checks/new", with("conditions[2].expr", "status = 200"))
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if got := errorFields(p); !slices.Equal(got, []string{"conditions-2-expr"}) {
			t.Errorf("errors next to %v, want only condition 3", got)
		}
		wantContains(t, p, `value="status = 200"`, "1:8: Syntax error")
	})
	for _, tc := range []struct {
		name      string
		kv        []string
		field     string
		message   string
		wantValue string
	}{
		{"probe setting", []string{"http.url", "ftp://pay.example.com"}, "http-url", "must be an absolute http:// or https:// URL", `value="ftp://pay.example.com"`},
		{"interval not a duration", []string{"interval", "soon"}, "interval", "&#34;soon&#34; is not a duration", `value="soon"`},
		{"interval out of bounds", []string{"interval", "48h"}, "interval", "is outside the allowed", `value="48h"`},
		{"header line", []string{"http.headers", "Accept"}, "http-headers", "line 1: want Name: value", ">\nAccept</textarea>"},
		{"environment of another service", []string{"service", "postgres-main", "environment", "staging"}, "environment",
			"service &#34;postgres-main&#34; does not run in &#34;staging&#34;", `<option value="staging" selected>`},
		{"confirm", []string{"confirm.up", "30"}, "confirm-up", "must be 1 to 20", `value="30"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := c.post("/checks/new", with(tc.kv...))
			wantStatus(t, p, http.StatusUnprocessableEntity)
			if got := errorFields(p); !slices.Equal(got, []string{tc.field}) {
				t.Errorf("errors next to %v, want %s", got, tc.field)
			}
			wantContains(t, p, tc.message, tc.wantValue)
		})
	}

	t.Run("created and listed", func(t *testing.T) {
		p := c.post("/checks/new", form)
		wantStatus(t, p, http.StatusSeeOther)
		if loc := p.Header.Get("Location"); loc != "/checks/api-health" {
			t.Fatalf("Location = %q", loc)
		}
		wantContains(t, c.get("/checks/api-health"), "Check api-health created.", "<code>POST https://pay.example.com/health</code>",
			"<strong>fast</strong>", "degraded only", `href="/checks/api-health/edit">Edit</a>`)
		if names := rowNames(c.get("/checks")); !slices.Contains(names, "api-health") {
			t.Errorf("the check list shows %v", names)
		}
		got, err := h.chk.Get(h.sys, "api-health")
		if err != nil {
			t.Fatal(err)
		}
		want := check.Spec{DisplayName: "API answers", Service: "payments-api", Environment: "prod",
			Interval: probe.Duration(30 * time.Second), Timeout: probe.Duration(5 * time.Second), Retries: 1,
			Confirm: check.Confirm{Down: 3, Up: 1}, Locations: []string{check.LocalLocation},
			Conditions: []check.Condition{{Name: "answers 200", Expr: "status == 200"},
				{Name: "fast", Expr: `duration < duration("300ms")`, Degraded: true}},
			Spec: probe.Spec{Type: probe.HTTP, HTTP: &probe.HTTPSpec{URL: "https://pay.example.com/health", Method: "POST",
				Headers: map[string]string{"Accept": "application/json", "X-Probe": "groundcrew"}, Body: `{"deep": true}`,
				Redirects: probe.RedirectsNone, TLSSkipVerify: true}}}
		if diff := cmp.Diff(want, got.Spec); diff != "" {
			t.Errorf("stored check (-want +got):\n%s", diff)
		}
		if got.Labels["tier"] != "gold" {
			t.Errorf("labels = %v", got.Labels)
		}
	})
	t.Run("duplicate", func(t *testing.T) {
		p := c.post("/checks/new", form)
		wantStatus(t, p, http.StatusConflict)
		wantContains(t, p, "already exists", `value="API answers"`)
	})
}

func TestEditCheck(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{}).seed()
	in := httpCheck("pay-health", "payments-api", "prod", "https://pay.example.com/health")
	in.Labels = map[string]string{"team": "pay"}
	in.HTTP.Headers = map[string]string{"Accept": "application/json"}
	in.HTTP.MaxRedirects = 3
	in.Conditions = []check.Condition{{Name: "answers 200", Expr: "status == 200"}}
	h.create(in)
	h.create(tcpCheck("pg-port", "postgres-main", "prod", "127.0.0.1:5432"))
	c := h.loggedIn("admin", adminPassword)

	p := c.get("/checks/pay-health/edit")
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, "<h1>Edit pay-health</h1>", `name="revision" value="1"`, `value="https://pay.example.com/health"`,
		"Accept: application/json</textarea>", `<details open>`, `<option value="pg-port">`, `name="conditions[2].expr"`)
	wantLacks(t, p, `name="name"`, `<option value="pay-health">`) // a check cannot be its own parent
	form := formValues(t, p, "/checks/pay-health/edit")

	t.Run("saving unchanged changes nothing", func(t *testing.T) {
		wantStatus(t, c.post("/checks/pay-health/edit", form), http.StatusSeeOther)
		got, _ := h.chk.Get(h.sys, "pay-health")
		if got.Revision != 1 {
			t.Errorf("revision %d after saving the form unchanged, want 1: the form lost or altered a setting", got.Revision)
		}
	})
	t.Run("saved", func(t *testing.T) {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		f.Set("display_name", "Payments answer")
		f.Set("parent", "pg-port")
		f.Set("conditions[3].expr", `headers["content-type"] == "application/json"`)
		wantStatus(t, c.post("/checks/pay-health/edit", f), http.StatusSeeOther)
		p := c.get("/checks/pay-health")
		wantContains(t, p, "Check pay-health saved.", "Payments answer", `<a href="/checks/pg-port">pg-port</a>`, `name="revision" value="2"`)
		got, _ := h.chk.Get(h.sys, "pay-health")
		if len(got.Conditions) != 2 || got.Labels["team"] != "pay" || got.HTTP.MaxRedirects != 3 {
			t.Errorf("saved check: conditions %v, labels %v, max redirects %d", got.Conditions, got.Labels, got.HTTP.MaxRedirects)
		}

		// The same form again carries revision 1, which is now stale.
		f.Set("display_name", "Payments answer v3")
		p = c.post("/checks/pay-health/edit", f)
		wantStatus(t, p, http.StatusPreconditionFailed)
		wantContains(t, p, "changed by someone else", `value="Payments answer v3"`, `name="revision" value="1"`,
			`value="headers[&#34;content-type&#34;] == &#34;application/json&#34;"`)
		if got, _ := h.chk.Get(h.sys, "pay-health"); got.DisplayName != "Payments answer" {
			t.Errorf("a stale form overwrote the check: %q", got.DisplayName)
		}
	})
	t.Run("not found", func(t *testing.T) {
		wantStatus(t, c.get("/checks/nope/edit"), http.StatusNotFound)
		wantStatus(t, c.post("/checks/nope/edit", form), http.StatusNotFound)
	})
}

// TestCheckForm_Access: viewers may not create or edit checks; members may,
// for their own teams' services only.
func TestCheckForm_Access(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{}).seed()
	h.addUser("vera", identity.RoleViewer)
	h.addUser("bob", identity.RoleMember)
	h.must(h.ids.UpdateTeam(h.sys, "payments", identity.TeamInput{DisplayName: "Payments", Members: []string{"bob"}}, 0))
	h.create(tcpCheck("pg-port", "postgres-main", "prod", "127.0.0.1:5432"))
	h.create(httpCheck("pay-health", "payments-api", "prod", "https://pay.example.com/health"))
	valid := url.Values{"name": {"new-one"}, "service": {"payments-api"}, "environment": {"prod"}, "type": {"tcp"},
		"interval": {"1m"}, "tcp.address": {"pay.example.com:443"}, "revision": {"1"}}

	t.Run("viewer", func(t *testing.T) {
		vera := h.loggedIn("vera", adminPassword)
		wantLacks(t, vera.get("/checks"), "/checks/new")
		wantLacks(t, vera.get("/services/payments-api"), "/checks/new")
		wantLacks(t, vera.get("/checks/pay-health"), "/checks/pay-health/edit")
		for _, p := range []page{vera.get("/checks/new"), vera.get("/checks/pay-health/edit"),
			vera.post("/checks/new", valid), vera.post("/checks/pay-health/edit", valid)} {
			wantStatus(t, p, http.StatusForbidden)
			wantContains(t, p, "may not")
		}
	})
	t.Run("member", func(t *testing.T) {
		bob := h.loggedIn("bob", adminPassword)
		p := bob.get("/checks/new")
		wantStatus(t, p, http.StatusOK)
		wantContains(t, p, `<option value="payments-api">`)
		wantLacks(t, p, `<option value="postgres-main">`)
		wantContains(t, bob.get("/checks/pay-health"), `href="/checks/pay-health/edit"`)
		wantLacks(t, bob.get("/checks/pg-port"), "/edit")
		wantStatus(t, bob.get("/checks/pg-port/edit"), http.StatusForbidden)

		f := url.Values{}
		for k, v := range valid {
			f[k] = v
		}
		f.Set("service", "postgres-main")
		p = bob.post("/checks/new", f)
		wantStatus(t, p, http.StatusForbidden)
		wantContains(t, p, "Not saved.", `value="pay.example.com:443"`)
		wantStatus(t, bob.post("/checks/new", valid), http.StatusSeeOther)
	})
}

// TestCreateCheck_Heartbeat: the ping URL of a new heartbeat check is shown
// once, on the page that answers the form.
func TestCreateCheck_Heartbeat(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{}).seed()
	c := h.loggedIn("admin", adminPassword)
	f := formValues(t, c.get("/checks/new?service=postgres-main"), "/checks/new")
	f.Set("name", "nightly-backup")
	f.Set("type", "heartbeat")
	f.Set("interval", "24h")
	f.Set("heartbeat.grace", "2h")
	f.Set("timeout", "5s")                        // probes only: ignored
	f.Set("http.url", "https://ignored.example/") // another type's settings
	f.Set("conditions[0].expr", "status == 200")  // probes only: ignored
	p := c.post("/checks/new", f)
	wantStatus(t, p, http.StatusCreated)
	m := regexp.MustCompile(`value="(http://127\.0\.0\.1:\d+/api/v1/ping/(gchb_[A-Za-z0-9_-]+))"`).FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no ping URL shown:\n%s", p.Body)
	}
	wantContains(t, p, "Check nightly-backup created.", "Copy it now: it is not shown again.")
	wantLacks(t, p, "the old URL no longer works")
	if n := strings.Count(p.Body, m[2]); n != 1 {
		t.Errorf("the secret appears %d times on the page, want once", n)
	}
	if _, err := h.chk.Ping(context.Background(), m[2], false, ""); err != nil {
		t.Errorf("ping with the URL shown: %v", err)
	}
	p = c.get("/checks/nightly-backup")
	wantLacks(t, p, m[2])
	wantContains(t, p, `href="/checks/nightly-backup/edit"`)
	got, err := h.chk.Get(h.sys, "nightly-backup")
	if err != nil {
		t.Fatal(err)
	}
	if got.Heartbeat == nil || got.Heartbeat.Grace.Std() != 2*time.Hour || got.Timeout != 0 || got.HTTP != nil || got.Conditions != nil {
		t.Errorf("stored heartbeat check: %+v", got.Spec)
	}

	edit := c.get("/checks/nightly-backup/edit")
	wantContains(t, edit, `<option value="heartbeat" selected>`, `value="2h"`)
	wantStatus(t, c.post("/checks/nightly-backup/edit", formValues(t, edit, "/checks/nightly-backup/edit")), http.StatusSeeOther)
	if got, _ := h.chk.Get(h.sys, "nightly-backup"); got.Revision != 1 {
		t.Errorf("revision %d after saving the form unchanged, want 1", got.Revision)
	}
}
