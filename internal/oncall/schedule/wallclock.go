package schedule

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"groundcrew.dev/groundcrew/internal/wallclock"

	"groundcrew.dev/groundcrew/internal/errs"
)

// day is a civil date: days since 1970-01-01. It steps by whole calendar
// days whatever the zone does.
type day int64

func dayOf(y int, m time.Month, d int) day {
	return day(floorDiv(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix(), 86400))
}

// localDay returns the calendar date t shows in loc.
func localDay(t time.Time, loc *time.Location) day {
	y, m, d := t.In(loc).Date()
	return dayOf(y, m, d)
}

func (d day) date() (int, time.Month, int) { return time.Unix(int64(d)*86400, 0).UTC().Date() }

func (d day) weekday() time.Weekday { return time.Unix(int64(d)*86400, 0).UTC().Weekday() }

// at returns the instant the wall clock in loc first shows minute-of-day
// min (0–1440; 1440 is the next midnight) on d.
func (d day) at(loc *time.Location, min int) time.Time {
	if min >= 1440 {
		d, min = d+1, min-1440
	}
	y, m, dd := d.date()
	return wallTime(loc, y, m, dd, min/60, min%60)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// wallTime is wallclock.Resolve: groundcrew's one rule for local times a
// zone change skips or repeats.
func wallTime(loc *time.Location, year int, month time.Month, dd, hour, min int) time.Time {
	return wallclock.Resolve(loc, year, month, dd, hour, min)
}

var (
	zoneName  = regexp.MustCompile(`^[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*$`)
	clockTime = regexp.MustCompile(`^([01][0-9]|2[0-4]):([0-5][0-9])$`)
	localDate = regexp.MustCompile(`^([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[T ]([0-9]{2}:[0-9]{2}))?$`)
)

// loadZone returns the IANA time zone called name, or an Invalid error
// naming field. "Local" is refused: it would differ between replicas.
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

// parseClock parses "HH:MM" into minutes of the day; "24:00" only when
// allow24.
func parseClock(field, s string, allow24 bool) (int, error) {
	m := clockTime.FindStringSubmatch(s)
	if m == nil {
		return 0, errs.Invalidf(field, "%q is not a time of day HH:MM", s)
	}
	h, _ := strconv.Atoi(m[1])
	mi, _ := strconv.Atoi(m[2])
	if h == 24 && (mi != 0 || !allow24) {
		return 0, errs.Invalidf(field, "%q is not a time of day HH:MM (00:00–23:59)", s)
	}
	return h*60 + mi, nil
}

// parseLocal parses a local date "2006-01-02" or date and time
// "2006-01-02T15:04" (midnight when the time is left out).
func parseLocal(field, s string) (day, int, error) {
	m := localDate.FindStringSubmatch(s)
	bad := errs.Invalidf(field, "%q is not a local date 2006-01-02 or date and time 2006-01-02T15:04", s)
	if m == nil {
		return 0, 0, bad
	}
	y, _ := strconv.Atoi(m[1])
	mo, _ := strconv.Atoi(m[2])
	d, _ := strconv.Atoi(m[3])
	if y < 1970 || y > 2200 || mo < 1 || mo > 12 || d < 1 || d > 31 {
		return 0, 0, bad
	}
	if t := time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC); t.Day() != d {
		return 0, 0, errs.Invalidf(field, "%q: %s has no day %d", s, time.Month(mo), d)
	}
	min := 0
	if m[4] != "" {
		var err error
		if min, err = parseClock(field, m[4], false); err != nil {
			return 0, 0, err
		}
	}
	return dayOf(y, time.Month(mo), d), min, nil
}

var weekdays = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

func parseWeekday(field, s string) (time.Weekday, error) {
	w, ok := weekdays[strings.ToLower(s)]
	if !ok {
		return 0, errs.Invalidf(field, "%q is not a weekday (monday … sunday, or mon … sun)", s)
	}
	return w, nil
}

func fieldf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
