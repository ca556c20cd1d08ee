package check_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/catalog"
	"groundcrew.dev/groundcrew/internal/check"
	"groundcrew.dev/groundcrew/internal/check/probe"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
)

type fixture struct {
	db   *db.DB
	svc  *check.Service
	sys  context.Context
	bob  context.Context // member of payments
	vera context.Context // viewer
}

func setup(t testing.TB, d *db.DB) *fixture {
	t.Helper()
	clk := clock.Real{}
	ids := identity.NewService(d, clk, nil, identity.Options{})
	cat := catalog.New(d, clk, ids, nil)
	sys := identity.WithActor(context.Background(), identity.System())
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := ids.CreateUser(sys, identity.UserInput{Name: "bob", Role: identity.RoleMember})
	must(err)
	_, err = ids.CreateTeam(sys, identity.TeamInput{Name: "payments", Members: []string{"bob"}})
	must(err)
	_, err = ids.CreateTeam(sys, identity.TeamInput{Name: "platform"})
	must(err)
	for _, e := range []string{"prod", "staging"} {
		_, err = cat.CreateEnvironment(sys, catalog.EnvironmentInput{Name: e, EnvironmentSpec: catalog.EnvironmentSpec{Criticality: "high"}})
		must(err)
	}
	_, err = cat.CreateService(sys, catalog.ServiceInput{Name: "api", ServiceSpec: catalog.ServiceSpec{Owner: "payments", Tier: 1, Environments: []string{"prod"}}})
	must(err)
	_, err = cat.CreateService(sys, catalog.ServiceInput{Name: "db", ServiceSpec: catalog.ServiceSpec{Owner: "platform", Tier: 1, Environments: []string{"prod"}}})
	must(err)
	bobUser, _ := ids.GetUser(sys, "bob")
	team, _ := ids.GetTeam(sys, "payments")
	return &fixture{
		db:   d,
		svc:  check.NewService(d, clk, cat, check.Options{Limits: check.Limits{MinInterval: 20 * time.Millisecond}}),
		sys:  sys,
		bob:  identity.WithActor(context.Background(), &identity.Actor{UserID: bobUser.ID, Name: "bob", Role: identity.RoleMember, TeamIDs: []uuid.UUID{team.ID}, Scope: identity.ScopeWrite}),
		vera: identity.WithActor(context.Background(), &identity.Actor{Name: "vera", Role: identity.RoleViewer, Scope: identity.ScopeWrite}),
	}
}

func httpCheck(name, service, url string, interval time.Duration) check.Input {
	return check.Input{Name: name, Spec: check.Spec{
		Service: service, Environment: "prod", Interval: probe.Duration(interval), Timeout: probe.Duration(min(interval, time.Second)),
		Spec: probe.Spec{Type: probe.HTTP, HTTP: &probe.HTTPSpec{URL: url}},
	}}
}

