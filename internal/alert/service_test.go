package alert_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/alert"
	"groundcrew.dev/groundcrew/internal/catalog"
	"groundcrew.dev/groundcrew/internal/check"
	"groundcrew.dev/groundcrew/internal/check/probe"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
)

var now = time.Date(2026, 6, 3, 10, 0, 0, 0, time.UTC)

type fixture struct {
	db    *db.DB
	clock *clock.Fake
	ids   *identity.Service
	cat   *catalog.Catalog
	svc   *alert.Service
	sys   context.Context
}

// setup makes team payments (bob, a member), operator olga, viewer vera,
// environment prod and service api (payments; prod).
func setup(t testing.TB, d *db.DB, opts alert.Options) *fixture {
	t.Helper()
	clk := clock.NewFake(now)
	ids := identity.NewService(d, clk, nil, identity.Options{})
	cat := catalog.New(d, clk, ids, nil)
	f := &fixture{db: d, clock: clk, ids: ids, cat: cat, svc: alert.NewService(d, clk, cat, ids, opts),
		sys: identity.WithActor(context.Background(), identity.System())}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []identity.UserInput{{Name: "bob", Role: identity.RoleMember}, {Name: "vera", Role: identity.RoleViewer}, {Name: "olga", Role: identity.RoleOperator}} {
		_, err := ids.CreateUser(f.sys, u)
		must(err)
	}
	_, err := ids.CreateTeam(f.sys, identity.TeamInput{Name: "payments", Members: []string{"bob"}})
	must(err)
	_, err = ids.CreateTeam(f.sys, identity.TeamInput{Name: "platform"})
	must(err)
	_, err = cat.CreateEnvironment(f.sys, catalog.EnvironmentInput{Name: "prod", EnvironmentSpec: catalog.EnvironmentSpec{Criticality: "high"}})
	must(err)
	_, err = cat.CreateService(f.sys, catalog.ServiceInput{Name: "api", ServiceSpec: catalog.ServiceSpec{Owner: "payments", Tier: 1, Environments: []string{"prod"}}})
	must(err)
	_, err = cat.CreateService(f.sys, catalog.ServiceInput{Name: "db", ServiceSpec: catalog.ServiceSpec{Owner: "platform", Tier: 1, Environments: []string{"prod"}}})
	must(err)
	return f
}

func (f *fixture) as(t *testing.T, name string) context.Context {
	t.Helper()
	u, err := f.ids.GetUser(f.sys, name)
	if err != nil {
		t.Fatal(err)
	}
	a := &identity.Actor{UserID: u.ID, Name: u.Name, Role: u.Role, Scope: identity.ScopeWrite, Via: "session"}
	for _, tn := range u.Teams {
		tm, _ := f.ids.GetTeam(f.sys, tn)
		a.TeamIDs = append(a.TeamIDs, tm.ID)
	}
	return identity.WithActor(context.Background(), a)
}

