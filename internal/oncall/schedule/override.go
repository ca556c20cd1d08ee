package schedule

import (
	"slices"
	"time"

	"groundcrew.dev/groundcrew/internal/errs"
)

// The override kinds.
const (
	Replace = "replace" // User takes over from Replaces, or from whoever is on call
	Add     = "add"     // User is on call too
	Remove  = "remove"  // User is not on call
)

// MaxOverrides bounds the overrides of one schedule.
const MaxOverrides = 10000

// OverrideSpec changes who is on call during [Start, End), whatever the
// layers and their restrictions say. Overrides apply in the order of
// Spec.Overrides, which is the order they were created in: where two
// overlap, the later-created one is applied last and wins.
type OverrideSpec struct {
	// Kind is replace (the default), add or remove.
	Kind string `json:"kind,omitempty" yaml:"kind,omitempty"`
	// User is who takes over, is added, or is removed.
	User string `json:"user" yaml:"user"`
	// Replaces, for a replace, names the one person User stands in for;
	// empty means whoever is on call (and fills a gap when nobody is).
	// A replace whose person is not on call changes nothing.
	Replaces string    `json:"replaces,omitempty" yaml:"replaces,omitempty"`
	Start    time.Time `json:"start" yaml:"start"`
	End      time.Time `json:"end" yaml:"end"`
}

type override struct {
	kind           string
	user, replaces string
	start, end     time.Time
}

func (s OverrideSpec) compile() (override, error) {
	o := override{kind: s.Kind, user: s.User, replaces: s.Replaces, start: s.Start.UTC(), end: s.End.UTC()}
	if o.kind == "" {
		o.kind = Replace
	}
	switch o.kind {
	case Replace, Add, Remove:
	default:
		return o, errs.Invalidf("kind", "%q is not replace, add or remove", s.Kind)
	}
	if err := checkName("user", s.User); err != nil {
		return o, err
	}
	if s.Replaces != "" {
		if o.kind != Replace {
			return o, errs.Invalidf("replaces", "applies only to a replace")
		}
		if err := checkName("replaces", s.Replaces); err != nil {
			return o, err
		}
		if s.Replaces == s.User {
			return o, errs.Invalidf("replaces", "a person cannot replace themselves")
		}
	}
	switch {
	case s.Start.IsZero():
		return o, errs.Invalidf("start", "is required")
	case s.End.IsZero():
		return o, errs.Invalidf("end", "is required")
	case !s.End.After(s.Start):
		return o, errs.Invalidf("end", "must be after start (%s)", s.Start.UTC().Format(time.RFC3339))
	}
	return o, nil
}

// apply changes set, the people on call, as o says. idx is o's index in
// all, the schedule's overrides.
func (o *override) apply(set []Assignment, idx int, all []override) []Assignment {
	a := Assignment{User: o.user, Layer: -1, Override: idx}
	switch o.kind {
	case Replace:
		if o.replaces == "" {
			return append(set[:0], a)
		}
		// The slot of the replaced person: held by them, or by whoever an
		// earlier override put in their place — the later-created wins it.
		slot := func(x Assignment) bool {
			return x.User == o.replaces || x.Override >= 0 && all[x.Override].kind == Replace && all[x.Override].replaces == o.replaces
		}
		i := slices.IndexFunc(set, slot)
		if i < 0 {
			return set
		}
		if set[i].User != o.user {
			set = slices.DeleteFunc(set, func(x Assignment) bool { return x.User == o.user })
			i = slices.IndexFunc(set, slot)
		}
		set[i] = a
		return set
	case Add:
		if i := slices.IndexFunc(set, func(x Assignment) bool { return x.User == o.user }); i >= 0 {
			set[i] = a
			return set
		}
		return append(set, a)
	default: // Remove
		return slices.DeleteFunc(set, func(x Assignment) bool { return x.User == o.user })
	}
}

// sameSlot reports whether o and p compete for the same slot: two
// replaces of the same person (or of everyone), or two adds or removes of
// the same person.
func (o *override) sameSlot(p *override) bool {
	if o.kind != p.kind {
		return false
	}
	if o.kind == Replace {
		return o.replaces == p.replaces
	}
	return o.user == p.user
}

// overlapWarnings lists the overlapping overrides of the same kind for the
// same slot: not an error (the later-created wins), but worth a look.
func overlapWarnings(os []override) []Warning {
	order := make([]int, len(os))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return os[a].start.Compare(os[b].start) })
	var ws []Warning
	for x, i := range order {
		for _, j := range order[x+1:] {
			if !os[j].start.Before(os[i].end) {
				break
			}
			if !os[i].sameSlot(&os[j]) {
				continue
			}
			early, late := min(i, j), max(i, j)
			from := os[j].start
			to := os[i].end
			if os[j].end.Before(to) {
				to = os[j].end
			}
			ws = append(ws, Warning{
				Field: fieldf("overrides[%d]", late),
				Message: fieldf("overlaps overrides[%d] (both %s) from %s to %s: overrides[%d] wins there, being created later",
					early, os[late].describe(), from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), late),
			})
			if len(ws) >= 100 {
				return ws
			}
		}
	}
	return ws
}

func (o *override) describe() string {
	switch {
	case o.kind == Replace && o.replaces == "":
		return "replace whoever is on call"
	case o.kind == Replace:
		return "replace " + o.replaces
	default:
		return o.kind + " " + o.user
	}
}
