package main

import (
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/alert"
)

func testConfig(order string) config {
	return config{teams: 4, services: 20, alertnames: 5, batch: 30, order: order, groupWait: time.Second,
		throttle: "3/5m", throttleN: 3, throttleW: 5 * time.Minute, wait: time.Minute}
}

// TestStormBatches checks that the storm is what groundcrew's Alertmanager
// parser accepts: every alert once, each service's team its index modulo
// the teams, in the order asked for.
func TestStormBatches(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for _, order := range []string{"alertname", "service", "shuffle"} {
		cfg := testConfig(order)
		bs, err := newStormBatches(cfg, now)
		if err != nil {
			t.Fatal(err)
		}
		if len(bs) != 4 || bs[3].n != 10 {
			t.Fatalf("%s: %d batches, last of %d", order, len(bs), bs[len(bs)-1].n)
		}
		seen := map[string]bool{}
		for i, b := range bs {
			got, err := alert.ParseAlertmanager(b.body)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != b.n {
				t.Fatalf("%s: batch %d has %d alerts, want %d", order, i, len(got), b.n)
			}
			for _, in := range got {
				if err := in.Validate(now, time.Hour); err != nil {
					t.Fatal(err)
				}
				s, ok := parseIndex(in.Labels["service"], "s", cfg.services)
				if !ok || in.Labels["team"] != teamName(s%cfg.teams) || in.Labels["severity"] != "critical" {
					t.Fatalf("%s: labels %v", order, in.Labels)
				}
				seen[alert.Fingerprint(in.Labels)] = true
			}
		}
		if len(seen) != 100 {
			t.Fatalf("%s: %d distinct alerts, want 100", order, len(seen))
		}
		if order == "alertname" && len(bs[0].services) != 20 {
			t.Errorf("alertname order: first batch has %d services, want all 20", len(bs[0].services))
		}
		if order == "service" && len(bs[0].services) != 6 {
			t.Errorf("service order: first batch has %d services, want 6", len(bs[0].services))
		}
	}
}

// TestAnalyze feeds the receiver messages and checks the figures:
// duplicates, misrouting, missing pages and the throttle window.
func TestAnalyze(t *testing.T) {
	cfg := testConfig("alertname")
	cfg.services = 3
	base := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	storm := &stormResult{lastAck: base, firstPost: []time.Time{base, base, base}}
	r := &receiver{seen: map[string]*pageSeen{}, max: 10}
	body := func(pages ...string) []byte {
		s := `{"alerts":[`
		for i, p := range pages {
			if i > 0 {
				s += ","
			}
			svc, team := p[:4], p[5:]
			s += `{"status":"firing","labels":{"page":"` + p + `","service":"` + svc + `","team":"` + team + `"}}`
		}
		return []byte(s + `]}`)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(r.record(base.Add(3*time.Second), "u00", body("s000-t00", "s001-t00")))
	must(r.record(base.Add(4*time.Second), "u00", body("s001-t00")))
	must(r.record(base.Add(5*time.Second), "u01", body("s000-t00")))
	if err := r.record(base, "u00", []byte(`{"alerts":[{"labels":{}}]}`)); err == nil {
		t.Fatal("a message without a page label was taken")
	}
	msgs, seen, _ := r.snapshot()
	got := analyze(cfg, storm, msgs, seen)
	if got.delivered != 2 || got.duplicates != 2 || got.misrouted != 1 || len(got.missing) != 1 || got.missing[0] != "s002" {
		t.Fatalf("delivered %d duplicates %d misrouted %d missing %v", got.delivered, got.duplicates, got.misrouted, got.missing)
	}
	if got.lastPage != 3*time.Second || got.perContact[0] != 2 || got.maxInWindow != 2 {
		t.Fatalf("last page %s, per contact %v, in window %d", got.lastPage, got.perContact, got.maxInWindow)
	}
	if pm, mean := maxMean(got.pagesPerMsg); pm != 2 || mean != 4.0/3 {
		t.Fatalf("pages per message max %d mean %v", pm, mean)
	}
}

func TestMostInWindow(t *testing.T) {
	at := func(s ...int) []time.Time {
		var out []time.Time
		for _, x := range s {
			out = append(out, time.Unix(int64(x), 0))
		}
		return out
	}
	for _, c := range []struct {
		times []time.Time
		want  int
	}{{nil, 0}, {at(0), 1}, {at(0, 100, 299), 3}, {at(0, 100, 300), 2}, {at(400, 0, 100, 350, 200), 3}, {at(400, 0, 350, 200, 380), 4}} {
		if got := mostInWindow(c.times, 300*time.Second); got != c.want {
			t.Errorf("mostInWindow(%v) = %d, want %d", c.times, got, c.want)
		}
	}
}
