package ui

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/catalog"
	"groundcrew.dev/groundcrew/internal/check"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/oncall"
	paging "groundcrew.dev/groundcrew/internal/oncall/pager"
	"groundcrew.dev/groundcrew/internal/oncall/schedule"
)

// onCallHarness is the UI harness with on-call: the seeded catalog plus
// viewer vera, members ana and ben of team payments, and schedule
// payments-primary (Europe/Berlin, daily at 09:00 from Fri 27 Mar 2026:
// ana, ben, …) in which ana is removed on Sat 28 Mar 02:00–08:00 local:
// a coverage gap. Clocks in Berlin spring forward on Sun 29 Mar, so ben's
// shift from Sat 09:00 lasts 23 hours. Policy payments-escalation pages
// the schedule, then team payments. It is Fri 27 Mar 2026 13:00 in Berlin.
// The handler is wrapped in the server's cross-origin protection.
type onCallHarness struct {
	*harness
	oncall *oncall.Service
	pager  *paging.Pager
}

func newOnCallHarness(t *testing.T, d *db.DB) *onCallHarness {
	t.Helper()
	clk := clock.NewFake(time.Date(2026, 3, 27, 12, 0, 0, 0, time.UTC))
	h := &harness{t: t, clock: clk, db: d, sys: identity.WithActor(context.Background(), identity.System())}
	h.ids = identity.NewService(d, clk, nil, identity.Options{})
	h.cat = catalog.New(d, clk, h.ids, nil)
	h.chk = check.NewService(d, clk, h.cat, check.Options{Limits: check.Limits{MinInterval: time.Second}})
	oh := &onCallHarness{harness: h, oncall: oncall.NewService(d, clk, h.ids, h.cat, oncall.Options{})}
	oh.pager = paging.New(d, oh.oncall, nil, paging.Options{Clock: clk}) // never ticked: nothing is sent
	cfg := Config{DB: d, Identity: h.ids, Catalog: h.cat, Checks: h.chk, OnCall: oh.oncall, Pager: oh.pager, Clock: clk, Version: "test"}
	h.srv = httptest.NewServer(http.NewCrossOriginProtection().Handler(New(cfg)))
	t.Cleanup(h.srv.Close)

	h.seed()
	h.addUser("vera", identity.RoleViewer)
	h.addUser("ana", identity.RoleMember)
	h.addUser("ben", identity.RoleMember)
	h.must(h.ids.UpdateTeam(h.sys, "payments", identity.TeamInput{Name: "payments", DisplayName: "Payments", Members: []string{"ana", "ben"}}, 0))
	berlin := func(s string) time.Time {
		loc, _ := time.LoadLocation("Europe/Berlin")
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	h.must(oh.oncall.CreateSchedule(h.sys, oncall.ScheduleInput{Name: "payments-primary", Spec: oncall.ScheduleSpec{Owner: "payments", Spec: schedule.Spec{
		TimeZone: "Europe/Berlin",
		Layers: []schedule.LayerSpec{{Name: "daily", Rotation: schedule.RotationSpec{
			Kind: schedule.Daily, HandoffTime: "09:00", Start: "2026-03-27", Participants: []string{"ana", "ben"}}}},
		Overrides: []schedule.OverrideSpec{{Kind: schedule.Remove, User: "ana", Start: berlin("2026-03-28 02:00"), End: berlin("2026-03-28 08:00")}},
	}}}))
	h.must(oh.oncall.CreatePolicy(h.sys, oncall.PolicyInput{Name: "payments-escalation", Spec: oncall.PolicySpec{Owner: "payments", Repeat: 1, Steps: []oncall.Step{
		{Delay: "1m", Targets: []oncall.Target{{Schedule: "payments-primary"}}},
		{Delay: "10m", Targets: []oncall.Target{{Team: "payments"}}}}}}))
	return oh
}

// sameOrigin posts a form as a browser on this site does.
func (c *client) sameOrigin(path string, form url.Values) page {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return c.do(req)
}

func TestOnCallPages(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		h := newOnCallHarness(t, d)
		vera := h.loggedIn("vera", adminPassword)

		t.Run("on call now, the next handoff and the gap ahead", func(t *testing.T) {
			p := vera.get("/oncall")
			wantStatus(t, p, http.StatusOK)
			wantContains(t, p, `<a href="/oncall" aria-current="page">On call</a>`,
				`<a href="/oncall/schedules/payments-primary" class="name">payments-primary</a>`,
				`<a href="/users/ana" class="name">ana</a> <span class="sub">until <time datetime="2026-03-28T01:00:00Z"`,
				"Coverage gaps in the next 14 days",
				"nobody is on call for payments-primary (team payments) Sat 28 Mar 02:00–08:00 Europe/Berlin",
				`title="2026-03-28 01:00:00 UTC">in 13 hours</time> <span class="sub">ana → nobody</span>`,
				"1 gap</span>")
		})
		t.Run("the team filter is in the URL", func(t *testing.T) {
			p := vera.get("/oncall?team=platform")
			wantStatus(t, p, http.StatusOK)
			wantContains(t, p, "No on-call schedules of team platform")
			wantLacks(t, p, "nobody is on call for payments-primary")
			wantStatus(t, vera.get("/oncall?team=nosuch"), http.StatusNotFound)
		})
		t.Run("a schedule's week across the DST change", func(t *testing.T) {
			p := vera.get("/oncall/schedules/payments-primary?view=week&from=2026-03-23")
			wantStatus(t, p, http.StatusOK)
			wantContains(t, p, "<dt>Time zone</dt><dd>Europe/Berlin</dd>",
				`<li><a href="/users/ana">ana</a></li><li><a href="/users/ben">ben</a></li>`, "daily at 09:00",
				`<a href="/oncall/policies/payments-escalation">payments-escalation</a>`,
				// The row of Sunday is 23 hours long and ben's shift lasts 23 hours.
				"Sun 29 Mar (23 h)",
				"<title>ben on call: Sat 28 Mar 09:00 – Sun 29 Mar 09:00 (23 h, from layers[0])</title>",
				"<td>Sat 28 Mar 09:00 – Sun 29 Mar 09:00</td><td>23 h</td>",
				"<title>nobody on call: Sat 28 Mar 02:00–08:00 (6 h)</title>",
				`fill="url(#cal-gap)"`, ">nobody</text>",
				`href="/oncall/schedules/payments-primary?from=2026-03-16&amp;view=week#calendar" rel="prev"`,
				`href="/oncall/schedules/payments-primary?from=2026-03-30&amp;view=week#calendar" rel="next"`)
			p = vera.get("/oncall/schedules/payments-primary")
			wantStatus(t, p, http.StatusOK)
			wantContains(t, p, `<input id="f-from" name="from" type="date" value="2026-03-23">`)
		})
		t.Run("a month and bad ranges", func(t *testing.T) {
			p := vera.get("/oncall/schedules/payments-primary?view=month&from=2026-03-15")
			wantStatus(t, p, http.StatusOK)
			wantContains(t, p, `value="2026-03-01"`, "Tue 31 Mar", `from=2026-04-01&amp;view=month`, `from=2026-02-01&amp;view=month`)
			wantStatus(t, vera.get("/oncall/schedules/payments-primary?view=year"), http.StatusUnprocessableEntity)
			p = vera.get("/oncall/schedules/payments-primary?from=yesterday")
			wantStatus(t, p, http.StatusUnprocessableEntity)
			wantContains(t, p, "is not a date YYYY-MM-DD")
			wantStatus(t, vera.get("/oncall/schedules/nosuch"), http.StatusNotFound)
		})
		t.Run("escalation policies resolve to who would be paged now", func(t *testing.T) {
			p := vera.get("/oncall/policies")
			wantStatus(t, p, http.StatusOK)
			wantContains(t, p, `<a href="/oncall/policies/payments-escalation" class="name">payments-escalation</a>`, "1 more time")
			p = vera.get("/oncall/policies?q=nothing")
			wantContains(t, p, "No escalation policies match")
			p = vera.get("/oncall/policies/payments-escalation")
			wantStatus(t, p, http.StatusOK)
			wantContains(t, p, `schedule <a href="/oncall/schedules/payments-primary">payments-primary</a>`,
				`<td><a href="/users/ana" class="name">ana</a></td>`,
				`<td><a href="/users/ana" class="name">ana</a>, <a href="/users/ben" class="name">ben</a></td>`)
		})
		t.Run("the service page says who is on call", func(t *testing.T) {
			p := vera.get("/services/payments-api")
			wantStatus(t, p, http.StatusOK)
			wantContains(t, p, `<h2 id="oncall">On call</h2>`, `<a href="/oncall/schedules/payments-primary" class="name">payments-primary</a>`,
				`<a href="/users/ana" class="name">ana</a>`)
			p = vera.get("/services/postgres-main")
			wantContains(t, p, "The owning team has no on-call schedule.")
		})
		t.Run("a viewer creates their calendar feed, shown once", func(t *testing.T) {
			p := vera.sameOrigin("/oncall/feed", nil)
			wantStatus(t, p, http.StatusCreated)
			wantContains(t, p, "Calendar feed of vera created.", `value="`+h.srv.URL+`/ical/gcical_`)
			p = vera.get("/oncall")
			wantLacks(t, p, "/ical/gcical_")
		})
		t.Run("a cross-site feed form is refused", func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, vera.base+"/oncall/feed", nil)
			req.Header.Set("Origin", "https://evil.example")
			req.Header.Set("Sec-Fetch-Site", "cross-site")
			p := vera.do(req)
			wantStatus(t, p, http.StatusForbidden)
			wantLacks(t, p, "gcical_")
		})
		t.Run("in the gap, the policy's first step pages nobody", func(t *testing.T) {
			h.clock.Set(time.Date(2026, 3, 28, 2, 0, 0, 0, time.UTC))
			vera := h.loggedIn("vera", adminPassword) // the old session went idle
			p := vera.get("/oncall/policies/payments-escalation")
			wantStatus(t, p, http.StatusOK)
			wantContains(t, p, `<span class="badge nobody"><span aria-hidden="true">⚠</span> nobody</span>`)
			p = vera.get("/oncall/schedules/payments-primary")
			wantContains(t, p, "Nobody is on call now.")
		})
	})
}

