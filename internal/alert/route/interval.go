package route

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"groundcrew.dev/groundcrew/internal/wallclock"

	"groundcrew.dev/groundcrew/internal/errs"
)

// Interval is a named set of periods, as an entry of Alertmanager's
// time_intervals: an instant is inside the interval when it is inside any
// of its periods. Routes name intervals in ActiveIntervals and
// MuteIntervals.
type Interval struct {
	Name    string   `json:"name" yaml:"name"`
	Periods []Period `json:"periods" yaml:"periods"`
}

// Period restricts time along each dimension it sets; an empty dimension
// allows everything, so the zero Period is always. Ranges are inclusive
// ("monday:friday", "1:5", "-7:-1" for the last seven days of the month,
// "january:march" or "1:3", "2026:2027") except Times, which are half-open
// [start, end) wall-clock times "HH:MM" with end up to "24:00".
//
// Everything is read on the wall clock of Location (an IANA zone; empty is
// UTC). Across daylight-saving changes the rule is groundcrew's: a range's
// start and end are resolved to instants on that day — a time the clock
// skips resolves to the first instant after the gap, a time it shows twice
// to its first showing — and the period is the half-open span between. So
// 01:00–04:00 on the spring-forward day lasts two real hours, and on the
// fall-back day 02:30–03:00 runs from the first 02:30 to the (only) 03:00,
// one and a half hours. (Alertmanager compares clock readings instead; the
// two agree except for ranges that start or end inside the repeated hour.)
type Period struct {
	Times       []TimeRange `json:"times,omitempty" yaml:"times,omitempty"`
	Weekdays    []string    `json:"weekdays,omitempty" yaml:"weekdays,omitempty"`
	DaysOfMonth []string    `json:"days_of_month,omitempty" yaml:"days_of_month,omitempty"`
	Months      []string    `json:"months,omitempty" yaml:"months,omitempty"`
	Years       []string    `json:"years,omitempty" yaml:"years,omitempty"`
	Location    string      `json:"location,omitempty" yaml:"location,omitempty"`
}

// TimeRange is a half-open range of wall-clock times, "HH:MM" to "HH:MM".
type TimeRange struct {
	Start string `json:"start_time" yaml:"start_time"`
	End   string `json:"end_time" yaml:"end_time"`
}

type span struct{ lo, hi int } // inclusive, or [lo, hi) for minutes of the day

// period is a compiled Period.
type period struct {
	times  []span // minutes since midnight, [lo, hi)
	wdays  []span // 0 = Sunday
	mdays  []span // 1..31 or -31..-1
	months []span
	years  []span
	loc    *time.Location
}

// interval is a compiled Interval. Immutable.
type interval struct {
	name    string
	periods []period
}

var weekdays = map[string]int{"sunday": 0, "monday": 1, "tuesday": 2, "wednesday": 3, "thursday": 4, "friday": 5, "saturday": 6}

var months = map[string]int{"january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6,
	"july": 7, "august": 8, "september": 9, "october": 10, "november": 11, "december": 12}

// Validate reports the first bad field, named by its path
// ("periods[0].weekdays[1]").
func (iv Interval) Validate() error {
	_, err := compileInterval(iv)
	return err
}

func compileInterval(iv Interval) (interval, error) {
	if strings.TrimSpace(iv.Name) == "" {
		return interval{}, errs.Invalidf("name", "is required")
	}
	out := interval{name: iv.Name}
	for i, p := range iv.Periods {
		cp, err := compilePeriod(p)
		if err != nil {
			return interval{}, errs.WithField(fmt.Sprintf("periods[%d]", i), err)
		}
		out.periods = append(out.periods, cp)
	}
	return out, nil
}

func compilePeriod(p Period) (period, error) {
	var out period
	for i, tr := range p.Times {
		lo, err := parseClock(tr.Start)
		if err != nil {
			return period{}, errs.WithField(fmt.Sprintf("times[%d].start_time", i), err)
		}
		hi, err := parseClock(tr.End)
		if err != nil {
			return period{}, errs.WithField(fmt.Sprintf("times[%d].end_time", i), err)
		}
		if lo >= hi {
			return period{}, errs.Invalidf(fmt.Sprintf("times[%d].end_time", i), "must be after start_time %s", tr.Start)
		}
		out.times = append(out.times, span{lo, hi})
	}
	var err error
	if out.wdays, err = parseRanges("weekdays", p.Weekdays, 0, 6, false, weekdays); err != nil {
		return period{}, err
	}
	if out.mdays, err = parseRanges("days_of_month", p.DaysOfMonth, 1, 31, true, nil); err != nil {
		return period{}, err
	}
	if out.months, err = parseRanges("months", p.Months, 1, 12, false, months); err != nil {
		return period{}, err
	}
	if out.years, err = parseRanges("years", p.Years, 1, 9999, false, nil); err != nil {
		return period{}, err
	}
	out.loc = time.UTC
	if p.Location != "" {
		loc, err := time.LoadLocation(p.Location)
		if err != nil || strings.EqualFold(p.Location, "local") {
			return period{}, errs.Invalidf("location", "unknown time zone %q (use an IANA name such as Europe/Berlin)", p.Location)
		}
		out.loc = loc
	}
	return out, nil
}

