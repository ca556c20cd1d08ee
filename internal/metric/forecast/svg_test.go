package forecast_test

import (
	"encoding/xml"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/metric/forecast"
)

// parseSVG fails unless s is well-formed XML with an <svg> root carrying a
// viewBox, and returns the element names and all character data.
func parseSVG(t *testing.T, s string) (elems map[string]int, text string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	elems = map[string]int{}
	var sb strings.Builder
	for i := 0; ; i++ {
		if i > 1_000_000 {
			t.Fatal("runaway XML")
		}
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not XML: %v\n%s", err, s)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			if len(elems) == 0 {
				if x.Name.Local != "svg" || x.Name.Space != "http://www.w3.org/2000/svg" {
					t.Fatalf("root is %v", x.Name)
				}
				hasViewBox := false
				for _, a := range x.Attr {
					hasViewBox = hasViewBox || a.Name.Local == "viewBox"
				}
				if !hasViewBox {
					t.Error("no viewBox")
				}
			}
			elems[x.Name.Local]++
		case xml.CharData:
			sb.Write(x)
		}
	}
	return elems, sb.String()
}

func TestSVG(t *testing.T) {
	pts := series(24*time.Hour, 5*time.Minute, time.Minute, 1, 2, func(h float64) float64 { return 26 + h })
	r := mustForecast(t, pts, forecast.Linear, forecast.Options{})
	s := forecast.SVG(pts, r, 80, 480, 160)
	elems, text := parseSVG(t, s)
	for _, e := range []string{"title", "polyline", "polygon", "line", "circle", "text"} {
		if elems[e] == 0 {
			t.Errorf("no <%s>", e)
		}
	}
	if !strings.Contains(text, "threshold 80") || !strings.Contains(text, "crosses at") {
		t.Errorf("text %q lacks the threshold or the crossing", text)
	}
	for _, bad := range []string{"<script", "javascript:", "href", "#fff", "#000", "black", "white"} {
		if strings.Contains(s, bad) {
			t.Errorf("SVG contains %q", bad)
		}
	}
	if len(s) > 40_000 {
		t.Errorf("SVG is %d bytes for 289 points", len(s))
	}
	if os.Getenv("FORECAST_SVG_OUT") != "" {
		hw := mustForecast(t, series(7*24*time.Hour, 10*time.Minute, 0, 0.3, 1, dailyTrend), forecast.HoltWinters, forecast.Options{Period: forecast.Daily})
		_ = os.WriteFile(os.Getenv("FORECAST_SVG_OUT")+".hw.svg", []byte(forecast.SVG(series(7*24*time.Hour, 10*time.Minute, 0, 0.3, 1, dailyTrend), hw, 76, 480, 160)), 0o644)
		_ = os.WriteFile(os.Getenv("FORECAST_SVG_OUT"), []byte(s), 0o644)
	}
}

func TestSVG_EdgeCases(t *testing.T) {
	hw := mustForecast(t, series(7*24*time.Hour, 10*time.Minute, 0, 0.3, 1, dailyTrend), forecast.HoltWinters, forecast.Options{Period: forecast.Daily})
	big := series(30*24*time.Hour, time.Minute, 0, 1, 1, func(h float64) float64 { return h })
	cases := []struct {
		name string
		pts  []forecast.Point
		r    forecast.Result
		thr  float64
	}{
		{"empty", nil, forecast.Result{}, 1},
		{"history only", series(2*time.Hour, time.Minute, 0, 0, 1, func(float64) float64 { return 3 }), forecast.Result{}, 3},
		{"seasonal", nil, hw, 76},
		{"falling past", series(2*time.Hour, time.Minute, 0, 0, 1, func(h float64) float64 { return -h }), forecast.Result{}, 1e300},
		{"many points", big, mustForecast(t, big, forecast.Linear, forecast.Options{}), 1000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := forecast.SVG(tc.pts, tc.r, tc.thr, 0, 0)
			parseSVG(t, s)
			if len(s) > 100_000 {
				t.Errorf("%d bytes", len(s))
			}
		})
	}
}
