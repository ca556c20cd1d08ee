package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"slices"
	"sync"
	"time"
)

// Group commit.
//
// Every commit has a fixed cost beside the work it holds: on SQLite the
// single writer writes each page the transaction changed to the log once,
// however many rows on it changed (alerts are found by a hash, so a batch
// of new alerts touches pages all over its indexes), and on PostgreSQL a
// commit waits for its log flush. When requests arrive faster than the
// writer commits them, they queue anyway; a Combiner runs those waiting
// at the same time in one transaction instead of one after the other,
// each in a savepoint of its own:
//
//   - a unit's error (or panic) rolls back its own changes only, and only
//     its caller gets the error;
//   - the commit is shared: every unit whose changes it holds returns nil
//     only after it, and an error of the commit goes to all of them;
//   - a unit alone in its transaction runs without a savepoint, exactly as
//     InTx would run it, so at low load nothing changes.
//
// There is no timer and no goroutine of its own: the caller that finds the
// writer idle leads, runs what is queued (its own unit first), and hands
// over to the next waiting caller, so nobody waits for more than the
// transaction in flight plus its own.

// CombinerOptions tunes a Combiner. The zero value is a safe default.
type CombinerOptions struct {
	// MaxUnits bounds the units of one transaction (default 32: PostgreSQL
	// keeps up to 64 subtransactions per backend in shared memory before
	// its snapshots grow expensive).
	MaxUnits int
	// Parallel is how many combined transactions may run at once. Zero:
	// one on SQLite, which has one writer anyway; on PostgreSQL no limit,
	// so every call runs its own transaction as InTx would: PostgreSQL runs
	// them side by side, and combining them measured slower there (100,000
	// new alerts: 7,200-7,700/s combined into one transaction at a time,
	// 9,600-10,700/s two at a time, 10,600-11,600/s not combined).
	Parallel int
	// Timeout bounds one combined transaction (default 1 minute).
	Timeout time.Duration
}

// Combiner runs units of write work in shared transactions (see above).
// Safe for concurrent use.
type Combiner struct {
	db   *DB
	opts CombinerOptions

	mu      sync.Mutex
	queue   []*unit
	leaders int
	stats   CombinerStats
}

// CombinerStats count what a Combiner did.
type CombinerStats struct {
	Transactions int64 // begun
	Units        int64 // run in them (skipped ones not counted)
	Waiting      int   // queued now
}

// Stats returns what c did so far.
func (c *Combiner) Stats() CombinerStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.stats
	st.Waiting = len(c.queue)
	return st
}

type unit struct {
	ctx     context.Context
	fn      func(ctx context.Context, tx *sql.Tx) error
	done    chan error    // buffered: the leader never waits on it
	lead    chan struct{} // closed when this unit's caller is to lead
	leading bool          // lead is closed; guarded by Combiner.mu
}

// NewCombiner returns a Combiner writing through d.
func NewCombiner(d *DB, opts CombinerOptions) *Combiner {
	if opts.MaxUnits <= 0 {
		opts.MaxUnits = 32
	}
	if opts.Parallel <= 0 {
		opts.Parallel = 1
		if d.Engine == Postgres {
			opts.Parallel = math.MaxInt
		}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = time.Minute
	}
	return &Combiner{db: d, opts: opts}
}

// Do runs fn in a write transaction, possibly shared with other calls of
// Do, and returns once that transaction committed (nil), or with fn's
// error (its changes rolled back), or with the error that ended the
// transaction. fn must not commit or roll back tx, and must use the ctx it
// is given — ctx's values, without its cancellation — not ctx itself:
// once started it runs to its end (a statement cancelled on SQLite would
// roll back everyone's work). If ctx ends before fn starts, fn never runs
// and Do returns ctx.Err(); if it ends later, Do still waits for the
// transaction, which is bounded by CombinerOptions.Timeout.
func (c *Combiner) Do(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	u := &unit{ctx: ctx, fn: fn, done: make(chan error, 1), lead: make(chan struct{})}
	if c.opts.Parallel == math.MaxInt {
		// No limit: nothing ever waits to be combined, and the transaction
		// is the caller's alone, so it is InTx's, ending with ctx.
		ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
		defer cancel()
		return c.db.InTx(ctx, func(tx *sql.Tx) error { return call(ctx, tx, u) })
	}
	c.mu.Lock()
	c.queue = append(c.queue, u)
	if c.leaders < c.opts.Parallel {
		c.leaders++
		c.mu.Unlock()
		c.leadFrom(u)
		return <-u.done
	}
	c.mu.Unlock()
	select {
	case err := <-u.done:
		return err
	case <-u.lead:
		c.leadFrom(u)
	case <-ctx.Done():
		c.mu.Lock()
		if i := slices.Index(c.queue, u); i >= 0 && !u.leading {
			c.queue = slices.Delete(c.queue, i, i+1)
			c.mu.Unlock()
			return ctx.Err()
		}
		c.mu.Unlock()
		select { // taken by a leader, or to lead: as if ctx had not ended
		case err := <-u.done:
			return err
		case <-u.lead:
			c.leadFrom(u)
		}
	}
	return <-u.done
}

