package check

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
)

// DurationBuckets are the upper bounds of the run-duration histogram kept
// in rollups; the last bucket holds everything slower.
var DurationBuckets = [12]time.Duration{
	5 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond, time.Second,
	2500 * time.Millisecond, 5 * time.Second, 10 * time.Second, 1<<63 - 1,
}

func bucketOf(d time.Duration) int {
	for i, b := range DurationBuckets {
		if d <= b {
			return i
		}
	}
	return len(DurationBuckets) - 1
}

// rollup counts runs of one check in one hour or day.
type rollup struct {
	checkID  uuid.UUID
	period   string
	bucket   time.Time
	runs     int64
	up       int64
	degraded int64
	down     int64
	durUS    int64
	hist     [12]int64
}

func (r *rollup) add(res Result) {
	r.runs++
	switch res.Status {
	case Up:
		r.up++
	case Degraded:
		r.degraded++
	default:
		r.down++
	}
	r.durUS += res.Duration.Microseconds()
	r.hist[bucketOf(res.Duration)]++
}

// rollupKey names one rollup row.
type rollupKey struct {
	checkID uuid.UUID
	day     bool
	bucket  int64 // Unix seconds
}

// rollups aggregates a batch of results per check, hour and day, in the
// order each rollup first appears.
func rollups(batch []Result) []*rollup {
	m := make(map[rollupKey]*rollup, len(batch)*2/3+1)
	var out []*rollup
	for _, res := range batch {
		if res.Location == PingLocation {
			continue // pings are evidence for heartbeat runs, not runs
		}
		at := res.At.UTC()
		hour := at.Truncate(time.Hour)
		day := time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, time.UTC)
		for _, p := range [2]struct {
			day    bool
			bucket time.Time
		}{{false, hour}, {true, day}} {
			key := rollupKey{res.CheckID, p.day, p.bucket.Unix()}
			r := m[key]
			if r == nil {
				r = &rollup{checkID: res.CheckID, period: "hour", bucket: p.bucket}
				if p.day {
					r.period = "day"
				}
				m[key] = r
				out = append(out, r)
			}
			r.add(res)
		}
	}
	return out
}

const histColumns = `h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11`

var rollupsUpsert = &bulkQuery{name: "save rollups", cols: 20,
	head: `INSERT INTO check_rollups (check_id, period, bucket, runs, up, degraded, down, duration_us, ` + histColumns + `) VALUES `,
	tail: ` ON CONFLICT (check_id, period, bucket) DO UPDATE SET runs = check_rollups.runs + excluded.runs,
		up = check_rollups.up + excluded.up, degraded = check_rollups.degraded + excluded.degraded,
		down = check_rollups.down + excluded.down, duration_us = check_rollups.duration_us + excluded.duration_us, ` + histSums()}

// histSums adds the histogram columns up in the rollups' upsert.
func histSums() string {
	var set []string
	for _, c := range strings.Split(histColumns, ", ") {
		set = append(set, fmt.Sprintf("%s = check_rollups.%s + excluded.%s", c, c, c))
	}
	return strings.Join(set, ", ")
}

// saveRollups adds the counts to the stored rollups, many rows per
// statement, through the prepared statements of c (nil: executed
// directly). rs must not name a rollup twice (PostgreSQL refuses an upsert
// that changes a row twice); rollups returns each once.
func saveRollups(ctx context.Context, tx *sql.Tx, c *stmtCache, rs []*rollup) error {
	var args []any
	for _, n := range c.chunks(len(rs)) {
		args = args[:0]
		for _, r := range rs[:n] {
			args = append(args, r.checkID, r.period, r.bucket, r.runs, r.up, r.degraded, r.down, r.durUS)
			for _, h := range r.hist {
				args = append(args, h)
			}
		}
		if err := c.exec(ctx, tx, rollupsUpsert, n, args); err != nil {
			return fmt.Errorf("save rollups: %w", err)
		}
		rs = rs[n:]
	}
	return nil
}

// Uptime summarises a check over a window.
type Uptime struct {
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Runs     int64     `json:"runs"`
	Up       int64     `json:"up"`
	Degraded int64     `json:"degraded"`
	Down     int64     `json:"down"`
	// Percent is the share of runs that were up or degraded; nil without runs.
	Percent *float64 `json:"percent,omitempty"`
	// Mean and the percentiles of run durations; percentiles are the upper
	// bound of the histogram bucket they fall in.
	Mean      time.Duration `json:"mean_ns"`
	P50       time.Duration `json:"p50_ns"`
	P95       time.Duration `json:"p95_ns"`
	P99       time.Duration `json:"p99_ns"`
	Downtimes []Downtime    `json:"downtimes"`
}

// Downtime is a period a check was confirmed DOWN.
type Downtime struct {
	Start  time.Time  `json:"start"`
	End    *time.Time `json:"end,omitempty" doc:"absent while it lasts"`
	Reason string     `json:"reason,omitempty"`
}

// Day is one day of a check's history, for uptime bars.
type Day struct {
	Date     string   `json:"date"` // YYYY-MM-DD, UTC
	Runs     int64    `json:"runs"`
	Down     int64    `json:"down"`
	Degraded int64    `json:"degraded"`
	Percent  *float64 `json:"percent,omitempty"`
}

