package oncall_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/apply"

	"groundcrew.dev/groundcrew/internal/catalog"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/oncall"
	"groundcrew.dev/groundcrew/internal/oncall/schedule"
)

// now is the fixture's time: Sunday 29 March 2026 05:00 in Berlin, two
// hours after the clocks went forward (02:00 CET → 03:00 CEST).
var now = time.Date(2026, 3, 29, 3, 0, 0, 0, time.UTC)

type fixture struct {
	db    *db.DB
	clock *clock.Fake
	ids   *identity.Service
	cat   *catalog.Catalog
	svc   *oncall.Service
	sys   context.Context
}

// setup makes users ana, ben, cho, bob (member of payments), mallory
// (member of platform), olga (operator) and vera (viewer); teams payments
// and platform; service api, owned by payments.
func setup(t *testing.T, d *db.DB) *fixture {
	t.Helper()
	clk := clock.NewFake(now)
	ids := identity.NewService(d, clk, nil, identity.Options{})
	cat := catalog.New(d, clk, ids, nil)
	f := &fixture{db: d, clock: clk, ids: ids, cat: cat, svc: oncall.NewService(d, clk, ids, cat, oncall.Options{}),
		sys: identity.WithActor(context.Background(), identity.System())}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []identity.UserInput{{Name: "ana", Role: identity.RoleMember}, {Name: "ben", Role: identity.RoleMember},
		{Name: "cho", Role: identity.RoleMember}, {Name: "bob", Role: identity.RoleMember}, {Name: "mallory", Role: identity.RoleMember},
		{Name: "olga", Role: identity.RoleOperator}, {Name: "vera", Role: identity.RoleViewer}} {
		_, err := ids.CreateUser(f.sys, u)
		must(err)
	}
	for _, tm := range []identity.TeamInput{{Name: "payments", Members: []string{"ana", "bob"}}, {Name: "platform", Members: []string{"mallory"}}} {
		_, err := ids.CreateTeam(f.sys, tm)
		must(err)
	}
	_, err := cat.CreateEnvironment(f.sys, catalog.EnvironmentInput{Name: "prod", EnvironmentSpec: catalog.EnvironmentSpec{Criticality: "high"}})
	must(err)
	_, err = cat.CreateService(f.sys, catalog.ServiceInput{Name: "api", ServiceSpec: catalog.ServiceSpec{Owner: "payments", Tier: 1, Environments: []string{"prod"}}})
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

// primary is a daily rotation of ana and ben in Berlin, handing off at
// 09:00 from Friday 27 March 2026: ben has the shift across the change to
// summer time, which lasts 23 hours.
func primary(name string) oncall.ScheduleInput {
	return oncall.ScheduleInput{Name: name, Spec: oncall.ScheduleSpec{Owner: "payments", Spec: schedule.Spec{
		TimeZone: "Europe/Berlin",
		Layers: []schedule.LayerSpec{{Name: "daily", Rotation: schedule.RotationSpec{
			Kind: schedule.Daily, HandoffTime: "09:00", Start: "2026-03-27", Participants: []string{"ana", "ben"}}}},
	}}}
}

func utc(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

func users(oc oncall.OnCall) string { return strings.Join(oc.Users(), ",") }

func TestService_OnCallAcrossDST(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		if _, err := f.svc.CreateSchedule(f.as(t, "bob"), primary("payments-primary")); err != nil {
			t.Fatal(err)
		}
		read := f.as(t, "vera")
		oc, err := f.svc.OnCall(read, "payments-primary", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if got := users(oc); got != "ben" || !oc.At.Equal(now) {
			t.Fatalf("on call now (%s) = %q at %s, want ben", now, got, oc.At)
		}
		sh := oc.Shifts[0]
		if !sh.Start.Equal(utc("2026-03-28 08:00")) || !sh.End.Equal(utc("2026-03-29 07:00")) || sh.End.Sub(sh.Start) != 23*time.Hour {
			t.Errorf("ben's shift %s–%s, want 2026-03-28 08:00–2026-03-29 07:00 UTC (23 h across the change)", sh.Start, sh.End)
		}
		// The clock moves past the local 09:00 handoff, now at 07:00 UTC.
		f.clock.Advance(4 * time.Hour)
		if oc, _ := f.svc.OnCall(read, "payments-primary", time.Time{}); users(oc) != "ana" || !oc.Shifts[0].Start.Equal(utc("2026-03-29 07:00")) {
			t.Errorf("after the handoff: %+v, want ana from 07:00 UTC", oc.Shifts)
		}
		// At an explicit instant in the past.
		if oc, _ := f.svc.OnCall(read, "payments-primary", utc("2026-03-27 12:00")); users(oc) != "ana" {
			t.Errorf("on 27 March: %q, want ana", users(oc))
		}
		// Before the rotation starts: nobody, an empty answer, not an error.
		if oc, err := f.svc.OnCall(read, "payments-primary", utc("2026-03-01 12:00")); err != nil || len(oc.Shifts) != 0 {
			t.Errorf("before the start: %+v, %v; want nobody", oc.Shifts, err)
		}

		// An override: cho stands in for ben for two hours on Monday.
		in := primary("payments-primary")
		in.Spec.Overrides = []schedule.OverrideSpec{{Kind: schedule.Replace, User: "cho", Replaces: "ben",
			Start: time.Date(2026, 3, 30, 12, 0, 0, 0, time.FixedZone("CEST", 2*3600)), End: utc("2026-03-30 12:00")}}
		sc, err := f.svc.UpdateSchedule(f.as(t, "bob"), "payments-primary", in, 1)
		if err != nil {
			t.Fatal(err)
		}
		if sc.Revision != 2 || sc.Spec.Overrides[0].Start.Location() != time.UTC {
			t.Errorf("updated: revision %d, override start %s; want 2 and UTC", sc.Revision, sc.Spec.Overrides[0].Start)
		}
		oc, _ = f.svc.OnCall(read, "payments-primary", utc("2026-03-30 11:00"))
		if users(oc) != "cho" || oc.Shifts[0].Source() != "overrides[0]" {
			t.Errorf("during the override: %+v, want cho from overrides[0]", oc.Shifts)
		}
		if _, err := f.svc.UpdateSchedule(f.as(t, "bob"), "payments-primary", in, 1); !errs.Is(err, errs.Precondition) {
			t.Errorf("update with a stale revision: %v, want precondition failed", err)
		}

		// A team's and a service's schedules.
		for _, get := range []func() ([]oncall.OnCall, error){
			func() ([]oncall.OnCall, error) { return f.svc.OnCallForTeam(read, "payments", utc("2026-03-30 11:00")) },
			func() ([]oncall.OnCall, error) { return f.svc.OnCallForService(read, "api", utc("2026-03-30 11:00")) },
			func() ([]oncall.OnCall, error) { return f.svc.OnCallAll(read, utc("2026-03-30 11:00")) },
		} {
			ocs, err := get()
			if err != nil || len(ocs) != 1 || users(ocs[0]) != "cho" || ocs[0].Owner != "payments" {
				t.Errorf("team/service/all: %+v, %v", ocs, err)
			}
		}
		if ocs, err := f.svc.OnCallForTeam(read, "platform", time.Time{}); err != nil || len(ocs) != 0 {
			t.Errorf("a team without schedules: %+v, %v", ocs, err)
		}
		if _, err := f.svc.OnCallForService(read, "nope", time.Time{}); errs.FieldOf(err) != "service" {
			t.Errorf("unknown service: %v", err)
		}
		if _, err := f.svc.OnCall(read, "nope", time.Time{}); !errs.Is(err, errs.NotFound) {
			t.Errorf("unknown schedule: %v", err)
		}

		// The final calendar over the fall-back weekend: 25-hour shift.
		shifts, err := f.svc.Shifts(read, "payments-primary", utc("2026-10-24 12:00"), utc("2026-10-25 12:00"))
		if err != nil || len(shifts) != 2 {
			t.Fatalf("shifts: %+v, %v", shifts, err)
		}
		if !shifts[0].Start.Equal(utc("2026-10-24 12:00")) || !shifts[0].End.Equal(utc("2026-10-25 08:00")) {
			t.Errorf("shifts across fall-back: %+v, want a handoff at 2026-10-25 08:00 UTC (09:00 CET)", shifts)
		}
		if _, err := f.svc.Shifts(read, "payments-primary", utc("2026-01-01 00:00"), utc("2027-06-01 00:00")); errs.FieldOf(err) != "to" {
			t.Errorf("a range over 400 days: %v", err)
		}
	})
}

func TestService_Gaps(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		in := primary("payments-day")
		// Only 08:00–20:00 on weekdays: the nights and weekends are gaps.
		in.Spec.Layers[0].Restrictions = []schedule.RestrictionSpec{{Days: []string{"mon", "tue", "wed", "thu", "fri"}, Start: "08:00", End: "20:00"}}
		if _, err := f.svc.CreateSchedule(f.sys, in); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.CreateSchedule(f.sys, primary("payments-primary")); err != nil {
			t.Fatal(err)
		}
		read := f.as(t, "vera")
		gaps, err := f.svc.Gaps(read, "payments-day", utc("2026-03-30 00:00"), utc("2026-03-31 00:00"))
		if err != nil {
			t.Fatal(err)
		}
		want := []schedule.Interval{{Start: utc("2026-03-30 00:00"), End: utc("2026-03-30 06:00")}, {Start: utc("2026-03-30 18:00"), End: utc("2026-03-31 00:00")}}
		if fmt.Sprint(gaps) != fmt.Sprint(want) {
			t.Errorf("gaps on Monday = %v, want %v", gaps, want)
		}
		// From now (Sunday 05:00 Berlin) for two days: the rest of Sunday
		// and Monday until 08:00 local, Monday from 20:00 on; the 24/7
		// schedule has none.
		up, err := f.svc.UpcomingGaps(read, 48*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if len(up) != 2 || up[0].Schedule != "payments-day" || !up[0].Start.Equal(now) || !up[0].End.Equal(utc("2026-03-30 06:00")) ||
			!up[1].Start.Equal(utc("2026-03-30 18:00")) || !up[1].End.Equal(now.Add(48*time.Hour)) {
			t.Fatalf("upcoming gaps = %+v", up)
		}
		if want := "nobody is on call for payments-day (team payments) Sun 29 Mar 05:00 – Mon 30 Mar 08:00 Europe/Berlin"; up[0].Message != want {
			t.Errorf("message %q, want %q", up[0].Message, want)
		}
		if _, err := f.svc.UpcomingGaps(read, 100*24*time.Hour); errs.FieldOf(err) != "within" {
			t.Errorf("within 100 days: %v", err)
		}
	})
}

