package sched_test

import (
	"context"
	"fmt"
	"time"

	"groundcrew.dev/groundcrew/internal/check/sched"
	"groundcrew.dev/groundcrew/internal/clock"
)

func Example() {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := sched.New(sched.Options{
		Clock: clk,
		Run: func(ctx context.Context, id string, slot time.Time) {
			fmt.Println(id, "runs for slot", slot.Format(time.TimeOnly), "at", clk.Now().Format(time.TimeOnly))
		},
	})
	if err := s.Set([]sched.Item{{ID: "api-health", Interval: 30 * time.Second}}); err != nil {
		panic(err)
	}
	if err := s.Start(ctx); err != nil {
		panic(err)
	}
	defer s.Stop(ctx)

	fmt.Println("offset", sched.Offset("api-health", 30*time.Second))
	for range 3 {
		clk.Set(sched.NextSlot("api-health", 30*time.Second, clk.Now()))
		_ = s.WaitIdle(ctx) // every run due by now has finished
	}
	// Output:
	// offset 13.137805s
	// api-health runs for slot 00:00:13 at 00:00:13
	// api-health runs for slot 00:00:43 at 00:00:43
	// api-health runs for slot 00:01:13 at 00:01:13
}