// TestOnCallPages_disabled: without an on-call service the pages do not
// exist and service pages leave the section out.
func TestOnCallPages_disabled(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{}).seed()
	admin := h.loggedIn("admin", adminPassword)
	for _, path := range []string{"/oncall", "/oncall/policies", "/oncall/schedules/x", "/oncall/policies/x"} {
		wantStatus(t, admin.get(path), http.StatusNotFound)
	}
	p := admin.get("/services/payments-api")
	wantStatus(t, p, http.StatusOK)
	wantLacks(t, p, `id="oncall"`)
}

func TestCalendar_DSTShift(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 27, 12, 0, 0, 0, time.UTC)
	cr, err := parseCalRange("week", "", now, berlin)
	if err != nil {
		t.Fatal(err)
	}
	if got := cr.From.Format(time.RFC3339); got != "2026-03-23T00:00:00+01:00" {
		t.Errorf("week starts %s, want Monday 23 Mar local midnight", got)
	}
	if n := len(cr.Days); n != 7 || cr.To.Sub(cr.From) != 7*24*time.Hour-time.Hour {
		t.Errorf("%d days, %v long; want 7 days, 167 h", n, cr.To.Sub(cr.From))
	}
	sat9 := time.Date(2026, 3, 28, 9, 0, 0, 0, berlin)
	sun9 := time.Date(2026, 3, 29, 9, 0, 0, 0, berlin)
	shift := schedule.Shift{Assignment: schedule.Assignment{User: "ben", Layer: 0, Override: -1}, Start: sat9, End: sun9}
	c := newCalendar("p", cr, now, []schedule.Shift{shift}, nil)
	var w float64
	for _, sg := range c.segments() {
		w += sg.W
	}
	if hours := w / calHourW; math.Abs(hours-23) > 1e-9 {
		t.Errorf("the shift is drawn %.3f h long, want 23 h", hours)
	}
	if c.Shifts[0].Length != "23 h" || c.Days[6].Hours != 23 {
		t.Errorf("length %q, Sunday %v h; want 23 h both", c.Shifts[0].Length, c.Days[6].Hours)
	}
	svg := string(calendarSVG(c))
	if !strings.Contains(svg, "Sun 29 Mar (23 h)") || !strings.Contains(svg, "<title>ben on call:") {
		t.Errorf("svg lacks the short Sunday or ben's shift:\n%s", svg)
	}
}

