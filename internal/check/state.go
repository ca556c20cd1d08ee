package check

import (
	"fmt"
	"time"
)

// Status is a check's status: a run's raw outcome is Up, Degraded or Down;
// a confirmed state may also be Unknown (never confirmed), Blocked (its
// parent is DOWN) or Paused.
type Status string

// The statuses.
const (
	Unknown  Status = "unknown"
	Up       Status = "up"
	Degraded Status = "degraded"
	Down     Status = "down"
	Blocked  Status = "blocked"
	Paused   Status = "paused"
)

// Statuses lists every status, worst first after the non-run ones.
var Statuses = []Status{Down, Degraded, Blocked, Up, Unknown, Paused}

// State is a check's confirmed state.
type State struct {
	Status     Status    `json:"status" enum:"unknown,up,degraded,down,blocked,paused"`
	Since      time.Time `json:"since"`
	Reason     string    `json:"reason,omitempty"`
	LastStatus Status    `json:"last_status,omitempty" doc:"raw outcome of the latest run"`
	Streak     int       `json:"streak" doc:"runs in a row with last_status"`
	// FailStreak counts failing runs (DOWN or DEGRADED) in a row, and
	// FailDown says whether one of them was DOWN: a check alternating
	// between slow and failing still confirms a failure.
	FailStreak   int           `json:"fail_streak"`
	FailDown     bool          `json:"fail_down,omitempty"`
	LastRunAt    *time.Time    `json:"last_run_at,omitempty"`
	LastDuration time.Duration `json:"last_duration_ns,omitempty"`
}

// Outcome is the raw result of one run, as the state machine sees it.
type Outcome struct {
	At       time.Time
	Status   Status // Up, Degraded or Down
	Reason   string
	Duration time.Duration
}

// Transition is a change of a check's confirmed state.
type Transition struct {
	From, To Status
	At       time.Time
	Reason   string
	// Alertable is false for changes that must not page anyone on their
	// own: into Blocked (the parent alerts), into Paused, and a first or
	// post-block confirmation of Up.
	Alertable bool
}

// Parent describes the parent check for Advance; the zero value means no
// parent.
type Parent struct {
	Name string
	Down bool
}

// Advance applies one run's outcome to s with the confirmation thresholds
// c and returns the new state and, when the confirmed state changed, the
// transition. It is a pure function.
func (s State) Advance(o Outcome, c Confirm, parent Parent) (State, *Transition) {
	if o.Status == s.LastStatus {
		s.Streak++
	} else {
		s.LastStatus, s.Streak = o.Status, 1
	}
	failing := o.Status != Up
	if failing {
		s.FailStreak++
		s.FailDown = s.FailDown || o.Status == Down
	} else {
		s.FailStreak, s.FailDown = 0, false
	}
	at := o.At
	s.LastRunAt, s.LastDuration = &at, o.Duration
	target, reason := o.Status, o.Reason
	switch {
	case parent.Down && failing:
		// The parent explains the failure: report blocked at once, and do
		// not alert on the child's own account.
		target, reason = Blocked, fmt.Sprintf("blocked by parent %s: %s", parent.Name, o.Reason)
	case !failing:
		if s.Streak < max(c.Up, 1) {
			target = s.Status
		}
	case s.Status == Down || s.Status == Degraded:
		// Already failing: moving between DOWN and DEGRADED takes its own
		// confirmation.
		if s.Streak < max(c.Down, 1) {
			target = s.Status
		}
	default:
		// Entering failure: any failing runs in a row count; DOWN if one of
		// them was DOWN.
		if s.FailStreak < max(c.Down, 1) {
			target = s.Status
		} else if s.FailDown {
			target = Down
		}
	}
	if target == s.Status {
		if target != Up && reason != "" && target == o.Status {
			s.Reason = reason // keep the latest evidence for a check that stays down
		}
		return s, nil
	}
	t := &Transition{From: s.Status, To: target, At: o.At, Reason: reason}
	t.Alertable = target != Blocked && target != Paused &&
		!(target == Up && (t.From == Unknown || t.From == Blocked || t.From == Paused))
	s.Status, s.Since, s.Reason = target, o.At, reason
	if target == Up {
		s.Reason = ""
	}
	return s, t
}
