// Package route is the pure core of alert routing: the routing tree with
// Alertmanager-syntax matchers, CEL conditions, continue and time
// intervals; group keys and the grouping state machine (group_wait,
// group_interval, repeat_interval); silences; and indexed inhibition.
//
// Everything here takes values and returns values: no database, no clock
// reads, no network. Times are passed in. A Tree and an Inhibitor are
// immutable once built and safe for concurrent use; a Group is a state
// machine owned by one goroutine at a time (not safe for concurrent use).
package route

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"groundcrew.dev/groundcrew/internal/alert/matcher"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/expr"
)

// The group timing defaults of the root route, as in Alertmanager.
const (
	DefaultGroupWait      = 30 * time.Second
	DefaultGroupInterval  = 5 * time.Minute
	DefaultRepeatInterval = 4 * time.Hour
)

// GroupByAll as the only GroupBy entry groups by every label: each distinct
// label set is its own group.
const GroupByAll = "..."

// Limits on a tree, so a configuration cannot make routing slow.
const (
	MaxDepth  = 32
	MaxRoutes = 10_000
)

// Route is one node of the routing tree as people configure it. Unset
// group settings (nil GroupBy, zero durations), Receivers, Team, Service
// and EscalationPolicy are inherited from the parent; ActiveIntervals and
// MuteIntervals are not (as in Alertmanager). The root matches every alert
// and may have no Matchers, Condition, Continue or intervals.
type Route struct {
	Name             string        `json:"name,omitempty" yaml:"name,omitempty"`
	Matchers         []string      `json:"matchers,omitempty" yaml:"matchers,omitempty"`   // one matcher each: severity="critical"
	Condition        string        `json:"condition,omitempty" yaml:"condition,omitempty"` // optional CEL, see expr.AlertEnv
	Continue         bool          `json:"continue,omitempty" yaml:"continue,omitempty"`
	GroupBy          []string      `json:"group_by,omitempty" yaml:"group_by,omitempty"`
	GroupWait        time.Duration `json:"group_wait,omitempty" yaml:"group_wait,omitempty"`
	GroupInterval    time.Duration `json:"group_interval,omitempty" yaml:"group_interval,omitempty"`
	RepeatInterval   time.Duration `json:"repeat_interval,omitempty" yaml:"repeat_interval,omitempty"`
	ActiveIntervals  []string      `json:"active_intervals,omitempty" yaml:"active_intervals,omitempty"` // names of Intervals
	MuteIntervals    []string      `json:"mute_intervals,omitempty" yaml:"mute_intervals,omitempty"`
	Receivers        []string      `json:"receivers,omitempty" yaml:"receivers,omitempty"`
	Team             string        `json:"team,omitempty" yaml:"team,omitempty"`
	Service          string        `json:"service,omitempty" yaml:"service,omitempty"`
	EscalationPolicy string        `json:"escalation_policy,omitempty" yaml:"escalation_policy,omitempty"`
	Routes           []*Route      `json:"routes,omitempty" yaml:"routes,omitempty"`
}

// Validate checks the route and its subtree, naming the path of the first
// bad field (routes[2].routes[0].matchers[1]). It cannot check that named
// intervals exist; New does.
func (r *Route) Validate() error {
	count := 0
	_, err := compile(nil, r, nil, "", 0, 0, &count)
	return err
}

// Node is a compiled route with its effective (inherited) settings. Nodes
// are immutable and shared by every Match; do not modify them.
type Node struct {
	Route            Route  // the configuration, without its child Routes
	Path             string // "routes[1].routes[0]"; "" for the root
	ID               string // stable identity in group keys, see GroupKey
	GroupBy          []string
	GroupByAll       bool
	GroupWait        time.Duration
	GroupInterval    time.Duration
	RepeatInterval   time.Duration
	Receivers        []string
	Team             string
	Service          string
	EscalationPolicy string

	matchers matcher.Matchers
	cond     *expr.Program
	active   []*interval
	mute     []*interval
	children []*Node
}

// Label returns how explanations name the node: its Name, else its path,
// else "root".
func (n *Node) Label() string {
	switch {
	case n.Route.Name != "":
		return n.Route.Name
	case n.Path != "":
		return n.Path
	}
	return "root"
}

// Tree is a compiled routing tree. Safe for concurrent use.
type Tree struct {
	root *Node
}

