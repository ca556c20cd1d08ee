package check

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/db"
)

// Rollups count a check's runs per hour and per day (check_rollups), for
// uptime over any window long after the raw results are gone. They are not
// written with the results: a periodic roll-up recomputes them from the
// raw results (the rows marked counted: each run's outcome once, not the
// results of each location of a check probed from several, not pings),
// once an hour can no longer get results, and moves a watermark
// (check_rollup_watermark.rolled_through). Readers add the counted raw
// results from the watermark on to the rollups, so uptime is exact up to
// the latest run. Adding to a rollup on every flush cost a tenth of the
// server's CPU at 10,000 checks.

// rollupSettle is how long after an hour ends its results may still be
// stored: agents report runs up to an hour old (Report), their results wait
// in the inbox up to staleInbox, a slot of several locations is decided
// after its run's deadline plus reportGrace. The roll-up finalises an
// hour only after it.
const rollupSettle = staleInbox + 15*time.Minute

// rollupRedo is how long before the watermark each roll-up recomputes the
// hours again, for results stored later still (a runner that could not
// write for a while). Raw results must be kept longer than rollupSettle
// plus rollupRedo plus an hour; the retention is at least a day.
const rollupRedo = time.Hour

// rollupInterval is how often each runner tries to roll up; the roll-up
// does work once an hour, on one replica.
const rollupInterval = time.Minute

// watermark is the roll-up's progress: the rollups hold every counted
// result before through. Since is when the roll-up took over: rollups of
// earlier results were added to as they were written and are not rolled
// again.
type watermark struct {
	since, through time.Time
}

// readWatermark returns the watermark, and false before any runner
// started (then the rollups are all there is).
func readWatermark(ctx context.Context, q db.Querier) (watermark, bool, error) {
	var w watermark
	err := q.QueryRowContext(ctx, `SELECT since, rolled_through FROM check_rollup_watermark WHERE id = 1`).Scan(&w.since, &w.through)
	if db.IsNoRows(err) {
		return w, false, nil
	}
	if err != nil {
		return w, false, fmt.Errorf("read rollup watermark: %w", err)
	}
	w.since, w.through = w.since.UTC(), w.through.UTC()
	return w, true, nil
}

// startRollups makes the roll-up take over at now unless it already has.
func startRollups(ctx context.Context, q db.Querier, now time.Time) error {
	now = now.UTC()
	if _, err := q.ExecContext(ctx, `INSERT INTO check_rollup_watermark (id, since, rolled_through) VALUES (1, $1, $1)
		ON CONFLICT (id) DO NOTHING`, now); err != nil {
		return fmt.Errorf("start rollups: %w", err)
	}
	return nil
}

// runSums is the select list that sums counted raw results as a rollup
// row counts them: runs, up, degraded, down, duration_us, h0…h11.
var runSums = func() string {
	cols := []string{"count(*)",
		"COALESCE(SUM(CASE WHEN status = 'up' THEN 1 ELSE 0 END), 0)",
		"COALESCE(SUM(CASE WHEN status = 'degraded' THEN 1 ELSE 0 END), 0)",
		"COALESCE(SUM(CASE WHEN status IN ('up', 'degraded') THEN 0 ELSE 1 END), 0)",
		"COALESCE(SUM(duration_us), 0)"}
	for i, b := range DurationBuckets {
		var cond string
		switch {
		case i == 0:
			cond = fmt.Sprintf("duration_us <= %d", b.Microseconds())
		case i == len(DurationBuckets)-1:
			cond = fmt.Sprintf("duration_us > %d", DurationBuckets[i-1].Microseconds())
		default:
			cond = fmt.Sprintf("duration_us > %d AND duration_us <= %d", DurationBuckets[i-1].Microseconds(), b.Microseconds())
		}
		cols = append(cols, "COALESCE(SUM(CASE WHEN "+cond+" THEN 1 ELSE 0 END), 0)")
	}
	return strings.Join(cols, ", ")
}()

const histColumns = `h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11`

const rollupColumns = `runs, up, degraded, down, duration_us, ` + histColumns

// rollupSums sums rollup rows: SUM of each of rollupColumns.
var rollupSums = func() string {
	var cols []string
	for _, c := range strings.Split(rollupColumns, ", ") {
		cols = append(cols, "COALESCE(SUM("+c+"), 0)")
	}
	return strings.Join(cols, ", ")
}()

