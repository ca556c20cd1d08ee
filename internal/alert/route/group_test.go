package route_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/alert/matcher"
	"groundcrew.dev/groundcrew/internal/alert/route"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func firing(name string, start, received time.Duration) route.Alert {
	return route.Alert{Labels: map[string]string{"alertname": name}, StartsAt: at(start), ReceivedAt: at(received)}
}

func resolved(name string, start, end, received time.Duration) route.Alert {
	a := firing(name, start, received)
	a.EndsAt = at(end)
	return a
}

func names2(as []route.Alert) string {
	var s []string
	for _, a := range as {
		s = append(s, a.Labels["alertname"])
	}
	slices.Sort(s)
	return strings.Join(s, ",")
}

func newGroup() *route.Group {
	return route.NewGroup("{}:{}", matcher.Labels{}, route.Timing{GroupWait: 30 * time.Second, GroupInterval: 5 * time.Minute, RepeatInterval: 4 * time.Hour})
}

func wantDue(t *testing.T, g *route.Group, now time.Duration, wantFlush bool, wantAt time.Duration) {
	t.Helper()
	flush, when := g.Due(at(now))
	var want time.Time
	if wantAt >= 0 {
		want = at(wantAt)
	}
	if flush != wantFlush || !when.Equal(want) {
		t.Fatalf("Due(t0+%v) = %v, %v; want %v, %v", now, flush, when.Sub(t0), wantFlush, wantAt)
	}
}

func wantFlush(t *testing.T, g *route.Group, now time.Duration, reason route.Reason, firing, resolved string) {
	t.Helper()
	n := g.Flush(at(now))
	if n.Reason != reason || names2(n.Firing) != firing || names2(n.Resolved) != resolved || !n.At.Equal(at(now)) {
		t.Fatalf("Flush(t0+%v) = %q firing [%s] resolved [%s]; want %q firing [%s] resolved [%s]", now, n.Reason, names2(n.Firing), names2(n.Resolved), reason, firing, resolved)
	}
}

const never = -1

func TestGroup_Lifecycle(t *testing.T) {
	s, m, h := time.Second, time.Minute, time.Hour
	g := newGroup()
	g.Add(firing("A", 0, 0))
	wantDue(t, g, 0, false, 30*s)
	g.Add(firing("B", 10*s, 10*s))
	wantDue(t, g, 29*s, false, 30*s)
	wantDue(t, g, 30*s, true, 30*s)
	wantFlush(t, g, 30*s, route.ReasonFirst, "A,B", "")
	// Unchanged: the next thing due is the repeat, at the first tick ≥ 4h.
	wantDue(t, g, 31*s, false, 4*h+30*s)
	// A refresh of a known alert changes nothing.
	g.Add(firing("A", 0, 2*m))
	wantDue(t, g, 2*m, false, 4*h+30*s)
	// New alerts wait for the next group_interval tick, and batch.
	g.Add(firing("C", m, m))
	g.Add(firing("D", 4*m, 4*m))
	wantDue(t, g, 5*m, false, 5*m+30*s)
	wantDue(t, g, 5*m+30*s, true, 5*m+30*s)
	wantFlush(t, g, 5*m+30*s, route.ReasonNewAlerts, "A,B,C,D", "")
	// A resolves: reported at the next tick, then dropped.
	g.Add(resolved("A", 0, 7*m, 7*m))
	wantDue(t, g, 7*m, false, 10*m+30*s)
	wantFlush(t, g, 10*m+30*s, route.ReasonSomeResolved, "B,C,D", "A")
	if g.Len() != 3 {
		t.Fatalf("Len after reporting A resolved = %d; want 3", g.Len())
	}
	// Nothing changes: repeat after 4h, at a tick.
	wantDue(t, g, 10*m+31*s, false, 4*h+10*m+30*s)
	wantDue(t, g, 4*h+10*m+30*s, true, 4*h+10*m+30*s)
	wantFlush(t, g, 4*h+10*m+30*s, route.ReasonRepeat, "B,C,D", "")
	// All resolve (C with a known end in the future): reported when the last one has.
	g.Add(resolved("B", 10*s, 4*h+11*m, 4*h+11*m))
	g.Add(resolved("D", 4*m, 4*h+11*m, 4*h+11*m))
	g.Add(resolved("C", m, 4*h+22*m, 4*h+11*m))
	wantDue(t, g, 4*h+12*m, false, 4*h+15*m+30*s)
	wantFlush(t, g, 4*h+15*m+30*s, route.ReasonSomeResolved, "C", "B,D")
	wantDue(t, g, 4*h+16*m, false, 4*h+25*m+30*s) // first tick ≥ C's end at 4h22m
	wantDue(t, g, 4*h+25*m+30*s, true, 4*h+25*m+30*s)
	wantFlush(t, g, 4*h+25*m+30*s, route.ReasonAllResolved, "", "C")
	if g.Len() != 0 {
		t.Fatalf("Len after all resolved = %d", g.Len())
	}
	wantDue(t, g, 5*h, false, never)
	// A new alert starts the group afresh, with group_wait.
	g.Add(firing("E", 6*h, 6*h))
	wantDue(t, g, 6*h, false, 6*h+30*s)
	wantFlush(t, g, 6*h+30*s, route.ReasonFirst, "E", "")
}

