package db_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
)

// TestCombiner checks group commit on both engines: units waiting while a
// transaction runs share the next one; a unit's error (a database error
// included, which on PostgreSQL aborts a transaction without savepoints)
// or panic undoes its own rows only and reaches its own caller only; a
// unit whose caller gave up before it started never runs.
func TestCombiner(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if _, err := d.Writer().ExecContext(ctx, `CREATE TABLE combined (name TEXT PRIMARY KEY)`); err != nil {
			t.Fatal(err)
		}
		// One transaction at a time (the default on SQLite only) so that
		// the others queue behind the first.
		c := db.NewCombiner(d, db.CombinerOptions{Parallel: 1})
		insert := func(ctx context.Context, tx *sql.Tx, name string) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO combined (name) VALUES ($1)`, name)
			return err
		}
		if err := c.Do(ctx, func(ctx context.Context, tx *sql.Tx) error { return insert(ctx, tx, "taken") }); err != nil {
			t.Fatal(err)
		}

		// Hold the writer in a first unit until the others are queued.
		release := make(chan struct{})
		var releaseOnce sync.Once
		free := func() { releaseOnce.Do(func() { close(release) }) }
		defer free() // should the test fail before it is released
		started := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			err := c.Do(ctx, func(ctx context.Context, tx *sql.Tx) error {
				close(started)
				<-release
				return insert(ctx, tx, "first")
			})
			if err != nil {
				t.Errorf("first: %v", err)
			}
		})
		<-started
		before := c.Stats()

		const n = 12
		boom := errors.New("boom")
		errsOf := make([]error, n)
		gone, cancel := context.WithCancel(ctx)
		ranGone := false
		for i := range n {
			wg.Go(func() {
				uctx := ctx
				if i == 11 {
					uctx = gone
				}
				uctx = context.WithValue(uctx, unitKey{}, i)
				errsOf[i] = c.Do(uctx, func(ctx context.Context, tx *sql.Tx) error {
					if got := ctx.Value(unitKey{}); got != i {
						return fmt.Errorf("unit %d runs with the context values of %v", i, got)
					}
					name := fmt.Sprintf("unit-%02d", i)
					switch i {
					case 3: // its own rows go with its error
						if err := insert(ctx, tx, name); err != nil {
							return err
						}
						return boom
					case 5: // a database error
						if err := insert(ctx, tx, name); err != nil {
							return err
						}
						return insert(ctx, tx, "taken")
					case 7:
						if err := insert(ctx, tx, name); err != nil {
							return err
						}
						panic("unit 7")
					case 11:
						ranGone = true
					}
					return insert(ctx, tx, name)
				})
			})
		}
		waitFor(t, func() bool { return c.Stats().Waiting == n })
		cancel() // unit 11's caller gives up while queued
		waitFor(t, func() bool { return c.Stats().Waiting == n-1 })
		free()
		wg.Wait()

		after := c.Stats()
		// The first unit's transaction is counted when it ends, after before.
		if tx, units := after.Transactions-before.Transactions, after.Units-before.Units; tx != 2 || units != 1+n-1 {
			t.Errorf("the first and the queued units ran in %d transactions as %d units; want 2 transactions, of 1 and %d", tx, units, n-1)
		}
		for i, err := range errsOf {
			switch i {
			case 3:
				if !errors.Is(err, boom) {
					t.Errorf("unit 3: %v, want boom", err)
				}
			case 5:
				if !db.IsUniqueViolation(err) {
					t.Errorf("unit 5: %v, want a unique violation", err)
				}
			case 7:
				if err == nil || !strings.Contains(err.Error(), "panic") {
					t.Errorf("unit 7: %v, want the panic as an error", err)
				}
			case 11:
				if !errors.Is(err, context.Canceled) || ranGone {
					t.Errorf("unit 11: %v (ran: %v), want context.Canceled and never run", err, ranGone)
				}
			default:
				if err != nil {
					t.Errorf("unit %d: %v", i, err)
				}
			}
		}
		var names []string
		rows, err := d.Reader().QueryContext(ctx, `SELECT name FROM combined ORDER BY name`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			names = append(names, s)
		}
		rows.Close()
		want := []string{"first", "taken", "unit-00", "unit-01", "unit-02", "unit-04", "unit-06", "unit-08", "unit-09", "unit-10"}
		if fmt.Sprint(names) != fmt.Sprint(want) {
			t.Errorf("rows = %v\nwant   %v", names, want)
		}

		// Alone, a unit's error rolls back its transaction as InTx would.
		err = c.Do(ctx, func(ctx context.Context, tx *sql.Tx) error {
			if err := insert(ctx, tx, "alone"); err != nil {
				return err
			}
			return boom
		})
		var k int
		if err2 := d.Reader().QueryRowContext(ctx, `SELECT count(*) FROM combined WHERE name = 'alone'`).Scan(&k); !errors.Is(err, boom) || err2 != nil || k != 0 {
			t.Errorf("alone: %v, %d rows (%v); want boom and none", err, k, err2)
		}
	})
}

type unitKey struct{}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestCombinerParallel runs many callers through a Combiner allowing
// several transactions at once, some of them giving up early, and checks
// that every call returns and that exactly the units reported done left
// their row.
func TestCombinerParallel(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if _, err := d.Writer().ExecContext(ctx, `CREATE TABLE combined (name TEXT PRIMARY KEY)`); err != nil {
			t.Fatal(err)
		}
		for _, parallel := range []int{0, 1, 3} { // 0: the engine's default
			c := db.NewCombiner(d, db.CombinerOptions{Parallel: parallel, MaxUnits: 4})
			const callers, each = 16, 25
			var mu sync.Mutex
			done := map[string]bool{}
			var wg sync.WaitGroup
			for g := range callers {
				wg.Go(func() {
					for i := range each {
						name := fmt.Sprintf("p%d-%02d-%02d", parallel, g, i)
						uctx, cancel := context.WithCancel(ctx)
						if i%5 == 4 {
							cancel() // gone before it is run, or while it runs
						}
						err := c.Do(uctx, func(ctx context.Context, tx *sql.Tx) error {
							_, err := tx.ExecContext(ctx, `INSERT INTO combined (name) VALUES ($1)`, name)
							return err
						})
						cancel()
						if err == nil {
							mu.Lock()
							done[name] = true
							mu.Unlock()
						} else if !errors.Is(err, context.Canceled) {
							t.Errorf("%s: %v", name, err)
						}
					}
				})
			}
			wg.Wait()
			var n int
			if err := d.Reader().QueryRowContext(ctx, `SELECT count(*) FROM combined WHERE name LIKE $1`, fmt.Sprintf("p%d-%%", parallel)).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != len(done) || n < callers*each*4/5 {
				t.Errorf("parallel %d: %d rows, %d calls reported done, want equal and at least %d", parallel, n, len(done), callers*each*4/5)
			}
			if st := c.Stats(); st.Waiting != 0 || st.Transactions >= int64(st.Units) && parallel == 1 {
				t.Logf("parallel %d: %+v", parallel, st)
			}
		}
	})
}
