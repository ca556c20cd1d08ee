package sched

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"groundcrew.dev/groundcrew/internal/clock"
)

// Item is one periodic piece of work.
type Item struct {
	ID       string        // unique within a set; also seeds the item's offset
	Interval time.Duration // time between slots; must be positive
	// Timeout bounds each run: Run's context is cancelled (context.Cause
	// reporting context.DeadlineExceeded) this long after the run starts.
	// Zero means Interval.
	Timeout time.Duration
}

// Options configures a Scheduler. Only Run is required.
type Options struct {
	// Clock is the time source; nil means clock.Real.
	Clock clock.Clock
	// Concurrency is the most runs in progress at once; 0 or less means
	// DefaultConcurrency. Due items beyond it wait in a FIFO queue, their
	// lateness measured. Size it to the run rate times the run time:
	// 10,000 checks every 30 s taking 200 ms each keep about 70 busy, and
	// every check stuck until a 10 s timeout adds a third of one.
	Concurrency int
	// Run does one item's work for one slot. Its context is cancelled at
	// the item's timeout and on Stop. Runs of one item never overlap. It
	// should only probe and store the result: anything slow that follows
	// from a result (alerting, notification) belongs on another path, or
	// it delays every queued check. A panic is recovered and logged.
	Run func(ctx context.Context, id string, slot time.Time)
	// Owns, if set, is asked at each slot whether this replica should run
	// the item now (it holds the item's lease); a false skips the slot. It
	// is called from the timer goroutine without the scheduler's lock held,
	// and must be quick: an in-memory lookup.
	Owns func(id string) bool
	// Logger receives panics from Run; nil discards.
	Logger *slog.Logger
	// Slack lets the timer fire up to this long after a slot when another
	// slot falls within it, so that they start together on one wake-up
	// (Linux's timer slack, for the same reason); a lone slot is run on
	// time. 10,000 checks every 30 s are a slot
	// every 3 ms: waking the process for each cost about a third of a
	// check's CPU, mostly in the Go scheduler and futex calls. Runs start
	// up to Slack late (lateness counts it); slots stay on their grid.
	// Zero means exact, as tests with a fake clock need (WaitIdle waits
	// for the timer).
	Slack time.Duration
}

// DefaultSlack is the Slack the server and agent use with the real clock.
const DefaultSlack = 20 * time.Millisecond

// SlackFor returns the Slack to run with on c: DefaultSlack on the real
// clock, none on a fake one (tests advance to exact slots).
func SlackFor(c clock.Clock) time.Duration {
	if clock.IsReal(c) {
		return DefaultSlack
	}
	return 0
}

// DefaultConcurrency is the Concurrency used when Options leaves it zero.
const DefaultConcurrency = 64

// Scheduler runs a set of items on their slots. Create it with New, give it
// items with Set (before or after Start), Start it once and Stop it once.
// All methods are safe for concurrent use.
type Scheduler struct {
	clk   clock.Clock
	conc  int
	run   func(context.Context, string, time.Time)
	owns  func(string) bool
	log   *slog.Logger
	slack time.Duration

	mu      sync.Mutex
	state   int               // notStarted, started or stopped
	items   map[string]*entry // the current set, and removed items still running
	heap    slotHeap          // the current set by next slot
	setSeq  uint64            // generation of the last Set, to find removed items
	queue   jobQueue          // due runs waiting for a worker
	active  int               // workers, each running one job
	idle    []chan job        // parked workers, most recently parked last
	timer   clock.Timer       // nil until Start
	armed   bool              // timer is set for armedAt (or has fired and not been handled)
	armedAt int64
	ticking bool     // the timer goroutine is between popping and dispatching
	waiters []waiter // WaitIdle and test calls waiting for a state

	ctx    context.Context // parent of run contexts; set by Start
	cancel context.CancelFunc
	wg     sync.WaitGroup // the timer goroutine and the workers

	runs, skipped, missed, notOwned, timedOut, panics atomic.Uint64

	lateness latenessRing
}

const (
	notStarted = iota
	started
	stopped
)

// entry is an item's scheduling state. id, and the fields set by Set, are
// guarded by Scheduler.mu; a job carries copies of what a worker needs.
type entry struct {
	id       string
	interval int64 // ns
	offset   int64 // ns
	timeout  time.Duration
	next     int64  // next slot, Unix ns
	index    int    // in Scheduler.heap; -1 if not scheduled
	gen      uint64 // bumped when the slot grid changes or the item is removed
	seen     uint64 // setSeq of the last Set that named it
	busy     bool   // a run is queued or in progress
	removed  bool   // no longer in the set; kept until its run ends
}

