package alert

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/db"
)

// The SQL of an ingestion batch (see ingest_batch.go): several rows per
// statement, in texts that depend only on the number of rows, so that
// SQLite's prepared statements (stmts.go) and pgx's statement cache are
// reused.

// maxRows bounds the rows of one multi-row statement: 64 alerts of 15
// parameters bind 960, far below SQLite's 32,766 and PostgreSQL's 65,535
// parameters; IN lists hold up to 256 values.
const (
	maxRows   = 64
	maxInList = 256
)

// chunkSizes splits n into sizes that are powers of two of at most limit,
// largest first, so that a few statement texts serve every batch (and
// PostgreSQL's statement cache and SQLite's prepared statements are
// reused): 100 at most 64 is 64 + 32 + 4.
func chunkSizes(n, limit int) []int {
	var out []int
	for n > 0 {
		c := limit
		for c > n {
			c >>= 1
		}
		out = append(out, c)
		n -= c
	}
	return out
}

// placeholders writes rows groups of cols placeholders ("(?, ?), (?, ?)"
// or, as a list with cols 1 and list set, "?, ?"), numbered from first+1
// on PostgreSQL, anonymous on SQLite (where binding numbered ones costs
// the square of their count in modernc.org/sqlite).
func (s *Service) placeholders(b *strings.Builder, rows, cols, first int, list bool) {
	pg := s.db.Engine == db.Postgres
	n := first
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		if !list {
			b.WriteByte('(')
		}
		for c := range cols {
			if c > 0 {
				b.WriteString(", ")
			}
			n++
			if pg {
				b.WriteByte('$')
				b.WriteString(strconv.Itoa(n))
			} else {
				b.WriteByte('?')
			}
		}
		if !list {
			b.WriteByte(')')
		}
	}
}

// inList returns "head IN (…)tail" for rows values after first other
// parameters.
func (s *Service) inList(head string, rows, first int, tail string) string {
	var b strings.Builder
	b.Grow(len(head) + len(tail) + rows*5 + 8)
	b.WriteString(head)
	b.WriteString(" IN (")
	s.placeholders(&b, rows, 1, first, true)
	b.WriteByte(')')
	b.WriteString(tail)
	return b.String()
}

