package check

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
	"groundcrew.dev/groundcrew/internal/identity"
)

// rollupFixture stores results as the runner and agents do and keeps, in
// memory, every run the rollups must count, to compare readers with.
type rollupFixture struct {
	t     *testing.T
	d     *db.DB
	clk   *clock.Fake
	svc   *Service
	ids   []uuid.UUID // checks c-0, c-1, …
	runs  []Result    // every run to count, by any path
	since time.Time
}

func newRollupFixture(t *testing.T, d *db.DB, since time.Time) *rollupFixture {
	t.Helper()
	f := &rollupFixture{t: t, d: d, clk: clock.NewFake(since), ids: flushFixture(t, d, 2), since: since}
	f.svc = NewService(d, f.clk, nil, Options{})
	return f
}

// start starts the rollups at the fixture's since, as a fresh server does.
func (f *rollupFixture) start() {
	f.t.Helper()
	if err := startRollups(f.ctx(), f.d.Writer(), f.since); err != nil {
		f.t.Fatal(err)
	}
}

// rollUp rolls up as of now, which must find work to do.
func (f *rollupFixture) rollUp(now time.Time, what string) {
	f.t.Helper()
	if ok, err := rollUp(f.ctx(), f.d, now); err != nil || !ok {
		f.t.Fatalf("%s: %v, %v", what, ok, err)
	}
}

func (f *rollupFixture) ctx() context.Context {
	return identity.WithActor(context.Background(), identity.System())
}

// store writes results, the first counted of them counted, as a flush does.
func (f *rollupFixture) store(rs []Result, counted int) {
	f.t.Helper()
	if err := f.d.InTx(f.ctx(), func(tx *sql.Tx) error { return writeResults(f.ctx(), tx, nil, rs, counted) }); err != nil {
		f.t.Fatal(err)
	}
	f.runs = append(f.runs, rs[:counted]...)
}

