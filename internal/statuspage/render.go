package statuspage

import (
	"fmt"
	"html/template"
	"strings"
	"time"
)

// Template helpers of the public page.

// percentText shows an uptime percentage, or "no data".
func percentText(p *float64) string {
	if p == nil {
		return "no data"
	}
	return formatPercent(*p)
}

// timeText renders t as a <time> element in UTC: the public page has no
// script to move it into the reader's zone, so it says which zone it is.
func timeText(t time.Time) template.HTML {
	t = t.UTC()
	return template.HTML(fmt.Sprintf(`<time datetime="%s">%s UTC</time>`, t.Format(time.RFC3339), t.Format("Jan 2, 15:04")))
}

// Geometry of the uptime bars, in SVG user units.
const (
	barWidth  = 6
	barGap    = 2
	barHeight = 34
)

// barLevels gives each day level its height: the worse the day, the
// lower the bar, so that the history reads without colour; a day without
// data is a stub.
var barLevels = map[DayLevel]int{DayUp: barHeight, DayMinor: 24, DayMajor: 14, DayNone: 4}

// bars draws a component's history as an SVG of one bar per day, each
// with its date and uptime as a tooltip. Styles come from the stylesheet
// (classes), so the page's Content-Security-Policy needs no inline styles.
func bars(title string, days []Day, uptime *float64) template.HTML {
	var b strings.Builder
	w := len(days)*(barWidth+barGap) - barGap
	label := fmt.Sprintf("%s: %s uptime over the last %d days", title, percentText(uptime), len(days))
	fmt.Fprintf(&b, `<svg class="bars" viewBox="0 0 %d %d" preserveAspectRatio="none" role="img" aria-label="%s">`,
		w, barHeight, template.HTMLEscapeString(label))
	for i, d := range days {
		h := barLevels[d.Level]
		date, _ := time.Parse(time.DateOnly, d.Date)
		tip := date.Format("Jan 2, 2006") + ": no data"
		if d.Percent != nil {
			tip = fmt.Sprintf("%s: %s up", date.Format("Jan 2, 2006"), formatPercent(*d.Percent))
			switch d.Level {
			case DayMinor:
				tip += " (some failed or slow checks)"
			case DayMajor:
				tip += " (outage)"
			}
		}
		fmt.Fprintf(&b, `<rect class="d-%s" x="%d" y="%d" width="%d" height="%d" rx="1"><title>%s</title></rect>`,
			d.Level, i*(barWidth+barGap), barHeight-h, barWidth, h, template.HTMLEscapeString(tip))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
