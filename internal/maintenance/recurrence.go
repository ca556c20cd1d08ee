package maintenance

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"groundcrew.dev/groundcrew/internal/wallclock"

	// Embedded zone data, used only when the host has none: whether a
	// window's time zone exists must not depend on which replica checks it.
	_ "time/tzdata"

	"groundcrew.dev/groundcrew/internal/errs"
)

// MaxDuration bounds one occurrence of a recurring window.
const MaxDuration = 7 * 24 * time.Hour

// Interval is the half-open span of time [Start, End).
type Interval struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Contains reports whether t is in [Start, End).
func (iv Interval) Contains(t time.Time) bool { return !t.Before(iv.Start) && t.Before(iv.End) }

// overlaps reports whether iv and [from, to) share an instant.
func (iv Interval) overlaps(from, to time.Time) bool {
	return iv.Start.Before(to) && iv.End.After(from)
}

// RecurrenceSpec is a recurring window as people write it.
type RecurrenceSpec struct {
	TimeZone string     `json:"time_zone" doc:"IANA time zone the start time is in, e.g. Europe/Berlin"`
	Days     []string   `json:"days,omitempty" doc:"mon, tue, wed, thu, fri, sat, sun; empty: every day"`
	At       string     `json:"at" doc:"local wall-clock start, HH:MM (24-hour), e.g. 02:00"`
	Duration string     `json:"duration" doc:"real elapsed time, a Go duration up to 168h, e.g. 2h or 90m"`
	Until    *time.Time `json:"until,omitempty" doc:"RFC 3339; no occurrence starts at or after it, and one still running then ends there"`
}

// Days is a set of weekdays, bit i for time.Weekday(i). The zero value
// means every day.
type Days uint8

// Has reports whether the set holds w (always true for the empty set).
func (d Days) Has(w time.Weekday) bool { return d == 0 || d&(1<<w) != 0 }

// dayNames are the weekdays as people write them, Monday first: the order
// normalized lists use.
var dayNames = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

func weekdayOf(name string) (time.Weekday, bool) {
	i := slices.Index(dayNames, name)
	if i < 0 {
		return 0, false
	}
	return time.Weekday((i + 1) % 7), true
}

// Recurrence is a parsed RecurrenceSpec: a window that starts at a local
// wall-clock time on some days of the week and lasts a real elapsed
// duration. It is a plain value; build it with RecurrenceSpec.Parse.
type Recurrence struct {
	Location     *time.Location
	Days         Days
	Hour, Minute int
	Duration     time.Duration
	Until        time.Time // zero: no end
}

var (
	zoneName  = regexp.MustCompile(`^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$`)
	timeOfDay = regexp.MustCompile(`^([01][0-9]|2[0-3]):([0-5][0-9])$`)
)

