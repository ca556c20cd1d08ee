package alert_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/alert"
	"groundcrew.dev/groundcrew/internal/alert/matcher"
	"groundcrew.dev/groundcrew/internal/alert/route"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
	"groundcrew.dev/groundcrew/internal/jobs"
	"groundcrew.dev/groundcrew/internal/notify"
	"groundcrew.dev/groundcrew/internal/secret"
)

// dispatchFixture is the alert fixture plus a notification service whose
// deliveries are enqueued for real (nothing works the jobs: the test reads
// what was enqueued) and a receiver "oncall".
type dispatchFixture struct {
	*fixture
	notify *notify.Service
}

func setupDispatch(t *testing.T, d *db.DB) *dispatchFixture {
	t.Helper()
	f := setup(t, d, alert.Options{})
	box, err := secret.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	ns := notify.NewService(d, f.clock, box, f.ids, notify.ServiceOptions{})
	if err := jobs.Migrate(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	runner, err := jobs.New(d, jobs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ns.SetJobs(runner)
	for _, name := range []string{"oncall", "db-team"} {
		if _, err := ns.Create(f.sys, notify.Input{Name: name, Spec: notify.Spec{Channels: []notify.ChannelSpec{{Webhook: &notify.WebhookConfig{URL: "http://127.0.0.1:9/hook"}}}}}); err != nil {
			t.Fatal(err)
		}
	}
	return &dispatchFixture{fixture: f, notify: ns}
}

func (f *dispatchFixture) route(t *testing.T, name string, pos int, spec alert.RouteSpec) {
	t.Helper()
	if _, err := f.svc.PutRoute(f.sys, alert.RouteInput{Name: name, Spec: alert.RouteDocSpec{Position: pos, RouteSpec: spec}}, 0, false); err != nil {
		t.Fatal(err)
	}
}

func (f *dispatchFixture) fire(t *testing.T, labels map[string]string) {
	t.Helper()
	if _, err := f.svc.Raise(f.sys, alert.RaiseInput{Labels: labels, Summary: labels["alertname"]}); err != nil {
		t.Fatal(err)
	}
}

func (f *dispatchFixture) resolve(t *testing.T, labels map[string]string) {
	t.Helper()
	if _, err := f.svc.Raise(f.sys, alert.RaiseInput{Labels: labels, Status: alert.Resolved}); err != nil {
		t.Fatal(err)
	}
}

// sent is one enqueued delivery, as the test sees it.
type sent struct {
	receiver, reason string
	firing, resolved []string // alertnames
}

// deliveries returns the deliveries enqueued since the last call.
func (f *dispatchFixture) deliveries(t *testing.T, seen *int) []sent {
	t.Helper()
	rows, err := f.db.Reader().QueryContext(context.Background(), `SELECT receiver, reason, payload FROM notify_deliveries ORDER BY created_at, id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var all []sent
	for rows.Next() {
		var s sent
		var payload string
		if err := rows.Scan(&s.receiver, &s.reason, &payload); err != nil {
			t.Fatal(err)
		}
		var n notify.Notification
		if err := json.Unmarshal([]byte(payload), &n); err != nil {
			t.Fatalf("payload %s: %v", payload, err)
		}
		for _, a := range n.Alerts {
			if a.Status == notify.Firing {
				s.firing = append(s.firing, a.Labels["alertname"])
			} else {
				s.resolved = append(s.resolved, a.Labels["alertname"])
			}
		}
		slices.Sort(s.firing)
		slices.Sort(s.resolved)
		if s.reason == "" {
			s.reason = string(n.Reason)
		}
		all = append(all, s)
	}
	out := all[*seen:]
	*seen = len(all)
	return out
}

func (f *dispatchFixture) tick(t *testing.T, d *alert.Dispatcher) {
	t.Helper()
	if err := d.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func describe(ss []sent) string {
	var parts []string
	for _, s := range ss {
		parts = append(parts, s.receiver+" "+s.reason+" firing["+strings.Join(s.firing, ",")+"] resolved["+strings.Join(s.resolved, ",")+"]")
	}
	return strings.Join(parts, "; ")
}

func TestDispatcher_GroupsAndNotifies(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setupDispatch(t, d)
		f.route(t, "api", 10, alert.RouteSpec{Matchers: []string{`service="api"`}, GroupBy: []string{"service"},
			GroupWait: "30s", GroupInterval: "5m", RepeatInterval: "4h", Receivers: []string{"oncall"}})
		disp := alert.NewDispatcher(f.svc, f.notify, alert.DispatcherOptions{Clock: f.clock})
		seen := 0
		expect := func(step, want string) {
			t.Helper()
			f.tick(t, disp)
			if got := describe(f.deliveries(t, &seen)); got != want {
				t.Fatalf("%s: sent %q, want %q", step, got, want)
			}
		}
		api := func(name string) map[string]string { return map[string]string{"alertname": name, "service": "api"} }

		f.fire(t, api("HighLatency"))
		f.fire(t, api("Errors"))
		expect("within group_wait", "")
		f.clock.Advance(30 * time.Second)
		expect("after group_wait", "oncall first firing[Errors,HighLatency] resolved[]")
		expect("nothing new", "")

		f.clock.Advance(time.Minute)
		f.fire(t, api("DiskFull"))
		expect("new alert before group_interval", "")
		f.clock.Advance(4 * time.Minute)
		expect("at the group_interval tick", "oncall new_alerts firing[DiskFull,Errors,HighLatency] resolved[]")

		f.clock.Advance(time.Minute)
		f.resolve(t, api("Errors"))
		f.clock.Advance(4 * time.Minute)
		expect("one resolved", "oncall some_resolved firing[DiskFull,HighLatency] resolved[Errors]")

		// Unchanged for repeat_interval: repeated.
		f.clock.Advance(4 * time.Hour)
		expect("repeat", "oncall repeat firing[DiskFull,HighLatency] resolved[]")

		// A new dispatcher (a restart, or another replica taking over)
		// neither repeats nor forgets.
		disp = alert.NewDispatcher(f.svc, f.notify, alert.DispatcherOptions{Clock: f.clock})
		expect("after a restart", "")
		f.resolve(t, api("DiskFull"))
		f.resolve(t, api("HighLatency"))
		f.clock.Advance(5 * time.Minute)
		expect("all resolved after the restart", "oncall all_resolved firing[] resolved[DiskFull,HighLatency]")
		f.clock.Advance(time.Hour)
		expect("the group is done", "")

		// An alert no route takes ends at the root: recorded, not sent.
		f.fire(t, map[string]string{"alertname": "Lonely", "service": "db"})
		f.clock.Advance(time.Minute)
		expect("unrouted", "")
		if st := disp.Stats(); st.Unrouted != 1 || st.Notifications != 1 { // since the restart
			t.Fatalf("stats = %+v", st)
		}
	})
}

func TestDispatcher_SilencesAndInhibition(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setupDispatch(t, d)
		f.route(t, "all", 10, alert.RouteSpec{GroupBy: []string{"alertname"}, GroupWait: "10s", GroupInterval: "1m", Receivers: []string{"oncall"}})
		disp := alert.NewDispatcher(f.svc, f.notify, alert.DispatcherOptions{Clock: f.clock})
		seen := 0
		expect := func(step, want string) {
			t.Helper()
			f.tick(t, disp)
			if got := describe(f.deliveries(t, &seen)); got != want {
				t.Fatalf("%s: sent %q, want %q", step, got, want)
			}
		}
		// A silence keeps an alert out of notifications; once it ends, the
		// alert is notified at the next group_interval tick.
		sil, err := f.svc.CreateSilence(f.sys, alert.SilenceInput{Matchers: []string{`alertname="Deploying"`}, EndsAt: now.Add(30 * time.Minute), Comment: "release 42"})
		if err != nil {
			t.Fatal(err)
		}
		f.fire(t, map[string]string{"alertname": "Deploying", "service": "api"})
		f.clock.Advance(10 * time.Second)
		expect("silenced", "")
		f.clock.Advance(5 * time.Minute)
		expect("still silenced", "")
		// The history says it was routed, and muted by the silence (once).
		list, _, err := f.svc.List(f.sys, alert.Filter{Status: alert.Firing, Limit: 10})
		if err != nil || len(list) != 1 {
			t.Fatalf("firing alerts = %+v, %v", list, err)
		}
		det, err := f.svc.Get(f.sys, list[0].ID.String())
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, h := range det.History {
			kinds = append(kinds, string(h.Kind))
		}
		if got := strings.Join(kinds, ","); strings.Count(got, "routed") != 1 || strings.Count(got, "muted") != 1 {
			t.Fatalf("history = %s, want one routed and one muted", got)
		}
		if err := f.svc.ExpireSilence(f.sys, sil.ID); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(time.Minute)
		expect("silence ended", "oncall new_alerts firing[Deploying] resolved[]")

		// Resolved while silenced after being notified: the resolution is
		// still reported when the silence ends.
		sil, err = f.svc.CreateSilence(f.sys, alert.SilenceInput{Matchers: []string{`alertname="Deploying"`}, EndsAt: f.clock.Now().Add(10 * time.Minute), Comment: "quiet"})
		if err != nil {
			t.Fatal(err)
		}
		f.resolve(t, map[string]string{"alertname": "Deploying", "service": "api"})
		f.clock.Advance(time.Minute)
		expect("resolved while silenced", "")
		f.clock.Advance(10 * time.Minute)
		expect("resolution after the silence", "oncall all_resolved firing[] resolved[Deploying]")

		// Inhibition: the database being down mutes the api's alerts in
		// the same environment.
		if err := d.InTx(context.Background(), func(tx *sql.Tx) error {
			_, _, err := f.svc.PutInhibitRuleTx(f.sys, tx, "db-down", nil, route.InhibitRule{
				SourceMatchers: mustMatchers(t, `alertname="DatabaseDown"`), TargetMatchers: mustMatchers(t, `service="api"`), Equal: []string{"env"}}, "")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		f.fire(t, map[string]string{"alertname": "DatabaseDown", "service": "db", "env": "prod"})
		f.fire(t, map[string]string{"alertname": "ApiErrors", "service": "api", "env": "prod"})
		f.fire(t, map[string]string{"alertname": "ApiSlow", "service": "api", "env": "staging"})
		f.clock.Advance(10 * time.Second)
		f.tick(t, disp)
		got := describe(f.deliveries(t, &seen))
		if !strings.Contains(got, "firing[DatabaseDown]") || !strings.Contains(got, "firing[ApiSlow]") || strings.Contains(got, "ApiErrors") {
			t.Fatalf("with inhibition: %s", got)
		}
		if st := disp.Stats(); st.Muted < 3 {
			t.Fatalf("stats = %+v, want the muted alerts counted", st)
		}
	})
}

func mustMatchers(t *testing.T, s ...string) matcher.Matchers {
	t.Helper()
	var out matcher.Matchers
	for _, m := range s {
		pm, err := matcher.Parse(m)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, pm)
	}
	return out
}
