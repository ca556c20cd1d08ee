package sched

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/clock"
)

// start is a whole hour, so a whole number of every interval used here
// after the Unix epoch.
var start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// run is one call of Run as the test saw it.
type run struct {
	id        string
	slot, now time.Time
}

// harness drives a Scheduler on a fake clock. Every Run call is sent on runs
// and then waits on gate, if gate is set.
type harness struct {
	t    *testing.T
	clk  *clock.Fake
	s    *Scheduler
	runs chan run
}

func newHarness(t *testing.T, opts Options, gate chan struct{}) *harness {
	t.Helper()
	h := &harness{t: t, clk: clock.NewFake(start), runs: make(chan run, 10_000)}
	opts.Clock = h.clk
	opts.Run = func(ctx context.Context, id string, slot time.Time) {
		h.runs <- run{id: id, slot: slot, now: h.clk.Now()}
		if gate != nil {
			select {
			case <-gate:
			case <-ctx.Done():
			}
		}
	}
	h.s = New(opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.s.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return h
}

func (h *harness) set(items ...Item) {
	h.t.Helper()
	if err := h.s.Set(items); err != nil {
		h.t.Fatalf("Set: %v", err)
	}
}

func (h *harness) startScheduler() {
	h.t.Helper()
	if err := h.s.Start(context.Background()); err != nil {
		h.t.Fatalf("Start: %v", err)
	}
}

// idle waits until every slot due now has been handled and every run has
// finished.
func (h *harness) idle() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.s.WaitIdle(ctx); err != nil {
		h.t.Fatalf("WaitIdle: %v (stats %+v)", err, h.s.Stats())
	}
}

// caughtUp waits until every slot due now has been handled (run, queued,
// skipped or not owned), without waiting for runs to finish.
func (h *harness) caughtUp() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.s.wait(ctx, false); err != nil {
		h.t.Fatalf("wait: %v (stats %+v)", err, h.s.Stats())
	}
}

// step advances the clock by d, second by second, waiting for the
// scheduler after each second, and returns the runs it saw.
func (h *harness) step(d time.Duration) []run {
	h.t.Helper()
	for d > 0 {
		s := min(d, time.Second)
		h.clk.Advance(s)
		h.idle()
		d -= s
	}
	return h.drain()
}

func (h *harness) drain() []run {
	var got []run
	for {
		select {
		case r := <-h.runs:
			got = append(got, r)
		default:
			return got
		}
	}
}

func (h *harness) next() run {
	h.t.Helper()
	select {
	case r := <-h.runs:
		return r
	case <-time.After(10 * time.Second):
		h.t.Fatalf("no run started (stats %+v)", h.s.Stats())
		return run{}
	}
}

func TestScheduler_NoDrift(t *testing.T) {
	const intervals, iv = 10_000, 30 * time.Second
	h := newHarness(t, Options{}, nil)
	h.set(Item{ID: "check-1", Interval: iv})
	h.startScheduler()

	off := Offset("check-1", iv)
	first := NextSlot("check-1", iv, start)
	k0 := int64(first.Sub(time.Unix(0, 0)) / iv)
	for i := range intervals {
		want := first.Add(time.Duration(i) * iv)
		h.clk.Set(want)
		r := h.next()
		h.idle()
		k := (r.slot.UnixNano() - int64(off)) / int64(iv)
		if !r.slot.Equal(want) || k != k0+int64(i) || !r.now.Equal(r.slot) || r.slot.Location() != time.UTC {
			t.Fatalf("run %d: slot %v (k=%d), started at %v; want slot and start %v (k=%d) in UTC",
				i, r.slot, k, r.now, want, k0+int64(i))
		}
	}
	if extra := h.drain(); len(extra) > 0 {
		t.Fatalf("%d runs beyond one per slot: %v", len(extra), extra)
	}
	st := h.s.Stats()
	if st.Runs != intervals || st.Skipped != 0 || st.Missed != 0 || st.Lateness.Max != 0 {
		t.Errorf("stats = %+v; want %d runs, nothing skipped or missed, no lateness", st, intervals)
	}
	if n := h.clk.Timers(); n != 1 {
		t.Errorf("%d timers armed on the clock, want 1 (the scheduler's)", n)
	}
}

