package oncall_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/audit"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/oncall"
	"groundcrew.dev/groundcrew/internal/oncall/schedule"
)

// Swaps run on the fixture's primary schedule, seen from Friday 27 March
// 2026, 13:00 in Berlin: ana until Saturday 09:00 CET, then ben for the
// 23 hours across the change to summer time (28 Mar 08:00 – 29 Mar 07:00
// UTC), then ana, ben, …
var swapNow = utc("2026-03-27 12:00")

// bensShift and anasShift are the next shifts of ben and ana.
var (
	bensShift = [2]time.Time{utc("2026-03-28 08:00"), utc("2026-03-29 07:00")}
	anasShift = [2]time.Time{utc("2026-03-29 07:00"), utc("2026-03-30 07:00")}
)

func swapSetup(t *testing.T, d *db.DB) *fixture {
	t.Helper()
	f := setup(t, d)
	f.clock.Set(swapNow)
	if _, err := f.svc.CreateSchedule(f.as(t, "bob"), primary("payments-primary")); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) onCallAt(t *testing.T, at time.Time) oncall.OnCall {
	t.Helper()
	oc, err := f.svc.OnCall(f.sys, "payments-primary", at)
	if err != nil {
		t.Fatal(err)
	}
	return oc
}

func (f *fixture) revision(t *testing.T) int64 {
	t.Helper()
	sc, err := f.svc.GetSchedule(f.sys, "payments-primary")
	if err != nil {
		t.Fatal(err)
	}
	return sc.Revision
}

func wantCode(t *testing.T, what string, err error, code errs.Code, field string) {
	t.Helper()
	if !errs.Is(err, code) || errs.FieldOf(err) != field {
		t.Errorf("%s: %v (code %s, field %q), want %s on %q", what, err, errs.CodeOf(err), errs.FieldOf(err), code, field)
	}
}

func cover(with string, period [2]time.Time) oncall.SwapInput {
	return oncall.SwapInput{Counterpart: with, Start: period[0], End: period[1], Message: "family dinner"}
}

