package maintenance_test

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/maintenance"
)

func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// ts parses an RFC 3339 time.
func ts(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// recurrence parses a recurrence spec or fails the test.
func recurrence(t testing.TB, spec maintenance.RecurrenceSpec) maintenance.Recurrence {
	t.Helper()
	r, _, err := spec.Parse()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// spans writes intervals as "start/end" in UTC, for readable diffs.
func spans(ivs []maintenance.Interval) []string {
	out := []string{}
	for _, iv := range ivs {
		out = append(out, iv.Start.UTC().Format(time.RFC3339)+"/"+iv.End.UTC().Format(time.RFC3339))
	}
	return out
}

func TestWallTime(t *testing.T) {
	for _, tc := range []struct {
		name, zone   string
		date         [3]int
		hour, minute int
		want         string
	}{
		{"ordinary day", "Europe/Berlin", [3]int{2026, 6, 1}, 2, 0, "2026-06-01T00:00:00Z"},
		{"New York spring-forward gap: 02:30 → 03:00 EDT", "America/New_York", [3]int{2026, 3, 8}, 2, 30, "2026-03-08T07:00:00Z"},
		{"New York at the gap's start: 02:00 → 03:00 EDT", "America/New_York", [3]int{2026, 3, 8}, 2, 0, "2026-03-08T07:00:00Z"},
		{"New York just after the gap: 03:00 EDT", "America/New_York", [3]int{2026, 3, 8}, 3, 0, "2026-03-08T07:00:00Z"},
		{"New York fall-back: first 01:30 (EDT)", "America/New_York", [3]int{2026, 11, 1}, 1, 30, "2026-11-01T05:30:00Z"},
		{"New York fall-back: 01:00 first shown in EDT", "America/New_York", [3]int{2026, 11, 1}, 1, 0, "2026-11-01T05:00:00Z"},
		{"New York fall-back: 02:00 exists once (EST)", "America/New_York", [3]int{2026, 11, 1}, 2, 0, "2026-11-01T07:00:00Z"},
		{"Berlin spring-forward gap: 02:30 → 03:00 CEST", "Europe/Berlin", [3]int{2026, 3, 29}, 2, 30, "2026-03-29T01:00:00Z"},
		{"Berlin fall-back: first 02:30 (CEST)", "Europe/Berlin", [3]int{2026, 10, 25}, 2, 30, "2026-10-25T00:30:00Z"},
		{"São Paulo skipped midnight: 00:30 → 01:00 -02", "America/Sao_Paulo", [3]int{2018, 11, 4}, 0, 30, "2018-11-04T03:00:00Z"},
		{"Lord Howe half-hour gap: 02:15 → 02:30 +11", "Australia/Lord_Howe", [3]int{2026, 10, 4}, 2, 15, "2026-10-03T15:30:00Z"},
		{"Lord Howe half-hour overlap: first 01:45 (+11)", "Australia/Lord_Howe", [3]int{2026, 4, 5}, 1, 45, "2026-04-04T14:45:00Z"},
		{"Apia skipped 30 Dec 2011: noon → 31 Dec 00:00 +14", "Pacific/Apia", [3]int{2011, 12, 30}, 12, 0, "2011-12-30T10:00:00Z"},
		{"UTC", "UTC", [3]int{2026, 3, 29}, 2, 30, "2026-03-29T02:30:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := maintenance.WallTime(zone(t, tc.zone), tc.date[0], time.Month(tc.date[1]), tc.date[2], tc.hour, tc.minute)
			if want := ts(t, tc.want); !got.Equal(want) {
				t.Errorf("WallTime = %s (%s local), want %s", got.UTC().Format(time.RFC3339), got.In(zone(t, tc.zone)).Format("2006-01-02 15:04 MST"), tc.want)
			}
		})
	}
}

func TestRecurrence_Occurrences(t *testing.T) {
	ny, berlin := "America/New_York", "Europe/Berlin"
	until := ts(t, "2026-03-10T06:30:00Z") // 02:30 EDT
	for _, tc := range []struct {
		name     string
		spec     maintenance.RecurrenceSpec
		from, to string
		want     []string
	}{
		{"New York daily 02:30 across spring forward: the skipped 02:30 starts at 03:00 EDT",
			maintenance.RecurrenceSpec{TimeZone: ny, At: "02:30", Duration: "1h"}, "2026-03-07T00:00:00-05:00", "2026-03-10T00:00:00-04:00",
			[]string{"2026-03-07T07:30:00Z/2026-03-07T08:30:00Z", "2026-03-08T07:00:00Z/2026-03-08T08:00:00Z", "2026-03-09T06:30:00Z/2026-03-09T07:30:00Z"}},
		{"New York daily 01:30 across fall back: the first 01:30 (EDT), lasting real time to 01:30 EST",
			maintenance.RecurrenceSpec{TimeZone: ny, At: "01:30", Duration: "1h"}, "2026-10-31T00:00:00-04:00", "2026-11-03T00:00:00-05:00",
			[]string{"2026-10-31T05:30:00Z/2026-10-31T06:30:00Z", "2026-11-01T05:30:00Z/2026-11-01T06:30:00Z", "2026-11-02T06:30:00Z/2026-11-02T07:30:00Z"}},
		{"Berlin daily 02:30 across spring forward: 03:00 CEST",
			maintenance.RecurrenceSpec{TimeZone: berlin, At: "02:30", Duration: "1h"}, "2026-03-28T00:00:00+01:00", "2026-03-31T00:00:00+02:00",
			[]string{"2026-03-28T01:30:00Z/2026-03-28T02:30:00Z", "2026-03-29T01:00:00Z/2026-03-29T02:00:00Z", "2026-03-30T00:30:00Z/2026-03-30T01:30:00Z"}},
		{"Berlin daily 02:30 across fall back: the first 02:30 (CEST)",
			maintenance.RecurrenceSpec{TimeZone: berlin, At: "02:30", Duration: "1h"}, "2026-10-24T00:00:00+02:00", "2026-10-27T00:00:00+01:00",
			[]string{"2026-10-24T00:30:00Z/2026-10-24T01:30:00Z", "2026-10-25T00:30:00Z/2026-10-25T01:30:00Z", "2026-10-26T01:30:00Z/2026-10-26T02:30:00Z"}},
		{"New York daily 09:00: starts 23 h apart across spring forward",
			maintenance.RecurrenceSpec{TimeZone: ny, At: "09:00", Duration: "30m"}, "2026-03-07T00:00:00-05:00", "2026-03-09T00:00:00-04:00",
			[]string{"2026-03-07T14:00:00Z/2026-03-07T14:30:00Z", "2026-03-08T13:00:00Z/2026-03-08T13:30:00Z"}},
		{"New York daily 09:00: starts 25 h apart across fall back",
			maintenance.RecurrenceSpec{TimeZone: ny, At: "09:00", Duration: "30m"}, "2026-10-31T00:00:00-04:00", "2026-11-02T00:00:00-05:00",
			[]string{"2026-10-31T13:00:00Z/2026-10-31T13:30:00Z", "2026-11-01T14:00:00Z/2026-11-01T14:30:00Z"}},
		{"across midnight on the spring-forward night: 22:00 EST for 8 h of real time ends 07:00 EDT, and counts when in effect at from",
			maintenance.RecurrenceSpec{TimeZone: ny, At: "22:00", Duration: "8h"}, "2026-03-08T04:00:00Z", "2026-03-08T12:00:00Z",
			[]string{"2026-03-08T03:00:00Z/2026-03-08T11:00:00Z"}},
		{"Berlin weekly on Saturday and Sunday 23:00 for 3 h, across midnight",
			maintenance.RecurrenceSpec{TimeZone: berlin, Days: []string{"sun", "sat"}, At: "23:00", Duration: "3h"}, "2026-06-05T00:00:00+02:00", "2026-06-12T00:00:00+02:00",
			[]string{"2026-06-06T21:00:00Z/2026-06-07T00:00:00Z", "2026-06-07T21:00:00Z/2026-06-08T00:00:00Z"}},
		{"until cuts the occurrence running then and stops later ones",
			maintenance.RecurrenceSpec{TimeZone: ny, At: "02:00", Duration: "1h", Until: &until}, "2026-03-09T00:00:00-04:00", "2026-03-14T00:00:00-04:00",
			[]string{"2026-03-09T06:00:00Z/2026-03-09T07:00:00Z", "2026-03-10T06:00:00Z/2026-03-10T06:30:00Z"}},
		{"half-open: an occurrence ending at from and one starting at to are left out",
			maintenance.RecurrenceSpec{TimeZone: ny, At: "02:00", Duration: "1h"}, "2026-03-09T07:00:00Z", "2026-03-10T06:00:00Z",
			[]string{}},
		{"an occurrence in effect at from counts",
			maintenance.RecurrenceSpec{TimeZone: ny, At: "02:00", Duration: "1h"}, "2026-03-09T06:15:00Z", "2026-03-09T06:20:00Z",
			[]string{"2026-03-09T06:00:00Z/2026-03-09T07:00:00Z"}},
		{"a 168 h window every Monday 00:00 overlaps the next by the hour lost in spring forward",
			maintenance.RecurrenceSpec{TimeZone: berlin, Days: []string{"mon"}, At: "00:00", Duration: "168h"}, "2026-03-29T22:30:00Z", "2026-03-29T22:31:00Z",
			[]string{"2026-03-22T23:00:00Z/2026-03-29T23:00:00Z", "2026-03-29T22:00:00Z/2026-04-05T22:00:00Z"}},
		{"Apia skipped 30 Dec 2011 (a Friday): that day's noon starts at 31 Dec 00:00 +14",
			maintenance.RecurrenceSpec{TimeZone: "Pacific/Apia", At: "12:00", Duration: "1h"}, "2011-12-29T00:00:00-10:00", "2012-01-01T00:00:00+14:00",
			[]string{"2011-12-29T22:00:00Z/2011-12-29T23:00:00Z", "2011-12-30T10:00:00Z/2011-12-30T11:00:00Z", "2011-12-30T22:00:00Z/2011-12-30T23:00:00Z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := spans(recurrence(t, tc.spec).Occurrences(ts(t, tc.from), ts(t, tc.to)))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Occurrences (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCompiled_ActiveAt(t *testing.T) {
	until := ts(t, "2026-03-10T06:30:00Z")
	ny := maintenance.RecurrenceSpec{TimeZone: "America/New_York", At: "02:30", Duration: "1h"}
	fall := maintenance.RecurrenceSpec{TimeZone: "America/New_York", At: "01:30", Duration: "1h"}
	weekend := maintenance.RecurrenceSpec{TimeZone: "Europe/Berlin", Days: []string{"sat", "sun"}, At: "23:00", Duration: "3h"}
	limited := maintenance.RecurrenceSpec{TimeZone: "America/New_York", At: "02:00", Duration: "1h", Until: &until}
	start, end := ts(t, "2026-05-02T22:00:00+02:00"), ts(t, "2026-05-03T02:00:00+02:00")
	oneOff := maintenance.Spec{Start: &start, End: &end}
	for _, tc := range []struct {
		name string
		spec maintenance.Spec
		at   string
		want bool
	}{
		{"spring forward: before the resolved start", maintenance.Spec{Recurrence: &ny}, "2026-03-08T06:59:59Z", false},
		{"spring forward: at 03:00 EDT", maintenance.Spec{Recurrence: &ny}, "2026-03-08T07:00:00Z", true},
		{"spring forward: last second", maintenance.Spec{Recurrence: &ny}, "2026-03-08T07:59:59Z", true},
		{"spring forward: end is excluded", maintenance.Spec{Recurrence: &ny}, "2026-03-08T08:00:00Z", false},
		{"fall back: the first 01:30", maintenance.Spec{Recurrence: &fall}, "2026-11-01T05:30:00Z", true},
		{"fall back: 01:29 EST is still within the hour", maintenance.Spec{Recurrence: &fall}, "2026-11-01T06:29:59Z", true},
		{"fall back: the second 01:30 starts nothing", maintenance.Spec{Recurrence: &fall}, "2026-11-01T06:30:00Z", false},
		{"weekend: Monday 01:59 from Sunday's window", maintenance.Spec{Recurrence: &weekend}, "2026-06-07T23:59:00Z", true},
		{"weekend: Monday 02:00 ends it", maintenance.Spec{Recurrence: &weekend}, "2026-06-08T00:00:00Z", false},
		{"weekend: Friday 23:30 is not a weekend day", maintenance.Spec{Recurrence: &weekend}, "2026-06-05T21:30:00Z", false},
		{"until: before it", maintenance.Spec{Recurrence: &limited}, "2026-03-10T06:29:59Z", true},
		{"until: at it", maintenance.Spec{Recurrence: &limited}, "2026-03-10T06:30:00Z", false},
		{"until: a later day", maintenance.Spec{Recurrence: &limited}, "2026-03-11T06:10:00Z", false},
		{"one-off: start is included", oneOff, "2026-05-02T20:00:00Z", true},
		{"one-off: end is excluded", oneOff, "2026-05-03T00:00:00Z", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := maintenance.Input{Name: "w", Spec: tc.spec}
			w, err := in.Validate()
			if err != nil {
				t.Fatal(err)
			}
			if got := w.ActiveAt(ts(t, tc.at)); got != tc.want {
				t.Errorf("ActiveAt(%s) = %v, want %v", tc.at, got, tc.want)
			}
		})
	}
}

func TestRecurrenceSpec_Parse(t *testing.T) {
	t.Run("normalizes", func(t *testing.T) {
		until := ts(t, "2026-12-31T23:00:00+01:00")
		_, got, err := maintenance.RecurrenceSpec{TimeZone: "Europe/Berlin", Days: []string{"SUN", "mon", "Sat", "mon"}, At: "02:00", Duration: "90m", Until: &until}.Parse()
		if err != nil {
			t.Fatal(err)
		}
		wantUntil := ts(t, "2026-12-31T22:00:00Z")
		want := maintenance.RecurrenceSpec{TimeZone: "Europe/Berlin", Days: []string{"mon", "sat", "sun"}, At: "02:00", Duration: "1h30m", Until: &wantUntil}
		if diff := cmp.Diff(want, got); diff != "" || got.Until.Location() != time.UTC {
			t.Errorf("normalized (-want +got):\n%s", diff)
		}
	})
	for _, tc := range []struct {
		name  string
		spec  maintenance.RecurrenceSpec
		field string
		msg   string
	}{
		{"missing zone", maintenance.RecurrenceSpec{At: "02:00", Duration: "1h"}, "time_zone", "is required"},
		{"unknown zone", maintenance.RecurrenceSpec{TimeZone: "Mars/Olympus_Mons", At: "02:00", Duration: "1h"}, "time_zone", `unknown time zone "Mars/Olympus_Mons"`},
		{"Local", maintenance.RecurrenceSpec{TimeZone: "Local", At: "02:00", Duration: "1h"}, "time_zone", "not an IANA time zone"},
		{"a path", maintenance.RecurrenceSpec{TimeZone: "../../etc/passwd", At: "02:00", Duration: "1h"}, "time_zone", "not an IANA time zone"},
		{"bad day", maintenance.RecurrenceSpec{TimeZone: "UTC", Days: []string{"mon", "funday"}, At: "02:00", Duration: "1h"}, "days[1]", `"funday" is not a day`},
		{"missing at", maintenance.RecurrenceSpec{TimeZone: "UTC", Duration: "1h"}, "at", "is required"},
		{"one-digit hour", maintenance.RecurrenceSpec{TimeZone: "UTC", At: "2:00", Duration: "1h"}, "at", "want HH:MM"},
		{"hour 24", maintenance.RecurrenceSpec{TimeZone: "UTC", At: "24:00", Duration: "1h"}, "at", "want HH:MM"},
		{"seconds", maintenance.RecurrenceSpec{TimeZone: "UTC", At: "02:00:00", Duration: "1h"}, "at", "want HH:MM"},
		{"missing duration", maintenance.RecurrenceSpec{TimeZone: "UTC", At: "02:00"}, "duration", "is required"},
		{"days as a duration", maintenance.RecurrenceSpec{TimeZone: "UTC", At: "02:00", Duration: "1d"}, "duration", "not a duration"},
		{"over a week", maintenance.RecurrenceSpec{TimeZone: "UTC", At: "02:00", Duration: "168h1s"}, "duration", "at most 168h"},
		{"negative", maintenance.RecurrenceSpec{TimeZone: "UTC", At: "02:00", Duration: "-1h"}, "duration", "more than 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := tc.spec.Parse()
			if !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != tc.field || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Parse = %v (field %q), want invalid %s containing %q", err, errs.FieldOf(err), tc.field, tc.msg)
			}
		})
	}
}

// zones for the property tests: the two the team lives in, half-hour and
// midnight changes, a skipped day, a zone without changes.
var zones = []string{"America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "America/Sao_Paulo", "Pacific/Apia", "Asia/Kolkata", "Pacific/Chatham", "UTC"}

// nearTransition returns a random instant within a day of one of loc's
// offset changes between 2005 and 2030 (or anywhere, for a zone without).
func nearTransition(rng *rand.Rand, loc *time.Location) time.Time {
	t := time.Date(2005, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.Int64N(int64(25 * 365 * 24 * time.Hour))))
	if _, end := t.In(loc).ZoneBounds(); !end.IsZero() {
		t = end
	}
	return t.Add(time.Duration(rng.Int64N(int64(48*time.Hour))) - 24*time.Hour).Truncate(time.Second)
}

// firstAtOrPast finds by brute force the first minute at which loc's wall
// clock shows the given wall time or a later one: the rule WallTime
// implements, both for skipped and for repeated times.
func firstAtOrPast(loc *time.Location, naive time.Time) time.Time {
	for x := naive.Add(-15 * time.Hour); ; x = x.Add(time.Minute) {
		y, m, d := x.In(loc).Date()
		hh, mm, _ := x.In(loc).Clock()
		if !time.Date(y, m, d, hh, mm, 0, 0, time.UTC).Before(naive) {
			return x
		}
	}
}

func TestWallTime_MatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		name := zones[i%len(zones)]
		loc := zone(t, name)
		at := nearTransition(rng, loc).In(loc)
		naive := time.Date(at.Year(), at.Month(), at.Day(), at.Hour(), at.Minute(), 0, 0, time.UTC)
		got := maintenance.WallTime(loc, at.Year(), at.Month(), at.Day(), at.Hour(), at.Minute())
		if want := firstAtOrPast(loc, naive); !got.Equal(want) {
			t.Fatalf("%s %s: WallTime = %s, brute force %s", name, naive.Format("2006-01-02 15:04"), got, want)
		}
	}
}

