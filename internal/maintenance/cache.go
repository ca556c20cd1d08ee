package maintenance

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
)

// CacheOptions configure a Cache. The zero value is a safe default.
type CacheOptions struct {
	Clock  clock.Clock  // default the real clock
	Logger *slog.Logger // default discard
	// Interval is how often the windows are re-read even without a change
	// signal, to pick up changes made on other replicas; default 30 s.
	Interval time.Duration
}

// Cache holds every maintenance window compiled in memory, so that Muted
// answers without touching the database. It reloads when told windows
// changed (Changed) and every Interval. Until the first load it mutes
// nothing: a failure to load windows lets alerts through rather than
// silence them. Safe for concurrent use.
type Cache struct {
	db   *db.DB
	opts CacheOptions
	log  *slog.Logger

	windows  atomic.Pointer[[]Compiled] // by name
	reloadMu sync.Mutex                 // one reload at a time, so an older read never replaces a newer one
	signal   chan struct{}

	cancel context.CancelFunc
	done   chan struct{}
}

// NewCache returns an empty cache of the windows in d; Start loads it.
func NewCache(d *db.DB, opts CacheOptions) *Cache {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Interval <= 0 {
		opts.Interval = 30 * time.Second
	}
	return &Cache{db: d, opts: opts, log: opts.Logger, signal: make(chan struct{}, 1)}
}

// Muted reports whether the alerts of service in environment are muted at
// the instant at, and if so why ("maintenance NAME", the first such window
// by name).
func (c *Cache) Muted(service, environment string, at time.Time) (reason string, muted bool) {
	ws := c.windows.Load()
	if ws == nil {
		return "", false
	}
	for _, w := range *ws {
		if w.Covers(service, environment) && w.ActiveAt(at) {
			return "maintenance " + w.Name, true
		}
	}
	return "", false
}

// Reload re-reads and compiles every window. A window that no longer
// compiles (its time zone left the zone database) is logged and skipped;
// on a read error the windows loaded before stay in effect.
func (c *Cache) Reload(ctx context.Context) error {
	c.reloadMu.Lock()
	defer c.reloadMu.Unlock()
	var ws []Compiled
	err := scanWindows(ctx, c.db.Reader(), "", func(w Window) bool {
		cw, err := w.Spec.compile(w.Name)
		if err != nil {
			c.log.Error("maintenance window does not compile; it mutes nothing", "window", w.Name, "err", err)
			return true
		}
		ws = append(ws, cw)
		return true
	})
	if err != nil {
		return err
	}
	c.windows.Store(&ws)
	return nil
}

// Changed asks the cache to reload soon. It never blocks.
func (c *Cache) Changed() {
	select {
	case c.signal <- struct{}{}:
	default:
	}
}

// Start loads the windows and keeps them current until Stop.
func (c *Cache) Start(ctx context.Context) error {
	if err := c.Reload(ctx); err != nil {
		return err
	}
	ctx, c.cancel = context.WithCancel(context.WithoutCancel(ctx))
	c.done = make(chan struct{})
	go c.loop(ctx)
	return nil
}

// Stop ends the reloading started by Start.
func (c *Cache) Stop(ctx context.Context) error {
	if c.cancel == nil {
		return nil
	}
	c.cancel()
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Cache) loop(ctx context.Context) {
	defer close(c.done)
	t := c.opts.Clock.NewTimer(c.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.signal:
		case <-t.C():
		}
		if err := c.Reload(ctx); err != nil && ctx.Err() == nil {
			c.log.Error("reload maintenance windows", "err", err)
		}
		t.Reset(c.opts.Interval)
	}
}
