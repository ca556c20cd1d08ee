package jobs_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
	"groundcrew.dev/groundcrew/internal/jobs"
)

// recordArgs is a job that records its key once in jobs_test_runs.
type recordArgs struct {
	Key string `json:"key"`
}

func (recordArgs) Kind() string { return "test_record" }

// tickArgs is the periodic job.
type tickArgs struct{}

func (tickArgs) Kind() string { return "test_tick" }

// logRecorder keeps River's warnings and errors so a test can show them.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (h *logRecorder) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler           { return h }
func (h *logRecorder) WithGroup(string) slog.Handler                { return h }
func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message)
	r.Attrs(func(a slog.Attr) bool { b.WriteString(" " + a.String()); return true })
	h.mu.Lock()
	defer h.mu.Unlock()
	h.msgs = append(h.msgs, b.String())
	return nil
}

func (h *logRecorder) messages() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.msgs)
}

// recorder is a worker for recordArgs: it writes the key in its own
// transaction (as a real job would) and counts the runs in memory.
type recorder struct {
	d      *db.DB
	mu     sync.Mutex
	runs   map[string]int
	errors []error
}

func newRecorder(t *testing.T, d *db.DB) *recorder {
	t.Helper()
	if err := d.InTx(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.Exec(`CREATE TABLE jobs_test_runs (key TEXT PRIMARY KEY)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return &recorder{d: d, runs: make(map[string]int)}
}

func (rec *recorder) work(ctx context.Context, job *river.Job[recordArgs]) error {
	rec.mu.Lock()
	rec.runs[job.Args.Key]++
	rec.mu.Unlock()
	err := rec.d.InTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO jobs_test_runs (key) VALUES ($1)`, job.Args.Key)
		return err
	})
	if err != nil {
		rec.mu.Lock()
		rec.errors = append(rec.errors, fmt.Errorf("job %d %s: %w", job.ID, job.Args.Key, err))
		rec.mu.Unlock()
	}
	return err
}

func (rec *recorder) result() (runs map[string]int, errs []error) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return maps.Clone(rec.runs), slices.Clone(rec.errors)
}

// start migrates River's tables and starts a Runner, stopped when t ends.
func start(t *testing.T, d *db.DB, opts jobs.Options) *jobs.Runner {
	t.Helper()
	ctx := context.Background()
	if err := jobs.Migrate(ctx, d); err != nil {
		t.Fatal(err)
	}
	r, err := jobs.New(d, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := r.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return r
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func count(t *testing.T, d *db.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := d.Reader().QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestMigrate(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		// Replicas starting together: only one applies each migration.
		var wg sync.WaitGroup
		errs := make([]error, 4)
		n := 1
		if d.Engine == db.Postgres {
			n = len(errs)
		}
		for i := range n {
			wg.Go(func() { errs[i] = jobs.Migrate(ctx, d) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		if err := jobs.Migrate(ctx, d); err != nil {
			t.Fatalf("second Migrate: %v", err)
		}
		if d.Engine == db.Postgres {
			// River follows search_path: its tables are in the test's schema.
			got := count(t, d, `SELECT count(*) FROM information_schema.tables
				WHERE table_schema = current_schema() AND table_name IN ('river_job', 'river_leader', 'river_queue')`)
			if got != 3 {
				t.Errorf("River tables in current_schema() = %d, want 3", got)
			}
		}
	})
}

func TestInsertTx_RunsOnlyCommittedJobsOnce(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		rec := newRecorder(t, d)
		workers := river.NewWorkers()
		river.AddWorker(workers, river.WorkFunc(rec.work))
		// A poll interval longer than the wait below: the job must start
		// because its insert notified the Runner.
		r := start(t, d, jobs.Options{Workers: workers, FetchPollInterval: time.Minute})

		began := time.Now()
		if err := d.InTx(ctx, func(tx *sql.Tx) error {
			return r.InsertTx(ctx, tx, recordArgs{Key: "committed"}, nil)
		}); err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		if err := d.InTx(ctx, func(tx *sql.Tx) error {
			if err := r.InsertTx(ctx, tx, recordArgs{Key: "rolled back"}, nil); err != nil {
				return err
			}
			return boom
		}); !errors.Is(err, boom) {
			t.Fatalf("InTx = %v, want boom", err)
		}

		waitFor(t, 10*time.Second, "committed job completed", func() (bool, error) {
			return count(t, d, `SELECT count(*) FROM river_job WHERE state = 'completed'`) == 1, nil
		})
		t.Logf("insert to completed: %s", time.Since(began).Round(time.Millisecond))
		if n := count(t, d, `SELECT count(*) FROM river_job`); n != 1 {
			t.Errorf("river_job has %d rows, want 1 (the rolled-back job must not exist)", n)
		}
		runs, errs := rec.result()
		if len(errs) > 0 {
			t.Errorf("worker errors: %v", errs)
		}
		if want := map[string]int{"committed": 1}; !maps.Equal(runs, want) {
			t.Errorf("runs = %v, want %v", runs, want)
		}
	})
}

func TestPeriodic(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		var ticks atomic.Int64
		workers := river.NewWorkers()
		river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, job *river.Job[tickArgs]) error {
			ticks.Add(1)
			return nil
		}))
		began := time.Now()
		start(t, d, jobs.Options{
			Workers:           workers,
			FetchPollInterval: 50 * time.Millisecond,
			Periodic: []*river.PeriodicJob{river.NewPeriodicJob(
				river.PeriodicInterval(150*time.Millisecond),
				func() (river.JobArgs, *river.InsertOpts) { return tickArgs{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true},
			)},
		})
		waitFor(t, 10*time.Second, "two periodic runs", func() (bool, error) { return ticks.Load() >= 2, nil })
		t.Logf("two periodic runs after %s", time.Since(began).Round(time.Millisecond))
	})
}

