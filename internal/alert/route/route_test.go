package route_test

import (
	"strings"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/alert/route"
	"groundcrew.dev/groundcrew/internal/errs"
)

var monday10 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC) // a Monday

func mustTree(t testing.TB, root *route.Route, ivs ...route.Interval) *route.Tree {
	t.Helper()
	tr, err := route.New(root, ivs)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func labelsOf(s string) map[string]string {
	out := map[string]string{}
	for _, kv := range strings.Fields(s) {
		k, v, _ := strings.Cut(kv, "=")
		out[k] = v
	}
	return out
}

// names returns the labels of the matched routes, "+muted" when muted.
func names(ms []route.Match) string {
	var s []string
	for _, m := range ms {
		n := m.Label()
		if m.Muted {
			n += "+muted"
		}
		s = append(s, n)
	}
	return strings.Join(s, ",")
}

func testTree(t testing.TB) *route.Tree {
	businessHours := route.Interval{Name: "business-hours", Periods: []route.Period{{
		Weekdays: []string{"monday:friday"}, Times: []route.TimeRange{{Start: "09:00", End: "17:00"}}, Location: "Europe/Berlin",
	}}}
	nights := route.Interval{Name: "nights", Periods: []route.Period{{Times: []route.TimeRange{{Start: "00:00", End: "06:00"}}}}}
	return mustTree(t, &route.Route{
		Receivers: []string{"default"},
		GroupBy:   []string{"alertname"},
		Team:      "ops",
		Routes: []*route.Route{
			{Name: "db", Matchers: []string{`team=~"db|database"`}, Continue: true, GroupWait: time.Minute, Team: "db",
				Routes: []*route.Route{
					{Name: "db-critical", Matchers: []string{`severity="critical"`}, Receivers: []string{"db-pager"}, EscalationPolicy: "db-oncall"},
					{Name: "db-tickets", Matchers: []string{`severity=~"warning|info"`}, Receivers: []string{"db-tickets"}, ActiveIntervals: []string{"business-hours"}},
				}},
			{Name: "audit", Matchers: []string{`team=~".+"`}, Continue: true, Receivers: []string{"audit-log"}, GroupBy: []string{"..."}},
			{Name: "web", Matchers: []string{`team="web"`}, Receivers: []string{"web-slack"}, RepeatInterval: time.Hour, MuteIntervals: []string{"nights"}},
			{Name: "prod-cel", Condition: `"env" in labels && labels["env"] == "prod" && severity == "critical"`, Receivers: []string{"prod-pager"}},
			{Name: "unreached", Matchers: []string{`team="web"`}, Receivers: []string{"never"}},
		},
	}, businessHours, nights)
}

func TestTree_Match(t *testing.T) {
	tr := testTree(t)
	for _, tc := range []struct {
		name   string
		labels string
		at     time.Time
		want   string
	}{
		{"no child matches: root", "alertname=X", monday10, "root"},
		{"continue on db lets audit match too", "team=db severity=critical", monday10, "db-critical,audit"},
		{"db matches, no grandchild does: db itself", "team=database severity=page", monday10, "db,audit"},
		{"regex is anchored: dbx is not db", "team=dbx severity=critical", monday10, "audit"},
		{"regex is anchored: partial team name", "team=d severity=critical", monday10, "audit"},
		{"web stops the search: unreached is never tried", "team=web", monday10, "audit,web"},
		{"active interval: inside business hours (11:00 Berlin)", "team=db severity=warning", monday10, "db-tickets,audit"},
		{"active interval: outside business hours (Saturday) still matches, muted", "team=db severity=info", monday10.AddDate(0, 0, 5), "db-tickets+muted,audit"},
		{"mute interval at night", "team=web", time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC), "audit,web+muted"},
		{"mute interval ends at 06:00 (half-open)", "team=web", time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC), "audit,web"},
		{"CEL condition", "env=prod severity=critical", monday10, "prod-cel"},
		{"CEL condition false", "env=dev severity=critical", monday10, "root"},
		{"missing label is empty: team=~.+ fails", "severity=critical", monday10, "root"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tr.Match(labelsOf(tc.labels), tc.at)
			if names(got) != tc.want {
				t.Errorf("Match(%s) = %s; want %s\n%s", tc.labels, names(got), tc.want, explainAll(got))
			}
		})
	}
}

