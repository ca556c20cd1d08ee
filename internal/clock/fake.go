package clock

import (
	"context"
	"sync"
	"time"
)

// Fake is a clock that only moves when told to. The zero value starts at the
// zero time; use NewFake for a useful start. Safe for concurrent use.
//
// Its timers fire only from Advance and Set (or at creation/Reset when
// already due): Advance and Set move the time first, then fire every timer
// whose deadline has come, one at a time in deadline order (ties in the
// order they were armed). A channel timer receives the fake time without
// blocking (its channel holds one value); an AfterFunc function runs in the
// goroutine that called Advance or Set, before the next timer fires — so
// it must not block on a goroutine that is itself waiting on this clock.
// Tests step such a clock without sleeping: BlockUntil waits until the code
// under test has armed its timers, then Advance fires them.
type Fake struct {
	mu       sync.Mutex
	now      time.Time
	seq      uint64        // arming order, to break deadline ties
	timers   []*fakeTimer  // armed timers, unordered
	blockers []fakeBlocker // BlockUntil calls waiting for more timers
}

type fakeTimer struct {
	f    *Fake
	when time.Time
	seq  uint64
	c    chan time.Time // nil for AfterFunc timers
	fn   func()
}

type fakeBlocker struct {
	n    int
	done chan struct{}
}

// NewFake returns a fake clock set to t.
func NewFake(t time.Time) *Fake { return &Fake{now: t.UTC()} }

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Advance moves the clock forward by d and fires the timers that became due,
// in deadline order.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
	f.fire()
}

// Set moves the clock to t and fires the timers that became due, in
// deadline order. Moving it backwards fires nothing.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	f.now = t.UTC()
	f.mu.Unlock()
	f.fire()
}

// NewTimer returns a timer that fires when the fake time reaches now+d.
func (f *Fake) NewTimer(d time.Duration) Timer {
	t := &fakeTimer{f: f, c: make(chan time.Time, 1)}
	t.Reset(d)
	return t
}

// AfterFunc returns a timer that calls f, in the goroutine that moves the
// clock, when the fake time reaches now+d. If d <= 0, f runs before
// AfterFunc returns.
func (f *Fake) AfterFunc(d time.Duration, fn func()) Timer {
	t := &fakeTimer{f: f, fn: fn}
	t.Reset(d)
	return t
}

// Timers returns how many timers are armed and waiting to fire.
func (f *Fake) Timers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.timers)
}

// BlockUntil waits until at least n timers are armed on the clock.
func (f *Fake) BlockUntil(n int) { _ = f.BlockUntilContext(context.Background(), n) }

// BlockUntilContext waits until at least n timers are armed on the clock or
// ctx is done, and returns ctx's error in the latter case.
func (f *Fake) BlockUntilContext(ctx context.Context, n int) error {
	f.mu.Lock()
	if len(f.timers) >= n {
		f.mu.Unlock()
		return nil
	}
	b := fakeBlocker{n: n, done: make(chan struct{})}
	f.blockers = append(f.blockers, b)
	f.mu.Unlock()
	select {
	case <-b.done:
		return nil
	case <-ctx.Done():
		f.mu.Lock()
		for i, o := range f.blockers {
			if o.done == b.done {
				f.blockers = append(f.blockers[:i], f.blockers[i+1:]...)
				break
			}
		}
		f.mu.Unlock()
		return ctx.Err()
	}
}

// fire fires due timers one at a time, earliest first, until none is due.
// Re-reading the state after each one lets an AfterFunc arm or stop timers.
func (f *Fake) fire() {
	for {
		f.mu.Lock()
		var next *fakeTimer
		for _, t := range f.timers {
			if !t.when.After(f.now) && (next == nil || t.when.Before(next.when) ||
				t.when.Equal(next.when) && t.seq < next.seq) {
				next = t
			}
		}
		if next == nil {
			f.mu.Unlock()
			return
		}
		f.disarmLocked(next)
		if next.c != nil {
			// Sent under the lock, so a Stop or Reset that returns after
			// this point can drain it: no stale value reaches a receiver.
			select {
			case next.c <- f.now:
			default:
			}
			f.mu.Unlock()
			continue
		}
		fn := next.fn
		f.mu.Unlock()
		fn()
	}
}

// disarmLocked removes t from the armed timers and reports whether it was
// armed.
func (f *Fake) disarmLocked(t *fakeTimer) bool {
	for i, o := range f.timers {
		if o == t {
			last := len(f.timers) - 1
			f.timers[i] = f.timers[last]
			f.timers[last] = nil
			f.timers = f.timers[:last]
			return true
		}
	}
	return false
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	f := t.f
	f.mu.Lock()
	defer f.mu.Unlock()
	t.drainLocked()
	return f.disarmLocked(t)
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	f := t.f
	f.mu.Lock()
	t.drainLocked()
	was := f.disarmLocked(t)
	f.seq++
	t.when, t.seq = f.now.Add(d), f.seq
	f.timers = append(f.timers, t)
	kept := f.blockers[:0]
	for _, b := range f.blockers {
		if len(f.timers) >= b.n {
			close(b.done)
		} else {
			kept = append(kept, b)
		}
	}
	f.blockers = kept
	due := d <= 0
	f.mu.Unlock()
	if due {
		f.fire()
	}
	return was
}

func (t *fakeTimer) drainLocked() {
	if t.c != nil {
		select {
		case <-t.c:
		default:
		}
	}
}
