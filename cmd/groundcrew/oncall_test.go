package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/clock"
)

// TestOnCall asks who is on call for the example schedule by team, service
// and schedule, lists gaps, and fetches a person's calendar feed over HTTP
// from the real server and parses it.
func TestOnCall(t *testing.T) {
	t.Parallel()
	// Monday 30 March 2026, 10:30 in Berlin (summer time since Sunday).
	at := time.Date(2026, 3, 30, 8, 30, 0, 0, time.UTC)
	h := newHarness(t, serverOptions{clock: clock.NewFake(at)})
	h.login()
	h.ok("apply", "-f", examplesDir)

	// The example's weekly rotation of bob and alice hands off on Mondays
	// at 10:00 Berlin time: bob since this morning (12 weeks after the
	// start), until next Monday.
	want := "payments-primary  bob   2026-03-30 10:00 CEST  2026-04-06 10:00 CEST  layers[0]"
	for _, args := range [][]string{
		{"oncall", "--team", "payments"},
		{"oncall", "--service", "payments-api"},
		{"oncall", "--schedule", "payments-primary", "--at", "2026-03-30T08:00:00Z"},
		{"oncall"},
	} {
		out := h.ok(args...)
		if got := lines(out); len(got) != 2 || got[0] != "SCHEDULE          USER  SINCE                  UNTIL                  FROM" || got[1] != want {
			t.Errorf("%s:\n%s\nwant the header and\n%s", strings.Join(args, " "), out, want)
		}
	}
	// Just before the handoff it was alice, since the Monday before.
	if out := h.ok("oncall", "--schedule", "payments-primary", "--at", "2026-03-30T07:59:00Z"); !containsAll(out, "alice  2026-03-23 10:00 CET  2026-03-30 10:00 CEST") {
		t.Errorf("oncall just before the handoff:\n%s", out)
	}
	if out := h.ok("oncall", "--team", "storefront"); out != "" {
		t.Errorf("a team without schedules printed %q", out)
	}
	for _, tc := range []struct{ args, want []string }{
		{[]string{"oncall", "--team", "payments", "--service", "payments-api"}, []string{"at most one"}},
		{[]string{"oncall", "--schedule", "nope"}, []string{"nope", "not found"}},
		{[]string{"oncall", "--service", "nope"}, []string{"service", "nope"}},
		{[]string{"oncall", "--at", "tomorrow"}, []string{"--at", "RFC 3339"}},
	} {
		if msg := h.fail(tc.args...); !containsAll(msg, tc.want...) {
			t.Errorf("%s: %q, want %q", strings.Join(tc.args, " "), msg, tc.want)
		}
	}
	if out := h.ok("oncall", "gaps"); out != "" {
		t.Errorf("gaps of a 24/7 rotation: %q", out)
	}

	// admin joins a weekly rotation; their feed lists those shifts.
	h.ok("apply", "-f", writeFile(t, "admin.yaml", `apiVersion: groundcrew.dev/v1
kind: Schedule
metadata: {name: platform-admins}
spec:
  owner: platform
  time_zone: Europe/Berlin
  layers:
    - rotation: {kind: weekly, handoff_time: "09:00", start: "2026-01-05", participants: [admin, alice]}
      restrictions: [{days: [sat, sun], start: "00:00", end: "24:00"}]
`))
	if out := h.ok("oncall", "gaps", "--within", "14d"); !strings.Contains(out, "nobody is on call for platform-admins (team platform) Mon 30 Mar 10:30 – Sat 4 Apr 00:00 Europe/Berlin") {
		t.Errorf("gaps:\n%s", out)
	}
	feedURL := strings.TrimSpace(h.ok("oncall", "feed"))
	if !strings.HasPrefix(feedURL, h.url+"/ical/gcical_") || !strings.HasSuffix(feedURL, ".ics") {
		t.Fatalf("feed URL %q", feedURL)
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	resp, err := hc.Get(feedURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/calendar") || !strings.Contains(resp.Header.Get("Cache-Control"), "private") {
		t.Fatalf("feed: %d %v\n%s", resp.StatusCode, resp.Header, body)
	}
	events := parseICS(t, string(body))
	// Weekends of the weeks admin has, from 30 days ago to 180 days ahead:
	// every other weekend, Saturday 00:00 to Monday 00:00 Berlin time.
	berlin, _ := time.LoadLocation("Europe/Berlin")
	if len(events) != 15 {
		t.Fatalf("%d events, want admin's 15 weekends from 7 March to 19 September:\n%s", len(events), body)
	}
	for _, e := range events {
		s, en := e["DTSTART"].In(berlin), e["DTEND"].In(berlin)
		if s.Weekday() != time.Saturday || s.Hour() != 0 || en.Weekday() != time.Monday || en.Hour() != 0 || en.Sub(s) < 47*time.Hour || en.Sub(s) > 49*time.Hour {
			t.Errorf("event %s – %s, want a Berlin weekend", s, en)
		}
	}
	// Admin has the even weeks from 5 January: the first weekend in the
	// feed's 30 days back is that of 7 March (week 8).
	if s := events[0]["DTSTART"]; !s.Equal(time.Date(2026, 3, 6, 23, 0, 0, 0, time.UTC)) {
		t.Errorf("first event starts %s, want 2026-03-06 23:00 UTC (Saturday 7 March, Berlin)", s)
	}
	for _, bad := range []string{strings.TrimSuffix(feedURL, ".ics") + "x.ics", h.url + "/ical/gcical_nope.ics", strings.TrimSuffix(feedURL, ".ics")} {
		resp, err := hc.Get(bad)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("GET %s = %d, want 404", bad, resp.StatusCode)
		}
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// parseICS unfolds an RFC 5545 calendar and returns the DTSTART and DTEND
// of each VEVENT, failing on lines not ended by CRLF or over 75 octets.
func parseICS(t *testing.T, cal string) []map[string]time.Time {
	t.Helper()
	if !strings.HasPrefix(cal, "BEGIN:VCALENDAR\r\n") || !strings.HasSuffix(cal, "END:VCALENDAR\r\n") {
		t.Fatalf("not a calendar:\n%s", cal)
	}
	for _, l := range strings.Split(strings.TrimSuffix(cal, "\r\n"), "\r\n") {
		if len(l) > 75 || strings.ContainsAny(l, "\r\n") {
			t.Errorf("bad content line %q", l)
		}
	}
	var out []map[string]time.Time
	var cur map[string]time.Time
	for _, l := range strings.Split(strings.ReplaceAll(cal, "\r\n ", ""), "\r\n") {
		name, value, _ := strings.Cut(l, ":")
		switch name {
		case "BEGIN":
			if value == "VEVENT" {
				cur = map[string]time.Time{}
			}
		case "END":
			if value == "VEVENT" {
				out = append(out, cur)
			}
		case "DTSTART", "DTEND":
			v, err := time.Parse("20060102T150405Z", value)
			if err != nil {
				t.Fatalf("%s: %v", l, err)
			}
			cur[name] = v
		}
	}
	return out
}
