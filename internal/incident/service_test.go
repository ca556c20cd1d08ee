package incident_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/catalog"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
	"groundcrew.dev/groundcrew/internal/doccheck"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/incident"
	"groundcrew.dev/groundcrew/internal/statuspage"
)

// now is the fixture's time: Monday 30 March 2026, 10:00 UTC.
var now = time.Date(2026, 3, 30, 10, 0, 0, 0, time.UTC)

type fixture struct {
	db    *db.DB
	clock *clock.Fake
	ids   *identity.Service
	cat   *catalog.Catalog
	pages *statuspage.Service
	svc   *incident.Service
	sys   context.Context
}

// setup makes users ana and bob (members of payments), mallory (member of
// platform), olga (operator) and vera (viewer); service api owned by
// payments and web owned by platform; status page status with component
// api.
func setup(t *testing.T, d *db.DB) *fixture {
	t.Helper()
	clk := clock.NewFake(now)
	ids := identity.NewService(d, clk, nil, identity.Options{})
	cat := catalog.New(d, clk, ids, nil)
	pages := statuspage.NewService(d, clk, cat, statuspage.Options{})
	f := &fixture{db: d, clock: clk, ids: ids, cat: cat, pages: pages,
		svc: incident.NewService(d, clk, ids, cat, incident.Options{StatusPages: pages}),
		sys: identity.WithActor(context.Background(), identity.System())}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []identity.UserInput{{Name: "ana", Role: identity.RoleMember}, {Name: "bob", Role: identity.RoleMember},
		{Name: "mallory", Role: identity.RoleMember}, {Name: "olga", Role: identity.RoleOperator}, {Name: "vera", Role: identity.RoleViewer}} {
		_, err := ids.CreateUser(f.sys, u)
		must(err)
	}
	for _, tm := range []identity.TeamInput{{Name: "payments", Members: []string{"ana", "bob"}}, {Name: "platform", Members: []string{"mallory"}}} {
		_, err := ids.CreateTeam(f.sys, tm)
		must(err)
	}
	for _, s := range []catalog.ServiceInput{{Name: "api", ServiceSpec: catalog.ServiceSpec{Owner: "payments", Tier: 1}},
		{Name: "web", ServiceSpec: catalog.ServiceSpec{Owner: "platform", Tier: 2}}} {
		_, err := cat.CreateService(f.sys, s)
		must(err)
	}
	_, err := pages.CreatePage(f.sys, statuspage.PageInput{Name: "status", Spec: statuspage.Spec{Title: "Status", Components: []statuspage.Component{{Name: "api", Services: []string{"api"}}}}})
	must(err)
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

func (f *fixture) declare(t *testing.T, who string, in incident.DeclareInput) incident.Incident {
	t.Helper()
	inc, err := f.svc.Declare(f.as(t, who), in)
	if err != nil {
		t.Fatalf("declare as %s: %v", who, err)
	}
	return inc
}

func kinds(es []incident.Entry) string {
	var out []string
	for _, e := range es {
		out = append(out, e.Kind)
	}
	return strings.Join(out, ",")
}

func wantCode(t *testing.T, what string, err error, code errs.Code, field string) {
	t.Helper()
	if errs.CodeOf(err) != code || errs.FieldOf(err) != field {
		t.Errorf("%s: %v (code %q, field %q), want %s naming %q", what, err, errs.CodeOf(err), errs.FieldOf(err), code, field)
	}
}

func TestDocComments(t *testing.T) { doccheck.Check(t, ".", doccheck.Options{}) }

func TestIncident_Lifecycle(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		ana := f.as(t, "ana")
		inc := f.declare(t, "ana", incident.DeclareInput{Title: "Checkout fails", Severity: incident.SEV2, Services: []string{"api", "api"}, Message: "500s since 09:55"})
		if inc.Number != 1 || inc.Key != "INC-1" || inc.Lead != "ana" || inc.Status != incident.Investigating || inc.DeclaredBy != "ana" ||
			!inc.DeclaredAt.Equal(now) || inc.Source.Kind != "manual" {
			t.Fatalf("declared %+v", inc)
		}
		if len(inc.Services) != 1 || inc.Services[0] != (incident.AffectedService{Name: "api", Owner: "payments"}) || !slices.Equal(inc.Teams, []string{"payments"}) {
			t.Errorf("services %+v teams %v, want api of payments", inc.Services, inc.Teams)
		}

		f.clock.Advance(5 * time.Minute)
		inc, err := f.svc.Update(ana, 1, incident.UpdateInput{Status: incident.Identified, Message: "bad deploy", Severity: incident.SEV1}, inc.Revision)
		if err != nil {
			t.Fatal(err)
		}
		if inc.Status != incident.Identified || inc.Severity != incident.SEV1 || inc.Revision != 2 {
			t.Errorf("after update: %+v", inc)
		}
		// A stale revision is refused.
		_, err = f.svc.Update(ana, 1, incident.UpdateInput{Title: "x"}, 1)
		wantCode(t, "stale update", err, errs.Precondition, "")
		// Resolving needs a summary.
		_, err = f.svc.Update(ana, 1, incident.UpdateInput{Status: incident.Resolved}, 0)
		wantCode(t, "resolve without summary", err, errs.Invalid, "summary")

		f.clock.Advance(10 * time.Minute)
		if _, err := f.svc.Update(ana, 1, incident.UpdateInput{Status: incident.Monitoring}, 0); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(15 * time.Minute)
		inc, err = f.svc.Update(ana, 1, incident.UpdateInput{Status: incident.Resolved, Summary: "Rolled back release 42."}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if inc.ResolvedAt == nil || !inc.ResolvedAt.Equal(now.Add(30*time.Minute)) || inc.MitigatedAt == nil || !inc.MitigatedAt.Equal(now.Add(15*time.Minute)) {
			t.Errorf("resolved %v mitigated %v", inc.ResolvedAt, inc.MitigatedAt)
		}
		// Resolved re-opens only to investigating, and that is recorded.
		_, err = f.svc.Update(ana, 1, incident.UpdateInput{Status: incident.Monitoring}, 0)
		wantCode(t, "resolved → monitoring", err, errs.Invalid, "status")
		inc, err = f.svc.Update(ana, 1, incident.UpdateInput{Status: incident.Investigating, Message: "errors are back"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if inc.ResolvedAt != nil || inc.Status != incident.Investigating {
			t.Errorf("re-opened: %+v", inc)
		}

		tl, err := f.svc.Timeline(f.as(t, "vera"), 1)
		if err != nil {
			t.Fatal(err)
		}
		want := "declared,note,severity_changed,status_changed,status_changed,summary_changed,status_changed,status_changed"
		if got := kinds(tl); got != want {
			t.Errorf("timeline kinds\n got %s\nwant %s", got, want)
		}
		last := tl[len(tl)-1]
		if !strings.Contains(last.Text, "Re-opened") || !strings.Contains(last.Text, "errors are back") || last.Actor != "ana" {
			t.Errorf("last entry %+v", last)
		}
		for i := 1; i < len(tl); i++ {
			if tl[i].Seq <= tl[i-1].Seq && tl[i].At.Equal(tl[i-1].At) {
				t.Errorf("entries %d and %d out of order", i-1, i)
			}
		}
	})
}

func TestIncident_BadInput(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		ana := f.as(t, "ana")
		for _, tc := range []struct {
			in    incident.DeclareInput
			field string
		}{
			{incident.DeclareInput{Severity: incident.SEV2}, "title"},
			{incident.DeclareInput{Title: "x", Severity: "SEV5"}, "severity"},
			{incident.DeclareInput{Title: "x", Severity: incident.SEV3, Services: []string{"api", "nope"}}, "services[1]"},
			{incident.DeclareInput{Title: "x", Severity: incident.SEV3, Lead: "ghost"}, "lead"},
			{incident.DeclareInput{Title: "two\nlines", Severity: incident.SEV3}, "title"},
			{incident.DeclareInput{Title: "x", Severity: incident.SEV3, AlertID: "a", TicketRef: "t"}, "ticket_ref"},
		} {
			_, err := f.svc.Declare(ana, tc.in)
			wantCode(t, fmt.Sprintf("declare %+v", tc.in), err, errs.Invalid, tc.field)
		}
		// Nothing was declared, and no number was used up.
		inc := f.declare(t, "ana", incident.DeclareInput{Title: "first", Severity: incident.SEV4})
		if inc.Number != 1 {
			t.Errorf("first good declaration got %s, want INC-1", inc.Key)
		}
		// A second lead: the lead role holds one person, and cannot be left empty.
		_, err := f.svc.UnassignRole(ana, 1, "lead")
		wantCode(t, "unassign lead", err, errs.Invalid, "role")
		_, err = f.svc.AssignRole(ana, 1, "Bad Role", "bob")
		wantCode(t, "bad role", err, errs.Invalid, "role")
		_, err = f.svc.AssignRole(ana, 1, "scribe", "ghost")
		wantCode(t, "unknown user", err, errs.Invalid, "user")
		_, err = f.svc.Update(ana, 1, incident.UpdateInput{}, 0)
		wantCode(t, "empty update", err, errs.Invalid, "status")
		_, err = f.svc.Update(ana, 99, incident.UpdateInput{Title: "x"}, 0)
		wantCode(t, "unknown incident", err, errs.NotFound, "")
		_, err = f.svc.AddService(ana, 1, "nope")
		wantCode(t, "unknown service", err, errs.Invalid, "service")
		_, err = f.svc.RemoveService(ana, 1, "web")
		wantCode(t, "service not affected", err, errs.NotFound, "")
		// A system caller must name the lead.
		err = d.InTx(f.sys, func(tx *sql.Tx) error {
			_, err := f.svc.DeclareTx(f.sys, tx, incident.DeclareInput{Title: "from alert", Severity: incident.SEV2, AlertID: "a-1"})
			return err
		})
		wantCode(t, "system declaration without lead", err, errs.Invalid, "lead")
	})
}

