package catalog_test

import (
	"context"
	"slices"
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
)

type fixture struct {
	db  *db.DB
	ids *identity.Service
	cat *catalog.Catalog
	sys context.Context
}

func setup(t *testing.T, d *db.DB) *fixture {
	t.Helper()
	clk := clock.NewFake(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	ids := identity.NewService(d, clk, nil, identity.Options{})
	f := &fixture{db: d, ids: ids, cat: catalog.New(d, clk, ids, nil), sys: identity.WithActor(context.Background(), identity.System())}
	for _, u := range []identity.UserInput{{Name: "bob", Role: identity.RoleMember}, {Name: "vera", Role: identity.RoleViewer}, {Name: "olga", Role: identity.RoleOperator}} {
		if _, err := ids.CreateUser(f.sys, u); err != nil {
			t.Fatal(err)
		}
	}
	for _, tm := range []identity.TeamInput{{Name: "payments", Members: []string{"bob"}}, {Name: "platform"}} {
		if _, err := ids.CreateTeam(f.sys, tm); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range []string{"prod", "staging"} {
		if _, err := f.cat.CreateEnvironment(f.sys, catalog.EnvironmentInput{Name: e, EnvironmentSpec: catalog.EnvironmentSpec{Criticality: "high"}}); err != nil {
			t.Fatal(err)
		}
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

func svc(name, owner string, deps ...string) catalog.ServiceInput {
	return catalog.ServiceInput{Name: name, ServiceSpec: catalog.ServiceSpec{Owner: owner, Tier: 2, Environments: []string{"prod"}, DependsOn: deps}}
}

func TestServices_DependenciesBothWays(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		for _, in := range []catalog.ServiceInput{svc("db", "platform"), svc("api", "payments", "db"), svc("web", "payments", "api", "db")} {
			if _, err := f.cat.CreateService(f.sys, in); err != nil {
				t.Fatalf("create %s: %v", in.Name, err)
			}
		}
		got, err := f.cat.GetService(f.sys, "db")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"api", "web"}, got.Dependents); diff != "" {
			t.Errorf("db dependents (-want +got):\n%s", diff)
		}
		web, _ := f.cat.GetService(f.sys, "web")
		if diff := cmp.Diff([]string{"api", "db"}, web.DependsOn); diff != "" {
			t.Errorf("web depends on (-want +got):\n%s", diff)
		}
		list, next, err := f.cat.ListServices(f.sys, catalog.ListOptions{Limit: 2}, catalog.ServiceFilter{})
		if err != nil || len(list) != 2 || next != "db" {
			t.Fatalf("page 1 = %d items, next %q, %v", len(list), next, err)
		}
		if diff := cmp.Diff([]string{"db"}, list[0].DependsOn); diff != "" {
			t.Errorf("listed api depends on (-want +got):\n%s", diff)
		}
		list, next, _ = f.cat.ListServices(f.sys, catalog.ListOptions{Limit: 2, After: next}, catalog.ServiceFilter{})
		if len(list) != 1 || list[0].Name != "web" || next != "" {
			t.Fatalf("page 2 = %v, next %q", list, next)
		}
		err = f.cat.DeleteService(f.sys, "db", 0)
		if !errs.Is(err, errs.Conflict) {
			t.Fatalf("delete a dependency = %v, want conflict", err)
		}
	})
}

func TestServices_BadInputWritesNothing(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		before, _ := audit.List(context.Background(), d.Reader(), audit.Filter{Limit: 500})
		for _, tc := range []struct {
			name  string
			in    catalog.ServiceInput
			field string
		}{
			{"bad name", svc("Payments API", "payments"), "name"},
			{"unknown owner", svc("x", "nobody"), "owner"},
			{"unknown dependency", svc("x", "payments", "ghost"), "depends_on[0]"},
			{"self dependency", svc("x", "payments", "x"), "depends_on[0]"},
			{"unknown environment", catalog.ServiceInput{Name: "x", ServiceSpec: catalog.ServiceSpec{Owner: "payments", Tier: 1, Environments: []string{"mars"}}}, "environments[0]"},
			{"tier out of range", catalog.ServiceInput{Name: "x", ServiceSpec: catalog.ServiceSpec{Owner: "payments", Tier: 9}}, "tier"},
			{"bad runbook", catalog.ServiceInput{Name: "x", ServiceSpec: catalog.ServiceSpec{Owner: "payments", Tier: 1, Runbook: "javascript:alert(1)"}}, "runbook"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.cat.CreateService(f.sys, tc.in)
				if !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != tc.field {
					t.Fatalf("err = %v (field %q), want invalid %s", err, errs.FieldOf(err), tc.field)
				}
			})
		}
		after, _ := audit.List(context.Background(), d.Reader(), audit.Filter{Limit: 500})
		if len(after) != len(before) {
			t.Errorf("audit grew from %d to %d rows after failed writes", len(before), len(after))
		}
		if _, err := f.cat.GetService(f.sys, "x"); !errs.Is(err, errs.NotFound) {
			t.Errorf("service x exists after failed creates: %v", err)
		}
	})
}

