package schedule

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"groundcrew.dev/groundcrew/internal/errs"
)

func mustNew(t testing.TB, s Spec) *Schedule {
	t.Helper()
	sc, err := New(s)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return sc
}

// local parses "2006-01-02 15:04" in zone; only for unambiguous times.
func local(t testing.TB, zone, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, mustZone(t, zone))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func rot(kind string, every int, handoff, start string, people ...string) RotationSpec {
	return RotationSpec{Kind: kind, Every: every, HandoffTime: handoff, Start: start, Participants: people}
}

func oneLayer(zone string, r RotationSpec) Spec {
	return Spec{TimeZone: zone, Layers: []LayerSpec{{Rotation: r}}}
}

// onCall returns the single Shift OnCallAt reports, failing otherwise.
func onCall(t *testing.T, sc *Schedule, at time.Time) Shift {
	t.Helper()
	got := sc.OnCallAt(at)
	if len(got) != 1 {
		t.Fatalf("OnCallAt(%s) = %v, want one shift", at.UTC(), got)
	}
	return got[0]
}

func TestSchedule_DayBasedHandoffsAcrossDST(t *testing.T) {
	tests := []struct {
		name      string
		zone      string
		handoff   string
		at        time.Time // an instant inside the shift
		start     time.Time // want, UTC
		end       time.Time
		wantHours float64
	}{
		{"Berlin spring forward", "Europe/Berlin", "09:00", utc("2026-03-29 03:00"),
			utc("2026-03-28 08:00"), utc("2026-03-29 07:00"), 23},
		{"Berlin after spring forward", "Europe/Berlin", "09:00", utc("2026-03-29 12:00"),
			utc("2026-03-29 07:00"), utc("2026-03-30 07:00"), 24},
		{"Berlin fall back", "Europe/Berlin", "09:00", utc("2026-10-25 01:30"),
			utc("2026-10-24 07:00"), utc("2026-10-25 08:00"), 25},
		{"New York spring forward", "America/New_York", "09:00", utc("2026-03-08 10:00"),
			utc("2026-03-07 14:00"), utc("2026-03-08 13:00"), 23},
		{"New York fall back", "America/New_York", "09:00", utc("2026-11-01 10:00"),
			utc("2026-10-31 13:00"), utc("2026-11-01 14:00"), 25},
		// Handoff at 02:30: skipped on the spring-forward day (→ 03:00
		// local, the end of the gap), shown twice on the fall-back day
		// (→ the first showing, still in summer time).
		{"Berlin 02:30 before the gap", "Europe/Berlin", "02:30", utc("2026-03-28 12:00"),
			utc("2026-03-28 01:30"), utc("2026-03-29 01:00"), 23.5},
		{"Berlin 02:30 after the gap", "Europe/Berlin", "02:30", utc("2026-03-29 12:00"),
			utc("2026-03-29 01:00"), utc("2026-03-30 00:30"), 23.5},
		{"Berlin 02:30 before the repeat", "Europe/Berlin", "02:30", utc("2026-10-24 12:00"),
			utc("2026-10-24 00:30"), utc("2026-10-25 00:30"), 24},
		{"Berlin 02:30 on the repeat", "Europe/Berlin", "02:30", utc("2026-10-25 12:00"),
			utc("2026-10-25 00:30"), utc("2026-10-26 01:30"), 25},
		{"New York 02:30 after the gap", "America/New_York", "02:30", utc("2026-03-08 12:00"),
			utc("2026-03-08 07:00"), utc("2026-03-09 06:30"), 23.5},
		{"New York 01:30 on the repeat", "America/New_York", "01:30", utc("2026-11-01 12:00"),
			utc("2026-11-01 05:30"), utc("2026-11-02 06:30"), 25},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := mustNew(t, oneLayer(tt.zone, rot(Daily, 1, tt.handoff, "2026-01-01", "ana", "ben", "cho")))
			got := onCall(t, sc, tt.at)
			if !got.Start.Equal(tt.start) || !got.End.Equal(tt.end) {
				t.Errorf("shift = [%s, %s), want [%s, %s)", got.Start.UTC(), got.End.UTC(), tt.start, tt.end)
			}
			if h := got.End.Sub(got.Start).Hours(); h != tt.wantHours {
				t.Errorf("shift lasts %vh, want %vh", h, tt.wantHours)
			}
			// The timeline agrees with the lookup.
			shifts := sc.Shifts(tt.start.Add(-time.Hour), tt.end.Add(time.Hour))
			if len(shifts) != 3 || !shifts[1].Start.Equal(tt.start) || !shifts[1].End.Equal(tt.end) || shifts[1].User != got.User {
				t.Errorf("Shifts = %v, want the shift in the middle", shifts)
			}
		})
	}
}

