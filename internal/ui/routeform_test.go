package ui

import (
	"database/sql"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"groundcrew.dev/groundcrew/internal/alert"
	"groundcrew.dev/groundcrew/internal/alert/route"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
)

// withForm returns a copy of form with the pairs kv set.
func withForm(form url.Values, kv ...string) url.Values {
	f := url.Values{}
	for k, v := range form {
		f[k] = slices.Clone(v)
	}
	for i := 0; i < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	return f
}

func (h *alertHarness) route(name string) alert.Route {
	h.t.Helper()
	rt, err := h.alerts.GetRoute(h.sys, name)
	if err != nil {
		h.t.Fatal(err)
	}
	return rt
}

func TestRouteForm(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		h := newAlertHarness(t, d)
		admin := h.loggedIn("admin", adminPassword)

		t.Run("the routing page leads to the forms", func(t *testing.T) {
			p := admin.get("/alerts/routes")
			wantStatus(t, p, http.StatusOK)
			wantContains(t, p, `<a class="button primary" href="/alerts/routes/new">New route</a>`,
				`<a class="button small" href="/alerts/routes/all/edit">Edit<span class="visually-hidden"> route all</span></a>`,
				`<form method="post" action="/alerts/routes/all/delete" data-confirm="Delete route all?`,
				`<input type="hidden" name="revision" value="1">`, `href="/alerts/inhibit-rules/new">New inhibition rule</a>`)
		})

		p := admin.get("/alerts/routes/new")
		wantStatus(t, p, http.StatusOK)
		wantContains(t, p, `<input type="checkbox" name="receivers" value="oncall">`, `<option value="payments">payments</option>`,
			`<option value="postgres-main">postgres-main</option>`, `name="routes"`, `name="time_intervals"`)
		wantLacks(t, p, `name="revision"`)
		form := withForm(formValues(t, p, "/alerts/routes/new"),
			"name", "payments", "position", "5", "matchers", "service=~\"payments-.*\"\r\n\r\nseverity!=\"info\"",
			"condition", `"tier" in labels`, "group_by", "alertname, service", "group_wait", "10s", "repeat_interval", "2h",
			"receivers", "oncall", "team", "payments", "service", "payments-api", "continue", "true", "active_intervals", "office",
			"routes", "- matchers: ['severity=\"critical\"']\r\n  group_wait: 5s\r\n",
			"time_intervals", "- name: office\r\n  periods:\r\n    - weekdays: ['monday:friday']\r\n", "labels", "owner=payments")

		t.Run("a bad matcher is shown next to its line, input kept, nothing stored", func(t *testing.T) {
			p := admin.post("/alerts/routes/new", withForm(form, "matchers", "service=~\"payments-.*\"\r\n\r\nseverity=~\"(\""))
			wantStatus(t, p, http.StatusUnprocessableEntity)
			if got := errorFields(p); !slices.Equal(got, []string{"matchers"}) {
				t.Errorf("errors next to %v, want matchers", got)
			}
			wantContains(t, p, `<p class="field-error" id="f-matchers-error"><span aria-hidden="true">✕</span> line 3: column 11: invalid regular expression`,
				`value="10s"`, `value="oncall" checked`, `<option value="payments" selected>`, "severity=~&#34;(&#34;</textarea>")
			if _, err := h.alerts.GetRoute(h.sys, "payments"); !errs.Is(err, errs.NotFound) {
				t.Errorf("a rejected form stored the route: %v", err)
			}
		})
		for _, tc := range []struct{ name, field, value, field2, message string }{
			{"duration", "group_wait", "soon", "group_wait", "is not a duration"},
			{"position", "position", "first", "position", "is not a whole number"},
			{"nested route YAML", "routes", "- matchers: [", "routes", "not valid YAML"},
			{"nested route field", "routes", "- matchers: ['a=\"b\"']\n  reciever: x", "routes", "unknown field"},
			{"nested route matcher", "routes", "- matchers: ['a=~\"(\"']", "routes", "routes[0].matchers[0]: route payments:"},
			{"unknown interval", "active_intervals", "weekends", "active_intervals", "weekends"},
			{"name", "name", "Payments Route", "name", "name"},
		} {
			t.Run("bad "+tc.name, func(t *testing.T) {
				p := admin.post("/alerts/routes/new", withForm(form, tc.field, tc.value))
				wantStatus(t, p, http.StatusUnprocessableEntity)
				if got := errorFields(p); !slices.Equal(got, []string{fieldID(tc.field2)}) {
					t.Errorf("errors next to %v, want %s", got, tc.field2)
				}
				wantContains(t, p, tc.message)
				if list, _ := h.alerts.ListRoutes(h.sys); len(list) != 1 {
					t.Errorf("%d routes after a rejected form, want 1", len(list))
				}
			})
		}

		t.Run("create", func(t *testing.T) {
			p := admin.post("/alerts/routes/new", form)
			wantStatus(t, p, http.StatusSeeOther)
			if loc := p.Header.Get("Location"); loc != "/alerts/routes#route-payments" {
				t.Errorf("created, sent to %s", loc)
			}
			rt := h.route("payments")
			want := alert.RouteDocSpec{Position: 5, RouteSpec: alert.RouteSpec{
				Matchers: []string{`service=~"payments-.*"`, `severity!="info"`}, Condition: `"tier" in labels`, Continue: true,
				GroupBy: []string{"alertname", "service"}, GroupWait: "10s", RepeatInterval: "2h", ActiveIntervals: []string{"office"},
				Receivers: []string{"oncall"}, Team: "payments", Service: "payments-api",
				Routes: []alert.RouteSpec{{Matchers: []string{`severity="critical"`}, GroupWait: "5s"}}},
				TimeIntervals: []route.Interval{{Name: "office", Periods: []route.Period{{Weekdays: []string{"monday:friday"}}}}}}
			if diff := cmp.Diff(want, rt.Spec); diff != "" {
				t.Errorf("stored spec (-want +got):\n%s", diff)
			}
			if rt.Labels["owner"] != "payments" || rt.Origin != "" {
				t.Errorf("labels %v, origin %q", rt.Labels, rt.Origin)
			}
			p = admin.get("/alerts/routes")
			wantContains(t, p, "Route payments created.", `<li id="route-payments">`, `<code class="matcher">severity!=&#34;info&#34;</code>`)
			if i, j := strings.Index(p.Body, `id="route-payments"`), strings.Index(p.Body, `id="route-all"`); i < 0 || j < i {
				t.Error("payments (position 5) is not listed before all (position 10)")
			}
			p = admin.get("/alerts/routes?" + url.Values{"labels": {"alertname=X, service=payments-api, severity=critical, tier=1"}}.Encode())
			wantStatus(t, p, http.StatusOK)
			// Its nested route takes it; with continue, route all does too.
			wantContains(t, p, `Route <strong>routes[0].routes[0]</strong>`, "payments: matched on", `Route <strong>all</strong>`)
			p = admin.post("/alerts/routes/new", form)
			wantStatus(t, p, http.StatusConflict)
			wantContains(t, p, "already exists")
		})

		t.Run("the edit form shows the stored route and saving it changes nothing", func(t *testing.T) {
			p := admin.get("/alerts/routes/payments/edit")
			wantStatus(t, p, http.StatusOK)
			wantContains(t, p, `<input type="hidden" name="revision" value="1">`, `value="oncall" checked`,
				`<input type="checkbox" id="f-continue" name="continue" value="true" checked>`, "group_wait: 5s", "- name: office")
			wantLacks(t, p, `name="name"`)
			wantStatus(t, admin.post("/alerts/routes/payments/edit", formValues(t, p, "/alerts/routes/payments/edit")), http.StatusSeeOther)
			if rt := h.route("payments"); rt.Revision != 1 {
				t.Errorf("saving the unchanged form made revision %d", rt.Revision)
			}
		})

		t.Run("edit with a bad matcher", func(t *testing.T) {
			edit := formValues(t, admin.get("/alerts/routes/payments/edit"), "/alerts/routes/payments/edit")
			p := admin.post("/alerts/routes/payments/edit", withForm(edit, "matchers", `service=~"payments-.*"`+"\r\n"+`severity=="x"`))
			wantStatus(t, p, http.StatusUnprocessableEntity)
			if got := errorFields(p); !slices.Equal(got, []string{"matchers"}) {
				t.Errorf("errors next to %v, want matchers", got)
			}
			wantContains(t, p, "line 2:", `severity==&#34;x&#34;</textarea>`, `name="revision" value="1"`)
			if rt := h.route("payments"); rt.Revision != 1 || len(rt.Spec.Matchers) != 2 {
				t.Errorf("a rejected edit changed the route: %+v", rt)
			}
		})

		t.Run("a stale form is refused, input kept", func(t *testing.T) {
			edit := formValues(t, admin.get("/alerts/routes/payments/edit"), "/alerts/routes/payments/edit")
			rt := h.route("payments")
			rt.Spec.GroupWait = "20s"
			h.must(h.alerts.PutRoute(h.sys, alert.RouteInput{Name: rt.Name, Labels: rt.Labels, Spec: rt.Spec}, 0, false))
			p := admin.post("/alerts/routes/payments/edit", withForm(edit, "group_wait", "15s"))
			wantStatus(t, p, http.StatusPreconditionFailed)
			wantContains(t, p, "was changed by someone else", "reload and retry", `value="15s"`,
				`<a href="/alerts/routes/payments/edit">Load the current version</a>`)
			if rt := h.route("payments"); rt.Spec.GroupWait != "20s" || rt.Revision != 2 {
				t.Errorf("the stale form changed the route: %+v", rt.Spec)
			}
			p = admin.post("/alerts/routes/payments/edit", withForm(edit, "group_wait", "15s", "revision", "2"))
			wantStatus(t, p, http.StatusSeeOther)
			if rt := h.route("payments"); rt.Spec.GroupWait != "15s" || rt.Revision != 3 {
				t.Errorf("after saving: %+v revision %d", rt.Spec, rt.Revision)
			}
		})

		t.Run("a document applied from the config directory", func(t *testing.T) {
			err := d.InTx(h.sys, func(tx *sql.Tx) error {
				_, _, err := h.alerts.PutRouteTx(h.sys, tx, alert.RouteInput{Name: "from-file", Spec: alert.RouteDocSpec{Position: 500,
					RouteSpec: alert.RouteSpec{Receivers: []string{"oncall"}}}}, "apply:config-dir", 0, false)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			p := admin.get("/alerts/routes/from-file/edit")
			wantStatus(t, p, http.StatusOK)
			wantContains(t, p, "set <strong>config-dir</strong>", "at every start of the server")
			wantStatus(t, admin.post("/alerts/routes/from-file/edit", withForm(formValues(t, p, "/alerts/routes/from-file/edit"), "group_wait", "1m")), http.StatusSeeOther)
			if rt := h.route("from-file"); rt.Origin != "apply:config-dir" || rt.Spec.GroupWait != "1m" {
				t.Errorf("after a UI edit: origin %q, spec %+v", rt.Origin, rt.Spec)
			}
		})

		t.Run("viewers and members see no buttons and may not post", func(t *testing.T) {
			for _, user := range []string{"vera", "mia"} {
				c := h.loggedIn(user, adminPassword)
				p := c.get("/alerts/routes")
				wantStatus(t, p, http.StatusOK)
				wantContains(t, p, `<h3>payments</h3>`)
				wantLacks(t, p, "New route", "/edit", "/delete", "New inhibition rule")
				wantStatus(t, c.get("/alerts/routes/new"), http.StatusForbidden)
				wantStatus(t, c.get("/alerts/routes/payments/edit"), http.StatusForbidden)
				wantStatus(t, c.post("/alerts/routes/new", withForm(form, "name", "sneaky")), http.StatusForbidden)
				wantStatus(t, c.post("/alerts/routes/payments/edit", withForm(form, "revision", "3", "group_wait", "1s")), http.StatusForbidden)
				wantStatus(t, c.post("/alerts/routes/payments/delete", url.Values{"revision": {"3"}}), http.StatusForbidden)
				wantStatus(t, c.post("/alerts/inhibit-rules/new", url.Values{"name": {"x"}}), http.StatusForbidden)
			}
			if rt := h.route("payments"); rt.Revision != 3 {
				t.Errorf("refused posts changed the route to revision %d", rt.Revision)
			}
			if _, err := h.alerts.GetRoute(h.sys, "sneaky"); !errs.Is(err, errs.NotFound) {
				t.Errorf("a refused post created a route: %v", err)
			}
		})

		t.Run("a cross-site form is refused", func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, admin.base+"/alerts/routes/payments/delete", strings.NewReader("revision=3"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "cross-site")
			wantStatus(t, admin.do(req), http.StatusForbidden)
			h.route("payments")
		})

		t.Run("delete", func(t *testing.T) {
			p := admin.post("/alerts/routes/payments/delete", url.Values{"revision": {"2"}})
			wantStatus(t, p, http.StatusPreconditionFailed)
			wantContains(t, p, "was changed by someone else")
			p = admin.post("/alerts/routes/payments/delete", url.Values{"revision": {"3"}})
			wantStatus(t, p, http.StatusSeeOther)
			if _, err := h.alerts.GetRoute(h.sys, "payments"); !errs.Is(err, errs.NotFound) {
				t.Errorf("after delete: %v", err)
			}
			wantContains(t, admin.get("/alerts/routes"), "Route payments deleted.")
			wantStatus(t, admin.post("/alerts/routes/payments/delete", nil), http.StatusNotFound)
		})

		t.Run("editing a route someone deleted does not bring it back", func(t *testing.T) {
			p := admin.post("/alerts/routes/payments/edit", withForm(form, "revision", "3"))
			wantStatus(t, p, http.StatusPreconditionFailed)
			wantContains(t, p, "was deleted by someone else")
			if _, err := h.alerts.GetRoute(h.sys, "payments"); !errs.Is(err, errs.NotFound) {
				t.Errorf("the edit brought the route back: %v", err)
			}
		})
	})
}