func TestScheduler_UnevenClockSteps(t *testing.T) {
	// However the clock moves, every slot runs once, in order, on the grid.
	const iv = 10 * time.Second
	h := newHarness(t, Options{}, nil)
	h.set(Item{ID: "a", Interval: iv})
	h.startScheduler()
	steps := []time.Duration{3 * time.Second, 7 * time.Second, 9999 * time.Millisecond, time.Millisecond, 4 * time.Second, 5*time.Second + 999*time.Millisecond}
	var got []run
	for i := range 600 {
		h.clk.Advance(steps[i%len(steps)])
		h.idle()
		got = append(got, h.drain()...)
	}
	want := NextSlot("a", iv, start)
	for i, r := range got {
		if !r.slot.Equal(want) || r.now.Before(r.slot) || r.now.Sub(r.slot) >= iv {
			t.Fatalf("run %d: slot %v started %v; want slot %v, started within one interval", i, r.slot, r.now, want)
		}
		want = want.Add(iv)
	}
	if end := h.clk.Now(); !want.After(end) || want.Sub(end) > iv {
		t.Errorf("next expected slot %v is not the first after the clock's %v: slots were lost", want, end)
	}
}

func TestScheduler_SetWhileRunning(t *testing.T) {
	const iv = 10 * time.Second
	h := newHarness(t, Options{}, nil)
	h.set(Item{ID: "a", Interval: iv}, Item{ID: "b", Interval: iv})
	h.startScheduler()

	perID := func(runs []run) map[string][]time.Time {
		m := map[string][]time.Time{}
		for _, r := range runs {
			m[r.id] = append(m[r.id], r.slot)
		}
		return m
	}
	before := perID(h.step(time.Minute))
	if len(before["a"]) != 6 || len(before["b"]) != 6 || len(before) != 2 {
		t.Fatalf("first minute: runs %v; want a and b six times each", before)
	}

	changed := h.clk.Now()
	// Remove a, slow b to 20 s, add c: in one Set, without a restart.
	h.set(Item{ID: "b", Interval: 2 * iv}, Item{ID: "c", Interval: iv})
	after := perID(h.step(time.Minute))
	if len(after["a"]) != 0 {
		t.Errorf("removed item a ran %d times after the change", len(after["a"]))
	}
	if len(after["c"]) != 6 || !after["c"][0].Equal(NextSlot("c", iv, changed)) {
		t.Errorf("added item c ran at %v; want six slots from %v", after["c"], NextSlot("c", iv, changed))
	}
	b := after["b"]
	if len(b) != 3 || !b[0].Equal(NextSlot("b", 2*iv, changed)) {
		t.Errorf("item b re-slotted to 20 s ran at %v; want three slots from %v", b, NextSlot("b", 2*iv, changed))
	}
	for i := 1; i < len(b); i++ {
		if b[i].Sub(b[i-1]) != 2*iv {
			t.Errorf("item b runs %v and %v are not 20 s apart", b[i-1], b[i])
		}
	}
	if st := h.s.Stats(); st.Items != 2 {
		t.Errorf("Stats.Items = %d, want 2", st.Items)
	}

	// An unchanged item keeps its slots across a Set.
	c := after["c"][len(after["c"])-1]
	h.set(Item{ID: "b", Interval: 2 * iv}, Item{ID: "c", Interval: iv})
	again := perID(h.step(time.Minute))
	if len(again["c"]) != 6 || !again["c"][0].Equal(c.Add(iv)) {
		t.Errorf("unchanged item c ran at %v after a Set; want six slots from %v", again["c"], c.Add(iv))
	}

	// Removing everything stops all runs; the scheduler keeps no timer.
	h.set()
	if got := h.step(time.Minute); len(got) != 0 {
		t.Errorf("%d runs after removing every item", len(got))
	}
}