func TestSchedule_HourlyAcrossDST(t *testing.T) {
	for _, tc := range []struct{ zone, from, to string }{
		{"Europe/Berlin", "2026-03-28", "2026-03-31"},
		{"Europe/Berlin", "2026-10-24", "2026-10-27"},
		{"America/New_York", "2026-03-07", "2026-03-10"},
		{"America/New_York", "2026-10-31", "2026-11-03"},
	} {
		t.Run(tc.zone+" "+tc.from, func(t *testing.T) {
			sc := mustNew(t, oneLayer(tc.zone, rot(Hourly, 12, "09:00", "2026-01-01", "ana", "ben")))
			from, to := local(t, tc.zone, tc.from+" 09:00"), local(t, tc.zone, tc.to+" 09:00")
			shifts := sc.Shifts(from, to)
			if len(shifts) < 5 {
				t.Fatalf("got %d shifts", len(shifts))
			}
			for i, s := range shifts {
				if i > 0 && i < len(shifts)-1 && s.End.Sub(s.Start) != 12*time.Hour {
					t.Errorf("shift %d lasts %s, want 12h of real time", i, s.End.Sub(s.Start))
				}
				if want := []string{"ana", "ben"}[i%2]; i > 0 && s.User == shifts[i-1].User {
					t.Errorf("shift %d: %s twice in a row (want alternating, %s)", i, s.User, want)
				}
			}
		})
	}
}

func TestSchedule_WeeklyMonday(t *testing.T) {
	r := rot(Weekly, 1, "10:00", "2026-03-18", "ana", "ben") // a Wednesday
	r.HandoffDay = "monday"
	sc := mustNew(t, oneLayer("Europe/Berlin", r))
	if got := sc.OnCallAt(local(t, "Europe/Berlin", "2026-03-20 12:00")); len(got) != 0 {
		t.Errorf("before the first handoff: %v, want nobody", got)
	}
	want := []Shift{
		{Assignment{"ana", 0, -1}, local(t, "Europe/Berlin", "2026-03-23 10:00"), local(t, "Europe/Berlin", "2026-03-30 10:00")},
		{Assignment{"ben", 0, -1}, local(t, "Europe/Berlin", "2026-03-30 10:00"), local(t, "Europe/Berlin", "2026-04-06 10:00")},
	}
	got := sc.Shifts(local(t, "Europe/Berlin", "2026-03-18 00:00"), local(t, "Europe/Berlin", "2026-04-06 10:00"))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Shifts (-want +got):\n%s", diff)
	}
	if h := want[0].End.Sub(want[0].Start).Hours(); h != 167 {
		t.Errorf("the week across spring forward lasts %vh, want 167", h)
	}
	gaps := sc.Gaps(local(t, "Europe/Berlin", "2026-03-18 00:00"), local(t, "Europe/Berlin", "2026-03-24 00:00"))
	if len(gaps) != 1 || !gaps[0].End.Equal(want[0].Start) {
		t.Errorf("Gaps = %v, want one until the first handoff", gaps)
	}
}