func TestSwap_CoverAcrossDST(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := swapSetup(t, d)
		mid := utc("2026-03-28 12:00")
		sw, err := f.svc.RequestSwap(f.as(t, "ben"), "payments-primary", cover("cho", bensShift))
		if err != nil {
			t.Fatal(err)
		}
		if sw.Status != oncall.SwapPending || sw.Kind != oncall.SwapCover || sw.Requester != "ben" || sw.CreatedBy != "ben" || !sw.ExpiresAt.Equal(bensShift[0]) {
			t.Fatalf("requested %+v", sw)
		}
		// Nothing changes until cho accepts.
		if got := users(f.onCallAt(t, mid)); got != "ben" || f.revision(t) != 1 {
			t.Fatalf("pending swap changed the schedule: %s on call, revision %d", got, f.revision(t))
		}
		// cho is not in the owning team: the swap is the consent needed.
		acc, err := f.svc.AcceptSwap(f.as(t, "cho"), sw.ID)
		if err != nil {
			t.Fatal(err)
		}
		if acc.Status != oncall.SwapAccepted || acc.DecidedBy != "cho" || acc.DecidedAt == nil || !acc.DecidedAt.Equal(swapNow) {
			t.Errorf("accepted %+v", acc)
		}
		sc, err := f.svc.GetSchedule(f.sys, "payments-primary")
		if err != nil {
			t.Fatal(err)
		}
		want := schedule.OverrideSpec{Kind: schedule.Replace, User: "cho", Replaces: "ben", Start: bensShift[0], End: bensShift[1]}
		if sc.Revision != 2 || len(sc.Spec.Overrides) != 1 || sc.Spec.Overrides[0] != want {
			t.Fatalf("schedule after accept: revision %d, overrides %+v; want revision 2 and %+v", sc.Revision, sc.Spec.Overrides, want)
		}
		oc := f.onCallAt(t, mid)
		if got := users(oc); got != "cho" {
			t.Fatalf("on call during ben's shift after the swap: %s, want cho", got)
		}
		// cho's shift is ben's: 23 hours across the change to summer time.
		if sh := oc.Shifts[0]; !sh.Start.Equal(bensShift[0]) || !sh.End.Equal(bensShift[1]) || sh.End.Sub(sh.Start) != 23*time.Hour {
			t.Errorf("cho's shift %s – %s, want ben's 23 hours", sh.Start, sh.End)
		}
		for at, want := range map[time.Time]string{
			bensShift[0].Add(-time.Minute): "ana", utc("2026-03-29 01:30"): "cho", bensShift[1]: "ana", utc("2026-03-30 08:00"): "ben",
		} {
			if got := users(f.onCallAt(t, at)); got != want {
				t.Errorf("on call at %s: %s, want %s", at, got, want)
			}
		}
		// Putting the spec again as its YAML says (a re-apply from git,
		// which knows nothing of the swap) keeps the swap's cover and
		// changes nothing.
		again, err := f.svc.UpdateSchedule(f.as(t, "bob"), "payments-primary", primary("payments-primary"), 0)
		if err != nil {
			t.Fatal(err)
		}
		if again.Revision != 2 || len(again.Spec.Overrides) != 1 || again.Spec.Overrides[0] != want {
			t.Errorf("re-put of the YAML spec: revision %d, overrides %+v; want revision 2 and the swap's override kept", again.Revision, again.Spec.Overrides)
		}
		if got := users(f.onCallAt(t, mid)); got != "cho" {
			t.Errorf("after the re-put: %s on call during ben's shift, want cho", got)
		}
		// The schedule's update and the swap's life are in the audit log.
		for _, w := range []struct{ kind, action string }{{"schedule", "update"}, {"oncall-swap", "create"}, {"oncall-swap", "accept"}} {
			recs, err := audit.List(context.Background(), d.Reader(), audit.Filter{ObjectKind: w.kind, Action: w.action})
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != 1 {
				t.Errorf("%d audit records %s %s, want 1", len(recs), w.action, w.kind)
			}
		}
		// Accepted is final.
		_, err = f.svc.AcceptSwap(f.as(t, "cho"), sw.ID)
		wantCode(t, "accept twice", err, errs.Conflict, "")
		_, err = f.svc.CancelSwap(f.as(t, "ben"), sw.ID)
		wantCode(t, "cancel an accepted swap", err, errs.Conflict, "")
	})
}

func TestSwap_Trade(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := swapSetup(t, d)
		in := cover("ana", bensShift)
		in.TradeStart, in.TradeEnd = anasShift[0], anasShift[1]
		sw, err := f.svc.RequestSwap(f.as(t, "ben"), "payments-primary", in)
		if err != nil {
			t.Fatal(err)
		}
		if sw.Kind != oncall.SwapTrade || sw.TradeStart == nil || !sw.TradeStart.Equal(anasShift[0]) {
			t.Fatalf("requested %+v", sw)
		}
		if _, err := f.svc.AcceptSwap(f.as(t, "ana"), sw.ID); err != nil {
			t.Fatal(err)
		}
		if got := users(f.onCallAt(t, utc("2026-03-28 12:00"))); got != "ana" {
			t.Errorf("during ben's old shift: %s, want ana", got)
		}
		if got := users(f.onCallAt(t, utc("2026-03-29 12:00"))); got != "ben" {
			t.Errorf("during ana's old shift: %s, want ben", got)
		}
		if r := f.revision(t); r != 2 {
			t.Errorf("revision %d, want 2: one change for both overrides", r)
		}
	})
}

