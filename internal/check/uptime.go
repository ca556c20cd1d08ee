package check

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
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

// counts are the sums of rollupColumns.
type counts struct {
	runs, up, degraded, down, durUS int64
	hist                            [12]int64
}

// scan reads a row of rollupColumns (or runSums) and adds it.
func (c *counts) scan(row *sql.Row) error {
	var n counts
	dest := []any{&n.runs, &n.up, &n.degraded, &n.down, &n.durUS}
	for i := range n.hist {
		dest = append(dest, &n.hist[i])
	}
	if err := row.Scan(dest...); err != nil {
		return err
	}
	c.runs, c.up, c.degraded, c.down, c.durUS = c.runs+n.runs, c.up+n.up, c.degraded+n.degraded, c.down+n.down, c.durUS+n.durUS
	for i := range c.hist {
		c.hist[i] += n.hist[i]
	}
	return nil
}

// Uptime returns the uptime of the check called name over [from, to),
// rounded out to whole hours: from the rollups (so it covers any window,
// long after raw results are gone) and the raw results not rolled up yet
// (so it is exact up to the latest run).
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
	// Hourly rollups are kept for 90 days past the raw retention; longer
	// windows are counted in whole UTC days from the daily rollups.
	period := "hour"
	if to.Sub(from) > 90*24*time.Hour {
		period = "day"
		from = time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC)
		u.From = from
	}
	var n counts
	err = ReadRuns(ctx, q, func(wm time.Time, ok bool) error {
		n = counts{}
		if err := n.scan(q.QueryRowContext(ctx, `SELECT `+rollupSums+` FROM check_rollups
			WHERE check_id = $1 AND period = $4 AND bucket >= $2 AND bucket < $3`, c.ID, from, to, period)); err != nil {
			return err
		}
		if !ok || !wm.Before(to) {
			return nil
		}
		return n.scan(q.QueryRowContext(ctx, `SELECT `+runSums+` FROM check_results
			WHERE check_id = $1 AND counted AND at >= $2 AND at < $3`, c.ID, later(from, wm), to))
	})
	if err != nil {
		return u, fmt.Errorf("uptime: %w", err)
	}
	u.Runs, u.Up, u.Degraded, u.Down = n.runs, n.up, n.degraded, n.down
	if u.Runs > 0 {
		p := float64(u.Up+u.Degraded) / float64(u.Runs) * 100
		u.Percent = &p
		u.Mean = time.Duration(n.durUS/u.Runs) * time.Microsecond
		u.P50, u.P95, u.P99 = percentile(n.hist, 0.50), percentile(n.hist, 0.95), percentile(n.hist, 0.99)
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
	today := s.clock.Now().UTC().Truncate(24 * time.Hour)
	first := today.AddDate(0, 0, -(n - 1))
	q := s.db.Reader()
	var byDate map[string]Day
	err = ReadRuns(ctx, q, func(wm time.Time, ok bool) error {
		byDate = map[string]Day{}
		rows, err := q.QueryContext(ctx, `SELECT bucket, runs, down, degraded FROM check_rollups
			WHERE check_id = $1 AND period = 'day' AND bucket >= $2 ORDER BY bucket`, c.ID, first)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var b time.Time
			var d Day
			if err := rows.Scan(&b, &d.Runs, &d.Down, &d.Degraded); err != nil {
				return err
			}
			d.Date = b.UTC().Format(time.DateOnly)
			byDate[d.Date] = d
		}
		if err := rows.Err(); err != nil {
			return err
		}
		// The daily rollup of the watermark's day holds the hours before
		// it; the raw results from it on are added, a day at a time.
		for day := later(first, wm.Truncate(24*time.Hour)); ok && !day.After(today); day = day.AddDate(0, 0, 1) {
			var runs, down, degraded int64
			if err := q.QueryRowContext(ctx, `SELECT count(*), COALESCE(SUM(CASE WHEN status = 'down' THEN 1 ELSE 0 END), 0),
				COALESCE(SUM(CASE WHEN status = 'degraded' THEN 1 ELSE 0 END), 0) FROM check_results
				WHERE check_id = $1 AND counted AND at >= $2 AND at < $3`, c.ID, later(day, wm), day.AddDate(0, 0, 1)).Scan(&runs, &down, &degraded); err != nil {
				return err
			}
			d := byDate[day.Format(time.DateOnly)]
			d.Runs, d.Down, d.Degraded = d.Runs+runs, d.Down+down, d.Degraded+degraded
			byDate[day.Format(time.DateOnly)] = d
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("days: %w", err)
	}
	out := make([]Day, n)
	for i := range out {
		date := first.AddDate(0, 0, i).Format(time.DateOnly)
		out[i] = byDate[date]
		out[i].Date = date
		if d := out[i]; d.Runs > 0 {
			p := float64(d.Runs-d.Down) / float64(d.Runs) * 100
			out[i].Percent = &p
		}
	}
	return out, nil
}

// DeleteResultsBefore deletes raw results older than t (rollups stay),
// but none the roll-up has yet to count, and reports how many.
func (s *Service) DeleteResultsBefore(ctx context.Context, t time.Time) (int64, error) {
	var n int64
	// Results not rolled up yet (or due to be rolled again) stay.
	if wm, ok, err := unrolled(ctx, s.db.Reader()); err != nil {
		return 0, err
	} else if ok {
		t = earlier(t, wm.Add(-rollupRedo))
	}
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
