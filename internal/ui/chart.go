package ui

// Charts are drawn on the server as inline SVG by pure functions: values
// in, markup out. They carry classes, never inline styles (the
// Content-Security-Policy forbids them), so style.css colours them for the
// light and dark themes; status is told by shape and size as well as by
// colour. Each chart is an image with a title and a description that
// summarises it for people who cannot see it.

import (
	"fmt"
	"html/template"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"groundcrew.dev/groundcrew/internal/check"
)

// mark says how a point of a line chart is marked.
type mark int

const (
	markNone mark = iota
	markWarn      // a diamond: degraded
	markFail      // a cross: failed
)

// chartPoint is one value at one time.
type chartPoint struct {
	At    time.Time
	Value time.Duration
	Mark  mark
}

// lineChart is a line of durations over time.
type lineChart struct {
	ID     string // unique within the page; prefixes the element ids
	Title  string
	From   time.Time // the time axis
	To     time.Time
	Gap    time.Duration // consecutive points farther apart break the line; 0 never does
	Points []chartPoint  // oldest first
}

// The line chart's geometry, in SVG user units.
const (
	lineW, lineH                                 = 960, 220
	padLeft, padRight, padTop, padBottom         = 64, 14, 12, 26
	plotW, plotH                         float64 = lineW - padLeft - padRight, lineH - padTop - padBottom
)