// integration creates an integration and authenticates with its key.
func (f *fixture) integration(t *testing.T, in alert.IntegrationInput) (alert.Integration, string) {
	t.Helper()
	_, key, err := f.svc.CreateIntegration(f.sys, in)
	if err != nil {
		t.Fatal(err)
	}
	it, err := f.svc.Authenticate(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return it, key
}

func (f *fixture) list(t *testing.T, flt alert.Filter) []alert.Alert {
	t.Helper()
	out, _, err := f.svc.List(f.sys, flt)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *fixture) history(t *testing.T, ref string) []alert.EventKind {
	t.Helper()
	d, err := f.svc.Get(f.sys, ref)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []alert.EventKind
	for _, e := range d.History {
		kinds = append(kinds, e.Kind)
	}
	return kinds
}

func am(labels map[string]string, endsAt time.Time) alert.Incoming {
	return alert.Incoming{Labels: labels, Annotations: map[string]string{"summary": "disk full"}, EndsAt: endsAt}
}

func TestIngest_Lifecycle(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d, alert.Options{})
		it, _ := f.integration(t, alert.IntegrationInput{Name: "prom", Type: alert.TypeAlertmanager})
		ctx := context.Background()
		labels := map[string]string{"alertname": "DiskFull", "instance": "db1", "service": "api", "severity": "page"}

		// The same labels twice: one alert, refreshed.
		for range 2 {
			if _, err := f.svc.Ingest(ctx, it, []alert.Incoming{am(labels, time.Time{})}, "alerts"); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(time.Minute)
		}
		got := f.list(t, alert.Filter{})
		if len(got) != 1 {
			t.Fatalf("%d alerts after the same alert twice, want 1", len(got))
		}
		a := got[0]
		if a.RefreshCount != 2 || a.Status != alert.Firing || a.Service != "api" || a.Integration != "prom" ||
			a.Severity != "page" || a.Summary != "disk full" || a.Source != alert.SourceAlertmanager {
			t.Fatalf("alert = %+v", a)
		}
		if a.Fingerprint != alert.Fingerprint(labels) {
			t.Errorf("fingerprint %s, want %s", a.Fingerprint, alert.Fingerprint(labels))
		}
		if want := now.Add(time.Minute + 5*time.Minute); a.EndsAt == nil || !a.EndsAt.Equal(want) {
			t.Errorf("ends_at = %v, want %v (resolve timeout after the last refresh)", a.EndsAt, want)
		}
		// Filters.
		if n := len(f.list(t, alert.Filter{Service: "api", Status: alert.Firing, Label: "instance=db1"})); n != 1 {
			t.Errorf("filtered list has %d alerts, want 1", n)
		}
		if n := len(f.list(t, alert.Filter{Label: "instance=DB1"})); n != 0 {
			t.Errorf("label matcher is case-insensitive: %d alerts", n)
		}
		if n := len(f.list(t, alert.Filter{Service: "db"})); n != 0 {
			t.Errorf("service filter: %d alerts", n)
		}

		// endsAt in the past resolves.
		if _, err := f.svc.Ingest(ctx, it, []alert.Incoming{am(labels, f.clock.Now().Add(-time.Second))}, "alerts"); err != nil {
			t.Fatal(err)
		}
		if got := f.list(t, alert.Filter{Status: alert.Firing}); len(got) != 0 {
			t.Fatalf("still firing after resolve: %+v", got)
		}
		// Firing again: a new alert whose history says it flaps.
		f.clock.Advance(time.Minute)
		if _, err := f.svc.Ingest(ctx, it, []alert.Incoming{am(labels, time.Time{})}, "alerts"); err != nil {
			t.Fatal(err)
		}
		all := f.list(t, alert.Filter{})
		if len(all) != 2 || all[0].Status != alert.Firing || all[1].Status != alert.Resolved {
			t.Fatalf("after re-firing: %+v", all)
		}
		d2, err := f.svc.Get(f.sys, all[0].ID.String())
		if err != nil {
			t.Fatal(err)
		}
		if len(d2.History) != 1 || d2.History[0].Kind != alert.EventRefired || d2.History[0].Detail["flapping"] != true ||
			d2.History[0].Detail["previous"] != all[1].ID.String() || d2.History[0].Integration != "prom" {
			t.Errorf("re-fired history = %+v", d2.History)
		}
		if h := f.history(t, all[1].ID.String()); len(h) != 2 || h[0] != alert.EventFired || h[1] != alert.EventResolved {
			t.Errorf("first alert's history = %v", h)
		}

		// Not refreshed before endsAt: the sweep resolves it.
		f.clock.Advance(6 * time.Minute)
		n, err := f.svc.Sweep(ctx)
		if err != nil || n != 1 {
			t.Fatalf("sweep = %d, %v; want 1", n, err)
		}
		if h := f.history(t, all[0].ID.String()); h[len(h)-1] != alert.EventExpired {
			t.Errorf("swept alert's history = %v", h)
		}
	})
}

