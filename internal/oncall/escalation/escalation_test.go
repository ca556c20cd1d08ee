package escalation_test

import (
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/oncall/escalation"
)

var t0 = time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// run drives a page minute by minute until end and returns what notified.
func run(t *testing.T, p escalation.Policy, pg escalation.Page, from, end time.Duration) (escalation.Page, []escalation.Notify) {
	t.Helper()
	var out []escalation.Notify
	for m := from; m <= end; m += time.Minute {
		for pg.Due(at(m)) {
			var n escalation.Notify
			var ok bool
			pg, n, ok = escalation.Advance(p, pg, at(m))
			if ok {
				out = append(out, n)
			}
		}
	}
	return pg, out
}

func TestEscalation_StepsAndRepeats(t *testing.T) {
	p := escalation.Policy{Delays: []time.Duration{5 * time.Minute, 10 * time.Minute}, Repeat: 1}
	pg, first, err := escalation.Start(p, t0)
	if err != nil || first.Step != 0 || !first.At.Equal(t0) {
		t.Fatalf("Start = %+v, %v", first, err)
	}
	pg, got := run(t, p, pg, 0, 2*time.Hour)
	want := []escalation.Notify{
		{Step: 1, Round: 0, At: at(5 * time.Minute)},
		{Step: 0, Round: 1, At: at(15 * time.Minute)},
		{Step: 1, Round: 1, At: at(20 * time.Minute)},
	}
	if len(got) != len(want) {
		t.Fatalf("notified %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].Step != want[i].Step || got[i].Round != want[i].Round || !got[i].At.Equal(want[i].At) {
			t.Fatalf("notification %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if !pg.Exhausted || pg.Due(at(3*time.Hour)) {
		t.Fatalf("after the last round: %+v, want exhausted", pg)
	}
}

func TestEscalation_AcknowledgeStops(t *testing.T) {
	p := escalation.Policy{Delays: []time.Duration{5 * time.Minute, 10 * time.Minute}, Repeat: 3}
	pg, _, _ := escalation.Start(p, t0)
	pg, got := run(t, p, pg, 0, 4*time.Minute)
	if len(got) != 0 {
		t.Fatalf("notified before the delay: %+v", got)
	}
	pg = escalation.Acknowledge(pg)
	if _, got = run(t, p, pg, 4*time.Minute, 3*time.Hour); len(got) != 0 {
		t.Fatalf("notified after the acknowledgement: %+v", got)
	}
	if _, _, err := escalation.EscalateNow(p, pg, at(time.Hour)); err != escalation.ErrEnded {
		t.Fatalf("escalate an acknowledged page: %v", err)
	}
}

func TestEscalation_EscalateNowAndSnooze(t *testing.T) {
	p := escalation.Policy{Delays: []time.Duration{30 * time.Minute, 30 * time.Minute}}
	pg, _, _ := escalation.Start(p, t0)
	pg, n, err := escalation.EscalateNow(p, pg, at(2*time.Minute))
	if err != nil || n.Step != 1 || !n.At.Equal(at(2*time.Minute)) || !pg.Next.Equal(at(32*time.Minute)) {
		t.Fatalf("escalate now = %+v %+v, %v", pg, n, err)
	}
	// Acknowledged, then snoozed for an hour: step 1 notifies again then.
	pg = escalation.Acknowledge(pg)
	pg, got := run(t, p, pg, 3*time.Minute, 61*time.Minute)
	if len(got) != 0 {
		t.Fatalf("notified during the snooze: %+v", got)
	}
	pg, n = escalation.Resume(p, pg, at(62*time.Minute))
	got = []escalation.Notify{n}
	if len(got) != 1 || got[0].Step != 1 || !got[0].At.Equal(at(62*time.Minute)) {
		t.Fatalf("after the snooze: %+v", got)
	}
	// Exhausted afterwards (no repeat).
	if pg, got = run(t, p, pg, 63*time.Minute, 3*time.Hour); len(got) != 0 || !pg.Exhausted {
		t.Fatalf("after the snoozed step: %+v %+v", pg, got)
	}
}

// A pager that wakes late sends what it missed, stamped with when each
// step was due, in order.
func TestEscalation_LateCatchUp(t *testing.T) {
	p := escalation.Policy{Delays: []time.Duration{time.Minute, time.Minute, time.Minute}}
	pg, _, _ := escalation.Start(p, t0)
	var got []escalation.Notify
	for pg.Due(at(10 * time.Minute)) {
		var n escalation.Notify
		var ok bool
		if pg, n, ok = escalation.Advance(p, pg, at(10*time.Minute)); ok {
			got = append(got, n)
		}
	}
	if len(got) != 2 || !got[0].At.Equal(at(time.Minute)) || !got[1].At.Equal(at(2*time.Minute)) {
		t.Fatalf("catch-up = %+v", got)
	}
}

func TestEscalation_NoSteps(t *testing.T) {
	if _, _, err := escalation.Start(escalation.Policy{}, t0); err != escalation.ErrNoSteps {
		t.Fatalf("Start without steps: %v", err)
	}
}