func explainAll(ms []route.Match) string {
	var b strings.Builder
	for _, m := range ms {
		b.WriteString("--\n" + m.Explain())
	}
	return b.String()
}

func TestTree_Inheritance(t *testing.T) {
	tr := testTree(t)
	byName := func(labels string) map[string]route.Match {
		out := map[string]route.Match{}
		for _, m := range tr.Match(labelsOf(labels), monday10) {
			out[m.Label()] = m
		}
		return out
	}
	ms := byName("team=db severity=critical alertname=Down")
	crit := ms["db-critical"]
	if crit.GroupWait != time.Minute || crit.GroupInterval != route.DefaultGroupInterval || crit.RepeatInterval != route.DefaultRepeatInterval {
		t.Errorf("db-critical timing = %v/%v/%v; want 1m (from db), 5m, 4h (defaults)", crit.GroupWait, crit.GroupInterval, crit.RepeatInterval)
	}
	if crit.Team != "db" || crit.EscalationPolicy != "db-oncall" || strings.Join(crit.Receivers, ",") != "db-pager" || strings.Join(crit.GroupBy, ",") != "alertname" {
		t.Errorf("db-critical = team %q policy %q receivers %v group_by %v", crit.Team, crit.EscalationPolicy, crit.Receivers, crit.GroupBy)
	}
	audit := ms["audit"]
	if !audit.GroupByAll || audit.Team != "ops" || audit.GroupWait != route.DefaultGroupWait {
		t.Errorf("audit = all %v team %q wait %v", audit.GroupByAll, audit.Team, audit.GroupWait)
	}
	db := byName("team=db severity=page")["db"]
	if strings.Join(db.Receivers, ",") != "default" {
		t.Errorf("db inherits receivers %v; want default", db.Receivers)
	}
	web := byName("team=web")["web"]
	if web.RepeatInterval != time.Hour || web.GroupWait != route.DefaultGroupWait {
		t.Errorf("web timing %v %v", web.RepeatInterval, web.GroupWait)
	}
}

func TestTree_Explain(t *testing.T) {
	tr := testTree(t)
	ms := tr.Match(labelsOf("team=db severity=info"), monday10.AddDate(0, 0, 5))
	got := ms[0].Explain()
	for _, want := range []string{
		"root: matches every alert",
		`db: matched on {team=~"db|database"}`,
		`db-critical: skipped: matcher severity="critical" does not match (severity is "info")`,
		`db-tickets: matched on {severity=~"warning|info"}`,
		"db-tickets: ends here → team db; receivers db-tickets, but not active: outside business-hours",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("explanation lacks %q:\n%s", want, got)
		}
	}
	if ms[0].MutedBy == "" || !strings.Contains(ms[0].MutedBy, "outside business-hours") {
		t.Errorf("MutedBy = %q", ms[0].MutedBy)
	}
	web, trail := tr.Trace(labelsOf("team=web"), monday10)
	if len(web) != 2 {
		t.Fatalf("Trace matches %d routes", len(web))
	}
	got = route.ExplainSteps(trail)
	for _, want := range []string{"unreached: not tried: web matched before it without continue", "prod-cel: not tried"} {
		if !strings.Contains(got, want) {
			t.Errorf("explanation lacks %q:\n%s", want, got)
		}
	}
	got = tr.Match(labelsOf("alertname=X"), monday10)[0].Explain()
	for _, want := range []string{"db: skipped: matcher team=~\"db|database\" does not match (the alert has no label team)", "prod-cel: skipped: condition", "root: ends here → team ops; receivers default"} {
		if !strings.Contains(got, want) {
			t.Errorf("explanation lacks %q:\n%s", want, got)
		}
	}
}

func TestGroupKey(t *testing.T) {
	tr := testTree(t)
	l := labelsOf("team=db severity=critical alertname=Down host=a")
	ms := tr.Match(l, monday10)
	if got := route.GroupKey(ms[0].Node, l); got != `{}/db/db-critical:{alertname="Down"}` {
		t.Errorf("GroupKey = %s", got)
	}
	if got := route.GroupKey(ms[1].Node, l); got != `{}/audit:{alertname="Down", host="a", severity="critical", team="db"}` {
		t.Errorf("GroupKey(group_by ...) = %s", got)
	}
	// A label in group_by that the alert lacks is left out.
	if got := route.GroupKey(tr.Root(), labelsOf("x=y")); got != `{}:{}` {
		t.Errorf("GroupKey(root) = %s", got)
	}
	unnamed := mustTree(t, &route.Route{Routes: []*route.Route{{Matchers: []string{`a="b"`}}, {Matchers: []string{`a="b"`}}}})
	k0 := route.GroupKey(unnamed.Root().Children()[0], nil)
	k1 := route.GroupKey(unnamed.Root().Children()[1], nil)
	if k0 == k1 || k0 != `{}/{a="b"}/0:{}` {
		t.Errorf("unnamed siblings keys %s, %s", k0, k1)
	}
}