func TestSwap_RequestValidation(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := swapSetup(t, d)
		trade := func(in oncall.SwapInput, p [2]time.Time) oncall.SwapInput {
			in.TradeStart, in.TradeEnd = p[0], p[1]
			return in
		}
		for _, tc := range []struct {
			name, as string
			in       oncall.SwapInput
			code     errs.Code
			field    string
		}{
			{"requester not on call", "ana", cover("cho", bensShift), errs.Invalid, "start"},
			{"partly on call", "ben", cover("cho", [2]time.Time{bensShift[0], bensShift[1].Add(time.Hour)}), errs.Invalid, "start"},
			{"in the past", "ana", cover("cho", [2]time.Time{swapNow.Add(-time.Hour), swapNow.Add(time.Hour)}), errs.Invalid, "start"},
			{"end before start", "ben", cover("cho", [2]time.Time{bensShift[1], bensShift[0]}), errs.Invalid, "end"},
			{"over 14 days", "ben", cover("cho", [2]time.Time{bensShift[0], bensShift[0].Add(15 * 24 * time.Hour)}), errs.Invalid, "end"},
			{"oneself", "ben", cover("ben", bensShift), errs.Invalid, "counterpart"},
			{"nobody", "ben", cover("", bensShift), errs.Invalid, "counterpart"},
			{"unknown counterpart", "ben", cover("zed", bensShift), errs.Invalid, "counterpart"},
			{"trade of a period the counterpart does not have", "ben", trade(cover("cho", bensShift), anasShift), errs.Invalid, "trade_start"},
			{"overlapping trade", "ben", trade(cover("ana", bensShift), bensShift), errs.Invalid, "trade_start"},
			{"cover with a trade period", "ben", func() oncall.SwapInput {
				in := trade(cover("ana", bensShift), anasShift)
				in.Kind = oncall.SwapCover
				return in
			}(), errs.Invalid, "trade_start"},
			{"viewer", "vera", cover("cho", bensShift), errs.Forbidden, ""},
			{"for someone else, not owning the schedule", "mallory", func() oncall.SwapInput {
				in := cover("cho", bensShift)
				in.Requester = "ben"
				return in
			}(), errs.Forbidden, ""},
		} {
			_, err := f.svc.RequestSwap(f.as(t, tc.as), "payments-primary", tc.in)
			wantCode(t, tc.name, err, tc.code, tc.field)
		}
		_, err := f.svc.RequestSwap(f.as(t, "ana"), "payments-primary", cover("cho", bensShift))
		if msg := errs.MessageOf(err); !strings.Contains(msg, "ana is not on call") || !strings.Contains(msg, "it is ben") {
			t.Errorf("message %q should say who is on call instead", msg)
		}
		_, err = f.svc.RequestSwap(f.as(t, "ben"), "nope", cover("cho", bensShift))
		wantCode(t, "unknown schedule", err, errs.NotFound, "")
		// An operator may arrange a swap for someone.
		in := cover("cho", bensShift)
		in.Requester = "ben"
		sw, err := f.svc.RequestSwap(f.as(t, "olga"), "payments-primary", in)
		if err != nil || sw.Requester != "ben" || sw.CreatedBy != "olga" {
			t.Fatalf("operator's request for ben: %+v, %v", sw, err)
		}
	})
}

