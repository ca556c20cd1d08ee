package schedule

import (
	"time"

	"groundcrew.dev/groundcrew/internal/errs"
)

// The rotation kinds. Daily and weekly rotations hand off at a local
// wall-clock time, so a shift across a change to or from summer time lasts
// an hour less or more; hourly and custom ones hand off after real elapsed
// time.
const (
	Hourly = "hourly"
	Daily  = "daily"
	Weekly = "weekly"
	Custom = "custom"
)

// Limits on a rotation, so that one spec cannot make every lookup slow.
const (
	MaxParticipants = 500
	MinShift        = time.Hour // the shortest shift a rotation may have
	MaxShift        = 366 * 24 * time.Hour
)

// RotationSpec is a rotation as people write it: participants take turns
// in order, each for one shift.
//
// History stays stable when participants change if the change takes
// effect at an epoch: move the current list into History (with its own
// epoch, if it had one), write the new list, and set Epoch to a date at or
// after the next handoff. Every handoff before the new epoch is computed
// from the older list exactly as before; from the first handoff at or
// after the epoch the new list starts with its first participant.
type RotationSpec struct {
	// Participants are user names, in the order they take shifts. A name
	// may appear more than once.
	Participants []string `json:"participants" yaml:"participants"`
	// Kind is hourly, daily, weekly or custom.
	Kind string `json:"kind" yaml:"kind"`
	// Every is the shift length in the kind's unit (hours, days, weeks);
	// 0 means 1. Hourly rotations need at least 1 hour.
	Every int `json:"every,omitempty" yaml:"every,omitempty"`
	// Length is the shift length of a custom rotation, real elapsed time
	// as a Go duration ("36h", "90m" is too short: at least 1h).
	Length string `json:"length,omitempty" yaml:"length,omitempty"`
	// HandoffTime is the local wall-clock time of the first handoff
	// ("09:00"; default 00:00); daily and weekly rotations hand off at it
	// every time.
	HandoffTime string `json:"handoff_time,omitempty" yaml:"handoff_time,omitempty"`
	// HandoffDay is the weekday of a weekly rotation's handoffs
	// ("monday"); default the weekday of Start.
	HandoffDay string `json:"handoff_day,omitempty" yaml:"handoff_day,omitempty"`
	// Start is the local date of the first handoff, "2006-01-02" in the
	// layer's zone (for weekly rotations, the first HandoffDay on or after
	// it). Nobody from this rotation is on call before it.
	Start string `json:"start" yaml:"start"`
	// Epoch, a local date or date and time, is where Participants start
	// counting: the first handoff at or after it goes to Participants[0].
	// Empty means Start.
	Epoch string `json:"epoch,omitempty" yaml:"epoch,omitempty"`
	// History holds earlier participant lists, oldest first, so that
	// shifts before Epoch stay as they were.
	History []EraSpec `json:"history,omitempty" yaml:"history,omitempty"`
}

// EraSpec is an earlier participant list of a rotation and the local date
// (or date and time) from which it counted. The first era may leave Epoch
// empty: it counted from the rotation's Start.
type EraSpec struct {
	Epoch        string   `json:"epoch,omitempty" yaml:"epoch,omitempty"`
	Participants []string `json:"participants" yaml:"participants"`
}

// rotation is a compiled RotationSpec: handoff k (k ≥ 0) is at handoff(k).
type rotation struct {
	loc      *time.Location
	dayBased bool
	day0     day           // day-based: the date of handoff 0
	stepDays int64         // day-based: days between handoffs
	clock    int           // day-based: minute of the day of each handoff
	t0       time.Time     // elapsed: handoff 0
	step     time.Duration // elapsed: time between handoffs
	eras     []era         // by first, increasing
}

type era struct {
	first  int64 // index of the first handoff of the era
	people []string
}

func (r *rotation) handoff(k int64) time.Time {
	if r.dayBased {
		return (r.day0 + day(k*r.stepDays)).at(r.loc, r.clock)
	}
	return r.t0.Add(time.Duration(k) * r.step)
}

// index returns the index of the last handoff at or before t (-1 before the
// first), with the instants of that handoff and the next.
func (r *rotation) index(t time.Time) (k int64, at, next time.Time) {
	if r.dayBased {
		k = floorDiv(int64(localDay(t, r.loc)-r.day0), r.stepDays)
	} else {
		k = floorDiv(int64(t.Sub(r.t0)), int64(r.step))
	}
	// The estimate is off by at most one where the handoff time and t's
	// date disagree; step until handoff k ≤ t < handoff k+1.
	at, next = r.handoff(k), r.handoff(k+1)
	for range 4 {
		switch {
		case at.After(t):
			k, next, at = k-1, at, r.handoff(k-1)
		case !next.After(t):
			k, at, next = k+1, next, r.handoff(k+2)
		default:
			if k < 0 {
				return -1, time.Time{}, r.handoff(0)
			}
			return k, at, next
		}
	}
	if k < 0 {
		return -1, time.Time{}, r.handoff(0)
	}
	return k, at, next
}

// person returns who takes shift k.
func (r *rotation) person(k int64) string {
	e := r.eras[0]
	for _, x := range r.eras[1:] {
		if x.first > k {
			break
		}
		e = x
	}
	n := int64(len(e.people))
	return e.people[((k-e.first)%n+n)%n]
}