func TestSchedule_BusinessHoursOverAllDay(t *testing.T) {
	const z = "Europe/Berlin"
	sc := mustNew(t, Spec{TimeZone: z, Layers: []LayerSpec{
		{Name: "nights", Rotation: rot(Weekly, 1, "09:00", "2026-03-02", "nina", "noah")},
		{Name: "business hours", Rotation: rot(Daily, 1, "09:00", "2026-03-02", "dana", "dave"),
			Restrictions: []RestrictionSpec{{Days: []string{"mon", "tue", "wed", "thu", "friday"}, Start: "09:00", End: "17:00"}}},
	}})
	tests := []struct {
		at         string
		user       string
		layer      int
		start, end string
	}{
		{"2026-03-02 10:00", "dana", 1, "2026-03-02 09:00", "2026-03-02 17:00"}, // Monday
		{"2026-03-03 16:59", "dave", 1, "2026-03-03 09:00", "2026-03-03 17:00"},
		{"2026-03-03 17:00", "nina", 0, "2026-03-03 17:00", "2026-03-04 09:00"},
		{"2026-03-04 08:59", "nina", 0, "2026-03-03 17:00", "2026-03-04 09:00"},
		{"2026-03-07 12:00", "nina", 0, "2026-03-06 17:00", "2026-03-09 09:00"}, // Saturday: handoff Monday 09:00
		{"2026-03-09 12:00", "dave", 1, "2026-03-09 09:00", "2026-03-09 17:00"},
		{"2026-03-09 18:00", "noah", 0, "2026-03-09 17:00", "2026-03-10 09:00"},
		{"2026-03-30 12:00", "dana", 1, "2026-03-30 09:00", "2026-03-30 17:00"}, // after spring forward
	}
	for _, tt := range tests {
		t.Run(tt.at, func(t *testing.T) {
			got := onCall(t, sc, local(t, z, tt.at))
			want := Shift{Assignment{tt.user, tt.layer, -1}, local(t, z, tt.start), local(t, z, tt.end)}
			if !got.Start.Equal(want.Start) || !got.End.Equal(want.End) || got.Assignment != want.Assignment {
				t.Errorf("OnCallAt = %v, want %v", got, want)
			}
		})
	}
	if gaps := sc.Gaps(local(t, z, "2026-03-02 09:00"), local(t, z, "2026-05-01 00:00")); len(gaps) != 0 {
		t.Errorf("Gaps = %v, want none", gaps)
	}
}

func TestSchedule_FollowTheSun(t *testing.T) {
	region := func(name, zone string, people ...string) LayerSpec {
		return LayerSpec{Name: name, TimeZone: zone, Rotation: rot(Weekly, 1, "09:00", "2026-01-05", people...),
			Restrictions: []RestrictionSpec{{Start: "09:00", End: "17:00"}}}
	}
	sc := mustNew(t, Spec{TimeZone: "UTC", Layers: []LayerSpec{
		region("apac", "Australia/Sydney", "sia"),
		region("emea", "Europe/London", "lea"),
		region("amer", "America/New_York", "amy"),
	}})
	type span struct {
		from, to string
		user     string
	}
	check := func(t *testing.T, day string, want []span) {
		t.Helper()
		from := utc(day + " 00:00")
		got := sc.Timeline(from, from.Add(24*time.Hour))
		var g []span
		for _, s := range got {
			u := ""
			if len(s.OnCall) > 0 {
				u = s.OnCall[0].User
			}
			g = append(g, span{s.Start.Format("15:04"), s.End.Add(-time.Minute).Format("15:04"), u})
		}
		if diff := cmp.Diff(want, g, cmp.AllowUnexported(span{})); diff != "" {
			t.Errorf("Timeline (-want +got):\n%s", diff)
		}
	}
	// June: Sydney +10, London +1, New York -4; New York wins over London
	// where both work.
	check(t, "2026-06-10", []span{{"00:00", "06:59", "sia"}, {"07:00", "07:59", ""}, {"08:00", "12:59", "lea"},
		{"13:00", "20:59", "amy"}, {"21:00", "22:59", ""}, {"23:00", "23:59", "sia"}})
	// January: Sydney +11, London +0, New York -5.
	check(t, "2026-01-14", []span{{"00:00", "05:59", "sia"}, {"06:00", "08:59", ""}, {"09:00", "13:59", "lea"},
		{"14:00", "21:59", "amy"}, {"22:00", "23:59", "sia"}})
	gaps := sc.Gaps(utc("2026-06-10 00:00"), utc("2026-06-11 00:00"))
	want := []Interval{{utc("2026-06-10 07:00"), utc("2026-06-10 08:00")}, {utc("2026-06-10 21:00"), utc("2026-06-10 23:00")}}
	if diff := cmp.Diff(want, gaps); diff != "" {
		t.Errorf("Gaps (-want +got):\n%s", diff)
	}
}