func TestIngest_ExpiredOnRefresh(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d, alert.Options{})
		it, _ := f.integration(t, alert.IntegrationInput{Name: "prom", Type: alert.TypeAlertmanager})
		labels := map[string]string{"alertname": "X"}
		ctx := context.Background()
		if _, err := f.svc.Ingest(ctx, it, []alert.Incoming{am(labels, now.Add(time.Minute))}, "alerts"); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(2 * time.Minute) // endsAt passed, no sweep ran
		if _, err := f.svc.Ingest(ctx, it, []alert.Incoming{am(labels, time.Time{})}, "alerts"); err != nil {
			t.Fatal(err)
		}
		all := f.list(t, alert.Filter{})
		if len(all) != 2 || all[1].Status != alert.Resolved || !all[1].EndsAt.Equal(now.Add(time.Minute)) {
			t.Fatalf("alerts = %+v", all)
		}
	})
}

func TestIngest_BadBatchWritesNothing(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d, alert.Options{})
		it, _ := f.integration(t, alert.IntegrationInput{Name: "prom", Type: alert.TypeAlertmanager})
		batch := []alert.Incoming{
			am(map[string]string{"alertname": "A"}, time.Time{}),
			am(map[string]string{"alertname": "B"}, time.Time{}),
			am(map[string]string{"alertname": "C"}, time.Time{}),
			am(map[string]string{}, time.Time{}),
		}
		_, err := f.svc.Ingest(context.Background(), it, batch, "alerts")
		if errs.FieldOf(err) != "alerts[3].labels" || !errs.Is(err, errs.Invalid) {
			t.Fatalf("err = %v (field %q), want alerts[3].labels", err, errs.FieldOf(err))
		}
		for _, tc := range []struct {
			in    alert.Incoming
			field string
		}{
			{am(map[string]string{"bad-name": "x"}, time.Time{}), "alerts[0].labels"},
			{am(map[string]string{"a": "\xff"}, time.Time{}), "alerts[0].labels.a"},
			{alert.Incoming{Labels: map[string]string{"a": "b"}, StartsAt: now.Add(48 * time.Hour)}, "alerts[0].startsAt"},
			{alert.Incoming{Labels: map[string]string{"a": "b"}, StartsAt: now, EndsAt: now.Add(-time.Hour)}, "alerts[0].endsAt"},
		} {
			if _, err := f.svc.Ingest(context.Background(), it, []alert.Incoming{tc.in}, "alerts"); errs.FieldOf(err) != tc.field {
				t.Errorf("%+v: err = %v (field %q), want %s", tc.in, err, errs.FieldOf(err), tc.field)
			}
		}
		if got := f.list(t, alert.Filter{}); len(got) != 0 {
			t.Fatalf("a rejected batch wrote %d alerts", len(got))
		}
	})
}

