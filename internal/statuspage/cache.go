package statuspage

import (
	"context"
	"sync"
	"time"

	"groundcrew.dev/groundcrew/internal/clock"
)

// cache keeps one computed value per key for ttl. Concurrent requests for
// a missing or expired key wait for a single computation instead of each
// running their own. Failed computations are not kept. Safe for concurrent
// use.
type cache[V any] struct {
	ttl   time.Duration
	clock clock.Clock

	mu      sync.Mutex
	entries map[string]*cacheEntry[V]
}

type cacheEntry[V any] struct {
	ready   chan struct{} // closed once val, err and expires are set
	val     V
	err     error
	expires time.Time
}

func newCache[V any](ttl time.Duration, c clock.Clock) *cache[V] {
	return &cache[V]{ttl: ttl, clock: c, entries: map[string]*cacheEntry[V]{}}
}

// get returns the value of key, computing it with fill when it is missing
// or expired. It waits for a computation already running, until ctx ends.
func (c *cache[V]) get(ctx context.Context, key string, fill func() (V, error)) (V, error) {
	c.mu.Lock()
	e := c.entries[key]
	if e != nil {
		select {
		case <-e.ready:
			if c.clock.Now().Before(e.expires) {
				c.mu.Unlock()
				return e.val, nil
			}
		default: // being computed: wait for it
			c.mu.Unlock()
			select {
			case <-e.ready:
				return e.val, e.err
			case <-ctx.Done():
				var zero V
				return zero, ctx.Err()
			}
		}
	}
	e = &cacheEntry[V]{ready: make(chan struct{})}
	c.entries[key] = e
	c.mu.Unlock()

	e.val, e.err = fill()
	e.expires = c.clock.Now().Add(c.ttl)
	if e.err != nil {
		c.mu.Lock()
		if c.entries[key] == e {
			delete(c.entries, key)
		}
		c.mu.Unlock()
	}
	close(e.ready)
	return e.val, e.err
}

// forget drops key, or every key when key is "", so that the next get
// computes afresh.
func (c *cache[V]) forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if key == "" {
		clear(c.entries)
		return
	}
	delete(c.entries, key)
}

// len returns the number of keys held.
func (c *cache[V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
