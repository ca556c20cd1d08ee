// Package clock provides the time source for everything time-dependent in
// groundcrew. Nothing outside this package calls time.Now, time.Sleep or
// time.NewTimer directly, so that schedules, expiry and throttling can be
// tested exactly with a Fake clock.
package clock

import (
	"context"
	"time"
)

// Clock tells the time and waits. Implementations are safe for concurrent
// use.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer that sends the current time on its channel
	// once d has elapsed on this clock.
	NewTimer(d time.Duration) Timer
	// AfterFunc returns a timer that calls f once d has elapsed on this
	// clock. The returned timer's C is nil.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a single event on a Clock, like time.Timer. As with time.Timer
// since Go 1.23, after Stop or Reset returns no value from an earlier
// arming will be received from C.
type Timer interface {
	// C delivers the time when the timer fires; nil for AfterFunc timers.
	C() <-chan time.Time
	// Stop prevents the timer from firing and reports whether it was still
	// waiting (false: it had already fired or been stopped).
	Stop() bool
	// Reset makes the timer fire d from now on its clock, and reports
	// whether it was still waiting before.
	Reset(d time.Duration) bool
}

// Real is the system clock.
type Real struct{}

// IsReal reports whether c is the system clock (nil counts as it).
func IsReal(c Clock) bool {
	switch c.(type) {
	case nil, Real, *Real:
		return true
	}
	return false
}

var (
	_ Clock = Real{}
	_ Clock = (*Fake)(nil)
)

// Now returns the current time in UTC, truncated to microseconds: the
// precision both databases store, so a value reads back as it was written.
func (Real) Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// NewTimer wraps time.NewTimer.
func (Real) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

// AfterFunc wraps time.AfterFunc: f runs in its own goroutine.
func (Real) AfterFunc(d time.Duration, f func()) Timer { return realTimer{time.AfterFunc(d, f)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time        { return r.t.C }
func (r realTimer) Stop() bool                 { return r.t.Stop() }
func (r realTimer) Reset(d time.Duration) bool { return r.t.Reset(d) }

// WithTimeout is context.WithTimeout measured on c. On the real clock it is
// exactly context.WithTimeout, so network code sees the deadline. On any
// other clock the context has no Deadline (a fake deadline would mislead
// code that compares it with the system clock) and is cancelled when c's
// timer fires, with context.Cause reporting context.DeadlineExceeded; tell
// a timeout from a cancellation with context.Cause on either clock.
func WithTimeout(parent context.Context, c Clock, d time.Duration) (context.Context, context.CancelFunc) {
	switch c.(type) {
	case Real, *Real:
		return context.WithTimeout(parent, d)
	}
	ctx, cancel := context.WithCancelCause(parent)
	t := c.AfterFunc(d, func() { cancel(context.DeadlineExceeded) })
	return ctx, func() {
		t.Stop()
		cancel(context.Canceled)
	}
}
