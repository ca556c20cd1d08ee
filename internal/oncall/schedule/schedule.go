// Package schedule is the pure core of on-call schedules: who is on call
// at an instant, the rendered timeline, coverage gaps, the next handoffs
// and an iCalendar feed. It reads no clock and no database: times are
// arguments, so every answer is exact and repeatable.
//
// A schedule follows groundcrew's wall-clock rules. Intervals are
// half-open [start, end). Daily and weekly rotations hand off at the local
// wall-clock time, so a daily shift across a change to or from summer time
// lasts 23 or 25 hours; hourly and custom ones after real elapsed time. A
// local time that does not exist resolves to the first instant after the
// gap, one that occurs twice to its first occurrence. A later layer wins
// wherever it has someone on call; overrides beat rotations and
// restrictions, and among overlapping overrides the later-created wins.
//
// A Schedule is immutable once built by New and safe for concurrent use.
package schedule

import (
	"slices"
	"time"

	"groundcrew.dev/groundcrew/internal/errs"
)

// MaxLayers bounds the layers of one schedule.
const MaxLayers = 50

// Spec is a schedule as people write it; the `kind: Schedule` document
// embeds it as its spec.
type Spec struct {
	// TimeZone is the IANA zone of the schedule's layers, e.g. Europe/Berlin.
	TimeZone string `json:"time_zone" yaml:"time_zone"`
	// Layers stack in order: a later layer wins wherever it has someone on
	// call, an earlier one fills in where it has not.
	Layers []LayerSpec `json:"layers" yaml:"layers"`
	// Overrides, in the order they were created.
	Overrides []OverrideSpec `json:"overrides,omitempty" yaml:"overrides,omitempty"`
}

// LayerSpec is one layer: a rotation, optionally restricted to windows of
// the week, optionally in its own zone (follow the sun), optionally ending
// (a temporary schedule).
type LayerSpec struct {
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
	// TimeZone overrides the schedule's zone for this layer's handoffs,
	// start, end and restrictions.
	TimeZone     string            `json:"time_zone,omitempty" yaml:"time_zone,omitempty"`
	Rotation     RotationSpec      `json:"rotation" yaml:"rotation"`
	Restrictions []RestrictionSpec `json:"restrictions,omitempty" yaml:"restrictions,omitempty"`
	// End, a local date or date and time, ends the layer: nobody from it
	// is on call from then on. Empty means never.
	End string `json:"end,omitempty" yaml:"end,omitempty"`
}

// Warning is a questionable but valid part of a spec, such as overlapping
// overrides for the same slot, with the rule that decides it.
type Warning struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Assignment is one person on call and where that comes from: Layer is an
// index into Spec.Layers and Override -1, or Override an index into
// Spec.Overrides and Layer -1.
type Assignment struct {
	User     string `json:"user"`
	Layer    int    `json:"layer"`
	Override int    `json:"override"`
}

// Source names where a is from: "layers[1]" or "overrides[0]".
func (a Assignment) Source() string {
	if a.Override >= 0 {
		return fieldf("overrides[%d]", a.Override)
	}
	return fieldf("layers[%d]", a.Layer)
}