// job is one due run.
type job struct {
	e       *entry
	slot    int64
	timeout time.Duration
}

// waiter is a goroutine waiting until the scheduler has handled every slot
// due at the clock's current time and, if idle, no run is queued or in
// progress.
type waiter struct {
	idle bool
	done chan struct{}
}

// dueSlot is a slot popped from the heap, not yet dispatched.
type dueSlot struct {
	e    *entry
	slot int64
	gen  uint64
}

// New returns a scheduler with no items. It panics if opts.Run is nil.
func New(opts Options) *Scheduler {
	if opts.Run == nil {
		panic("sched: Options.Run is nil")
	}
	s := &Scheduler{
		clk:   opts.Clock,
		conc:  opts.Concurrency,
		run:   opts.Run,
		owns:  opts.Owns,
		log:   opts.Logger,
		slack: max(opts.Slack, 0),
		items: make(map[string]*entry),
	}
	if s.clk == nil {
		s.clk = clock.Real{}
	}
	if s.conc <= 0 {
		s.conc = DefaultConcurrency
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// Set replaces the whole set of items at once. A new item first runs at its
// next slot; a removed item runs no more (a run in progress finishes, its
// context is not cancelled); an item whose interval changed moves to the
// slots of its new interval; an unchanged item keeps its slots. It returns
// an error, and changes nothing, if an ID is empty or repeated, an Interval
// is not positive or a Timeout is negative.
func (s *Scheduler) Set(items []Item) error {
	seen := make(map[string]struct{}, len(items))
	for _, it := range items {
		switch _, dup := seen[it.ID]; {
		case it.ID == "":
			return errors.New("sched: item with an empty ID")
		case dup:
			return fmt.Errorf("sched: item %q appears twice", it.ID)
		case it.Interval <= 0:
			return fmt.Errorf("sched: item %q: interval %v is not positive", it.ID, it.Interval)
		case it.Timeout < 0:
			return fmt.Errorf("sched: item %q: timeout %v is negative", it.ID, it.Timeout)
		}
		seen[it.ID] = struct{}{}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now().UnixNano()
	s.setSeq++
	for _, it := range items {
		e := s.items[it.ID]
		if e == nil {
			e = &entry{id: it.ID, index: -1}
			s.items[it.ID] = e
		}
		e.removed = false
		e.seen = s.setSeq
		e.timeout = it.Timeout
		if e.timeout == 0 {
			e.timeout = it.Interval
		}
		if iv := int64(it.Interval); e.index < 0 || e.interval != iv {
			e.gen++ // a slot of the old grid popped but not dispatched is dropped
			e.interval, e.offset = iv, int64(Offset(it.ID, it.Interval))
			e.next = nextSlot(e.offset, e.interval, now)
			if e.index < 0 {
				s.heap.push(e)
			} else {
				s.heap.fix(e.index)
			}
		}
	}
	for id, e := range s.items {
		if e.seen == s.setSeq || e.removed {
			continue
		}
		s.heap.remove(e.index)
		e.gen++
		e.removed = true
		if !e.busy {
			delete(s.items, id)
		}
	}
	if s.state == started && (len(s.heap) == 0 || !s.armed || s.heap[0].next < s.armedAt) {
		s.armLocked()
	}
	s.notifyLocked()
	return nil
}

// Start starts the timer goroutine: from now on items run at their slots.
// ctx is the parent of every run's context; cancelling it stops running
// new slots and cancels runs in progress, like Stop without the wait. Start
// returns an error if called a second time or after Stop.
func (s *Scheduler) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != notStarted {
		return errors.New("sched: Start called twice or after Stop")
	}
	s.state = started
	s.ctx, s.cancel = context.WithCancel(ctx)
	// Slots are re-read from now, so items Set long before Start don't
	// count the wait as missed slots.
	now := s.clk.Now().UnixNano()
	for _, e := range s.heap {
		e.next = nextSlot(e.offset, e.interval, now)
	}
	s.heap.init()
	s.timer = s.clk.NewTimer(time.Hour)
	s.armed = true
	s.armLocked()
	s.wg.Add(1)
	go s.loop(s.ctx)
	return nil
}

// Stop stops running new slots, drops queued runs, cancels the contexts of
// runs in progress and waits for them to return or for ctx to be done, in
// which case it returns ctx's error. Stop before Start just prevents a
// Start; a second Stop waits again.
func (s *Scheduler) Stop(ctx context.Context) error {
	s.mu.Lock()
	if s.state == notStarted {
		s.state = stopped
		s.mu.Unlock()
		return nil
	}
	if s.state == started {
		s.state = stopped
		for s.queue.len() > 0 {
			s.finishLocked(s.queue.pop().e)
		}
		s.timer.Stop()
		s.armed = false
		s.cancel()
		s.notifyLocked()
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// WaitIdle waits until the scheduler has handled every slot due at the
// clock's current time (run, skipped or not owned) and no run is queued or
// in progress — or until ctx is done, returning its error. With a fake
// clock it makes tests exact: Advance, then WaitIdle, then look. With the
// real clock and busy items it may never return before ctx is done.
func (s *Scheduler) WaitIdle(ctx context.Context) error { return s.wait(ctx, true) }

// wait waits until the scheduler has caught up with the clock and, if idle,
// until no run is queued or in progress.
func (s *Scheduler) wait(ctx context.Context, idle bool) error {
	s.mu.Lock()
	if s.reachedLocked(idle, s.clk.Now().UnixNano()) {
		s.mu.Unlock()
		return nil
	}
	w := waiter{idle: idle, done: make(chan struct{})}
	s.waiters = append(s.waiters, w)
	s.mu.Unlock()
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for i, o := range s.waiters {
			if o.done == w.done {
				s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
				break
			}
		}
		s.mu.Unlock()
		return ctx.Err()
	}
}

// reachedLocked reports whether every slot due at now has been handled and,
// if idle, no run is queued or in progress. A stopped or unstarted
// scheduler handles no slots, so only the runs count.
func (s *Scheduler) reachedLocked(idle bool, now int64) bool {
	if idle && s.active > 0 {
		return false
	}
	if s.state != started || s.ctx.Err() != nil {
		return true
	}
	// A timer that has come due (even with nothing due, after a Set
	// removed the earliest item) still has to be handled: the timer
	// goroutine will act on it, so the scheduler is not settled yet.
	return !s.ticking && (!s.armed || s.armedAt > now) &&
		(len(s.heap) == 0 || s.heap[0].next > now)
}

// notifyLocked releases the waiters whose state has been reached. It costs
// nothing when nobody waits, which is always outside tests.
func (s *Scheduler) notifyLocked() {
	if len(s.waiters) == 0 {
		return
	}
	now := s.clk.Now().UnixNano()
	kept := s.waiters[:0]
	for _, w := range s.waiters {
		if s.reachedLocked(w.idle, now) {
			close(w.done)
		} else {
			kept = append(kept, w)
		}
	}
	clear(s.waiters[len(kept):])
	s.waiters = kept
}

// Stats returns a snapshot of the counters and of recent lateness. It sorts
// the lateness window, so call it every few seconds, not per run.
func (s *Scheduler) Stats() Stats {
	s.mu.Lock()
	st := Stats{Items: len(s.heap), InFlight: s.active, Queued: s.queue.len()}
	s.mu.Unlock()
	st.Runs = s.runs.Load()
	st.Skipped = s.skipped.Load()
	st.Missed = s.missed.Load()
	st.NotOwned = s.notOwned.Load()
	st.TimedOut = s.timedOut.Load()
	st.Panics = s.panics.Load()
	st.Lateness = s.lateness.summary()
	return st
}

// loop is the timer goroutine: it waits for the earliest slot, hands due
// items to workers and waits again.
func (s *Scheduler) loop(ctx context.Context) {
	defer s.wg.Done()
	var due []dueSlot
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.timer.C():
		}
		due = s.tick(due[:0])
		clear(due) // don't keep removed entries alive
	}
}

func (s *Scheduler) tick(due []dueSlot) []dueSlot {
	now := s.clk.Now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != started {
		return due
	}
	due = s.popDueLocked(now, due)
	if s.owns != nil && len(due) > 0 {
		s.ticking = true
		s.mu.Unlock()
		kept := due[:0]
		for _, d := range due {
			if s.owns(d.e.id) {
				kept = append(kept, d)
			} else {
				s.notOwned.Add(1)
			}
		}
		due = kept
		s.mu.Lock()
		s.ticking = false
		if s.state != started {
			s.notifyLocked()
			return due
		}
	}
	for _, d := range due {
		s.dispatchLocked(d)
	}
	s.armLocked()
	s.notifyLocked()
	return due
}

// popDueLocked takes every item whose slot has come off the heap and moves
// it to its next slot. An item a whole interval or more behind runs only
// its latest due slot; the earlier ones count as missed.
func (s *Scheduler) popDueLocked(now int64, due []dueSlot) []dueSlot {
	for len(s.heap) > 0 && s.heap[0].next <= now {
		e := s.heap[0]
		slot := e.next
		if lag := now - slot; lag >= e.interval {
			k := lag / e.interval
			s.missed.Add(uint64(k))
			slot += k * e.interval
		}
		e.next = slot + e.interval
		s.heap.fix(0)
		due = append(due, dueSlot{e: e, slot: slot, gen: e.gen})
	}
	return due
}

func (s *Scheduler) dispatchLocked(d dueSlot) {
	e := d.e
	if e.gen != d.gen { // re-slotted or removed while Owns was asked
		return
	}
	if e.busy {
		s.skipped.Add(1)
		return
	}
	e.busy = true
	j := job{e: e, slot: d.slot, timeout: e.timeout}
	if n := len(s.idle); n > 0 {
		ch := s.idle[n-1] // the most recently parked: its stack is grown
		s.idle = s.idle[:n-1]
		s.active++
		ch <- j // buffered: never blocks
		return
	}
	if s.active < s.conc {
		s.active++
		s.wg.Add(1)
		go s.work(j)
		return
	}
	s.queue.push(j)
}

// armLocked sets the timer for the earliest slot, or stops it if there are
// no items. It reads the clock afresh: time spent since the caller read it
// (asking Owns, a large Set) must not delay the timer.
func (s *Scheduler) armLocked() {
	if len(s.heap) == 0 {
		if s.armed {
			s.timer.Stop()
			s.armed = false
		}
		return
	}
	s.armedAt = s.heap[0].next
	s.armed = true
	s.timer.Reset(time.Duration(s.armedAt-s.clk.Now().UnixNano()) + s.slackLocked())
}

// slackLocked is how long after the earliest slot the timer may fire: the
// Slack when another slot falls within it (the second earliest is a child
// of the heap's root), else none — waiting would batch nothing, only make
// a lone run late.
func (s *Scheduler) slackLocked() time.Duration {
	if s.slack <= 0 {
		return 0
	}
	first := s.heap[0].next
	for _, i := range []int{1, 2} {
		if i < len(s.heap) && s.heap[i].next-first <= int64(s.slack) {
			return s.slack
		}
	}
	return 0
}

// work runs j, then queued jobs until the queue is empty, then parks until
// dispatchLocked hands it another job or the scheduler stops. Parked
// workers cost a goroutine each (at most Concurrency); a worker started
// afresh for every run grew its stack from 8 KiB again during each HTTP
// probe, which cost about 5 % of a check's CPU.
func (s *Scheduler) work(j job) {
	defer s.wg.Done()
	ch := make(chan job, 1)
	for {
		s.execute(j)
		s.mu.Lock()
		s.finishLocked(j.e)
		var ok bool
		if j, ok = s.nextLocked(); ok {
			s.mu.Unlock()
			continue
		}
		s.active--
		if s.state != started || s.ctx.Err() != nil {
			s.notifyLocked()
			s.mu.Unlock()
			return
		}
		s.idle = append(s.idle, ch)
		s.notifyLocked()
		s.mu.Unlock()
		select {
		case j = <-ch:
			continue
		case <-s.ctx.Done():
		}
		s.mu.Lock()
		if i := slices.Index(s.idle, ch); i >= 0 {
			s.idle = slices.Delete(s.idle, i, i+1)
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		j = <-ch // handed a job just before the stop: run it (it ends at once)
	}
}

// nextLocked pops the next queued job to run, if any, dropping removed
// items' jobs and, when stopping, every queued one.
func (s *Scheduler) nextLocked() (job, bool) {
	for {
		if s.state != started || s.ctx.Err() != nil {
			for s.queue.len() > 0 { // shutting down: drop what waits
				s.finishLocked(s.queue.pop().e)
			}
		}
		if s.queue.len() == 0 {
			return job{}, false
		}
		j := s.queue.pop()
		if !j.e.removed {
			return j, true
		}
		s.finishLocked(j.e)
	}
}

func (s *Scheduler) finishLocked(e *entry) {
	e.busy = false
	if e.removed && s.items[e.id] == e {
		delete(s.items, e.id)
	}
}

// execute calls Run for one job, measuring its lateness.
func (s *Scheduler) execute(j job) {
	start := s.clk.Now()
	s.lateness.record(start.UnixNano() - j.slot)
	s.runs.Add(1)
	ctx, cancel := clock.WithTimeout(s.ctx, s.clk, j.timeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			s.panics.Add(1)
			s.log.Error("check run panicked", "id", j.e.id, "slot", time.Unix(0, j.slot).UTC(),
				"panic", r, "stack", string(debug.Stack()))
		}
	}()
	s.run(ctx, j.e.id, time.Unix(0, j.slot).UTC())
	if context.Cause(ctx) == context.DeadlineExceeded {
		s.timedOut.Add(1)
	}
}
