package alert

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/db"
)

// Refreshes that change nothing but the lease.
//
// Prometheus re-sends every firing alert at every evaluation with a later
// endsAt, so most of what arrives refreshes an open alert and changes
// nothing anyone sees: only when it was last seen, how often it was
// received, and when it would expire (its lease). Writing those three
// columns in the request's transaction cost two thirds of the server's
// time on SQLite (each refreshed row is rewritten, with its (status,
// ends_at) index entry, and every request commits).
//
// While the lease writer runs (StartSweeper starts it), a request instead
// reads the open alerts it re-sends, on a reader connection (beside
// SQLite's single writer), and keeps the new lease of each refresh that
// changes nothing in memory; the lease writer writes all of them every
// LeaseFlush (1 s) in one transaction, a refresh and its later ones
// folded into one row update. A refresh is written by its own request
// instead when it changes anything else (annotations, summary, severity,
// generator URL), shortens the lease, or finds the stored lease running
// short: less than half the new one ahead, or less than two flush
// intervals.
//
// So what is durable before the 2xx: every alert, its content and its
// firing state, and a stored endsAt at least half the sender's new lease
// ahead. What a crash can lose: the extensions, last-seen times and counts
// of the last flush interval. No alert resolves because of that while its
// sender keeps sending, since the sender's next refresh comes well before
// half its lease has passed (Prometheus: every evaluation, with a lease of
// four resend delays). Reads through Service.List and Service.Get, and the
// sweep, write pending leases first, so this replica reads its own
// refreshes; another replica sees them within LeaseFlush.

// pendingLease is what refreshes held in memory owe an open alert.
type pendingLease struct {
	endsAt *time.Time // the newest lease; nil: none (stays open until resolved)
	seen   time.Time  // the newest refresh
	n      int64      // refreshes folded in
}

// leases holds pending leases by alert id. Safe for concurrent use.
type leases struct {
	mu      sync.Mutex
	pending map[uuid.UUID]pendingLease
	flushMu sync.Mutex // one flush at a time, so writes land in order
	every   time.Duration
}

func newLeases(every time.Duration) *leases {
	return &leases{pending: map[uuid.UUID]pendingLease{}, every: every}
}

// add folds a refresh of the open alert id into its pending lease.
func (l *leases) add(id uuid.UUID, endsAt *time.Time, seen time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p, ok := l.pending[id]
	if !ok {
		l.pending[id] = pendingLease{endsAt: endsAt, seen: seen, n: 1}
		return
	}
	if !seen.Before(p.seen) {
		p.seen, p.endsAt = seen, endsAt
	}
	p.n++
	l.pending[id] = p
}

// take removes and returns every pending lease.
func (l *leases) take() map[uuid.UUID]pendingLease {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.pending) == 0 {
		return nil
	}
	out := l.pending
	l.pending = make(map[uuid.UUID]pendingLease, len(out))
	return out
}

// putBack returns leases a failed flush could not write, folded with
// those that arrived meanwhile (the newest refresh's lease wins).
func (l *leases) putBack(m map[uuid.UUID]pendingLease) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, old := range m {
		p, ok := l.pending[id]
		if !ok {
			l.pending[id] = old
			continue
		}
		if old.seen.After(p.seen) {
			p.seen, p.endsAt = old.seen, old.endsAt
		}
		p.n += old.n
		l.pending[id] = p
	}
}

// canDefer reports whether the refresh p of the open alert cur changes
// nothing but its lease, and whether the stored lease lies far enough
// ahead to leave the new one in memory for a while (see above).
func (l *leases) canDefer(cur *openAlert, p *prepared, now time.Time) bool {
	if len(cur.changes(p)) > 0 || cur.generatorURL != p.generatorURL {
		return false
	}
	if p.endsAt == nil || cur.endsAt == nil {
		return p.endsAt == nil && cur.endsAt == nil
	}
	if p.endsAt.Before(*cur.endsAt) {
		return false // a shorter lease is written at once
	}
	left := cur.endsAt.Sub(now)
	return left >= 2*l.every && 2*left >= p.endsAt.Sub(now)
}

// heldLease is a refresh a request leaves to the lease writer once the
// rest of its batch is written.
type heldLease struct {
	id     uuid.UUID
	endsAt *time.Time
}

// deferRefreshes reads the open alerts that firing alerts of a batch
// (distinct fingerprints) re-send, outside any transaction, and picks the
// refreshes that change nothing but their lease. It returns the result of
// each picked alert (others' are zero), their leases, and the alerts still
// to write, and marks the firing alerts it found not open as fresh; a read
// error picks and marks none. The caller adds the leases once the
// rest is written, so a failed request leaves nothing behind.
func (s *Service) deferRefreshes(ctx context.Context, ps []prepared, now time.Time) ([]Received, []heldLease, []int) {
	var fps []string
	for i := range ps {
		if !ps[i].in.Acknowledge && !ps[i].resolved {
			fps = append(fps, ps[i].fp)
		}
	}
	rest := make([]int, 0, len(ps))
	if len(fps) == 0 {
		for i := range ps {
			rest = append(rest, i)
		}
		return nil, nil, rest
	}
	open, err := s.readOpen(ctx, nil, fps)
	if err != nil {
		s.log.Warn("read open alerts before ingesting; writing every refresh", "err", err)
		for i := range ps {
			rest = append(rest, i)
		}
		return nil, nil, rest
	}
	out := make([]Received, len(ps))
	var held []heldLease
	for i := range ps {
		p := &ps[i]
		cur, ok := open[p.fp]
		if !ok && !p.in.Acknowledge && !p.resolved {
			p.fresh = true // new, as far as anyone could tell a moment ago
		}
		if !ok || p.in.Acknowledge || p.resolved || !s.leases.canDefer(cur, p, now) {
			rest = append(rest, i)
			continue
		}
		held = append(held, heldLease{cur.id, p.endsAt})
		out[i] = Received{ID: cur.id, Fingerprint: p.fp, DedupKey: p.in.DedupKey, Status: Firing}
	}
	return out, held, rest
}