func TestService_BadDefinitions(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		ok := httpCheck("ok", "api", "http://127.0.0.1:1/", time.Second)
		if _, _, err := f.svc.Create(f.sys, ok); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name  string
			edit  func(in *check.Input)
			field string
			msg   string
		}{
			{"typo in a condition", func(in *check.Input) { in.Conditions = []check.Condition{{Expr: "stauts == 200"}} }, "conditions[0].expr", "undeclared reference to 'stauts'"},
			{"condition not boolean", func(in *check.Input) { in.Conditions = []check.Condition{{Expr: "status + 1"}} }, "conditions[0].expr", "must be a condition"},
			{"interval below minimum", func(in *check.Input) { in.Interval = probe.Duration(time.Millisecond) }, "interval", "outside the allowed"},
			{"timeout above interval", func(in *check.Input) { in.Timeout = probe.Duration(time.Hour) }, "timeout", "at most the interval"},
			{"unknown service", func(in *check.Input) { in.Service = "ghost" }, "service", `service "ghost" does not exist`},
			{"environment the service does not run in", func(in *check.Input) { in.Environment = "staging" }, "environment", "does not run in"},
			{"bad URL", func(in *check.Input) { in.HTTP.URL = "ftp://x" }, "http.url", ""},
			{"missing probe settings", func(in *check.Input) { in.HTTP = nil }, "http", ""},
			{"unknown type", func(in *check.Input) { in.Type = "smoke-signal" }, "type", "not a check type"},
			{"unknown parent", func(in *check.Input) { in.Parent = "nope" }, "parent", "does not exist"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				in := httpCheck("x", "api", "http://127.0.0.1:1/", time.Second)
				tc.edit(&in)
				_, _, err := f.svc.Create(f.sys, in)
				if !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != tc.field || !strings.Contains(err.Error(), tc.msg) {
					t.Fatalf("Create = %v (field %q), want invalid %s containing %q", err, errs.FieldOf(err), tc.field, tc.msg)
				}
			})
		}
		// Parent cycles are refused.
		a := httpCheck("a", "api", "http://127.0.0.1:1/", time.Second)
		a.Parent = "ok"
		if _, _, err := f.svc.Create(f.sys, a); err != nil {
			t.Fatal(err)
		}
		ok.Parent = "a"
		if _, err := f.svc.Update(f.sys, "ok", ok, 0); errs.FieldOf(err) != "parent" {
			t.Fatalf("parent cycle: %v, want invalid parent", err)
		}
		// Members write checks of their own services only; viewers none.
		if _, _, err := f.svc.Create(f.bob, httpCheck("bob-api", "api", "http://127.0.0.1:1/", time.Second)); err != nil {
			t.Fatalf("member creates a check of their service: %v", err)
		}
		if _, _, err := f.svc.Create(f.bob, httpCheck("bob-db", "db", "http://127.0.0.1:1/", time.Second)); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("member creates a check of another team's service: %v, want forbidden", err)
		}
		if _, _, err := f.svc.Create(f.vera, httpCheck("v", "api", "http://127.0.0.1:1/", time.Second)); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("viewer creates a check: %v, want forbidden", err)
		}
	})
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRunner_HTTPCheckGoesDownAndUp(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		var status atomic.Int64
		status.Store(200)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(int(status.Load()))
			w.Write([]byte(`{"status":"UP"}`))
		}))
		defer srv.Close()
		in := httpCheck("api-health", "api", srv.URL, 50*time.Millisecond)
		in.Conditions = []check.Condition{{Name: "ok status", Expr: "status == 200"}, {Expr: `json.status == "UP"`}}
		if _, _, err := f.svc.Create(f.sys, in); err != nil {
			t.Fatal(err)
		}
		r := check.NewRunner(d, check.RunnerOptions{FlushInterval: 20 * time.Millisecond})
		if err := r.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer r.Stop(context.Background())
		stateOf := func() check.Status {
			c, err := f.svc.Get(f.sys, "api-health")
			if err != nil {
				t.Fatal(err)
			}
			return c.State.Status
		}
		waitFor(t, "up", 10*time.Second, func() bool { return stateOf() == check.Up })
		status.Store(503)
		waitFor(t, "down", 10*time.Second, func() bool { return stateOf() == check.Down })
		status.Store(200)
		waitFor(t, "up again", 10*time.Second, func() bool { return stateOf() == check.Up })

		evs, err := f.svc.Events(f.sys, "api-health", 10)
		if err != nil {
			t.Fatal(err)
		}
		var seq []string
		for i := len(evs) - 1; i >= 0; i-- {
			seq = append(seq, string(evs[i].From)+"→"+string(evs[i].To))
		}
		if strings.Join(seq, " ") != "unknown→up up→down down→up" {
			t.Fatalf("events = %v", seq)
		}
		down := evs[1]
		if !down.Alertable || !strings.Contains(down.Reason, "ok status") || down.Evidence == nil || down.Evidence.Conditions[0].OK {
			t.Fatalf("down event = %+v, want alertable with the failing condition named and its evidence", down)
		}
		res, err := f.svc.Results(f.sys, "api-health", time.Now().Add(-time.Hour), time.Now().Add(time.Hour), check.ResultsCursor{}, 1000)
		if err != nil || len(res) < 4 {
			t.Fatalf("results = %d, %v", len(res), err)
		}
		<-r.Flushed()
		u, err := f.svc.Uptime(f.sys, "api-health", time.Now().Add(-time.Hour), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if u.Runs < int64(len(res)) || u.Down < 2 || u.Percent == nil || *u.Percent <= 0 || *u.Percent >= 100 || u.P99 == 0 {
			t.Fatalf("uptime = %+v (percent %v) for %d results", u, u.Percent, len(res))
		}
		if len(u.Downtimes) != 1 || u.Downtimes[0].End == nil || !strings.Contains(u.Downtimes[0].Reason, "ok status") {
			t.Fatalf("downtimes = %+v, want one closed downtime with its reason", u.Downtimes)
		}
		days, err := f.svc.Days(f.sys, "api-health", 90)
		if err != nil || len(days) != 90 || days[89].Runs != u.Runs && days[89].Runs < u.Runs {
			t.Fatalf("days = %d (today %+v), %v", len(days), days[len(days)-1], err)
		}
	})
}

