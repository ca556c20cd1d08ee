package route

import (
	"strings"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/errs"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func mustInterval(t *testing.T, p Period) *interval {
	t.Helper()
	iv, err := compileInterval(Interval{Name: "test", Periods: []Period{p}})
	if err != nil {
		t.Fatal(err)
	}
	return &iv
}

func berlin(start, end string, extra ...func(*Period)) Period {
	p := Period{Times: []TimeRange{{Start: start, End: end}}, Location: "Europe/Berlin"}
	for _, f := range extra {
		f(&p)
	}
	return p
}

func TestInterval_Contains(t *testing.T) {
	onDay := func(d string) func(*Period) {
		return func(p *Period) {
			p.Years, p.Months, p.DaysOfMonth = []string{d[:4]}, []string{d[5:7]}, []string{strings.TrimLeft(d[8:], "0")}
		}
	}
	for _, tc := range []struct {
		name string
		p    Period
		at   string
		want bool
	}{
		// Berlin, spring forward 2026-03-29: 02:00 CET jumps to 03:00 CEST at 01:00Z.
		{"spring: 01:00-04:00 starts at 01:00 CET", berlin("01:00", "04:00", onDay("2026-03-29")), "2026-03-29T00:00:00Z", true},
		{"spring: before the start", berlin("01:00", "04:00", onDay("2026-03-29")), "2026-03-28T23:59:59Z", false},
		{"spring: 01:59 CET inside", berlin("01:00", "04:00", onDay("2026-03-29")), "2026-03-29T00:59:59Z", true},
		{"spring: 03:00 CEST inside", berlin("01:00", "04:00", onDay("2026-03-29")), "2026-03-29T01:00:00Z", true},
		{"spring: 03:59 CEST inside", berlin("01:00", "04:00", onDay("2026-03-29")), "2026-03-29T01:59:59Z", true},
		{"spring: 04:00 CEST is the end (two real hours)", berlin("01:00", "04:00", onDay("2026-03-29")), "2026-03-29T02:00:00Z", false},
		{"spring: start in the gap resolves to after the gap", berlin("02:30", "03:30", onDay("2026-03-29")), "2026-03-29T01:00:00Z", true},
		{"spring: 01:59 CET is before a gap start", berlin("02:30", "03:30", onDay("2026-03-29")), "2026-03-29T00:59:00Z", false},
		{"spring: 03:30 CEST ends it", berlin("02:30", "03:30", onDay("2026-03-29")), "2026-03-29T01:30:00Z", false},
		{"spring: 02:00-03:00 does not exist that day", berlin("02:00", "03:00", onDay("2026-03-29")), "2026-03-29T01:00:00Z", false},
		{"spring: 02:00-03:00 nor before", berlin("02:00", "03:00", onDay("2026-03-29")), "2026-03-29T00:59:59Z", false},
		{"spring: 02:00-03:00 exists the day before", berlin("02:00", "03:00"), "2026-03-28T01:30:00Z", true},
		// Berlin, fall back 2026-10-25: 03:00 CEST goes back to 02:00 CET at 01:00Z.
		{"fall: 02:00-03:00 from the first 02:00 CEST", berlin("02:00", "03:00", onDay("2026-10-25")), "2026-10-25T00:00:00Z", true},
		{"fall: 01:59 CEST before", berlin("02:00", "03:00", onDay("2026-10-25")), "2026-10-24T23:59:59Z", false},
		{"fall: the second 02:30 CET inside (two real hours)", berlin("02:00", "03:00", onDay("2026-10-25")), "2026-10-25T01:30:00Z", true},
		{"fall: 03:00 CET ends it", berlin("02:00", "03:00", onDay("2026-10-25")), "2026-10-25T02:00:00Z", false},
		{"fall: 02:30-03:00 runs from the first 02:30", berlin("02:30", "03:00", onDay("2026-10-25")), "2026-10-25T00:30:00Z", true},
		{"fall: 02:30-03:00 not at the first 02:15", berlin("02:30", "03:00", onDay("2026-10-25")), "2026-10-25T00:15:00Z", false},
		{"fall: 02:30-03:00 includes the second 02:15 (half-open span between instants)", berlin("02:30", "03:00", onDay("2026-10-25")), "2026-10-25T01:15:00Z", true},
		// Ordinary days, weekdays in the zone's calendar.
		{"business hours: 08:59 CET", berlin("09:00", "17:00", func(p *Period) { p.Weekdays = []string{"monday:friday"} }), "2026-11-23T07:59:00Z", false},
		{"business hours: 09:00 CET", berlin("09:00", "17:00", func(p *Period) { p.Weekdays = []string{"monday:friday"} }), "2026-11-23T08:00:00Z", true},
		{"business hours: 17:00 CET is out", berlin("09:00", "17:00", func(p *Period) { p.Weekdays = []string{"monday:friday"} }), "2026-11-23T16:00:00Z", false},
		{"business hours: 09:00 CEST in summer", berlin("09:00", "17:00", func(p *Period) { p.Weekdays = []string{"Mon:Fri"} }), "2026-07-06T07:00:00Z", true},
		{"business hours: Saturday", berlin("09:00", "17:00", func(p *Period) { p.Weekdays = []string{"monday:friday"} }), "2026-11-28T10:00:00Z", false},
		{"weekend starts at local midnight (Friday 23:30Z)", Period{Weekdays: []string{"saturday", "sunday"}, Location: "Europe/Berlin"}, "2026-11-27T23:30:00Z", true},
		{"weekend: Friday 22:59Z is Friday in Berlin", Period{Weekdays: []string{"saturday", "sunday"}, Location: "Europe/Berlin"}, "2026-11-27T22:59:00Z", false},
		{"end 24:00", Period{Times: []TimeRange{{Start: "22:00", End: "24:00"}}}, "2026-11-27T23:59:59Z", true},
		{"last day of February", Period{DaysOfMonth: []string{"-1"}}, "2026-02-28T12:00:00Z", true},
		{"not the last day", Period{DaysOfMonth: []string{"-1"}}, "2026-02-27T12:00:00Z", false},
		{"leap year last day", Period{DaysOfMonth: []string{"-1"}}, "2028-02-29T12:00:00Z", true},
		{"last week", Period{DaysOfMonth: []string{"-7:-1"}}, "2026-11-24T00:00:00Z", true},
		{"first to last", Period{DaysOfMonth: []string{"1:-1"}}, "2026-11-30T00:00:00Z", true},
		{"months by name", Period{Months: []string{"december:december", "january"}}, "2026-12-31T00:00:00Z", true},
		{"months by number", Period{Months: []string{"1:3"}}, "2026-04-01T00:00:00Z", false},
		{"years", Period{Years: []string{"2026:2027"}}, "2028-01-01T00:00:00Z", false},
		{"zero period is always", Period{}, "2026-01-01T00:00:00Z", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mustInterval(t, tc.p).contains(utc(tc.at)); got != tc.want {
				t.Errorf("contains(%s) = %v; want %v", tc.at, got, tc.want)
			}
		})
	}
}