// param returns the placeholder of the nth parameter (1-based).
func (s *Service) param(n int) string {
	if s.db.Engine == db.Postgres {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

// padIn returns the values of an IN list padded to a power of two by
// repeating the last, so that a few texts serve every size.
func padIn[T any](vals []T) []any {
	n := 1
	for n < len(vals) {
		n <<= 1
	}
	out := make([]any, n)
	for i := range out {
		out[i] = vals[min(i, len(vals)-1)]
	}
	return out
}

// openFingerprint is the expression of the second column of the unique
// index alerts_fingerprint_open (migration 00018): 1 for the open alert
// of a fingerprint, NULL for its resolved ones. Written exactly so, it
// lets both engines find open alerts by that index.
const openFingerprint = `(CASE WHEN status = 'firing' THEN 1 END)`

// firingByFingerprint starts the condition that finds open alerts by
// fingerprint through alerts_fingerprint_open, on both engines. A plain
// "status = 'firing'" led SQLite, without statistics, to the (status,
// ends_at) index, reading every firing alert for each batch.
func (s *Service) firingByFingerprint() string {
	return openFingerprint + ` = 1 AND fingerprint`
}

// readOpen returns the open (firing) alerts of fingerprints, by
// fingerprint: in tx, or with tx nil on a reader connection outside any
// transaction (on SQLite it then does not wait for the single writer).
func (s *Service) readOpen(ctx context.Context, tx *sql.Tx, fps []string) (map[string]*openAlert, error) {
	out := make(map[string]*openAlert, len(fps))
	for len(fps) > 0 {
		chunk := fps[:min(len(fps), maxInList)]
		fps = fps[len(chunk):]
		args := padIn(chunk)
		q := s.inList(`SELECT fingerprint, id, ends_at, severity, summary, annotations, generator_url, acknowledged_at
			FROM alerts WHERE `+s.firingByFingerprint(), len(args), 0, "")
		scan := func(rows *sql.Rows) error {
			o := &openAlert{}
			var fp string
			var ends, acked sql.NullTime
			if err := rows.Scan(&fp, &o.id, &ends, &o.severity, &o.summary, &o.annots, &o.generatorURL, &acked); err != nil {
				return err
			}
			o.endsAt, o.acknowledged = nullTime(ends), acked.Valid
			out[fp] = o
			return nil
		}
		var err error
		if tx != nil {
			err = s.query(ctx, tx, q, s.db.PlanEach(args), scan)
		} else {
			err = s.readQuery(ctx, q, s.db.PlanEach(args), scan)
		}
		if err != nil {
			return nil, fmt.Errorf("read open alerts: %w", err)
		}
	}
	return out, nil
}

// Lock order on PostgreSQL. Statements that update many alerts lock
// their rows in whatever order their plan meets them: a scan of the
// fingerprint index in fingerprint order, a scan of the table or a hash
// join in the table's order. Two requests refreshing the same alerts at
// once (a pair of Prometheus servers) deadlocked that way, and PostgreSQL
// ended one of them. Those statements instead lock their rows first, in
// the order of their ids (SELECT … ORDER BY id FOR NO KEY UPDATE: the lock
// an UPDATE of these columns takes anyway, which does not wait for the
// key-share locks that inserting history rows takes on their alert), so
// that one waits for the other; the lease writer's chunks go in id order
// too. A request's refresh is one statement unless its batch has several
// endsAt values or more than 256 alerts; what order cannot prevent, the
// retry of a deadlocked request (Ingest) handles. SQLite has one writer,
// and no such locks.

// touchOpen refreshes the open alerts that firing alerts of the batch
// re-send — last_seen_at, refresh_count and ends_at, unless their ends_at
// has passed (the caller expires those) — with one UPDATE … RETURNING per
// distinct endsAt (Prometheus gives a whole batch the same), and returns
// what each touched alert held, by fingerprint.
func (s *Service) touchOpen(ctx context.Context, tx *sql.Tx, ps []prepared, now time.Time) (map[string]*openAlert, error) {
	type key struct {
		set bool
		t   int64
	}
	byEnd := map[key][]string{}
	var order []key
	ends := map[key]*time.Time{}
	for i := range ps {
		p := &ps[i]
		if p.in.Acknowledge || p.resolved || p.fresh {
			continue
		}
		k := key{}
		if p.endsAt != nil {
			k = key{true, p.endsAt.UnixNano()}
		}
		if _, ok := byEnd[k]; !ok {
			order = append(order, k)
			ends[k] = p.endsAt
		}
		byEnd[k] = append(byEnd[k], p.fp)
	}
	out := make(map[string]*openAlert, len(ps))
	for _, k := range order {
		fps := byEnd[k]
		for len(fps) > 0 {
			chunk := fps[:min(len(fps), maxInList)]
			fps = fps[len(chunk):]
			in := padIn(chunk)
			args := append([]any{now, ends[k], now}, in...)
			var q string
			if s.db.Engine == db.Postgres {
				// Rows locked in the order of their ids, as the lease writer
				// locks them.
				q = s.inList(`UPDATE alerts SET last_seen_at = $1, refresh_count = refresh_count + 1, ends_at = $2
					WHERE id IN (SELECT id FROM alerts WHERE (ends_at IS NULL OR ends_at > $3) AND `+s.firingByFingerprint(),
					len(in), 3, ` ORDER BY id FOR NO KEY UPDATE) RETURNING fingerprint, id, severity, summary, annotations, generator_url`)
			} else {
				q = s.inList(`UPDATE alerts SET last_seen_at = ?, refresh_count = refresh_count + 1, ends_at = ?
					WHERE (ends_at IS NULL OR ends_at > ?) AND `+s.firingByFingerprint(),
					len(in), 3, ` RETURNING fingerprint, id, severity, summary, annotations, generator_url`)
			}
			err := s.query(ctx, tx, q, s.db.PlanEach(args), func(rows *sql.Rows) error {
				o := &openAlert{}
				var fp string
				if err := rows.Scan(&fp, &o.id, &o.severity, &o.summary, &o.annots, &o.generatorURL); err != nil {
					return err
				}
				out[fp] = o
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("refresh alerts: %w", err)
			}
		}
	}
	return out, nil
}

// compareIDs orders alert ids as both engines order them (bytewise), the
// order in which statements lock rows on PostgreSQL (see "Lock order").
func compareIDs(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) }

// resolution is an open alert a batch resolves, and when it ended.
type resolution struct {
	id  uuid.UUID
	end time.Time
}

// resolveAll resolves open alerts with one UPDATE per distinct end (a
// sender resolving many alerts at once gives most the same) and up to
// maxInList alerts, prepared where it can be: Prometheus reports every
// alert that stopped firing when an outage ends, and an UPDATE each cost
// a statement compiled anew per alert.
func (s *Service) resolveAll(ctx context.Context, tx *sql.Tx, rs []resolution, now time.Time) error {
	byEnd := map[int64][]uuid.UUID{}
	var order []time.Time
	for _, r := range rs {
		k := r.end.UnixNano()
		if _, ok := byEnd[k]; !ok {
			order = append(order, r.end)
		}
		byEnd[k] = append(byEnd[k], r.id)
	}
	for _, end := range order {
		ids := byEnd[end.UnixNano()]
		for len(ids) > 0 {
			chunk := ids[:min(len(ids), maxInList)]
			ids = ids[len(chunk):]
			in := padIn(chunk)
			q := s.inList(`UPDATE alerts SET status = 'resolved', ends_at = `+s.param(1)+`, last_seen_at = `+s.param(2)+` WHERE id`, len(in), 2, "")
			if err := s.exec(ctx, tx, q, s.db.PlanEach(append([]any{end, now}, in...))...); err != nil {
				return fmt.Errorf("resolve alerts: %w", err)
			}
		}
	}
	return nil
}

// resolvedAlert is the newest resolved alert of a fingerprint.
type resolvedAlert struct {
	id     uuid.UUID
	endsAt *time.Time
}

// readLastResolved returns the newest resolved alert of each fingerprint
// that has one (by starts_at, then id, as lastResolved).
func (s *Service) readLastResolved(ctx context.Context, tx *sql.Tx, fps []string) (map[string]resolvedAlert, error) {
	out := map[string]resolvedAlert{}
	type best struct {
		resolvedAlert
		starts time.Time
	}
	found := map[string]best{}
	for len(fps) > 0 {
		chunk := fps[:min(len(fps), maxInList)]
		fps = fps[len(chunk):]
		// The condition on the status is one no index serves, so that the
		// fingerprint index (alerts_fingerprint_open) is used; on PostgreSQL
		// one lookup per fingerprint, whatever the statistics say.
		var q string
		var args []any
		if s.db.Engine == db.Postgres {
			q = `SELECT a.fingerprint, a.id, a.starts_at, a.ends_at FROM unnest($1::text[]) AS v(fp)
				CROSS JOIN LATERAL (SELECT fingerprint, id, starts_at, ends_at FROM alerts
					WHERE fingerprint = v.fp AND status || '' = 'resolved' ORDER BY starts_at DESC, id DESC LIMIT 1) a`
			args = []any{chunk}
		} else {
			args = padIn(chunk)
			q = s.inList(`SELECT fingerprint, id, starts_at, ends_at FROM alerts WHERE status || '' = 'resolved' AND fingerprint`, len(args), 0, "")
		}
		err := s.query(ctx, tx, q, s.db.PlanEach(args), func(rows *sql.Rows) error {
			var fp string
			var b best
			var ends sql.NullTime
			if err := rows.Scan(&fp, &b.id, &b.starts, &ends); err != nil {
				return err
			}
			b.endsAt = nullTime(ends)
			cur, ok := found[fp]
			if !ok || b.starts.After(cur.starts) || b.starts.Equal(cur.starts) && compareIDs(b.id, cur.id) > 0 {
				found[fp] = b
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read resolved alerts: %w", err)
		}
	}
	for fp, b := range found {
		out[fp] = b.resolvedAlert
	}
	return out, nil
}

// insertAlerts inserts new firing alerts, several per statement.
func (s *Service) insertAlerts(ctx context.Context, tx *sql.Tx, rs []row) error {
	const cols = 15
	for _, n := range chunkSizes(len(rs), maxRows) {
		chunk := rs[:n]
		rs = rs[n:]
		var b strings.Builder
		b.WriteString(`INSERT INTO alerts (id, fingerprint, status, severity, summary, labels, annotations, source,
			integration_id, service_id, dedup_key, generator_url, starts_at, ends_at, last_seen_at, refresh_count, created_at) VALUES `)
		args := make([]any, 0, n*cols)
		pg := s.db.Engine == db.Postgres
		for i, r := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			// status 'firing', refresh_count 1 and created_at = last_seen_at
			// are written in the text; the other columns are parameters.
			if pg {
				k := i * cols
				fmt.Fprintf(&b, "($%d, $%d, 'firing', $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, 1, $%d)",
					k+1, k+2, k+3, k+4, k+5, k+6, k+7, k+8, k+9, k+10, k+11, k+12, k+13, k+14, k+15)
			} else {
				b.WriteString("(?, ?, 'firing', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)")
			}
			args = append(args, r.id, r.fingerprint, r.severity, r.summary, r.labels, r.annotations, r.source, nullID(r.integrationID),
				nullID(r.serviceID), r.dedupKey, r.generatorURL, r.startsAt, r.endsAt, r.now, r.now)
		}
		if err := s.exec(ctx, tx, b.String(), args...); err != nil {
			return fmt.Errorf("insert alerts: %w", err)
		}
	}
	return nil
}

// queueDispatchAll tells the dispatcher that alerts changed (see
// queueDispatch), several per statement.
func (s *Service) queueDispatchAll(ctx context.Context, tx *sql.Tx, ids []uuid.UUID) error {
	for _, n := range chunkSizes(len(ids), maxInList) {
		chunk := ids[:n]
		ids = ids[n:]
		var b strings.Builder
		b.WriteString(`INSERT INTO alert_dispatch_queue (alert_id) VALUES `)
		s.placeholders(&b, n, 1, 0, false)
		args := make([]any, n)
		for i, id := range chunk {
			args[i] = id
		}
		if err := s.exec(ctx, tx, b.String(), args...); err != nil {
			return fmt.Errorf("queue alerts for dispatch: %w", err)
		}
	}
	return nil
}

// insertEvents records history entries at now, several per statement.
func (s *Service) insertEvents(ctx context.Context, tx *sql.Tx, es []eventRow, now time.Time) error {
	const cols = 7
	for _, n := range chunkSizes(len(es), maxRows) {
		chunk := es[:n]
		es = es[n:]
		var b strings.Builder
		b.WriteString(`INSERT INTO alert_events (id, alert_id, at, kind, actor, integration_id, detail) VALUES `)
		s.placeholders(&b, n, cols, 0, false)
		args := make([]any, 0, n*cols)
		for _, e := range chunk {
			d := "{}"
			if len(e.detail) > 0 {
				j, err := json.Marshal(e.detail)
				if err != nil {
					return fmt.Errorf("alert event detail: %w", err)
				}
				d = string(j)
			}
			args = append(args, db.NewID(), e.alertID, now, e.kind, e.actor, nullID(e.integ), d)
		}
		if err := s.exec(ctx, tx, b.String(), args...); err != nil {
			return fmt.Errorf("insert alert events: %w", err)
		}
	}
	return nil
}
