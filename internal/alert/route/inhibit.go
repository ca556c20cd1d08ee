package route

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"groundcrew.dev/groundcrew/internal/alert/matcher"
	"groundcrew.dev/groundcrew/internal/errs"
)

// InhibitRule mutes alerts matching TargetMatchers while an alert matching
// SourceMatchers fires with the same values of the Equal labels (a label
// missing on both sides counts as equal, as in Alertmanager). An alert
// matching both sides is never inhibited by itself.
type InhibitRule struct {
	SourceMatchers matcher.Matchers `json:"source_matchers"`
	TargetMatchers matcher.Matchers `json:"target_matchers"`
	Equal          []string         `json:"equal,omitempty"`
}

// Validate reports the first bad field. Both sides need a matcher.
func (r InhibitRule) Validate() error {
	if len(r.SourceMatchers) == 0 {
		return errs.Invalidf("source_matchers", "at least one matcher is required")
	}
	if err := r.SourceMatchers.Validate(); err != nil {
		return indexField("source_matchers", err)
	}
	if len(r.TargetMatchers) == 0 {
		return errs.Invalidf("target_matchers", "at least one matcher is required")
	}
	if err := r.TargetMatchers.Validate(); err != nil {
		return indexField("target_matchers", err)
	}
	for i, l := range r.Equal {
		if !matcher.ValidName(l) {
			return errs.Invalidf(fmt.Sprintf("equal[%d]", i), "label name %q must match [a-zA-Z_][a-zA-Z0-9_]*", l)
		}
		if slices.Index(r.Equal, l) != i {
			return errs.Invalidf(fmt.Sprintf("equal[%d]", i), "%q is listed twice", l)
		}
	}
	return nil
}

// Inhibition says what inhibits an alert: the index of the rule and the
// fingerprint of one firing source alert.
type Inhibition struct {
	Rule   int
	Source matcher.Fingerprint
}

// Inhibitor answers whether an alert is inhibited, given the rules and the
// alerts firing when it was built. Build a new one when either changes. It
// is immutable and safe for concurrent use.
//
// Sources are indexed per rule by the values of the rule's Equal labels,
// and rules are indexed by one selective equality matcher of each side, so
// a query looks only at the rules whose target could match and does one
// map lookup per such rule, however many alerts fire.
type Inhibitor struct {
	rules   []InhibitRule
	sources []map[string][]matcher.Fingerprint // per rule: equal-label key → firing sources
	targets ruleIndex
}

// NewInhibitor validates the rules (field "[i].…") and indexes the firing
// alerts' label sets.
func NewInhibitor(rules []InhibitRule, firing []map[string]string) (*Inhibitor, error) {
	for i, r := range rules {
		if err := r.Validate(); err != nil {
			return nil, errs.WithField(fmt.Sprintf("[%d]", i), err)
		}
	}
	in := &Inhibitor{rules: rules, sources: make([]map[string][]matcher.Fingerprint, len(rules))}
	srcSides := make([]matcher.Matchers, len(rules))
	tgtSides := make([]matcher.Matchers, len(rules))
	for i, r := range rules {
		srcSides[i], tgtSides[i] = r.SourceMatchers, r.TargetMatchers
		in.sources[i] = map[string][]matcher.Fingerprint{}
	}
	in.targets = newRuleIndex(tgtSides)
	srcIdx := newRuleIndex(srcSides)
	var cand []int
	for _, labels := range firing {
		var fp matcher.Fingerprint
		cand = srcIdx.candidates(labels, cand[:0:0])
		for _, i := range cand {
			r := &rules[i]
			if !r.SourceMatchers.Matches(labels) {
				continue
			}
			if fp == 0 {
				fp = matcher.Labels(labels).Fingerprint()
			}
			k := equalKey(r.Equal, labels)
			in.sources[i][k] = append(in.sources[i][k], fp)
		}
	}
	return in, nil
}

// Inhibited reports whether an alert with labels is inhibited, and by what
// (the lowest-numbered rule that applies).
func (in *Inhibitor) Inhibited(labels map[string]string) (bool, Inhibition) {
	var buf [16]int
	cand := in.targets.candidates(labels, buf[:0])
	var self matcher.Fingerprint
	for _, i := range cand {
		r := &in.rules[i]
		if len(in.sources[i]) == 0 || !r.TargetMatchers.Matches(labels) {
			continue
		}
		fps := in.sources[i][equalKey(r.Equal, labels)]
		if len(fps) == 0 {
			continue
		}
		if !r.SourceMatchers.Matches(labels) {
			return true, Inhibition{Rule: i, Source: fps[0]}
		}
		if self == 0 {
			self = matcher.Labels(labels).Fingerprint()
		}
		for _, fp := range fps {
			if fp != self {
				return true, Inhibition{Rule: i, Source: fp}
			}
		}
	}
	return false, Inhibition{}
}

// Mutes is Inhibited as a Muter; the Inhibitor reflects the alerts firing
// when it was built, so at is not consulted.
func (in *Inhibitor) Mutes(labels map[string]string, _ time.Time) bool {
	ok, _ := in.Inhibited(labels)
	return ok
}

// equalKey joins the values of the equal labels with 0xff, a byte UTF-8
// text never contains.
func equalKey(names []string, labels map[string]string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return labels[names[0]]
	}
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteByte(0xff)
		}
		b.WriteString(labels[n])
	}
	return b.String()
}

// ruleIndex finds the rules one side of which may match a label set: each
// rule is filed under the equality matcher (name="value") of that side
// that the fewest rules share; rules without one are always candidates.
type ruleIndex struct {
	names  []string                    // sorted label names with filed rules
	byName map[string]map[string][]int // name → value → rule indexes
	always []int
}

func newRuleIndex(sides []matcher.Matchers) ruleIndex {
	type nv struct{ name, value string }
	count := map[nv]int{}
	for _, ms := range sides {
		for _, m := range ms {
			if m.Type == matcher.Equal {
				count[nv{m.Name, m.Value}]++
			}
		}
	}
	idx := ruleIndex{byName: map[string]map[string][]int{}}
	for i, ms := range sides {
		best := -1
		for j, m := range ms {
			if m.Type == matcher.Equal && (best < 0 || count[nv{m.Name, m.Value}] < count[nv{ms[best].Name, ms[best].Value}]) {
				best = j
			}
		}
		if best < 0 {
			idx.always = append(idx.always, i)
			continue
		}
		m := ms[best]
		if idx.byName[m.Name] == nil {
			idx.byName[m.Name] = map[string][]int{}
			idx.names = append(idx.names, m.Name)
		}
		idx.byName[m.Name][m.Value] = append(idx.byName[m.Name][m.Value], i)
	}
	slices.Sort(idx.names)
	return idx
}

// candidates returns, in ascending order, the rules that may match labels.
// The result may be one of the index's own lists or dst's storage; callers
// only read it.
func (x *ruleIndex) candidates(labels map[string]string, dst []int) []int {
	var one []int
	lists := 0
	if len(x.always) > 0 {
		one, lists = x.always, 1
	}
	for _, name := range x.names {
		if rs, ok := x.byName[name][labels[name]]; ok {
			if lists == 0 {
				one, lists = rs, 1
				continue
			}
			if lists == 1 {
				dst = append(dst, one...)
			}
			dst = append(dst, rs...)
			lists++
		}
	}
	if lists <= 1 {
		return one
	}
	slices.Sort(dst)
	return dst
}