func TestIncident_RolesAndServices(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		olga := f.as(t, "olga")
		f.declare(t, "olga", incident.DeclareInput{Title: "Slow", Severity: incident.SEV3})
		inc, err := f.svc.AssignRole(olga, 1, "lead", "bob")
		if err != nil {
			t.Fatal(err)
		}
		for _, step := range []func() (incident.Incident, error){
			func() (incident.Incident, error) { return f.svc.AssignRole(olga, 1, "communications", "ana") },
			func() (incident.Incident, error) { return f.svc.AssignRole(olga, 1, "db-expert", "mallory") },
			func() (incident.Incident, error) { return f.svc.AssignRole(olga, 1, "scribe", "olga") },
			func() (incident.Incident, error) { return f.svc.AddService(olga, 1, "web") },
			func() (incident.Incident, error) { return f.svc.AddService(olga, 1, "api") },
			func() (incident.Incident, error) { return f.svc.AddService(olga, 1, "api") }, // no-op
		} {
			if inc, err = step(); err != nil {
				t.Fatal(err)
			}
		}
		var roles []string
		for _, r := range inc.Roles {
			roles = append(roles, r.Role+"="+r.User)
		}
		if got := strings.Join(roles, " "); got != "lead=bob communications=ana scribe=olga db-expert=mallory" || inc.Lead != "bob" {
			t.Errorf("roles %s, lead %s", got, inc.Lead)
		}
		if !slices.Equal(inc.Teams, []string{"payments", "platform"}) {
			t.Errorf("teams %v", inc.Teams)
		}
		if inc, err = f.svc.UnassignRole(olga, 1, "communications"); err != nil || len(inc.Roles) != 3 {
			t.Fatalf("unassign: %v %+v", err, inc.Roles)
		}
		if inc, err = f.svc.RemoveService(olga, 1, "web"); err != nil || !slices.Equal(inc.Teams, []string{"payments"}) {
			t.Fatalf("remove service: %v %v", err, inc.Teams)
		}
		tl, _ := f.svc.Timeline(olga, 1)
		want := "declared,role_assigned,role_assigned,role_assigned,role_assigned,service_added,service_added,role_unassigned,service_removed"
		if got := kinds(tl); got != want {
			t.Errorf("timeline kinds\n got %s\nwant %s", got, want)
		}
		if tl[1].Text != "bob is now lead (was olga)" {
			t.Errorf("hand-over entry %q", tl[1].Text)
		}
	})
}

