// Package dbtest runs a test against every database engine groundcrew
// supports: SQLite always, PostgreSQL when GROUNDCREW_TEST_POSTGRES holds a
// postgres:// URL. Under CI=true a missing PostgreSQL is a failure, not a
// skip, so that CI cannot pass without having run them.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver for schema setup

	"groundcrew.dev/groundcrew/internal/db"
)

// PostgresEnv names the environment variable holding the test server's URL.
const PostgresEnv = "GROUNDCREW_TEST_POSTGRES"

// Engines returns the DSN makers of the engines to test on. On PostgreSQL
// each call of the returned function creates a fresh schema, dropped at the
// end of the test.
func Engines(t testing.TB) map[db.Engine]func(t testing.TB) string {
	t.Helper()
	m := map[db.Engine]func(t testing.TB) string{db.SQLite: SQLiteDSN}
	if PostgresURL(t) != "" {
		m[db.Postgres] = PostgresDSN
	}
	return m
}

// PostgresURL returns the test server's URL, or "" when PostgreSQL tests
// should be skipped. Under CI=true a missing URL fails the test.
func PostgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(PostgresEnv)
	if u == "" && os.Getenv("CI") == "true" {
		t.Fatalf("%s is not set under CI=true: PostgreSQL tests must run in CI", PostgresEnv)
	}
	return u
}

// SQLiteDSN returns the DSN of a fresh SQLite file in a temporary directory.
func SQLiteDSN(t testing.TB) string {
	t.Helper()
	return "sqlite://" + filepath.Join(t.TempDir(), "groundcrew.db")
}

// PostgresDSN creates a fresh schema on the test server and returns a DSN
// whose search_path points at it. The schema is dropped when t ends.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := PostgresURL(t)
	if base == "" {
		t.Skipf("%s not set; skipping PostgreSQL", PostgresEnv)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "gc_test_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Logf("drop schema %s: %v", schema, err)
		}
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", PostgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Open opens and migrates a fresh database for dsn, closed when t ends.
func Open(t testing.TB, dsn string) *db.DB {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, dsn, db.Options{})
	if err != nil {
		t.Fatalf("open %s: %v", db.Redact(dsn), err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return d
}

// Run runs fn as a subtest once per engine, each with a fresh, migrated
// database.
func Run(t *testing.T, fn func(t *testing.T, d *db.DB)) {
	t.Helper()
	for engine, dsn := range Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			fn(t, Open(t, dsn(t)))
		})
	}
}