// sleepArgs is a job that sleeps unless its context ends first.
type sleepArgs struct {
	For time.Duration `json:"for"`
}

func (sleepArgs) Kind() string { return "test_sleep" }

func TestStop(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		started := make(chan int64, 1)
		workers := river.NewWorkers()
		river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, job *river.Job[sleepArgs]) error {
			started <- job.ID
			select {
			case <-time.After(job.Args.For):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}))
		// run starts a Runner, inserts a job, and stops the Runner with
		// timeout once the job runs; it returns the job's state and Stop's error.
		run := func(sleep, timeout time.Duration) (state string, err error) {
			t.Helper()
			r := start(t, d, jobs.Options{Workers: workers})
			if err := d.InTx(ctx, func(tx *sql.Tx) error {
				return r.InsertTx(ctx, tx, sleepArgs{For: sleep}, nil)
			}); err != nil {
				t.Fatal(err)
			}
			id := <-started
			stopCtx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			err = r.Stop(stopCtx)
			if err := d.Reader().QueryRowContext(ctx, `SELECT state FROM river_job WHERE id = $1`, id).Scan(&state); err != nil {
				t.Fatal(err)
			}
			return state, err
		}

		if state, err := run(300*time.Millisecond, 10*time.Second); err != nil || state != "completed" {
			t.Errorf("Stop waiting for a job = %v, job %s; want nil, completed", err, state)
		}
		// When ctx ends first, the job's context is cancelled and River puts
		// the job back in the queue for the next Runner.
		if state, err := run(time.Hour, 200*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) || state != "available" {
			t.Errorf("Stop past its deadline = %v, job %s; want deadline exceeded, available", err, state)
		}
	})
}

