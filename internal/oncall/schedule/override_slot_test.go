package schedule

import (
	"testing"
	"time"
)

// TestOverride_LaterReplaceOfSamePersonWins checks the rule the overlap
// warning states: of two overlapping replacements of the same person, the
// later-created is the one on call, even though the earlier one already
// took that person's place.
func TestOverride_LaterReplaceOfSamePersonWins(t *testing.T) {
	s := oneLayer("UTC", rot(Daily, 1, "09:00", "2026-03-02", "ben"))
	at := func(h int) time.Time { return time.Date(2026, 3, 10, h, 0, 0, 0, time.UTC) }
	s.Overrides = []OverrideSpec{
		{User: "cho", Replaces: "ben", Start: at(10), End: at(16)},
		{User: "ana", Replaces: "ben", Start: at(12), End: at(14)},
		{User: "cho", Replaces: "ben", Start: at(13), End: at(14)}, // back to cho, who holds the slot already
	}
	sc := mustNew(t, s)
	if len(sc.Warnings()) == 0 {
		t.Errorf("no warning for overlapping replacements")
	}
	for _, tc := range []struct {
		hour int
		want string
		src  string
	}{{11, "cho", "overrides[0]"}, {12, "ana", "overrides[1]"}, {13, "cho", "overrides[2]"}, {14, "cho", "overrides[0]"}, {16, "ben", "layers[0]"}} {
		got := sc.OnCallAt(at(tc.hour))
		if len(got) != 1 || got[0].User != tc.want || got[0].Source() != tc.src {
			t.Errorf("%02d:00: %+v, want only %s from %s", tc.hour, got, tc.want, tc.src)
		}
	}
}
