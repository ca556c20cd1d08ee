package sched

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/clock"
)

// BenchmarkScheduler10k runs 10,000 items every second on the real clock
// with a Run that does nothing, for three seconds per iteration, and
// reports what the scheduler itself costs: runs per second, lateness, and
// process CPU time (user+system, from getrusage) per run.
func BenchmarkScheduler10k(b *testing.B) {
	const n, iv, span = 10_000, time.Second, 3 * time.Second
	items := make([]Item, n)
	for i := range items {
		items[i] = Item{ID: fmt.Sprintf("bench-%d", i), Interval: iv}
	}
	var runs, cpu time.Duration
	var worstP99, worstMax time.Duration
	var skipped, missed uint64
	var elapsed time.Duration
	for range b.N {
		s := New(Options{Run: func(context.Context, string, time.Time) {}})
		if err := s.Set(items); err != nil {
			b.Fatal(err)
		}
		cpu0 := cpuTime()
		t0 := clock.Real{}.Now()
		if err := s.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		for range span / (500 * time.Millisecond) {
			<-clock.Real{}.NewTimer(500 * time.Millisecond).C()
			st := s.Stats()
			worstP99 = max(worstP99, st.Lateness.P99)
			worstMax = max(worstMax, st.Lateness.Max)
		}
		st := s.Stats()
		if err := s.Stop(context.Background()); err != nil {
			b.Fatal(err)
		}
		elapsed += clock.Real{}.Now().Sub(t0)
		cpu += cpuTime() - cpu0
		runs += time.Duration(st.Runs)
		skipped += st.Skipped
		missed += st.Missed
	}
	b.ReportMetric(float64(runs)/elapsed.Seconds(), "runs/s")
	b.ReportMetric(float64(worstP99)/float64(time.Millisecond), "p99-late-ms")
	b.ReportMetric(float64(worstMax)/float64(time.Millisecond), "max-late-ms")
	b.ReportMetric(float64(cpu)/float64(time.Microsecond)/float64(runs), "cpu-µs/run")
	b.ReportMetric(float64(skipped+missed), "skipped+missed")
}

// cpuTime returns the user and system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
