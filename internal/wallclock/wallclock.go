// Package wallclock turns local wall-clock times into instants by
// groundcrew's one rule (ARCHITECTURE.md, "Wall-clock semantics"): a time
// the clock skips resolves to the first instant after the gap, a time it
// shows twice to its first showing. Maintenance windows, alert time
// intervals and on-call schedules all use it, so the same local time means
// the same instant everywhere.
package wallclock

import "time"

// Resolve returns the instant, in UTC, at which the wall clock in loc
// first shows the given date and time. A time the clock skips (the gap when
// summer time starts) resolves to the first instant after the gap, the
// moment of the change; a time it shows twice (when summer time ends) to
// its first showing. time.Date documents no choice for either case and
// differs by zone, so when a zone change is near, the zone periods around
// the time are examined one by one.
func Resolve(loc *time.Location, year int, month time.Month, dd, hour, min int) time.Time {
	t := time.Date(year, month, dd, hour, min, 0, 0, loc)
	start, end := t.ZoneBounds()
	const far = 50 * time.Hour // offsets lie within ±26 h
	if (start.IsZero() || t.Sub(start) > far) && (end.IsZero() || end.Sub(t) > far) {
		return t.UTC() // no zone change nearby: the time exists once
	}
	naive := time.Date(year, month, dd, hour, min, 0, 0, time.UTC)
	var first, gap time.Time
	var found, skipped bool
	limit := naive.Add(far)
	p := naive.Add(-far)
	for range 64 { // zone periods within ±50 h; no real zone has that many
		_, off := p.In(loc).Zone()
		ps, pe := p.In(loc).ZoneBounds()
		offset := time.Duration(off) * time.Second
		// Within [ps, pe) the clock shows naive exactly at naive-offset.
		if c := naive.Add(-offset); (ps.IsZero() || !c.Before(ps)) && (pe.IsZero() || c.Before(pe)) {
			if !found || c.Before(first) {
				first, found = c, true
			}
		}
		if pe.IsZero() || pe.After(limit) {
			break
		}
		// At pe the clock jumps from pe+offset to pe+next: a forward jump
		// skips the wall times in between.
		_, nextOff := pe.In(loc).Zone()
		next := time.Duration(nextOff) * time.Second
		if !skipped && next > offset && !naive.Before(pe.Add(offset)) && naive.Before(pe.Add(next)) {
			gap, skipped = pe, true
		}
		p = pe
	}
	switch {
	case found:
		return first.UTC()
	case skipped:
		return gap.UTC()
	default:
		return t.UTC() // not reached for a consistent zone
	}
}