func TestScheduler_SetRejectsBadItems(t *testing.T) {
	s := New(Options{Clock: clock.NewFake(start), Run: func(context.Context, string, time.Time) {}})
	for _, items := range [][]Item{
		{{ID: "", Interval: time.Second}},
		{{ID: "a", Interval: time.Second}, {ID: "a", Interval: time.Minute}},
		{{ID: "a", Interval: 0}},
		{{ID: "a", Interval: time.Second, Timeout: -1}},
	} {
		if err := s.Set(items); err == nil {
			t.Errorf("Set(%+v) succeeded, want an error", items)
		}
	}
	if st := s.Stats(); st.Items != 0 {
		t.Errorf("a rejected Set left %d items", st.Items)
	}
}

func TestScheduler_SkipsOverrunningItem(t *testing.T) {
	const iv = 10 * time.Second
	var inFlight, maxInFlight atomic.Int32
	gate := make(chan struct{})
	h := newHarness(t, Options{}, nil)
	h.s.run = func(ctx context.Context, id string, slot time.Time) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		if n > maxInFlight.Load() {
			maxInFlight.Store(n)
		}
		h.runs <- run{id: id, slot: slot, now: h.clk.Now()}
		<-gate
	}
	h.set(Item{ID: "slow", Interval: iv, Timeout: time.Hour})
	h.startScheduler()

	first := NextSlot("slow", iv, start)
	h.clk.Set(first)
	if r := h.next(); !r.slot.Equal(first) {
		t.Fatalf("first run for slot %v, want %v", r.slot, first)
	}
	for i := 1; i <= 3; i++ { // the run overruns three more slots
		h.clk.Advance(iv)
		h.caughtUp()
		if st := h.s.Stats(); st.Skipped != uint64(i) || st.Runs != 1 || st.Queued != 0 || st.InFlight != 1 {
			t.Fatalf("after %d overrun slots: stats %+v; want %d skipped, 1 run, 1 in flight, none queued", i, st, i)
		}
	}
	close(gate) // the run ends; the next slot runs normally
	h.idle()
	h.clk.Advance(iv)
	if r := h.next(); !r.slot.Equal(first.Add(4 * iv)) {
		t.Errorf("run after the overrun for slot %v, want %v", r.slot, first.Add(4*iv))
	}
	h.idle()
	if m := maxInFlight.Load(); m != 1 {
		t.Errorf("the item ran %d times at once, want never more than 1", m)
	}
}

