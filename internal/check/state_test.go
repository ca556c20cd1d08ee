package check

import (
	"testing"
	"time"
)

func TestState_Advance(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	c := Confirm{Down: 3, Up: 2}
	type step struct {
		raw        Status
		parentDown bool
		want       Status
		transition bool
		alertable  bool
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"first up confirms after Up runs, not alertable", []step{
			{Up, false, Unknown, false, false},
			{Up, false, Up, true, false},
		}},
		{"down only after Down failures in a row", []step{
			{Up, false, Unknown, false, false}, {Up, false, Up, true, false},
			{Down, false, Up, false, false}, {Down, false, Up, false, false},
			{Up, false, Up, false, false}, // a pass resets the streak
			{Down, false, Up, false, false}, {Down, false, Up, false, false}, {Down, false, Down, true, true},
			{Down, false, Down, false, false},
			{Up, false, Down, false, false}, {Up, false, Up, true, true},
		}},
		{"degraded is confirmed like down", []step{
			{Up, false, Unknown, false, false}, {Up, false, Up, true, false},
			{Degraded, false, Up, false, false}, {Degraded, false, Up, false, false}, {Degraded, false, Degraded, true, true},
			{Down, false, Degraded, false, false}, {Down, false, Degraded, false, false}, {Down, false, Down, true, true},
		}},
		{"a child of a down parent is blocked at once and does not alert", []step{
			{Up, false, Unknown, false, false}, {Up, false, Up, true, false},
			{Down, true, Blocked, true, false},
			{Down, true, Blocked, false, false},
			{Up, true, Blocked, false, false}, {Up, true, Up, true, false},
		}},
		{"alternating down and degraded still confirms a failure", []step{
			{Up, false, Unknown, false, false}, {Up, false, Up, true, false},
			{Down, false, Up, false, false}, {Degraded, false, Up, false, false}, {Down, false, Down, true, true},
			{Degraded, false, Down, false, false}, {Down, false, Down, false, false},
		}},
		{"after the parent recovers a child still down goes down", []step{
			{Up, false, Unknown, false, false}, {Up, false, Up, true, false},
			{Down, true, Blocked, true, false}, {Down, true, Blocked, false, false},
			{Down, false, Down, true, true},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := State{Status: Unknown, Since: t0}
			for i, st := range tc.steps {
				var tr *Transition
				parent := Parent{Name: "db"}
				parent.Down = st.parentDown
				s, tr = s.Advance(Outcome{At: t0.Add(time.Duration(i) * time.Minute), Status: st.raw, Reason: "r"}, c, parent)
				if s.Status != st.want {
					t.Fatalf("step %d (%s): status %s, want %s", i, st.raw, s.Status, st.want)
				}
				if (tr != nil) != st.transition {
					t.Fatalf("step %d: transition %+v, want %v", i, tr, st.transition)
				}
				if tr != nil && tr.Alertable != st.alertable {
					t.Fatalf("step %d: %s→%s alertable %v, want %v", i, tr.From, tr.To, tr.Alertable, st.alertable)
				}
				if tr != nil && !s.Since.Equal(tr.At) {
					t.Fatalf("step %d: since %v, want the transition time %v", i, s.Since, tr.At)
				}
			}
		})
	}
}
