package alert

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// Sweep resolves every firing alert whose endsAt has passed without a
// refresh (Alertmanager's "resolve at"), each with an "expired" history
// entry, and reports how many. Replicas may sweep at once: an alert is
// resolved once.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	if err := s.FlushLeases(ctx); err != nil {
		return 0, err
	}
	now := s.clock.Now()
	n := 0
	for range 100 { // bounded batches: a backlog drains over several calls
		var done, due int
		err := s.db.InTx(ctx, func(tx *sql.Tx) (err error) {
			done, due, err = s.expireDue(ctx, tx, now)
			return err
		})
		if err != nil {
			return n, err
		}
		n += done
		if due < sweepBatch {
			return n, nil
		}
	}
	return n, nil
}

// sweepBatch is how many expired alerts one transaction of Sweep takes.
const sweepBatch = 500

// expireDue resolves, in tx, up to sweepBatch firing alerts whose endsAt
// passed by now, and reports how many it resolved and how many were due.
// They are resolved several per statement (an expiry storm — a Prometheus
// gone, a network cut — times out thousands at once), in id order (see
// "Lock order"); another replica's sweep may have taken some, so only
// what the UPDATE returns is queued and recorded.
func (s *Service) expireDue(ctx context.Context, tx *sql.Tx, now time.Time) (resolved, due int, err error) {
	ends := map[uuid.UUID]time.Time{}
	var ids []uuid.UUID
	err = s.query(ctx, tx, `SELECT id, ends_at FROM alerts WHERE status = 'firing' AND ends_at <= $1 ORDER BY ends_at LIMIT `+strconv.Itoa(sweepBatch),
		[]any{now}, func(rows *sql.Rows) error {
			var id uuid.UUID
			var end time.Time
			if err := rows.Scan(&id, &end); err != nil {
				return err
			}
			ends[id], ids = end, append(ids, id)
			return nil
		})
	if err != nil {
		return 0, 0, fmt.Errorf("sweep alerts: %w", err)
	}
	due = len(ids)
	slices.SortFunc(ids, compareIDs)
	var done []uuid.UUID
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), maxInList)]
		ids = ids[len(chunk):]
		in := padIn(chunk)
		q := s.inList(`UPDATE alerts SET status = 'resolved', last_seen_at = `+s.param(1)+` WHERE status = 'firing' AND id`, len(in), 1, " RETURNING id")
		err := s.query(ctx, tx, q, s.db.PlanEach(append([]any{now}, in...)), func(rows *sql.Rows) error {
			var id uuid.UUID
			if err := rows.Scan(&id); err != nil {
				return err
			}
			done = append(done, id)
			return nil
		})
		if err != nil {
			return 0, 0, fmt.Errorf("sweep alerts: %w", err)
		}
	}
	events := make([]eventRow, len(done))
	for i, id := range done {
		events[i] = eventRow{alertID: id, kind: EventExpired, actor: "system",
			detail: map[string]any{"ends_at": ends[id].UTC().Format(time.RFC3339)}}
	}
	if err := s.queueDispatchAll(ctx, tx, done); err != nil {
		return 0, 0, err
	}
	if err := s.insertEvents(ctx, tx, events, now); err != nil {
		return 0, 0, err
	}
	return len(done), due, nil
}

// Sweeper runs Sweep periodically, and the lease writer (lease.go),
// until Stop.
type Sweeper struct {
	svc        *Service
	cancel     context.CancelFunc
	done       chan struct{}
	leasesDone chan struct{}
}

// StartSweeper starts sweeping every Options.SweepInterval on the
// service's clock, and writing refreshes' leases every Options.LeaseFlush;
// from then on refreshes that change nothing but their lease are left to
// the lease writer.
func (s *Service) StartSweeper(ctx context.Context) *Sweeper {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	sw := &Sweeper{svc: s, cancel: cancel, done: make(chan struct{}), leasesDone: make(chan struct{})}
	go s.leaseWriter(ctx, sw.leasesDone)
	s.deferring.Store(true)
	go func() {
		defer close(sw.done)
		t := s.clock.NewTimer(s.opts.SweepInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C():
			}
			sctx, c := context.WithTimeout(ctx, time.Minute)
			if n, err := s.Sweep(sctx); err != nil && ctx.Err() == nil {
				s.log.Error("sweep expired alerts", "err", err)
			} else if n > 0 {
				s.log.Info("resolved expired alerts", "count", n)
			}
			c()
			t.Reset(s.opts.SweepInterval)
		}
	}()
	return sw
}

// Stop stops the sweeper and waits for a running sweep (until ctx ends).
func (sw *Sweeper) Stop(ctx context.Context) error {
	if sw == nil {
		return nil
	}
	// Requests still arriving write their refreshes themselves; the lease
	// writer writes what is pending once more before it ends.
	sw.svc.deferring.Store(false)
	sw.svc.deferMu.Lock() // requests that decided to leave refreshes have added them
	sw.svc.deferMu.Unlock()
	sw.cancel()
	for _, done := range []chan struct{}{sw.done, sw.leasesDone} {
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