func TestValidate_NamesThePath(t *testing.T) {
	bad := func(mod func(r *route.Route)) *route.Route {
		r := &route.Route{Routes: []*route.Route{{}, {}, {Routes: []*route.Route{{Matchers: []string{`a="b"`}}}}}}
		mod(r)
		return r
	}
	for _, tc := range []struct {
		name  string
		root  *route.Route
		field string
		msg   string
	}{
		{"bad matcher", bad(func(r *route.Route) {
			r.Routes[2].Routes[0].Matchers = append(r.Routes[2].Routes[0].Matchers, `x=~"("`)
		}), "routes[2].routes[0].matchers[1]", "invalid regular expression"},
		{"bad condition", bad(func(r *route.Route) { r.Routes[1].Condition = `sevrity == "x"` }), "routes[1].condition", "undeclared reference"},
		{"bad group_by", bad(func(r *route.Route) { r.Routes[0].GroupBy = []string{"a", "..."} }), "routes[0].group_by[1]", "only entry"},
		{"bad label in group_by", bad(func(r *route.Route) { r.Routes[0].GroupBy = []string{"a-b"} }), "routes[0].group_by[0]", "label name"},
		{"negative duration", bad(func(r *route.Route) { r.Routes[2].Routes[0].GroupInterval = -time.Second }), "routes[2].routes[0].group_interval", "negative"},
		{"unknown interval", bad(func(r *route.Route) { r.Routes[1].MuteIntervals = []string{"nope"} }), "routes[1].mute_intervals[0]", "unknown interval"},
		{"nil child", bad(func(r *route.Route) { r.Routes[1] = nil }), "routes[1]", "is empty"},
		{"root matchers", bad(func(r *route.Route) { r.Matchers = []string{`a="b"`} }), "matchers", "root"},
		{"root continue", bad(func(r *route.Route) { r.Continue = true }), "continue", "root"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := route.New(tc.root, nil)
			if !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != tc.field || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("New = %v (field %q); want invalid %s containing %q", err, errs.FieldOf(err), tc.field, tc.msg)
			}
		})
	}
	// Route.Validate checks the same, except interval names.
	r := bad(func(r *route.Route) { r.Routes[1].MuteIntervals = []string{"defined-elsewhere"} })
	if err := r.Validate(); err != nil {
		t.Errorf("Validate with an interval name: %v", err)
	}
	r = bad(func(r *route.Route) { r.Routes[0].Receivers = []string{" "} })
	if err := r.Validate(); errs.FieldOf(err) != "routes[0].receivers[0]" {
		t.Errorf("Validate = %v", err)
	}
	deep := &route.Route{}
	for i, cur := 0, deep; i < route.MaxDepth+2; i++ {
		cur.Routes = []*route.Route{{}}
		cur = cur.Routes[0]
	}
	if err := deep.Validate(); !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), "deeper") {
		t.Errorf("deep tree: %v", err)
	}
}

func TestTree_ConditionErrorIsNoMatch(t *testing.T) {
	tr := mustTree(t, &route.Route{Receivers: []string{"default"}, Routes: []*route.Route{
		{Name: "by-team", Condition: `labels["team"] == "db"`, Receivers: []string{"db"}},
	}})
	ms, trail := tr.Trace(labelsOf("severity=critical"), monday10)
	if names(ms) != "root" {
		t.Fatalf("Match = %s", names(ms))
	}
	if got := route.ExplainSteps(trail); !strings.Contains(got, `by-team: skipped: condition labels["team"] == "db" failed: no such key`) {
		t.Errorf("explanation:\n%s", got)
	}
	if names(tr.Match(labelsOf("team=db"), monday10)) != "by-team" {
		t.Error("condition should match team=db")
	}
}
