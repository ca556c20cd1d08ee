package db_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
)

func TestMigrateAndTx(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		current, err := d.MigrationsCurrent(ctx)
		if err != nil || !current {
			t.Fatalf("MigrationsCurrent = %v, %v; want true", current, err)
		}
		if n, err := d.Migrate(ctx); err != nil || n != 0 {
			t.Fatalf("second Migrate = %d, %v; want 0, nil", n, err)
		}
		now := time.Date(2026, 11, 27, 8, 0, 0, 123456000, time.UTC)
		insert := func(q db.Querier, name string) error {
			_, err := q.ExecContext(ctx, `INSERT INTO environments (id, name, criticality, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)`,
				db.NewID(), name, "high", now)
			return err
		}
		// A failing transaction leaves nothing behind.
		boom := errors.New("boom")
		err = d.InTx(ctx, func(tx *sql.Tx) error {
			if err := insert(tx, "prod"); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v, want boom", err)
		}
		var n int
		if err := d.Reader().QueryRowContext(ctx, `SELECT count(*) FROM environments`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("after rollback count = %d, %v; want 0", n, err)
		}
		if err := d.InTx(ctx, func(tx *sql.Tx) error { return insert(tx, "prod") }); err != nil {
			t.Fatal(err)
		}
		var got time.Time
		if err := d.Reader().QueryRowContext(ctx, `SELECT created_at FROM environments WHERE name = $1`, "prod").Scan(&got); err != nil {
			t.Fatal(err)
		}
		if !got.Equal(now) {
			t.Errorf("time round trip = %v, want %v", got, now)
		}
		err = d.InTx(ctx, func(tx *sql.Tx) error { return insert(tx, "prod") })
		if !db.IsUniqueViolation(err) {
			t.Errorf("duplicate insert: %v, want unique violation", err)
		}
	})
}

// TestSQLiteCheckpointer checks that the write-ahead log is copied into
// the database file beside the writer, which checkpoints only past 8,000
// pages: 3,000 pages written in 150 commits leave a short log behind
// (without the checkpointer it would hold all of them, ~12 MiB).
func TestSQLiteCheckpointer(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gc.db")
	d, err := db.Open(ctx, "sqlite://"+path, db.Options{CheckpointEvery: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Writer().ExecContext(ctx, `CREATE TABLE blobs (id INTEGER PRIMARY KEY, b BLOB)`); err != nil {
		t.Fatal(err)
	}
	blob := make([]byte, 80<<10) // 20 pages
	for i := range 150 {
		if err := d.InTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO blobs (b) VALUES ($1)`, blob)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if i%10 == 9 {
			time.Sleep(10 * time.Millisecond) // a tick of the checkpointer
		}
	}
	var busy, logPages, done int
	if err := d.Writer().QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logPages, &done); err != nil {
		t.Fatal(err)
	}
	if logPages > 1000 {
		t.Errorf("the log holds %d pages after 3,000 written: the checkpointer did not restart it", logPages)
	}
	var n int
	if err := d.Reader().QueryRowContext(ctx, `SELECT count(*) FROM blobs`).Scan(&n); err != nil || n != 150 {
		t.Fatalf("count = %d, %v", n, err)
	}
}

// TestPostgresJITOff checks that groundcrew's PostgreSQL sessions run
// without JIT compilation (see openPostgres) on every connection.
func TestPostgresJITOff(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		if d.Engine != db.Postgres {
			t.Skip("PostgreSQL only")
		}
		ctx := context.Background()
		var wg sync.WaitGroup
		for range 4 { // several connections of the pool at once
			wg.Go(func() {
				tx, err := d.Writer().BeginTx(ctx, nil)
				if err != nil {
					t.Error(err)
					return
				}
				defer tx.Rollback()
				var jit string
				if err := tx.QueryRowContext(ctx, `SHOW jit`).Scan(&jit); err != nil || jit != "off" {
					t.Errorf("jit = %q, %v; want off", jit, err)
				}
				time.Sleep(20 * time.Millisecond) // hold the connection so that the others open theirs
			})
		}
		wg.Wait()
	})
}