func TestInhibitRuleForm(t *testing.T) {
	t.Parallel()
	h := newAlertHarness(t, dbtest.Open(t, dbtest.SQLiteDSN(t)))
	admin := h.loggedIn("admin", adminPassword)
	rules := func() []alert.InhibitRule {
		t.Helper()
		list, err := h.alerts.ListInhibitRules(h.sys)
		if err != nil {
			t.Fatal(err)
		}
		return list
	}
	p := admin.get("/alerts/inhibit-rules/new")
	wantStatus(t, p, http.StatusOK)
	form := withForm(formValues(t, p, "/alerts/inhibit-rules/new"), "name", "db-down",
		"source_matchers", `alertname="CheckDown"`+"\r\n"+`check="postgres-main-port"`,
		"target_matchers", `service=~"payments-.*"`, "equal", "environment")

	p = admin.post("/alerts/inhibit-rules/new", withForm(form, "target_matchers", "\r\nservice=~\"(\""))
	wantStatus(t, p, http.StatusUnprocessableEntity)
	if got := errorFields(p); !slices.Equal(got, []string{"target_matchers"}) {
		t.Errorf("errors next to %v, want target_matchers", got)
	}
	wantContains(t, p, "line 2:", `value="environment"`)
	p = admin.post("/alerts/inhibit-rules/new", withForm(form, "equal", "environment, environment"))
	wantStatus(t, p, http.StatusUnprocessableEntity)
	if got := errorFields(p); !slices.Equal(got, []string{"equal"}) {
		t.Errorf("errors next to %v, want equal", got)
	}
	if n := len(rules()); n != 0 {
		t.Fatalf("%d rules stored from rejected forms", n)
	}

	wantStatus(t, admin.post("/alerts/inhibit-rules/new", form), http.StatusSeeOther)
	list := rules()
	if len(list) != 1 || len(list[0].Spec.SourceMatchers) != 2 || list[0].Spec.Equal[0] != "environment" {
		t.Fatalf("rules after create: %+v", list)
	}
	p = admin.get("/alerts/routes")
	wantContains(t, p, "Inhibition rule db-down created.", `<td class="name">db-down</td>`,
		`action="/alerts/inhibit-rules/db-down/delete" data-confirm="Delete inhibition rule db-down?`)

	edit := formValues(t, admin.get("/alerts/inhibit-rules/db-down/edit"), "/alerts/inhibit-rules/db-down/edit")
	if edit.Get("revision") != "1" || edit.Get("source_matchers") != `alertname="CheckDown"`+"\r\n"+`check="postgres-main-port"` {
		t.Errorf("edit form: %v", edit)
	}
	wantStatus(t, admin.post("/alerts/inhibit-rules/db-down/edit", withForm(edit, "equal", "environment, region")), http.StatusSeeOther)
	p = admin.post("/alerts/inhibit-rules/db-down/edit", withForm(edit, "equal", ""))
	wantStatus(t, p, http.StatusPreconditionFailed)
	wantContains(t, p, "was changed by someone else")
	if list := rules(); list[0].Revision != 2 || !slices.Equal(list[0].Spec.Equal, []string{"environment", "region"}) {
		t.Errorf("after edits: %+v", list[0])
	}

	h.addUser("olga", identity.RoleOperator)
	olga := h.loggedIn("olga", adminPassword)
	wantStatus(t, olga.post("/alerts/inhibit-rules/db-down/delete", url.Values{"revision": {"2"}}), http.StatusSeeOther)
	if n := len(rules()); n != 0 {
		t.Errorf("%d rules after delete", n)
	}
}