func TestSchedule_Overrides(t *testing.T) {
	const z = "UTC"
	day := func(h string) time.Time { return utc("2026-05-04 " + h) }
	spec := Spec{TimeZone: z, Layers: []LayerSpec{{Rotation: rot(Daily, 1, "00:00", "2026-05-04", "ana", "ben")}},
		Overrides: []OverrideSpec{
			{Kind: Replace, User: "cho", Start: day("10:00"), End: day("12:00")},                  // 0
			{Kind: Add, User: "dan", Start: day("11:00"), End: day("14:00")},                      // 1
			{Kind: Remove, User: "ana", Start: day("15:00"), End: day("16:00")},                   // 2
			{Kind: Replace, User: "eve", Start: day("11:30"), End: day("12:30")},                  // 3: later, overlaps 0
			{Kind: Replace, User: "fay", Replaces: "dan", Start: day("13:00"), End: day("13:30")}, // 4
			{Kind: Replace, User: "gus", Replaces: "ben", Start: day("13:00"), End: day("13:30")}, // 5: ben is not on call
			{Kind: Add, User: "ana", Start: day("17:00"), End: day("18:00")},                      // 6: already on call
		}}
	sc := mustNew(t, spec)
	tests := []struct {
		at   string
		want []Assignment
	}{
		{"09:00", []Assignment{{"ana", 0, -1}}},
		{"10:00", []Assignment{{"cho", -1, 0}}},
		{"11:00", []Assignment{{"cho", -1, 0}, {"dan", -1, 1}}},
		{"11:30", []Assignment{{"eve", -1, 3}}}, // the later replace wins, the earlier add is replaced too
		{"12:00", []Assignment{{"eve", -1, 3}}},
		{"12:30", []Assignment{{"ana", 0, -1}, {"dan", -1, 1}}},
		{"13:00", []Assignment{{"ana", 0, -1}, {"fay", -1, 4}}},
		{"15:00", nil},
		{"17:00", []Assignment{{"ana", -1, 6}}},
		{"18:00", []Assignment{{"ana", 0, -1}}},
	}
	for _, tt := range tests {
		var got []Assignment
		for _, s := range sc.OnCallAt(day(tt.at)) {
			got = append(got, s.Assignment)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("OnCallAt(%s) (-want +got):\n%s", tt.at, diff)
		}
	}
	s := sc.OnCallAt(day("12:45"))
	if !s[0].Start.Equal(day("12:30")) || !s[0].End.Equal(day("15:00")) || !s[1].Start.Equal(day("12:30")) || !s[1].End.Equal(day("13:00")) {
		t.Errorf("OnCallAt(12:45) = %v, want ana [12:30, 15:00) and dan [12:30, 13:00)", s)
	}
	if s := sc.OnCallAt(day("09:00")); !s[0].Start.Equal(day("00:00")) || !s[0].End.Equal(day("10:00")) {
		t.Errorf("OnCallAt(09:00) = %v, want ana [00:00, 10:00)", s)
	}
	if gaps := sc.Gaps(day("00:00"), utc("2026-05-05 00:00")); !cmp.Equal(gaps, []Interval{{day("15:00"), day("16:00")}}) {
		t.Errorf("Gaps = %v, want the removal 15:00–16:00", gaps)
	}
	ws := sc.Warnings()
	if len(ws) != 1 || ws[0].Field != "overrides[3]" || !strings.Contains(ws[0].Message, "overrides[0]") {
		t.Errorf("Warnings = %v, want overrides[3] overlapping overrides[0]", ws)
	}
	// Same-slot overlaps of every kind are reported; different slots not.
	spec.Overrides = append(spec.Overrides,
		OverrideSpec{Kind: Add, User: "dan", Start: day("13:59"), End: day("15:00")},
		OverrideSpec{Kind: Remove, User: "ana", Start: day("14:00"), End: day("15:00")}, // touches, no overlap
	)
	if ws := mustNew(t, spec).Warnings(); len(ws) != 2 || ws[1].Field != "overrides[7]" {
		t.Errorf("Warnings = %v, want overrides[3] and overrides[7]", ws)
	}
}

func TestSchedule_Gaps(t *testing.T) {
	// "Nobody is on call Sat 02:00–08:00": the layer skips that window.
	sc := mustNew(t, Spec{TimeZone: "Europe/Berlin", Layers: []LayerSpec{{
		Rotation: rot(Weekly, 1, "09:00", "2026-06-01", "ana", "ben"),
		Restrictions: []RestrictionSpec{
			{Days: []string{"mon", "tue", "wed", "thu", "fri", "sun"}, Start: "00:00", End: "24:00"},
			{Days: []string{"sat"}, Start: "08:00", End: "02:00"}, // runs into Sunday
			{Days: []string{"sat"}, Start: "00:00", End: "02:00"},
		},
	}}})
	z := "Europe/Berlin"
	got := sc.Gaps(local(t, z, "2026-06-01 09:00"), local(t, z, "2026-06-15 09:00"))
	want := []Interval{
		{local(t, z, "2026-06-06 02:00"), local(t, z, "2026-06-06 08:00")},
		{local(t, z, "2026-06-13 02:00"), local(t, z, "2026-06-13 08:00")},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Gaps (-want +got):\n%s", diff)
	}
	// A temporary layer: nobody after its end.
	sc = mustNew(t, Spec{TimeZone: z, Layers: []LayerSpec{{Rotation: rot(Daily, 1, "09:00", "2026-06-01", "ana"), End: "2026-06-03T12:00"}}})
	got = sc.Gaps(local(t, z, "2026-06-01 09:00"), local(t, z, "2026-06-05 00:00"))
	if want := []Interval{{local(t, z, "2026-06-03 12:00"), local(t, z, "2026-06-05 00:00")}}; !cmp.Equal(got, want) {
		t.Errorf("Gaps = %v, want %v", got, want)
	}
}

