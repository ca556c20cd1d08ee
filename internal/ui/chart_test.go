package ui

import (
	"encoding/xml"
	"errors"
	"fmt"
	"html/template"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/check"
)

// svgElements parses s as XML, failing the test unless it is well-formed,
// and returns its elements in document order with their attributes.
func svgElements(t *testing.T, s template.HTML) []xml.StartElement {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(string(s)))
	var out []xml.StartElement
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("not well-formed SVG: %v\n%s", err, s)
		}
		if el, ok := tok.(xml.StartElement); ok {
			out = append(out, el.Copy())
		}
	}
}

func attr(el xml.StartElement, name string) string {
	for _, a := range el.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// count returns how many elements are called name and have class class
// ("" for any).
func count(els []xml.StartElement, name, class string) int {
	n := 0
	for _, el := range els {
		if el.Name.Local == name && (class == "" || attr(el, "class") == class) {
			n++
		}
	}
	return n
}

func TestResponseTimeSVG(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	ms := time.Millisecond
	c := lineChart{ID: "rt", Title: `Response <time> & "more"`, From: t0, To: t0.Add(2 * time.Hour), Gap: 3 * time.Minute,
		Points: []chartPoint{
			{At: t0, Value: 20 * ms},
			{At: t0.Add(time.Minute), Value: 40 * ms},
			{At: t0.Add(2 * time.Minute), Value: 900 * ms, Mark: markFail},
			{At: t0.Add(3 * time.Minute), Value: 30 * ms, Mark: markWarn},
			// a gap of an hour: this point stands alone
			{At: t0.Add(63 * time.Minute), Value: 10 * ms},
			// another gap, then a segment of two
			{At: t0.Add(90 * time.Minute), Value: 50 * ms, Mark: markFail},
			{At: t0.Add(91 * time.Minute), Value: 60 * ms},
		}}
	svg := responseTimeSVG(c)
	els := svgElements(t, svg)
	root := els[0]
	if root.Name.Local != "svg" || attr(root, "role") != "img" || attr(root, "aria-labelledby") != "rt-t rt-d" {
		t.Fatalf("root = %+v, want an svg image labelled by its title and description", root)
	}
	if !strings.Contains(string(svg), `<title id="rt-t">Response &lt;time&gt; &amp; &#34;more&#34;</title>`) {
		t.Errorf("title not escaped:\n%s", svg)
	}
	desc := regexp.MustCompile(`<desc id="rt-d">([^<]*)</desc>`).FindStringSubmatch(string(svg))
	if desc == nil || !strings.Contains(desc[1], "7 runs from Mar 1 10:00 to Mar 1 12:00 UTC") ||
		!strings.Contains(desc[1], "min 10 ms, median 40 ms, max 900 ms; 2 failed, 1 degraded") {
		t.Errorf("desc = %q", desc)
	}
	var line xml.StartElement
	for _, el := range els {
		if attr(el, "class") == "line" {
			line = el
		}
	}
	d := attr(line, "d")
	if m, l := strings.Count(d, "M"), strings.Count(d, "L"); m != 2 || l != 4 {
		t.Errorf("line %q has %d subpaths and %d segments, want 2 and 4 (the lone point is a dot)", d, m, l)
	}
	if n := count(els, "circle", "dot"); n != 1 {
		t.Errorf("%d dots, want 1", n)
	}
	if n := count(els, "path", "mark fail"); n != 2 {
		t.Errorf("%d failure marks, want 2", n)
	}
	if n := count(els, "path", "mark warn"); n != 1 {
		t.Errorf("%d degraded marks, want 1", n)
	}
	if !strings.Contains(string(svg), "<title>Mar 1 10:02:00 UTC: failed, 900 ms</title>") {
		t.Errorf("failure mark lacks its tooltip:\n%s", svg)
	}
	// The value axis fits the runs that did not fail (the 900 ms failure is
	// drawn at its top); time ticks every 30 minutes.
	var labels []string
	for _, m := range regexp.MustCompile(`<text[^>]*>([^<]*)</text>`).FindAllStringSubmatch(string(svg), -1) {
		labels = append(labels, m[1])
	}
	want := "0 ms 20 ms 40 ms 60 ms 10:00 10:30 11:00 11:30 12:00"
	if got := strings.Join(labels, " "); got != want {
		t.Errorf("axis labels = %q, want %q", got, want)
	}
	if !strings.Contains(d, fmt.Sprintf("L%.1f %.1f", padLeft+plotW*2/120, float64(padTop))) {
		t.Errorf("the off-scale failure is not drawn at the top edge: %q", d)
	}
	// Every coordinate lies inside the plot.
	for _, m := range regexp.MustCompile(`[ML](-?[\d.]+) (-?[\d.]+)`).FindAllStringSubmatch(d, -1) {
		x, _ := strconv.ParseFloat(m[1], 64)
		y, _ := strconv.ParseFloat(m[2], 64)
		if x < padLeft || x > lineW-padRight || y < padTop || y > padTop+plotH {
			t.Errorf("point %s,%s outside the plot", m[1], m[2])
		}
	}
}

func TestResponseTimeSVG_NoData(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	svg := responseTimeSVG(lineChart{ID: "x", Title: "t", From: t0.Add(-24 * time.Hour), To: t0})
	els := svgElements(t, svg)
	if count(els, "path", "line") != 0 || count(els, "text", "nodata") != 1 {
		t.Errorf("empty chart:\n%s", svg)
	}
	if !strings.Contains(string(svg), "No runs from Feb 28 10:00 to Mar 1 10:00 UTC.") {
		t.Errorf("empty chart's description:\n%s", svg)
	}
}

func TestUptimeBarSVG(t *testing.T) {
	pct := func(p float64) *float64 { return &p }
	days := []check.Day{
		{Date: "2025-02-26"},
		{Date: "2025-02-27", Runs: 2880, Percent: pct(100)},
		{Date: "2025-02-28", Runs: 2880, Degraded: 12, Percent: pct(100)},
		{Date: "2025-03-01", Runs: 2880, Down: 3, Percent: pct(99.8958)},
		{Date: "2025-03-02", Runs: 1440, Down: 720, Percent: pct(50)},
	}
	svg := uptimeBarSVG("bar", "Uptime <by day>", days)
	els := svgElements(t, svg)
	if attr(els[0], "role") != "img" || !strings.Contains(string(svg), `<title id="bar-t">Uptime &lt;by day&gt;</title>`) {
		t.Errorf("bar is not a titled, escaped image:\n%s", svg)
	}
	if n := count(els, "g", "day"); n != len(days) {
		t.Fatalf("%d day groups, want %d", n, len(days))
	}
	heights := map[string]string{}
	for _, class := range []string{"d-none", "d-up", "d-degraded", "d-partial", "d-down"} {
		if n := count(els, "rect", class); n != 1 {
			t.Errorf("%d rects of class %s, want 1", n, class)
		}
		for _, el := range els {
			if attr(el, "class") == class {
				heights[class] = attr(el, "height")
			}
		}
	}
	// Worse days are shorter, so the bar reads without colour.
	order := []string{"d-up", "d-degraded", "d-partial", "d-down", "d-none"}
	for i := 1; i < len(order); i++ {
		a, _ := strconv.ParseFloat(heights[order[i-1]], 64)
		b, _ := strconv.ParseFloat(heights[order[i]], 64)
		if b >= a || b <= 0 {
			t.Errorf("%s (%v) is not shorter than %s (%v)", order[i], b, order[i-1], a)
		}
	}
	for _, tip := range []string{
		"<title>2025-02-26: no data</title>",
		"<title>2025-02-27: 100 % up, 2,880 runs</title>",
		"<title>2025-02-28: 100 % up, 2,880 runs, 12 degraded</title>",
		"<title>2025-03-01: 99.89 % up, 3 down of 2,880 runs</title>",
	} {
		if !strings.Contains(string(svg), tip) {
			t.Errorf("bar lacks %s", tip)
		}
	}
	if !strings.Contains(string(svg), "5 days from 2025-02-26 to 2025-03-02: 4 with runs, 2 of them without downtime; worst 2025-03-02 at 50 % up.") {
		t.Errorf("description:\n%s", svg)
	}
}

func TestNiceScale(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		max, top, step time.Duration
	}{
		{0, ms, 250 * time.Microsecond},
		{900 * ms, time.Second, 250 * ms},
		{37 * ms, 40 * ms, 10 * ms},
		{120 * ms, 150 * ms, 50 * ms},
		{10 * time.Second, 10 * time.Second, 2500 * ms},
		{1500 * time.Microsecond, 1500 * time.Microsecond, 500 * time.Microsecond},
	} {
		top, step := niceScale(tc.max)
		if top != tc.top || step != tc.step {
			t.Errorf("niceScale(%v) = %v, %v; want %v, %v", tc.max, top, step, tc.top, tc.step)
		}
		if top/step > 5 {
			t.Errorf("niceScale(%v): %d intervals", tc.max, top/step)
		}
	}
}

