package pager_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/catalog"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/notify"
	"groundcrew.dev/groundcrew/internal/oncall"
	"groundcrew.dev/groundcrew/internal/oncall/pager"
)

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// outbox records the messages the pager queues, in place of the
// notification service's delivery queue (tested on its own): the pager's
// decisions — who, when, bundled how — are what these tests are about.
type outbox struct {
	mu   sync.Mutex
	msgs []message
	fail map[string]bool // addresses refused as invalid
}

type message struct {
	to    string
	at    time.Time
	pages []string // summaries
}

func (o *outbox) EnqueueDirect(_ context.Context, _ *sql.Tx, t notify.Target, n *notify.Notification) (notify.Delivery, error) {
	if o.fail[t.Address] {
		return notify.Delivery{}, errs.Invalidf("address", "refused")
	}
	m := message{to: t.Label}
	for _, a := range n.Alerts {
		m.pages = append(m.pages, a.Annotations["summary"])
		m.at = a.StartsAt
	}
	o.mu.Lock()
	o.msgs = append(o.msgs, m)
	o.mu.Unlock()
	return notify.Delivery{ID: db.NewID()}, nil
}

func (o *outbox) to(label string) []message {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []message
	for _, m := range o.msgs {
		if m.to == label {
			out = append(out, m)
		}
	}
	return out
}

type fixture struct {
	t   *testing.T
	db  *db.DB
	clk *clock.Fake
	oc  *oncall.Service
	out *outbox
	p   *pager.Pager
	sys context.Context
	ids *identity.Service
}