// rollupAdds adds excluded's counts to a rollup row in an upsert.
var rollupAdds = func() string {
	var set []string
	for _, c := range strings.Split(rollupColumns, ", ") {
		set = append(set, fmt.Sprintf("%s = check_rollups.%s + excluded.%s", c, c, c))
	}
	return strings.Join(set, ", ")
}()

// rollUp moves the watermark to the start of the last hour that can no
// longer get results (rollupSettle) and, in the same transaction, brings
// the rollups up to it: the hourly rows from rollupRedo before the old
// watermark (but not before since) are replaced with the sums of their
// counted raw results; the daily rows of the days touched are recomputed
// from the hourly rows. The hour since falls in was added to by the writes
// before the roll-up took over: its counted results from since on are
// added once, as the watermark first passes it. The raw results are summed
// on a reader before the writing transaction (on SQLite it holds the only
// writer, and the sums are most of the work).
//
// It is idempotent: a second run, or a run on another replica at the same
// time, finds the watermark moved and does nothing (the watermark's row is
// locked first, and the sums are used only if it is still the one they
// were computed for). An interrupted run changes nothing. It reports
// whether it moved the watermark.
func rollUp(ctx context.Context, d *db.DB, now time.Time) (bool, error) {
	return rollUpThen(ctx, d, now, nil)
}

