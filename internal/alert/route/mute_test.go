package route_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/alert/matcher"
	"groundcrew.dev/groundcrew/internal/alert/route"
	"groundcrew.dev/groundcrew/internal/errs"
)

func TestSilence(t *testing.T) {
	s := route.Silence{ID: "s1", Matchers: matcher.MustParse(`service="payments", severity=~"warning|info"`),
		StartsAt: at(0), EndsAt: at(time.Hour), CreatedBy: "ana", Comment: "deploy"}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	l := labelsOf("service=payments severity=warning")
	for _, tc := range []struct {
		labels map[string]string
		at     time.Duration
		want   bool
	}{
		{l, 0, true},
		{l, -time.Second, false},
		{l, time.Hour - time.Second, true},
		{l, time.Hour, false}, // half-open
		{labelsOf("service=payments severity=critical"), 0, false},
		{labelsOf("service=payments"), 0, false},
	} {
		if got := s.Mutes(tc.labels, at(tc.at)); got != tc.want {
			t.Errorf("Mutes(%v, t0+%v) = %v; want %v", tc.labels, tc.at, got, tc.want)
		}
	}
	ss := route.Silences{s, {ID: "s2", Matchers: matcher.MustParse(`service="payments"`), StartsAt: at(0), EndsAt: at(time.Minute)}}
	if got := strings.Join(ss.MutedBy(l, at(0)), ","); got != "s1,s2" {
		t.Errorf("MutedBy = %s", got)
	}
	if ss.Mutes(labelsOf("service=web"), at(0)) {
		t.Error("Silences mute an unmatched alert")
	}
}

func TestSilence_Validate(t *testing.T) {
	ok := route.Silence{Matchers: matcher.MustParse(`a="b"`), StartsAt: at(0), EndsAt: at(time.Hour), CreatedBy: "ana", Comment: "why"}
	for _, tc := range []struct {
		mod   func(*route.Silence)
		field string
	}{
		{func(s *route.Silence) { s.Matchers = nil }, "matchers"},
		{func(s *route.Silence) { s.Matchers = matcher.MustParse(`a=~".*"`) }, "matchers"},
		{func(s *route.Silence) { s.Matchers = matcher.MustParse(`a!="x"`) }, "matchers"},
		{func(s *route.Silence) { s.Matchers = append(s.Matchers, matcher.Matcher{}) }, "matchers[1]"},
		{func(s *route.Silence) { s.StartsAt = time.Time{} }, "starts_at"},
		{func(s *route.Silence) { s.EndsAt = s.StartsAt }, "ends_at"},
		{func(s *route.Silence) { s.CreatedBy = " " }, "created_by"},
		{func(s *route.Silence) { s.Comment = "" }, "comment"},
	} {
		s := ok
		s.Matchers = append(matcher.Matchers(nil), ok.Matchers...)
		tc.mod(&s)
		if err := s.Validate(); !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != tc.field {
			t.Errorf("Validate = %v; want invalid %s", err, tc.field)
		}
	}
}

func TestInhibitor(t *testing.T) {
	rules := []route.InhibitRule{
		{SourceMatchers: matcher.MustParse(`severity="critical"`), TargetMatchers: matcher.MustParse(`severity="warning"`), Equal: []string{"cluster", "service"}},
		{SourceMatchers: matcher.MustParse(`alertname="ClusterDown"`), TargetMatchers: matcher.MustParse(`cluster=~".+"`), Equal: []string{"cluster"}},
		{SourceMatchers: matcher.MustParse(`alertname="Flood"`), TargetMatchers: matcher.MustParse(`alertname="Flood"`), Equal: []string{"dc"}},
	}
	fire := []map[string]string{
		labelsOf("alertname=Latency severity=critical cluster=eu service=api"),
		labelsOf("alertname=ClusterDown cluster=us"),
		labelsOf("alertname=Flood dc=a host=1"),
		labelsOf("alertname=Flood dc=b host=1"),
		labelsOf("alertname=Flood dc=b host=2"),
	}
	in, err := route.NewInhibitor(rules, fire)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		labels string
		want   bool
		rule   int
		source string
	}{
		{"severity=warning cluster=eu service=api", true, 0, fire[0]["alertname"]},
		{"severity=warning cluster=eu service=web", false, 0, ""},
		{"severity=warning cluster=eu", false, 0, ""}, // service missing on one side only
		{"severity=info cluster=eu service=api", false, 0, ""},
		{"alertname=Disk cluster=us", true, 1, "ClusterDown"},
		{"alertname=ClusterDown cluster=us", false, 0, ""},                              // matches both sides: not inhibited by itself
		{"alertname=Flood dc=a host=1", false, 0, ""},                                   // only itself as source
		{"alertname=Flood dc=b host=1", true, 2, "Flood"},                               // host=2 inhibits it
		{"alertname=Disk", false, 0, ""},                                                // cluster=~".+" needs a cluster
		{"severity=warning cluster=us service=api alertname=X", true, 1, "ClusterDown"}, // rule 0 has no source in us
	} {
		got, by := in.Inhibited(labelsOf(tc.labels))
		if got != tc.want || got && (by.Rule != tc.rule || by.Source == 0) {
			t.Errorf("Inhibited(%s) = %v, %+v; want %v rule %d", tc.labels, got, by, tc.want, tc.rule)
		}
		if got && in.Mutes(labelsOf(tc.labels), time.Time{}) != got {
			t.Errorf("Mutes disagrees with Inhibited for %s", tc.labels)
		}
	}
	if _, err := route.NewInhibitor([]route.InhibitRule{rules[0], {SourceMatchers: rules[0].SourceMatchers}}, nil); errs.FieldOf(err) != "[1].target_matchers" {
		t.Errorf("NewInhibitor bad rule = %v", err)
	}
	if _, err := route.NewInhibitor([]route.InhibitRule{{SourceMatchers: rules[0].SourceMatchers, TargetMatchers: rules[0].TargetMatchers, Equal: []string{"a", "a"}}}, nil); errs.FieldOf(err) != "[0].equal[1]" {
		t.Errorf("NewInhibitor duplicate equal = %v", err)
	}
}