// storeOld records a run as the writes did before the roll-up took over:
// a raw row not marked counted, added to the hourly and daily rollups.
func (f *rollupFixture) storeOld(r Result) {
	f.t.Helper()
	at := r.At.UTC()
	for _, p := range []struct {
		period string
		bucket time.Time
	}{{"hour", at.Truncate(time.Hour)}, {"day", at.Truncate(24 * time.Hour)}} {
		var c counts
		c.add(r)
		args := []any{r.CheckID, p.period, p.bucket, c.runs, c.up, c.degraded, c.down, c.durUS}
		for _, h := range c.hist {
			args = append(args, h)
		}
		if _, err := f.d.Writer().ExecContext(f.ctx(), `INSERT INTO check_rollups (check_id, period, bucket, `+rollupColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
			ON CONFLICT (check_id, period, bucket) DO UPDATE SET `+rollupAdds, args...); err != nil {
			f.t.Fatal(err)
		}
	}
	if err := f.d.InTx(f.ctx(), func(tx *sql.Tx) error { return writeResults(f.ctx(), tx, nil, []Result{r}, 0) }); err != nil {
		f.t.Fatal(err)
	}
	f.runs = append(f.runs, r)
}

// add counts a run as a rollup row does.
func (c *counts) add(r Result) {
	c.runs++
	switch r.Status {
	case Up:
		c.up++
	case Degraded:
		c.degraded++
	default:
		c.down++
	}
	us := r.Duration.Microseconds()
	c.durUS += us
	c.hist[bucketOf(time.Duration(us)*time.Microsecond)]++
}

// want returns the uptime the runs of id in [from, to) make.
func (f *rollupFixture) want(id uuid.UUID, from, to time.Time) Uptime {
	var c counts
	for _, r := range f.runs {
		if r.CheckID == id && !r.At.Before(from) && r.At.Before(to) {
			c.add(r)
		}
	}
	u := Uptime{Runs: c.runs, Up: c.up, Degraded: c.degraded, Down: c.down}
	if c.runs > 0 {
		u.Mean = time.Duration(c.durUS/c.runs) * time.Microsecond
		u.P50, u.P95, u.P99 = percentile(c.hist, 0.50), percentile(c.hist, 0.95), percentile(c.hist, 0.99)
	}
	return u
}

// check compares Uptime and Days of every check with the runs stored.
func (f *rollupFixture) check(label string) {
	f.t.Helper()
	now := f.clk.Now()
	from, to := now.Add(-30*time.Hour).Truncate(time.Hour), now.Add(time.Hour).Truncate(time.Hour)
	for i, id := range f.ids {
		name := fmt.Sprintf("c-%d", i)
		got, err := f.svc.Uptime(f.ctx(), name, from, to)
		if err != nil {
			f.t.Fatalf("%s: uptime: %v", label, err)
		}
		got.From, got.To, got.Percent, got.Downtimes = time.Time{}, time.Time{}, nil, nil
		if diff := cmp.Diff(f.want(id, from, to), got); diff != "" {
			f.t.Fatalf("%s: uptime of %s (-want +got):\n%s", label, name, diff)
		}
		days, err := f.svc.Days(f.ctx(), name, 3)
		if err != nil {
			f.t.Fatalf("%s: days: %v", label, err)
		}
		for _, d := range days {
			day, _ := time.Parse(time.DateOnly, d.Date)
			w := f.want(id, day, day.AddDate(0, 0, 1))
			if d.Runs != w.Runs || d.Down != w.Down || d.Degraded != w.Degraded {
				f.t.Fatalf("%s: %s of %s: runs, down, degraded %d, %d, %d; want %d, %d, %d", label, d.Date, name, d.Runs, d.Down, d.Degraded, w.Runs, w.Down, w.Degraded)
			}
		}
	}
}

// rollups returns every rollup row, in order, as text.
func (f *rollupFixture) rollups() string {
	f.t.Helper()
	rows, err := f.d.Reader().QueryContext(f.ctx(), `SELECT check_id, period, bucket, `+rollupColumns+` FROM check_rollups ORDER BY check_id, period, bucket`)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id uuid.UUID
		var period string
		var bucket time.Time
		var c counts
		dest := []any{&id, &period, &bucket, &c.runs, &c.up, &c.degraded, &c.down, &c.durUS}
		for i := range c.hist {
			dest = append(dest, &c.hist[i])
		}
		if err := rows.Scan(dest...); err != nil {
			f.t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %s %s %+v\n", id, period, bucket.UTC().Format(time.RFC3339), c)
	}
	if err := rows.Err(); err != nil {
		f.t.Fatal(err)
	}
	var w watermark
	if err := f.d.Reader().QueryRowContext(f.ctx(), `SELECT since, rolled_through FROM check_rollup_watermark`).Scan(&w.since, &w.through); err != nil {
		f.t.Fatal(err)
	}
	fmt.Fprintf(&b, "watermark %s %s\n", w.since.UTC().Format(time.RFC3339), w.through.UTC().Format(time.RFC3339))
	return b.String()
}

// run returns the n-th of a varied sequence of runs.
func run(id uuid.UUID, at time.Time, n int) Result {
	r := Result{CheckID: id, Location: LocalLocation, At: at, Status: Up, Duration: time.Duration(n%40) * 7 * time.Millisecond}
	switch n % 7 {
	case 3:
		r.Status, r.Reason = Down, "failed"
	case 5:
		r.Status, r.Reason = Degraded, "slow"
	}
	if n%11 == 0 {
		r.Duration = 12 * time.Second
	}
	return r
}

// TestRollUp_UptimeExactAcrossWatermark stores runs every five minutes for
// seven hours across midnight, from before the roll-up took over (since,
// not on an hour) on, rolling up as time passes. Uptime and the daily bars
// must count every run exactly once at every step: those added to the
// rollups before since, those rolled up, and those after the watermark;
// late runs (an agent reporting an hour late) too; never a location's
// result of a check probed from several, nor a ping.
func TestRollUp_UptimeExactAcrossWatermark(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		since := time.Date(2026, 3, 1, 21, 20, 0, 0, time.UTC)
		f := newRollupFixture(t, d, since)
		a, b := f.ids[0], f.ids[1]
		n := 0
		for at := since.Add(-80 * time.Minute); at.Before(since); at = at.Add(5 * time.Minute) {
			f.storeOld(run(a, at, n))
			n++
		}
		f.start()
		if err := startRollups(f.ctx(), d.Writer(), since.Add(time.Hour)); err != nil { // a restart changes nothing
			t.Fatal(err)
		}
		f.check("before any run")
		moved := 0
		for now := since; !now.After(since.Add(7 * time.Hour)); now = now.Add(5 * time.Minute) {
			f.clk.Set(now)
			n++
			rs := []Result{run(a, now, n), run(b, now, n+3)}
			rs[1].Location = "" // the combined outcome of b's locations
			if late := now.Add(-65 * time.Minute); n%6 == 0 && !late.Before(since) {
				rs = append(rs, run(a, late, n+1)) // an agent's run, an hour late
			}
			counted := len(rs)
			rs = append(rs, Result{CheckID: b, Location: "eu", At: now, Status: Down, Duration: time.Second}, // one of b's locations
				Result{CheckID: a, Location: PingLocation, At: now, Status: Down})
			f.store(rs, counted)
			ok, err := rollUp(f.ctx(), d, now)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				moved++
				if again, err := rollUp(f.ctx(), d, now); err != nil || again {
					t.Fatalf("%s: rolled up again: %v, %v", now, again, err)
				}
			}
			f.check(now.Format(time.RFC3339))
		}
		if moved < 5 {
			t.Fatalf("the watermark moved %d times in 7 hours", moved)
		}
		// The hours rolled hold their runs exactly (the first one, partly
		// added to before since, too).
		w, _, err := readWatermark(f.ctx(), d.Reader())
		if err != nil {
			t.Fatal(err)
		}
		for h := since.Truncate(time.Hour); h.Before(w.through); h = h.Add(time.Hour) {
			want := f.want(a, h, h.Add(time.Hour))
			var runs, down int64
			if err := d.Reader().QueryRowContext(f.ctx(), `SELECT runs, down FROM check_rollups WHERE check_id = $1 AND period = 'hour' AND bucket = $2`, a, h).Scan(&runs, &down); err != nil {
				t.Fatalf("hour %s: %v", h, err)
			}
			if runs != want.Runs || down != want.Down {
				t.Errorf("hour %s: runs, down %d, %d; want %d, %d", h, runs, down, want.Runs, want.Down)
			}
		}
	})
}

// TestRollUp_Idempotent rolls up twice, and on two connections at once: the
// rollups count each run once.
func TestRollUp_Idempotent(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		since := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
		f := newRollupFixture(t, d, since)
		f.start()
		for i := range 60 {
			f.store([]Result{run(f.ids[0], since.Add(time.Duration(i)*5*time.Minute), i)}, 1)
		}
		now := since.Add(4 * time.Hour)
		f.rollUp(now, "first roll-up")
		first := f.rollups()
		if ok, err := rollUp(f.ctx(), d, now); err != nil || ok {
			t.Fatalf("second roll-up: %v, %v", ok, err)
		}
		if got := f.rollups(); got != first {
			t.Fatalf("a second roll-up changed the rollups:\n%s", cmp.Diff(first, got))
		}
		// Two replicas an hour later, at once: one moves the watermark.
		f.clk.Set(now.Add(time.Hour))
		var wg sync.WaitGroup
		var mu sync.Mutex
		var moved int
		var errs []error
		for range 2 {
			wg.Go(func() {
				ok, err := rollUp(f.ctx(), d, now.Add(time.Hour))
				mu.Lock()
				defer mu.Unlock()
				if ok {
					moved++
				}
				errs = append(errs, err)
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil || moved != 1 {
			t.Fatalf("two replicas: %d moved the watermark, errors %v", moved, err)
		}
		f.check("after two replicas")
		w, _, _ := readWatermark(f.ctx(), d.Reader())
		var runs int64
		if err := d.Reader().QueryRowContext(f.ctx(), `SELECT COALESCE(SUM(runs), 0) FROM check_rollups WHERE period = 'day'`).Scan(&runs); err != nil {
			t.Fatal(err)
		}
		if want := f.want(f.ids[0], since, w.through).Runs; runs != want || want == 0 {
			t.Fatalf("daily rollups count %d runs; want %d", runs, want)
		}
	})
}

// TestRollUp_AbortedWritesNothing fails a roll-up just before it would
// commit (a crash): the rollups and the watermark stay as they were, and
// the next roll-up counts everything once.
func TestRollUp_AbortedWritesNothing(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		since := time.Date(2026, 3, 1, 10, 30, 0, 0, time.UTC)
		f := newRollupFixture(t, d, since)
		f.storeOld(run(f.ids[0], since.Add(-10*time.Minute), 1))
		f.start()
		for i := range 40 {
			f.store([]Result{run(f.ids[0], since.Add(time.Duration(i)*5*time.Minute), i), run(f.ids[1], since.Add(time.Duration(i)*5*time.Minute), i+1)}, 2)
		}
		now := since.Add(4 * time.Hour)
		f.clk.Set(now)
		before := f.rollups()
		crash := errors.New("crash")
		if _, err := rollUpThen(f.ctx(), d, now, func(*sql.Tx) error { return crash }); !errors.Is(err, crash) {
			t.Fatalf("roll-up: %v; want the crash", err)
		}
		if got := f.rollups(); got != before {
			t.Fatalf("an aborted roll-up changed the rollups:\n%s", cmp.Diff(before, got))
		}
		f.check("after the crash")
		f.rollUp(now, "roll-up after the crash")
		f.check("rolled up")
	})
}

// TestRollUp_LateAfterRollUp stores a run after its hour was rolled up (a
// runner that could not write for a while): the next roll-up, which
// recomputes the hour before the watermark, counts it.
func TestRollUp_LateAfterRollUp(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		since := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
		f := newRollupFixture(t, d, since)
		f.start()
		f.store([]Result{run(f.ids[0], since.Add(10*time.Minute), 1)}, 1)
		now := since.Add(time.Hour + rollupSettle)
		f.clk.Set(now)
		f.rollUp(now, "roll-up")
		f.check("rolled up")
		f.store([]Result{run(f.ids[0], since.Add(20*time.Minute), 3)}, 1)
		now = now.Add(time.Hour)
		f.clk.Set(now)
		f.rollUp(now, "roll-up")
		f.check("rolled up again")
	})
}

// TestDeleteResultsBefore_KeepsUnrolled deletes old results but none the
// roll-up has yet to count.
func TestDeleteResultsBefore_KeepsUnrolled(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		since := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
		f := newRollupFixture(t, d, since)
		f.start()
		f.store([]Result{run(f.ids[0], since.Add(10*time.Minute), 1)}, 1)
		f.clk.Set(since.Add(2 * 24 * time.Hour))
		if _, err := f.svc.DeleteResultsBefore(f.ctx(), since.Add(24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		f.check("after deleting")
		f.rollUp(f.clk.Now(), "roll-up")
		if n, err := f.svc.DeleteResultsBefore(f.ctx(), since.Add(24*time.Hour)); err != nil || n != 1 {
			t.Fatalf("deleted %d, %v; want the rolled-up run", n, err)
		}
		f.runs = f.runs[:1] // rolled up, still counted
		f.check("rolled up and deleted")
	})
}

// TestRunSums_AsBucketOf: the roll-up's SQL puts a duration in the
// histogram bucket bucketOf does.
func TestRunSums_AsBucketOf(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		since := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
		f := newRollupFixture(t, d, since)
		f.start()
		var rs []Result
		for _, b := range DurationBuckets[:len(DurationBuckets)-1] {
			for _, dur := range []time.Duration{b - time.Microsecond, b, b + time.Microsecond} {
				rs = append(rs, Result{CheckID: f.ids[0], Location: LocalLocation, At: since.Add(time.Duration(len(rs)) * time.Second), Status: Up, Duration: dur})
			}
		}
		f.store(rs, len(rs))
		f.clk.Set(since.Add(time.Hour))
		f.check("raw")
		f.rollUp(since.Add(3*time.Hour), "roll-up")
		var c counts
		if err := c.scan(d.Reader().QueryRowContext(f.ctx(), `SELECT `+rollupColumns+` FROM check_rollups WHERE period = 'hour'`)); err != nil {
			t.Fatal(err)
		}
		var want counts
		for _, r := range rs {
			want.add(r)
		}
		if c != want {
			t.Fatalf("rolled up %+v; want %+v", c, want)
		}
	})
}

// TestRunner_RawCounted: a flush stores and counts its own single-location
// outcomes and the combined outcomes of checks probed from several
// locations, stores without counting what each location saw, and leaves
// agents' results (stored when reported) alone.
func TestRunner_RawCounted(t *testing.T) {
	r := &Runner{opts: RunnerOptions{Location: LocalLocation}}
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	kept := []Result{
		{Location: LocalLocation, At: at, Reason: "local"},
		{Location: "eu", At: at, Reason: "agent's"},
		{Location: "", At: at, Reason: "combined"},
	}
	multi := []Result{{Location: LocalLocation, At: at, Reason: "local of several"}}
	rows, counted := r.raw(kept, multi)
	var got []string
	for i, res := range rows {
		got = append(got, fmt.Sprintf("%s counted=%v", res.Reason, i < counted))
	}
	want := []string{"local counted=true", "combined counted=true", "local of several counted=false"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("raw (-want +got):\n%s", diff)
	}
}

// TestReadRuns_RollUpMeanwhile: a roll-up that commits while a reader
// adds raw results to rollups makes the reader read again, so that it
// counts the runs rolled up meanwhile once.
func TestReadRuns_RollUpMeanwhile(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		since := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
		f := newRollupFixture(t, d, since)
		f.start()
		for i := range 30 {
			f.store([]Result{run(f.ids[0], since.Add(time.Duration(i)*5*time.Minute), i)}, 1)
		}
		calls := 0
		var runs int64
		err := ReadRuns(f.ctx(), d.Reader(), func(wm time.Time, ok bool) error {
			calls++
			if calls == 1 { // a replica rolls up after the watermark was read
				f.rollUp(since.Add(4*time.Hour), "roll-up")
			}
			var rolled, raw int64
			if err := d.Reader().QueryRowContext(f.ctx(), `SELECT COALESCE(SUM(runs), 0) FROM check_rollups WHERE period = 'hour'`).Scan(&rolled); err != nil {
				return err
			}
			if err := d.Reader().QueryRowContext(f.ctx(), `SELECT count(*) FROM check_results WHERE counted AND at >= $1`, wm).Scan(&raw); err != nil {
				return err
			}
			runs = rolled + raw
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if calls != 2 || runs != 30 {
			t.Fatalf("%d reads counted %d runs; want 2 reads, 30 runs", calls, runs)
		}
	})
}

// BenchmarkRollUp measures one roll-up at the hour: 1,000 checks with a run
// every 30 s (120,000 counted results an hour; 10,000 checks store ten
// times that), two hours recomputed (the hour reached and the one before
// it again) and the day summed.
func BenchmarkRollUp(b *testing.B) {
	d := dbtest.Open(b, dbtest.SQLiteDSN(b))
	ids := flushFixture(b, d, 1000)
	ctx := context.Background()
	since := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	if err := startRollups(ctx, d.Writer(), since); err != nil {
		b.Fatal(err)
	}
	const hours = 4
	for slot := range hours * 120 {
		var rs []Result
		for i, id := range ids {
			rs = append(rs, run(id, since.Add(time.Duration(slot)*30*time.Second), slot+i))
		}
		if err := d.InTx(ctx, func(tx *sql.Tx) error { return writeResults(ctx, tx, nil, rs, len(rs)) }); err != nil {
			b.Fatal(err)
		}
	}
	// Roll up to the first hour, so that each roll-up measured recomputes
	// two hours.
	if _, err := rollUp(ctx, d, since.Add(time.Hour+rollupSettle)); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		if _, err := d.Writer().ExecContext(ctx, `UPDATE check_rollup_watermark SET rolled_through = $1`, since.Add(2*time.Hour)); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if ok, err := rollUp(ctx, d, since.Add(3*time.Hour+rollupSettle)); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
	// The part done before the writing transaction: the sums.
	start := time.Now()
	for h := since.Add(time.Hour); h.Before(since.Add(3 * time.Hour)); h = h.Add(time.Hour) {
		if _, err := sumRuns(ctx, d.Reader(), h, h.Add(time.Hour)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(time.Since(start).Seconds(), "s-sums")
}
