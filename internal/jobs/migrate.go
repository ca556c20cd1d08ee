package jobs

import (
	"context"
	"database/sql/driver"
	"fmt"
	"log/slog"

	"github.com/riverqueue/river/rivermigrate"

	"groundcrew.dev/groundcrew/internal/db"
)

// Migrate creates or updates River's tables (river_job, river_leader, …) in
// d's database, in the schema its search_path selects. It is idempotent. On
// PostgreSQL it holds an advisory lock while it runs, because River's
// migrator does not lock and several replicas may start at once.
func Migrate(ctx context.Context, d *db.DB) error {
	if d.Engine != db.Postgres {
		return migrate(ctx, d)
	}
	// The lock is per schema, like River's tables: test schemas do not wait
	// for each other.
	conn, err := d.Writer().Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate jobs: %w", err)
	}
	defer conn.Close()
	const key = `hashtext(current_schema() || '.groundcrew.jobs.migrate')`
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(`+key+`)`); err != nil {
		return fmt.Errorf("migrate jobs: lock: %w", err)
	}
	defer func() {
		// A failed unlock must not return a locked session to the pool.
		if _, uerr := conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(`+key+`)`); uerr != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	return migrate(ctx, d)
}

func migrate(ctx context.Context, d *db.DB) error {
	m, err := rivermigrate.New(riverDriver(d), &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return fmt.Errorf("migrate jobs: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrate jobs: %w", err)
	}
	return nil
}