// responseTimeSVG draws c: a grid with a few labelled ticks on both axes,
// the line of durations (broken where runs are missing) and a marker with
// a tooltip on every failed or degraded point.
func responseTimeSVG(c lineChart) template.HTML {
	var b strings.Builder
	esc := template.HTMLEscapeString
	fmt.Fprintf(&b, `<svg class="chart line-chart" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t %s-d" xmlns="http://www.w3.org/2000/svg">`,
		lineW, lineH, esc(c.ID), esc(c.ID))
	fmt.Fprintf(&b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, esc(c.ID), esc(c.Title), esc(c.ID), esc(describeLine(c)))
	span := c.To.Sub(c.From)
	if span <= 0 {
		span = time.Hour
	}
	top, step := niceScale(scaleMax(c.Points))
	x := func(t time.Time) float64 { return padLeft + plotW*float64(t.Sub(c.From))/float64(span) }
	y := func(v time.Duration) float64 { return padTop + plotH - plotH*min(float64(v)/float64(top), 1) }

	b.WriteString(`<g class="grid">`)
	for v := time.Duration(0); v <= top; v += step {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, padLeft, lineW-padRight, y(v), y(v))
	}
	b.WriteString(`</g><g class="axis">`)
	for v := time.Duration(0); v <= top; v += step {
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`, padLeft-6, y(v), esc(fmtMillis(v)))
	}
	ticks, tstep := timeTicks(c.From, c.To)
	for _, t := range ticks {
		fmt.Fprintf(&b, `<line class="tick" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f"/>`, x(t), x(t), padTop+plotH, padTop+plotH+4)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`, x(t), lineH-6, esc(tickLabel(t, tstep)))
	}
	b.WriteString(`</g>`)
	if len(c.Points) == 0 {
		fmt.Fprintf(&b, `<text class="nodata" x="%.1f" y="%.1f" text-anchor="middle">no runs in this period</text></svg>`, padLeft+plotW/2, padTop+plotH/2)
		return template.HTML(b.String())
	}

	// The line, one subpath per run of points without a gap; a point alone
	// is a dot, since a subpath of one point draws nothing.
	var d strings.Builder
	var dots []chartPoint
	for i, p := range c.Points {
		newSeg := i == 0 || c.Gap > 0 && p.At.Sub(c.Points[i-1].At) > c.Gap
		endSeg := i == len(c.Points)-1 || c.Gap > 0 && c.Points[i+1].At.Sub(p.At) > c.Gap
		switch {
		case newSeg && endSeg:
			dots = append(dots, p)
		case newSeg:
			fmt.Fprintf(&d, "M%.1f %.1f", x(p.At), y(p.Value))
		default:
			fmt.Fprintf(&d, "L%.1f %.1f", x(p.At), y(p.Value))
		}
	}
	if d.Len() > 0 {
		fmt.Fprintf(&b, `<path class="line" d="%s"/>`, d.String())
	}
	for _, p := range dots {
		fmt.Fprintf(&b, `<circle class="dot" cx="%.1f" cy="%.1f" r="2"/>`, x(p.At), y(p.Value))
	}
	for _, p := range c.Points {
		px, py := x(p.At), y(p.Value)
		var class, shape, word string
		switch p.Mark {
		case markFail:
			class, word = "fail", "failed"
			shape = fmt.Sprintf("M%.1f %.1fl8 8m0 -8l-8 8", px-4, py-4)
		case markWarn:
			class, word = "warn", "degraded"
			shape = fmt.Sprintf("M%.1f %.1fl4.5 4.5l-4.5 4.5l-4.5 -4.5z", px, py-4.5)
		default:
			continue
		}
		fmt.Fprintf(&b, `<path class="mark %s" d="%s"><title>%s: %s, %s</title></path>`,
			class, shape, p.At.UTC().Format("Jan 2 15:04:05 UTC"), word, esc(fmtMillis(p.Value)))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// describeLine summarises a line chart in words.
func describeLine(c lineChart) string {
	period := fmt.Sprintf("from %s to %s UTC", c.From.UTC().Format("Jan 2 15:04"), c.To.UTC().Format("Jan 2 15:04"))
	if len(c.Points) == 0 {
		return "No runs " + period + "."
	}
	vals := make([]time.Duration, len(c.Points))
	var failed, degraded int
	for i, p := range c.Points {
		vals[i] = p.Value
		switch p.Mark {
		case markFail:
			failed++
		case markWarn:
			degraded++
		}
	}
	slices.Sort(vals)
	median := vals[len(vals)/2]
	if len(vals)%2 == 0 {
		median = (vals[len(vals)/2-1] + vals[len(vals)/2]) / 2
	}
	s := fmt.Sprintf("%s %s: response time min %s, median %s, max %s; %d failed",
		plural(len(vals), "run", "runs"), period, fmtMillis(vals[0]), fmtMillis(median), fmtMillis(vals[len(vals)-1]), failed)
	if degraded > 0 {
		s += fmt.Sprintf(", %d degraded", degraded)
	}
	return s + "."
}

// scaleMax is the largest value the value axis must show: that of the
// runs that did not fail, when there are any, so that one timeout does not
// flatten a day of answers. Failed runs above it are drawn at the top edge;
// their marks' tooltips give the value.
func scaleMax(ps []chartPoint) time.Duration {
	var all, ok time.Duration
	var any bool
	for _, p := range ps {
		all = max(all, p.Value)
		if p.Mark != markFail {
			ok, any = max(ok, p.Value), true
		}
	}
	if any {
		return ok
	}
	return all
}

// niceScale returns the top of a value axis that holds maxV and the step
// between its ticks: a round step (1, 2, 2.5 or 5 times a power of ten) that
// gives at most five intervals.
func niceScale(maxV time.Duration) (top, step time.Duration) {
	if maxV <= 0 {
		return time.Millisecond, 250 * time.Microsecond
	}
	raw := float64(maxV) / 4
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*pow >= raw {
			step = time.Duration(math.Max(1, m*pow))
			break
		}
	}
	top = time.Duration(math.Ceil(float64(maxV)/float64(step))) * step
	return top, step
}

// tickSteps are the spacings offered for time ticks.
var tickSteps = []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second,
	30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute,
	30 * time.Minute, time.Hour, 2 * time.Hour, 3 * time.Hour, 4 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	24 * time.Hour, 48 * time.Hour, 7 * 24 * time.Hour, 14 * 24 * time.Hour, 28 * 24 * time.Hour}

// timeTicks returns up to six round times (on UTC boundaries) within
// [from, to] and the step between them.
func timeTicks(from, to time.Time) ([]time.Time, time.Duration) {
	span := to.Sub(from)
	if span <= 0 {
		return nil, 0
	}
	step := tickSteps[len(tickSteps)-1]
	for _, s := range tickSteps {
		if span <= 6*s {
			step = s
			break
		}
	}
	var out []time.Time
	for t := from.UTC().Truncate(step); !t.After(to); t = t.Add(step) {
		if !t.Before(from) {
			out = append(out, t)
		}
	}
	return out, step
}

// tickLabel labels a time tick: the date for ticks a day or more apart
// and at midnight, else the time of day, with seconds when they matter.
func tickLabel(t time.Time, step time.Duration) string {
	t = t.UTC()
	switch {
	case step >= 24*time.Hour || step >= time.Hour && t.Hour() == 0:
		return t.Format("Jan 2")
	case step < time.Minute:
		return t.Format("15:04:05")
	}
	return t.Format("15:04")
}

