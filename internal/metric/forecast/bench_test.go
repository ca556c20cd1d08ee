package forecast_test

import (
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/metric/forecast"
)

// benchSeries is 10,000 points a minute apart (about 7 days): a daily cycle
// with a trend and noise.
func benchSeries() []forecast.Point {
	return series(9999*time.Minute, time.Minute, 10*time.Second, 0.5, 9, dailyTrend)
}

// benchForecast forecasts pts and finds the crossing per iteration,
// reporting CPU time per operation next to the wall time.
func benchForecast(b *testing.B, m forecast.Method, o forecast.Options) {
	pts := benchSeries()
	if len(pts) != 10000 {
		b.Fatalf("%d points", len(pts))
	}
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		r, err := forecast.Forecast(pts, m, o)
		if err != nil {
			b.Fatal(err)
		}
		forecast.Crossing(r, 90, forecast.Rising, 7*24*time.Hour)
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

func BenchmarkLinear(b *testing.B) { benchForecast(b, forecast.Linear, forecast.Options{}) }

// BenchmarkHoltWinters fits all three factors (175 grid passes) on a
// 5-minute grid (2,016 steps) resampled from the 10,000 points.
func BenchmarkHoltWinters(b *testing.B) {
	benchForecast(b, forecast.HoltWinters, forecast.Options{Period: forecast.Daily})
}

// BenchmarkHoltWintersFine forces a 1-minute grid (10,000 steps, 1,440 a
// period): the worst case of the bounded grid search.
func BenchmarkHoltWintersFine(b *testing.B) {
	benchForecast(b, forecast.HoltWinters, forecast.Options{Period: forecast.Daily, Step: time.Minute})
}

// BenchmarkHolt fits alpha and beta (35 passes) on the 1-minute grid.
func BenchmarkHolt(b *testing.B) { benchForecast(b, forecast.Holt, forecast.Options{}) }

func BenchmarkSVG(b *testing.B) {
	pts := benchSeries()
	r, err := forecast.Forecast(pts, forecast.Linear, forecast.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		_ = forecast.SVG(pts, r, 90, 480, 160)
	}
}
