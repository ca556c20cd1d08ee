// Package db opens groundcrew's database — embedded SQLite by default,
// PostgreSQL for several replicas — applies the embedded migrations and
// offers the transaction helpers every store uses.
//
// Stores write SQL in the subset both engines accept ($1 placeholders,
// RETURNING, ON CONFLICT … DO UPDATE). On SQLite all writes go through one
// connection (SQLite has one writer anyway; queueing in Go is cheaper than
// SQLITE_BUSY retries) and reads through a pool of read-only connections.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Engine names a database engine.
type Engine string

// The supported engines.
const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// Querier is what a store needs to run SQL: a *sql.DB or a *sql.Tx.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

var (
	_ Querier = (*sql.DB)(nil)
	_ Querier = (*sql.Tx)(nil)
)

// DB is an open database. Safe for concurrent use.
type DB struct {
	Engine Engine
	write  *sql.DB
	read   *sql.DB
	pool   *pgxpool.Pool // PostgreSQL only
	path   string        // SQLite only: the database file
	log    *slog.Logger

	// SQLite only: the checkpointer (see checkpoints).
	ckpt     *sql.DB
	stopCkpt context.CancelFunc
	ckptDone chan struct{}
}

// Options tunes Open. The zero value is a safe default.
type Options struct {
	// Logger receives migration and rollback messages; nil discards them.
	Logger *slog.Logger
	// MaxConns bounds the PostgreSQL pool and the SQLite reader pool;
	// zero means 4 × GOMAXPROCS (at least 8).
	MaxConns int
	// CheckpointEvery is how often SQLite's write-ahead log is copied
	// into the database file beside the writer; zero means 500 ms.
	CheckpointEvery time.Duration
}

// Open opens the database named by dsn: "sqlite://PATH" (a file path,
// relative or absolute; "sqlite://:memory:" is not supported because the
// reader and writer pools must share the file) or "postgres://…" /
// "postgresql://…". It does not apply migrations; call Migrate.
func Open(ctx context.Context, dsn string, opts Options) (*DB, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	maxConns := opts.MaxConns
	if maxConns <= 0 {
		maxConns = max(8, 4*runtime.GOMAXPROCS(0))
	}
	switch {
	case strings.HasPrefix(dsn, "sqlite://"):
		every := opts.CheckpointEvery
		if every <= 0 {
			every = 500 * time.Millisecond
		}
		return openSQLite(ctx, strings.TrimPrefix(dsn, "sqlite://"), maxConns, every, log)
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return openPostgres(ctx, dsn, maxConns, log)
	default:
		return nil, fmt.Errorf("database %q: want sqlite://PATH or postgres://…", redact(dsn))
	}
}

func openSQLite(ctx context.Context, path string, maxConns int, every time.Duration, log *slog.Logger) (*DB, error) {
	if path == "" || strings.HasPrefix(path, ":memory:") {
		return nil, errors.New("sqlite: a file path is required")
	}
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("sqlite: create directory: %w", err)
	}
	// temp_store(MEMORY): statement journals (a multi-row UPDATE inside a
	// transaction keeps one) stay in memory instead of spilling to temp
	// files, which cost an open, writes and a close per statement. The
	// writer keeps a larger page cache (16 MiB; readers the default 2).
	// wal_autocheckpoint: the checkpointer (checkpoints) copies the log
	// into the database file; the writer does it itself only should the
	// log pass 8,000 pages (32 MiB).
	pragmas := "_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_pragma=temp_store(MEMORY)&_time_format=sqlite"
	write, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_pragma=cache_size(-16384)&_pragma=wal_autocheckpoint(8000)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	read, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_pragma=query_only(1)")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open readers: %w", err)
	}
	read.SetMaxOpenConns(maxConns)
	read.SetMaxIdleConns(maxConns)
	read.SetConnMaxIdleTime(5 * time.Minute)
	ckpt, err := sql.Open("sqlite", "file:"+path+"?"+pragmas)
	if err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("sqlite: open checkpointer: %w", err)
	}
	ckpt.SetMaxOpenConns(1)
	ckpt.SetMaxIdleConns(1)
	ckpt.SetConnMaxIdleTime(0)
	cctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	d := &DB{Engine: SQLite, write: write, read: read, path: path, log: log, ckpt: ckpt, stopCkpt: stop, ckptDone: make(chan struct{})}
	go d.checkpoints(cctx, every)
	return d, nil
}

