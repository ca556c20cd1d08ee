package route_test

import (
	"fmt"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/alert/matcher"
	"groundcrew.dev/groundcrew/internal/alert/route"
)

// benchTree has 200 routes: 20 team routes with 9 children each, a mix of
// equality and regex matchers, continue, and a muted leaf.
func benchTree(b *testing.B) *route.Tree {
	root := &route.Route{Receivers: []string{"default"}, GroupBy: []string{"alertname", "cluster"}}
	for i := 0; i < 20; i++ {
		team := &route.Route{Name: fmt.Sprintf("team-%d", i), Matchers: []string{fmt.Sprintf(`team="t%d"`, i)}, Receivers: []string{fmt.Sprintf("t%d", i)}}
		for j := 0; j < 9; j++ {
			c := &route.Route{Matchers: []string{fmt.Sprintf(`alertname=~"Alert%d.*"`, j), `severity=~"critical|warning"`}, Receivers: []string{fmt.Sprintf("t%d-%d", i, j)}}
			if j%3 == 0 {
				c.Continue = true
			}
			if j == 8 {
				c.MuteIntervals = []string{"nights"}
			}
			team.Routes = append(team.Routes, c)
		}
		root.Routes = append(root.Routes, team)
	}
	tr, err := route.New(root, []route.Interval{{Name: "nights", Periods: []route.Period{{Times: []route.TimeRange{{Start: "00:00", End: "06:00"}}, Location: "Europe/Berlin"}}}})
	if err != nil {
		b.Fatal(err)
	}
	return tr
}

// BenchmarkMatch routes an alert through a 200-route tree to a leaf of the
// last team, past 19 non-matching teams and 8 children.
func BenchmarkMatch(b *testing.B) {
	tr := benchTree(b)
	labels := map[string]string{"team": "t19", "alertname": "Alert8Down", "severity": "critical", "cluster": "eu-1", "instance": "db1:9100"}
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	if ms := tr.Match(labels, now); len(ms) != 1 || ms[0].Receivers[0] != "t19-8" {
		b.Fatalf("unexpected match %v", names(ms))
	}
	b.ReportAllocs()
	for b.Loop() {
		tr.Match(labels, now)
	}
}

func benchInhibitor(b *testing.B, selective bool) (*route.Inhibitor, []map[string]string) {
	rules := make([]route.InhibitRule, 1000)
	for i := range rules {
		tgt := fmt.Sprintf(`severity="warning", service="svc%d"`, i)
		if !selective {
			tgt = `severity="warning"`
		}
		rules[i] = route.InhibitRule{
			SourceMatchers: matcher.MustParse(fmt.Sprintf(`alertname="Outage%d", severity="critical"`, i)),
			TargetMatchers: matcher.MustParse(tgt),
			Equal:          []string{"cluster"},
		}
	}
	firing := make([]map[string]string, 10_000)
	for i := range firing {
		l := map[string]string{"alertname": fmt.Sprintf("Alert%d", i%37), "severity": "warning", "service": fmt.Sprintf("svc%d", i%1000), "cluster": fmt.Sprintf("c%d", i%50), "instance": fmt.Sprint(i)}
		if i%10 == 0 { // a source inhibiting the warnings of alert i+5
			l["alertname"], l["severity"], l["cluster"] = fmt.Sprintf("Outage%d", (i+5)%1000), "critical", fmt.Sprintf("c%d", (i+5)%50)
		}
		firing[i] = l
	}
	in, err := route.NewInhibitor(rules, firing)
	if err != nil {
		b.Fatal(err)
	}
	return in, firing
}

// BenchmarkInhibited asks about each of 10,000 firing alerts in turn, with
// 1,000 rules whose targets name a service.
func BenchmarkInhibited(b *testing.B) {
	in, firing := benchInhibitor(b, true)
	hits := 0
	for _, l := range firing {
		if ok, _ := in.Inhibited(l); ok {
			hits++
		}
	}
	if hits == 0 || hits == len(firing) {
		b.Fatalf("degenerate: %d inhibited", hits)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		in.Inhibited(firing[i%len(firing)])
		i++
	}
}

// BenchmarkInhibited_SharedTarget is the worst case for the rule index:
// all 1,000 rules have the same target matchers, so each query evaluates
// every rule (one matcher and one map lookup each).
func BenchmarkInhibited_SharedTarget(b *testing.B) {
	in, firing := benchInhibitor(b, false)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		in.Inhibited(firing[i%len(firing)])
		i++
	}
}

// BenchmarkNewInhibitor builds the index: 1,000 rules, 10,000 firing alerts.
func BenchmarkNewInhibitor(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		benchInhibitor(b, true)
	}
}