func TestIncident_Authorization(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		f.declare(t, "olga", incident.DeclareInput{Title: "Checkout", Severity: incident.SEV2, Services: []string{"api"}})
		upd := incident.UpdateInput{Status: incident.Identified}
		for _, tc := range []struct {
			who  string
			code errs.Code
		}{
			{"ana", ""},                 // member of payments, owner of api
			{"mallory", errs.Forbidden}, // member of platform
			{"vera", errs.Forbidden},    // viewer
			{"olga", ""},                // operator
		} {
			_, err := f.svc.Update(f.as(t, tc.who), 1, upd, 0)
			if errs.CodeOf(err) != tc.code {
				t.Errorf("update as %s: %v, want %q", tc.who, err, tc.code)
			}
		}
		// Anyone with a write role adds notes; viewers read only.
		if _, err := f.svc.AddNote(f.as(t, "mallory"), 1, incident.NoteInput{Text: "web sees timeouts too"}); err != nil {
			t.Errorf("note by mallory: %v", err)
		}
		_, err := f.svc.AddNote(f.as(t, "vera"), 1, incident.NoteInput{Text: "hi"})
		wantCode(t, "note by viewer", err, errs.Forbidden, "")
		_, err = f.svc.Declare(f.as(t, "vera"), incident.DeclareInput{Title: "x", Severity: incident.SEV4})
		wantCode(t, "declare by viewer", err, errs.Forbidden, "")
		_, err = f.svc.Get(context.Background(), 1)
		wantCode(t, "anonymous read", err, errs.Unauthorized, "")
		// A member who declares about nothing in the catalog leads, and so
		// may run it; once mallory holds a role she may change it too.
		f.declare(t, "mallory", incident.DeclareInput{Title: "Laptop fleet", Severity: incident.SEV4})
		if _, err := f.svc.Update(f.as(t, "mallory"), 2, upd, 0); err != nil {
			t.Errorf("lead mallory updates her incident: %v", err)
		}
		if _, err := f.svc.AssignRole(f.as(t, "olga"), 1, "scribe", "mallory"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Update(f.as(t, "mallory"), 1, incident.UpdateInput{Title: "Checkout errors"}, 0); err != nil {
			t.Errorf("scribe mallory updates: %v", err)
		}
	})
}

