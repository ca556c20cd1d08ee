package forecast

import (
	"fmt"
	"html"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SVG draws history, the forecast res with its band, and the threshold as a
// small self-contained SVG image (no script, no external references) for a
// server-rendered page or an alert. Everything is drawn in currentColor with
// varying opacity and dash patterns, so it reads in light and dark themes and
// without colour; text is escaped. The forecast runs for half the history's
// span after res.End, extended to show a crossing (within twice the span) of
// the threshold in the direction it lies from the last value (the crossing
// then sits at about 6/7 of the width); for a saw-tooth it stops where the
// current cycle's limit is (Cycle.Limit). width and height are clamped to
// [120, 4000] × [60, 4000]. With no history and no forecast it draws a frame
// saying "no data".
func SVG(history []Point, res Result, threshold float64, width, height int) string {
	c := planChart(history, res, threshold, float64(min(max(width, 120), 4000)), float64(min(max(height, 60), 4000)))
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %g %g" width="%g" height="%g" role="img" font-family="sans-serif" font-size="11" fill="none" stroke="currentColor">`, c.w, c.h, c.w, c.h)
	if len(c.hist) == 0 && len(c.fc) == 0 {
		fmt.Fprintf(&b, `<title>no data</title><text x="%g" y="%g" fill="currentColor" stroke="none" text-anchor="middle">no data</text></svg>`, c.w/2, c.h/2)
		return b.String()
	}
	c.render(&b, res)
	b.WriteString(`</svg>`)
	return b.String()
}

// Chart margins in user units: room for the value and time labels.
const chartLeft, chartRight, chartTop, chartBottom = 44.0, 8.0, 8.0, 18.0

// chart is a planned drawing: what to draw, and the ranges that map it.
type chart struct {
	w, h       float64
	threshold  float64
	hist       []Point   // finite points, by time
	fc         []Point   // the forecast, sampled every 2 px
	lo, hi     []float64 // the band along fc
	cross      Cross
	crossOK    bool
	from, to   time.Time
	ymin, ymax float64
}

// planChart decides the time and value ranges and samples the forecast.
func planChart(history []Point, res Result, threshold, w, h float64) chart {
	c := chart{w: w, h: h, threshold: threshold}
	for _, p := range history {
		if !p.T.IsZero() && !math.IsNaN(p.V) && !math.IsInf(p.V, 0) {
			c.hist = append(c.hist, p)
		}
	}
	slices.SortStableFunc(c.hist, func(a, b Point) int { return a.T.Compare(b.T) })
	hasForecast := !res.End.IsZero() && res.Method != ""
	if len(c.hist) == 0 && !hasForecast {
		return c
	}
	// The time range: history, then the forecast.
	c.from, c.to = res.Start, res.End
	if len(c.hist) > 0 {
		c.from, c.to = c.hist[0].T, maxTime(c.hist[len(c.hist)-1].T, res.End)
		if hasForecast && res.Start.Before(c.from) {
			c.from = res.Start
		}
	}
	if hasForecast {
		c.planForecast(res)
	}
	c.planValues()
	return c
}

// planForecast extends the time range over the forecast and samples it.
func (c *chart) planForecast(res Result) {
	span := max(c.to.Sub(c.from), time.Hour)
	dir := Rising
	if c.threshold < res.Last {
		dir = Falling
	}
	c.to = c.to.Add(span / 2)
	c.cross, c.crossOK = Crossing(res, c.threshold, dir, 2*span)
	if c.crossOK && !c.cross.Now {
		c.to = maxTime(c.to, c.cross.At.Add(c.cross.At.Sub(c.from)/6))
	}
	if lim, ok := res.Cycle.Limit(res.End); ok && lim.Before(c.to) && !c.cross.Envelope {
		c.to = lim
	}
	n := max(int(c.w/2), 2)
	for i := 0; i <= n; i++ {
		t := res.End.Add(time.Duration(float64(c.to.Sub(res.End)) * float64(i) / float64(n)))
		v, l, u := res.At(t)
		c.fc = append(c.fc, Point{T: t, V: v})
		c.lo, c.hi = append(c.lo, l), append(c.hi, u)
	}
}

// planValues sets the value range: history, band and threshold, padded, but
// no more than twice the history's own extent beyond it, so that a widening
// band does not flatten everything else.
func (c *chart) planValues() {
	c.ymin, c.ymax = c.threshold, c.threshold
	for _, p := range c.hist {
		c.ymin, c.ymax = math.Min(c.ymin, p.V), math.Max(c.ymax, p.V)
	}
	for i := range c.fc {
		c.ymin, c.ymax = math.Min(c.ymin, c.lo[i]), math.Max(c.ymax, c.hi[i])
	}
	if len(c.hist) > 0 {
		hmin, hmax := c.hist[0].V, c.hist[0].V
		for _, p := range c.hist {
			hmin, hmax = math.Min(hmin, p.V), math.Max(hmax, p.V)
		}
		r := math.Max(hmax-hmin, math.Max(math.Abs(c.threshold-hmax), math.Abs(c.threshold-hmin)))
		c.ymin, c.ymax = math.Max(c.ymin, hmin-2*r), math.Min(c.ymax, hmax+2*r)
	}
	if c.ymax-c.ymin < 1e-9 {
		c.ymin, c.ymax = c.ymin-1, c.ymax+1
	}
	pad := (c.ymax - c.ymin) * 0.05
	c.ymin, c.ymax = c.ymin-pad, c.ymax+pad
}

func (c *chart) pw() float64 { return c.w - chartLeft - chartRight }
func (c *chart) ph() float64 { return c.h - chartTop - chartBottom }

// x maps a time to user units.
func (c *chart) x(t time.Time) float64 {
	total := max(c.to.Sub(c.from).Seconds(), 1)
	return chartLeft + c.pw()*t.Sub(c.from).Seconds()/total
}

// y maps a value to user units, clamped to the plot area.
func (c *chart) y(v float64) float64 {
	return chartTop + c.ph()*(1-(math.Min(math.Max(v, c.ymin), c.ymax)-c.ymin)/(c.ymax-c.ymin))
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

// points writes the points (ts[i], vs[i]) as "x,y " pairs.
func (c *chart) points(b *strings.Builder, ts []time.Time, vs []float64) {
	for i := range ts {
		b.WriteString(num(c.x(ts[i])))
		b.WriteByte(',')
		b.WriteString(num(c.y(vs[i])))
		b.WriteByte(' ')
	}
}

// render writes the chart's elements.
func (c *chart) render(b *strings.Builder, res Result) {
	fmt.Fprintf(b, `<title>%s</title>`, html.EscapeString(c.title(res)))
	fmt.Fprintf(b, `<rect x="%s" y="%s" width="%s" height="%s" stroke-opacity="0.25"/>`, num(chartLeft), num(chartTop), num(c.pw()), num(c.ph()))
	fts, fvs := split(c.fc)
	if len(c.fc) > 0 { // the band: along hi, back along lo
		b.WriteString(`<polygon fill="currentColor" fill-opacity="0.12" stroke="none" points="`)
		c.points(b, fts, c.hi)
		c.points(b, reversed(fts), reversed(c.lo))
		b.WriteString(`"/>`)
	}
	if len(c.hist) > 0 { // history: min and max per pixel column keep spikes visible
		b.WriteString(`<polyline stroke-width="1.5" points="`)
		hts, hvs := split(thin(c.hist, int(c.pw()), c.x))
		c.points(b, hts, hvs)
		b.WriteString(`"/>`)
	}
	if len(c.fc) > 0 { // the forecast and its origin
		b.WriteString(`<polyline stroke-width="1.5" stroke-dasharray="5 3" points="`)
		c.points(b, fts, fvs)
		b.WriteString(`"/>`)
		fmt.Fprintf(b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke-opacity="0.4"/>`, num(c.x(res.End)), num(chartTop), num(c.x(res.End)), num(chartTop+c.ph()))
	}
	ty := c.y(c.threshold)
	fmt.Fprintf(b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke-dasharray="2 2" stroke-opacity="0.8"/>`, num(chartLeft), num(ty), num(chartLeft+c.pw()), num(ty))
	label := func(x, y float64, anchor, s string) {
		fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="%s" fill="currentColor" stroke="none">%s</text>`, num(x), num(y), anchor, html.EscapeString(s))
	}
	label(chartLeft+4, ty-3, "start", fmt.Sprintf("threshold %g", c.threshold))
	if c.crossOK && !c.cross.Now && !c.cross.At.After(c.to) {
		cx := c.x(c.cross.At)
		fmt.Fprintf(b, `<circle cx="%s" cy="%s" r="3.5" fill="currentColor"/>`, num(cx), num(ty))
		label(cx, math.Min(ty+14, chartTop+c.ph()-2), "middle", c.cross.At.UTC().Format("Jan 2 15:04"))
	}
	label(chartLeft-4, chartTop+10, "end", fmt.Sprintf("%.4g", c.ymax))
	label(chartLeft-4, chartTop+c.ph(), "end", fmt.Sprintf("%.4g", c.ymin))
	label(chartLeft, c.h-4, "start", c.from.UTC().Format("Jan 2 15:04"))
	label(chartLeft+c.pw(), c.h-4, "end", c.to.UTC().Format("Jan 2 15:04"))
}

// title is the chart's accessible name.
func (c *chart) title(res Result) string {
	if len(c.fc) == 0 {
		return fmt.Sprintf("%d points; threshold %g", len(c.hist), c.threshold)
	}
	t := fmt.Sprintf("%s forecast from %d points; threshold %g", res.Method, res.N, c.threshold)
	switch {
	case c.crossOK && c.cross.Now:
		return t + "; already past"
	case c.crossOK:
		return t + "; crosses at " + c.cross.At.UTC().Format("2006-01-02 15:04 UTC")
	}
	return t + "; no crossing shown"
}

// split returns the times and values of pts.
func split(pts []Point) ([]time.Time, []float64) {
	ts, vs := make([]time.Time, len(pts)), make([]float64, len(pts))
	for i, p := range pts {
		ts[i], vs[i] = p.T, p.V
	}
	return ts, vs
}

// thin keeps, for each of about cols pixel columns, the first, lowest and
// highest point (in time order) and always the last point.
func thin(pts []Point, cols int, X func(time.Time) float64) []Point {
	if len(pts) <= 2*cols {
		return pts
	}
	out := make([]Point, 0, 3*cols+1)
	col, start := math.Floor(X(pts[0].T)), 0
	flush := func(seg []Point) {
		if len(seg) == 0 {
			return
		}
		lo, hi := 0, 0
		for i, p := range seg {
			if p.V < seg[lo].V {
				lo = i
			}
			if p.V > seg[hi].V {
				hi = i
			}
		}
		idx := []int{0, lo, hi}
		slices.Sort(idx)
		idx = slices.Compact(idx)
		for _, i := range idx {
			out = append(out, seg[i])
		}
	}
	for i, p := range pts {
		if c := math.Floor(X(p.T)); c != col {
			flush(pts[start:i])
			col, start = c, i
		}
	}
	flush(pts[start:])
	if out[len(out)-1] != pts[len(pts)-1] {
		out = append(out, pts[len(pts)-1])
	}
	return out
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// reversed returns a reversed copy of s.
func reversed[T any](s []T) []T {
	r := slices.Clone(s)
	slices.Reverse(r)
	return r
}