// The uptime bar's geometry.
const (
	dayW, dayGap, barH = 8, 2, 34
)

// dayLevel classifies a day for the uptime bar: its class, its height as a
// share of the bar (shorter is worse, so the bar reads without colour) and
// a word for it.
func dayLevel(d check.Day) (class string, height float64, word string) {
	switch {
	case d.Runs == 0:
		return "d-none", 0.16, "no data"
	case d.Down == 0 && d.Degraded == 0:
		return "d-up", 1, "up"
	case d.Down == 0:
		return "d-degraded", 0.8, "degraded"
	case d.Percent != nil && *d.Percent >= 99:
		return "d-partial", 0.6, "some downtime"
	default:
		return "d-down", 0.36, "down"
	}
}

// uptimeBarSVG draws one bar per day, oldest first, with a tooltip giving
// the date and the share of runs that were up.
func uptimeBarSVG(id, title string, days []check.Day) template.HTML {
	var b strings.Builder
	esc := template.HTMLEscapeString
	w := max(len(days)*(dayW+dayGap)-dayGap, 1)
	fmt.Fprintf(&b, `<svg class="chart uptime-bar" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t %s-d" xmlns="http://www.w3.org/2000/svg">`,
		w, barH, esc(id), esc(id))
	fmt.Fprintf(&b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, esc(id), esc(title), esc(id), esc(describeDays(days)))
	for i, d := range days {
		class, h, word := dayLevel(d)
		x := i * (dayW + dayGap)
		tip := d.Date + ": " + word
		if d.Runs > 0 {
			tip = fmt.Sprintf("%s: %s %% up, %s down of %s", d.Date, fmtPercent(*d.Percent), fmtCount(d.Down), plural(int(d.Runs), "run", "runs"))
			if d.Down == 0 {
				tip = fmt.Sprintf("%s: %s %% up, %s", d.Date, fmtPercent(*d.Percent), plural(int(d.Runs), "run", "runs"))
			}
			if d.Degraded > 0 {
				tip += fmt.Sprintf(", %s degraded", fmtCount(d.Degraded))
			}
		}
		fmt.Fprintf(&b, `<g class="day"><title>%s</title><rect class="hit" x="%d" y="0" width="%d" height="%d" fill="transparent"/>`+
			`<rect class="%s" x="%d" y="%.1f" width="%d" height="%.1f" rx="1.5"/></g>`,
			esc(tip), x, dayW+dayGap, barH, class, x, barH*(1-h), dayW, barH*h)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// describeDays summarises an uptime bar in words.
func describeDays(days []check.Day) string {
	if len(days) == 0 {
		return "No days."
	}
	var withData, clean int
	var worst *check.Day
	for i, d := range days {
		if d.Runs == 0 {
			continue
		}
		withData++
		if d.Down == 0 {
			clean++
		} else if worst == nil || *d.Percent < *worst.Percent {
			worst = &days[i]
		}
	}
	s := fmt.Sprintf("%s from %s to %s: %d with runs, %d of them without downtime",
		plural(len(days), "day", "days"), days[0].Date, days[len(days)-1].Date, withData, clean)
	if worst != nil {
		s += fmt.Sprintf("; worst %s at %s %% up", worst.Date, fmtPercent(*worst.Percent))
	}
	return s + "."
}

// fmtMillis formats a response time: "0.4 ms", "35 ms", "1.25 s".
func fmtMillis(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case d <= 0:
		return "0 ms"
	case ms < 10:
		return strconv.FormatFloat(math.Round(ms*10)/10, 'f', -1, 64) + " ms"
	case ms < 1000:
		return strconv.FormatFloat(math.Round(ms), 'f', -1, 64) + " ms"
	default:
		return strconv.FormatFloat(math.Round(ms/10)/100, 'f', -1, 64) + " s"
	}
}

// fmtPercent formats a share in percent, rounded down to two decimals so
// that a day with any downtime never shows as 100.
func fmtPercent(p float64) string {
	return strconv.FormatFloat(math.Floor(p*100)/100, 'f', -1, 64)
}

// fmtCount formats a count with thousands separators.
func fmtCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmtCount(int64(n)) + " " + many
}
