package schedule

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// benchSchedules builds n schedules of 10 layers each: a mix of daily,
// weekly, hourly and custom rotations in several zones, half of the layers
// restricted (business hours, nights, weekends, follow the sun), and 20
// overrides per schedule across the year.
func benchSchedules(b *testing.B, n int) []*Schedule {
	b.Helper()
	r := rand.New(rand.NewPCG(5, 10))
	zones := []string{"Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "Europe/London", "America/Los_Angeles"}
	base := utc("2026-01-01 00:00")
	var out []*Schedule
	for i := range n {
		s := Spec{TimeZone: zones[i%len(zones)]}
		for j := range 10 {
			rs := RotationSpec{
				Kind:        []string{Daily, Weekly, Hourly, Custom}[r.IntN(4)],
				HandoffTime: fmt.Sprintf("%02d:%02d", r.IntN(24), r.IntN(4)*15),
				Start:       base.AddDate(-1, 0, r.IntN(300)).Format("2006-01-02"),
			}
			switch rs.Kind {
			case Custom:
				rs.Length = fmt.Sprintf("%dh", 6+r.IntN(60))
			case Hourly:
				rs.Every = 4 + r.IntN(20)
			default:
				rs.Every = 1 + r.IntN(2)
			}
			for k := range 3 + r.IntN(6) {
				rs.Participants = append(rs.Participants, fmt.Sprintf("user-%d-%d-%d", i, j, k))
			}
			l := LayerSpec{Rotation: rs}
			if j%3 == 2 {
				l.TimeZone = zones[r.IntN(len(zones))]
			}
			if j > 0 && r.IntN(2) == 0 {
				l.Restrictions = []RestrictionSpec{
					{Days: []string{"mon", "tue", "wed", "thu", "fri"}, Start: "09:00", End: "17:00"},
					{Days: []string{"sat"}, Start: "22:00", End: "06:00"},
				}
			}
			s.Layers = append(s.Layers, l)
		}
		for k := range 20 {
			start := base.Add(time.Duration(r.IntN(365*24)) * time.Hour)
			s.Overrides = append(s.Overrides, OverrideSpec{
				Kind: []string{Replace, Add, Remove}[k%3], User: fmt.Sprintf("user-%d-0-%d", i, k%3),
				Start: start, End: start.Add(time.Duration(1+r.IntN(48)) * time.Hour),
			})
		}
		sc, err := New(s)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, sc)
	}
	return out
}

// BenchmarkOnCallAt asks 500 schedules of 10 layers "who is on call" at
// 1,000 random times of 2026 each; one op is one lookup, since and until
// included. The target is under 1 ms per lookup.
func BenchmarkOnCallAt(b *testing.B) {
	scs := benchSchedules(b, 500)
	r := rand.New(rand.NewPCG(1, 1))
	times := make([]time.Time, 1000)
	for i := range times {
		times[i] = utc("2026-01-01 00:00").Add(time.Duration(r.Int64N(int64(365 * 24 * time.Hour))))
	}
	b.ResetTimer()
	i, empty := 0, 0
	for b.Loop() {
		if len(scs[i%len(scs)].OnCallAt(times[(i/len(scs))%len(times)])) == 0 {
			empty++
		}
		i++
	}
	b.ReportMetric(float64(empty)/float64(i), "gaps/op")
}

// BenchmarkShifts renders one month of a 10-layer schedule.
func BenchmarkShifts(b *testing.B) {
	scs := benchSchedules(b, 20)
	from := utc("2026-03-01 00:00")
	i, n := 0, 0
	for b.Loop() {
		n += len(scs[i%len(scs)].Shifts(from, from.AddDate(0, 1, 0)))
		i++
	}
	b.ReportMetric(float64(n)/float64(i), "shifts/op")
}