func TestScheduler_BoundedConcurrency(t *testing.T) {
	const n, conc, iv = 100, 4, time.Hour
	gate := make(chan struct{})
	var inFlight, maxInFlight atomic.Int32
	h := newHarness(t, Options{Concurrency: conc}, nil)
	h.s.run = func(ctx context.Context, id string, slot time.Time) {
		c := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := maxInFlight.Load(); c > m && !maxInFlight.CompareAndSwap(m, c); m = maxInFlight.Load() {
		}
		h.runs <- run{id: id, slot: slot, now: h.clk.Now()}
		<-gate
	}
	items := make([]Item, n)
	slotOf := map[string]time.Time{}
	for i := range items {
		id := fmt.Sprintf("check-%d", i)
		items[i] = Item{ID: id, Interval: iv}
		slotOf[id] = NextSlot(id, iv, start)
	}
	h.set(items...)
	h.startScheduler()

	// One step of a whole interval makes all 100 due at once.
	t1 := start.Add(iv)
	h.clk.Set(t1)
	var got []run
	for range conc {
		got = append(got, h.next())
	}
	h.caughtUp()
	if st := h.s.Stats(); st.InFlight != conc || st.Queued != n-conc {
		t.Fatalf("with %d workers busy: stats %+v; want %d in flight, %d queued", conc, st, conc, n-conc)
	}
	// The queue waits five more seconds: that wait is lateness, measured.
	t2 := t1.Add(5 * time.Second)
	h.clk.Set(t2)
	h.caughtUp()
	var wantSkipped uint64 // items whose next slot came during the wait
	for _, slot := range slotOf {
		if !slot.Add(iv).After(t2) {
			wantSkipped++
		}
	}
	// Release the runs one at a time: each frees one worker, which takes
	// the oldest queued item.
	for range n - conc {
		gate <- struct{}{}
		got = append(got, h.next())
	}
	close(gate)
	h.idle()

	if m := maxInFlight.Load(); m > conc {
		t.Errorf("%d runs at once, want at most %d", m, conc)
	}
	if len(got) != n {
		t.Fatalf("%d runs, want %d", len(got), n)
	}
	var slots []time.Time
	var maxLate time.Duration
	for i, r := range got {
		if !r.slot.Equal(slotOf[r.id]) {
			t.Errorf("%s ran for slot %v, want %v", r.id, r.slot, slotOf[r.id])
		}
		wantNow := t1
		if i >= conc {
			wantNow = t2
		}
		if !r.now.Equal(wantNow) {
			t.Errorf("run %d (%s) started at %v, want %v", i, r.id, r.now, wantNow)
		}
		maxLate = max(maxLate, r.now.Sub(r.slot))
		slots = append(slots, r.slot)
	}
	// The first conc runs start together, in any order; after them the
	// queue hands out the rest oldest slot first.
	byTime := func(a, b time.Time) int { return a.Compare(b) }
	slices.SortFunc(slots[:conc], byTime)
	if !slices.IsSortedFunc(slots, byTime) {
		t.Errorf("runs did not start in slot order (FIFO): %v", slots)
	}
	st := h.s.Stats()
	if st.Runs != n || st.Lateness.Samples != n || st.Lateness.Max != maxLate || st.Skipped != wantSkipped {
		t.Errorf("stats %+v; want %d runs and lateness samples, max lateness %v, %d skipped", st, n, maxLate, wantSkipped)
	}
}

func TestScheduler_Owns(t *testing.T) {
	const iv = 10 * time.Second
	var mu sync.Mutex
	owned := map[string]bool{"a": true, "b": true}
	h := newHarness(t, Options{Owns: func(id string) bool {
		mu.Lock()
		defer mu.Unlock()
		return owned[id]
	}}, nil)
	h.set(Item{ID: "a", Interval: iv}, Item{ID: "b", Interval: iv}, Item{ID: "c", Interval: iv})
	h.startScheduler()

	ids := func(runs []run) []string {
		var s []string
		for _, r := range runs {
			s = append(s, r.id)
		}
		slices.Sort(s)
		return s
	}
	if got := ids(h.step(iv)); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("owning a and b, ran %v", got)
	}
	if st := h.s.Stats(); st.NotOwned != 1 {
		t.Errorf("NotOwned = %d, want 1", st.NotOwned)
	}
	mu.Lock()
	owned = map[string]bool{"c": true} // the lease moved: ownership is read at each slot
	mu.Unlock()
	if got := ids(h.step(iv)); !slices.Equal(got, []string{"c"}) {
		t.Errorf("owning c, ran %v", got)
	}
	if st := h.s.Stats(); st.NotOwned != 3 || st.Runs != 3 {
		t.Errorf("stats %+v; want 3 not owned, 3 runs", st)
	}
}

