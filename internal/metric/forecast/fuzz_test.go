package forecast_test

import (
	"encoding/binary"
	"math"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/metric/forecast"
)

// FuzzForecast feeds arbitrary series (pushed through the API, so untrusted)
// to every method: no panic, and a result's forecast is finite.
func FuzzForecast(f *testing.F) {
	f.Add([]byte("\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\xf0\x3f"), uint8(0), int64(3600))
	f.Add(make([]byte, 12*40), uint8(1), int64(60))
	f.Add([]byte("\xff\xff\xff\xff\xff\xff\xff\x7f\x01\x02\x03\x04"), uint8(2), int64(86400))
	f.Fuzz(func(t *testing.T, data []byte, method uint8, spacing int64) {
		methods := []forecast.Method{forecast.Linear, forecast.Holt, forecast.HoltWinters}
		m := methods[int(method)%len(methods)]
		base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		var pts []forecast.Point
		for i := 0; i+12 <= len(data) && len(pts) < 5000; i += 12 {
			// 4 bytes of time offset (scaled by spacing), 8 of value.
			off := int64(binary.LittleEndian.Uint32(data[i:])) % 10_000_000
			v := math.Float64frombits(binary.LittleEndian.Uint64(data[i+4:]))
			pts = append(pts, forecast.Point{T: base.Add(time.Duration(off*(spacing%100_000+1)) * time.Millisecond), V: v})
		}
		r, err := forecast.Forecast(pts, m, forecast.Options{Period: forecast.Daily, MinPoints: 3, MinSpan: time.Second})
		if err != nil {
			return
		}
		c, ok := forecast.Crossing(r, 1, forecast.Rising, 24*time.Hour)
		if ok && c.At.Before(r.End) {
			t.Errorf("crossing %s before the end %s", c.At, r.End)
		}
		_ = forecast.SVG(pts, r, 1, 200, 80)
	})
}