// TestInhibitor_IndexAgreesWithScan checks the index against the plain
// definition on a mixed population.
func TestInhibitor_IndexAgreesWithScan(t *testing.T) {
	var rules []route.InhibitRule
	for i := 0; i < 40; i++ {
		src := matcher.MustParse(fmt.Sprintf(`alertname="A%d", severity="critical"`, i%7))
		tgt := matcher.MustParse(fmt.Sprintf(`severity=~"warning|info", team="t%d"`, i%5))
		if i%4 == 0 {
			tgt = matcher.MustParse(`severity!="critical"`) // no equality matcher: always a candidate
		}
		rules = append(rules, route.InhibitRule{SourceMatchers: src, TargetMatchers: tgt, Equal: []string{"dc"}[:i%2]})
	}
	var fire, all []map[string]string
	sev := []string{"critical", "warning", "info"}
	for i := 0; i < 300; i++ {
		l := map[string]string{"alertname": fmt.Sprintf("A%d", i%9), "severity": sev[i%3], "team": fmt.Sprintf("t%d", i%6), "dc": fmt.Sprintf("d%d", i%4), "i": fmt.Sprint(i)}
		all = append(all, l)
		if i%2 == 0 {
			fire = append(fire, l)
		}
	}
	in, err := route.NewInhibitor(rules, fire)
	if err != nil {
		t.Fatal(err)
	}
	hits := 0
	for _, target := range all {
		want := false
		for _, r := range rules {
			if !r.TargetMatchers.Matches(target) {
				continue
			}
			for _, src := range fire {
				if !r.SourceMatchers.Matches(src) || matcher.Labels(src).Equal(target) {
					continue
				}
				eq := true
				for _, n := range r.Equal {
					eq = eq && src[n] == target[n]
				}
				want = want || eq
			}
		}
		if got, _ := in.Inhibited(target); got != want {
			t.Fatalf("Inhibited(%v) = %v; scan says %v", target, got, want)
		}
		if want {
			hits++
		}
	}
	if hits == 0 || hits == len(all) {
		t.Fatalf("degenerate population: %d of %d inhibited", hits, len(all))
	}
}

func TestSilence_JSON(t *testing.T) {
	var s route.Silence
	err := json.Unmarshal([]byte(`{"matchers":["service=\"payments\"","severity=~\"warning|info\""],"starts_at":"2026-11-23T10:00:00Z","ends_at":"2026-11-23T11:00:00Z","created_by":"ana","comment":"deploy"}`), &s)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err != nil || s.Matchers.String() != `{service="payments", severity=~"warning|info"}` {
		t.Fatalf("decoded %s: %v", s.Matchers, err)
	}
	if !s.Mutes(labelsOf("service=payments severity=info"), at(time.Minute)) {
		t.Error("decoded silence does not mute")
	}
	b, _ := json.Marshal(s)
	if !strings.Contains(string(b), `"matchers":["service=\"payments\"","severity=~\"warning|info\""]`) {
		t.Errorf("encoded %s", b)
	}
	if err := json.Unmarshal([]byte(`{"matchers":["service=~\"(\""]}`), &s); !errs.Is(err, errs.Invalid) {
		t.Errorf("bad matcher in JSON: %v", err)
	}
}