// Uptime returns the uptime of the check called name over [from, to),
// rounded out to whole hours, from the rollups (so it covers any window,
// long after raw results are gone).
func (s *Service) Uptime(ctx context.Context, name string, from, to time.Time) (Uptime, error) {
	c, err := s.Get(ctx, name)
	if err != nil {
		return Uptime{}, err
	}
	if !from.Before(to) {
		return Uptime{}, errs.Invalidf("from", "must be before to")
	}
	from, to = from.UTC().Truncate(time.Hour), to.UTC().Add(time.Hour-1).Truncate(time.Hour)
	u := Uptime{From: from, To: to, Downtimes: []Downtime{}}
	q := s.db.Reader()
	var hist [12]int64
	scan := []any{&u.Runs, &u.Up, &u.Degraded, &u.Down, new(int64)}
	for i := range hist {
		scan = append(scan, &hist[i])
	}
	var sums []string
	for _, col := range strings.Split("runs, up, degraded, down, duration_us, "+histColumns, ", ") {
		sums = append(sums, "COALESCE(SUM("+col+"), 0)")
	}
	// Hourly rollups are kept for 90 days past the raw retention; longer
	// windows are counted in whole UTC days from the daily rollups.
	period := "hour"
	if to.Sub(from) > 90*24*time.Hour {
		period = "day"
		from = time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC)
		u.From = from
	}
	if err := q.QueryRowContext(ctx, `SELECT `+strings.Join(sums, ", ")+` FROM check_rollups
		WHERE check_id = $1 AND period = $4 AND bucket >= $2 AND bucket < $3`, c.ID, from, to, period).Scan(scan...); err != nil {
		return u, fmt.Errorf("uptime: %w", err)
	}
	if u.Runs > 0 {
		p := float64(u.Up+u.Degraded) / float64(u.Runs) * 100
		u.Percent = &p
		u.Mean = time.Duration(*scan[4].(*int64)/u.Runs) * time.Microsecond
		u.P50, u.P95, u.P99 = percentile(hist, 0.50), percentile(hist, 0.95), percentile(hist, 0.99)
	}
	u.Downtimes, err = downtimes(ctx, q, c.ID, from, to)
	return u, err
}

// percentile returns the upper bound of the bucket holding the q-quantile.
func percentile(hist [12]int64, q float64) time.Duration {
	var total int64
	for _, n := range hist {
		total += n
	}
	if total == 0 {
		return 0
	}
	rank := int64(q*float64(total) + 0.5)
	var seen int64
	for i, n := range hist {
		seen += n
		if seen >= max(rank, 1) {
			if i == len(hist)-1 {
				return DurationBuckets[i-1] // "slower than the last bound"
			}
			return DurationBuckets[i]
		}
	}
	return DurationBuckets[len(hist)-2]
}

// downtimes pairs the check's transitions into and out of DOWN within the
// window (and a DOWN period already running at its start).
func downtimes(ctx context.Context, q db.Querier, id uuid.UUID, from, to time.Time) ([]Downtime, error) {
	out := []Downtime{}
	var cur *Downtime
	var before Status
	err := q.QueryRowContext(ctx, `SELECT to_status FROM check_events WHERE check_id = $1 AND at < $2 ORDER BY at DESC LIMIT 1`, id, from).Scan(&before)
	if err != nil && !db.IsNoRows(err) {
		return nil, err
	}
	if before == Down {
		cur = &Downtime{Start: from}
	}
	rows, err := q.QueryContext(ctx, `SELECT at, to_status, reason FROM check_events WHERE check_id = $1 AND at >= $2 AND at < $3 ORDER BY at`, id, from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var at time.Time
		var st Status
		var reason string
		if err := rows.Scan(&at, &st, &reason); err != nil {
			return nil, err
		}
		at = at.UTC()
		switch {
		case st == Down && cur == nil:
			cur = &Downtime{Start: at, Reason: reason}
		case st != Down && cur != nil:
			end := at
			cur.End = &end
			out = append(out, *cur)
			cur = nil
		}
	}
	if cur != nil {
		out = append(out, *cur)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start.After(out[j].Start) })
	return out, rows.Err()
}

// Days returns the last n days (UTC, oldest first, today included) of the
// check called name, for uptime bars.
func (s *Service) Days(ctx context.Context, name string, n int) ([]Day, error) {
	c, err := s.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	n = min(max(n, 1), 400)
	today := s.clock.Now().UTC()
	first := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -(n - 1))
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT bucket, runs, down, degraded FROM check_rollups
		WHERE check_id = $1 AND period = 'day' AND bucket >= $2 ORDER BY bucket`, c.ID, first)
	if err != nil {
		return nil, fmt.Errorf("days: %w", err)
	}
	defer rows.Close()
	byDate := map[string]Day{}
	for rows.Next() {
		var b time.Time
		var d Day
		if err := rows.Scan(&b, &d.Runs, &d.Down, &d.Degraded); err != nil {
			return nil, err
		}
		d.Date = b.UTC().Format(time.DateOnly)
		if d.Runs > 0 {
			p := float64(d.Runs-d.Down) / float64(d.Runs) * 100
			d.Percent = &p
		}
		byDate[d.Date] = d
	}
	out := make([]Day, n)
	for i := range out {
		date := first.AddDate(0, 0, i).Format(time.DateOnly)
		out[i] = byDate[date]
		out[i].Date = date
	}
	return out, rows.Err()
}

// DeleteResultsBefore deletes raw results older than t (rollups stay) and
// reports how many.
func (s *Service) DeleteResultsBefore(ctx context.Context, t time.Time) (int64, error) {
	var n int64
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM check_results WHERE at < $1`, t)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		_, err = tx.ExecContext(ctx, `DELETE FROM check_rollups WHERE period = 'hour' AND bucket < $1`, t.AddDate(0, 0, -90))
		return err
	})
	return n, err
}
