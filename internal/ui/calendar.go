package ui

// The schedule calendar is drawn on the server as inline SVG by pure
// functions, like the charts: one row per local day of the schedule's
// zone, time running left to right in real elapsed hours from local
// midnight, so a day of 23 hours (spring forward) is a shorter row and a
// 23-hour shift is drawn 23 hours long. Shifts are blocks labelled with
// the person; gaps are hatched and say "nobody", never colour alone.

import (
	"fmt"
	"html/template"
	"slices"
	"strconv"
	"strings"
	"time"

	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/oncall/schedule"
)

// calRange is the span a calendar shows: whole local days.
type calRange struct {
	View       string // week or month
	Loc        *time.Location
	From, To   time.Time // local midnights, To excluded
	Prev, Next time.Time // From of the previous and next range
	Days       []time.Time
}

// parseCalRange reads the calendar's view and first day (YYYY-MM-DD, in
// loc); empty from means the week (from Monday) or month around now. A
// month view starts on the first of from's month.
func parseCalRange(view, from string, now time.Time, loc *time.Location) (calRange, error) {
	cr := calRange{View: view, Loc: loc}
	switch view {
	case "":
		cr.View = "week"
	case "week", "month":
	default:
		return cr, errs.Invalidf("view", "must be week or month, not %q", truncate(view, 20))
	}
	var y, d int
	var m time.Month
	if from == "" {
		y, m, d = now.In(loc).Date()
		if cr.View == "week" {
			wd := (int(now.In(loc).Weekday()) + 6) % 7 // days since Monday
			d -= wd
		}
	} else {
		t, err := time.Parse(time.DateOnly, from) // the date only: loc may skip its midnight
		if err != nil || t.Year() < 1971 || t.Year() > 9998 {
			return cr, errs.Invalidf("from", "%q is not a date YYYY-MM-DD", truncate(from, 20))
		}
		y, m, d = t.Date()
	}
	n := 7
	if cr.View == "month" {
		d = 1
		n = time.Date(y, m+1, 0, 12, 0, 0, 0, time.UTC).Day()
		cr.Prev, cr.Next = localMidnight(y, m-1, 1, loc), localMidnight(y, m+1, 1, loc)
	} else {
		cr.Prev, cr.Next = localMidnight(y, m, d-7, loc), localMidnight(y, m, d+7, loc)
	}
	for i := 0; i <= n; i++ {
		cr.Days = append(cr.Days, localMidnight(y, m, d+i, loc))
	}
	cr.From, cr.To = cr.Days[0], cr.Days[n]
	cr.Days = cr.Days[:n]
	return cr, nil
}

// localMidnight is the start of a local day; in a zone whose clocks skip
// midnight, the first instant of the day that exists.
func localMidnight(y int, m time.Month, d int, loc *time.Location) time.Time {
	t := time.Date(y, m, d, 0, 0, 0, 0, loc)
	want := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	if ly, lm, ld := t.Date(); time.Date(ly, lm, ld, 0, 0, 0, 0, time.UTC).Before(want) {
		// Go resolved a skipped midnight backwards into the day before:
		// walk forward to the first instant of the wanted day.
		for i := 0; i < 48*4 && t.In(loc).Day() != want.Day(); i++ {
			t = t.Add(15 * time.Minute)
		}
		t = t.Truncate(15 * time.Minute)
	}
	return t
}

// calShift is a shift as the calendar shows it.
type calShift struct {
	schedule.Shift
	Class  string // p0…p7: the person's colour
	Length string // "23 h"
	Label  string // the span in the schedule's zone
}

// calGap is a coverage gap as the calendar shows it.
type calGap struct {
	schedule.Interval
	Length string
	Label  string
}

// calDay is one row of the calendar.
type calDay struct {
	Start, End time.Time
	Label      string
	Hours      float64 // its real length: 23, 24 or 25
}

// calendar is everything the calendar draws.
type calendar struct {
	ID     string
	Title  string
	Range  calRange
	Now    time.Time
	Days   []calDay
	Shifts []calShift
	Gaps   []calGap
	Lanes  int // people on call at once, at most
	lane   []int
}

// maxLanes bounds the rows a day has for people on call at once.
const maxLanes = 6

