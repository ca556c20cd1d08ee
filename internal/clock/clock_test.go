package clock

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestFake_FiresDueTimersInDeadlineOrder(t *testing.T) {
	f := NewFake(t0)
	var order []string
	for _, tc := range []struct {
		name string
		d    time.Duration
	}{{"3s", 3 * time.Second}, {"1s", time.Second}, {"2s-first", 2 * time.Second}, {"2s-second", 2 * time.Second}, {"9s", 9 * time.Second}} {
		f.AfterFunc(tc.d, func() { order = append(order, tc.name) })
	}
	ch := f.NewTimer(1500 * time.Millisecond)
	f.Advance(5 * time.Second)
	if want := []string{"1s", "2s-first", "2s-second", "3s"}; !slices.Equal(order, want) {
		t.Errorf("fired %v, want %v", order, want)
	}
	select {
	case got := <-ch.C():
		if !got.Equal(t0.Add(5 * time.Second)) {
			t.Errorf("timer sent %v, want the clock's time %v", got, t0.Add(5*time.Second))
		}
	default:
		t.Error("channel timer did not fire")
	}
	if n := f.Timers(); n != 1 {
		t.Errorf("%d timers left, want 1 (the 9 s one)", n)
	}
	f.Set(t0.Add(9*time.Second - 1))
	if len(order) != 4 {
		t.Error("a timer fired before its deadline")
	}
	f.Set(t0.Add(9 * time.Second))
	if len(order) != 5 {
		t.Error("the 9 s timer did not fire at its deadline")
	}
}

func TestFake_StopAndReset(t *testing.T) {
	f := NewFake(t0)
	tm := f.NewTimer(time.Second)
	if !tm.Stop() {
		t.Error("Stop of a waiting timer = false, want true")
	}
	if tm.Stop() {
		t.Error("second Stop = true, want false")
	}
	f.Advance(time.Hour)
	select {
	case <-tm.C():
		t.Error("stopped timer fired")
	default:
	}

	if tm.Reset(time.Second) {
		t.Error("Reset of a stopped timer = true, want false")
	}
	f.Advance(time.Second) // fires; its value waits in the channel
	if tm.Reset(time.Minute) {
		t.Error("Reset of a fired timer = true, want false")
	}
	select {
	case <-tm.C():
		t.Error("stale value received after Reset")
	default:
	}
	f.Advance(time.Minute)
	if got := <-tm.C(); !got.Equal(f.Now()) {
		t.Errorf("reset timer sent %v, want %v", got, f.Now())
	}

	ran := false
	af := f.AfterFunc(time.Second, func() { ran = true })
	if !af.Reset(2 * time.Second) {
		t.Error("Reset of a waiting AfterFunc = false, want true")
	}
	f.Advance(time.Second)
	if ran {
		t.Error("AfterFunc ran at its old deadline after Reset")
	}
	f.Advance(time.Second)
	if !ran {
		t.Error("AfterFunc did not run at its new deadline")
	}
	if af.C() != nil {
		t.Error("AfterFunc timer has a channel")
	}
}

func TestFake_DueAtCreation(t *testing.T) {
	var f Fake // the zero value works, at the zero time
	select {
	case <-f.NewTimer(0).C():
	default:
		t.Error("NewTimer(0) did not fire at once")
	}
	ran := false
	f.AfterFunc(-time.Second, func() { ran = true })
	if !ran {
		t.Error("AfterFunc with a past deadline did not run before returning")
	}
	if n := f.Timers(); n != 0 {
		t.Errorf("%d timers armed, want 0", n)
	}
}

func TestFake_AfterFuncMayUseTheClock(t *testing.T) {
	// The clock moves first and fires afterwards, so a function sees the
	// final time and a timer it arms counts from there (channel receivers,
	// which run later in other goroutines, see the same time: determinism
	// over stepping through each deadline).
	f := NewFake(t0)
	var got []time.Time
	var tick func()
	tick = func() {
		got = append(got, f.Now())
		f.AfterFunc(time.Second, tick)
	}
	f.AfterFunc(time.Second, tick)
	f.Advance(10 * time.Second)
	f.Advance(time.Second)
	want := []time.Time{t0.Add(10 * time.Second), t0.Add(11 * time.Second)}
	if !slices.EqualFunc(got, want, time.Time.Equal) {
		t.Errorf("re-arming AfterFunc ran at %v, want %v", got, want)
	}
	// A timer armed already due fires within the same move.
	var n int
	f.AfterFunc(time.Second, func() {
		n++
		f.AfterFunc(0, func() { n++ })
	})
	f.Advance(time.Second)
	if n != 2 {
		t.Errorf("due chain ran %d functions, want 2", n)
	}
}

func TestFake_BlockUntil(t *testing.T) {
	f := NewFake(t0)
	var wg sync.WaitGroup
	fired := make(chan time.Time, 1)
	wg.Go(func() {
		tm := f.NewTimer(time.Minute)
		fired <- <-tm.C()
	})
	f.BlockUntil(1) // the goroutine is now waiting on its timer
	f.Advance(time.Minute)
	if got := <-fired; !got.Equal(t0.Add(time.Minute)) {
		t.Errorf("fired with %v, want %v", got, t0.Add(time.Minute))
	}
	wg.Wait()

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := f.BlockUntilContext(ctx, 1); err != context.Canceled {
		t.Errorf("BlockUntilContext with nothing armed and a cancelled context = %v, want context.Canceled", err)
	}
	f.NewTimer(time.Second)
	if err := f.BlockUntilContext(ctx, 1); err != nil {
		t.Errorf("BlockUntilContext with one armed = %v, want nil", err)
	}
}

func TestWithTimeout_Fake(t *testing.T) {
	f := NewFake(t0)
	ctx, cancel := WithTimeout(context.Background(), f, 5*time.Second)
	defer cancel()
	if _, ok := ctx.Deadline(); ok {
		t.Error("a fake-clock timeout has a Deadline; real-time code would misread it")
	}
	f.Advance(5*time.Second - 1)
	if ctx.Err() != nil {
		t.Fatal("context done before its timeout")
	}
	f.Advance(1)
	if ctx.Err() == nil || context.Cause(ctx) != context.DeadlineExceeded {
		t.Errorf("after the timeout: err %v, cause %v; want done with cause DeadlineExceeded", ctx.Err(), context.Cause(ctx))
	}

	ctx2, cancel2 := WithTimeout(context.Background(), f, time.Second)
	cancel2()
	if context.Cause(ctx2) != context.Canceled || f.Timers() != 0 {
		t.Errorf("after cancel: cause %v, %d timers; want Canceled and the timer stopped", context.Cause(ctx2), f.Timers())
	}
}

func TestWithTimeout_Real(t *testing.T) {
	ctx, cancel := WithTimeout(context.Background(), Real{}, time.Millisecond)
	defer cancel()
	if _, ok := ctx.Deadline(); !ok {
		t.Error("a real-clock timeout has no Deadline")
	}
	<-ctx.Done()
	if context.Cause(ctx) != context.DeadlineExceeded {
		t.Errorf("cause %v, want DeadlineExceeded", context.Cause(ctx))
	}
}

func TestReal_Timers(t *testing.T) {
	tm := Real{}.NewTimer(time.Millisecond)
	<-tm.C()
	done := make(chan struct{})
	Real{}.AfterFunc(time.Millisecond, func() { close(done) })
	<-done
	if !(Real{}).NewTimer(time.Hour).Stop() {
		t.Error("Stop of a waiting real timer = false")
	}
}