// leadFrom runs one transaction of the queued units, u first, and hands
// the lead to the next waiting caller. Units whose callers were given the
// lead already (with Parallel > 1, by another leader) are left to them,
// so that every caller given the lead takes it up and hands it on.
func (c *Combiner) leadFrom(u *unit) {
	c.mu.Lock()
	batch := make([]*unit, 0, min(len(c.queue), c.opts.MaxUnits))
	if i := slices.Index(c.queue, u); i >= 0 {
		batch = append(batch, u)
		c.queue = slices.Delete(c.queue, i, i+1)
	}
	kept := c.queue[:0]
	for _, w := range c.queue {
		if len(batch) < c.opts.MaxUnits && !w.leading {
			batch = append(batch, w)
		} else {
			kept = append(kept, w)
		}
	}
	clear(c.queue[len(kept):])
	c.queue = kept
	c.mu.Unlock()

	if len(batch) > 0 {
		c.run(batch)
	}

	// The lead passes to the first waiting caller not given it already
	// (with Parallel > 1 another leader may have); leaders stays the same.
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.queue {
		if !w.leading {
			w.leading = true
			close(w.lead)
			return
		}
	}
	c.leaders--
}

// run runs units in one transaction, which ends only at
// CombinerOptions.Timeout, and tells each unit how it ended.
func (c *Combiner) run(units []*unit) {
	errs := make([]error, len(units))
	// finish tells every unit how it ended: its own error, else err.
	finish := func(err error) {
		for i, u := range units {
			if errs[i] == nil {
				errs[i] = err
			}
			u.done <- errs[i]
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.Timeout)
	defer cancel()
	tx, err := c.db.write.BeginTx(ctx, nil)
	if err != nil {
		finish(fmt.Errorf("begin: %w", err))
		return
	}
	rollback := func() {
		if err := tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
			c.db.log.Error("rollback", "err", err)
		}
	}
	ok, ran := 0, 0
	defer func() {
		c.mu.Lock()
		c.stats.Transactions++
		c.stats.Units += int64(ran)
		c.mu.Unlock()
	}()
	for i, u := range units {
		if err := u.ctx.Err(); err != nil {
			errs[i] = err // its caller is gone before it started: skip it
			continue
		}
		ran++
		if len(units) == 1 {
			if errs[i] = call(ctx, tx, u); errs[i] != nil {
				rollback()
				u.done <- errs[i]
				return
			}
			ok++
			continue
		}
		if _, err := tx.ExecContext(ctx, "SAVEPOINT combined_unit"); err != nil {
			rollback()
			finish(fmt.Errorf("savepoint: %w", err))
			return
		}
		errs[i] = call(ctx, tx, u)
		if errs[i] != nil {
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT combined_unit"); err != nil {
				// The engine ended the whole transaction (SQLite does on
				// some errors): nobody's work is in it any more. The
				// others get an error of their own, not the failed unit's
				// (callers act on its kind: a unique violation is retried).
				c.db.log.Error("combined transaction lost", "unit_err", errs[i], "err", err)
				rollback()
				finish(fmt.Errorf("the shared transaction ended after an error of another write in it: %w", err))
				return
			}
		} else {
			ok++
		}
		if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT combined_unit"); err != nil {
			if errors.Is(err, sql.ErrTxDone) {
				// fn committed or rolled back the shared transaction: a
				// bug in the caller, which the contract of Do forbids.
				c.db.log.Error("a combined write ended the shared transaction itself", "err", err)
			}
			rollback()
			finish(fmt.Errorf("release savepoint: %w", err))
			return
		}
	}
	if ok == 0 {
		rollback() // nothing to keep
		finish(nil)
		return
	}
	if err := tx.Commit(); err != nil {
		finish(fmt.Errorf("commit: %w", err))
		return
	}
	finish(nil)
}

// call runs u's fn with the values of its caller's context (who is
// acting, for instance) but the transaction's deadline and no
// cancellation, turning a panic into an error (logged with its stack by
// the caller's error path): the leader runs other callers' work, and one
// caller's bug must not end another's request.
func call(ctx context.Context, tx *sql.Tx, u *unit) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in a combined write: %v\n%s", p, debug.Stack())
		}
	}()
	uctx := context.WithoutCancel(u.ctx)
	if d, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		uctx, cancel = context.WithDeadline(uctx, d)
		defer cancel()
	}
	return u.fn(uctx, tx)
}
