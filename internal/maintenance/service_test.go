package maintenance_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"groundcrew.dev/groundcrew/internal/audit"
	"groundcrew.dev/groundcrew/internal/catalog"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/maintenance"
)

// now is the fixture's time: Wednesday 2026-06-03 12:00 in Berlin.
var now = time.Date(2026, 6, 3, 10, 0, 0, 0, time.UTC)

type fixture struct {
	db    *db.DB
	clock *clock.Fake
	ids   *identity.Service
	cat   *catalog.Catalog
	svc   *maintenance.Service
	sys   context.Context
}

// setup makes teams payments (bob) and platform, environments prod and
// staging, and services api (payments; prod, staging) and postgres-main
// (platform; prod).
func setup(t *testing.T, d *db.DB) *fixture {
	t.Helper()
	clk := clock.NewFake(now)
	ids := identity.NewService(d, clk, nil, identity.Options{})
	cat := catalog.New(d, clk, ids, nil)
	f := &fixture{db: d, clock: clk, ids: ids, cat: cat, svc: maintenance.NewService(d, clk, cat, maintenance.Options{}),
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
	for _, tm := range []identity.TeamInput{{Name: "payments", Members: []string{"bob"}}, {Name: "platform"}} {
		_, err := ids.CreateTeam(f.sys, tm)
		must(err)
	}
	for _, e := range []string{"prod", "staging"} {
		_, err := cat.CreateEnvironment(f.sys, catalog.EnvironmentInput{Name: e, EnvironmentSpec: catalog.EnvironmentSpec{Criticality: "high"}})
		must(err)
	}
	for _, s := range []catalog.ServiceInput{
		{Name: "api", ServiceSpec: catalog.ServiceSpec{Owner: "payments", Tier: 1, Environments: []string{"prod", "staging"}}},
		{Name: "postgres-main", ServiceSpec: catalog.ServiceSpec{Owner: "platform", Tier: 1, Environments: []string{"prod"}}},
	} {
		_, err := cat.CreateService(f.sys, s)
		must(err)
	}
	return f
}

// as returns a context acting as the named user through a session.
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

// weekly is a Saturday-night window for services in Berlin.
func weekly(name string, services ...string) maintenance.Input {
	return maintenance.Input{Name: name, Spec: maintenance.Spec{Description: "weekly patching", Services: services,
		Recurrence: &maintenance.RecurrenceSpec{TimeZone: "Europe/Berlin", Days: []string{"sat"}, At: "23:00", Duration: "3h"}}}
}

// oneOff is a window from start for d.
func oneOff(name string, start time.Time, d time.Duration, services ...string) maintenance.Input {
	end := start.Add(d)
	return maintenance.Input{Name: name, Spec: maintenance.Spec{Services: services, Start: &start, End: &end}}
}

func TestService_BadInput(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		olga := f.as(t, "olga")
		before, _ := audit.List(context.Background(), d.Reader(), audit.Filter{Limit: 500})
		for _, tc := range []struct {
			name  string
			edit  func(in *maintenance.Input)
			field string
			msg   string
		}{
			{"bad name", func(in *maintenance.Input) { in.Name = "Nightly Patching" }, "name", "not a valid name"},
			{"unknown time zone", func(in *maintenance.Input) { in.Recurrence.TimeZone = "Europe/Atlantis" }, "recurrence.time_zone", `unknown time zone "Europe/Atlantis"`},
			{"missing time zone", func(in *maintenance.Input) { in.Recurrence.TimeZone = "" }, "recurrence.time_zone", "is required"},
			{"bad start time", func(in *maintenance.Input) { in.Recurrence.At = "2am" }, "recurrence.at", "want HH:MM"},
			{"bad day", func(in *maintenance.Input) { in.Recurrence.Days = []string{"sat", "caturday"} }, "recurrence.days[1]", "not a day"},
			{"duration over a week", func(in *maintenance.Input) { in.Recurrence.Duration = "169h" }, "recurrence.duration", "at most 168h"},
			{"one-off and recurring", func(in *maintenance.Input) { in.Start = &now }, "recurrence", "not both"},
			{"neither", func(in *maintenance.Input) { in.Recurrence = nil }, "start", "is required"},
			{"end without start", func(in *maintenance.Input) { in.Recurrence, in.End = nil, &now }, "start", "is required with end"},
			{"end before start", func(in *maintenance.Input) {
				*in = oneOff(in.Name, now, -time.Hour, "api")
			}, "end", "must be after start"},
			{"one-off over 31 days", func(in *maintenance.Input) { *in = oneOff(in.Name, now, 32*24*time.Hour, "api") }, "end", "at most 31 days"},
			{"dangling service", func(in *maintenance.Input) { in.Services = []string{"api", "ghost"} }, "services[1]", `service "ghost" does not exist`},
			{"bad service name", func(in *maintenance.Input) { in.Services = []string{"API"} }, "services[0]", "not a valid name"},
			{"dangling environment", func(in *maintenance.Input) { in.Environments = []string{"prod", "mars"} }, "environments[1]", `environment "mars" does not exist`},
			{"long description", func(in *maintenance.Input) { in.Description = strings.Repeat("x", 4001) }, "description", "at most 4000"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				in := weekly("w", "postgres-main", "api")
				tc.edit(&in)
				_, err := f.svc.Create(olga, in)
				if !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != tc.field || !strings.Contains(err.Error(), tc.msg) {
					t.Fatalf("Create = %v (field %q), want invalid %s containing %q", err, errs.FieldOf(err), tc.field, tc.msg)
				}
			})
		}
		after, _ := audit.List(context.Background(), d.Reader(), audit.Filter{Limit: 500})
		if len(after) != len(before) {
			t.Errorf("audit grew from %d to %d rows after failed writes", len(before), len(after))
		}
		if _, err := f.svc.Get(f.sys, "w"); !errs.Is(err, errs.NotFound) {
			t.Errorf("window w exists after failed creates: %v", err)
		}
	})
}