func setup(t *testing.T, d *db.DB, throttle pager.Throttle) *fixture {
	t.Helper()
	clk := clock.NewFake(t0)
	ids := identity.NewService(d, clk, nil, identity.Options{})
	cat := catalog.New(d, clk, ids, nil)
	f := &fixture{t: t, db: d, clk: clk, oc: oncall.NewService(d, clk, ids, cat, oncall.Options{}), out: &outbox{fail: map[string]bool{}},
		sys: identity.WithActor(context.Background(), identity.System()), ids: ids}
	f.p = pager.New(d, f.oc, f.out, pager.Options{Clock: clk, Throttle: throttle, BundleWait: 2 * time.Second})
	for _, u := range []string{"ana", "ben", "cho"} {
		if _, err := ids.CreateUser(f.sys, identity.UserInput{Name: u, Role: identity.RoleMember}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tm := range []identity.TeamInput{{Name: "payments", Members: []string{"ana", "ben"}}, {Name: "empty"}} {
		if _, err := ids.CreateTeam(f.sys, tm); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *fixture) contact(user, name, typ string) {
	f.t.Helper()
	addr := "http://127.0.0.1:9/" + user + "/" + name
	if typ == "email" {
		addr = user + "@example.com"
	}
	if _, err := f.oc.AddContactMethod(f.sys, oncall.ContactMethodInput{User: user, Name: name, Type: typ, Address: addr}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) policy(name string, repeat int, steps ...oncall.Step) {
	f.t.Helper()
	if _, err := f.oc.CreatePolicy(f.sys, oncall.PolicyInput{Name: name, Spec: oncall.PolicySpec{Owner: "payments", Repeat: repeat, Steps: steps}}); err != nil {
		f.t.Fatal(err)
	}
}

func step(delay string, targets ...oncall.Target) oncall.Step {
	return oncall.Step{Delay: delay, Targets: targets}
}

func (f *fixture) open(group, policy, summary string) pager.Page {
	f.t.Helper()
	var pg pager.Page
	err := f.db.InTx(f.sys, func(tx *sql.Tx) error {
		var err error
		pg, _, err = f.p.OpenTx(f.sys, tx, pager.OpenInput{GroupKey: group, Policy: policy, Summary: summary})
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return pg
}

// at moves the clock to t0+d and runs the pager once.
func (f *fixture) at(d time.Duration) {
	f.t.Helper()
	f.clk.Set(t0.Add(d))
	if err := f.p.Tick(context.Background()); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) get(id uuid.UUID) pager.Page {
	f.t.Helper()
	pg, err := f.p.Get(f.sys, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return pg
}

func kinds(pg pager.Page) []string {
	var out []string
	for _, e := range pg.Events {
		out = append(out, e.Kind)
	}
	return out
}

// TestPager_ThrottleAndBundle: a storm of pages to one person arrives
// bundled, never more messages than the throttle allows in any window,
// and no page is lost or told twice.
func TestPager_ThrottleAndBundle(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d, pager.Throttle{Messages: 2, Window: 5 * time.Minute})
		f.contact("ana", "hook", "webhook")
		f.policy("db", 0, step("30m", oncall.Target{User: "ana"}))
		burst := func(from, n int) {
			for i := from; i < from+n; i++ {
				f.open(fmt.Sprintf("g%d", i), "db", fmt.Sprintf("page %d", i))
			}
		}
		burst(0, 5)
		f.at(0)
		if got := f.out.to("ana/hook"); len(got) != 0 {
			t.Fatalf("sent before the bundling wait: %+v", got)
		}
		f.at(2 * time.Second)
		if got := f.out.to("ana/hook"); len(got) != 1 || len(got[0].pages) != 5 {
			t.Fatalf("first message = %+v, want one bundling 5 pages", got)
		}
		burst(5, 3)
		f.at(10 * time.Second)
		f.at(12 * time.Second)
		burst(8, 4)
		f.at(20 * time.Second)
		f.at(25 * time.Second)
		got := f.out.to("ana/hook")
		if len(got) != 2 || len(got[1].pages) != 3 {
			t.Fatalf("messages = %+v, want a second bundling 3 and the third burst held by the throttle", got)
		}
		// The window after the first message ends: the held pages go out
		// together.
		f.at(5*time.Minute + 3*time.Second)
		got = f.out.to("ana/hook")
		if len(got) != 3 || len(got[2].pages) != 4 {
			t.Fatalf("messages = %+v, want a third bundling the 4 held pages", got)
		}
		seen := map[string]int{}
		for _, m := range got {
			for _, p := range m.pages {
				seen[p]++
			}
		}
		for i := range 12 {
			if n := seen[fmt.Sprintf("page %d", i)]; n != 1 {
				t.Errorf("page %d told %d times", i, n)
			}
		}
	})
}

// TestPager_RulesAckAndEscalation: notification rules reach a person
// at once by one method and later by another; an acknowledgement cancels
// what was still to come; without one the next step notifies after its
// delay, then the policy repeats, then it is exhausted.
func TestPager_RulesAckAndEscalation(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d, pager.Throttle{})
		f.contact("ana", "slack", "slack")
		f.contact("ana", "mail", "email")
		f.contact("ben", "hook", "webhook")
		if _, err := f.oc.SetNotificationRules(f.sys, "ana", []oncall.RuleInput{{Method: "slack"}, {Method: "mail", DelayMinutes: 5}}); err != nil {
			t.Fatal(err)
		}
		f.policy("pay", 1, step("10m", oncall.Target{User: "ana"}), step("10m", oncall.Target{User: "ben"}))

		acked := f.open("acked", "pay", "acked soon")
		f.at(2 * time.Second)
		if len(f.out.to("ana/slack")) != 1 || len(f.out.to("ana/mail")) != 0 {
			t.Fatalf("at once: slack %d, mail %d", len(f.out.to("ana/slack")), len(f.out.to("ana/mail")))
		}
		ctxAna := f.as("ana")
		if _, err := f.p.Acknowledge(ctxAna, acked.ID); err != nil {
			t.Fatal(err)
		}
		f.at(5*time.Minute + 2*time.Second)
		f.at(25 * time.Minute)
		if len(f.out.to("ana/mail")) != 0 || len(f.out.to("ben/hook")) != 0 {
			t.Fatalf("after the ack: mail %d, ben %d", len(f.out.to("ana/mail")), len(f.out.to("ben/hook")))
		}
		pg := f.get(acked.ID)
		if pg.Status != pager.Acknowledged || pg.AcknowledgedBy != "ana" {
			t.Fatalf("acked page = %+v", pg)
		}
		if e := pg.Events[len(pg.Events)-1]; e.Kind != "acknowledged" || e.Detail != nil {
			t.Errorf("ana was paged; her acknowledgement = %+v", e)
		}
		if i := slices.IndexFunc(pg.Sends, func(s pager.Send) bool { return s.Method == "mail" }); i < 0 || pg.Sends[i].Status != "cancelled" {
			t.Errorf("the delayed e-mail after the ack: %+v", pg.Sends)
		}

		// Nobody answers this one: ana (slack, then mail), ben after 10
		// minutes, then ana and ben again, then nothing.
		f.clk.Set(t0.Add(time.Hour))
		open := f.open("ignored", "pay", "ignored")
		for _, d := range []time.Duration{2 * time.Second, 5*time.Minute + 2*time.Second, 10*time.Minute + 2*time.Second,
			20*time.Minute + 2*time.Second, 25*time.Minute + 2*time.Second, 30*time.Minute + 2*time.Second, 50 * time.Minute} {
			f.at(time.Hour + d)
		}
		if a, m, b := len(f.out.to("ana/slack")), len(f.out.to("ana/mail")), len(f.out.to("ben/hook")); a != 3 || m != 2 || b != 2 {
			t.Fatalf("escalation: ana slack %d mail %d, ben %d; want 3 (one from the acked page), 2, 2", a, m, b)
		}
		pg = f.get(open.ID)
		if !pg.Exhausted || pg.NextAt != nil || pg.Status != pager.Triggered {
			t.Errorf("after every round: %+v", pg)
		}
		want := []string{"opened", "notified", "message", "message", "notified", "message", "notified", "message", "message", "notified", "message", "exhausted"}
		if !slices.Equal(kinds(pg), want) {
			t.Errorf("history = %v\nwant      %v", kinds(pg), want)
		}
	})
}

// TestPager_CatchUpSnoozeAndGaps: a pager that was down notifies the
// missed steps in order, each stamped with when it was due; a snooze
// re-notifies the current step when it ends; nobody on call and people
// without contact methods are recorded, not treated as reached.
func TestPager_CatchUpSnoozeAndGaps(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d, pager.Throttle{Messages: 100, Window: time.Minute})
		f.contact("ana", "hook", "webhook")
		f.contact("ben", "hook", "webhook")
		f.policy("chain", 0, step("5m", oncall.Target{User: "ana"}), step("5m", oncall.Target{Team: "empty"}),
			step("5m", oncall.Target{User: "cho"}), step("5m", oncall.Target{User: "ben"}))
		pg := f.open("late", "chain", "late")
		f.at(17 * time.Minute) // down for 17 minutes: steps 1–4 were due at 0, 5, 10, 15
		pg = f.get(pg.ID)
		var due []time.Time
		for _, e := range pg.Events {
			if e.Kind == "notified" {
				due = append(due, e.At)
			}
		}
		if !slices.Equal(due, []time.Time{t0, t0.Add(5 * time.Minute), t0.Add(10 * time.Minute), t0.Add(15 * time.Minute)}) {
			t.Errorf("catch-up notified at %v", due)
		}
		if !slices.Contains(kinds(pg), "nobody_on_call") || !slices.Contains(kinds(pg), "unreachable") {
			t.Errorf("history %v lacks the gap and the unreachable person", kinds(pg))
		}
		if len(f.out.to("ana/hook")) != 1 || len(f.out.to("ben/hook")) != 1 {
			t.Fatalf("catch-up messages: ana %d, ben %d", len(f.out.to("ana/hook")), len(f.out.to("ben/hook")))
		}

		// cho takes the page though nobody reached them: allowed, and said.
		if _, err := f.p.Acknowledge(f.as("cho"), pg.ID); err != nil {
			t.Fatal(err)
		}
		if e := f.get(pg.ID).Events; e[len(e)-1].Detail["not_paged"] != true {
			t.Errorf("cho's acknowledgement = %+v, want not_paged", e[len(e)-1])
		}
		// ben snoozes for 10 minutes: then step 4 (ben) notifies again.
		if _, err := f.p.Snooze(f.as("ben"), pg.ID, 10*time.Minute); err != nil {
			t.Fatal(err)
		}
		if _, err := f.p.Snooze(f.as("ben"), pg.ID, 10*time.Second); !errs.Is(err, errs.Invalid) {
			t.Errorf("a 10 s snooze: %v", err)
		}
		f.at(26 * time.Minute)
		if len(f.out.to("ben/hook")) != 1 {
			t.Fatalf("paged during the snooze")
		}
		f.at(27*time.Minute + 3*time.Second)
		if len(f.out.to("ben/hook")) != 2 || len(f.out.to("ana/hook")) != 1 {
			t.Fatalf("after the snooze: ben %d, ana %d", len(f.out.to("ben/hook")), len(f.out.to("ana/hook")))
		}
		if got := f.get(pg.ID); got.Status != pager.Triggered || got.Step != 3 {
			t.Errorf("after the snooze: %s step %d", got.Status, got.Step)
		}
		// Resolving closes it for good; acting on it after is refused.
		if _, err := f.p.Resolve(f.as("ana"), pg.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.p.Acknowledge(f.as("ana"), pg.ID); !errs.Is(err, errs.Conflict) {
			t.Errorf("ack after resolve: %v", err)
		}
		// A contact the notifier refuses is recorded on the page and does
		// not hold up the others.
		f.out.fail["http://127.0.0.1:9/ana/hook"] = true
		bad := f.open("bad", "chain", "bad address")
		f.at(40 * time.Minute)
		f.at(40*time.Minute + 3*time.Second)
		if !slices.Contains(kinds(f.get(bad.ID)), "message_failed") {
			t.Errorf("refused contact: %v", kinds(f.get(bad.ID)))
		}
		for _, sd := range f.get(bad.ID).Sends {
			if sd.User == "ana" && sd.Status != "cancelled" {
				t.Errorf("a send to a refused contact is %s, want cancelled (never counted as reached)", sd.Status)
			}
		}
	})
}

