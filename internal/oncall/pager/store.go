package pager

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
)

const pageColumns = `id, group_key, policy, service, team, summary, details, status, step, round, seq, next_at, exhausted, version,
	acknowledged_by, acknowledged_at, resolved_by, resolved_at, created_at, updated_at`

func scanPage(sc interface{ Scan(...any) error }) (Page, error) {
	var p Page
	var det string
	var next, acked, resolved sql.NullTime
	err := sc.Scan(&p.ID, &p.GroupKey, &p.Policy, &p.Service, &p.Team, &p.Summary, &det, &p.Status, &p.Step, &p.Round, &p.seq,
		&next, &p.Exhausted, &p.version, &p.AcknowledgedBy, &acked, &p.ResolvedBy, &resolved, &p.CreatedAt, &p.UpdatedAt)
	if err != nil {
		return p, err
	}
	var d details
	if err := json.Unmarshal([]byte(det), &d); err != nil {
		return p, fmt.Errorf("page %s details: %w", p.ID, err)
	}
	p.Labels, p.Alerts = d.Labels, d.Alerts
	p.NextAt, p.AcknowledgedAt, p.ResolvedAt = timePtr(next), timePtr(acked), timePtr(resolved)
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return p, nil
}

func timePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

func getPage(ctx context.Context, q db.Querier, id uuid.UUID) (Page, error) {
	p, err := scanPage(q.QueryRowContext(ctx, `SELECT `+pageColumns+` FROM pages WHERE id = $1`, id))
	if db.IsNoRows(err) {
		return p, errs.NotFoundf("page %s not found", id)
	}
	if err != nil {
		return p, fmt.Errorf("get page %s: %w", id, err)
	}
	return p, nil
}

// openPageOf returns the open page of an alert group, if any.
func openPageOf(ctx context.Context, q db.Querier, groupKey string) (Page, bool, error) {
	p, err := scanPage(q.QueryRowContext(ctx, `SELECT `+pageColumns+` FROM pages WHERE group_key = $1 AND status <> 'resolved'`, groupKey))
	if db.IsNoRows(err) {
		return p, false, nil
	}
	if err != nil {
		return p, false, fmt.Errorf("open page of %s: %w", groupKey, err)
	}
	return p, true, nil
}

func insertPage(ctx context.Context, tx *sql.Tx, p Page, policyID uuid.UUID) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO pages (id, group_key, policy, policy_id, service, team, summary, details, status,
		step, round, seq, next_at, exhausted, version, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12, FALSE, 1, $13, $13)`,
		p.ID, p.GroupKey, p.Policy, policyID, p.Service, p.Team, p.Summary, marshalDetail(details{p.Labels, p.Alerts}), string(p.Status),
		p.Step, p.Round, p.NextAt, p.CreatedAt)
	if err != nil {
		return fmt.Errorf("insert page: %w", err)
	}
	return nil
}

// updatePage writes p's state where its version is still p.version, and
// bumps the version; errConflict when it was not.
func updatePage(ctx context.Context, tx *sql.Tx, p *Page, now time.Time) error {
	res, err := tx.ExecContext(ctx, `UPDATE pages SET status = $1, step = $2, round = $3, seq = $4, next_at = $5, exhausted = $6,
		acknowledged_by = $7, acknowledged_at = $8, resolved_by = $9, resolved_at = $10, details = $11, updated_at = $12, version = version + 1
		WHERE id = $13 AND version = $14`,
		string(p.Status), p.Step, p.Round, p.seq, p.NextAt, p.Exhausted, p.AcknowledgedBy, p.AcknowledgedAt, p.ResolvedBy, p.ResolvedAt,
		marshalDetail(details{p.Labels, p.Alerts}), now, p.ID, p.version)
	if err != nil {
		return fmt.Errorf("update page %s: %w", p.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return errConflict
	}
	p.version++
	p.UpdatedAt = now
	return nil
}

func insertEvent(ctx context.Context, tx *sql.Tx, page uuid.UUID, e Event) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO page_events (page_id, at, kind, actor, detail) VALUES ($1, $2, $3, $4, $5)`,
		page, e.At, e.Kind, e.Actor, marshalDetail(e.Detail))
	if err != nil {
		return fmt.Errorf("insert page event: %w", err)
	}
	return nil
}

func listEvents(ctx context.Context, q db.Querier, page uuid.UUID) ([]Event, error) {
	rows, err := q.QueryContext(ctx, `SELECT at, kind, actor, detail FROM page_events WHERE page_id = $1 ORDER BY id`, page)
	if err != nil {
		return nil, fmt.Errorf("page events: %w", err)
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		var e Event
		var det string
		if err := rows.Scan(&e.At, &e.Kind, &e.Actor, &det); err != nil {
			return nil, fmt.Errorf("page events: %w", err)
		}
		e.At = e.At.UTC()
		if det != "{}" {
			_ = json.Unmarshal([]byte(det), &e.Detail)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func listSends(ctx context.Context, q db.Querier, page uuid.UUID) ([]Send, error) {
	rows, err := q.QueryContext(ctx, `SELECT s.step, s.round, s.user_name, m.name, m.type, s.due_at, s.status, s.message_id
		FROM page_sends s JOIN oncall_contact_methods m ON m.id = s.contact_method_id
		WHERE s.page_id = $1 ORDER BY s.seq, s.due_at, s.user_name, m.name`, page)
	if err != nil {
		return nil, fmt.Errorf("page sends: %w", err)
	}
	defer rows.Close()
	out := []Send{}
	for rows.Next() {
		var s Send
		var msg uuid.NullUUID
		if err := rows.Scan(&s.Step, &s.Round, &s.User, &s.Method, &s.Type, &s.DueAt, &s.Status, &msg); err != nil {
			return nil, fmt.Errorf("page sends: %w", err)
		}
		s.DueAt = s.DueAt.UTC()
		if msg.Valid {
			s.MessageID = &msg.UUID
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func insertSend(ctx context.Context, tx *sql.Tx, page uuid.UUID, seq, step, round int, user string, method uuid.UUID, due, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO page_sends (id, page_id, seq, step, round, user_name, contact_method_id, due_at, status, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9)`, db.NewID(), page, seq, step, round, user, method, due, now)
	if err != nil {
		return fmt.Errorf("insert page send: %w", err)
	}
	return nil
}