// Shift is a person on call during [Start, End), from one source. Every
// time a Schedule returns is in UTC.
type Shift struct {
	Assignment
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Span is a piece of the rendered timeline during which the same people
// are on call; an empty OnCall is a coverage gap.
type Span struct {
	Start  time.Time    `json:"start"`
	End    time.Time    `json:"end"`
	OnCall []Assignment `json:"on_call"`
}

// Interval is the half-open span [Start, End).
type Interval struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Handoff is a change of who is on call: at At, Off go off call and On
// come on.
type Handoff struct {
	At  time.Time `json:"at"`
	Off []string  `json:"off,omitempty"`
	On  []string  `json:"on,omitempty"`
}

// Schedule is a compiled Spec. It is immutable and safe for concurrent
// use.
type Schedule struct {
	layers    []layer
	overrides []override
	warnings  []Warning
}

type layer struct {
	name    string
	loc     *time.Location
	rot     *rotation
	end     time.Time // zero: none
	windows []window
}

// Validate reports the first problem of s as an Invalid error naming the
// field ("layers[1].rotation.participants").
func (s Spec) Validate() error {
	_, err := New(s)
	return err
}

// New checks s and compiles it. Errors are Invalid and name the field.
// Overlapping overrides for the same slot are not errors: they are listed
// by Warnings.
func New(s Spec) (*Schedule, error) {
	loc, err := loadZone("time_zone", s.TimeZone)
	if err != nil {
		return nil, err
	}
	if len(s.Layers) == 0 {
		return nil, errs.Invalidf("layers", "a schedule needs at least one layer")
	}
	if len(s.Layers) > MaxLayers {
		return nil, errs.Invalidf("layers", "at most %d layers", MaxLayers)
	}
	if len(s.Overrides) > MaxOverrides {
		return nil, errs.Invalidf("overrides", "at most %d overrides", MaxOverrides)
	}
	sc := &Schedule{}
	for i, ls := range s.Layers {
		l, err := ls.compile(loc)
		if err != nil {
			return nil, errs.WithField(fieldf("layers[%d]", i), err)
		}
		sc.layers = append(sc.layers, l)
	}
	for i, os := range s.Overrides {
		o, err := os.compile()
		if err != nil {
			return nil, errs.WithField(fieldf("overrides[%d]", i), err)
		}
		sc.overrides = append(sc.overrides, o)
	}
	sc.warnings = overlapWarnings(sc.overrides)
	return sc, nil
}

func (s LayerSpec) compile(loc *time.Location) (layer, error) {
	l := layer{name: s.Name, loc: loc}
	if len(s.Name) > 128 {
		return l, errs.Invalidf("name", "is longer than 128 bytes")
	}
	if s.TimeZone != "" {
		var err error
		if l.loc, err = loadZone("time_zone", s.TimeZone); err != nil {
			return l, err
		}
	}
	r, err := s.Rotation.compile(l.loc)
	if err != nil {
		return l, errs.WithField("rotation", err)
	}
	l.rot = r
	if len(s.Restrictions) > MaxRestrictions {
		return l, errs.Invalidf("restrictions", "at most %d windows", MaxRestrictions)
	}
	for i, rs := range s.Restrictions {
		w, err := rs.compile()
		if err != nil {
			return l, errs.WithField(fieldf("restrictions[%d]", i), err)
		}
		l.windows = append(l.windows, w)
	}
	if s.End != "" {
		d, min, err := parseLocal("end", s.End)
		if err != nil {
			return l, err
		}
		l.end = d.at(l.loc, min)
		if !l.end.After(r.handoff(0)) {
			return l, errs.Invalidf("end", "must be after the first handoff (%s)", r.handoff(0).Format(time.RFC3339))
		}
	}
	return l, nil
}

// Warnings lists the valid but questionable parts of the spec: overlapping
// overrides for the same slot, and which one wins.
func (sc *Schedule) Warnings() []Warning { return slices.Clone(sc.warnings) }

var (
	never   = time.Unix(1<<62, 0).UTC() // later than any real boundary
	forever = time.Unix(-(1 << 62), 0).UTC()
)

// at returns who layer l has on call at t (ok false if nobody) and an
// interval [lo, hi) around t over which that does not change.
func (l *layer) at(t time.Time) (user string, ok bool, lo, hi time.Time) {
	if !l.end.IsZero() && !t.Before(l.end) {
		return "", false, l.end, never
	}
	k, lo, hi := l.rot.index(t)
	if k < 0 {
		return "", false, forever, hi
	}
	if !l.end.IsZero() && l.end.Before(hi) {
		hi = l.end
	}
	user, ok = l.rot.person(k), true
	if len(l.windows) > 0 {
		in, rlo, rhi := restrictionAt(l.windows, l.loc, t)
		lo, hi = later(lo, rlo), earlier(hi, rhi)
		ok = in
	}
	return user, ok, lo, hi
}

// segmentAt returns who is on call at t and an interval [lo, hi) around t
// over which nobody changes. os are the overrides to consider: all of
// them, or those overlapping the range a caller walks.
func (sc *Schedule) segmentAt(t time.Time, os []int) (set []Assignment, lo, hi time.Time) {
	lo, hi = forever, never
	// The last layer with someone wins; the boundaries of earlier layers
	// cannot change anything while it has someone.
	for i := len(sc.layers) - 1; i >= 0; i-- {
		u, ok, llo, lhi := sc.layers[i].at(t)
		lo, hi = later(lo, llo), earlier(hi, lhi)
		if ok {
			set = append(set, Assignment{User: u, Layer: i, Override: -1})
			break
		}
	}
	for _, i := range os {
		o := &sc.overrides[i]
		switch {
		case t.Before(o.start):
			hi = earlier(hi, o.start)
		case !t.Before(o.end):
			lo = later(lo, o.end)
		default:
			lo, hi = later(lo, o.start), earlier(hi, o.end)
			set = o.apply(set, i, sc.overrides)
		}
	}
	if !hi.After(t) { // never for a consistent zone; guarantees progress
		hi = t.Add(time.Second)
	}
	if lo.After(t) {
		lo = t
	}
	return set, lo, hi
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// overridesIn returns the indexes of the overrides overlapping [from, to).
func (sc *Schedule) overridesIn(from, to time.Time) []int {
	var os []int
	for i := range sc.overrides {
		if sc.overrides[i].start.Before(to) && sc.overrides[i].end.After(from) {
			os = append(os, i)
		}
	}
	return os
}

func (sc *Schedule) allOverrides() []int {
	os := make([]int, len(sc.overrides))
	for i := range os {
		os[i] = i
	}
	return os
}

// maxWalk bounds how many unchanged pieces OnCallAt looks through to find
// where a shift began and ends.
const maxWalk = 1000

// OnCallAt returns who is on call at t, one Shift per person: where it
// comes from, since when and until when that person is on call from that
// source without a break (looking at most maxWalk changes elsewhere in the
// schedule either way). Nobody on call is an empty result. The layers'
// person (or whoever replaces them) comes first, then people added by
// overrides in the order the overrides were created.
func (sc *Schedule) OnCallAt(t time.Time) []Shift {
	t = t.UTC()
	os := sc.allOverrides()
	set, lo, hi := sc.segmentAt(t, os)
	if len(set) == 0 {
		return nil
	}
	out := make([]Shift, len(set))
	for i, a := range set {
		out[i] = Shift{Assignment: a, Start: lo, End: hi}
	}
	// Walk back while anyone's assignment continues.
	open := len(out)
	for cur, n := lo, 0; open > 0 && n < maxWalk && cur.After(forever); n++ {
		prev, plo, _ := sc.segmentAt(cur.Add(-1), os)
		open = 0
		for i := range out {
			if out[i].Start.Equal(cur) && slices.Contains(prev, out[i].Assignment) {
				out[i].Start = plo
				open++
			}
		}
		cur = plo
	}
	open = len(out)
	for cur, n := hi, 0; open > 0 && n < maxWalk && cur.Before(never); n++ {
		next, _, nhi := sc.segmentAt(cur, os)
		open = 0
		for i := range out {
			if out[i].End.Equal(cur) && slices.Contains(next, out[i].Assignment) {
				out[i].End = nhi
				open++
			}
		}
		cur = nhi
	}
	return out
}

// maxSpans bounds the pieces one Timeline call renders.
const maxSpans = 1 << 20

// Timeline renders [from, to) as contiguous, non-overlapping spans, each
// with the people on call throughout; adjacent spans differ. An empty
// OnCall is a coverage gap. The work is linear in the number of handoffs,
// restriction edges and overrides within the range (at most 2^20 spans).
func (sc *Schedule) Timeline(from, to time.Time) []Span {
	from, to = from.UTC(), to.UTC()
	os := sc.overridesIn(from, to)
	var out []Span
	for t := from; t.Before(to) && len(out) < maxSpans; {
		set, _, hi := sc.segmentAt(t, os)
		hi = earlier(hi, to)
		if n := len(out); n > 0 && slices.Equal(out[n-1].OnCall, set) {
			out[n-1].End = hi
		} else {
			out = append(out, Span{Start: t, End: hi, OnCall: set})
		}
		t = hi
	}
	return out
}

// Shifts renders [from, to) as shifts, one per person and source for each
// unbroken stretch, ordered by start then user: the final calendar of the
// schedule. One person's shifts never overlap.
func (sc *Schedule) Shifts(from, to time.Time) []Shift {
	var out []Shift
	open := map[Assignment]int{}
	for _, sp := range sc.Timeline(from, to) {
		for _, a := range sp.OnCall {
			if i, ok := open[a]; ok && out[i].End.Equal(sp.Start) {
				out[i].End = sp.End
				continue
			}
			open[a] = len(out)
			out = append(out, Shift{Assignment: a, Start: sp.Start, End: sp.End})
		}
	}
	slices.SortStableFunc(out, func(a, b Shift) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		switch {
		case a.User < b.User:
			return -1
		case a.User > b.User:
			return 1
		}
		return 0
	})
	return out
}

// Gaps returns the parts of [from, to) when nobody is on call, in order.
func (sc *Schedule) Gaps(from, to time.Time) []Interval {
	var out []Interval
	for _, sp := range sc.Timeline(from, to) {
		if len(sp.OnCall) > 0 {
			continue
		}
		if n := len(out); n > 0 && out[n-1].End.Equal(sp.Start) {
			out[n-1].End = sp.End
			continue
		}
		out = append(out, Interval{Start: sp.Start, End: sp.End})
	}
	return out
}

// maxHandoffSteps bounds the pieces NextHandoffs looks through.
const maxHandoffSteps = 100000

// NextHandoffs returns the next n changes of who is on call after t (a
// change of source for the same person is not a handoff), looking through
// at most 100,000 pieces of the schedule.
func (sc *Schedule) NextHandoffs(t time.Time, n int) []Handoff {
	t = t.UTC()
	os := sc.allOverrides()
	set, _, cur := sc.segmentAt(t, os)
	prev := users(set)
	var out []Handoff
	for steps := 0; len(out) < n && steps < maxHandoffSteps && cur.Before(never); steps++ {
		next, _, hi := sc.segmentAt(cur, os)
		now := users(next)
		var off, on []string
		for _, u := range prev {
			if !slices.Contains(now, u) {
				off = append(off, u)
			}
		}
		for _, u := range now {
			if !slices.Contains(prev, u) {
				on = append(on, u)
			}
		}
		if len(off)+len(on) > 0 {
			out = append(out, Handoff{At: cur, Off: off, On: on})
		}
		prev, cur = now, hi
	}
	return out
}

func users(set []Assignment) []string {
	out := make([]string, len(set))
	for i, a := range set {
		out[i] = a.User
	}
	return out
}
