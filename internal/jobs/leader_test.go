package jobs_test

import (
	"context"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
	"groundcrew.dev/groundcrew/internal/jobs"
)

func TestLeader(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clk := clock.NewFake(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
		a := jobs.NewLeader(d, clk, "dispatch", "a", 15*time.Second, nil)
		b := jobs.NewLeader(d, clk, "dispatch", "b", 15*time.Second, nil)
		other := jobs.NewLeader(d, clk, "another-loop", "b", 15*time.Second, nil)
		if !a.Held(ctx) || b.Held(ctx) {
			t.Fatal("a should lead, b not")
		}
		if !other.Held(ctx) {
			t.Fatal("leases of other names are independent")
		}
		// a renews while it runs; b never gets in.
		for range 10 {
			clk.Advance(6 * time.Second)
			if !a.Held(ctx) || b.Held(ctx) {
				t.Fatal("a renewing should keep the lease")
			}
		}
		// a stops renewing (dies): b takes over once the lease expires.
		clk.Advance(10 * time.Second)
		if b.Held(ctx) {
			t.Fatal("b took the lease before it expired")
		}
		clk.Advance(6 * time.Second)
		if !b.Held(ctx) {
			t.Fatal("b should lead after a's lease expired")
		}
		if a.Held(ctx) {
			t.Fatal("a still believes it leads")
		}
		// Release hands over at once.
		b.Release(ctx)
		if !a.Held(ctx) {
			t.Fatal("a should lead after b released")
		}
	})
}
