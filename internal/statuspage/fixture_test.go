package statuspage_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/catalog"
	"groundcrew.dev/groundcrew/internal/check"
	"groundcrew.dev/groundcrew/internal/check/probe"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/statuspage"
)

var _ statuspage.Catalog = (*catalog.Catalog)(nil)

// start is the fixture's time: late in a UTC day, so that "today" has hours.
var start = time.Date(2026, 11, 27, 18, 0, 0, 0, time.UTC)

type fixture struct {
	t      testing.TB
	db     *db.DB
	clk    *clock.Fake
	ids    *identity.Service
	checks *check.Service
	svc    *statuspage.Service
	sys    context.Context
	olga   context.Context // operator
	bob    context.Context // member of payments, which owns api
	vera   context.Context // viewer
	anon   context.Context
}

// setup creates users, the services api (payments) and db (platform) in
// prod, and four checks that never run: api-http (an HTTP check with an
// internal URL), api-latency, db-port and db-backup (heartbeats).
func setup(t testing.TB, d *db.DB) *fixture {
	t.Helper()
	clk := clock.NewFake(start)
	ids := identity.NewService(d, clk, nil, identity.Options{})
	cat := catalog.New(d, clk, ids, nil)
	f := &fixture{t: t, db: d, clk: clk, ids: ids, sys: identity.WithActor(context.Background(), identity.System()), anon: context.Background()}
	f.checks = check.NewService(d, clk, cat, check.Options{})
	f.svc = statuspage.NewService(d, clk, cat, statuspage.Options{})
	for _, u := range []identity.UserInput{{Name: "olga", Role: identity.RoleOperator}, {Name: "bob", Role: identity.RoleMember}, {Name: "vera", Role: identity.RoleViewer}} {
		f.must(ids.CreateUser(f.sys, u))
	}
	f.must(ids.CreateTeam(f.sys, identity.TeamInput{Name: "payments", Members: []string{"bob"}}))
	f.must(ids.CreateTeam(f.sys, identity.TeamInput{Name: "platform"}))
	f.must(cat.CreateEnvironment(f.sys, catalog.EnvironmentInput{Name: "prod", EnvironmentSpec: catalog.EnvironmentSpec{Criticality: "high"}}))
	for _, s := range []catalog.ServiceInput{
		{Name: "api", ServiceSpec: catalog.ServiceSpec{Owner: "payments", Tier: 1, Environments: []string{"prod"}}},
		{Name: "db", ServiceSpec: catalog.ServiceSpec{Owner: "platform", Tier: 1, Environments: []string{"prod"}}},
		{Name: "web", ServiceSpec: catalog.ServiceSpec{Owner: "payments", Tier: 2, Environments: []string{"prod"}}},
	} {
		f.must(cat.CreateService(f.sys, s))
	}
	hb := func(name, service string) check.Input {
		return check.Input{Name: name, Spec: check.Spec{Service: service, Environment: "prod", Interval: probe.Duration(time.Minute), Spec: probe.Spec{Type: check.Heartbeat}}}
	}
	for _, in := range []check.Input{
		{Name: "api-http", Spec: check.Spec{Service: "api", Environment: "prod", Interval: probe.Duration(30 * time.Second),
			Spec: probe.Spec{Type: probe.HTTP, HTTP: &probe.HTTPSpec{URL: "http://10.9.8.7:8443/secret-health"}}}},
		hb("api-latency", "api"), hb("db-port", "db"), hb("db-backup", "db"),
	} {
		_, _, err := f.checks.Create(f.sys, in)
		f.noErr(err)
	}
	f.olga, f.bob, f.vera = f.as("olga"), f.as("bob"), f.as("vera")
	return f
}

func (f *fixture) noErr(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) must(_ any, err error) {
	f.t.Helper()
	f.noErr(err)
}

// as returns a context acting as the named user through a session.
func (f *fixture) as(name string) context.Context {
	f.t.Helper()
	u, err := f.ids.GetUser(f.sys, name)
	f.noErr(err)
	a := &identity.Actor{UserID: u.ID, Name: u.Name, Role: u.Role, Scope: identity.ScopeWrite, Via: "session"}
	for _, tn := range u.Teams {
		tm, err := f.ids.GetTeam(f.sys, tn)
		f.noErr(err)
		a.TeamIDs = append(a.TeamIDs, tm.ID)
	}
	return identity.WithActor(context.Background(), a)
}

// page is a valid page input: component "api" (all checks of api) and
// component "database" (only db-port of db).
func page(name string) statuspage.PageInput {
	return statuspage.PageInput{Name: name, Spec: statuspage.Spec{
		Title: "Acme status", LogoText: "Acme", Description: "How Acme is doing.",
		Components: []statuspage.Component{
			{Name: "api", DisplayName: "Public API", Services: []string{"api"}},
			{Name: "database", DisplayName: "Database", Services: []string{"db"}, Checks: []string{"db-port"}},
		},
	}}
}

func (f *fixture) checkID(name string) uuid.UUID {
	f.t.Helper()
	var id uuid.UUID
	f.noErr(f.db.Reader().QueryRowContext(context.Background(), `SELECT id FROM checks WHERE name = $1`, name).Scan(&id))
	return id
}

// setState sets a check's confirmed state as the runner would.
func (f *fixture) setState(name string, status check.Status, reason string) {
	f.t.Helper()
	id := f.checkID(name)
	_, err := f.db.Writer().ExecContext(context.Background(), `INSERT INTO check_state (check_id, status, since, reason, last_status, streak)
		VALUES ($1, $2, $3, $4, $2, 1) ON CONFLICT (check_id) DO UPDATE SET status = excluded.status, reason = excluded.reason`,
		id, string(status), f.clk.Now(), reason)
	f.noErr(err)
}

// addRuns adds runs to a check's daily and hourly rollups at t.
func (f *fixture) addRuns(name string, t time.Time, runs, down, degraded int64) {
	f.t.Helper()
	id := f.checkID(name)
	t = t.UTC()
	for _, b := range []struct {
		period string
		at     time.Time
	}{{"day", time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)}, {"hour", t.Truncate(time.Hour)}} {
		_, err := f.db.Writer().ExecContext(context.Background(), `INSERT INTO check_rollups (check_id, period, bucket, runs, up, degraded, down, duration_us)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 0) ON CONFLICT (check_id, period, bucket) DO UPDATE SET runs = check_rollups.runs + excluded.runs,
			up = check_rollups.up + excluded.up, degraded = check_rollups.degraded + excluded.degraded, down = check_rollups.down + excluded.down`,
			id, b.period, b.at, runs, runs-down-degraded, degraded, down)
		f.noErr(err)
	}
}
