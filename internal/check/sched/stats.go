package sched

import (
	"slices"
	"sync/atomic"
	"time"
)

// Stats is a snapshot of a Scheduler's counters since New.
type Stats struct {
	Items int // items in the current set
	// Runs counts runs started.
	Runs uint64
	// Skipped counts slots not run because the item's previous run was
	// still queued or running.
	Skipped uint64
	// Missed counts slots passed over because the scheduler itself was a
	// whole interval behind (the clock jumped, the process was suspended);
	// only the latest due slot of such an item runs.
	Missed uint64
	// NotOwned counts slots not run because Owns said another replica owns
	// the item.
	NotOwned uint64
	// TimedOut counts runs whose context reached the item's timeout.
	TimedOut uint64
	// Panics counts runs that panicked (recovered and logged).
	Panics   uint64
	InFlight int // runs in progress
	Queued   int // due runs waiting for a free worker
	// Lateness is how long after its slot each recent run started.
	Lateness Lateness
}

// Lateness summarises the lateness (start of Run minus its slot) of the
// most recent runs, at most latenessWindow of them.
type Lateness struct {
	Samples       int
	P50, P99, Max time.Duration
}

const latenessWindow = 1 << 13 // ≈ 25 s of 10,000 checks every 30 s

// latenessRing keeps the last latenessWindow samples. Recording is one
// atomic add and one atomic store, so workers never contend on a lock.
type latenessRing struct {
	n   atomic.Uint64
	buf [latenessWindow]atomic.Int64
}

func (r *latenessRing) record(d int64) {
	i := r.n.Add(1) - 1
	r.buf[i%latenessWindow].Store(d)
}

func (r *latenessRing) summary() Lateness {
	n := int(min(r.n.Load(), latenessWindow))
	if n == 0 {
		return Lateness{}
	}
	v := make([]int64, n)
	for i := range v {
		v[i] = r.buf[i].Load()
	}
	slices.Sort(v)
	rank := func(p int) time.Duration { // nearest rank
		return time.Duration(v[max(0, (n*p+99)/100-1)])
	}
	return Lateness{Samples: n, P50: rank(50), P99: rank(99), Max: time.Duration(v[n-1])}
}