func TestService_BadInput(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		if _, err := f.svc.CreateSchedule(f.sys, primary("payments-primary")); err != nil {
			t.Fatal(err)
		}
		schedules := []struct {
			name   string
			change func(in *oncall.ScheduleInput)
			field  string
		}{
			{"unknown participant", func(in *oncall.ScheduleInput) {
				in.Spec.Layers = append(in.Spec.Layers, schedule.LayerSpec{Rotation: schedule.RotationSpec{Kind: schedule.Weekly, Start: "2026-03-02",
					Participants: []string{"ana", "ben", "nobody-here"}}})
			}, "spec.layers[1].rotation.participants[2]"},
			{"unknown override user", func(in *oncall.ScheduleInput) {
				in.Spec.Overrides = []schedule.OverrideSpec{{User: "ghost", Start: now, End: now.Add(time.Hour)}}
			}, "spec.overrides[0].user"},
			{"unknown time zone", func(in *oncall.ScheduleInput) { in.Spec.TimeZone = "Europe/Atlantis" }, "spec.time_zone"},
			{"empty rotation", func(in *oncall.ScheduleInput) { in.Spec.Layers[0].Rotation.Participants = nil }, "spec.layers[0].rotation.participants"},
			{"no layers", func(in *oncall.ScheduleInput) { in.Spec.Layers = nil }, "spec.layers"},
			{"unknown owner", func(in *oncall.ScheduleInput) { in.Spec.Owner = "nope" }, "spec.owner"},
			{"no owner", func(in *oncall.ScheduleInput) { in.Spec.Owner = "" }, "spec.owner"},
			{"bad name", func(in *oncall.ScheduleInput) { in.Name = "Bad Name" }, "name"},
		}
		for _, tc := range schedules {
			in := primary("s-" + strings.ReplaceAll(tc.name, " ", "-"))
			tc.change(&in)
			_, err := f.svc.CreateSchedule(f.sys, in)
			if !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != tc.field {
				t.Errorf("%s: %v (field %q), want invalid %s", tc.name, err, errs.FieldOf(err), tc.field)
			}
		}
		if _, err := f.svc.CreateSchedule(f.sys, primary("payments-primary")); !errs.Is(err, errs.Conflict) {
			t.Errorf("a second schedule of the same name: %v", err)
		}

		step := func(delay string, targets ...oncall.Target) oncall.Step {
			return oncall.Step{Delay: delay, Targets: targets}
		}
		ok := step("5m", oncall.Target{Schedule: "payments-primary"})
		many := make([]oncall.Step, 21)
		for i := range many {
			many[i] = ok
		}
		policies := []struct {
			name  string
			spec  oncall.PolicySpec
			field string
		}{
			{"no steps", oncall.PolicySpec{Owner: "payments"}, "spec.steps"},
			{"too many steps", oncall.PolicySpec{Owner: "payments", Steps: many}, "spec.steps"},
			{"short delay", oncall.PolicySpec{Owner: "payments", Steps: []oncall.Step{ok, step("30s", oncall.Target{User: "ana"})}}, "spec.steps[1].delay"},
			{"no delay", oncall.PolicySpec{Owner: "payments", Steps: []oncall.Step{step("", oncall.Target{User: "ana"})}}, "spec.steps[0].delay"},
			{"repeat 10", oncall.PolicySpec{Owner: "payments", Repeat: 10, Steps: []oncall.Step{ok}}, "spec.repeat"},
			{"no targets", oncall.PolicySpec{Owner: "payments", Steps: []oncall.Step{step("5m")}}, "spec.steps[0].targets"},
			{"two kinds in a target", oncall.PolicySpec{Owner: "payments", Steps: []oncall.Step{step("5m", oncall.Target{User: "ana", Team: "payments"})}}, "spec.steps[0].targets[0]"},
			{"unknown schedule", oncall.PolicySpec{Owner: "payments", Steps: []oncall.Step{step("5m", oncall.Target{User: "ana"}, oncall.Target{Schedule: "nope"})}}, "spec.steps[0].targets[1].schedule"},
			{"unknown user", oncall.PolicySpec{Owner: "payments", Steps: []oncall.Step{ok, step("10m", oncall.Target{User: "ghost"})}}, "spec.steps[1].targets[0].user"},
			{"unknown team", oncall.PolicySpec{Owner: "payments", Steps: []oncall.Step{step("5m", oncall.Target{Team: "nope"})}}, "spec.steps[0].targets[0].team"},
			{"unknown owner", oncall.PolicySpec{Owner: "nope", Steps: []oncall.Step{ok}}, "spec.owner"},
		}
		for _, tc := range policies {
			_, err := f.svc.CreatePolicy(f.sys, oncall.PolicyInput{Name: "p-" + strings.ReplaceAll(tc.name, " ", "-"), Spec: tc.spec})
			if !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != tc.field {
				t.Errorf("policy %s: %v (field %q), want invalid %s", tc.name, err, errs.FieldOf(err), tc.field)
			}
		}
	})
}