// parseClock reads "HH:MM" (00:00 to 24:00) as minutes since midnight.
func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || len(h) != 2 || len(m) != 2 || err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || hh == 24 && mm != 0 {
		return 0, errs.Invalidf("", "%q is not a time of day HH:MM between 00:00 and 24:00", s)
	}
	return hh*60 + mm, nil
}

// parseRanges reads "a" or "a:b" items; names (case-insensitive, full or
// three-letter) map to numbers when given. negative allows -max..-1 as
// counted from the end (days of the month).
func parseRanges(field string, items []string, lo, hi int, negative bool, names map[string]int) ([]span, error) {
	var out []span
	for i, item := range items {
		f := fmt.Sprintf("%s[%d]", field, i)
		a, b, isRange := strings.Cut(strings.TrimSpace(item), ":")
		if !isRange {
			b = a
		}
		x, err := rangeValue(a, lo, hi, negative, names)
		if err != nil {
			return nil, errs.Invalidf(f, "%v", err)
		}
		y, err := rangeValue(b, lo, hi, negative, names)
		if err != nil {
			return nil, errs.Invalidf(f, "%v", err)
		}
		// Same-sign bounds must be ordered; mixed ones ("1:-1") resolve per month.
		if (x < 0) == (y < 0) && x > y {
			return nil, errs.Invalidf(f, "%q: start is after end", item)
		}
		if x > 0 && y < 0 && x > hi+y+1 && hi+y+1 < 28 {
			return nil, errs.Invalidf(f, "%q is empty in every month", item)
		}
		out = append(out, span{x, y})
	}
	return out, nil
}

func rangeValue(s string, lo, hi int, negative bool, names map[string]int) (int, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if v, ok := names[s]; ok {
		return v, nil
	}
	for name, v := range names {
		if len(s) == 3 && strings.HasPrefix(name, s) {
			return v, nil
		}
	}
	n, err := strconv.Atoi(s)
	switch {
	case err != nil && names != nil:
		return 0, fmt.Errorf("%q is not a known name or a number from %d to %d", s, lo, hi)
	case err != nil:
		return 0, fmt.Errorf("%q is not a number", s)
	case n >= lo && n <= hi, negative && n <= -1 && n >= -hi:
		return n, nil
	case negative:
		return 0, fmt.Errorf("%d is outside %d..%d and -%d..-1", n, lo, hi, hi)
	}
	return 0, fmt.Errorf("%d is outside %d..%d", n, lo, hi)
}

// contains reports whether instant t is inside the interval.
func (iv *interval) contains(t time.Time) bool {
	for i := range iv.periods {
		if iv.periods[i].contains(t) {
			return true
		}
	}
	return false
}

func (p *period) contains(t time.Time) bool {
	lt := t.In(p.loc)
	y, m, d := lt.Date()
	if !inSpans(p.years, y) || !inSpans(p.months, int(m)) || !inSpans(p.wdays, int(lt.Weekday())) {
		return false
	}
	if len(p.mdays) > 0 {
		n := daysIn(y, m)
		ok := false
		for _, s := range p.mdays {
			lo, hi := s.lo, s.hi
			if lo < 0 {
				lo += n + 1
			}
			if hi < 0 {
				hi += n + 1
			}
			if d >= lo && d <= hi {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if len(p.times) == 0 {
		return true
	}
	for _, s := range p.times {
		start := wallTime(p.loc, y, m, d, s.lo)
		end := wallTime(p.loc, y, m, d, s.hi)
		if !t.Before(start) && t.Before(end) {
			return true
		}
	}
	return false
}

func inSpans(spans []span, v int) bool {
	if len(spans) == 0 {
		return true
	}
	for _, s := range spans {
		if v >= s.lo && v <= s.hi {
			return true
		}
	}
	return false
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// wallTime is wallclock.Resolve for a minute of the day (1440 is midnight
// of the next day).
func wallTime(loc *time.Location, y int, m time.Month, d, minute int) time.Time {
	return wallclock.Resolve(loc, y, m, d, 0, minute)
}
