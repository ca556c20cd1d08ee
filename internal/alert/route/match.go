package route

import (
	"fmt"
	"strings"
	"time"
)

// Outcome is what happened at one step of routing an alert.
type Outcome int

// The outcomes of a Step.
const (
	Matched        Outcome = iota // the route's matchers and condition hold
	NoMatch                       // a matcher failed (Step.Matcher says which)
	ConditionFalse                // the CEL condition is false
	ConditionError                // the CEL condition failed to evaluate: no match
	Stopped                       // a sibling matched without continue; later siblings were not tried
	Delivered                     // the alert ends at this route and will be notified
	NotActive                     // ends here, but outside all ActiveIntervals: muted
	InMute                        // ends here, but inside a MuteInterval: muted
)

// Step is one line of a routing explanation. Its String is what
// `groundcrew alerts route-test` prints.
type Step struct {
	Node     *Node
	Outcome  Outcome
	Matcher  int    // NoMatch: index of the failing matcher
	Value    string // NoMatch: the alert's value of the matcher's label
	Present  bool   // NoMatch: whether the alert has that label at all
	Err      error  // ConditionError
	Interval string // NotActive / InMute: the interval's name (NotActive: the first active interval)
	By       *Node  // Stopped: the sibling that matched
}

// String explains the step in one line.
func (s Step) String() string {
	n := s.Node
	switch s.Outcome {
	case Matched:
		switch {
		case n.Path == "":
			return "root: matches every alert"
		case len(n.matchers) == 0 && n.cond == nil:
			return n.Label() + ": matched (no matchers)"
		}
		parts := make([]string, 0, 2)
		if len(n.matchers) > 0 {
			parts = append(parts, "on "+n.matchers.String())
		}
		if n.cond != nil {
			parts = append(parts, "condition "+n.cond.Source+" holds")
		}
		return n.Label() + ": matched " + strings.Join(parts, " and ")
	case NoMatch:
		m := n.matchers[s.Matcher]
		got := "the alert has no label " + m.Name
		if s.Present {
			got = fmt.Sprintf("%s is %q", m.Name, s.Value)
		}
		return fmt.Sprintf("%s: skipped: matcher %s does not match (%s)", n.Label(), m, got)
	case ConditionFalse:
		return fmt.Sprintf("%s: skipped: condition %s is false", n.Label(), n.cond.Source)
	case ConditionError:
		return fmt.Sprintf("%s: skipped: condition %s failed: %v", n.Label(), n.cond.Source, s.Err)
	case Stopped:
		return fmt.Sprintf("%s: not tried: %s matched before it without continue", n.Label(), s.By.Label())
	case Delivered:
		return n.Label() + ": ends here" + n.target()
	case NotActive:
		return fmt.Sprintf("%s: ends here%s, but not active: outside %s", n.Label(), n.target(), s.Interval)
	case InMute:
		return fmt.Sprintf("%s: ends here%s, but muted: inside %s", n.Label(), n.target(), s.Interval)
	}
	return fmt.Sprintf("%s: outcome %d", n.Label(), int(s.Outcome))
}

func (n *Node) target() string {
	var parts []string
	if n.Team != "" {
		parts = append(parts, "team "+n.Team)
	}
	if n.Service != "" {
		parts = append(parts, "service "+n.Service)
	}
	if n.EscalationPolicy != "" {
		parts = append(parts, "escalation policy "+n.EscalationPolicy)
	}
	if len(n.Receivers) > 0 {
		parts = append(parts, "receivers "+strings.Join(n.Receivers, ", "))
	}
	if len(parts) == 0 {
		return " (no receivers: the alert is only recorded)"
	}
	return " → " + strings.Join(parts, "; ")
}

// Match is one route an alert ends at.
type Match struct {
	*Node
	// Muted reports that the route's time intervals suppress notifications
	// at the time asked (the alert is still routed and grouped here, as in
	// Alertmanager, and notified once the mute ends); MutedBy explains.
	Muted   bool
	MutedBy string
	// Trail is every step taken to get here, in order, ending with this
	// route's own step.
	Trail []Step
}

// Explain returns the trail, one step per line.
func (m Match) Explain() string { return ExplainSteps(m.Trail) }

// Match returns the routes an alert with labels ends at, at instant at, in
// tree order, as in Alertmanager: depth first; a matching child ends the
// search among its siblings unless it has Continue; a matching route none
// of whose children match is where the alert ends. A route muted by its
// time intervals still counts as matched (notifications wait, the alert
// does not fall through to siblings).
// The root matches every alert, so the result is never empty. Safe for
// concurrent use.
func (t *Tree) Match(labels map[string]string, at time.Time) []Match {
	ms, _ := t.Trace(labels, at)
	return ms
}

// Trace is Match plus the whole walk through the tree, including the
// siblings not tried after a match without continue — what route-test
// prints. Each Match's own Trail is the prefix of the walk up to it.
func (t *Tree) Trace(labels map[string]string, at time.Time) ([]Match, []Step) {
	trail := make([]Step, 0, 32)
	ms := t.root.match(labels, at, &trail, nil)
	return ms, trail
}

// ExplainSteps returns steps one per line.
func ExplainSteps(steps []Step) string {
	var b strings.Builder
	for _, s := range steps {
		b.WriteString(s.String())
		b.WriteByte('\n')
	}
	return b.String()
}

func (n *Node) match(labels map[string]string, at time.Time, trail *[]Step, out []Match) []Match {
	ok, st := n.matches(labels)
	*trail = append(*trail, st)
	if !ok {
		return out
	}
	before := len(out)
	for i, c := range n.children {
		k := len(out)
		out = c.match(labels, at, trail, out)
		if len(out) > k && !c.Route.Continue {
			for _, rest := range n.children[i+1:] {
				*trail = append(*trail, Step{Node: rest, Outcome: Stopped, By: c})
			}
			break
		}
	}
	if len(out) > before {
		return out
	}
	end := Step{Node: n, Outcome: Delivered}
	m := Match{Node: n}
	if len(n.active) > 0 {
		inside := false
		for _, iv := range n.active {
			if iv.contains(at) {
				inside = true
				break
			}
		}
		if !inside {
			end.Outcome, end.Interval = NotActive, n.active[0].name
			if len(n.active) > 1 {
				end.Interval = strings.Join(n.Route.ActiveIntervals, " and ")
			}
		}
	}
	if end.Outcome == Delivered {
		for _, iv := range n.mute {
			if iv.contains(at) {
				end.Outcome, end.Interval = InMute, iv.name
				break
			}
		}
	}
	*trail = append(*trail, end)
	m.Muted = end.Outcome != Delivered
	if m.Muted {
		m.MutedBy = end.String()
	}
	// The walk only appends, so the prefix up to here never changes: share it.
	m.Trail = (*trail)[:len(*trail):len(*trail)]
	return append(out, m)
}
