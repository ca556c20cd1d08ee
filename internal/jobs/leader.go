package jobs

import (
	"context"
	"database/sql"
	"log/slog"
	"sync"
	"time"

	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
)

// Leader holds a named singleton lease (table leader_leases) for one
// replica at a time, renewing it while it runs: loops that must run once
// across the replicas ask Held before each round. A replica that dies
// loses the lease when it expires (TTL). Safe for concurrent use.
type Leader struct {
	db     *db.DB
	clock  clock.Clock
	name   string
	holder string
	ttl    time.Duration
	log    *slog.Logger

	mu    sync.Mutex
	until time.Time // the lease is ours before this instant
}

// NewLeader returns a Leader for the lease name, held as holder (unique
// per replica) for ttl at a time (zero means 15 s).
func NewLeader(d *db.DB, c clock.Clock, name, holder string, ttl time.Duration, log *slog.Logger) *Leader {
	if ttl <= 0 {
		ttl = 15 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Leader{db: d, clock: c, name: name, holder: holder, ttl: ttl, log: log}
}

// Held reports whether this replica holds the lease now, trying to take or
// renew it when a third of its lifetime has passed. A database error
// counts as not holding it (and is logged).
func (l *Leader) Held(ctx context.Context) bool {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Before(l.until.Add(-l.ttl * 2 / 3)) {
		return true
	}
	until := now.Add(l.ttl)
	var holder string
	err := l.db.InTx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO leader_leases (name, holder, expires_at) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
			WHERE leader_leases.holder = excluded.holder OR leader_leases.expires_at < $4
			RETURNING holder`, l.name, l.holder, until, now).Scan(&holder)
	})
	switch {
	case db.IsNoRows(err):
		l.until = time.Time{}
		return false
	case err != nil:
		if ctx.Err() == nil {
			l.log.Warn("renew leader lease", "lease", l.name, "err", err)
		}
		return now.Before(l.until) // keep what we still have
	}
	if l.until.IsZero() || !now.Before(l.until) {
		l.log.Info("leading", "lease", l.name, "holder", l.holder)
	}
	l.until = until
	return true
}

// Release gives the lease up (on shutdown), so another replica takes over
// at once.
func (l *Leader) Release(ctx context.Context) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.until.IsZero() {
		return
	}
	l.until = time.Time{}
	if err := l.db.InTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM leader_leases WHERE name = $1 AND holder = $2`, l.name, l.holder)
		return err
	}); err != nil {
		l.log.Warn("release leader lease", "lease", l.name, "err", err)
	}
}