func TestService_Authorization(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		bob, vera, olga := f.as(t, "bob"), f.as(t, "vera"), f.as(t, "olga")
		forbidden := func(what string, err error, msg string) {
			t.Helper()
			if !errs.Is(err, errs.Forbidden) || !strings.Contains(err.Error(), msg) {
				t.Errorf("%s: %v, want forbidden containing %q", what, err, msg)
			}
		}
		if _, err := f.svc.Create(bob, weekly("api-patch", "api")); err != nil {
			t.Fatalf("member creates a window for their team's service: %v", err)
		}
		staging := weekly("api-staging", "api")
		staging.Environments = []string{"staging"}
		if _, err := f.svc.Create(bob, staging); err != nil {
			t.Fatalf("member narrows their window to an environment: %v", err)
		}
		_, err := f.svc.Create(bob, weekly("both", "api", "postgres-main"))
		forbidden("member names another team's service", err, "may not write-owned")
		_, err = f.svc.Create(bob, weekly("everything"))
		forbidden("member writes a window over every service", err, "only operators")
		_, err = f.svc.Update(bob, "api-patch", weekly("api-patch", "api", "postgres-main"), 0)
		forbidden("member widens their window to another team's service", err, "may not write-owned")
		_, err = f.svc.Create(vera, weekly("v", "api"))
		forbidden("viewer creates", err, "viewer")
		ro := *identity.ActorFrom(olga)
		ro.Scope = identity.ScopeRead
		_, err = f.svc.Create(identity.WithActor(context.Background(), &ro), weekly("ro", "api"))
		forbidden("read-only token creates", err, "read-only")
		if _, err := f.svc.Get(context.Background(), "api-patch"); !errs.Is(err, errs.Unauthorized) {
			t.Errorf("anonymous read: %v, want unauthorized", err)
		}

		if _, err := f.svc.Create(olga, weekly("everything")); err != nil {
			t.Fatalf("operator creates a window over every service: %v", err)
		}
		_, err = f.svc.Update(bob, "everything", weekly("everything", "api"), 0)
		forbidden("member takes over the operators' window", err, "only operators")
		forbidden("member deletes the operators' window", f.svc.Delete(bob, "everything", 0), "only operators")
		if _, err := f.svc.Get(vera, "everything"); err != nil {
			t.Errorf("viewer reads: %v", err)
		}
		if err := f.svc.Delete(bob, "api-staging", 0); err != nil {
			t.Errorf("member deletes their window: %v", err)
		}

		// A window keeps naming a service deleted later; it then mutes
		// nothing there, and only operators may change it.
		if _, err := f.cat.CreateService(f.sys, catalog.ServiceInput{Name: "tmp", ServiceSpec: catalog.ServiceSpec{Owner: "payments", Tier: 3}}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Create(bob, weekly("tmp-patch", "tmp")); err != nil {
			t.Fatal(err)
		}
		if err := f.cat.DeleteService(f.sys, "tmp", 0); err != nil {
			t.Fatalf("delete a service a window names: %v", err)
		}
		forbidden("member deletes a window naming a deleted service", f.svc.Delete(bob, "tmp-patch", 0), "may not write-catalog")
		if err := f.svc.Delete(olga, "tmp-patch", 0); err != nil {
			t.Errorf("operator deletes a window naming a deleted service: %v", err)
		}
	})
}