// TestPager_OneOpenPagePerGroup: new alerts of a group join its open page
// instead of paging again; resolving the group resolves it; the next
// firing opens a new page.
func TestPager_OneOpenPagePerGroup(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d, pager.Throttle{})
		f.contact("ana", "hook", "webhook")
		f.policy("pay", 0, step("5m", oncall.Target{User: "ana"}))
		first := f.open("g", "pay", "one")
		again := f.open("g", "pay", "two")
		if again.ID != first.ID {
			t.Fatalf("second open made a new page")
		}
		err := d.InTx(f.sys, func(tx *sql.Tx) error { return f.p.ResolveGroupTx(f.sys, tx, "g", "all resolved") })
		if err != nil {
			t.Fatal(err)
		}
		if pg := f.get(first.ID); pg.Status != pager.Resolved || pg.ResolvedBy != "system" {
			t.Fatalf("after the group resolved: %+v", pg)
		}
		if third := f.open("g", "pay", "three"); third.ID == first.ID {
			t.Fatalf("a resolved page was reused")
		}
		if _, _, err := f.p.List(f.sys, pager.Filter{Status: "sleeping"}); !errs.Is(err, errs.Invalid) {
			t.Errorf("bad status filter: %v", err)
		}
		list, _, err := f.p.List(f.sys, pager.Filter{Status: "open"})
		if err != nil || len(list) != 1 || list[0].Summary != "three" {
			t.Errorf("open pages = %+v, %v", list, err)
		}
		err = d.InTx(f.sys, func(tx *sql.Tx) error {
			_, _, err := f.p.OpenTx(f.sys, tx, pager.OpenInput{GroupKey: "x", Policy: "nope", Summary: "x"})
			return err
		})
		if !errs.Is(err, errs.NotFound) || errs.FieldOf(err) != "policy" {
			t.Errorf("unknown policy: %v", err)
		}
	})
}

