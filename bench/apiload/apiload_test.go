package main

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var sorted []time.Duration
	for i := 1; i <= 100; i++ {
		sorted = append(sorted, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{
		{.50, 50 * time.Millisecond},
		{.90, 90 * time.Millisecond},
		{.99, 99 * time.Millisecond},
		{1, 100 * time.Millisecond},
		{.001, 1 * time.Millisecond},
	} {
		if got := percentile(sorted, tc.q); got != tc.want {
			t.Errorf("percentile(1..100 ms, %v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	if got := percentile(nil, .5); got != 0 {
		t.Errorf("percentile(nil) = %v, want 0", got)
	}
	if got := percentile([]time.Duration{7}, .99); got != 7 {
		t.Errorf("percentile of one sample = %v, want it", got)
	}
}

func TestParsePhases(t *testing.T) {
	got, err := parsePhases("list, list:20,page:5,get,create@500", 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []phaseSpec{{"list", 100, 0}, {"list", 20, 0}, {"page", 5, 0}, {"get", 100, 0}, {"create", 100, 500}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("phase %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"", "lists", "list:0", "list:x", "get:3", "create@0", "create@x"} {
		if _, err := parsePhases(bad, 100); err == nil {
			t.Errorf("parsePhases(%q) accepted it", bad)
		}
	}
}

func TestNextCursor(t *testing.T) {
	for body, want := range map[string]string{
		`{"items":[{"name":"a"}],"next_cursor":"c3ZjLTAwMDk5"}`: "c3ZjLTAwMDk5",
		`{"items":[]}`: "",
		`{"items":[{"description":"\"next_cursor\":\"fake\""}]}`: "",
	} {
		if got := nextCursor([]byte(body)); got != want {
			t.Errorf("nextCursor(%s) = %q, want %q", body, got, want)
		}
	}
}

func TestSeedNameSortsByIndex(t *testing.T) {
	for _, n := range []int{10, 10000, 123456} {
		if a, b := seedName(9, n), seedName(10, n); a >= b {
			t.Errorf("seedName(9, %d) = %q sorts after seedName(10) = %q", n, a, b)
		}
	}
}