func TestIntegrations(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d, alert.Options{Rate: 1, Burst: 3})
		bob, vera := f.as(t, "bob"), f.as(t, "vera")
		// Members create integrations for their teams' services only.
		if _, key, err := f.svc.CreateIntegration(bob, alert.IntegrationInput{Name: "api-prom", Type: alert.TypeAlertmanager, Service: "api"}); err != nil || len(key) < 40 {
			t.Fatalf("member for own service: %v", err)
		}
		for _, tc := range []struct {
			ctx  context.Context
			in   alert.IntegrationInput
			code errs.Code
		}{
			{bob, alert.IntegrationInput{Name: "db-prom", Type: alert.TypeAlertmanager, Service: "db"}, errs.Forbidden},
			{bob, alert.IntegrationInput{Name: "any", Type: alert.TypeWebhook}, errs.Forbidden},
			{vera, alert.IntegrationInput{Name: "v", Type: alert.TypeWebhook}, errs.Forbidden},
			{f.sys, alert.IntegrationInput{Name: "Bad Name", Type: alert.TypeWebhook}, errs.Invalid},
			{f.sys, alert.IntegrationInput{Name: "x", Type: "nagios"}, errs.Invalid},
			{f.sys, alert.IntegrationInput{Name: "api-prom", Type: alert.TypeWebhook}, errs.Invalid},
			{f.sys, alert.IntegrationInput{Name: "y", Type: alert.TypeWebhook, Service: "ghost"}, errs.Invalid},
			{context.Background(), alert.IntegrationInput{Name: "z", Type: alert.TypeWebhook}, errs.Unauthorized},
		} {
			if _, _, err := f.svc.CreateIntegration(tc.ctx, tc.in); !errs.Is(err, tc.code) {
				t.Errorf("create %+v: %v, want %s", tc.in, err, tc.code)
			}
		}
		it, key := f.integration(t, alert.IntegrationInput{Name: "pd", Type: alert.TypePagerDuty, Team: "platform"})
		if it.Team != "platform" || it.KeyPrefix != key[:len(alert.KeyPrefix)+6] {
			t.Errorf("integration = %+v", it)
		}
		// Rate limit: burst 3 (one used by f.integration), then 1/s.
		for i := range 2 {
			if _, err := f.svc.Authenticate(context.Background(), key); err != nil {
				t.Fatalf("request %d: %v", i+2, err)
			}
		}
		_, err := f.svc.Authenticate(context.Background(), key)
		var rl *alert.RateLimited
		if !errors.As(err, &rl) || !errs.Is(err, errs.TooMany) || rl.RetryAfter <= 0 || rl.RetryAfter > time.Second {
			t.Fatalf("over the limit: %v", err)
		}
		f.clock.Advance(time.Second)
		if _, err := f.svc.Authenticate(context.Background(), key); err != nil {
			t.Fatalf("after a second: %v", err)
		}
		// Revoked keys are refused; the member may not revoke another team's.
		if err := f.svc.RevokeIntegration(bob, "pd"); !errs.Is(err, errs.Forbidden) {
			t.Errorf("member revoking platform's integration: %v", err)
		}
		if err := f.svc.RevokeIntegration(f.as(t, "olga"), "pd"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Authenticate(context.Background(), key); !errs.Is(err, errs.Unauthorized) {
			t.Errorf("revoked key: %v", err)
		}
		if _, err := f.svc.Authenticate(context.Background(), "gcik_nope"); !errs.Is(err, errs.Unauthorized) {
			t.Errorf("unknown key: %v", err)
		}
		if err := f.svc.RevokeIntegration(f.sys, "pd"); !errs.Is(err, errs.NotFound) {
			t.Errorf("revoking twice: %v", err)
		}
		list, err := f.svc.ListIntegrations(vera)
		if err != nil || len(list) != 2 || list[1].Name != "pd" || list[1].RevokedAt == nil || list[0].Service != "api" {
			t.Fatalf("list = %+v, %v", list, err)
		}
	})
}

func TestIngest_PagerDutyAndWebhook(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d, alert.Options{})
		pd, _ := f.integration(t, alert.IntegrationInput{Name: "pd", Type: alert.TypePagerDuty, Service: "db"})
		ctx := context.Background()
		ev, err := alert.ParsePagerDuty([]byte(`{"routing_key":"k","event_action":"trigger","payload":{"summary":"CPU high","source":"db1","severity":"error"}}`))
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.svc.Ingest(ctx, pd, []alert.Incoming{ev.Alert}, "")
		if err != nil || got[0].DedupKey == "" {
			t.Fatalf("trigger: %+v, %v", got, err)
		}
		key := got[0].DedupKey
		for _, action := range []string{"acknowledge", "resolve"} {
			ev, err := alert.ParsePagerDuty([]byte(`{"routing_key":"k","event_action":"` + action + `","dedup_key":"` + key + `"}`))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.Ingest(ctx, pd, []alert.Incoming{ev.Alert}, ""); err != nil {
				t.Fatal(err)
			}
		}
		if h := f.history(t, key); len(h) != 3 || h[1] != alert.EventAcknowledged || h[2] != alert.EventResolved {
			t.Errorf("history = %v", h)
		}
		a := f.list(t, alert.Filter{})[0]
		if a.Service != "db" || a.Severity != "error" || a.AcknowledgedAt == nil || a.Status != alert.Resolved || a.EndsAt != nil && a.EndsAt.IsZero() {
			t.Errorf("alert = %+v", a)
		}
		// Webhook: identity by dedup key; the same key from another
		// integration is another alert.
		wh, _ := f.integration(t, alert.IntegrationInput{Name: "wh", Type: alert.TypeWebhook})
		in, err := alert.ParseWebhook([]byte(`{"summary":"backup failed","dedup_key":"` + key + `","details":{"size":0}}`))
		if err != nil {
			t.Fatal(err)
		}
		r1, err := f.svc.Ingest(ctx, wh, []alert.Incoming{in}, "")
		if err != nil {
			t.Fatal(err)
		}
		if r1[0].Fingerprint == got[0].Fingerprint {
			t.Error("dedup keys are not scoped to their integration")
		}
		if n := len(f.list(t, alert.Filter{Status: alert.Firing})); n != 1 {
			t.Errorf("%d firing, want 1", n)
		}
	})
}