// as returns a context acting as the named user.
func (f *fixture) as(name string) context.Context {
	f.t.Helper()
	u, err := f.ids.GetUser(f.sys, name)
	if err != nil {
		f.t.Fatal(err)
	}
	return identity.WithActor(context.Background(), &identity.Actor{UserID: u.ID, Name: u.Name, Role: u.Role, Scope: identity.ScopeWrite, Via: "session"})
}

// TestPager_LoadReport counts each person's pages, those out of business
// hours in the report's zone, messages and acknowledgements, and each
// policy's escalations and MTTA.
func TestPager_LoadReport(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d, pager.Throttle{Messages: 100, Window: time.Minute})
		f.contact("ana", "hook", "webhook")
		f.contact("ben", "hook", "webhook")
		f.policy("pay", 0, step("5m", oncall.Target{User: "ana"}), step("5m", oncall.Target{User: "ben"}))
		// Fri 27 Nov 09:00 UTC is 10:00 in Berlin: in hours. ana answers
		// after 2 minutes.
		day := f.open("day", "pay", "by day")
		f.at(3 * time.Second)
		f.clk.Set(t0.Add(2 * time.Minute))
		if _, err := f.p.Acknowledge(f.as("ana"), day.ID); err != nil {
			t.Fatal(err)
		}
		// Sat 28 Nov 03:00 UTC: out of hours; nobody answers, it escalates
		// to ben, who answers after 7 minutes.
		night := 18 * time.Hour
		f.clk.Set(t0.Add(night))
		nightPage := f.open("night", "pay", "by night")
		f.at(night + 3*time.Second)
		f.at(night + 5*time.Minute + 3*time.Second)
		f.clk.Set(t0.Add(night + 7*time.Minute))
		if _, err := f.p.Acknowledge(f.as("ben"), nightPage.ID); err != nil {
			t.Fatal(err)
		}
		rep, err := f.p.Report(f.sys, pager.ReportFilter{From: t0.Add(-time.Hour), To: t0.Add(48 * time.Hour), TimeZone: "Europe/Berlin"})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Pages != 2 || len(rep.People) != 2 || len(rep.Policies) != 1 {
			t.Fatalf("report = %+v", rep)
		}
		ana, ben := rep.People[0], rep.People[1]
		if ana.User != "ana" || ana.Pages != 2 || ana.OutOfHours != 1 || ana.Messages != 2 || ana.Acknowledged != 1 {
			t.Errorf("ana = %+v, want 2 pages, 1 out of hours, 2 messages, 1 acknowledged", ana)
		}
		if ben.User != "ben" || ben.Pages != 1 || ben.OutOfHours != 1 || ben.Acknowledged != 1 {
			t.Errorf("ben = %+v", ben)
		}
		pol := rep.Policies[0]
		if pol.Pages != 2 || pol.Escalated != 1 || pol.Acknowledged != 2 || pol.MTTAMean == nil || *pol.MTTAMean != 270 || *pol.MTTAMedian != 270 {
			t.Errorf("policy = %+v (MTTA %v), want mean and median 4.5 min", pol, pol.MTTAMean)
		}
		var b strings.Builder
		if err := rep.WriteCSV(&b, "person"); err != nil {
			t.Fatal(err)
		}
		if want := "user,pages,out_of_hours,messages,acknowledged\nana,2,1,2,1\nben,1,1,1,1\n"; b.String() != want {
			t.Errorf("csv:\n%s\nwant\n%s", b.String(), want)
		}
		for _, bad := range []pager.ReportFilter{{TimeZone: "Mars/Olympus"}, {BusinessHours: "18:00-09:00"}, {From: t0, To: t0.Add(-time.Hour)}} {
			if _, err := f.p.Report(f.sys, bad); !errs.Is(err, errs.Invalid) {
				t.Errorf("report %+v: %v, want invalid", bad, err)
			}
		}
	})
}