func TestParseCalRange(t *testing.T) {
	t.Parallel()
	// America/Santiago skips midnight when its clocks spring forward
	// (Sun 6 Sep 2026 00:00 → 01:00).
	santiago, err := time.LoadLocation("America/Santiago")
	if err != nil {
		t.Skip("no zone database:", err)
	}
	now := time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ view, from, wantFrom, wantTo string }{
		{"week", "2026-09-06", "2026-09-06T01:00:00-03:00", "2026-09-13T00:00:00-03:00"},
		{"month", "2026-02-20", "2026-02-01T00:00:00-03:00", "2026-03-01T00:00:00-03:00"},
		{"", "", "2026-08-31T00:00:00-04:00", "2026-09-07T00:00:00-03:00"},
	} {
		cr, err := parseCalRange(tc.view, tc.from, now, santiago)
		if err != nil {
			t.Fatalf("%s %s: %v", tc.view, tc.from, err)
		}
		if got := cr.From.Format(time.RFC3339) + " " + cr.To.Format(time.RFC3339); got != tc.wantFrom+" "+tc.wantTo {
			t.Errorf("%s %s: %s, want %s %s", tc.view, tc.from, got, tc.wantFrom, tc.wantTo)
		}
	}
	for _, bad := range [][2]string{{"year", ""}, {"week", "2026-13-01"}, {"week", "0001-01-01"}, {"month", "x"}} {
		if _, err := parseCalRange(bad[0], bad[1], now, santiago); err == nil {
			t.Errorf("%q %q: no error", bad[0], bad[1])
		}
	}
}