func TestTimeTicks(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 10, 17, 0, 0, time.UTC)
	for _, tc := range []struct {
		span time.Duration
		want string
	}{
		{24 * time.Hour, "12:00 16:00 20:00 Mar 2 04:00 08:00"},
		{3 * time.Second, "10:17:00 10:17:01 10:17:02 10:17:03"},
		{90 * 24 * time.Hour, "Mar 3 Mar 31 Apr 28 May 26"},
	} {
		ticks, step := timeTicks(t0, t0.Add(tc.span))
		var labels []string
		for _, tk := range ticks {
			labels = append(labels, tickLabel(tk, step))
		}
		if got := strings.Join(labels, " "); got != tc.want {
			t.Errorf("ticks over %v = %q, want %q", tc.span, got, tc.want)
		}
	}
}

func TestFormats(t *testing.T) {
	ms := time.Millisecond
	for d, want := range map[time.Duration]string{0: "0 ms", 400 * time.Microsecond: "0.4 ms", 35 * ms: "35 ms",
		1250 * ms: "1.25 s", 10 * time.Second: "10 s"} {
		if got := fmtMillis(d); got != want {
			t.Errorf("fmtMillis(%v) = %q, want %q", d, got, want)
		}
	}
	for p, want := range map[float64]string{100: "100", 99.999: "99.99", 50: "50", 99.8958: "99.89"} {
		if got := fmtPercent(p); got != want {
			t.Errorf("fmtPercent(%v) = %q, want %q", p, got, want)
		}
	}
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -2880: "-2,880"} {
		if got := fmtCount(n); got != want {
			t.Errorf("fmtCount(%d) = %q, want %q", n, got, want)
		}
	}
	for d, want := range map[time.Duration]string{30 * time.Second: "30s", time.Minute: "1m", 90 * time.Second: "1m30s",
		time.Hour: "1h", 24 * time.Hour: "24h", 200 * ms: "200ms"} {
		if got := fmtInterval(d); got != want {
			t.Errorf("fmtInterval(%v) = %q, want %q", d, got, want)
		}
	}
	for d, want := range map[time.Duration]string{45 * time.Second: "45 s", 12 * time.Minute: "12 min",
		3*time.Hour + 5*time.Minute: "3 h 5 min", 52 * time.Hour: "2 d 4 h"} {
		if got := fmtSpan(d); got != want {
			t.Errorf("fmtSpan(%v) = %q, want %q", d, got, want)
		}
	}
	if got := truncate("connection refused by the peer", 12); got != "connection…" {
		t.Errorf("truncate = %q", got)
	}
}