func TestSchedule_EpochKeepsHistory(t *testing.T) {
	const z = "Europe/Berlin"
	before := mustNew(t, oneLayer(z, rot(Daily, 1, "09:00", "2026-01-01", "ana", "ben", "cho")))
	// Dan joins from 2026-02-10: the old list moves to history.
	r := rot(Daily, 1, "09:00", "2026-01-01", "ana", "ben", "cho", "dan")
	r.Epoch = "2026-02-10"
	r.History = []EraSpec{{Participants: []string{"ana", "ben", "cho"}}}
	after := mustNew(t, oneLayer(z, r))
	// Without an epoch, the new list rewrites the past.
	rewritten := mustNew(t, oneLayer(z, rot(Daily, 1, "09:00", "2026-01-01", "ana", "ben", "cho", "dan")))

	from, epoch := local(t, z, "2026-01-01 09:00"), local(t, z, "2026-02-10 09:00")
	if diff := cmp.Diff(before.Shifts(from, epoch), after.Shifts(from, epoch)); diff != "" {
		t.Errorf("history changed (-before +after):\n%s", diff)
	}
	if cmp.Equal(before.Shifts(from, epoch), rewritten.Shifts(from, epoch)) {
		t.Error("changing participants without an epoch kept history; the test shows nothing")
	}
	var users []string
	for _, s := range after.Shifts(epoch, epoch.Add(5*24*time.Hour)) {
		users = append(users, s.User)
	}
	if want := []string{"ana", "ben", "cho", "dan", "ana"}; !slices.Equal(users, want) {
		t.Errorf("from the epoch: %v, want %v", users, want)
	}
	// Removing someone works the same way: cho leaves from 2026-03-02 12:00,
	// and the next handoff (03-03 09:00) starts the new list.
	r2 := rot(Daily, 1, "09:00", "2026-01-01", "ana", "ben", "dan")
	r2.Epoch = "2026-03-02T12:00"
	r2.History = append(r.History, EraSpec{Epoch: r.Epoch, Participants: r.Participants})
	after2 := mustNew(t, oneLayer(z, r2))
	cut := local(t, z, "2026-03-03 09:00")
	if diff := cmp.Diff(after.Shifts(from, cut), after2.Shifts(from, cut)); diff != "" {
		t.Errorf("history changed (-before +after):\n%s", diff)
	}
	if s := onCall(t, after2, cut); s.User != "ana" {
		t.Errorf("first shift of the new list: %s, want ana", s.User)
	}
}