// New validates and compiles a tree: root's subtree and the intervals its
// routes name. Field paths start at the root's fields ("routes[0].group_by")
// and "intervals[1]…" for intervals.
func New(root *Route, intervals []Interval) (*Tree, error) {
	if root == nil {
		return nil, errs.Invalidf("route", "is required")
	}
	ivs := make(map[string]*interval, len(intervals))
	for i, iv := range intervals {
		c, err := compileInterval(iv)
		if err != nil {
			return nil, errs.WithField(fmt.Sprintf("intervals[%d]", i), err)
		}
		if _, dup := ivs[iv.Name]; dup {
			return nil, errs.Invalidf(fmt.Sprintf("intervals[%d].name", i), "%q is defined twice", iv.Name)
		}
		ivs[iv.Name] = &c
	}
	switch {
	case len(root.Matchers) > 0:
		return nil, errs.Invalidf("matchers", "the root route matches every alert and takes no matchers")
	case root.Condition != "":
		return nil, errs.Invalidf("condition", "the root route matches every alert and takes no condition")
	case root.Continue:
		return nil, errs.Invalidf("continue", "the root route has no siblings to continue to")
	case len(root.ActiveIntervals) > 0:
		return nil, errs.Invalidf("active_intervals", "the root route cannot have time intervals; put them on a child route")
	case len(root.MuteIntervals) > 0:
		return nil, errs.Invalidf("mute_intervals", "the root route cannot have time intervals; put them on a child route")
	}
	count := 0
	n, err := compile(nil, root, ivs, "", 0, 0, &count)
	if err != nil {
		return nil, err
	}
	return &Tree{root: n}, nil
}

// Root returns the compiled root.
func (t *Tree) Root() *Node { return t.root }