func TestQueueDepth(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		rec := newRecorder(t, d)
		workers := river.NewWorkers()
		river.AddWorker(workers, river.WorkFunc(rec.work))
		r := start(t, d, jobs.Options{Workers: workers})
		if err := d.InTx(ctx, func(tx *sql.Tx) error {
			if err := r.InsertTx(ctx, tx, recordArgs{Key: "later"}, &river.InsertOpts{ScheduledAt: time.Now().Add(time.Hour)}); err != nil {
				return err
			}
			for _, key := range []string{"a", "b"} {
				// Nobody works queue "elsewhere", so these stay available.
				if err := r.InsertTx(ctx, tx, recordArgs{Key: key}, &river.InsertOpts{Queue: "elsewhere"}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		got, err := r.QueueDepth(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int64{river.QueueDefault: 1, "elsewhere": 2}
		if !maps.Equal(got, want) {
			t.Errorf("QueueDepth = %v, want %v", got, want)
		}
	})
}

// TestConcurrentWrites is the evidence that River shares the database with
// the API: writers enqueue jobs in their own transactions while workers run
// those jobs and write too. On SQLite everything goes through the one writer
// connection, so a River loop that held it while waiting for another would
// deadlock here, and a second writer would meet SQLITE_BUSY.
func TestConcurrentWrites(t *testing.T) {
	writers, perWriter := 8, 200
	if raceEnabled {
		perWriter = 50
	}
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := d.InTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `CREATE TABLE jobs_test_writes (key TEXT PRIMARY KEY)`)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		rec := newRecorder(t, d)
		workers := river.NewWorkers()
		river.AddWorker(workers, river.WorkFunc(rec.work))
		logs := &logRecorder{}
		// More workers than the default 10 so that River's fetch cooldown does
		// not bound the test and workers contend with writers for real.
		r := start(t, d, jobs.Options{
			Workers: workers,
			Queues:  map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 50}},
			Logger:  slog.New(logs),
		})
		waitBefore, _ := d.Stats()

		began := time.Now()
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			errs    []error
			latency []time.Duration
		)
		for w := range writers {
			wg.Go(func() {
				for i := range perWriter {
					key := fmt.Sprintf("%d-%d", w, i)
					t0 := time.Now()
					err := d.InTx(ctx, func(tx *sql.Tx) error {
						if _, err := tx.ExecContext(ctx, `INSERT INTO jobs_test_writes (key) VALUES ($1)`, key); err != nil {
							return err
						}
						return r.InsertTx(ctx, tx, recordArgs{Key: key}, nil)
					})
					mu.Lock()
					latency = append(latency, time.Since(t0))
					if err != nil {
						errs = append(errs, fmt.Errorf("write %s: %w", key, err))
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		written := time.Since(began)
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("%d of %d writes failed: %v", len(errs), writers*perWriter, err)
		}

		total := writers * perWriter
		waitFor(t, time.Until(began.Add(60*time.Second)), "every job completed", func() (bool, error) {
			return count(t, d, `SELECT count(*) FROM river_job WHERE state = 'completed'`) == total, nil
		})
		done := time.Since(began)
		waitAfter, _ := d.Stats()

		if n := count(t, d, `SELECT count(*) FROM jobs_test_writes`); n != total {
			t.Errorf("writes = %d, want %d", n, total)
		}
		if n := count(t, d, `SELECT count(*) FROM jobs_test_runs`); n != total {
			t.Errorf("jobs recorded = %d, want %d", n, total)
		}
		if n := count(t, d, `SELECT count(*) FROM river_job`); n != total {
			t.Errorf("river_job rows = %d, want %d", n, total)
		}
		runs, werrs := rec.result()
		if len(werrs) > 0 {
			t.Errorf("%d worker errors, first: %v", len(werrs), werrs[0])
		}
		for key, n := range runs {
			if n != 1 {
				t.Errorf("job %s ran %d times", key, n)
			}
		}
		if len(runs) != total {
			t.Errorf("%d distinct jobs ran, want %d", len(runs), total)
		}
		for _, m := range logs.messages() {
			if strings.Contains(m, "locked") || strings.Contains(m, "BUSY") {
				t.Errorf("River: %s", m)
			} else {
				t.Logf("River: %s", m)
			}
		}

		slices.Sort(latency)
		pct := func(p float64) time.Duration { return latency[int(p*float64(len(latency)-1))].Round(time.Microsecond) }
		t.Logf("%d writes+jobs by %d writers: written in %s, all jobs completed after %s; "+
			"write tx latency p50 %s p99 %s max %s; writer pool waits %d (%s)",
			total, writers, written.Round(time.Millisecond), done.Round(time.Millisecond),
			pct(0.5), pct(0.99), pct(1),
			waitAfter.WaitCount-waitBefore.WaitCount, (waitAfter.WaitDuration - waitBefore.WaitDuration).Round(time.Millisecond))
	})
}