func TestSchedule_NextHandoffs(t *testing.T) {
	sc := mustNew(t, Spec{TimeZone: "UTC", Layers: []LayerSpec{{Rotation: rot(Daily, 1, "09:00", "2026-05-01", "ana", "ben")}},
		Overrides: []OverrideSpec{{Kind: Add, User: "cho", Start: utc("2026-05-01 12:00"), End: utc("2026-05-01 13:00")}}})
	got := sc.NextHandoffs(utc("2026-05-01 10:00"), 3)
	want := []Handoff{
		{At: utc("2026-05-01 12:00"), On: []string{"cho"}},
		{At: utc("2026-05-01 13:00"), Off: []string{"cho"}},
		{At: utc("2026-05-02 09:00"), Off: []string{"ana"}, On: []string{"ben"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("NextHandoffs (-want +got):\n%s", diff)
	}
	// An override of ana by ana's own layer is not a handoff.
	sc = mustNew(t, Spec{TimeZone: "UTC", Layers: []LayerSpec{{Rotation: rot(Daily, 1, "09:00", "2026-05-01", "ana", "ben")}},
		Overrides: []OverrideSpec{{Kind: Add, User: "ana", Start: utc("2026-05-01 12:00"), End: utc("2026-05-01 13:00")}}})
	if got := sc.NextHandoffs(utc("2026-05-01 10:00"), 1); len(got) != 1 || !got[0].At.Equal(utc("2026-05-02 09:00")) {
		t.Errorf("NextHandoffs = %v, want the handoff of 05-02 09:00 only", got)
	}
}

func TestSpec_Validate(t *testing.T) {
	good := func() Spec {
		return Spec{TimeZone: "Europe/Berlin", Layers: []LayerSpec{
			{Rotation: rot(Daily, 1, "09:00", "2026-01-01", "ana")},
			{Rotation: rot(Weekly, 1, "09:00", "2026-01-01", "ben"), Restrictions: []RestrictionSpec{{Start: "09:00", End: "17:00"}}},
		}, Overrides: []OverrideSpec{{User: "cho", Start: utc("2026-01-02 00:00"), End: utc("2026-01-03 00:00")}}}
	}
	tests := []struct {
		name   string
		change func(*Spec)
		field  string
	}{
		{"no zone", func(s *Spec) { s.TimeZone = "" }, "time_zone"},
		{"unknown zone", func(s *Spec) { s.TimeZone = "Europe/Atlantis" }, "time_zone"},
		{"Local zone", func(s *Spec) { s.TimeZone = "Local" }, "time_zone"},
		{"path in zone", func(s *Spec) { s.TimeZone = "../../etc/passwd" }, "time_zone"},
		{"unknown layer zone", func(s *Spec) { s.Layers[1].TimeZone = "Mars/Olympus" }, "layers[1].time_zone"},
		{"no layers", func(s *Spec) { s.Layers = nil }, "layers"},
		{"no participants", func(s *Spec) { s.Layers[1].Rotation.Participants = nil }, "layers[1].rotation.participants"},
		{"empty participant", func(s *Spec) { s.Layers[0].Rotation.Participants = []string{"ana", ""} }, "layers[0].rotation.participants[1]"},
		{"no kind", func(s *Spec) { s.Layers[0].Rotation.Kind = "" }, "layers[0].rotation.kind"},
		{"bad kind", func(s *Spec) { s.Layers[0].Rotation.Kind = "monthly" }, "layers[0].rotation.kind"},
		{"negative every", func(s *Spec) { s.Layers[0].Rotation.Every = -1 }, "layers[0].rotation.every"},
		{"custom without length", func(s *Spec) { s.Layers[0].Rotation.Kind = Custom; s.Layers[0].Rotation.Every = 0 }, "layers[0].rotation.length"},
		{"custom zero length", func(s *Spec) {
			s.Layers[0].Rotation.Kind, s.Layers[0].Rotation.Every, s.Layers[0].Rotation.Length = Custom, 0, "0s"
		}, "layers[0].rotation.length"},
		{"custom too short", func(s *Spec) {
			s.Layers[0].Rotation.Kind, s.Layers[0].Rotation.Every, s.Layers[0].Rotation.Length = Custom, 0, "5m"
		}, "layers[0].rotation.length"},
		{"length on daily", func(s *Spec) { s.Layers[0].Rotation.Length = "36h" }, "layers[0].rotation.length"},
		{"bad handoff time", func(s *Spec) { s.Layers[0].Rotation.HandoffTime = "9am" }, "layers[0].rotation.handoff_time"},
		{"handoff 24:00", func(s *Spec) { s.Layers[0].Rotation.HandoffTime = "24:00" }, "layers[0].rotation.handoff_time"},
		{"handoff day on daily", func(s *Spec) { s.Layers[0].Rotation.HandoffDay = "monday" }, "layers[0].rotation.handoff_day"},
		{"bad handoff day", func(s *Spec) { s.Layers[1].Rotation.HandoffDay = "funday" }, "layers[1].rotation.handoff_day"},
		{"no start", func(s *Spec) { s.Layers[0].Rotation.Start = "" }, "layers[0].rotation.start"},
		{"bad start", func(s *Spec) { s.Layers[0].Rotation.Start = "2026-02-30" }, "layers[0].rotation.start"},
		{"history without epoch", func(s *Spec) {
			s.Layers[0].Rotation.History = []EraSpec{{Participants: []string{"x"}}}
		}, "layers[0].rotation.epoch"},
		{"later history without epoch", func(s *Spec) {
			s.Layers[0].Rotation.Epoch = "2026-03-01"
			s.Layers[0].Rotation.History = []EraSpec{{Participants: []string{"x"}}, {Participants: []string{"y"}}}
		}, "layers[0].rotation.history[1].epoch"},
		{"epochs out of order", func(s *Spec) {
			s.Layers[0].Rotation.Epoch = "2026-02-01"
			s.Layers[0].Rotation.History = []EraSpec{{Participants: []string{"x"}}, {Epoch: "2026-03-01", Participants: []string{"y"}}}
		}, "layers[0].rotation.epoch"},
		{"bad restriction day", func(s *Spec) { s.Layers[1].Restrictions[0].Days = []string{"mon", "someday"} }, "layers[1].restrictions[0].days[1]"},
		{"bad restriction end", func(s *Spec) { s.Layers[1].Restrictions[0].End = "25:00" }, "layers[1].restrictions[0].end"},
		{"layer ends before it starts", func(s *Spec) { s.Layers[1].End = "2025-12-31" }, "layers[1].end"},
		{"override without user", func(s *Spec) { s.Overrides[0].User = "" }, "overrides[0].user"},
		{"override ends before it starts", func(s *Spec) { s.Overrides[0].End = s.Overrides[0].Start.Add(-time.Hour) }, "overrides[0].end"},
		{"override of zero length", func(s *Spec) { s.Overrides[0].End = s.Overrides[0].Start }, "overrides[0].end"},
		{"override bad kind", func(s *Spec) { s.Overrides[0].Kind = "swap" }, "overrides[0].kind"},
		{"replace self", func(s *Spec) { s.Overrides[0].Replaces = "cho" }, "overrides[0].replaces"},
		{"replaces on add", func(s *Spec) { s.Overrides[0].Kind, s.Overrides[0].Replaces = Add, "ana" }, "overrides[0].replaces"},
	}
	if err := good().Validate(); err != nil {
		t.Fatalf("the good spec: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := good()
			tt.change(&s)
			err := s.Validate()
			if !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != tt.field {
				t.Errorf("Validate() = %v (field %q), want Invalid on %s", err, errs.FieldOf(err), tt.field)
			}
		})
	}
}

// TestSchedule_OnCallAtMatchesTimeline checks the two ways of asking on
// a schedule with everything at once.
func TestSchedule_OnCallAtMatchesTimeline(t *testing.T) {
	sc := mustNew(t, richSpec(3))
	from, to := utc("2026-03-20 00:00"), utc("2026-04-10 00:00")
	spans := sc.Timeline(from, to)
	checkTimeline(t, sc, from, to, spans)
	for at := from; at.Before(to); at = at.Add(37 * time.Minute) {
		i, _ := slices.BinarySearchFunc(spans, at, func(s Span, at time.Time) int {
			switch {
			case !s.End.After(at):
				return -1
			case s.Start.After(at):
				return 1
			}
			return 0
		})
		var got []Assignment
		for _, s := range sc.OnCallAt(at) {
			got = append(got, s.Assignment)
			if s.Start.After(at) || !s.End.After(at) {
				t.Fatalf("OnCallAt(%s): %v does not contain the instant", at, s)
			}
		}
		if !slices.Equal(got, spans[i].OnCall) {
			t.Fatalf("OnCallAt(%s) = %v, timeline says %v", at, got, spans[i].OnCall)
		}
	}
}

// richSpec is a schedule with every feature; seed varies it.
func richSpec(seed int) Spec {
	base := utc("2026-03-25 00:00")
	var os []OverrideSpec
	for i := range 12 {
		os = append(os, OverrideSpec{
			Kind: []string{Replace, Add, Remove}[(i+seed)%3], User: fmt.Sprintf("u%d", (i*7+seed)%5),
			Start: base.Add(time.Duration(i*13+seed) * time.Hour), End: base.Add(time.Duration(i*13+seed+5+i%4) * time.Hour),
		})
	}
	return Spec{TimeZone: "Europe/Berlin", Layers: []LayerSpec{
		{Rotation: rot(Weekly, 1, "09:00", "2026-03-02", "u0", "u1", "u2")},
		{Rotation: rot(Hourly, 12, "02:30", "2026-03-29", "u3", "u4")},
		{Rotation: RotationSpec{Kind: Custom, Length: "31h", HandoffTime: "02:30", Start: "2026-03-28", Participants: []string{"u1", "u3"}},
			TimeZone: "America/New_York", Restrictions: []RestrictionSpec{{Days: []string{"sat", "sun"}, Start: "22:00", End: "06:00"}}},
		{Rotation: rot(Daily, 2, "02:30", "2026-03-25", "u2", "u4", "u0"), End: "2026-04-05T02:30",
			Restrictions: []RestrictionSpec{{Days: []string{"mon", "tue", "wed", "thu", "fri"}, Start: "09:00", End: "17:00"}}},
	}, Overrides: os}
}

// checkTimeline checks the invariants of a rendering of [from, to): the
// spans cover it without gaps or overlaps, adjacent spans differ, one
// person appears once per span, and Shifts and Gaps agree with the spans.
func checkTimeline(t testing.TB, sc *Schedule, from, to time.Time, spans []Span) {
	t.Helper()
	if !from.Before(to) {
		if len(spans) != 0 {
			t.Fatalf("empty range rendered as %v", spans)
		}
		return
	}
	if len(spans) == 0 || !spans[0].Start.Equal(from) || !spans[len(spans)-1].End.Equal(to) {
		t.Fatalf("timeline of [%s, %s) starts or ends elsewhere: %d spans", from, to, len(spans))
	}
	covered := map[string]time.Duration{}
	for i, s := range spans {
		if !s.End.After(s.Start) {
			t.Fatalf("span %d is empty: %v", i, s)
		}
		if i > 0 && (!spans[i-1].End.Equal(s.Start) || slices.Equal(spans[i-1].OnCall, s.OnCall)) {
			t.Fatalf("span %d does not follow span %d or repeats it: %v %v", i, i-1, spans[i-1], s)
		}
		seen := map[string]bool{}
		for _, a := range s.OnCall {
			if seen[a.User] {
				t.Fatalf("span %d has %s twice", i, a.User)
			}
			seen[a.User] = true
			covered[a.User] += s.End.Sub(s.Start)
		}
	}
	byUser := map[string][]Shift{}
	for _, s := range sc.Shifts(from, to) {
		byUser[s.User] = append(byUser[s.User], s)
	}
	for u, ss := range byUser {
		var total time.Duration
		for i, s := range ss {
			total += s.End.Sub(s.Start)
			if i > 0 && ss[i-1].End.After(s.Start) {
				t.Fatalf("%s has overlapping shifts %v and %v", u, ss[i-1], s)
			}
		}
		if total != covered[u] {
			t.Fatalf("%s: shifts total %s, timeline %s", u, total, covered[u])
		}
	}
}

func TestSchedule_CustomAndNightWindowAcrossDST(t *testing.T) {
	const z = "Europe/Berlin"
	// A custom 36h rotation: real elapsed time, whatever the clocks do.
	sc := mustNew(t, oneLayer(z, RotationSpec{Kind: Custom, Length: "36h", HandoffTime: "08:00", Start: "2026-03-27", Participants: []string{"ana", "ben"}}))
	want := []time.Time{utc("2026-03-27 07:00"), utc("2026-03-28 19:00"), utc("2026-03-30 07:00"), utc("2026-03-31 19:00")}
	shifts := sc.Shifts(want[0], want[3])
	if len(shifts) != 3 {
		t.Fatalf("Shifts = %v", shifts)
	}
	for i, s := range shifts {
		if !s.Start.Equal(want[i]) || !s.End.Equal(want[i+1]) {
			t.Errorf("shift %d = [%s, %s), want [%s, %s)", i, s.Start, s.End, want[i], want[i+1])
		}
	}
	// A night window 22:00–06:00 across spring forward lasts 7 hours, across
	// fall back 9.
	sc = mustNew(t, Spec{TimeZone: z, Layers: []LayerSpec{{
		Rotation:     rot(Daily, 1, "22:00", "2026-03-01", "nox"),
		Restrictions: []RestrictionSpec{{Days: []string{"sat"}, Start: "22:00", End: "06:00"}},
	}}})
	for _, tc := range []struct {
		at         time.Time
		start, end time.Time
		wantHours  float64
	}{
		{utc("2026-03-29 00:30"), utc("2026-03-28 21:00"), utc("2026-03-29 04:00"), 7},
		{utc("2026-10-25 00:30"), utc("2026-10-24 20:00"), utc("2026-10-25 05:00"), 9},
	} {
		got := onCall(t, sc, tc.at)
		if !got.Start.Equal(tc.start) || !got.End.Equal(tc.end) || got.End.Sub(got.Start).Hours() != tc.wantHours {
			t.Errorf("OnCallAt(%s) = [%s, %s), want [%s, %s) (%vh)", tc.at, got.Start, got.End, tc.start, tc.end, tc.wantHours)
		}
	}
}