func TestService_Authorization(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		bob, mallory, olga, vera := f.as(t, "bob"), f.as(t, "mallory"), f.as(t, "olga"), f.as(t, "vera")
		if _, err := f.svc.CreateSchedule(bob, primary("payments-primary")); err != nil {
			t.Fatalf("a member creating their team's schedule: %v", err)
		}
		forbidden := func(what string, err error) {
			t.Helper()
			if !errs.Is(err, errs.Forbidden) {
				t.Errorf("%s: %v, want forbidden", what, err)
			}
		}
		_, err := f.svc.CreateSchedule(mallory, primary("sneaky"))
		forbidden("a member of another team creating a payments schedule", err)
		_, err = f.svc.UpdateSchedule(mallory, "payments-primary", primary("payments-primary"), 0)
		forbidden("a member of another team changing it", err)
		forbidden("a member of another team deleting it", f.svc.DeleteSchedule(mallory, "payments-primary", 0))
		_, err = f.svc.CreateSchedule(vera, primary("viewers"))
		forbidden("a viewer creating one", err)
		moved := primary("payments-primary")
		moved.Spec.Owner = "platform"
		_, err = f.svc.UpdateSchedule(bob, "payments-primary", moved, 0)
		forbidden("a member giving it to another team", err)
		if _, err := f.svc.UpdateSchedule(olga, "payments-primary", moved, 0); err != nil {
			t.Errorf("an operator giving it to another team: %v", err)
		}
		forbidden("the old team's member deleting it now", f.svc.DeleteSchedule(bob, "payments-primary", 0))

		pol := oncall.PolicyInput{Name: "payments", Spec: oncall.PolicySpec{Owner: "payments", Repeat: 2, Steps: []oncall.Step{
			{Delay: "5m", Targets: []oncall.Target{{Schedule: "payments-primary"}, {User: "ana"}}}, {Delay: "10m", Targets: []oncall.Target{{Team: "payments"}}}}}}
		if _, err := f.svc.CreatePolicy(bob, pol); err != nil {
			t.Fatalf("a member creating their team's policy: %v", err)
		}
		_, err = f.svc.UpdatePolicy(mallory, "payments", pol, 0)
		forbidden("a member of another team changing the policy", err)
		if _, err := f.svc.GetPolicy(vera, "payments"); err != nil {
			t.Errorf("a viewer reading the policy: %v", err)
		}
		// A schedule a policy pages cannot be deleted.
		if err := f.svc.DeleteSchedule(olga, "payments-primary", 0); !errs.Is(err, errs.Conflict) || !strings.Contains(err.Error(), "payments") {
			t.Errorf("deleting a paged schedule: %v, want conflict naming the policy", err)
		}
		if err := f.svc.DeletePolicy(bob, "payments", 0); err != nil {
			t.Errorf("a member deleting their team's policy: %v", err)
		}
		if err := f.svc.DeleteSchedule(olga, "payments-primary", 0); err != nil {
			t.Errorf("deleting the schedule after its policy: %v", err)
		}
	})
}