func TestScheduler_Timeout(t *testing.T) {
	const iv = 10 * time.Second
	h := newHarness(t, Options{}, nil)
	causes := make(chan error, 1)
	h.s.run = func(ctx context.Context, id string, slot time.Time) {
		h.runs <- run{id: id, slot: slot, now: h.clk.Now()}
		<-ctx.Done()
		causes <- context.Cause(ctx)
	}
	h.set(Item{ID: "hangs", Interval: iv, Timeout: 3 * time.Second})
	h.startScheduler()
	h.clk.Set(NextSlot("hangs", iv, start))
	h.next()
	h.clk.Advance(3*time.Second - time.Nanosecond)
	select {
	case err := <-causes:
		t.Fatalf("run cancelled before its timeout: %v", err)
	default:
	}
	h.clk.Advance(time.Nanosecond)
	if err := <-causes; err != context.DeadlineExceeded {
		t.Errorf("run's context cause = %v, want context.DeadlineExceeded", err)
	}
	h.idle()
	if st := h.s.Stats(); st.TimedOut != 1 || st.InFlight != 0 {
		t.Errorf("stats %+v; want 1 timed out, none in flight", st)
	}
}

func TestScheduler_MissedSlotsRunOnce(t *testing.T) {
	// A clock jump (or a suspended process) of ten intervals runs the
	// latest due slot once, not ten times.
	const iv = 10 * time.Second
	h := newHarness(t, Options{}, nil)
	h.set(Item{ID: "a", Interval: iv})
	h.startScheduler()
	first := NextSlot("a", iv, start)
	h.clk.Set(first.Add(9*iv + iv/2))
	h.idle()
	got := h.drain()
	if len(got) != 1 || !got[0].slot.Equal(first.Add(9*iv)) {
		t.Fatalf("after a jump, runs %v; want one, for slot %v", got, first.Add(9*iv))
	}
	if st := h.s.Stats(); st.Missed != 9 || st.Skipped != 0 {
		t.Errorf("stats %+v; want 9 missed", st)
	}
	h.clk.Advance(iv / 2)
	if r := h.next(); !r.slot.Equal(first.Add(10 * iv)) {
		t.Errorf("next run for slot %v, want %v", r.slot, first.Add(10*iv))
	}
}

func TestScheduler_PanicIsRecovered(t *testing.T) {
	const iv = 10 * time.Second
	h := newHarness(t, Options{}, nil)
	var calls atomic.Int32
	h.s.run = func(ctx context.Context, id string, slot time.Time) {
		if calls.Add(1) == 1 {
			panic("boom")
		}
	}
	h.set(Item{ID: "a", Interval: iv})
	h.startScheduler()
	h.step(2 * iv)
	if st := h.s.Stats(); st.Panics != 1 || st.Runs != 2 || calls.Load() != 2 {
		t.Errorf("stats %+v, %d calls; want a panic recovered and the next slot run", st, calls.Load())
	}
}

func TestScheduler_StopCancelsRuns(t *testing.T) {
	const iv = 10 * time.Second
	h := newHarness(t, Options{Concurrency: 1}, nil)
	causes := make(chan error, 10)
	h.s.run = func(ctx context.Context, id string, slot time.Time) {
		h.runs <- run{id: id, slot: slot, now: h.clk.Now()}
		<-ctx.Done()
		causes <- context.Cause(ctx)
	}
	h.set(Item{ID: "a", Interval: iv}, Item{ID: "b", Interval: iv})
	h.startScheduler()
	h.clk.Advance(iv) // both due; one runs, one is queued
	h.next()
	h.caughtUp()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.s.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := <-causes; err != context.Canceled {
		t.Errorf("in-flight run's context cause = %v, want context.Canceled", err)
	}
	if got := h.drain(); len(got) != 0 {
		t.Errorf("queued runs started after Stop: %v", got)
	}
	if st := h.s.Stats(); st.InFlight != 0 || st.Queued != 0 || st.Runs != 1 {
		t.Errorf("stats after Stop %+v; want 1 run, none in flight or queued", st)
	}
	h.clk.Advance(time.Hour)
	if got := h.drain(); len(got) != 0 {
		t.Errorf("runs after Stop: %v", got)
	}
	if err := h.s.Start(context.Background()); err == nil {
		t.Error("Start after Stop succeeded, want an error")
	}
}

