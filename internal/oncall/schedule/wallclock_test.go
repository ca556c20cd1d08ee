package schedule

import (
	"testing"
	"time"
)

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func utc(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestWallTime(t *testing.T) {
	tests := []struct {
		zone string
		at   string // local wall time asked for
		want string // UTC
	}{
		{"Europe/Berlin", "2026-03-28 09:00", "2026-03-28 08:00"},
		{"Europe/Berlin", "2026-03-29 09:00", "2026-03-29 07:00"},
		{"Europe/Berlin", "2026-03-29 02:00", "2026-03-29 01:00"}, // gap: the change itself
		{"Europe/Berlin", "2026-03-29 02:30", "2026-03-29 01:00"}, // gap → 03:00 CEST
		{"Europe/Berlin", "2026-03-29 03:00", "2026-03-29 01:00"},
		{"Europe/Berlin", "2026-10-25 02:30", "2026-10-25 00:30"}, // twice → first (CEST)
		{"Europe/Berlin", "2026-10-25 02:00", "2026-10-25 00:00"},
		{"Europe/Berlin", "2026-10-25 03:00", "2026-10-25 02:00"},
		{"America/New_York", "2026-03-08 02:30", "2026-03-08 07:00"}, // gap → 03:00 EDT
		{"America/New_York", "2026-11-01 01:30", "2026-11-01 05:30"}, // twice → first (EDT)
		{"America/New_York", "2026-11-01 02:00", "2026-11-01 07:00"},
		{"Australia/Lord_Howe", "2026-10-04 02:15", "2026-10-03 15:30"}, // 30-minute gap → 02:30 +11
		{"Australia/Lord_Howe", "2026-04-05 01:45", "2026-04-04 14:45"}, // 30-minute overlap → first (+11)
		{"UTC", "2026-03-29 02:30", "2026-03-29 02:30"},
	}
	for _, tt := range tests {
		t.Run(tt.zone+" "+tt.at, func(t *testing.T) {
			w := utc(tt.at)
			got := wallTime(mustZone(t, tt.zone), w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute())
			if !got.Equal(utc(tt.want)) {
				t.Errorf("wallTime = %s, want %s", got.UTC(), tt.want)
			}
		})
	}
}

// TestWallTime_Exhaustive checks every quarter hour of 2026 in zones with
// unusual changes against the rule itself: the result shows the wall time
// and no earlier instant within a day does, or the wall time does not
// exist and the result is the end of the gap.
func TestWallTime_Exhaustive(t *testing.T) {
	for _, name := range []string{"Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Santiago", "Asia/Kolkata", "Pacific/Chatham"} {
		loc := mustZone(t, name)
		for w := utc("2026-01-01 00:00"); w.Year() == 2026; w = w.Add(15 * time.Minute) {
			got := wallTime(loc, w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute())
			shows := func(x time.Time) bool {
				l := x.In(loc)
				return l.Year() == w.Year() && l.YearDay() == w.YearDay() && l.Hour() == w.Hour() && l.Minute() == w.Minute() && l.Second() == 0
			}
			if shows(got) {
				for d := 15 * time.Minute; d <= 3*time.Hour; d += 15 * time.Minute {
					if shows(got.Add(-d)) {
						t.Fatalf("%s %s: got %s, but %s shows it earlier", name, w.Format("2006-01-02 15:04"), got, got.Add(-d))
					}
				}
				continue
			}
			before := got.Add(-time.Nanosecond).In(loc)
			after := got.In(loc)
			naive := func(x time.Time) time.Time {
				return time.Date(x.Year(), x.Month(), x.Day(), x.Hour(), x.Minute(), x.Second(), x.Nanosecond(), time.UTC)
			}
			if !naive(before).Before(w) || !naive(after).After(w) {
				t.Fatalf("%s %s: got %s (%s), which is not the end of a gap around it", name, w.Format("2006-01-02 15:04"), got, after)
			}
		}
	}
}