// rollUpThen is rollUp with a function run in its transaction before the
// watermark moves (tests fail it to see that nothing is half-written).
func rollUpThen(ctx context.Context, d *db.DB, now time.Time, then func(*sql.Tx) error) (bool, error) {
	target := now.UTC().Add(-rollupSettle).Truncate(time.Hour)
	w, ok, err := readWatermark(ctx, d.Reader())
	if err != nil || !ok || !target.After(w.through) {
		return false, err // nothing to do, cheaply
	}
	whole := w.since.Truncate(time.Hour) // the first hour rolled whole
	partial := !whole.Equal(w.since)
	if partial {
		whole = whole.Add(time.Hour)
		partial = w.through.Before(whole) // not passed yet
	}
	from := later(w.through.Truncate(time.Hour).Add(-rollupRedo), whole)
	touched := from
	var partialSums []hourSum
	if partial {
		touched = w.since.Truncate(time.Hour)
		if partialSums, err = sumRuns(ctx, d.Reader(), w.since, whole); err != nil {
			return false, fmt.Errorf("roll up check results: %w", err)
		}
	}
	var hours [][]hourSum
	for h := from; h.Before(target); h = h.Add(time.Hour) {
		sums, err := sumRuns(ctx, d.Reader(), h, h.Add(time.Hour))
		if err != nil {
			return false, fmt.Errorf("roll up check results: %w", err)
		}
		hours = append(hours, sums)
	}
	anon := d.Engine == db.SQLite
	moved := false
	err = d.InTx(ctx, func(tx *sql.Tx) error {
		moved = false
		// Lock the row, then read it again: a replica that rolled up
		// meanwhile has moved it.
		if _, err := tx.ExecContext(ctx, `UPDATE check_rollup_watermark SET rolled_through = rolled_through WHERE id = 1`); err != nil {
			return err
		}
		cur, ok, err := readWatermark(ctx, tx)
		if err != nil || !ok || !cur.since.Equal(w.since) || !cur.through.Equal(w.through) {
			return err // moved: the sums may be stale; the next run plans afresh
		}
		if partial {
			if err := writeRollups(ctx, tx, rollupsAdd, anon, "hour", touched, partialSums); err != nil {
				return err
			}
		}
		for i, sums := range hours {
			h := from.Add(time.Duration(i) * time.Hour)
			if _, err := tx.ExecContext(ctx, `DELETE FROM check_rollups WHERE period = 'hour' AND bucket >= $1 AND bucket < $2`, h, h.Add(time.Hour)); err != nil {
				return fmt.Errorf("hour %s: %w", h.Format(time.RFC3339), err)
			}
			if err := writeRollups(ctx, tx, rollupsInsert, anon, "hour", h, sums); err != nil {
				return err
			}
		}
		for day := touched.Truncate(24 * time.Hour); day.Before(target); day = day.AddDate(0, 0, 1) {
			if err := rollDay(ctx, tx, day, earlier(day.AddDate(0, 0, 1), target)); err != nil {
				return err
			}
		}
		if then != nil {
			if err := then(tx); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE check_rollup_watermark SET rolled_through = $1 WHERE id = 1`, target); err != nil {
			return err
		}
		moved = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("roll up check results: %w", err)
	}
	return moved, nil
}

// hourSum is one check's counted runs in an hour.
type hourSum struct {
	checkID uuid.UUID
	counts
}

// sumRuns sums the counted raw results in [from, to) per check.
func sumRuns(ctx context.Context, q db.Querier, from, to time.Time) ([]hourSum, error) {
	rows, err := q.QueryContext(ctx, `SELECT check_id, `+runSums+` FROM check_results
		WHERE counted AND at >= $1 AND at < $2 GROUP BY check_id`, from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []hourSum
	for rows.Next() {
		var s hourSum
		dest := []any{&s.checkID, &s.runs, &s.up, &s.degraded, &s.down, &s.durUS}
		for i := range s.hist {
			dest = append(dest, &s.hist[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

var (
	rollupsInsert = &bulkQuery{name: "insert rollups", cols: 20,
		head: `INSERT INTO check_rollups (check_id, period, bucket, ` + rollupColumns + `) VALUES `}
	rollupsAdd = &bulkQuery{name: "add to rollups", cols: 20,
		head: `INSERT INTO check_rollups (check_id, period, bucket, ` + rollupColumns + `) VALUES `,
		tail: ` ON CONFLICT (check_id, period, bucket) DO UPDATE SET ` + rollupAdds}
)

// writeRollups writes the rollups of one period and bucket through q,
// flushChunk rows per statement (anon: with ? placeholders, for SQLite).
func writeRollups(ctx context.Context, tx *sql.Tx, q *bulkQuery, anon bool, period string, bucket time.Time, sums []hourSum) error {
	var args []any
	for _, n := range chunks(len(sums), flushChunk) {
		args = args[:0]
		for _, s := range sums[:n] {
			args = append(args, s.checkID, period, bucket, s.runs, s.up, s.degraded, s.down, s.durUS)
			for _, h := range s.hist {
				args = append(args, h)
			}
		}
		if _, err := tx.ExecContext(ctx, q.text1(n, anon), args...); err != nil {
			return fmt.Errorf("%s %s: %w", period, bucket.Format(time.RFC3339), err)
		}
		sums = sums[n:]
	}
	return nil
}

// rollDay replaces the daily rollups of the day starting at day with the
// sums of its hourly rollups before end.
func rollDay(ctx context.Context, tx *sql.Tx, day, end time.Time) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM check_rollups WHERE period = 'day' AND bucket >= $1 AND bucket < $2`, day, day.AddDate(0, 0, 1)); err != nil {
		return fmt.Errorf("day %s: %w", day.Format(time.DateOnly), err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO check_rollups (check_id, period, bucket, `+rollupColumns+`)
		SELECT check_id, 'day', $1, `+rollupSums+` FROM check_rollups
		WHERE period = 'hour' AND bucket >= $1 AND bucket < $2 GROUP BY check_id`, day, end); err != nil {
		return fmt.Errorf("day %s: %w", day.Format(time.DateOnly), err)
	}
	return nil
}

// unrolled returns the watermark readers add raw results from: the
// rolled_through of the roll-up, or false when no runner has started (the
// rollups are all there is).
func unrolled(ctx context.Context, q db.Querier) (time.Time, bool, error) {
	w, ok, err := readWatermark(ctx, q)
	return w.through, ok, err
}

// ReadRuns runs read with the roll-up's watermark: read adds the counted
// raw results (check_results.counted) from rolledThrough on to the rollups
// (check_rollups), which hold those before it. Without a watermark (ok
// false: no runner has started) the rollups are all there is. If a
// roll-up commits while read runs, read runs again, so that it never
// counts a run twice or misses one; read must start from zero each time.
// For readers outside the package (status pages).
func ReadRuns(ctx context.Context, q db.Querier, read func(rolledThrough time.Time, ok bool) error) error {
	for range 3 {
		w, ok, err := unrolled(ctx, q)
		if err != nil {
			return err
		}
		if err := read(w, ok); err != nil {
			return err
		}
		again, ok2, err := unrolled(ctx, q)
		if err != nil {
			return err
		}
		if ok == ok2 && w.Equal(again) {
			return nil
		}
	}
	return errors.New("read check runs: the rollups kept changing") // roll-ups commit once an hour
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