func TestService_WarningsAndRecipients(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		in := primary("payments-primary")
		in.Spec.Overrides = []schedule.OverrideSpec{
			{User: "cho", Replaces: "ben", Start: utc("2026-03-29 00:00"), End: utc("2026-03-29 06:00")},
			{User: "ana", Replaces: "ben", Start: utc("2026-03-29 02:00"), End: utc("2026-03-29 04:00")},
		}
		sc, err := f.svc.CreateSchedule(f.sys, in)
		if err != nil {
			t.Fatalf("overlapping overrides are not an error: %v", err)
		}
		if len(sc.Warnings) != 1 || sc.Warnings[0].Field != "overrides[1]" {
			t.Errorf("warnings %+v, want one on overrides[1]", sc.Warnings)
		}
		if got, _ := f.svc.GetSchedule(f.sys, "payments-primary"); len(got.Warnings) != 1 {
			t.Errorf("a read schedule's warnings: %+v", got.Warnings)
		}
		// apply reports them too, naming the document.
		reg := apply.NewRegistry(d)
		apply.RegisterOnCall(reg, f.svc)
		doc := apply.Document{APIVersion: apply.APIVersion, Kind: "Schedule", Metadata: apply.Metadata{Name: "applied"}, Spec: apply.EncodeSpec(in.Spec)}
		res, err := reg.Apply(f.sys, []apply.Document{doc}, apply.Options{})
		if err != nil || len(res.Warnings) != 1 || !strings.HasPrefix(res.Warnings[0], "Schedule/applied: spec.overrides[1]: ") {
			t.Errorf("apply warnings = %q, %v", res.Warnings, err)
		}
		// now (03:00 UTC) is inside both: the later-created override wins.
		step := oncall.Step{Delay: "5m", Targets: []oncall.Target{{Schedule: "payments-primary"}, {User: "cho"}, {Team: "payments"}}}
		got, err := f.svc.Recipients(f.sys, step, time.Time{})
		if err != nil || strings.Join(got, ",") != "ana,cho,bob" {
			t.Errorf("recipients = %v, %v; want ana (on call), cho, bob (payments, ana already in)", got, err)
		}
	})
}

