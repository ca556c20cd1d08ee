package route

import (
	"slices"
	"time"

	"groundcrew.dev/groundcrew/internal/alert/matcher"
)

// Alert is what grouping needs to know of an alert.
type Alert struct {
	Fingerprint matcher.Fingerprint // zero: computed from Labels
	Labels      map[string]string
	StartsAt    time.Time
	EndsAt      time.Time // zero while firing with no known end
	// ReceivedAt is when groundcrew received this version of the alert. It
	// is Add's "now": grouping never reads a clock. Zero means StartsAt.
	ReceivedAt time.Time
}

// ResolvedAt reports whether the alert is resolved at instant t (its EndsAt
// is set and not after t).
func (a Alert) ResolvedAt(t time.Time) bool { return !a.EndsAt.IsZero() && !a.EndsAt.After(t) }

// Reason says why a notification is sent.
type Reason string

// The reasons, in precedence order when several apply.
const (
	ReasonNone         Reason = ""              // nothing to report (Flush called when not due)
	ReasonFirst        Reason = "first"         // the group's first notification, after group_wait
	ReasonAllResolved  Reason = "all resolved"  // every alert notified as firing has resolved
	ReasonNewAlerts    Reason = "new alerts"    // an alert is firing that the last notification did not report firing
	ReasonSomeResolved Reason = "some resolved" // an alert resolved, others still fire
	ReasonRepeat       Reason = "repeat"        // nothing changed for repeat_interval
)

// Timing is a group's group_wait, group_interval and repeat_interval.
type Timing struct {
	GroupWait      time.Duration
	GroupInterval  time.Duration
	RepeatInterval time.Duration
}

// Timing returns the node's effective timing.
func (n *Node) Timing() Timing {
	return Timing{GroupWait: n.GroupWait, GroupInterval: n.GroupInterval, RepeatInterval: n.RepeatInterval}
}

// Notification is one flush of a group.
type Notification struct {
	GroupKey    string
	GroupLabels matcher.Labels
	Reason      Reason
	At          time.Time
	Firing      []Alert // sorted by fingerprint
	Resolved    []Alert // sorted by fingerprint
}

type entry struct {
	Alert
	since time.Time // when it was added, or started firing again
}

// Group is one aggregation group: the alerts of one route sharing the
// values of the route's group_by labels. It is a deterministic state
// machine driven by explicit times, implementing Alertmanager's semantics
// (its aggregation group plus the dedup stage):
//
//   - the first notification goes out group_wait after the first alert
//     arrived (at once if an alert is older than group_wait when it
//     arrives);
//   - after a notification the group is looked at every group_interval
//     ("ticks" counted from the flush); a tick notifies when an alert fires
//     that the last notification did not report firing, or an alert
//     resolved;
//   - an unchanged firing group is notified again at the first tick at
//     least repeat_interval after the last notification (Alertmanager
//     compares strictly, which in practice sends repeats one tick late);
//   - resolved alerts are reported once and then dropped; a group whose
//     alerts all resolved before its first notification sends nothing.
//
// Not safe for concurrent use.
type Group struct {
	Key    string
	Labels matcher.Labels
	timing Timing

	alerts     map[matcher.Fingerprint]*entry
	firstAt    time.Time // the group_wait tick
	notified   bool
	lastAt     time.Time
	lastFiring map[matcher.Fingerprint]struct{}
}

// NewGroup returns an empty group. Zero durations in t take the defaults.
func NewGroup(key string, labels matcher.Labels, t Timing) *Group {
	t.GroupWait = or(t.GroupWait, DefaultGroupWait)
	t.GroupInterval = or(t.GroupInterval, DefaultGroupInterval)
	t.RepeatInterval = or(t.RepeatInterval, DefaultRepeatInterval)
	return &Group{Key: key, Labels: labels, timing: t, alerts: map[matcher.Fingerprint]*entry{}}
}

// Len returns the number of alerts the group holds.
func (g *Group) Len() int { return len(g.alerts) }

// Add inserts or updates an alert, as of a.ReceivedAt. A group that had
// nothing more to say (see Due) starts afresh, with a new group_wait.
func (g *Group) Add(a Alert) {
	if a.ReceivedAt.IsZero() {
		a.ReceivedAt = a.StartsAt
	}
	now := a.ReceivedAt
	if a.Fingerprint == 0 {
		a.Fingerprint = matcher.Labels(a.Labels).Fingerprint()
	}
	if g.idle(now) {
		*g = *NewGroup(g.Key, g.Labels, g.timing)
		g.firstAt = now.Add(g.timing.GroupWait)
	}
	if !g.notified && !a.StartsAt.IsZero() && a.StartsAt.Add(g.timing.GroupWait).Before(now) && now.Before(g.firstAt) {
		g.firstAt = now // an old alert: no reason to wait for company
	}
	e, ok := g.alerts[a.Fingerprint]
	if !ok {
		g.alerts[a.Fingerprint] = &entry{Alert: a, since: now}
		return
	}
	if e.ResolvedAt(now) && !a.ResolvedAt(now) {
		e.since = now // fires again
	}
	e.Alert = a
}

// idle reports whether the group has nothing more to say as of now: it is
// empty, or it never notified and nothing was firing at its group_wait tick.
func (g *Group) idle(now time.Time) bool {
	if len(g.alerts) == 0 {
		return true
	}
	return !g.notified && !now.Before(g.firstAt) && !g.anyFiring(g.firstAt)
}

func (g *Group) anyFiring(t time.Time) bool {
	for _, e := range g.alerts {
		if !e.ResolvedAt(t) {
			return true
		}
	}
	return false
}