func TestService_RevisionsAuditAndLists(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		olga := f.as(t, "olga")
		w, err := f.svc.Create(olga, weekly("db-patch", "postgres-main"))
		if err != nil || w.Revision != 1 {
			t.Fatalf("create = rev %d, %v", w.Revision, err)
		}
		// Saturday 2026-06-06 23:00 CEST = 21:00Z, for 3 h.
		wantNext := &maintenance.Interval{Start: time.Date(2026, 6, 6, 21, 0, 0, 0, time.UTC), End: time.Date(2026, 6, 7, 0, 0, 0, 0, time.UTC)}
		if w.Active || !cmp.Equal(w.Next, wantNext) {
			t.Errorf("create: active %v next %v, want inactive with next %v", w.Active, w.Next, wantNext)
		}
		in := weekly("db-patch", "postgres-main")
		in.Recurrence.Days = []string{"sun", "sat", "sat"}
		in.Recurrence.Duration = "180m"
		w, err = f.svc.Update(olga, "db-patch", in, 1)
		if err != nil || w.Revision != 2 || !cmp.Equal(w.Recurrence.Days, []string{"sat", "sun"}) || w.Recurrence.Duration != "3h" {
			t.Fatalf("update = rev %d %+v, %v", w.Revision, w.Recurrence, err)
		}
		if _, err := f.svc.Update(olga, "db-patch", weekly("db-patch", "api"), 1); !errs.Is(err, errs.Precondition) {
			t.Fatalf("stale update = %v, want precondition", err)
		}
		// The same window written differently (another offset, another
		// order) is no change.
		start := time.Date(2026, 6, 3, 12, 0, 0, 0, time.FixedZone("CEST", 2*3600))
		if _, err := f.svc.Create(olga, oneOff("migration", start, 2*time.Hour, "api", "postgres-main")); err != nil {
			t.Fatal(err)
		}
		same := oneOff("migration", start.UTC(), 2*time.Hour, "postgres-main", "api", "api")
		if w, err := f.svc.Update(olga, "migration", same, 0); err != nil || w.Revision != 1 {
			t.Fatalf("no-op update = rev %d, %v; want unchanged revision 1", w.Revision, err)
		}
		recs, err := audit.List(context.Background(), d.Reader(), audit.Filter{ObjectKind: "maintenance-window", ObjectName: "db-patch"})
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, r := range recs {
			actions = append(actions, r.Action+" by "+r.ActorName)
		}
		if diff := cmp.Diff([]string{"update by olga", "create by olga"}, actions); diff != "" {
			t.Errorf("audit (-want +got):\n%s", diff)
		}
		if strings.Contains(string(recs[0].After), `"active"`) {
			t.Errorf("audit keeps the read-only status: %s", recs[0].After)
		}

		// now (10:00Z) is within the migration (10:00Z–12:00Z).
		if _, err := f.svc.Create(olga, weekly("staging-all")); err != nil {
			t.Fatal(err)
		}
		list := func(fl maintenance.Filter) string {
			t.Helper()
			ws, next, err := f.svc.List(f.sys, fl)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, w := range ws {
				got = append(got, w.Name)
			}
			return strings.Join(got, ",") + "|" + next
		}
		for _, tc := range []struct {
			name string
			f    maintenance.Filter
			want string
		}{
			{"all", maintenance.Filter{}, "db-patch,migration,staging-all|"},
			{"active now", maintenance.Filter{Active: true}, "migration|"},
			{"muting api (named or every service)", maintenance.Filter{Service: "api"}, "migration,staging-all|"},
			{"search", maintenance.Filter{Query: "PATCHING"}, "db-patch,staging-all|"},
			{"page 1", maintenance.Filter{Limit: 2}, "db-patch,migration|migration"},
			{"page 2", maintenance.Filter{Limit: 2, After: "migration"}, "staging-all|"},
		} {
			if got := list(tc.f); got != tc.want {
				t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
			}
		}
		if err := f.svc.Delete(olga, "migration", 5); !errs.Is(err, errs.Precondition) {
			t.Errorf("stale delete = %v, want precondition", err)
		}
		if err := f.svc.Delete(olga, "migration", 1); err != nil {
			t.Fatal(err)
		}
		recs, _ = audit.List(context.Background(), d.Reader(), audit.Filter{ObjectKind: "maintenance-window", ObjectName: "migration"})
		if len(recs) != 2 || recs[0].Action != "delete" || recs[0].ActorName != "olga" {
			t.Errorf("audit of the deleted window: %+v", recs)
		}
	})
}

