package check_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/check"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
)

func TestLeases_FairShareAndTakeover(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clk := clock.NewFake(time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC))
		opts := check.LeaseOptions{Shards: 16, TTL: 30 * time.Second}
		a := check.NewLeases(d, clk, "replica-a", opts)
		b := check.NewLeases(d, clk, "replica-b", opts)
		tick := func(l *check.Leases) {
			t.Helper()
			if err := l.Tick(ctx); err != nil {
				t.Fatal(err)
			}
		}
		tick(a)
		if a.Owned() != 16 {
			t.Fatalf("a alone owns %d shards, want 16", a.Owned())
		}
		tick(b) // b announces itself; everything is still a's
		if b.Owned() != 0 {
			t.Fatalf("b owns %d shards while a's leases are live", b.Owned())
		}
		clk.Advance(10 * time.Second)
		tick(a) // a sees two replicas and gives back half
		tick(b)
		if a.Owned() != 8 || b.Owned() != 8 {
			t.Fatalf("split = %d/%d, want 8/8", a.Owned(), b.Owned())
		}
		for i := range 1000 {
			id := fmt.Sprintf("check-%d", i)
			if a.Owns(id) == b.Owns(id) {
				t.Fatalf("%s owned by both or neither", id)
			}
		}
		// a dies: after its leases expire, b takes everything over.
		clk.Advance(10 * time.Second)
		tick(b)
		clk.Advance(25 * time.Second)
		if a.Owned() != 0 {
			t.Fatalf("a still believes it owns %d shards after its leases expired", a.Owned())
		}
		tick(b)
		if b.Owned() != 16 {
			t.Fatalf("b owns %d shards after a died, want 16", b.Owned())
		}
		// A clean stop hands over at once.
		if err := b.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		tick(a)
		if a.Owned() != 16 {
			t.Fatalf("a owns %d shards after b stopped, want 16", a.Owned())
		}
	})
}