// TestRecurrence_ActiveAtAgreesWithOccurrences checks at random times near
// offset changes that ActiveAt (a backward search for the latest start)
// says exactly what Occurrences (a forward enumeration) says, and that
// every occurrence starts at the wall time or at the end of a gap.
func TestRecurrence_ActiveAtAgreesWithOccurrences(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	durations := []string{"1m", "30m", "1h", "90m", "2h", "23h", "24h", "25h", "49h", "168h"}
	for i := range 2000 {
		name := zones[rng.IntN(len(zones))]
		loc := zone(t, name)
		spec := maintenance.RecurrenceSpec{TimeZone: name, At: time.Date(0, 1, 1, rng.IntN(24), rng.IntN(4)*15, 0, 0, time.UTC).Format("15:04"),
			Duration: durations[rng.IntN(len(durations))]}
		for _, d := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
			if rng.IntN(3) == 0 {
				spec.Days = append(spec.Days, d)
			}
		}
		at := nearTransition(rng, loc)
		if rng.IntN(4) == 0 {
			u := at.Add(time.Duration(rng.Int64N(int64(72*time.Hour))) - 36*time.Hour).Truncate(time.Minute)
			spec.Until = &u
		}
		r := recurrence(t, spec)
		active := r.Occurrences(at, at.Add(time.Nanosecond))
		if got, want := r.ActiveAt(at), len(active) > 0; got != want {
			t.Fatalf("case %d %+v at %s: ActiveAt = %v, Occurrences say %v", i, spec, at.In(loc), got, active)
		}
		var prev time.Time
		for _, iv := range r.Occurrences(at.Add(-10*24*time.Hour), at.Add(10*24*time.Hour)) {
			if !iv.Start.After(prev) || !iv.End.After(iv.Start) || iv.End.Sub(iv.Start) > r.Duration || iv.Start.Location() != time.UTC || iv.End.Location() != time.UTC {
				t.Fatalf("case %d %+v: bad occurrence %v after %s", i, spec, iv, prev)
			}
			prev = iv.Start
			local := iv.Start.In(loc)
			nominal := local.Format("15:04") == spec.At
			gapEnd := false
			if start, _ := local.ZoneBounds(); start.Equal(iv.Start) {
				_, before := iv.Start.Add(-time.Second).In(loc).Zone()
				_, after := local.Zone()
				gapEnd = after > before
			}
			if !nominal && !gapEnd || !r.ActiveAt(iv.Start) {
				t.Fatalf("case %d %+v: occurrence %s–%s (local %s) is not at %s nor at the end of a gap, or ActiveAt disagrees at its start",
					i, spec, iv.Start, iv.End, local, spec.At)
			}
		}
	}
}