// leasesPerTx bounds the leases one transaction of FlushLeases writes.
const leasesPerTx = 2048

// FlushLeases writes the pending leases of refreshes (see above), in
// transactions of up to leasesPerTx: SQLite's single writer, and on
// PostgreSQL the rows they lock, are held by one of those at a time, not
// by every refresh of the last second (at 100,000 open alerts, resolutions
// arriving meanwhile waited up to 3.5 s). A lease is written only over an
// older refresh: a refresh written since by its own request (a change, a
// shorter lease) wins. On an error the leases not written are kept.
func (s *Service) FlushLeases(ctx context.Context) error {
	s.leases.flushMu.Lock()
	defer s.leases.flushMu.Unlock()
	m := s.leases.take()
	if len(m) == 0 {
		return nil
	}
	type lease struct {
		id uuid.UUID
		pendingLease
	}
	list := make([]lease, 0, len(m))
	for id, p := range m {
		list = append(list, lease{id, p})
	}
	// In id order across the chunks too (see "Lock order" in store_batch.go).
	slices.SortFunc(list, func(a, b lease) int { return compareIDs(a.id, b.id) })
	for start := 0; start < len(list); start += leasesPerTx {
		part := list[start:min(len(list), start+leasesPerTx)]
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			for len(part) > 0 {
				n := chunkSizes(len(part), maxRows)[0]
				chunk := part[:n]
				part = part[n:]
				args := make([]any, 0, 4*n)
				for _, l := range chunk {
					args = append(args, l.id, l.endsAt, l.seen, l.n)
				}
				if err := s.exec(ctx, tx, s.leaseUpdate(n), s.db.PlanEach(args)...); err != nil {
					return fmt.Errorf("write refreshed alerts: %w", err)
				}
			}
			return nil
		})
		if err != nil {
			left := make(map[uuid.UUID]pendingLease, len(list)-start)
			for _, l := range list[start:] {
				left[l.id] = l.pendingLease
			}
			s.leases.putBack(left)
			return err
		}
	}
	return nil
}

// leaseUpdate is the statement writing n pending leases: each moves
// ends_at and last_seen_at only over an older refresh, and always counts.
func (s *Service) leaseUpdate(n int) string {
	var b strings.Builder
	b.WriteString(`WITH v(id, ends_at, seen, n) AS (VALUES `)
	if s.db.Engine == db.Postgres {
		for i := range n {
			if i > 0 {
				b.WriteString(", ")
			}
			k := 4 * i
			fmt.Fprintf(&b, "($%d::uuid, $%d::timestamptz, $%d::timestamptz, $%d::bigint)", k+1, k+2, k+3, k+4)
		}
	} else {
		s.placeholders(&b, n, 4, 0, false)
	}
	b.WriteString(`)
		`)
	where := ""
	if s.db.Engine == db.Postgres {
		// Rows locked in the order of their ids (see "Lock order" in store_batch.go).
		b.WriteString(`, locked AS (SELECT a.id FROM alerts a JOIN v ON a.id = v.id WHERE a.status = 'firing' ORDER BY a.id FOR NO KEY UPDATE OF a)
		`)
		where = ` AND alerts.id IN (SELECT id FROM locked)`
	}
	b.WriteString(`UPDATE alerts SET
			ends_at = CASE WHEN alerts.last_seen_at < v.seen THEN v.ends_at ELSE alerts.ends_at END,
			last_seen_at = CASE WHEN alerts.last_seen_at < v.seen THEN v.seen ELSE alerts.last_seen_at END,
			refresh_count = alerts.refresh_count + v.n
		FROM v WHERE alerts.id = v.id AND alerts.status = 'firing'`)
	b.WriteString(where)
	return b.String()
}

// leaseWriter writes pending leases every LeaseFlush until ctx ends, then
// once more.
func (s *Service) leaseWriter(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(s.leases.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			if err := s.FlushLeases(fctx); err != nil {
				s.log.Error("write refreshed alerts at shutdown", "err", err)
			}
			cancel()
			return
		case <-t.C:
		}
		fctx, cancel := context.WithTimeout(ctx, time.Minute)
		if err := s.FlushLeases(fctx); err != nil && ctx.Err() == nil {
			s.log.Error("write refreshed alerts", "err", err)
		}
		cancel()
	}
}