// compile checks s and compiles it in loc. Field paths are relative to
// the rotation.
func (s RotationSpec) compile(loc *time.Location) (*rotation, error) {
	r := &rotation{loc: loc}
	every := int64(s.Every)
	if s.Every < 0 {
		return nil, errs.Invalidf("every", "must not be negative")
	}
	if every == 0 {
		every = 1
	}
	clock := 0
	if s.HandoffTime != "" {
		var err error
		if clock, err = parseClock("handoff_time", s.HandoffTime, false); err != nil {
			return nil, err
		}
	}
	if s.Start == "" {
		return nil, errs.Invalidf("start", "is required: the local date of the first handoff, e.g. 2026-03-02")
	}
	start, startMin, err := parseLocal("start", s.Start)
	if err != nil {
		return nil, err
	}
	if startMin != 0 {
		return nil, errs.Invalidf("start", "is a date (2006-01-02); the time of day is handoff_time")
	}
	if s.HandoffDay != "" && s.Kind != Weekly {
		return nil, errs.Invalidf("handoff_day", "applies only to weekly rotations")
	}
	switch s.Kind {
	case Daily, Weekly:
		r.dayBased, r.day0, r.clock, r.stepDays = true, start, clock, every
		if s.Kind == Weekly {
			r.stepDays = 7 * every
			if s.HandoffDay != "" {
				w, err := parseWeekday("handoff_day", s.HandoffDay)
				if err != nil {
					return nil, err
				}
				for r.day0.weekday() != w {
					r.day0++
				}
			}
		}
		if time.Duration(r.stepDays)*24*time.Hour > MaxShift {
			return nil, errs.Invalidf("every", "a shift may last at most %d days", int(MaxShift/(24*time.Hour)))
		}
	case Hourly, Custom:
		if s.Kind == Hourly {
			if every > int64(MaxShift/time.Hour) {
				return nil, errs.Invalidf("every", "a shift may last at most %d hours", int(MaxShift/time.Hour))
			}
			r.step = time.Duration(every) * time.Hour
		} else {
			if s.Every != 0 {
				return nil, errs.Invalidf("every", "does not apply to custom rotations: set length")
			}
			d, err := time.ParseDuration(s.Length)
			switch {
			case s.Length == "":
				return nil, errs.Invalidf("length", "is required for a custom rotation, e.g. 36h")
			case err != nil:
				return nil, errs.Invalidf("length", "%q is not a duration such as 36h or 1h30m", s.Length)
			case d <= 0:
				return nil, errs.Invalidf("length", "must be positive")
			case d < MinShift || d > MaxShift:
				return nil, errs.Invalidf("length", "must be between %s and %s", MinShift, MaxShift)
			}
			r.step = d
		}
		r.t0 = start.at(loc, clock)
	case "":
		return nil, errs.Invalidf("kind", "is required: hourly, daily, weekly or custom")
	default:
		return nil, errs.Invalidf("kind", "%q is not hourly, daily, weekly or custom", s.Kind)
	}
	if s.Length != "" && s.Kind != Custom {
		return nil, errs.Invalidf("length", "applies only to custom rotations: use every")
	}
	eras := append(append([]EraSpec(nil), s.History...), EraSpec{Epoch: s.Epoch, Participants: s.Participants})
	var last time.Time
	for i, e := range eras {
		field := fieldf("history[%d]", i)
		if i == len(eras)-1 {
			field = ""
		}
		pre := func(f string) string {
			if field == "" {
				return f
			}
			return field + "." + f
		}
		if err := checkNames(pre("participants"), e.Participants); err != nil {
			return nil, err
		}
		var first int64
		var at time.Time
		switch {
		case e.Epoch != "":
			d, min, err := parseLocal(pre("epoch"), e.Epoch)
			if err != nil {
				return nil, err
			}
			at = d.at(loc, min)
			k, _, _ := r.index(at.Add(-1))
			first = k + 1 // first handoff at or after the epoch
		case i > 0:
			return nil, errs.Invalidf(pre("epoch"), "is required: from when this participant list counts")
		default:
			at = r.handoff(0)
		}
		if i > 0 && !at.After(last) {
			return nil, errs.Invalidf(pre("epoch"), "must be later than the epoch before it")
		}
		if i > 0 && first <= r.eras[len(r.eras)-1].first {
			return nil, errs.Invalidf(pre("epoch"), "must fall after a later handoff than the epoch before it")
		}
		last = at
		r.eras = append(r.eras, era{first: first, people: e.Participants})
	}
	return r, nil
}

// checkNames checks a list of user names: at least one, each a name.
func checkNames(field string, names []string) error {
	if len(names) == 0 {
		return errs.Invalidf(field, "a rotation needs at least one participant")
	}
	if len(names) > MaxParticipants {
		return errs.Invalidf(field, "at most %d participants", MaxParticipants)
	}
	for i, n := range names {
		if err := checkName(fieldf("%s[%d]", field, i), n); err != nil {
			return err
		}
	}
	return nil
}

// checkName checks one user name: not empty, short, printable.
func checkName(field, n string) error {
	if n == "" {
		return errs.Invalidf(field, "is empty: want a user name")
	}
	if len(n) > 128 {
		return errs.Invalidf(field, "is longer than 128 bytes")
	}
	for _, c := range n {
		if c < 0x20 || c == 0x7f {
			return errs.Invalidf(field, "contains a control character")
		}
	}
	return nil
}