func TestService_Feed(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		if _, err := f.svc.CreateSchedule(f.sys, primary("payments-primary")); err != nil {
			t.Fatal(err)
		}
		second := primary("payments-secondary")
		second.Spec.Layers[0].Rotation.Participants = []string{"cho"}
		if _, err := f.svc.CreateSchedule(f.sys, second); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.svc.CreateFeedToken(f.sys); !errs.Is(err, errs.Invalid) {
			t.Errorf("the system's feed: %v", err)
		}
		tok, secret, err := f.svc.CreateFeedToken(f.as(t, "ben"))
		if err != nil {
			t.Fatal(err)
		}
		if tok.User != "ben" || !strings.HasPrefix(secret, tok.Prefix) {
			t.Errorf("token %+v for secret %s", tok, secret)
		}
		cal, err := f.svc.Feed(context.Background(), secret)
		if err != nil {
			t.Fatal(err)
		}
		s := string(cal)
		// ben's shift across the change to summer time, and nothing of cho's.
		for _, want := range []string{"BEGIN:VCALENDAR\r\n", "DTSTART:20260328T080000Z\r\nDTEND:20260329T070000Z\r\n", "SUMMARY:On call: payments-primary\r\n", "END:VCALENDAR\r\n"} {
			if !strings.Contains(s, want) {
				t.Errorf("feed lacks %q", want)
			}
		}
		if strings.Contains(s, "payments-secondary") || strings.Count(s, "BEGIN:VCALENDAR") != 1 {
			t.Errorf("feed has another schedule or calendar:\n%s", s)
		}
		if _, err := f.svc.Feed(context.Background(), "gcical_nope"); !errs.Is(err, errs.NotFound) {
			t.Errorf("an unknown secret: %v", err)
		}
		// A new feed replaces the old one.
		if _, _, err := f.svc.CreateFeedToken(f.as(t, "ben")); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Feed(context.Background(), secret); !errs.Is(err, errs.NotFound) {
			t.Errorf("the replaced feed still works: %v", err)
		}
	})
}