func FuzzRecurrenceSpec(f *testing.F) {
	f.Add("Europe/Berlin", "mon,sat", "02:00", "2h")
	f.Add("America/New_York", "", "02:30", "1h")
	f.Add("UTC", "sun", "23:59", "168h")
	f.Add("../etc/passwd", "x", "2:00", "1d")
	f.Add("Local", "MON,,", "24:00", "-1s")
	f.Fuzz(func(t *testing.T, zoneName, days, at, duration string) {
		spec := maintenance.RecurrenceSpec{TimeZone: zoneName, At: at, Duration: duration}
		if days != "" {
			spec.Days = strings.Split(days, ",")
		}
		r, norm, err := spec.Parse()
		if err != nil {
			if !errs.Is(err, errs.Invalid) || errs.FieldOf(err) == "" {
				t.Fatalf("Parse error %v is not Invalid with a field", err)
			}
			return
		}
		// The normalized spec parses to the same recurrence and is stable.
		r2, norm2, err := norm.Parse()
		if err != nil || r2.Location.String() != r.Location.String() || r2.Days != r.Days || r2.Hour != r.Hour || r2.Minute != r.Minute ||
			r2.Duration != r.Duration || !cmp.Equal(norm, norm2) {
			t.Fatalf("normalized %+v parses to %+v, %v; first %+v", norm, r2, err, r)
		}
		from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		var prev time.Time
		for _, iv := range r.Occurrences(from, from.AddDate(0, 1, 0)) {
			if !iv.Start.After(prev) || iv.End.Sub(iv.Start) != r.Duration || !r.ActiveAt(iv.Start) {
				t.Fatalf("occurrence %v after %s of %+v", iv, prev, norm)
			}
			prev = iv.Start
		}
	})
}