func field(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// compile builds the node for r, the index-th child of parent (nil for
// the root) at path. ivs nil means "do not resolve interval names"
// (Route.Validate); count bounds the tree's size.
func compile(parent *Node, r *Route, ivs map[string]*interval, path string, depth, index int, count *int) (*Node, error) {
	if r == nil {
		return nil, errs.Invalidf(path, "is empty")
	}
	*count++
	if *count > MaxRoutes {
		return nil, errs.Invalidf(path, "the tree has more than %d routes", MaxRoutes)
	}
	if depth > MaxDepth {
		return nil, errs.Invalidf(path, "is nested deeper than %d levels", MaxDepth)
	}
	cfg := *r
	cfg.Routes = nil
	n := &Node{Route: cfg, Path: path}
	for i, s := range r.Matchers {
		m, err := matcher.Parse(s)
		if err != nil {
			return nil, errs.WithField(field(path, fmt.Sprintf("matchers[%d]", i)), err)
		}
		n.matchers = append(n.matchers, m)
	}
	if r.Condition != "" {
		env, err := expr.AlertEnv()
		if err != nil {
			return nil, fmt.Errorf("route: alert expression environment: %w", err)
		}
		if n.cond, err = env.Compile(field(path, "condition"), r.Condition); err != nil {
			return nil, err
		}
	}
	for i, l := range r.GroupBy {
		if l == GroupByAll && len(r.GroupBy) != 1 {
			return nil, errs.Invalidf(field(path, fmt.Sprintf("group_by[%d]", i)), "%q must be the only entry", GroupByAll)
		}
		if l != GroupByAll && !matcher.ValidName(l) {
			return nil, errs.Invalidf(field(path, fmt.Sprintf("group_by[%d]", i)), "label name %q must match [a-zA-Z_][a-zA-Z0-9_]*", l)
		}
		if slices.Index(r.GroupBy, l) != i {
			return nil, errs.Invalidf(field(path, fmt.Sprintf("group_by[%d]", i)), "%q is listed twice", l)
		}
	}
	for name, d := range map[string]time.Duration{"group_wait": r.GroupWait, "group_interval": r.GroupInterval, "repeat_interval": r.RepeatInterval} {
		if d < 0 {
			return nil, errs.Invalidf(field(path, name), "must not be negative")
		}
	}
	for i, rc := range r.Receivers {
		if strings.TrimSpace(rc) == "" {
			return nil, errs.Invalidf(field(path, fmt.Sprintf("receivers[%d]", i)), "is empty")
		}
	}
	var err error
	if n.active, err = resolveIntervals(ivs, r.ActiveIntervals, field(path, "active_intervals")); err != nil {
		return nil, err
	}
	if n.mute, err = resolveIntervals(ivs, r.MuteIntervals, field(path, "mute_intervals")); err != nil {
		return nil, err
	}
	n.inherit(parent, index)
	for i, c := range r.Routes {
		child, err := compile(n, c, ivs, field(path, fmt.Sprintf("routes[%d]", i)), depth+1, i, count)
		if err != nil {
			return nil, err
		}
		n.children = append(n.children, child)
	}
	return n, nil
}

func resolveIntervals(ivs map[string]*interval, names []string, f string) ([]*interval, error) {
	var out []*interval
	for i, name := range names {
		if strings.TrimSpace(name) == "" {
			return nil, errs.Invalidf(fmt.Sprintf("%s[%d]", f, i), "is empty")
		}
		if ivs == nil {
			continue
		}
		iv, ok := ivs[name]
		if !ok {
			return nil, errs.Invalidf(fmt.Sprintf("%s[%d]", f, i), "unknown interval %q", name)
		}
		out = append(out, iv)
	}
	return out, nil
}

// inherit fills the effective settings from the configuration and parent.
func (n *Node) inherit(parent *Node, index int) {
	r := &n.Route
	p := &Node{ID: "{}", GroupWait: DefaultGroupWait, GroupInterval: DefaultGroupInterval, RepeatInterval: DefaultRepeatInterval}
	if parent != nil {
		p = parent
		// A route's identity: its name when it has one (stable when routes are
		// reordered), else its matchers and position, as in Alertmanager.
		seg := r.Name
		if seg == "" {
			seg = n.matchers.String()
			if r.Condition != "" {
				seg += "{" + r.Condition + "}"
			}
			seg = fmt.Sprintf("%s/%d", seg, index)
		}
		n.ID = p.ID + "/" + seg
	} else {
		n.ID = "{}"
	}
	n.GroupBy, n.GroupByAll = p.GroupBy, p.GroupByAll
	if r.GroupBy != nil {
		n.GroupByAll = len(r.GroupBy) == 1 && r.GroupBy[0] == GroupByAll
		n.GroupBy = nil
		if !n.GroupByAll {
			n.GroupBy = slices.Clone(r.GroupBy)
			slices.Sort(n.GroupBy)
		}
	}
	n.GroupWait = or(r.GroupWait, p.GroupWait)
	n.GroupInterval = or(r.GroupInterval, p.GroupInterval)
	n.RepeatInterval = or(r.RepeatInterval, p.RepeatInterval)
	n.Receivers = p.Receivers
	if len(r.Receivers) > 0 {
		n.Receivers = slices.Clone(r.Receivers)
	}
	n.Team = or(r.Team, p.Team)
	n.Service = or(r.Service, p.Service)
	n.EscalationPolicy = or(r.EscalationPolicy, p.EscalationPolicy)
}

func or[T comparable](v, fallback T) T {
	var zero T
	if v == zero {
		return fallback
	}
	return v
}

// GroupLabels returns the labels alerts are grouped by on this node: the
// GroupBy labels the alert has (all of them with GroupByAll).
func (n *Node) GroupLabels(labels map[string]string) matcher.Labels {
	if n.GroupByAll {
		return matcher.Labels(labels).Subset(matcher.Labels(labels).Names())
	}
	return matcher.Labels(labels).Subset(n.GroupBy)
}

// GroupKey identifies the aggregation group of an alert on a node, as in
// Alertmanager: the route's ID, ":", and the group labels in matcher
// syntax, e.g. `{}/{team="db"}/0:{alertname="Down"}`, or with named
// routes `{}/db/db-critical:{alertname="Down"}`.
func GroupKey(n *Node, labels map[string]string) string {
	return n.ID + ":" + n.GroupLabels(labels).String()
}

// matches evaluates the node's own matchers and condition, recording why.
func (n *Node) matches(labels map[string]string) (bool, Step) {
	st := Step{Node: n, Matcher: -1}
	if i := n.matchers.FirstMismatch(labels); i >= 0 {
		st.Outcome = NoMatch
		st.Matcher = i
		st.Value, st.Present = labels[n.matchers[i].Name]
		return false, st
	}
	if n.cond != nil {
		ok, err := n.cond.Eval(context.Background(), expr.AlertVars(labels))
		if err != nil {
			st.Outcome, st.Err = ConditionError, err
			return false, st
		}
		if !ok {
			st.Outcome = ConditionFalse
			return false, st
		}
	}
	st.Outcome = Matched
	return true, st
}

// Children returns the node's compiled child routes, in order.
func (n *Node) Children() []*Node { return n.children }