func TestGroup_OldAlertFlushesAtOnce(t *testing.T) {
	g := newGroup()
	g.Add(firing("A", -time.Hour, 0)) // started an hour before it reached us
	wantDue(t, g, 0, true, 0)
	wantFlush(t, g, 0, route.ReasonFirst, "A", "")
	// Later old alerts do not bypass group_interval.
	g.Add(firing("B", -time.Hour, time.Minute))
	wantDue(t, g, time.Minute, false, 5*time.Minute)
}

func TestGroup_ResolvedBeforeFirstNotificationSendsNothing(t *testing.T) {
	g := newGroup()
	g.Add(firing("A", 0, 0))
	g.Add(resolved("A", 0, 10*time.Second, 10*time.Second))
	wantDue(t, g, 10*time.Second, false, never)
	wantDue(t, g, time.Minute, false, never)
	if n := g.Flush(at(time.Minute)); n.Reason != route.ReasonNone {
		t.Fatalf("Flush = %q", n.Reason)
	}
	// It comes back: a fresh group with a fresh group_wait.
	g.Add(firing("A", 2*time.Minute, 2*time.Minute))
	wantDue(t, g, 2*time.Minute, false, 2*time.Minute+30*time.Second)
	wantFlush(t, g, 2*time.Minute+30*time.Second, route.ReasonFirst, "A", "")
}

func TestGroup_FiringThenResolvedWithinGroupWaitIsReportedWithOthers(t *testing.T) {
	g := newGroup()
	g.Add(firing("A", 0, 0))
	g.Add(firing("B", 0, time.Second))
	g.Add(resolved("B", 0, 5*time.Second, 5*time.Second))
	wantDue(t, g, 30*time.Second, true, 30*time.Second)
	wantFlush(t, g, 30*time.Second, route.ReasonFirst, "A", "B")
	if g.Len() != 1 {
		t.Fatalf("Len = %d", g.Len())
	}
}

func TestGroup_ShortLivedAlertAfterFirstNotification(t *testing.T) {
	m := time.Minute
	g := newGroup()
	g.Add(firing("A", 0, 0))
	wantFlush(t, g, 30*time.Second, route.ReasonFirst, "A", "")
	// B fires and resolves between two ticks: its resolution is still news.
	g.Add(firing("B", m, m))
	g.Add(resolved("B", m, 2*m, 2*m))
	wantDue(t, g, 3*m, false, 5*m+30*time.Second)
	wantFlush(t, g, 5*m+30*time.Second, route.ReasonSomeResolved, "A", "B")
}

func TestGroup_RefiringAfterReportedResolved(t *testing.T) {
	m := time.Minute
	g := newGroup()
	g.Add(firing("A", 0, 0))
	g.Add(firing("B", 0, 0))
	wantFlush(t, g, 30*time.Second, route.ReasonFirst, "A,B", "")
	g.Add(resolved("A", 0, m, m))
	wantFlush(t, g, 5*m+30*time.Second, route.ReasonSomeResolved, "B", "A")
	g.Add(firing("A", 7*m, 7*m))
	wantDue(t, g, 7*m, false, 10*m+30*time.Second)
	wantFlush(t, g, 10*m+30*time.Second, route.ReasonNewAlerts, "A,B", "")
}