// tick returns the first tick at or after t: the group_wait tick before
// the first notification, then the last flush plus a whole number (≥ 1) of
// group_intervals.
func (g *Group) tick(t time.Time) time.Time {
	if !g.notified {
		return g.firstAt
	}
	first := g.lastAt.Add(g.timing.GroupInterval)
	if !t.After(first) {
		return first
	}
	k := (t.Sub(g.lastAt) + g.timing.GroupInterval - 1) / g.timing.GroupInterval
	return g.lastAt.Add(k * g.timing.GroupInterval)
}

// Due reports whether a notification is due at now, and when it became or
// becomes due. When flush is false, at is the earliest time a notification
// would be due if no alert is added meanwhile — the time to look again —
// or zero when the group has nothing more to say and can be dropped.
func (g *Group) Due(now time.Time) (flush bool, at time.Time) {
	if len(g.alerts) == 0 {
		return false, time.Time{}
	}
	if !g.notified {
		if !g.anyFiring(g.firstAt) {
			return false, time.Time{}
		}
		return !now.Before(g.firstAt), g.firstAt
	}
	var due time.Time
	consider := func(t time.Time) {
		if due.IsZero() || t.Before(due) {
			due = t
		}
	}
	firing := false
	for fp, e := range g.alerts {
		_, was := g.lastFiring[fp]
		switch {
		case !was:
			consider(g.tick(e.since)) // new, firing or already resolved again
		case !e.EndsAt.IsZero():
			consider(g.tick(e.EndsAt)) // reported firing; resolves at EndsAt
		}
		if e.EndsAt.IsZero() || e.EndsAt.After(g.lastAt) {
			firing = true
		}
	}
	if firing {
		consider(g.tick(g.lastAt.Add(g.timing.RepeatInterval)))
	}
	if due.IsZero() {
		return false, time.Time{}
	}
	return !now.Before(due), due
}

// Flush returns the notification as of now and records it: resolved
// alerts are reported and dropped, and group_interval ticks count from
// now. Call it when Due reports flush; called early it still reports the
// state, with the reason that applies (ReasonNone, and nothing recorded,
// when there is nothing to report).
func (g *Group) Flush(now time.Time) Notification {
	n := Notification{GroupKey: g.Key, GroupLabels: g.Labels, At: now}
	newFiring := false
	for fp, e := range g.alerts {
		if e.ResolvedAt(now) {
			n.Resolved = append(n.Resolved, e.Alert)
			continue
		}
		n.Firing = append(n.Firing, e.Alert)
		if _, was := g.lastFiring[fp]; !was {
			newFiring = true
		}
	}
	byFP := func(a, b Alert) int {
		switch {
		case a.Fingerprint < b.Fingerprint:
			return -1
		case a.Fingerprint > b.Fingerprint:
			return 1
		}
		return 0
	}
	slices.SortFunc(n.Firing, byFP)
	slices.SortFunc(n.Resolved, byFP)
	switch {
	case !g.notified && len(n.Firing) == 0:
		n.Reason = ReasonNone
	case !g.notified:
		n.Reason = ReasonFirst
	case len(n.Firing) == 0 && (len(g.lastFiring) > 0 || len(n.Resolved) > 0):
		n.Reason = ReasonAllResolved
	case newFiring:
		n.Reason = ReasonNewAlerts
	case len(n.Resolved) > 0:
		n.Reason = ReasonSomeResolved
	case len(n.Firing) > 0:
		n.Reason = ReasonRepeat
	}
	for _, a := range n.Resolved {
		delete(g.alerts, a.Fingerprint)
	}
	if n.Reason == ReasonNone {
		return n
	}
	g.notified, g.lastAt = true, now
	g.lastFiring = make(map[matcher.Fingerprint]struct{}, len(n.Firing))
	for _, a := range n.Firing {
		g.lastFiring[a.Fingerprint] = struct{}{}
	}
	return n
}

// GroupState is what a Group remembers besides its alerts: enough to
// continue after a restart without repeating or losing a notification.
// The alerts themselves are added again from storage.
type GroupState struct {
	FirstAt    time.Time             `json:"first_at"` // the group_wait tick
	Notified   bool                  `json:"notified"`
	LastAt     time.Time             `json:"last_at,omitzero"`      // the last notification
	LastFiring []matcher.Fingerprint `json:"last_firing,omitempty"` // firing in the last notification, sorted
}

// State returns the group's state, for storage.
func (g *Group) State() GroupState {
	s := GroupState{FirstAt: g.firstAt, Notified: g.notified, LastAt: g.lastAt}
	for fp := range g.lastFiring {
		s.LastFiring = append(s.LastFiring, fp)
	}
	slices.Sort(s.LastFiring)
	return s
}

// RestoreGroup returns a group in state s holding alerts (the latest
// version of each, with its original ReceivedAt): the group as it was
// before a restart. Leave out resolved alerts that s does not report as
// firing: their resolution was already notified, or never needed to be.
func RestoreGroup(key string, labels matcher.Labels, t Timing, s GroupState, alerts []Alert) *Group {
	g := NewGroup(key, labels, t)
	g.firstAt, g.notified, g.lastAt = s.FirstAt, s.Notified, s.LastAt
	if len(s.LastFiring) > 0 {
		g.lastFiring = make(map[matcher.Fingerprint]struct{}, len(s.LastFiring))
		for _, fp := range s.LastFiring {
			g.lastFiring[fp] = struct{}{}
		}
	}
	for _, a := range alerts {
		if a.ReceivedAt.IsZero() {
			a.ReceivedAt = a.StartsAt
		}
		if a.Fingerprint == 0 {
			a.Fingerprint = matcher.Labels(a.Labels).Fingerprint()
		}
		g.alerts[a.Fingerprint] = &entry{Alert: a, since: a.ReceivedAt}
	}
	return g
}
