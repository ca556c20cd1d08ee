// Package escalation is the pure core of paging: given an escalation
// policy's step delays and repeats and what happened to a page so far, it
// says which step notifies next and when. No database, no clock reads:
// times are arguments, so the durable pager (one job per step) and tests
// drive it the same way.
//
// Semantics (as PagerDuty and GoAlert): step 0 notifies when the page
// opens; each step then waits its delay for an acknowledgement before the
// next step notifies; after the last step's delay the policy starts over
// from step 0, Repeat more times; then the page stays open, unacknowledged,
// with nobody left to notify (Exhausted). Acknowledging or resolving ends
// escalation; "escalate now" notifies the next step at once; snoozing an
// acknowledged page re-notifies its current step when the snooze ends.
package escalation

import (
	"errors"
	"time"
)

// Policy is what escalation needs of a policy: each step's delay (the
// wait after it notifies) and how many more rounds follow the first.
type Policy struct {
	Delays []time.Duration
	Repeat int
}

// Page is the escalation state of one page. The zero value is a page that
// has not started.
type Page struct {
	Step  int       // the step that notified last
	Round int       // 0 for the first pass through the steps
	Next  time.Time // when the next notification is due; zero: none
	Ended bool      // acknowledged or resolved: nothing more is sent
	// Exhausted: every step of every round notified and nobody answered.
	Exhausted bool
}

// Notify is one step's notification: notify Step's targets, as of At.
type Notify struct {
	Step, Round int
	At          time.Time
}

// Errors of the operations.
var (
	ErrNoSteps = errors.New("escalation: the policy has no steps")
	ErrEnded   = errors.New("escalation: the page was acknowledged or resolved")
)

// Start opens a page at at: step 0 notifies now.
func Start(p Policy, at time.Time) (Page, Notify, error) {
	if len(p.Delays) == 0 {
		return Page{}, Notify{}, ErrNoSteps
	}
	return Page{Step: 0, Round: 0, Next: at.Add(p.Delays[0])}, Notify{Step: 0, Round: 0, At: at}, nil
}

// Due reports whether the page's next notification is due at now.
func (pg Page) Due(now time.Time) bool {
	return !pg.Ended && !pg.Exhausted && !pg.Next.IsZero() && !now.Before(pg.Next)
}

// Advance moves a due page to its next step and returns the notification
// to send (ok false when the policy is exhausted). The notification is
// stamped with the time it was due, not now, so a pager that ran late
// still reports when the step should have gone out.
func Advance(p Policy, pg Page, now time.Time) (Page, Notify, bool) {
	if !pg.Due(now) {
		return pg, Notify{}, false
	}
	return step(p, pg, pg.Next)
}

// EscalateNow notifies the next step at now, whatever the delay left.
func EscalateNow(p Policy, pg Page, now time.Time) (Page, Notify, error) {
	if pg.Ended {
		return pg, Notify{}, ErrEnded
	}
	next, n, ok := step(p, pg, now)
	if !ok {
		return next, Notify{}, nil
	}
	return next, n, nil
}

func step(p Policy, pg Page, at time.Time) (Page, Notify, bool) {
	pg.Step++
	if pg.Step >= len(p.Delays) {
		if pg.Round >= p.Repeat {
			pg.Exhausted, pg.Next = true, time.Time{}
			return pg, Notify{}, false
		}
		pg.Step, pg.Round = 0, pg.Round+1
	}
	pg.Next = at.Add(p.Delays[pg.Step])
	return pg, Notify{Step: pg.Step, Round: pg.Round, At: at}, true
}

// Acknowledge ends escalation: nothing more is sent unless the page is
// snoozed.
func Acknowledge(pg Page) Page {
	pg.Ended, pg.Next = true, time.Time{}
	return pg
}

// Resume notifies a page's current step again at at — its snooze ended
// — and escalation goes on from there; a page that never notified starts
// at step 0.
func Resume(p Policy, pg Page, at time.Time) (Page, Notify) {
	pg.Ended, pg.Exhausted = false, false
	if pg.Step < 0 || pg.Step >= len(p.Delays) {
		pg.Step = max(0, min(pg.Step, len(p.Delays)-1))
	}
	pg.Next = at.Add(p.Delays[pg.Step])
	return pg, Notify{Step: pg.Step, Round: pg.Round, At: at}
}