func TestCheckChanged(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d, alert.Options{})
		checks := check.NewService(d, f.clock, f.cat, check.Options{})
		c, _, err := checks.Create(f.sys, check.Input{Name: "api-health", Spec: check.Spec{Service: "api", Environment: "prod", Interval: probe.Duration(time.Minute),
			Spec: probe.Spec{Type: check.Heartbeat}}})
		if err != nil {
			t.Fatal(err)
		}
		change := func(from, to check.Status, alertable bool) {
			t.Helper()
			err := d.InTx(context.Background(), func(tx *sql.Tx) error {
				return f.svc.CheckChanged(context.Background(), tx, check.Event{ID: db.NewID(), Check: c.Name, CheckID: c.ID, At: f.clock.Now(),
					From: from, To: to, Reason: "connection refused", Alertable: alertable, Evidence: &check.Result{Status: to, Reason: "connection refused"}})
			})
			if err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(time.Minute)
		}
		change(check.Up, check.Down, true)
		firing := f.list(t, alert.Filter{Status: alert.Firing})
		if len(firing) != 1 {
			t.Fatalf("%d firing after DOWN", len(firing))
		}
		a := firing[0]
		if a.Labels["alertname"] != alert.CheckDown || a.Labels["check"] != "api-health" || a.Labels["service"] != "api" ||
			a.Labels["environment"] != "prod" || a.Severity != "critical" || a.Service != "api" || a.Source != alert.SourceCheck ||
			a.Annotations["reason"] != "connection refused" || a.Annotations["evidence"] == "" || a.EndsAt != nil {
			t.Errorf("check alert = %+v", a)
		}
		change(check.Down, check.Degraded, true)
		firing = f.list(t, alert.Filter{Status: alert.Firing})
		if len(firing) != 1 || firing[0].Labels["alertname"] != alert.CheckDegraded || firing[0].Severity != "warning" {
			t.Fatalf("after DEGRADED: %+v", firing)
		}
		change(check.Degraded, check.Up, true)
		if n := len(f.list(t, alert.Filter{Status: alert.Firing})); n != 0 {
			t.Fatalf("%d firing after UP", n)
		}
		change(check.Up, check.Down, false) // muted by maintenance
		if n := len(f.list(t, alert.Filter{Status: alert.Firing})); n != 0 {
			t.Fatalf("%d firing after a muted DOWN", n)
		}
	})
}

// TestIngest_Concurrent: many requests opening the same alert at once (an
// HA pair of Prometheus servers, several replicas) make one alert.
func TestIngest_Concurrent(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d, alert.Options{})
		it, _ := f.integration(t, alert.IntegrationInput{Name: "prom", Type: alert.TypeAlertmanager})
		const n = 8
		errc := make(chan error, n)
		for range n {
			go func() {
				_, err := f.svc.Ingest(context.Background(), it, []alert.Incoming{am(map[string]string{"alertname": "Same"}, time.Time{})}, "alerts")
				errc <- err
			}()
		}
		for range n {
			if err := <-errc; err != nil {
				t.Error(err)
			}
		}
		got := f.list(t, alert.Filter{})
		if len(got) != 1 || got[0].RefreshCount != n {
			t.Fatalf("alerts = %+v, want one received %d times", got, n)
		}
	})
}