func TestGroup_LateFlushAnchorsTicks(t *testing.T) {
	m := time.Minute
	g := newGroup()
	g.Add(firing("A", 0, 0))
	// The job ran late (a restart): the flush is at 3m, ticks count from there.
	wantDue(t, g, 3*m, true, 30*time.Second)
	wantFlush(t, g, 3*m, route.ReasonFirst, "A", "")
	g.Add(firing("B", 4*m, 4*m))
	wantDue(t, g, 4*m, false, 8*m)
	// Several ticks later with no Due in between: due at the first tick after B.
	g.Add(firing("C", 14*m, 14*m))
	wantDue(t, g, 20*m, true, 8*m)
}

func TestGroup_DefaultsAndFingerprint(t *testing.T) {
	g := route.NewGroup("k", nil, route.Timing{})
	g.Add(firing("A", 0, 0))
	wantDue(t, g, 0, false, route.DefaultGroupWait)
	n := g.Flush(at(route.DefaultGroupWait))
	if len(n.Firing) != 1 || n.Firing[0].Fingerprint != matcher.Labels(n.Firing[0].Labels).Fingerprint() {
		t.Fatalf("fingerprint not filled: %+v", n.Firing)
	}
	if n.GroupKey != "k" {
		t.Errorf("GroupKey = %q", n.GroupKey)
	}
}

// TestGroup_RestoreContinues restarts a group from its State and its
// unreported alerts after every step of a lifecycle: it must decide
// exactly as the group that never restarted.
func TestGroup_RestoreContinues(t *testing.T) {
	timing := route.Timing{GroupWait: 30 * time.Second, GroupInterval: 5 * time.Minute, RepeatInterval: 4 * time.Hour}
	live := route.NewGroup("k", matcher.Labels{}, timing)
	var stored []route.Alert // what storage holds: the latest version of each alert
	put := func(a route.Alert) {
		live.Add(a)
		stored = slices.DeleteFunc(stored, func(b route.Alert) bool { return b.Labels["alertname"] == a.Labels["alertname"] })
		stored = append(stored, a)
	}
	restart := func(now time.Duration) *route.Group {
		st := live.State()
		var keep []route.Alert
		for _, a := range stored {
			fp := matcher.Labels(a.Labels).Fingerprint()
			if a.ResolvedAt(at(now)) && st.Notified && !slices.Contains(st.LastFiring, fp) {
				continue // resolved and already reported
			}
			keep = append(keep, a)
		}
		return route.RestoreGroup("k", matcher.Labels{}, timing, st, keep)
	}
	steps := []struct {
		now time.Duration
		add []route.Alert
	}{
		{0, []route.Alert{firing("a", 0, 0)}},
		{10 * time.Second, []route.Alert{firing("b", 10*time.Second, 10*time.Second)}},
		{30 * time.Second, nil},
		{2 * time.Minute, []route.Alert{firing("c", 2*time.Minute, 2*time.Minute)}},
		{5*time.Minute + 30*time.Second, nil},
		{7 * time.Minute, []route.Alert{resolved("a", 0, 7*time.Minute, 7*time.Minute)}},
		{10*time.Minute + 30*time.Second, nil},
		{time.Hour, nil},
		{4*time.Hour + 30*time.Second + 5*time.Minute, nil},
		{5 * time.Hour, []route.Alert{resolved("b", 10*time.Second, 5*time.Hour, 5*time.Hour), resolved("c", 2*time.Minute, 5*time.Hour, 5*time.Hour)}},
		{5*time.Hour + 10*time.Minute, nil},
	}
	for i, st := range steps {
		for _, a := range st.add {
			put(a)
		}
		restored := restart(st.now)
		lf, lat := live.Due(at(st.now))
		rf, rat := restored.Due(at(st.now))
		if lf != rf || !lat.Equal(rat) {
			t.Fatalf("step %d: live Due = %v %v, restored %v %v", i, lf, lat.Sub(t0), rf, rat.Sub(t0))
		}
		if !lf {
			continue
		}
		ln, rn := live.Flush(at(st.now)), restored.Flush(at(st.now))
		if ln.Reason != rn.Reason || names2(ln.Firing) != names2(rn.Firing) || names2(ln.Resolved) != names2(rn.Resolved) {
			t.Fatalf("step %d: live flush %q [%s] [%s], restored %q [%s] [%s]", i, ln.Reason, names2(ln.Firing), names2(ln.Resolved), rn.Reason, names2(rn.Firing), names2(rn.Resolved))
		}
	}
}