func TestServices_Authorization(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		bob, vera, olga := f.as(t, "bob"), f.as(t, "vera"), f.as(t, "olga")
		if _, err := f.cat.CreateService(bob, svc("checkout", "payments")); err != nil {
			t.Fatalf("member creates own team's service: %v", err)
		}
		if _, err := f.cat.CreateService(bob, svc("infra", "platform")); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("member creates another team's service: %v, want forbidden", err)
		}
		if _, err := f.cat.UpdateService(bob, "checkout", svc("checkout", "platform"), 0); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("member gives service to another team: %v, want forbidden", err)
		}
		if _, err := f.cat.CreateService(vera, svc("v", "payments")); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("viewer creates: %v, want forbidden", err)
		}
		if _, err := f.cat.CreateEnvironment(bob, catalog.EnvironmentInput{Name: "dev", EnvironmentSpec: catalog.EnvironmentSpec{Criticality: "low"}}); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("member creates environment: %v, want forbidden", err)
		}
		if _, err := f.cat.UpdateService(olga, "checkout", svc("checkout", "platform"), 0); err != nil {
			t.Fatalf("operator moves service: %v", err)
		}
		if _, err := f.cat.GetService(context.Background(), "checkout"); !errs.Is(err, errs.Unauthorized) {
			t.Fatalf("anonymous read: %v, want unauthorized", err)
		}
		readOnly := identity.ActorFrom(olga)
		ro := *readOnly
		ro.Scope = identity.ScopeRead
		if _, err := f.cat.CreateService(identity.WithActor(context.Background(), &ro), svc("ro", "platform")); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("read-scoped token writes: %v, want forbidden", err)
		}
	})
}

func TestServices_RevisionsAndAudit(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		olga := f.as(t, "olga")
		s, err := f.cat.CreateService(olga, svc("api", "payments"))
		if err != nil || s.Revision != 1 {
			t.Fatalf("create = rev %d, %v", s.Revision, err)
		}
		in := svc("api", "payments")
		in.Tags = []string{"go", "pci", "go"}
		s, err = f.cat.UpdateService(olga, "api", in, 1)
		if err != nil || s.Revision != 2 || !slices.Equal(s.Tags, []string{"go", "pci"}) {
			t.Fatalf("update = rev %d tags %v, %v", s.Revision, s.Tags, err)
		}
		if _, err := f.cat.UpdateService(olga, "api", svc("api", "platform"), 1); !errs.Is(err, errs.Precondition) {
			t.Fatalf("stale update = %v, want precondition", err)
		}
		same, err := f.cat.UpdateService(olga, "api", in, 2)
		if err != nil || same.Revision != 2 {
			t.Fatalf("no-op update = rev %d, %v; want unchanged revision 2", same.Revision, err)
		}
		tagged, _, _ := f.cat.ListServices(f.sys, catalog.ListOptions{}, catalog.ServiceFilter{Tag: "pci"})
		if len(tagged) != 1 {
			t.Fatalf("tag filter = %d services, want 1", len(tagged))
		}
		noRunbook, _, _ := f.cat.ListServices(f.sys, catalog.ListOptions{}, catalog.ServiceFilter{NoRunbook: true})
		unstaffed, _, _ := f.cat.ListServices(f.sys, catalog.ListOptions{}, catalog.ServiceFilter{Unstaffed: true})
		if len(noRunbook) != 1 || len(unstaffed) != 0 {
			t.Fatalf("no-runbook filter = %d, unstaffed = %d; want 1 and 0 (payments has a member)", len(noRunbook), len(unstaffed))
		}
		recs, err := audit.List(context.Background(), d.Reader(), audit.Filter{ObjectKind: "service", ObjectName: "api"})
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
	})
}

func TestServices_SearchEscapesWildcards(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		for _, n := range []string{"pay-api", "payxapi"} {
			if _, err := f.cat.CreateService(f.sys, svc(n, "payments")); err != nil {
				t.Fatal(err)
			}
		}
		in := svc("x", "payments")
		in.Description = "100% uptime_goal"
		if _, err := f.cat.CreateService(f.sys, in); err != nil {
			t.Fatal(err)
		}
		for q, want := range map[string]int{"pay-api": 1, "pay_api": 0, "%": 1, "_goal": 1, "PAY": 2} {
			got, _, err := f.cat.ListServices(f.sys, catalog.ListOptions{Query: q}, catalog.ServiceFilter{})
			if err != nil || len(got) != want {
				t.Errorf("search %q = %d services, %v; want %d", q, len(got), err, want)
			}
		}
	})
}
