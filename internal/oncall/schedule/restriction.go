package schedule

import (
	"time"

	"groundcrew.dev/groundcrew/internal/errs"
)

// MaxRestrictions bounds the restriction windows of one layer.
const MaxRestrictions = 64

// RestrictionSpec is a time-of-day window, in the layer's zone, on some
// weekdays, during which a restricted layer has someone on call: business
// hours are {days: [mon, tue, wed, thu, fri], start: "09:00", end: "17:00"}.
// An end at or before the start runs past midnight into the next day
// ("22:00"–"06:00"); "00:00"–"24:00" is the whole day. Wall-clock times
// skipped or repeated by a change of summer time resolve as handoffs do.
type RestrictionSpec struct {
	// Days are the weekdays the window starts on; empty means every day.
	Days  []string `json:"days,omitempty" yaml:"days,omitempty"`
	Start string   `json:"start" yaml:"start"`
	End   string   `json:"end" yaml:"end"`
}

// window is a compiled RestrictionSpec; end > 1440 runs into the next day.
type window struct {
	days       uint8 // bit i for time.Weekday(i)
	start, end int   // minutes from the start day's midnight
}

func (s RestrictionSpec) compile() (window, error) {
	var w window
	for i, d := range s.Days {
		wd, err := parseWeekday(fieldf("days[%d]", i), d)
		if err != nil {
			return w, err
		}
		w.days |= 1 << wd
	}
	if len(s.Days) == 0 {
		w.days = 0x7f
	}
	var err error
	if w.start, err = parseClock("start", s.Start, false); err != nil {
		return w, err
	}
	if w.end, err = parseClock("end", s.End, true); err != nil {
		return w, err
	}
	if w.end <= w.start {
		w.end += 1440
	}
	if w.end-w.start > 1440 {
		return w, errs.Invalidf("end", "a window lasts at most a day")
	}
	return w, nil
}

// restrictionAt reports whether t lies in one of ws (in loc), and an
// interval [lo, hi) around t over which that answer does not change.
func restrictionAt(ws []window, loc *time.Location, t time.Time) (in bool, lo, hi time.Time) {
	d := localDay(t, loc)
	lo, hi = d.at(loc, 0), (d+1).at(loc, 0)
	if lo.After(t) { // a zone that skips a whole day: be safe
		lo = t
	}
	if !hi.After(t) {
		hi = t.Add(time.Minute)
	}
	edge := func(b time.Time) {
		if !b.After(t) && b.After(lo) {
			lo = b
		}
		if b.After(t) && b.Before(hi) {
			hi = b
		}
	}
	// Windows last at most a day, so only those starting yesterday or today
	// can contain t or change state today.
	for sd := d - 1; sd <= d; sd++ {
		wd := sd.weekday()
		for _, w := range ws {
			if w.days&(1<<wd) == 0 {
				continue
			}
			s, e := sd.at(loc, w.start), sd.at(loc, w.end)
			if !e.After(s) {
				continue
			}
			edge(s)
			edge(e)
			if !t.Before(s) && t.Before(e) {
				in = true
			}
		}
	}
	return in, lo, hi
}