// checkpoints copies SQLite's write-ahead log into the database file
// every interval, on a connection of its own, until ctx ends.
//
// Left to the writer (SQLite's default, at 1,000 pages), a checkpoint runs
// inside whichever commit crosses the threshold, while that connection —
// the only writer — waits: under a burst of new alerts it was an eighth
// of the writer's time. A PASSIVE checkpoint from another connection runs
// beside the writer and the readers and blocks neither; once it has
// copied everything, the writer starts the log over at its next commit.
// When nothing is new it reads the log's header and returns.
func (db *DB) checkpoints(ctx context.Context, every time.Duration) {
	defer close(db.ckptDone)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		var busy, logPages, done int
		err := db.ckpt.QueryRowContext(cctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logPages, &done)
		cancel()
		if err != nil && ctx.Err() == nil {
			db.log.Warn("sqlite checkpoint", "err", err)
		}
	}
}

func openPostgres(ctx context.Context, dsn string, maxConns int, log *slog.Logger) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse %q: %w", redact(dsn), err)
	}
	if cfg.MaxConns < int32(maxConns) {
		cfg.MaxConns = int32(maxConns)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 10 * time.Second
	}
	// No JIT compilation unless the DSN asks for it (jit=… or options=-c
	// jit=…): groundcrew's queries are short lookups, and a plan that
	// merely looks expensive (a table never analyzed) had one of them
	// spend 5 of its 6 ms compiling. Set after connecting, not as a
	// startup parameter, which PgBouncer and some proxies refuse.
	rp := cfg.ConnConfig.RuntimeParams
	if _, ok := rp["jit"]; !ok && !strings.Contains(rp["options"], "jit") {
		cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
			if _, err := c.Exec(ctx, "SET jit = off"); err != nil {
				log.Warn("postgres: could not turn JIT off", "err", err)
			}
			return nil
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect %s: %w", redact(dsn), err)
	}
	sdb := stdlib.OpenDBFromPool(pool)
	return &DB{Engine: Postgres, write: sdb, read: sdb, pool: pool, log: log}, nil
}

// PlanEach returns args for a statement that PostgreSQL is to plan for
// these very arguments at each execution, instead of a plan cached for
// the connection (SQLite: args as they are).
//
// A statement runs prepared, and after five executions PostgreSQL keeps a
// generic plan built for the table as it was then. Made while a table was
// small, and never analyzed (autovacuum off), that plan is a sequential
// scan, kept however large the table grows: looking up 100 alerts by
// fingerprint in a table that had grown to 100,000 rows read all of them,
// and ingestion fell to about a thousand new alerts a second. Planning
// each time costs a fraction of a millisecond; use it for the lookups
// whose plan depends on the table's size, not for plain inserts.
func (db *DB) PlanEach(args []any) []any {
	if db.Engine != Postgres {
		return args
	}
	return append([]any{pgx.QueryExecModeCacheDescribe}, args...)
}

// Close closes every connection.
func (db *DB) Close() error {
	if db.stopCkpt != nil {
		db.stopCkpt()
		<-db.ckptDone
		db.ckpt.Close()
	}
	err := db.write.Close()
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	if db.pool != nil {
		db.pool.Close()
	}
	return err
}

// Reader returns the handle for reads outside a transaction.
func (db *DB) Reader() Querier { return db.read }

// Writer returns the handle writes go through: the single SQLite writer
// connection, or the PostgreSQL pool. River on SQLite shares it so that a
// job is enqueued in the transaction of the change that caused it.
func (db *DB) Writer() *sql.DB { return db.write }

// Pool returns the pgx pool on PostgreSQL, nil on SQLite.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Path returns the SQLite database file, "" on PostgreSQL.
func (db *DB) Path() string { return db.path }

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.read.PingContext(ctx) }

// Stats returns the pool statistics of the writer and the reader handles
// (the same handle on PostgreSQL).
func (db *DB) Stats() (write, read sql.DBStats) { return db.write.Stats(), db.read.Stats() }

// InTx runs fn in a write transaction and commits it when fn returns nil.
// Any error or panic rolls the transaction back, so a multi-step change is
// all or nothing.
func (db *DB) InTx(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err == nil {
			return
		}
		if rerr := tx.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) {
			db.log.Error("rollback", "err", rerr)
		}
	}()
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// redact removes a password from a DSN so it can be logged.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Redact returns dsn with any password replaced, safe to log.
func Redact(dsn string) string { return redact(dsn) }
