package server

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/riverqueue/river"

	"groundcrew.dev/groundcrew/internal/audit"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/identity"
)

// cleanupArgs is the periodic job that deletes expired sessions and stale
// login-failure counters.
type cleanupArgs struct{}

func (cleanupArgs) Kind() string { return "identity.cleanup" }

type cleanupWorker struct {
	river.WorkerDefaults[cleanupArgs]
	ids *identity.Service
	log *slog.Logger
}

func (w *cleanupWorker) Work(ctx context.Context, _ *river.Job[cleanupArgs]) error {
	n, err := w.ids.CleanExpired(ctx)
	if err != nil {
		return fmt.Errorf("clean expired sessions: %w", err)
	}
	if n > 0 {
		w.log.Info("expired sessions removed", "count", n)
	}
	return nil
}

// auditVerifyArgs is the periodic job that verifies the audit chain and
// logs an error when it is broken.
type auditVerifyArgs struct{}

func (auditVerifyArgs) Kind() string { return "audit.verify" }

type auditVerifyWorker struct {
	river.WorkerDefaults[auditVerifyArgs]
	db  *db.DB
	log *slog.Logger
}

func (w *auditVerifyWorker) Work(ctx context.Context, _ *river.Job[auditVerifyArgs]) error {
	rep, err := audit.Verify(ctx, w.db.Reader())
	if err != nil {
		return fmt.Errorf("verify audit chain: %w", err)
	}
	if !rep.OK {
		w.log.Error("audit chain is broken", "seq", rep.Problem.Seq, "reason", rep.Problem.Reason)
		return nil
	}
	w.log.Debug("audit chain verified", "rows", rep.Checked)
	return nil
}

// checkRetentionArgs is the periodic job that deletes raw check results
// older than the retention; rollups keep the long-term uptime.
type checkRetentionArgs struct{}

func (checkRetentionArgs) Kind() string { return "check.retention" }

type checkRetentionWorker struct {
	river.WorkerDefaults[checkRetentionArgs]
	s *Server
}

func (w *checkRetentionWorker) Work(ctx context.Context, _ *river.Job[checkRetentionArgs]) error {
	keep, err := w.s.cfg.CheckRetentionDuration()
	if err != nil {
		return err
	}
	n, err := w.s.Checks.DeleteResultsBefore(ctx, w.s.opts.Clock.Now().Add(-keep))
	if err != nil {
		return fmt.Errorf("delete old check results: %w", err)
	}
	if n > 0 {
		w.s.log.Info("old check results deleted", "count", n, "older_than", keep)
	}
	return nil
}