func TestSwap_WhoDecides(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := swapSetup(t, d)
		request := func() uuid.UUID {
			t.Helper()
			sw, err := f.svc.RequestSwap(f.as(t, "ben"), "payments-primary", cover("cho", bensShift))
			if err != nil {
				t.Fatal(err)
			}
			return sw.ID
		}
		id := request()
		for _, who := range []string{"ben", "bob", "mallory", "olga", "vera"} {
			_, err := f.svc.AcceptSwap(f.as(t, who), id)
			wantCode(t, who+" accepts cho's swap", err, errs.Forbidden, "")
			_, err = f.svc.DeclineSwap(f.as(t, who), id)
			wantCode(t, who+" declines cho's swap", err, errs.Forbidden, "")
		}
		for _, who := range []string{"cho", "bob", "mallory"} {
			_, err := f.svc.CancelSwap(f.as(t, who), id)
			wantCode(t, who+" cancels ben's swap", err, errs.Forbidden, "")
		}
		if r := f.revision(t); r != 1 {
			t.Fatalf("refused decisions changed the schedule (revision %d)", r)
		}
		sw, err := f.svc.DeclineSwap(f.as(t, "cho"), id)
		if err != nil || sw.Status != oncall.SwapDeclined || sw.DecidedBy != "cho" {
			t.Fatalf("decline: %+v, %v", sw, err)
		}
		_, err = f.svc.AcceptSwap(f.as(t, "cho"), id)
		wantCode(t, "accept a declined swap", err, errs.Conflict, "")

		sw, err = f.svc.CancelSwap(f.as(t, "ben"), request())
		if err != nil || sw.Status != oncall.SwapCancelled || sw.DecidedBy != "ben" {
			t.Fatalf("cancel: %+v, %v", sw, err)
		}
		// An admin may accept for the counterpart.
		sw, err = f.svc.AcceptSwap(f.sys, request())
		if err != nil || sw.Status != oncall.SwapAccepted || sw.DecidedBy != "system" {
			t.Fatalf("admin accepts: %+v, %v", sw, err)
		}
		if got := users(f.onCallAt(t, utc("2026-03-28 12:00"))); got != "cho" {
			t.Errorf("on call after the admin's accept: %s, want cho", got)
		}
		// Lists: the schedule's, and a person's.
		all, _, err := f.svc.ListSwaps(f.as(t, "vera"), oncall.SwapFilter{Schedule: "payments-primary"})
		if err != nil || len(all) != 3 || all[0].Status != oncall.SwapAccepted || all[2].Status != oncall.SwapDeclined {
			t.Fatalf("list: %+v, %v", all, err)
		}
		for status, n := range map[string]int{"": 3, oncall.SwapPending: 0, oncall.SwapDeclined: 1, oncall.SwapCancelled: 1} {
			got, _, err := f.svc.ListSwaps(f.sys, oncall.SwapFilter{User: "cho", Status: status})
			if err != nil || len(got) != n {
				t.Errorf("cho's %q swaps: %d, %v; want %d", status, len(got), err, n)
			}
		}
		page, next, err := f.svc.ListSwaps(f.sys, oncall.SwapFilter{Limit: 2})
		if err != nil || len(page) != 2 || next == "" {
			t.Fatalf("first page: %d, %q, %v", len(page), next, err)
		}
		if rest, next, err := f.svc.ListSwaps(f.sys, oncall.SwapFilter{Limit: 2, After: next}); err != nil || len(rest) != 1 || next != "" || rest[0].ID != all[2].ID {
			t.Errorf("second page: %+v, %q, %v", rest, next, err)
		}
		_, _, err = f.svc.ListSwaps(f.sys, oncall.SwapFilter{Status: "done"})
		wantCode(t, "bad status", err, errs.Invalid, "status")
	})
}

func TestSwap_ScheduleChangedMeanwhile(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := swapSetup(t, d)
		sw, err := f.svc.RequestSwap(f.as(t, "ben"), "payments-primary", cover("cho", bensShift))
		if err != nil {
			t.Fatal(err)
		}
		// bob makes ana take ben's Saturday evening.
		in := primary("payments-primary")
		in.Spec.Overrides = []schedule.OverrideSpec{{User: "ana", Replaces: "ben", Start: utc("2026-03-28 18:00"), End: utc("2026-03-28 22:00")}}
		if _, err := f.svc.UpdateSchedule(f.as(t, "bob"), "payments-primary", in, 0); err != nil {
			t.Fatal(err)
		}
		audits := func() int {
			recs, err := audit.List(context.Background(), d.Reader(), audit.Filter{Limit: 500})
			if err != nil {
				t.Fatal(err)
			}
			return len(recs)
		}
		n := audits()
		_, err = f.svc.AcceptSwap(f.as(t, "cho"), sw.ID)
		wantCode(t, "accept after the schedule changed", err, errs.Conflict, "")
		if msg := errs.MessageOf(err); !strings.Contains(msg, "changed since the swap was requested") || !strings.Contains(msg, "ben is not on call") || !strings.Contains(msg, "it is ana") {
			t.Errorf("conflict message %q should say why", msg)
		}
		sc, _ := f.svc.GetSchedule(f.sys, "payments-primary")
		got, _ := f.svc.GetSwap(f.sys, sw.ID)
		if sc.Revision != 2 || len(sc.Spec.Overrides) != 1 || got.Status != oncall.SwapPending || audits() != n {
			t.Errorf("a failed accept wrote: revision %d, %d overrides, swap %s, %d audit records (was %d)", sc.Revision, len(sc.Spec.Overrides), got.Status, audits(), n)
		}
		// cho may still decline it.
		if _, err := f.svc.DeclineSwap(f.as(t, "cho"), sw.ID); err != nil {
			t.Error(err)
		}
	})
}