func TestLabelListLines(t *testing.T) {
	for in, want := range map[string]string{
		"a=1, b=2":              "a=1\n b=2",
		"a=1\nb=2":              "a=1\nb=2",
		`a="x,y", b=2`:          "a=\"x,y\"\n b=2",
		`a="say \"hi\", b", c=`: "a=\"say \\\"hi\\\", b\"\n c=",
	} {
		if got := labelListLines(in); got != want {
			t.Errorf("labelListLines(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRouteYAML_RoundTrip(t *testing.T) {
	routes := []alert.RouteSpec{{Matchers: []string{`severity="critical"`}, GroupWait: "10s", Team: "payments", Continue: true,
		Routes: []alert.RouteSpec{{Receivers: []string{"pager"}}}}}
	text, err := toYAML(routes)
	if err != nil {
		t.Fatal(err)
	}
	var back []alert.RouteSpec
	if err := fromYAML("routes", text, &back); err != nil {
		t.Fatalf("%v in\n%s", err, text)
	}
	if diff := cmp.Diff(routes, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s\n%s", diff, text)
	}
	if err := fromYAML("routes", "- group_wiat: 1s", &back); errs.FieldOf(err) != "routes" || !strings.Contains(err.Error(), "group_wiat") {
		t.Errorf("unknown field: %v", err)
	}
}