func TestIncident_ListFilters(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		olga := f.as(t, "olga")
		f.declare(t, "olga", incident.DeclareInput{Title: "a", Severity: incident.SEV1, Services: []string{"api"}})
		f.declare(t, "olga", incident.DeclareInput{Title: "b", Severity: incident.SEV2, Services: []string{"web"}})
		f.declare(t, "olga", incident.DeclareInput{Title: "c", Severity: incident.SEV2})
		if _, err := f.svc.Update(olga, 3, incident.UpdateInput{Status: incident.Resolved, Summary: "fine"}, 0); err != nil {
			t.Fatal(err)
		}
		numbers := func(f incident.Filter, s *incident.Service) string {
			t.Helper()
			list, _, err := s.List(olga, f)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, in := range list {
				out = append(out, fmt.Sprint(in.Number))
			}
			return strings.Join(out, ",")
		}
		for _, tc := range []struct {
			f    incident.Filter
			want string
		}{
			{incident.Filter{}, "3,2,1"},
			{incident.Filter{Status: "open"}, "2,1"},
			{incident.Filter{Status: "resolved"}, "3"},
			{incident.Filter{Severity: incident.SEV2}, "3,2"},
			{incident.Filter{Service: "api"}, "1"},
			{incident.Filter{Team: "platform"}, "2"},
			{incident.Filter{Before: 3, Limit: 1}, "2"},
		} {
			if got := numbers(tc.f, f.svc); got != tc.want {
				t.Errorf("list %+v = %s, want %s", tc.f, got, tc.want)
			}
		}
		_, next, err := f.svc.List(olga, incident.Filter{Limit: 2})
		if err != nil || next != 2 {
			t.Errorf("first page of 2: next %d, %v; want 2", next, err)
		}
		_, _, err = f.svc.List(olga, incident.Filter{Status: "closed"})
		wantCode(t, "bad status filter", err, errs.Invalid, "status")
	})
}

