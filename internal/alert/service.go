package alert

import (
	"context"
	"database/sql"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/audit"
	"groundcrew.dev/groundcrew/internal/check"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/identity"
)

// Catalog resolves the services alerts and integrations name;
// catalog.Catalog implements it.
type Catalog interface {
	// ServiceRef returns the id and owning team of a service and the
	// environments it runs in, or an Invalid error naming field.
	ServiceRef(ctx context.Context, q db.Querier, field, name string) (id, owner uuid.UUID, environments []string, err error)
}

// Teams resolves team names; identity.Service implements it.
type Teams interface {
	// TeamID returns the id of a team, or an Invalid error naming field.
	TeamID(ctx context.Context, q db.Querier, field, name string) (uuid.UUID, error)
}

var (
	_ check.AlertSink = (*Service)(nil)
	_ Teams           = (*identity.Service)(nil)
)

// Options configure the Service. The zero value is a safe default.
type Options struct {
	Logger *slog.Logger
	// Rate and Burst limit each integration key: a token bucket of Burst
	// requests refilled at Rate per second; default 50/s, burst 500.
	Rate  float64
	Burst int
	// ResolveTimeout is when an alert sent without endsAt resolves unless
	// refreshed; default 5 min (Alertmanager's resolve_timeout).
	ResolveTimeout time.Duration
	// MaxFuture bounds how far in the future startsAt may be; default 1 h.
	MaxFuture time.Duration
	// FlapWindow: an alert firing again within this time after it resolved
	// is marked flapping in its history; default 1 h.
	FlapWindow time.Duration
	// SweepInterval is how often expired alerts are resolved; default 15 s.
	SweepInterval time.Duration
	// LeaseFlush is how often refreshes that change nothing but their
	// lease are written (lease.go); default 1 s.
	LeaseFlush time.Duration
}

func (o *Options) setDefaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Rate <= 0 {
		o.Rate = 50
	}
	if o.Burst <= 0 {
		o.Burst = 500
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.ResolveTimeout, 5*time.Minute)
	def(&o.MaxFuture, time.Hour)
	def(&o.FlapWindow, time.Hour)
	def(&o.SweepInterval, 15*time.Second)
	def(&o.LeaseFlush, time.Second)
}

// Service stores alerts, takes them in and manages integration keys. Safe
// for concurrent use.
type Service struct {
	db     *db.DB
	clock  clock.Clock
	cat    Catalog
	teams  Teams
	opts   Options
	log    *slog.Logger
	limits *limiter

	signer    Signer // signs action links; nil: notifications carry none
	baseURL   string
	incidents Incidents  // hears check state changes; nil: nobody
	stmts     *stmtCache // the ingestion batch's prepared statements (SQLite)
	rstmts    *stmtCache // and those it reads on a reader connection

	combine   *db.Combiner // shares transactions among concurrent ingestions
	leases    *leases      // refreshes not written yet (lease.go)
	deferring atomic.Bool  // whether refreshes may wait for the lease writer
	deferMu   sync.RWMutex // held (read) by requests leaving refreshes to it
	keys      keyCache     // integration keys recently authenticated
	touchMu   sync.Mutex
	touched   map[uuid.UUID]time.Time // when this replica last recorded an integration's use
}

// NewService returns an alert service.
func NewService(d *db.DB, c clock.Clock, cat Catalog, teams Teams, opts Options) *Service {
	opts.setDefaults()
	s := &Service{db: d, clock: c, cat: cat, teams: teams, opts: opts, log: opts.Logger,
		limits: newLimiter(opts.Rate, opts.Burst), leases: newLeases(opts.LeaseFlush)}
	s.stmts, s.rstmts = newStmts(d)
	s.combine = db.NewCombiner(d, db.CombinerOptions{})
	return s
}

// record appends an audit entry for the actor in ctx.
func (s *Service) record(ctx context.Context, tx *sql.Tx, action, kind, id, name string, before, after any) error {
	return audit.Append(ctx, tx, s.clock.Now(), audit.Entry{
		Actor: identity.ActorFrom(ctx).Audit(), Action: action, ObjectKind: kind,
		ObjectID: id, ObjectName: name, Before: before, After: after,
	})
}