func TestFmtLength(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		23 * time.Hour: "23 h", 25 * time.Hour: "25 h", 90 * time.Minute: "1 h 30 min", 45 * time.Minute: "45 min",
		7 * 24 * time.Hour: "7 d", 158 * time.Hour: "6 d 14 h", 48*time.Hour + 30*time.Minute: "2 d 30 min",
	} {
		if got := fmtLength(d); got != want {
			t.Errorf("fmtLength(%v) = %q, want %q", d, got, want)
		}
	}
}

// FuzzParseCalRange: the calendar's URL parameters never panic, and an
// accepted range is whole local days of a week or a month.
func FuzzParseCalRange(f *testing.F) {
	for _, s := range [][2]string{{"week", "2026-03-23"}, {"month", "2026-10-25"}, {"", ""}, {"week", "9999-12-31"}, {"month", "1970-01-01"}, {"x", "2026-02-30"}} {
		f.Add(s[0], s[1])
	}
	zones := []string{"Europe/Berlin", "America/Santiago", "Australia/Lord_Howe", "UTC"}
	now := time.Date(2026, 3, 27, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, view, from string) {
		for _, z := range zones {
			loc, err := time.LoadLocation(z)
			if err != nil {
				t.Skip(err)
			}
			cr, err := parseCalRange(view, from, now, loc)
			if err != nil {
				continue
			}
			if n := len(cr.Days); n != 7 && (n < 28 || n > 31) {
				t.Fatalf("%q %q in %s: %d days", view, from, z, n)
			}
			prev := cr.From
			for _, d := range append(cr.Days[1:], cr.To) {
				if h := d.Sub(prev).Hours(); h < 22 || h > 26 {
					t.Fatalf("%q %q in %s: a day of %v h from %v", view, from, z, h, prev)
				}
				prev = d
			}
		}
	})
}