// TestIncident_Hooks is what the pager does: record alerts and pages on
// the timelines of open incidents of a service, acknowledge (once), and
// declare from an alert.
func TestIncident_Hooks(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		f.declare(t, "olga", incident.DeclareInput{Title: "api", Severity: incident.SEV2, Services: []string{"api"}})
		f.declare(t, "olga", incident.DeclareInput{Title: "both", Severity: incident.SEV2, Services: []string{"api", "web"}})
		f.declare(t, "olga", incident.DeclareInput{Title: "web", Severity: incident.SEV3, Services: []string{"web"}})
		f.declare(t, "olga", incident.DeclareInput{Title: "api, resolved", Severity: incident.SEV3, Services: []string{"api"}, Summary: "done"})
		if _, err := f.svc.Update(f.as(t, "olga"), 4, incident.UpdateInput{Status: incident.Resolved}, 0); err != nil {
			t.Fatal(err)
		}
		fired := now.Add(-2 * time.Minute)
		var touched []int64
		err := d.InTx(f.sys, func(tx *sql.Tx) error {
			var err error
			touched, err = f.svc.RecordForServicesTx(f.sys, tx, []string{"api", "nope"}, incident.Entry{
				Kind: incident.KindAlertFired, Text: "HighErrorRate fired on api", At: fired, Detail: map[string]any{"alert_id": "a-1"}})
			return err
		})
		if err != nil || !slices.Equal(touched, []int64{1, 2}) {
			t.Fatalf("record for api: %v %v, want incidents 1 and 2 (4 is resolved)", touched, err)
		}
		tl, _ := f.svc.Timeline(f.sys, 2)
		e := tl[len(tl)-1]
		// The alert fired before the declaration: it sorts first.
		if e.Kind != incident.KindDeclared || tl[0].Kind != incident.KindAlertFired || tl[0].Actor != "system" || tl[0].Detail["alert_id"] != "a-1" || !tl[0].At.Equal(fired) {
			t.Errorf("timeline of INC-2: %+v", tl)
		}
		err = d.InTx(f.sys, func(tx *sql.Tx) error {
			_, err := f.svc.RecordForServicesTx(f.sys, tx, []string{"api"}, incident.Entry{Kind: "Bad Kind", Text: "x"})
			return err
		})
		wantCode(t, "bad kind", err, errs.Invalid, "kind")

		ack := now.Add(3 * time.Minute)
		for i := range 2 {
			err := d.InTx(f.sys, func(tx *sql.Tx) error {
				return f.svc.MarkAcknowledgedTx(f.sys, tx, 1, ack.Add(time.Duration(i)*time.Minute), []string{"bob", "ana"}[i])
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		inc, _ := f.svc.Get(f.sys, 1)
		if inc.AcknowledgedAt == nil || !inc.AcknowledgedAt.Equal(ack) || inc.AcknowledgedBy != "bob" {
			t.Errorf("acknowledged %v by %q, want the first: %s by bob", inc.AcknowledgedAt, inc.AcknowledgedBy, ack)
		}
		tl, _ = f.svc.Timeline(f.sys, 1)
		if n := strings.Count(kinds(tl), incident.KindAcknowledged); n != 1 {
			t.Errorf("%d acknowledged entries, want 1", n)
		}

		err = d.InTx(f.sys, func(tx *sql.Tx) error {
			inc, err = f.svc.DeclareTx(f.sys, tx, incident.DeclareInput{Title: "From alert", Severity: incident.SEV2, AlertID: "a-1", Lead: "bob", Services: []string{"api"}})
			return err
		})
		if err != nil || inc.Number != 5 || inc.Source != (incident.Source{Kind: "alert", Ref: "a-1"}) || inc.DeclaredBy != "system" || inc.Lead != "bob" {
			t.Errorf("declare from alert: %v %+v", err, inc)
		}
	})
}

func TestIncident_StatusUpdates(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		olga := f.as(t, "olga")
		f.declare(t, "olga", incident.DeclareInput{Title: "Checkout errors", Severity: incident.SEV1, Services: []string{"api"}})
		ns, err := f.svc.PostStatusUpdate(olga, 1, incident.StatusUpdateInput{Pages: []string{"status"}, Message: "We are looking into failed payments.", Components: []string{"api"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(ns) != 1 || ns[0].Number != 1 || ns[0].Ref != "INC-1" || ns[0].Title != "Checkout errors" || ns[0].Status != statuspage.Investigating {
			t.Fatalf("first post: %+v", ns)
		}
		ns, err = f.svc.PostStatusUpdate(olga, 1, incident.StatusUpdateInput{Pages: []string{"status"}, Status: incident.Resolved, Message: "Fixed."})
		if err != nil {
			t.Fatal(err)
		}
		if len(ns) != 1 || ns[0].Number != 1 || len(ns[0].Updates) != 2 || ns[0].Open() {
			t.Errorf("second post went to a new notice or did not resolve it: %+v", ns)
		}
		inc, _ := f.svc.Get(olga, 1)
		if len(inc.StatusNotices) != 1 || inc.StatusNotices[0] != (incident.StatusNotice{Page: "status", Number: 1}) {
			t.Errorf("status notices %+v", inc.StatusNotices)
		}
		_, err = f.svc.PostStatusUpdate(olga, 1, incident.StatusUpdateInput{Pages: []string{"status", "nope"}, Message: "x"})
		wantCode(t, "unknown page", err, errs.Invalid, "pages[0]")
		// A member may run the incident but not post to the public page.
		_, err = f.svc.PostStatusUpdate(f.as(t, "ana"), 1, incident.StatusUpdateInput{Pages: []string{"status"}, Message: "x"})
		wantCode(t, "member posts", err, errs.Forbidden, "")
		n, _ := f.pages.GetNotice(olga, "status", 1)
		if len(n.Updates) != 2 {
			t.Errorf("refused posts left %d updates, want 2", len(n.Updates))
		}
		tl, _ := f.svc.Timeline(olga, 1)
		if got := strings.Count(kinds(tl), incident.KindStatusUpdate); got != 2 {
			t.Errorf("%d status update entries, want 2", got)
		}
	})
}

func TestPostmortem(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		ana := f.as(t, "ana")
		f.declare(t, "ana", incident.DeclareInput{Title: "Checkout errors", Severity: incident.SEV2, Services: []string{"api"}})
		f.clock.Advance(45 * time.Minute)
		if _, err := f.svc.Update(ana, 1, incident.UpdateInput{Status: incident.Resolved, Summary: "Rolled back."}, 0); err != nil {
			t.Fatal(err)
		}
		_, err := f.svc.GetPostmortem(ana, 1)
		wantCode(t, "no postmortem yet", err, errs.NotFound, "")
		pm, created, err := f.svc.PutPostmortem(ana, 1, incident.PostmortemInput{}, 0)
		if err != nil || !created {
			t.Fatalf("create: %v %v", created, err)
		}
		if pm.Status != incident.Draft || pm.Summary != "Rolled back." || !strings.Contains(pm.Impact, "SEV2 (Major)") ||
			!strings.Contains(pm.Impact, "api (team payments)") || !strings.Contains(pm.Impact, "Resolved after 45m0s") || len(pm.Timeline) != 3 {
			t.Errorf("prefilled postmortem: %+v", pm)
		}
		rc := "A config change without a canary."
		draft, review, approved := incident.Draft, incident.InReview, incident.Approved
		if _, _, err = f.svc.PutPostmortem(ana, 1, incident.PostmortemInput{RootCauses: &rc}, pm.Revision); err != nil {
			t.Fatal(err)
		}
		_, _, err = f.svc.PutPostmortem(ana, 1, incident.PostmortemInput{Status: &approved}, 0)
		wantCode(t, "draft → approved", err, errs.Invalid, "status")
		if _, _, err = f.svc.PutPostmortem(ana, 1, incident.PostmortemInput{Status: &review}, 0); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(time.Hour)
		pm, _, err = f.svc.PutPostmortem(f.as(t, "olga"), 1, incident.PostmortemInput{Status: &approved}, 0)
		if err != nil || pm.ApprovedBy != "olga" || pm.ApprovedAt == nil || pm.SubmittedBy != "ana" || pm.RootCauses != rc {
			t.Fatalf("approve: %v %+v", err, pm)
		}
		_, _, err = f.svc.PutPostmortem(ana, 1, incident.PostmortemInput{RootCauses: &rc}, 0)
		wantCode(t, "edit approved", err, errs.Invalid, "status")
		if pm, _, err = f.svc.PutPostmortem(ana, 1, incident.PostmortemInput{Status: &draft, RootCauses: &rc}, 0); err != nil || pm.ApprovedAt != nil {
			t.Errorf("back to draft: %v %+v", err, pm)
		}

		item, err := f.svc.AddActionItem(ana, 1, incident.ActionItemInput{Title: "Canary config changes", Team: "platform", Due: "2026-04-10"})
		if err != nil || item.Team != "platform" || item.Status != "open" || item.IncidentKey != "INC-1" {
			t.Fatalf("add action item: %v %+v", err, item)
		}
		for _, tc := range []struct {
			in    incident.ActionItemInput
			field string
		}{
			{incident.ActionItemInput{Title: "x", Team: "nope", Due: "2026-04-10"}, "team"},
			{incident.ActionItemInput{Title: "x", Team: "platform", Due: "10/04/2026"}, "due"},
			{incident.ActionItemInput{Title: "x", Team: "platform", Due: "2026-03-01"}, "due"},
			{incident.ActionItemInput{Team: "platform", Due: "2026-04-10"}, "title"},
		} {
			_, err := f.svc.AddActionItem(ana, 1, tc.in)
			wantCode(t, fmt.Sprintf("action item %+v", tc.in), err, errs.Invalid, tc.field)
		}
		if _, err := f.svc.AddActionItem(ana, 1, incident.ActionItemInput{Title: "Alert on config drift", Team: "payments", Due: "2026-04-02"}); err != nil {
			t.Fatal(err)
		}
		// Four days later the second is overdue.
		f.clock.Advance(96 * time.Hour)
		list, _, err := f.svc.ListActionItems(f.as(t, "vera"), incident.ActionItemFilter{Team: "payments", Overdue: true})
		if err != nil || len(list) != 1 || list[0].Title != "Alert on config drift" || !list[0].Overdue {
			t.Fatalf("overdue of payments: %v %+v", err, list)
		}
		// mallory (platform) may close platform's item, not payments'.
		done, err := f.svc.UpdateActionItem(f.as(t, "mallory"), item.ID, incident.ActionItemUpdate{Status: "done"})
		if err != nil || done.Status != "done" || done.DoneBy != "mallory" || done.DoneAt == nil {
			t.Errorf("mallory closes platform's item: %v %+v", err, done)
		}
		_, err = f.svc.UpdateActionItem(f.as(t, "mallory"), list[0].ID, incident.ActionItemUpdate{Status: "done"})
		wantCode(t, "mallory closes payments' item", err, errs.Forbidden, "")
		pm, err = f.svc.GetPostmortem(f.as(t, "vera"), 1)
		if err != nil || len(pm.ActionItems) != 2 || pm.ActionItems[0].Due != "2026-04-02" {
			t.Fatalf("postmortem items: %v %+v", err, pm.ActionItems)
		}
		md := pm.Markdown()
		for _, want := range []string{"# Postmortem INC-1: Checkout errors", "## Root causes\n\n" + rc, "- [x] Canary config changes — team platform, due 2026-04-10", "## What went well\n\n_(to write)_"} {
			if !strings.Contains(md, want) {
				t.Errorf("markdown lacks %q:\n%s", want, md)
			}
		}
		page, next, err := f.svc.ListActionItems(f.sys, incident.ActionItemFilter{Limit: 1})
		if err != nil || len(page) != 1 || next == "" {
			t.Fatalf("first page: %v %v %q", err, page, next)
		}
		page, next, err = f.svc.ListActionItems(f.sys, incident.ActionItemFilter{Limit: 1, After: next})
		if err != nil || len(page) != 1 || page[0].Title != "Canary config changes" || next != "" {
			t.Errorf("second page: %v %+v %q", err, page, next)
		}
	})
}