func TestWallTime(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	be, _ := time.LoadLocation("Europe/Berlin")
	lh, _ := time.LoadLocation("Australia/Lord_Howe")
	for _, tc := range []struct {
		loc     *time.Location
		y, m, d int
		minute  int
		want    string
	}{
		{be, 2026, 3, 29, 2*60 + 30, "2026-03-29T01:00:00Z"},
		{be, 2026, 3, 29, 3 * 60, "2026-03-29T01:00:00Z"},
		{be, 2026, 10, 25, 2*60 + 30, "2026-10-25T00:30:00Z"},
		{be, 2026, 10, 25, 24 * 60, "2026-10-25T23:00:00Z"},
		{ny, 2026, 3, 8, 2*60 + 30, "2026-03-08T07:00:00Z"},
		{ny, 2026, 11, 1, 60 + 30, "2026-11-01T05:30:00Z"},
		{lh, 2026, 10, 4, 2*60 + 15, "2026-10-03T15:30:00Z"},
		{time.UTC, 2026, 1, 1, 0, "2026-01-01T00:00:00Z"},
	} {
		if got := wallTime(tc.loc, tc.y, time.Month(tc.m), tc.d, tc.minute); !got.Equal(utc(tc.want)) {
			t.Errorf("wallTime(%s %d-%d-%d %d) = %s; want %s", tc.loc, tc.y, tc.m, tc.d, tc.minute, got, tc.want)
		}
	}
}

func TestInterval_Validate(t *testing.T) {
	for _, tc := range []struct {
		p     Period
		field string
	}{
		{Period{Weekdays: []string{"monday", "friday:monday"}}, "periods[0].weekdays[1]"},
		{Period{Weekdays: []string{"funday"}}, "periods[0].weekdays[0]"},
		{Period{DaysOfMonth: []string{"0"}}, "periods[0].days_of_month[0]"},
		{Period{DaysOfMonth: []string{"32"}}, "periods[0].days_of_month[0]"},
		{Period{DaysOfMonth: []string{"-1:-7"}}, "periods[0].days_of_month[0]"},
		{Period{Months: []string{"13"}}, "periods[0].months[0]"},
		{Period{Times: []TimeRange{{Start: "9:00", End: "17:00"}}}, "periods[0].times[0].start_time"},
		{Period{Times: []TimeRange{{Start: "17:00", End: "09:00"}}}, "periods[0].times[0].end_time"},
		{Period{Times: []TimeRange{{Start: "00:00", End: "24:01"}}}, "periods[0].times[0].end_time"},
		{Period{Location: "Mars/Olympus"}, "periods[0].location"},
		{Period{Location: "Local"}, "periods[0].location"},
	} {
		err := Interval{Name: "x", Periods: []Period{tc.p}}.Validate()
		if !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != tc.field {
			t.Errorf("Validate(%+v) = %v (field %q); want invalid %s", tc.p, err, errs.FieldOf(err), tc.field)
		}
	}
	if err := (Interval{}).Validate(); errs.FieldOf(err) != "name" {
		t.Errorf("nameless interval: %v", err)
	}
}
