package alert

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"slices"
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
		var done int
		var full bool
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			rows, err := tx.QueryContext(ctx, `SELECT id, ends_at FROM alerts WHERE status = 'firing' AND ends_at <= $1 ORDER BY ends_at LIMIT 500`, now)
			if err != nil {
				return fmt.Errorf("sweep alerts: %w", err)
			}
			type due struct {
				id  uuid.UUID
				end time.Time
			}
			var list []due
			for rows.Next() {
				var d due
				if err := rows.Scan(&d.id, &d.end); err != nil {
					rows.Close()
					return fmt.Errorf("sweep alerts: %w", err)
				}
				list = append(list, d)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("sweep alerts: %w", err)
			}
			// Resolved several per statement (an expiry storm — a
			// Prometheus gone, a network cut — times out thousands at
			// once), in id order; another replica's sweep may have taken
			// some, so only what this UPDATE returns is queued and recorded.
			ends := make(map[uuid.UUID]time.Time, len(list))
			ids := make([]uuid.UUID, len(list))
			for i, d := range list {
				ends[d.id], ids[i] = d.end, d.id
			}
			slices.SortFunc(ids, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
			var resolved []uuid.UUID
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
					resolved = append(resolved, id)
					return nil
				})
				if err != nil {
					return fmt.Errorf("sweep alerts: %w", err)
				}
			}
			events := make([]eventRow, len(resolved))
			for i, id := range resolved {
				events[i] = eventRow{alertID: id, kind: EventExpired, actor: "system",
					detail: map[string]any{"ends_at": ends[id].UTC().Format(time.RFC3339)}}
			}
			if err := s.queueDispatchAll(ctx, tx, resolved); err != nil {
				return err
			}
			if err := s.insertEvents(ctx, tx, events, now); err != nil {
				return err
			}
			done, full = len(resolved), len(list) == 500
			return nil
		})
		if err != nil {
			return n, err
		}
		n += done
		if !full {
			return n, nil
		}
	}
	return n, nil
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
