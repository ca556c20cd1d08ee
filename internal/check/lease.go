package check

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
)

// LeaseOptions configure Leases. The zero value is a safe default.
type LeaseOptions struct {
	Shards int           // default 64
	TTL    time.Duration // how long a lease lasts unless renewed; default 30 s
	Renew  time.Duration // how often leases are renewed and rebalanced; default TTL/3
	Logger *slog.Logger
}

// Leases split the checks across replicas sharing one PostgreSQL database:
// each check belongs to a shard (a hash of its id), and each shard is
// leased by one replica at a time. Replicas take a fair share of the
// shards; the shards of a replica that stops renewing are taken over once
// its leases expire. Safe for concurrent use.
type Leases struct {
	db     *db.DB
	clock  clock.Clock
	holder string
	opts   LeaseOptions
	log    *slog.Logger

	mu    sync.RWMutex
	until []time.Time // per shard: our lease's expiry as we know it; zero if not ours

	cancel context.CancelFunc
	done   chan struct{}
}

// NewLeases returns the leases of the replica called holder.
func NewLeases(d *db.DB, c clock.Clock, holder string, opts LeaseOptions) *Leases {
	if opts.Shards <= 0 {
		opts.Shards = 64
	}
	if opts.TTL <= 0 {
		opts.TTL = 30 * time.Second
	}
	if opts.Renew <= 0 {
		opts.Renew = opts.TTL / 3
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Leases{db: d, clock: c, holder: holder, opts: opts, log: opts.Logger, until: make([]time.Time, opts.Shards)}
}

// Shard returns the shard of a check id.
func (l *Leases) Shard(id string) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % uint32(l.opts.Shards))
}

// Owns reports whether this replica holds a live lease on id's shard. A
// lease this replica could not renew stops counting at its expiry, so two
// replicas never both believe they own a shard.
func (l *Leases) Owns(id string) bool {
	s := l.Shard(id)
	l.mu.RLock()
	until := l.until[s]
	l.mu.RUnlock()
	return l.clock.Now().Before(until)
}

// Owned returns how many shards this replica holds now.
func (l *Leases) Owned() int {
	now := l.clock.Now()
	l.mu.RLock()
	defer l.mu.RUnlock()
	n := 0
	for _, u := range l.until {
		if now.Before(u) {
			n++
		}
	}
	return n
}

// Start takes a first share of the shards and keeps renewing them.
func (l *Leases) Start(ctx context.Context) error {
	if err := l.Tick(ctx); err != nil {
		return err
	}
	ctx, l.cancel = context.WithCancel(context.WithoutCancel(ctx))
	l.done = make(chan struct{})
	go func() {
		defer close(l.done)
		t := time.NewTicker(l.opts.Renew)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := l.Tick(ctx); err != nil && ctx.Err() == nil {
					l.log.Warn("check leases", "err", err)
				}
			}
		}
	}()
	return nil
}

// Stop stops renewing and releases this replica's leases so that others
// take them over at once.
func (l *Leases) Stop(ctx context.Context) error {
	if l.cancel != nil {
		l.cancel()
		<-l.done
	}
	l.mu.Lock()
	clear(l.until)
	l.mu.Unlock()
	return l.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM check_leases WHERE holder = $1`, l.holder); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM check_replicas WHERE holder = $1`, l.holder)
		return err
	})
}

// Tick announces this replica, renews its leases, gives back shards above
// its fair share and claims free or expired ones up to it.
func (l *Leases) Tick(ctx context.Context) error {
	now := l.clock.Now()
	exp := now.Add(l.opts.TTL)
	owned := map[int]bool{}
	var fair int
	err := l.db.InTx(ctx, func(tx *sql.Tx) error {
		clear(owned)
		if _, err := tx.ExecContext(ctx, `INSERT INTO check_replicas (holder, seen_at) VALUES ($1, $2)
			ON CONFLICT (holder) DO UPDATE SET seen_at = excluded.seen_at`, l.holder, now); err != nil {
			return fmt.Errorf("announce replica: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM check_replicas WHERE seen_at < $1`, now.Add(-2*l.opts.TTL)); err != nil {
			return err
		}
		var live int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM check_replicas WHERE seen_at > $1`, now.Add(-l.opts.TTL)).Scan(&live); err != nil {
			return err
		}
		fair = (l.opts.Shards + max(live, 1) - 1) / max(live, 1)
		rows, err := tx.QueryContext(ctx, `UPDATE check_leases SET expires_at = $2 WHERE holder = $1 RETURNING shard`, l.holder, exp)
		if err != nil {
			return fmt.Errorf("renew leases: %w", err)
		}
		for rows.Next() {
			var s int
			if err := rows.Scan(&s); err != nil {
				rows.Close()
				return err
			}
			owned[s] = true
		}
		rows.Close()
		for s := l.opts.Shards - 1; s >= 0 && len(owned) > fair; s-- {
			if owned[s] {
				if _, err := tx.ExecContext(ctx, `DELETE FROM check_leases WHERE shard = $1 AND holder = $2`, s, l.holder); err != nil {
					return err
				}
				delete(owned, s)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Claim free or expired shards one statement at a time, outside the
	// transaction above: a claim locks one row only, so replicas claiming
	// at once cannot deadlock on each other's rows.
	for s := 0; s < l.opts.Shards && len(owned) < fair; s++ {
		if owned[s] {
			continue
		}
		res, err := l.db.Writer().ExecContext(ctx, `INSERT INTO check_leases (shard, holder, expires_at) VALUES ($1, $2, $3)
			ON CONFLICT (shard) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
			WHERE check_leases.expires_at < $4`, s, l.holder, exp, now)
		if err != nil {
			return fmt.Errorf("claim shard %d: %w", s, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			owned[s] = true
		}
	}
	l.mu.Lock()
	for s := range l.until {
		if owned[s] {
			l.until[s] = exp
		} else {
			l.until[s] = time.Time{}
		}
	}
	l.mu.Unlock()
	return nil
}