func TestRunner_ParentBlocksChild(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		closed := ln.Addr().String()
		ln.Close() // nothing listens here: connection refused
		parent := check.Input{Name: "db-port", Spec: check.Spec{Service: "db", Environment: "prod", Interval: probe.Duration(50 * time.Millisecond),
			Timeout: probe.Duration(50 * time.Millisecond), Confirm: check.Confirm{Down: 1}, Spec: probe.Spec{Type: probe.TCP, TCP: &probe.TCPSpec{Address: closed}}}}
		if _, _, err := f.svc.Create(f.sys, parent); err != nil {
			t.Fatal(err)
		}
		child := httpCheck("api-health", "api", "http://"+closed+"/", 50*time.Millisecond)
		child.Parent, child.Confirm = "db-port", check.Confirm{Down: 3}
		if _, _, err := f.svc.Create(f.sys, child); err != nil {
			t.Fatal(err)
		}
		r := check.NewRunner(d, check.RunnerOptions{FlushInterval: 20 * time.Millisecond})
		if err := r.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer r.Stop(context.Background())
		waitFor(t, "child blocked", 10*time.Second, func() bool {
			c, _ := f.svc.Get(f.sys, "api-health")
			p, _ := f.svc.Get(f.sys, "db-port")
			return c.State.Status == check.Blocked && p.State.Status == check.Down
		})
		p, _ := f.svc.Get(f.sys, "db-port")
		if !strings.Contains(p.State.Reason, "refused") {
			t.Errorf("parent reason = %q, want the precise connection error", p.State.Reason)
		}
		time.Sleep(300 * time.Millisecond)
		evs, _ := f.svc.Events(f.sys, "api-health", 10)
		for _, e := range evs {
			if e.Alertable || e.To == check.Down {
				t.Fatalf("child event %s→%s alertable=%v while its parent is down", e.From, e.To, e.Alertable)
			}
		}
		if len(evs) == 0 || !strings.Contains(evs[0].Reason, "blocked by parent db-port") {
			t.Fatalf("child events = %+v", evs)
		}
	})
}

func TestHeartbeat(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		in := check.Input{Name: "nightly-backup", Spec: check.Spec{Service: "db", Environment: "prod",
			Interval: probe.Duration(300 * time.Millisecond), Confirm: check.Confirm{Down: 1},
			Heartbeat: &check.HeartbeatSpec{Grace: probe.Duration(200 * time.Millisecond)}}}
		in.Spec.Spec.Type = check.Heartbeat
		_, secret, err := f.svc.Create(f.sys, in)
		if err != nil || !strings.HasPrefix(secret, "gchb_") {
			t.Fatalf("create heartbeat = %q, %v", secret, err)
		}
		if _, err := f.svc.Ping(context.Background(), secret+"x", false, ""); !errs.Is(err, errs.NotFound) {
			t.Fatalf("ping with a wrong secret: %v, want not found", err)
		}
		r := check.NewRunner(d, check.RunnerOptions{FlushInterval: 20 * time.Millisecond})
		if err := r.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer r.Stop(context.Background())
		stateOf := func() check.State {
			c, _ := f.svc.Get(f.sys, "nightly-backup")
			return *c.State
		}
		if _, err := f.svc.Ping(context.Background(), secret, false, ""); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "up after a ping", 5*time.Second, func() bool { return stateOf().Status == check.Up })
		if _, err := f.svc.Ping(context.Background(), secret, true, "disk full"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "down after a failure ping", 5*time.Second, func() bool { return stateOf().Status == check.Down })
		if s := stateOf(); !strings.Contains(s.Reason, "disk full") {
			t.Fatalf("reason = %q, want the ping's message", s.Reason)
		}
		f.svc.Ping(context.Background(), secret, false, "")
		waitFor(t, "up again", 5*time.Second, func() bool { return stateOf().Status == check.Up })
		// No more pings: down once interval + grace have passed.
		waitFor(t, "down when pings stop", 5*time.Second, func() bool { return stateOf().Status == check.Down })
		if s := stateOf(); !strings.Contains(s.Reason, "no ping since") {
			t.Fatalf("reason = %q, want a missed ping", s.Reason)
		}
	})
}