// TestPager_SnoozeKeepsTheStep: snoozing twice, then the snooze ending,
// re-notifies the step that was interrupted; "escalate now" on a snoozed
// page goes to the next step; acknowledging or snoozing cancels what a
// notification rule still owed, even when the page is triggered again
// before it was due.
func TestPager_SnoozeKeepsTheStep(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d, pager.Throttle{Messages: 100, Window: time.Minute})
		f.contact("ana", "slack", "slack")
		f.contact("ana", "mail", "email")
		f.contact("ben", "hook", "webhook")
		f.contact("cho", "hook", "webhook")
		if _, err := f.oc.SetNotificationRules(f.sys, "ana", []oncall.RuleInput{{Method: "slack"}, {Method: "mail", DelayMinutes: 10}}); err != nil {
			t.Fatal(err)
		}
		f.policy("chain", 0, step("5m", oncall.Target{User: "ana"}), step("5m", oncall.Target{User: "ben"}), step("5m", oncall.Target{User: "cho"}))
		pg := f.open("g", "chain", "ünïcödé "+strings.Repeat("ü", 300)) // cut on a character boundary
		f.at(3 * time.Second)
		// ana snoozes at once: her mail due in 10 minutes is cancelled,
		// and when the snooze ends step 1 notifies again (a new mail due
		// 10 minutes after that).
		f.clk.Set(t0.Add(time.Minute))
		if _, err := f.p.Snooze(f.as("ana"), pg.ID, 2*time.Minute); err != nil {
			t.Fatal(err)
		}
		f.at(3*time.Minute + 3*time.Second)
		if n := len(f.out.to("ana/slack")); n != 2 {
			t.Fatalf("ana's slack after the snooze: %d, want 2", n)
		}
		f.at(10*time.Minute + 3*time.Second)
		if n := len(f.out.to("ana/mail")); n != 0 {
			t.Fatalf("the mail owed before the snooze went out (%d)", n)
		}
		f.at(8*time.Minute + 3*time.Second - time.Second) // step 2 (ben) was due at 3m + 5m
		f.at(8*time.Minute + 6*time.Second)
		if n := len(f.out.to("ben/hook")); n != 1 {
			t.Fatalf("ben at step 2: %d", n)
		}
		// ben snoozes twice; when it ends he is notified again, not ana.
		for _, at := range []time.Duration{9 * time.Minute, 10 * time.Minute} {
			f.clk.Set(t0.Add(at))
			if _, err := f.p.Snooze(f.as("ben"), pg.ID, 10*time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		f.at(20*time.Minute + 3*time.Second)
		f.at(20*time.Minute + 6*time.Second)
		if b, a := len(f.out.to("ben/hook")), len(f.out.to("ana/slack")); b != 2 || a != 2 {
			t.Fatalf("after ben's second snooze: ben %d, ana slack %d; want 2, 2", b, a)
		}
		// Snoozed again, "escalate now" goes to cho.
		f.clk.Set(t0.Add(21 * time.Minute))
		if _, err := f.p.Snooze(f.as("ben"), pg.ID, 30*time.Minute); err != nil {
			t.Fatal(err)
		}
		if _, err := f.p.EscalateNow(f.as("ben"), pg.ID); err != nil {
			t.Fatal(err)
		}
		f.at(21*time.Minute + 3*time.Second)
		if c, b := len(f.out.to("cho/hook")), len(f.out.to("ben/hook")); c != 1 || b != 2 {
			t.Fatalf("escalate now from a snooze: cho %d, ben %d; want 1, 2", c, b)
		}
		if got := f.get(pg.ID); got.Step != 2 || got.Status != pager.Triggered {
			t.Errorf("after escalating: step %d, %s", got.Step, got.Status)
		}
	})
}
