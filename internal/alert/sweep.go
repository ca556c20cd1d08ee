package alert

import (
	"context"
	"database/sql"
	"fmt"
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
			for _, d := range list {
				res, err := tx.ExecContext(ctx, `UPDATE alerts SET status = 'resolved', last_seen_at = $2 WHERE id = $1 AND status = 'firing'`, d.id, now)
				if err != nil {
					return fmt.Errorf("sweep alert %s: %w", d.id, err)
				}
				if k, _ := res.RowsAffected(); k == 0 {
					continue
				}
				if err := queueDispatch(ctx, tx, d.id); err != nil {
					return err
				}
				if err := insertEvent(ctx, tx, d.id, now, EventExpired, "system", uuid.Nil, map[string]any{"ends_at": d.end.UTC().Format(time.RFC3339)}); err != nil {
					return err
				}
				done++
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		n += done
		if done < 500 {
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
