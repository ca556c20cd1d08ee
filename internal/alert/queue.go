package alert

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/db"
)

// queueDispatch tells the dispatcher that an alert changed; it runs in the
// transaction of the change.
func queueDispatch(ctx context.Context, tx *sql.Tx, alertID uuid.UUID) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO alert_dispatch_queue (alert_id) VALUES ($1)`, alertID); err != nil {
		return fmt.Errorf("queue alert for dispatch: %w", err)
	}
	return nil
}

// readDispatchQueue returns the alerts queued (distinct, at most 10,000)
// and the highest queue id read.
func readDispatchQueue(ctx context.Context, q db.Querier) ([]uuid.UUID, int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, alert_id FROM alert_dispatch_queue ORDER BY id LIMIT 10000`)
	if err != nil {
		return nil, 0, fmt.Errorf("read dispatch queue: %w", err)
	}
	defer rows.Close()
	seen := map[uuid.UUID]bool{}
	var ids []uuid.UUID
	var maxID int64
	for rows.Next() {
		var id int64
		var a uuid.UUID
		if err := rows.Scan(&id, &a); err != nil {
			return nil, 0, fmt.Errorf("read dispatch queue: %w", err)
		}
		maxID = max(maxID, id)
		if !seen[a] {
			seen[a] = true
			ids = append(ids, a)
		}
	}
	return ids, maxID, rows.Err()
}

// deleteDispatchQueue deletes the queue entries up to maxID.
func deleteDispatchQueue(ctx context.Context, d *db.DB, maxID int64) error {
	return d.InTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM alert_dispatch_queue WHERE id <= $1`, maxID)
		return err
	})
}

// clearDispatchQueue empties the queue (a new leader reads every alert).
func clearDispatchQueue(ctx context.Context, d *db.DB) error {
	return d.InTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM alert_dispatch_queue`)
		return err
	})
}

// loadDispatchAlerts reads alerts for the dispatcher: those with ids, or
// (ids nil) every firing alert and those resolved after resolvedSince.
func loadDispatchAlerts(ctx context.Context, q db.Querier, resolvedSince time.Time, ids []uuid.UUID) ([]*stored, error) {
	const cols = `SELECT id, fingerprint, status, labels, annotations, starts_at, ends_at, last_seen_at, generator_url FROM alerts`
	var out []*stored
	scan := func(rows *sql.Rows) error {
		defer rows.Close()
		for rows.Next() {
			a := &stored{}
			var status, labels, annotations string
			var ends sql.NullTime
			if err := rows.Scan(&a.id, &a.fingerprint, &status, &labels, &annotations, &a.startsAt, &ends, &a.lastSeenAt, &a.generatorURL); err != nil {
				return fmt.Errorf("load alerts to dispatch: %w", err)
			}
			if err := json.Unmarshal([]byte(labels), &a.labels); err != nil {
				return fmt.Errorf("alert %s labels: %w", a.id, err)
			}
			_ = json.Unmarshal([]byte(annotations), &a.annotations)
			a.firing, a.endsAt = status == string(Firing), nullTime(ends)
			a.startsAt, a.lastSeenAt = a.startsAt.UTC(), a.lastSeenAt.UTC()
			a.fp = routeFingerprint(a.fingerprint)
			out = append(out, a)
		}
		return rows.Err()
	}
	if ids == nil {
		rows, err := q.QueryContext(ctx, cols+` WHERE status = 'firing' OR (status = 'resolved' AND ends_at > $1)`, resolvedSince)
		if err != nil {
			return nil, fmt.Errorf("load alerts to dispatch: %w", err)
		}
		return out, scan(rows)
	}
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 500)]
		ids = ids[len(chunk):]
		marks := make([]string, len(chunk))
		args := make([]any, len(chunk))
		for i, id := range chunk {
			marks[i], args[i] = fmt.Sprintf("$%d", i+1), id
		}
		rows, err := q.QueryContext(ctx, cols+` WHERE id IN (`+strings.Join(marks, ", ")+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("load alerts to dispatch: %w", err)
		}
		if err := scan(rows); err != nil {
			return nil, err
		}
	}
	return out, nil
}