func TestSwap_Expiry(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := swapSetup(t, d)
		sw, err := f.svc.RequestSwap(f.as(t, "ben"), "payments-primary", cover("cho", bensShift))
		if err != nil {
			t.Fatal(err)
		}
		f.clock.Set(bensShift[0])
		got, err := f.svc.GetSwap(f.sys, sw.ID)
		if err != nil || got.Status != oncall.SwapExpired || got.DecidedAt == nil || !got.DecidedAt.Equal(bensShift[0]) {
			t.Fatalf("at the start of the period: %+v, %v; want expired", got, err)
		}
		for name, fn := range map[string]func(context.Context, uuid.UUID) (oncall.Swap, error){
			"accept": f.svc.AcceptSwap, "decline": f.svc.DeclineSwap,
		} {
			_, err := fn(f.as(t, "cho"), sw.ID)
			wantCode(t, name+" an expired swap", err, errs.Conflict, "")
		}
		if _, err := f.svc.CancelSwap(f.as(t, "ben"), sw.ID); !errs.Is(err, errs.Conflict) || !strings.Contains(errs.MessageOf(err), "expired") {
			t.Errorf("cancel an expired swap: %v", err)
		}
		for status, n := range map[string]int{oncall.SwapPending: 0, oncall.SwapExpired: 1} {
			if l, _, err := f.svc.ListSwaps(f.sys, oncall.SwapFilter{Status: status}); err != nil || len(l) != n {
				t.Errorf("%s swaps: %d, %v; want %d", status, len(l), err, n)
			}
		}
		// A later write marks it expired in the table too.
		f.clock.Set(swapNow)
		if _, err := f.svc.RequestSwap(f.as(t, "ana"), "payments-primary", cover("cho", anasShift)); err != nil {
			t.Fatal(err)
		}
		f.clock.Set(bensShift[0].Add(time.Minute))
		if _, err := f.svc.RequestSwap(f.as(t, "ana"), "payments-primary", cover("cho", anasShift)); err != nil {
			t.Fatal(err)
		}
		var status string
		if err := d.Reader().QueryRowContext(context.Background(), `SELECT status FROM oncall_swaps WHERE id = $1`, sw.ID).Scan(&status); err != nil || status != "expired" {
			t.Errorf("stored status %q, %v; want expired", status, err)
		}
	})
}

// TestSwap_ConcurrentAccepts accepts six swaps of one schedule at once:
// all land, none overwrites another's override.
func TestSwap_ConcurrentAccepts(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := swapSetup(t, d)
		// cho covers the next six shifts: ben's, ana's, ben's, …
		var ids []uuid.UUID
		start := bensShift[0]
		for i := range 6 {
			end := anasShift[0].Add(time.Duration(i) * 24 * time.Hour)
			sw, err := f.svc.RequestSwap(f.as(t, []string{"ben", "ana"}[i%2]), "payments-primary", cover("cho", [2]time.Time{start, end}))
			if err != nil {
				t.Fatal(err)
			}
			ids, start = append(ids, sw.ID), end
		}
		cho := f.as(t, "cho")
		var wg sync.WaitGroup
		errc := make(chan error, len(ids))
		for _, id := range ids {
			wg.Go(func() {
				_, err := f.svc.AcceptSwap(cho, id)
				errc <- err
			})
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			if err != nil {
				t.Error(err)
			}
		}
		sc, _ := f.svc.GetSchedule(f.sys, "payments-primary")
		if sc.Revision != 7 || len(sc.Spec.Overrides) != 6 {
			t.Errorf("revision %d with %d overrides, want 7 with all 6", sc.Revision, len(sc.Spec.Overrides))
		}
		shifts, err := f.svc.Shifts(f.sys, "payments-primary", bensShift[0], start)
		if err != nil || len(shifts) != 6 {
			t.Fatalf("shifts over the six days: %+v, %v; want six of cho's", shifts, err)
		}
		for _, sh := range shifts {
			if sh.User != "cho" {
				t.Errorf("%s on call %s – %s, want cho", sh.User, sh.Start, sh.End)
			}
		}
	})
}
