package sched

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestOffset_StableAndSpread(t *testing.T) {
	const n, interval = 10_000, 30 * time.Second
	buckets := make([]int, interval/time.Second)
	for i := range n {
		id := fmt.Sprintf("check-%d", i)
		off := Offset(id, interval)
		if off < 0 || off >= interval {
			t.Fatalf("Offset(%q) = %v, outside [0, %v)", id, off, interval)
		}
		if off%time.Microsecond != 0 {
			t.Fatalf("Offset(%q) = %v, not whole microseconds", id, off)
		}
		if again := Offset(id, interval); again != off {
			t.Fatalf("Offset(%q) not stable: %v then %v", id, off, again)
		}
		buckets[off/time.Second]++
	}
	for i, c := range buckets {
		// Uniform gives 333 per bucket, standard deviation ≈ 18: this
		// band is over four deviations wide on either side.
		if c < 250 || c > 420 {
			t.Errorf("second %d of the interval holds %d of %d offsets; want 250..420", i, c, n)
		}
	}
}

func TestOffset_FixedValues(t *testing.T) {
	// Replicas and restarts compute offsets independently: these values
	// must never change, or every check's slots move on upgrade.
	for _, tc := range []struct {
		id       string
		interval time.Duration
		want     time.Duration
	}{
		{"check-1", 30 * time.Second, 17122904 * time.Microsecond},
		{"check-2", 30 * time.Second, 23053991 * time.Microsecond},
		{"0190a9b2-7c3d-7e4f-8a5b-6c7d8e9f0a1b", time.Minute, 15238496 * time.Microsecond},
	} {
		if got := Offset(tc.id, tc.interval); got != tc.want {
			t.Errorf("Offset(%q, %v) = %v, want %v", tc.id, tc.interval, got, tc.want)
		}
	}
	if got := Offset("x", 0); got != 0 {
		t.Errorf("Offset with zero interval = %v, want 0", got)
	}
	if got := Offset("x", 7); got < 0 || got >= 7 {
		t.Errorf("Offset with a 7ns interval = %v, want within [0, 7ns)", got)
	}
}

func TestNextSlot(t *testing.T) {
	const iv = 30 * time.Second
	id := "check-7"
	off := Offset(id, iv)
	epoch := time.Unix(0, 0).UTC()
	slot := func(k int64) time.Time { return epoch.Add(off).Add(time.Duration(k) * iv) }
	k := int64(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).Sub(epoch) / iv)
	for _, tc := range []struct {
		name  string
		after time.Time
		want  time.Time
	}{
		{"exactly at a slot gives the next", slot(k), slot(k + 1)},
		{"just before a slot gives it", slot(k).Add(-time.Nanosecond), slot(k)},
		{"just after a slot gives the next", slot(k).Add(time.Nanosecond), slot(k + 1)},
		{"mid-interval", slot(k).Add(iv / 2), slot(k + 1)},
		{"at the epoch", epoch, slot(0)},
		{"before the epoch", epoch.Add(-time.Hour - time.Second), slot(-120)},
		{"another zone, same instant", slot(k).In(time.FixedZone("X", 5*3600)), slot(k + 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := NextSlot(id, iv, tc.after)
			if !got.Equal(tc.want) || got.Location() != time.UTC {
				t.Errorf("NextSlot(%v) = %v, want %v in UTC", tc.after, got, tc.want)
			}
		})
	}
}

func TestNextSlot_Property(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 10_000 {
		iv := time.Duration(1 + r.Int64N(int64(24*time.Hour)))
		id := fmt.Sprint(r.Uint64())
		after := time.Unix(0, r.Int64N(int64(200*365*24*time.Hour))-int64(50*365*24*time.Hour))
		got := NextSlot(id, iv, after)
		if !got.After(after) || got.Sub(after) > iv {
			t.Fatalf("NextSlot(%q, %v, %v) = %v: not within (after, after+interval]", id, iv, after, got)
		}
		if (got.UnixNano()-int64(Offset(id, iv)))%int64(iv) != 0 {
			t.Fatalf("NextSlot(%q, %v, %v) = %v: not on the item's grid", id, iv, after, got)
		}
	}
}

func TestSlotHeap(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var h slotHeap
	live := map[*entry]bool{}
	for i := range 5000 {
		switch op := r.IntN(4); {
		case op == 0 && len(h) > 0: // remove a random entry
			e := h[r.IntN(len(h))]
			h.remove(e.index)
			delete(live, e)
		case op == 1 && len(h) > 0: // re-slot a random entry
			e := h[r.IntN(len(h))]
			e.next = r.Int64N(1000)
			h.fix(e.index)
		default:
			e := &entry{id: fmt.Sprint(i), next: r.Int64N(1000)}
			h.push(e)
			live[e] = true
		}
		for j, e := range h {
			if e.index != j {
				t.Fatalf("entry at %d records index %d", j, e.index)
			}
			if j > 0 && h.less(j, (j-1)/2) {
				t.Fatalf("heap order broken at %d", j)
			}
		}
	}
	var got []int64
	for len(h) > 0 {
		got = append(got, h[0].next)
		h.remove(0)
	}
	if len(got) != len(live) || !slices.IsSorted(got) {
		t.Fatalf("draining gave %d values (want %d), sorted=%v", len(got), len(live), slices.IsSorted(got))
	}
}