// loadZone returns the IANA time zone called name, or an Invalid error
// naming field. "Local" is refused: it would mean a different zone on each
// replica.
func loadZone(field, name string) (*time.Location, error) {
	switch {
	case name == "":
		return nil, errs.Invalidf(field, "is required: an IANA time zone such as Europe/Berlin or UTC")
	case name == "Local" || len(name) > 64 || !zoneName.MatchString(name) || strings.Contains(name, ".."):
		return nil, errs.Invalidf(field, "%q is not an IANA time zone such as Europe/Berlin or UTC", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, errs.Invalidf(field, "unknown time zone %q: want an IANA name such as Europe/Berlin or UTC", name)
	}
	return loc, nil
}

// Parse checks s and returns it parsed, and s normalized: days lower-case,
// Monday first, without duplicates; the duration without zero units
// ("90m" → "1h30m"); until in UTC. Errors are Invalid and name the field
// relative to the recurrence ("time_zone", "days[2]").
func (s RecurrenceSpec) Parse() (Recurrence, RecurrenceSpec, error) {
	var r Recurrence
	var err error
	if r.Location, err = loadZone("time_zone", s.TimeZone); err != nil {
		return r, s, err
	}
	var seen [7]bool
	for i, d := range s.Days {
		w, ok := weekdayOf(strings.ToLower(d))
		if !ok {
			return r, s, errs.Invalidf(fmt.Sprintf("days[%d]", i), "%q is not a day: want mon, tue, wed, thu, fri, sat or sun", d)
		}
		r.Days |= 1 << w
		seen[(w+6)%7] = true
	}
	var days []string
	for i, name := range dayNames {
		if seen[i] {
			days = append(days, name)
		}
	}
	s.Days = days
	m := timeOfDay.FindStringSubmatch(s.At)
	if m == nil {
		if s.At == "" {
			return r, s, errs.Invalidf("at", "is required: the local start time, HH:MM")
		}
		return r, s, errs.Invalidf("at", "%q is not a time of day: want HH:MM, 24-hour, e.g. 02:00", s.At)
	}
	r.Hour, r.Minute = int(m[1][0]-'0')*10+int(m[1][1]-'0'), int(m[2][0]-'0')*10+int(m[2][1]-'0')
	if s.Duration == "" {
		return r, s, errs.Invalidf("duration", "is required: a Go duration such as 2h or 90m")
	}
	if r.Duration, err = time.ParseDuration(s.Duration); err != nil {
		return r, s, errs.Invalidf("duration", "%q is not a duration: want e.g. 2h, 90m or 1h30m", s.Duration)
	}
	if r.Duration <= 0 || r.Duration > MaxDuration {
		return r, s, errs.Invalidf("duration", "must be more than 0 and at most %s (7 days), got %s", MaxDuration, s.Duration)
	}
	s.Duration = compactDuration(r.Duration)
	if s.Until != nil {
		u := s.Until.UTC()
		s.Until, r.Until = &u, u
	}
	return r, s, nil
}

// compactDuration formats d as time.Duration.String does, without zero
// minutes and seconds: 2h, 1h30m, 45m.
func compactDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// Occurrences returns the occurrences of r that overlap [from, to), in
// order of start: one that began before from and is still running counts.
// Each occurrence starts when the wall clock in r's zone first shows the
// start time on one of r's days — a start time skipped by a change to
// summer time resolves to the first instant after the gap, one shown
// twice to its first showing — and lasts r.Duration of real time, so a
// daily window's starts are 23 or 25 hours apart across a change. An
// occurrence still running at r.Until is cut short there.
func (r Recurrence) Occurrences(from, to time.Time) []Interval {
	if r.Location == nil || r.Duration <= 0 || !from.Before(to) {
		return nil
	}
	// Any occurrence overlapping [from, to) starts in (from-Duration, to);
	// one day of slack each way covers the zone's offset.
	first := civilDay(from.Add(-r.Duration).In(r.Location)).AddDate(0, 0, -1)
	last := civilDay(to.In(r.Location)).AddDate(0, 0, 1)
	var out []Interval
	var prev time.Time
	for day := first; !day.After(last); day = day.AddDate(0, 0, 1) {
		if !r.Days.Has(day.Weekday()) {
			continue
		}
		start := r.startOn(day)
		if !r.Until.IsZero() && !start.Before(r.Until) {
			break // starts only grow
		}
		if start.Equal(prev) {
			continue // two days resolved into one gap (a zone skipping a whole day)
		}
		prev = start
		iv := Interval{start, start.Add(r.Duration)}
		if !r.Until.IsZero() && iv.End.After(r.Until) {
			iv.End = r.Until
		}
		if iv.overlaps(from, to) {
			out = append(out, iv)
		}
	}
	return out
}

// ActiveAt reports whether an occurrence of r contains t. It looks only at
// the latest start at or before t: every occurrence lasts as long, so that
// one ends last.
func (r Recurrence) ActiveAt(t time.Time) bool {
	if r.Location == nil || r.Duration <= 0 || !r.Until.IsZero() && !t.Before(r.Until) {
		return false
	}
	// From the day after t's local day (a fall-back across midnight can
	// show the next day's start time before t), back to the day of the
	// earliest start that could still be running, with a day of slack.
	stop := civilDay(t.Add(-r.Duration).In(r.Location)).AddDate(0, 0, -1)
	for day := civilDay(t.In(r.Location)).AddDate(0, 0, 1); !day.Before(stop); day = day.AddDate(0, 0, -1) {
		if !r.Days.Has(day.Weekday()) {
			continue
		}
		if start := r.startOn(day); !start.After(t) {
			return t.Before(start.Add(r.Duration))
		}
	}
	return false
}

// startOn returns the start of the occurrence on day (a civil date as
// midnight UTC).
func (r Recurrence) startOn(day time.Time) time.Time {
	y, m, d := day.Date()
	return WallTime(r.Location, y, m, d, r.Hour, r.Minute)
}

// civilDay returns t's calendar date in t's location as midnight UTC, a
// value that only stands for the date and steps by whole days.
func civilDay(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// WallTime returns the instant at which the wall clock in loc first shows
// the given date and time, by groundcrew's one rule: see wallclock.Resolve.
func WallTime(loc *time.Location, year int, month time.Month, day, hour, min int) time.Time {
	return wallclock.Resolve(loc, year, month, day, hour, min)
}
