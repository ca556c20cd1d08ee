package check

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
)

// PingLocation is the location recorded on heartbeat pings.
const PingLocation = "ping"

// MaxPingMessage bounds the message a ping may carry.
const MaxPingMessage = 2000

// Ping records a heartbeat ping for the check whose ping secret is secret:
// a success, or with fail a failure carrying message. An unknown secret is
// NotFound. Pings need no account: the secret is the credential.
func (s *Service) Ping(ctx context.Context, secret string, fail bool, message string) (string, error) {
	if !strings.HasPrefix(secret, pingPrefix) || len(secret) > 100 {
		return "", errs.NotFoundf("no heartbeat check has this URL")
	}
	message = cleanReason(strings.TrimSpace(message))
	var name string
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var id uuid.UUID
		err := tx.QueryRowContext(ctx, `SELECT id, name FROM checks WHERE heartbeat_hash = $1`, hashPing(secret)).Scan(&id, &name)
		if db.IsNoRows(err) {
			return errs.NotFoundf("no heartbeat check has this URL")
		}
		if err != nil {
			return fmt.Errorf("ping: %w", err)
		}
		status := Up
		if fail {
			status = Down
			if message == "" {
				message = "the job reported a failure"
			}
		}
		return insertResults(ctx, tx, []Result{{CheckID: id, Location: PingLocation, At: s.clock.Now(), Status: status, Reason: message}})
	})
	return name, err
}

// heartbeat evaluates a heartbeat check: UP while the latest ping is
// recent and successful, DOWN when it failed or is later than interval plus
// grace. It reports false when there is nothing to record yet.
func (r *Runner) heartbeat(ctx context.Context, c Check) (Result, bool) {
	now := r.opts.Clock.Now()
	var at time.Time
	var status Status
	var reason string
	err := r.db.Reader().QueryRowContext(ctx, `SELECT at, status, reason FROM check_results
		WHERE check_id = $1 AND location = $2 ORDER BY at DESC, id DESC LIMIT 1`, c.ID, PingLocation).Scan(&at, &status, &reason)
	if err != nil && !db.IsNoRows(err) {
		r.log.Warn("heartbeat: read last ping", "check", c.Name, "err", err)
		return Result{}, false
	}
	deadline := c.Interval.Std() + c.Heartbeat.Grace.Std()
	switch {
	case db.IsNoRows(err):
		if now.Sub(c.CreatedAt) <= deadline {
			return Result{}, false // not expected yet
		}
		return Result{Status: Down, Reason: fmt.Sprintf("no ping received yet (expected every %s, grace %s)", c.Interval.Std(), c.Heartbeat.Grace.Std())}, true
	case now.Sub(at) > deadline:
		return Result{Status: Down, Reason: fmt.Sprintf("no ping since %s (%s ago; expected every %s, grace %s)",
			at.UTC().Format(time.RFC3339), now.Sub(at).Round(time.Second), c.Interval.Std(), c.Heartbeat.Grace.Std())}, true
	case status == Down:
		return Result{Status: Down, Reason: "failure ping: " + reason}, true
	default:
		return Result{Status: Up}, true
	}
}
