package identity

import (
	"context"
	"database/sql"
	"log/slog"
	"sync"
	"time"

	"groundcrew.dev/groundcrew/internal/audit"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
)

// Service performs identity operations: users, teams, logins, sessions and
// tokens. Safe for concurrent use.
type Service struct {
	db      *db.DB
	clock   clock.Clock
	log     *slog.Logger
	opts    Options
	touched sync.Map // token id → when its last use was last recorded
}

// Options tunes the Service. The zero value is a safe default.
type Options struct {
	SessionTTL     time.Duration // default 12 h
	MaxFailures    int           // failed logins before a lock-out; default 5
	FailureWindow  time.Duration // failures older than this are forgotten; default 15 min
	LockoutBase    time.Duration // first lock-out; doubles with each further failure; default 1 min
	LockoutMax     time.Duration // longest lock-out; default 15 min
	SetupTokenTTL  time.Duration // lifetime of the one-time admin setup link; default 24 h
	DefaultTokenTT time.Duration // lifetime of an API token created without one; default 90 days
}

func (o *Options) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.SessionTTL, 12*time.Hour)
	def(&o.FailureWindow, 15*time.Minute)
	def(&o.LockoutBase, time.Minute)
	def(&o.LockoutMax, 15*time.Minute)
	def(&o.SetupTokenTTL, 24*time.Hour)
	def(&o.DefaultTokenTT, 90*24*time.Hour)
	if o.MaxFailures <= 0 {
		o.MaxFailures = 5
	}
}

// NewService returns an identity service.
func NewService(d *db.DB, c clock.Clock, log *slog.Logger, opts Options) *Service {
	opts.setDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{db: d, clock: c, log: log, opts: opts}
}

// record appends an audit entry for the actor in ctx.
func (s *Service) record(ctx context.Context, tx *sql.Tx, action, kind, id, name string, before, after any) error {
	return audit.Append(ctx, tx, s.clock.Now(), audit.Entry{
		Actor: ActorFrom(ctx).Audit(), Action: action, ObjectKind: kind,
		ObjectID: id, ObjectName: name, Before: before, After: after,
	})
}