func TestService_OccurrencesAndUpcoming(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		olga := f.as(t, "olga")
		for _, in := range []maintenance.Input{
			weekly("db-patch", "postgres-main"),
			oneOff("api-migration", time.Date(2026, 6, 4, 20, 0, 0, 0, time.UTC), 2*time.Hour, "api"),
			oneOff("dc-move", time.Date(2026, 6, 3, 9, 0, 0, 0, time.UTC), 4*time.Hour), // every service, in effect now
		} {
			if _, err := f.svc.Create(olga, in); err != nil {
				t.Fatal(err)
			}
		}
		occ, err := f.svc.Occurrences(f.sys, "db-patch", time.Time{}, now.Add(14*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"2026-06-06T21:00:00Z/2026-06-07T00:00:00Z", "2026-06-13T21:00:00Z/2026-06-14T00:00:00Z"}, spans(occ)); diff != "" {
			t.Errorf("occurrences from now for 14 days (-want +got):\n%s", diff)
		}
		if _, err := f.svc.Occurrences(f.sys, "db-patch", now, now.Add(401*24*time.Hour)); errs.FieldOf(err) != "to" {
			t.Errorf("a 401-day span: %v, want invalid to", err)
		}
		if _, err := f.svc.Occurrences(f.sys, "db-patch", now, now); errs.FieldOf(err) != "to" {
			t.Errorf("an empty span: %v, want invalid to", err)
		}
		if _, err := f.svc.Occurrences(f.sys, "nope", now, now.Add(time.Hour)); !errs.Is(err, errs.NotFound) {
			t.Errorf("unknown window: %v, want not found", err)
		}

		up, err := f.svc.Upcoming(f.sys, []string{"api"}, now, now.Add(7*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		want := []maintenance.Occurrence{
			{Window: "dc-move", Start: time.Date(2026, 6, 3, 9, 0, 0, 0, time.UTC), End: time.Date(2026, 6, 3, 13, 0, 0, 0, time.UTC)},
			{Window: "api-migration", Services: []string{"api"}, Start: time.Date(2026, 6, 4, 20, 0, 0, 0, time.UTC), End: time.Date(2026, 6, 4, 22, 0, 0, 0, time.UTC)},
		}
		if diff := cmp.Diff(want, up); diff != "" {
			t.Errorf("upcoming for api (-want +got):\n%s", diff)
		}
		all, err := f.svc.Upcoming(f.sys, nil, now, now.Add(7*24*time.Hour))
		if err != nil || len(all) != 3 || all[2].Window != "db-patch" || all[2].Description != "weekly patching" {
			t.Errorf("upcoming for every service = %+v, %v", all, err)
		}
		if _, err := f.svc.Upcoming(context.Background(), nil, now, now.Add(time.Hour)); !errs.Is(err, errs.Unauthorized) {
			t.Errorf("anonymous upcoming: %v, want unauthorized", err)
		}
	})
}

func TestCache_Muted(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		olga := f.as(t, "olga")
		prodOnly := weekly("db-patch", "postgres-main")
		prodOnly.Environments = []string{"prod"}
		if _, err := f.svc.Create(olga, prodOnly); err != nil {
			t.Fatal(err)
		}
		c := maintenance.NewCache(d, maintenance.CacheOptions{Clock: f.clock, Interval: 30 * time.Second})
		f.svc.SetChanged(c.Changed)
		if _, muted := c.Muted("postgres-main", "prod", time.Date(2026, 6, 6, 22, 0, 0, 0, time.UTC)); muted {
			t.Fatal("muted before the first load")
		}
		if err := c.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer c.Stop(context.Background())
		sat := time.Date(2026, 6, 6, 22, 0, 0, 0, time.UTC) // Sunday 00:00 in Berlin, within Saturday's window
		for _, tc := range []struct {
			service, env string
			at           time.Time
			want         bool
		}{
			{"postgres-main", "prod", sat, true},
			{"postgres-main", "staging", sat, false},
			{"api", "prod", sat, false},
			{"postgres-main", "prod", sat.Add(2 * time.Hour), false}, // 02:00 Sunday: the end is excluded
		} {
			reason, muted := c.Muted(tc.service, tc.env, tc.at)
			if muted != tc.want || muted && reason != "maintenance db-patch" {
				t.Errorf("Muted(%s, %s, %s) = %q, %v; want %v", tc.service, tc.env, tc.at, reason, muted, tc.want)
			}
		}
		// A change through the service reloads at once.
		if err := f.svc.Delete(olga, "db-patch", 0); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the deleted window to stop muting", func() bool { _, m := c.Muted("postgres-main", "prod", sat); return !m })
		// A change made elsewhere (another replica: no signal here) is
		// picked up by the periodic reload.
		other := maintenance.NewService(d, f.clock, f.cat, maintenance.Options{})
		if _, err := other.Create(olga, oneOff("api-now", now, time.Hour, "api")); err != nil {
			t.Fatal(err)
		}
		if _, m := c.Muted("api", "staging", now); m {
			t.Fatal("muted before the periodic reload")
		}
		f.clock.BlockUntil(1)
		f.clock.Advance(30 * time.Second)
		waitFor(t, "the periodic reload", func() bool { _, m := c.Muted("api", "staging", now); return m })
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