func TestScheduler_RealClock(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for a second of real time")
	}
	const n, iv = 200, 100 * time.Millisecond
	counts := make([]atomic.Int32, n)
	index := map[string]int{}
	items := make([]Item, n)
	for i := range items {
		items[i] = Item{ID: fmt.Sprintf("real-%d", i), Interval: iv}
		index[items[i].ID] = i
	}
	s := New(Options{Run: func(ctx context.Context, id string, slot time.Time) {
		counts[index[id]].Add(1)
	}})
	if err := s.Set(items); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-clock.Real{}.NewTimer(1050 * time.Millisecond).C()
	st := s.Stats()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	for i := range counts {
		if c := counts[i].Load(); c < 8 {
			t.Errorf("%s ran %d times in 1.05 s at a 100 ms interval, want at least 8", items[i].ID, c)
		}
	}
	t.Logf("stats: %+v", st)
	if st.Lateness.P99 >= 50*time.Millisecond {
		t.Errorf("p99 lateness %v, want under 50 ms", st.Lateness.P99)
	}
}

// TestScheduler_Slack: with Slack, a slot with another within the slack
// starts on one wake-up Slack after it, together with every other slot due
// by then; the slots stay on their grid and the lateness counts the wait.
// A lone slot runs on time.
func TestScheduler_Slack(t *testing.T) {
	const iv, slack = 10 * time.Second, 20 * time.Millisecond
	h := newHarness(t, Options{Slack: slack}, nil)
	// Two items whose slots are 10 ms apart, whatever their offsets.
	var a, b string
	for i := 0; b == ""; i++ {
		id := fmt.Sprintf("item-%d", i)
		switch off := Offset(id, iv); {
		case a == "" && off < iv-time.Second:
			a = id
		case a != "" && Offset(a, iv)+5*time.Millisecond <= off && off <= Offset(a, iv)+15*time.Millisecond:
			b = id
		}
	}
	h.set(Item{ID: a, Interval: iv}, Item{ID: b, Interval: iv})
	h.startScheduler()
	first := NextSlot(a, iv, start)
	second := NextSlot(b, iv, start)
	for k := range 3 {
		slotA, slotB := first.Add(time.Duration(k)*iv), second.Add(time.Duration(k)*iv)
		h.clk.Set(slotB) // both due, within the slack of the first
		select {
		case r := <-h.runs:
			t.Fatalf("interval %d: %s ran at %v, before the slack after its slot passed", k, r.id, r.now)
		case <-time.After(50 * time.Millisecond):
		}
		h.clk.Set(slotA.Add(slack))
		got := map[string]run{}
		for range 2 {
			r := h.next()
			got[r.id] = r
		}
		h.idle()
		if ra, rb := got[a], got[b]; !ra.slot.Equal(slotA) || !rb.slot.Equal(slotB) || !ra.now.Equal(slotA.Add(slack)) || !rb.now.Equal(ra.now) {
			t.Fatalf("interval %d: runs %+v; want slots %v and %v, both started at %v", k, got, slotA, slotB, slotA.Add(slack))
		}
	}
	if st := h.s.Stats(); st.Runs != 6 || st.Lateness.Max != slack || st.Missed != 0 {
		t.Errorf("stats = %+v; want 6 runs, lateness at most the slack (%v)", st, slack)
	}

	// A slot with no other within the slack runs on time: waiting would
	// batch nothing.
	lone := newHarness(t, Options{Slack: slack}, nil)
	lone.set(Item{ID: a, Interval: iv})
	lone.startScheduler()
	for k := range 3 {
		slot := first.Add(time.Duration(k) * iv)
		lone.clk.Set(slot)
		if r := lone.next(); r.id != a || !r.slot.Equal(slot) || !r.now.Equal(slot) {
			t.Fatalf("lone slot %d: run %+v, want %s at %v exactly", k, r, a, slot)
		}
		lone.idle()
	}
}