// newCalendar lays out shifts and gaps of the schedule called name over
// the range; shifts are in start order (as oncall.Service.Shifts returns
// them).
func newCalendar(name string, cr calRange, now time.Time, shifts []schedule.Shift, gaps []schedule.Interval) calendar {
	c := calendar{ID: "cal", Range: cr, Now: now, Lanes: 1,
		Title: fmt.Sprintf("On-call calendar of %s, %s to %s (%s)", name, cr.From.Format("Mon 2 Jan 2006"),
			cr.To.Add(-time.Nanosecond).In(cr.Loc).Format("Mon 2 Jan 2006"), cr.Loc)}
	for i, d := range cr.Days {
		end := cr.To
		if i+1 < len(cr.Days) {
			end = cr.Days[i+1]
		}
		c.Days = append(c.Days, calDay{Start: d, End: end, Label: d.In(cr.Loc).Format("Mon 2 Jan"), Hours: end.Sub(d).Hours()})
	}
	var people []string
	for _, s := range shifts {
		if !slices.Contains(people, s.User) {
			people = append(people, s.User)
		}
	}
	slices.Sort(people)
	var laneEnd []time.Time
	for _, s := range shifts {
		lane := -1
		for i, e := range laneEnd {
			if !e.After(s.Start) {
				lane = i
				break
			}
		}
		if lane < 0 {
			lane = min(len(laneEnd), maxLanes-1)
			if lane == len(laneEnd) {
				laneEnd = append(laneEnd, s.End)
			}
		}
		laneEnd[lane] = later(laneEnd[lane], s.End)
		c.lane = append(c.lane, lane)
		c.Shifts = append(c.Shifts, calShift{Shift: s, Class: "p" + strconv.Itoa(slices.Index(people, s.User)%8),
			Length: fmtLength(s.End.Sub(s.Start)), Label: describeLocal(s.Start, s.End, cr.Loc)})
	}
	c.Lanes = max(1, len(laneEnd))
	for _, g := range gaps {
		c.Gaps = append(c.Gaps, calGap{Interval: g, Length: fmtLength(g.End.Sub(g.Start)), Label: describeLocal(g.Start, g.End, cr.Loc)})
	}
	return c
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// fmtLength says a span for people: "23 h", "1 h 30 min", "45 min", or
// in days and hours from two days on ("6 d 14 h").
func fmtLength(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d >= 2*day && d%day == 0:
		return strconv.Itoa(int(d/day)) + " d"
	case d >= 2*day:
		return fmt.Sprintf("%d d %s", int(d/day), fmtLength(d%day))
	case d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + " h"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + " min"
	}
	return fmt.Sprintf("%d h %d min", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// describeLocal says [start, end) in loc: "Sat 28 Mar 09:00 – Sun 29 Mar
// 09:00", or one date when both are on the same day.
func describeLocal(start, end time.Time, loc *time.Location) string {
	a, b := start.In(loc), end.In(loc)
	if a.Format(time.DateOnly) == b.Format(time.DateOnly) {
		return a.Format("Mon 2 Jan 15:04") + "–" + b.Format("15:04")
	}
	return a.Format("Mon 2 Jan 15:04") + " – " + b.Format("Mon 2 Jan 15:04")
}

// The calendar's geometry, in SVG user units: 25 hours fit a row, for the
// day clocks fall back.
const (
	calW, calLabelW, calHeadH = 960, 110, 20
	calHourW                  = float64(calW-calLabelW) / 25
	calLaneH, calRowPad       = 18, 6
)

// calSegment is the piece of a shift or gap drawn in one day's row.
type calSegment struct {
	Day   int
	X, W  float64 // in SVG units
	Shift int     // index into Shifts, or -1 for a gap
	Gap   int     // index into Gaps, or -1
}

// segments cuts shifts and gaps into the days they cross.
func (c calendar) segments() []calSegment {
	var out []calSegment
	cut := func(start, end time.Time, shift, gap int) {
		for i, d := range c.Days {
			lo, hi := later(start, d.Start), end
			if d.End.Before(hi) {
				hi = d.End
			}
			if !hi.After(lo) {
				continue
			}
			out = append(out, calSegment{Day: i, X: calLabelW + lo.Sub(d.Start).Hours()*calHourW,
				W: hi.Sub(lo).Hours() * calHourW, Shift: shift, Gap: gap})
		}
	}
	for i, s := range c.Shifts {
		cut(s.Start, s.End, i, -1)
	}
	for i, g := range c.Gaps {
		cut(g.Start, g.End, -1, i)
	}
	return out
}

func (c calendar) rowH() float64 { return float64(c.Lanes*calLaneH + calRowPad) }

// calendarSVG draws c: a row per day with its hours, shifts as labelled
// blocks (a tooltip gives the exact span and length), gaps hatched and
// marked "nobody", and a line at now when it is in range.
func calendarSVG(c calendar) template.HTML {
	esc := template.HTMLEscapeString
	rowH := c.rowH()
	h := calHeadH + rowH*float64(len(c.Days))
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart calendar" viewBox="0 0 %d %.0f" role="img" aria-labelledby="%s-t %s-d" xmlns="http://www.w3.org/2000/svg">`,
		calW, h, c.ID, c.ID)
	fmt.Fprintf(&b, `<title id="%s-t">%s</title><desc id="%s-d">%d shifts and %d coverage gaps; the tables below list them.</desc>`,
		c.ID, esc(c.Title), c.ID, len(c.Shifts), len(c.Gaps))
	fmt.Fprintf(&b, `<defs><pattern id="%s-gap" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">`+
		`<rect class="gap-bg" width="8" height="8"/><line class="gap-line" x1="0" y1="0" x2="0" y2="8"/></pattern></defs>`, c.ID)
	b.WriteString(`<g class="axis">`)
	for hr := 0; hr <= 24; hr += 3 {
		x := calLabelW + float64(hr)*calHourW
		fmt.Fprintf(&b, `<text x="%.1f" y="13" text-anchor="middle">+%dh</text>`, x, hr)
	}
	b.WriteString(`</g>`)
	for i, d := range c.Days {
		y := calHeadH + rowH*float64(i)
		label := d.Label
		if d.Hours != 24 {
			label += fmt.Sprintf(" (%s)", fmtLength(d.End.Sub(d.Start)))
		}
		fmt.Fprintf(&b, `<g class="day"><text class="day-label" x="4" y="%.1f" dominant-baseline="middle">%s</text>`, y+rowH/2, esc(label))
		fmt.Fprintf(&b, `<rect class="day-bg" x="%d" y="%.1f" width="%.1f" height="%.1f"/>`, calLabelW, y+1, d.Hours*calHourW, rowH-2)
		for hr := 0.0; hr <= d.Hours; hr += 3 {
			x := calLabelW + hr*calHourW
			fmt.Fprintf(&b, `<line class="hour" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f"/>`, x, x, y+1, y+rowH-1)
		}
		b.WriteString(`</g>`)
	}
	for _, sg := range c.segments() {
		y := calHeadH + rowH*float64(sg.Day) + calRowPad/2
		if sg.Gap >= 0 {
			g := c.Gaps[sg.Gap]
			fmt.Fprintf(&b, `<g class="gap"><title>nobody on call: %s (%s)</title><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="url(#%s-gap)"/>`,
				esc(g.Label), esc(g.Length), sg.X, y, sg.W, rowH-calRowPad, c.ID)
			if sg.W >= 44 {
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" dominant-baseline="middle">nobody</text>`, sg.X+4, y+(rowH-calRowPad)/2)
			}
			b.WriteString(`</g>`)
			continue
		}
		s := c.Shifts[sg.Shift]
		ly := y + float64(c.lane[sg.Shift]*calLaneH)
		fmt.Fprintf(&b, `<g class="shift %s"><title>%s on call: %s (%s, from %s)</title><rect x="%.1f" y="%.1f" width="%.1f" height="%d" rx="2"/>`,
			s.Class, esc(s.User), esc(s.Label), esc(s.Length), esc(s.Source()), sg.X, ly, sg.W, calLaneH-2)
		if sg.W >= float64(8+7*len(s.User)) {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" dominant-baseline="middle">%s</text>`, sg.X+4, ly+float64(calLaneH-2)/2, esc(s.User))
		}
		b.WriteString(`</g>`)
	}
	for i, d := range c.Days {
		if !c.Now.Before(d.Start) && c.Now.Before(d.End) {
			x := calLabelW + c.Now.Sub(d.Start).Hours()*calHourW
			y := calHeadH + rowH*float64(i)
			fmt.Fprintf(&b, `<g class="now"><title>now</title><line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f"/></g>`, x, x, y, y+rowH)
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