func TestReport(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		olga := f.as(t, "olga")
		// INC-1 SEV1 api: ack after 4m, resolved after 60m.
		// INC-2 SEV2 api+web: ack after 10m, resolved after 30m.
		// INC-3 SEV2 web: open, no ack.
		f.declare(t, "olga", incident.DeclareInput{Title: "one", Severity: incident.SEV1, Services: []string{"api"}, Summary: "s"})
		f.declare(t, "olga", incident.DeclareInput{Title: "=two", Severity: incident.SEV2, Services: []string{"api", "web"}, Summary: "s"})
		f.declare(t, "olga", incident.DeclareInput{Title: "three", Severity: incident.SEV2, Services: []string{"web"}})
		for _, a := range []struct {
			n   int64
			ack time.Duration
		}{{1, 4 * time.Minute}, {2, 10 * time.Minute}} {
			if err := d.InTx(f.sys, func(tx *sql.Tx) error { return f.svc.MarkAcknowledgedTx(f.sys, tx, a.n, now.Add(a.ack), "bob") }); err != nil {
				t.Fatal(err)
			}
		}
		f.clock.Advance(30 * time.Minute)
		if _, err := f.svc.Update(olga, 2, incident.UpdateInput{Status: incident.Resolved}, 0); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(30 * time.Minute)
		if _, err := f.svc.Update(olga, 1, incident.UpdateInput{Status: incident.Resolved}, 0); err != nil {
			t.Fatal(err)
		}
		rep, rows, err := f.svc.Report(f.as(t, "vera"), incident.ReportFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Incidents != 3 || rep.Resolved != 2 || len(rows) != 3 {
			t.Fatalf("report: %+v", rep)
		}
		if rep.MTTA.Count != 2 || rep.MTTA.MeanSeconds != 420 || rep.MTTA.MedianSeconds != 420 || rep.MTTR.MeanSeconds != 2700 || rep.MTTR.Mean != "45m0s" {
			t.Errorf("mtta %+v mttr %+v", rep.MTTA, rep.MTTR)
		}
		sev := map[string]int{}
		for _, g := range rep.Severities {
			sev[g.Key] = g.Incidents
		}
		if fmt.Sprint(sev) != "map[SEV1:1 SEV2:2 SEV3:0 SEV4:0]" {
			t.Errorf("by severity %v", sev)
		}
		if len(rep.Services) != 2 || rep.Services[0].Key != "api" || rep.Services[0].Incidents != 2 || rep.Services[0].MTTR.MeanSeconds != 2700 ||
			rep.Services[1].Key != "web" || rep.Services[1].Incidents != 2 || rep.Services[1].MTTR.Count != 1 {
			t.Errorf("by service %+v", rep.Services)
		}
		if len(rep.Teams) != 2 || rep.Teams[0].Key != "payments" || rep.Teams[1].Key != "platform" {
			t.Errorf("by team %+v", rep.Teams)
		}
		if rep, _, err := f.svc.Report(olga, incident.ReportFilter{Team: "platform"}); err != nil || rep.Incidents != 2 {
			t.Errorf("platform's report: %v %+v", err, rep)
		}
		if rep, _, err := f.svc.Report(olga, incident.ReportFilter{Service: "api", From: now.Add(time.Minute)}); err != nil || rep.Incidents != 0 {
			t.Errorf("window after the declarations: %v %+v", err, rep)
		}
		_, _, err = f.svc.Report(olga, incident.ReportFilter{From: now, To: now.Add(-time.Hour)})
		wantCode(t, "to before from", err, errs.Invalid, "to")
		var b strings.Builder
		if err := incident.WriteCSV(&b, rows); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(b.String()), "\n")
		if len(lines) != 4 || lines[0] != "number,key,title,severity,status,declared_at,acknowledged_at,resolved_at,tta_seconds,ttr_seconds,services,teams" ||
			lines[2] != "2,INC-2,'=two,SEV2,resolved,2026-03-30T10:00:00Z,2026-03-30T10:10:00Z,2026-03-30T10:30:00Z,600,1800,api web,payments platform" {
			t.Errorf("csv:\n%s", b.String())
		}
	})
}

// TestDeclare_Concurrent declares from many goroutines at once: numbers
// are unique and gapless on both engines.
func TestDeclare_Concurrent(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		const n = 40
		ctx := f.as(t, "olga")
		var mu sync.Mutex
		var got []int64
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				inc, err := f.svc.Declare(ctx, incident.DeclareInput{Title: fmt.Sprint("parallel ", i), Severity: incident.SEV3, Services: []string{"api"}})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				got = append(got, inc.Number)
				mu.Unlock()
			})
		}
		wg.Wait()
		slices.Sort(got)
		for i, num := range got {
			if num != int64(i+1) {
				t.Fatalf("numbers %v: not 1..%d without gaps or repeats", got, n)
			}
		}
	})
}
