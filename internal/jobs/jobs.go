// Package jobs runs groundcrew's durable background work on River, on both
// database engines.
//
// Everything goes through database/sql: a job is inserted with InsertTx in
// the same *sql.Tx as the change that caused it, so a crash loses neither.
// On SQLite River shares the single writer connection with the stores
// (riversqlite); on PostgreSQL it uses the database/sql handle for queries
// and a dedicated pgx connection only to LISTEN for new jobs and leadership
// changes (riverdatabasesql). River's leader election decides which replica
// enqueues periodic jobs and runs maintenance.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"

	"groundcrew.dev/groundcrew/internal/db"
)

// Options configures a Runner. The zero value is usable only for inserting
// jobs that no worker runs; normally Workers is set.
type Options struct {
	// Logger receives River's messages; nil discards them.
	Logger *slog.Logger
	// Workers holds the workers, registered with river.AddWorker before New.
	// Nil means the Runner only inserts jobs: Start fails, and Queues and
	// Periodic must be empty.
	Workers *river.Workers
	// Periodic lists the periodic jobs; only the elected leader enqueues them.
	Periodic []*river.PeriodicJob
	// Queues names the queues this Runner works; nil means river.QueueDefault
	// with 10 workers.
	Queues map[string]river.QueueConfig
	// JobTimeout bounds one run of a job (its context is cancelled after it);
	// zero means 1 minute. A worker's Timeout method overrides it.
	JobTimeout time.Duration
	// FetchPollInterval is how often each queue looks for jobs when no
	// notification arrived; zero means 1 second. New jobs are normally
	// noticed sooner through River's notifications.
	FetchPollInterval time.Duration
}

// Runner inserts and works background jobs. Safe for concurrent use.
type Runner struct {
	db     *db.DB
	client *river.Client[*sql.Tx]
}

// New returns a Runner for d; River's tables must exist (see Migrate). It
// does not start working jobs; call Start.
func New(d *db.DB, opts Options) (*Runner, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := &river.Config{
		Logger:            log,
		Workers:           opts.Workers,
		PeriodicJobs:      opts.Periodic,
		Queues:            opts.Queues,
		JobTimeout:        opts.JobTimeout,
		FetchPollInterval: opts.FetchPollInterval,
	}
	if cfg.JobTimeout == 0 {
		cfg.JobTimeout = time.Minute
	}
	if cfg.FetchPollInterval == 0 {
		cfg.FetchPollInterval = time.Second
	}
	// River's 100 ms default cooldown would exceed a shorter poll interval.
	cfg.FetchCooldown = min(river.FetchCooldownDefault, cfg.FetchPollInterval)
	if opts.Workers == nil {
		if len(opts.Queues) > 0 || len(opts.Periodic) > 0 {
			return nil, errors.New("jobs: Queues and Periodic need Workers")
		}
	} else if cfg.Queues == nil {
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 10}}
	}
	client, err := river.NewClient(riverDriver(d), cfg)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return &Runner{db: d, client: client}, nil
}

// riverDriver returns River's driver for d's engine. Both take a *sql.Tx, so
// stores enqueue jobs in their own transactions.
func riverDriver(d *db.DB) riverdriver.Driver[*sql.Tx] {
	if d.Engine == db.Postgres {
		// database/sql cannot LISTEN; the pgx pool behind d.Writer lends River
		// one connection for it, so jobs start without waiting for a poll.
		return riverdatabasesql.NewWithPgxListener(d.Writer(), d.Pool())
	}
	return riversqlite.New(d.Writer())
}

// Start starts fetching and working jobs, and standing for leader election
// (which decides where periodic jobs are enqueued). Jobs run with contexts
// derived from ctx: cancelling ctx stops the Runner and cancels running
// jobs, so pass a context that lives as long as the process and use Stop for
// a graceful shutdown.
func (r *Runner) Start(ctx context.Context) error {
	if err := r.client.Start(ctx); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	return nil
}

// Stop stops fetching jobs and waits for running ones to finish. When ctx
// ends first it cancels the running jobs' contexts, waits a few more seconds
// for them to return, and reports ctx's error; River puts a job interrupted
// that way back in its queue without counting the attempt. Stop must return
// before the database is closed.
func (r *Runner) Stop(ctx context.Context) error {
	err := r.client.Stop(ctx)
	if err == nil || ctx.Err() == nil {
		if err != nil {
			return fmt.Errorf("jobs: stop: %w", err)
		}
		return nil
	}
	hard, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return fmt.Errorf("jobs: stop: %w", errors.Join(err, r.client.StopAndCancel(hard)))
}

// InsertTx enqueues a job in tx, a transaction on d.Writer(): the job exists
// if and only if tx commits. opts may be nil.
//
// On SQLite the writer has one connection, which tx holds: while tx is open,
// call only the client's …Tx methods with tx, never one that takes its own
// connection (Insert, JobCancel, …), or it waits for tx forever.
func (r *Runner) InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) error {
	if _, err := r.client.InsertTx(ctx, tx, args, opts); err != nil {
		return fmt.Errorf("insert job %s: %w", args.Kind(), err)
	}
	return nil
}

// Client returns the River client, for what the Runner does not wrap
// (listing, cancelling or completing jobs in a transaction).
func (r *Runner) Client() *river.Client[*sql.Tx] { return r.client }

// QueueDepth returns, per queue, how many jobs wait to run: those available,
// scheduled or retryable. Queues with no waiting job are absent.
func (r *Runner) QueueDepth(ctx context.Context) (map[string]int64, error) {
	rows, err := r.db.Reader().QueryContext(ctx, `SELECT queue, count(*) FROM river_job
		WHERE state IN ('available', 'scheduled', 'retryable') GROUP BY queue`)
	if err != nil {
		return nil, fmt.Errorf("queue depth: %w", err)
	}
	defer rows.Close()
	depth := make(map[string]int64)
	for rows.Next() {
		var queue string
		var n int64
		if err := rows.Scan(&queue, &n); err != nil {
			return nil, fmt.Errorf("queue depth: %w", err)
		}
		depth[queue] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("queue depth: %w", err)
	}
	return depth, nil
}
