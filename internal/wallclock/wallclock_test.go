package wallclock_test

import (
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/wallclock"
)

func TestResolve(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	ny, _ := time.LoadLocation("America/New_York")
	lordHowe, _ := time.LoadLocation("Australia/Lord_Howe")
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name string
		loc  *time.Location
		y    int
		m    time.Month
		d, h int
		min  int
		want time.Time
	}{
		{"ordinary", berlin, 2026, 6, 1, 9, 0, utc("2026-06-01T07:00:00Z")},
		{"spring-forward gap: first instant after it", berlin, 2026, 3, 29, 2, 30, utc("2026-03-29T01:00:00Z")},
		{"fall-back: first showing", berlin, 2026, 10, 25, 2, 30, utc("2026-10-25T00:30:00Z")},
		{"New York gap", ny, 2026, 3, 8, 2, 15, utc("2026-03-08T07:00:00Z")},
		{"New York repeated hour", ny, 2026, 11, 1, 1, 30, utc("2026-11-01T05:30:00Z")},
		{"half-hour change (Lord Howe) gap", lordHowe, 2026, 10, 4, 2, 15, utc("2026-10-03T15:30:00Z")},
		{"24:00 is the next midnight", berlin, 2026, 3, 28, 24, 0, utc("2026-03-28T23:00:00Z")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := wallclock.Resolve(tt.loc, tt.y, tt.m, tt.d, tt.h, tt.min); !got.Equal(tt.want) {
				t.Errorf("Resolve = %s, want %s", got.Format(time.RFC3339), tt.want.Format(time.RFC3339))
			}
		})
	}
}
