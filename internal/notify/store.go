package notify

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

const receiverColumns = `id, name, spec, secrets, labels, origin, revision, created_at, updated_at`

// storedReceiver is a receiver row: the public receiver and its sealed
// secrets.
type storedReceiver struct {
	Receiver
	sealed string
}

func scanReceiver(sc interface{ Scan(...any) error }) (storedReceiver, error) {
	var r storedReceiver
	var spec, labels string
	if err := sc.Scan(&r.ID, &r.Name, &spec, &r.sealed, &labels, &r.Origin, &r.Revision, &r.CreatedAt, &r.UpdatedAt); err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(spec), &r.Spec); err != nil {
		return r, fmt.Errorf("receiver %s spec: %w", r.Name, err)
	}
	if err := json.Unmarshal([]byte(labels), &r.Labels); err != nil {
		return r, fmt.Errorf("receiver %s labels: %w", r.Name, err)
	}
	if len(r.Labels) == 0 {
		r.Labels = nil
	}
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return r, nil
}

func getReceiver(ctx context.Context, q db.Querier, name string) (storedReceiver, error) {
	r, err := scanReceiver(q.QueryRowContext(ctx, `SELECT `+receiverColumns+` FROM notify_receivers WHERE name = $1`, name))
	if db.IsNoRows(err) {
		return r, errs.NotFoundf("receiver %q not found", name)
	}
	if err != nil {
		return r, fmt.Errorf("get receiver %s: %w", name, err)
	}
	return r, nil
}

func getReceiverByID(ctx context.Context, q db.Querier, id uuid.UUID) (storedReceiver, error) {
	r, err := scanReceiver(q.QueryRowContext(ctx, `SELECT `+receiverColumns+` FROM notify_receivers WHERE id = $1`, id))
	if db.IsNoRows(err) {
		return r, errs.NotFoundf("receiver %s not found", id)
	}
	if err != nil {
		return r, fmt.Errorf("get receiver %s: %w", id, err)
	}
	return r, nil
}

func listReceivers(ctx context.Context, q db.Querier, after string, limit int) ([]Receiver, string, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+receiverColumns+` FROM notify_receivers WHERE name > $1 ORDER BY name LIMIT $2`, after, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list receivers: %w", err)
	}
	defer rows.Close()
	out := []Receiver{}
	next := ""
	for rows.Next() {
		r, err := scanReceiver(rows)
		if err != nil {
			return nil, "", err
		}
		if len(out) == limit {
			next = out[len(out)-1].Name
			break
		}
		out = append(out, r.Receiver)
	}
	return out, next, rows.Err()
}

func insertReceiver(ctx context.Context, tx *sql.Tx, r Receiver, owner *uuid.UUID, sealed string) error {
	spec, _ := json.Marshal(r.Spec)
	_, err := tx.ExecContext(ctx, `INSERT INTO notify_receivers (id, name, owner_team_id, spec, secrets, labels, origin, revision, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)`, r.ID, r.Name, owner, string(spec), sealed, labelsJSON(r.Labels), r.Origin, r.Revision, r.CreatedAt)
	if db.IsUniqueViolation(err) {
		return errs.Conflictf("receiver %q already exists", r.Name)
	}
	if err != nil {
		return fmt.Errorf("insert receiver: %w", err)
	}
	return nil
}

func updateReceiver(ctx context.Context, tx *sql.Tx, r Receiver, owner *uuid.UUID, sealed string) error {
	spec, _ := json.Marshal(r.Spec)
	_, err := tx.ExecContext(ctx, `UPDATE notify_receivers SET owner_team_id = $2, spec = $3, secrets = $4, labels = $5, revision = $6, updated_at = $7
		WHERE id = $1`, r.ID, owner, string(spec), sealed, labelsJSON(r.Labels), r.Revision, r.UpdatedAt)
	if err != nil {
		return fmt.Errorf("update receiver: %w", err)
	}
	return nil
}

func deleteReceiver(ctx context.Context, tx *sql.Tx, id uuid.UUID) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM notify_receivers WHERE id = $1`, id); err != nil {
		return fmt.Errorf("delete receiver: %w", err)
	}
	return nil
}

func labelsJSON(m map[string]string) string {
	if m == nil {
		m = map[string]string{}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// DeliveryStatus is where a delivery stands.
type DeliveryStatus string

// The delivery statuses.
const (
	DeliveryPending   DeliveryStatus = "pending"   // not sent yet, or waiting for a retry
	DeliveryDelivered DeliveryStatus = "delivered" // the far end accepted it
	DeliveryFailed    DeliveryStatus = "failed"    // a permanent error, or the retry time ran out
)

// Delivery is one notification to one channel of a receiver, sent by a
// job with retries. Every attempt is recorded.
type Delivery struct {
	ID uuid.UUID `json:"id"`
	// Receiver is the receiver's name (kept when the receiver is deleted).
	Receiver     string         `json:"receiver"`
	ReceiverID   *uuid.UUID     `json:"receiver_id,omitempty"`
	ChannelIndex int            `json:"channel_index" doc:"index of the channel in the receiver's spec"`
	ChannelType  string         `json:"channel_type" enum:"email,slack,teams,webhook"`
	GroupKey     string         `json:"group_key,omitempty"`
	Reason       Reason         `json:"reason,omitempty"`
	Status       DeliveryStatus `json:"status" enum:"pending,delivered,failed"`
	Attempts     int            `json:"attempts"`
	LastError    string         `json:"last_error,omitempty"`
	CreatedAt    time.Time      `json:"created_at"`
	UpdatedAt    time.Time      `json:"updated_at"`
	DeliveredAt  *time.Time     `json:"delivered_at,omitempty"`
	// AttemptLog lists the attempts, oldest first; only filled by
	// Service.Delivery.
	AttemptLog []Attempt `json:"attempt_log,omitempty"`

	payload string
	channel string // a direct delivery's channel spec, sealed; "" for a receiver's channel
}

// Attempt is one try of a delivery.
type Attempt struct {
	At         time.Time `json:"at"`
	DurationUS int64     `json:"duration_us"`
	OK         bool      `json:"ok"`
	StatusCode int       `json:"status_code,omitempty" doc:"HTTP status or SMTP reply code; 0 when the far end gave none"`
	Error      string    `json:"error,omitempty"`
	Retryable  bool      `json:"retryable"`
}

const deliveryColumns = `id, receiver_id, receiver, channel_index, channel_type, group_key, reason, payload, status, attempts, last_error,
	created_at, updated_at, delivered_at, channel`

func scanDelivery(sc interface{ Scan(...any) error }) (Delivery, error) {
	var d Delivery
	var rid uuid.NullUUID
	var delivered sql.NullTime
	err := sc.Scan(&d.ID, &rid, &d.Receiver, &d.ChannelIndex, &d.ChannelType, &d.GroupKey, &d.Reason, &d.payload, &d.Status,
		&d.Attempts, &d.LastError, &d.CreatedAt, &d.UpdatedAt, &delivered, &d.channel)
	if err != nil {
		return d, err
	}
	if rid.Valid {
		d.ReceiverID = &rid.UUID
	}
	if delivered.Valid {
		t := delivered.Time.UTC()
		d.DeliveredAt = &t
	}
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	return d, nil
}

func getDelivery(ctx context.Context, q db.Querier, id uuid.UUID) (Delivery, error) {
	d, err := scanDelivery(q.QueryRowContext(ctx, `SELECT `+deliveryColumns+` FROM notify_deliveries WHERE id = $1`, id))
	if db.IsNoRows(err) {
		return d, errs.NotFoundf("delivery %s not found", id)
	}
	if err != nil {
		return d, fmt.Errorf("get delivery %s: %w", id, err)
	}
	return d, nil
}

func insertDelivery(ctx context.Context, tx *sql.Tx, d Delivery) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO notify_deliveries (id, receiver_id, receiver, channel_index, channel_type, group_key, reason, payload,
		status, attempts, last_error, created_at, updated_at, channel) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, '', $10, $10, $11)`,
		d.ID, d.ReceiverID, d.Receiver, d.ChannelIndex, d.ChannelType, d.GroupKey, string(d.Reason), d.payload, string(d.Status), d.CreatedAt, d.channel)
	if err != nil {
		return fmt.Errorf("insert delivery: %w", err)
	}
	return nil
}

// finishAttempt records an attempt of a pending delivery and its new
// state; it reports false (and records nothing) when the delivery was no
// longer pending, as when another worker got there first.
func finishAttempt(ctx context.Context, tx *sql.Tx, d Delivery, a Attempt) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE notify_deliveries SET status = $2, attempts = $3, last_error = $4, updated_at = $5, delivered_at = $6
		WHERE id = $1 AND status = 'pending'`, d.ID, string(d.Status), d.Attempts, d.LastError, d.UpdatedAt, d.DeliveredAt)
	if err != nil {
		return false, fmt.Errorf("update delivery: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO notify_attempts (delivery_id, at, duration_us, ok, status_code, error, retryable)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, d.ID, a.At, a.DurationUS, a.OK, a.StatusCode, a.Error, a.Retryable)
	if err != nil {
		return false, fmt.Errorf("insert attempt: %w", err)
	}
	return true, nil
}

func listAttempts(ctx context.Context, q db.Querier, id uuid.UUID) ([]Attempt, error) {
	rows, err := q.QueryContext(ctx, `SELECT at, duration_us, ok, status_code, error, retryable FROM notify_attempts WHERE delivery_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("list attempts: %w", err)
	}
	defer rows.Close()
	out := []Attempt{}
	for rows.Next() {
		var a Attempt
		if err := rows.Scan(&a.At, &a.DurationUS, &a.OK, &a.StatusCode, &a.Error, &a.Retryable); err != nil {
			return nil, fmt.Errorf("list attempts: %w", err)
		}
		a.At = a.At.UTC()
		out = append(out, a)
	}
	return out, rows.Err()
}

// DeliveryFilter narrows a list of deliveries.
type DeliveryFilter struct {
	Receiver string         // only this receiver's
	Status   DeliveryStatus // only with this status
	Before   string         // cursor: deliveries older than this id
	Limit    int            // default 100, at most 1000
}

func listDeliveries(ctx context.Context, q db.Querier, f DeliveryFilter) ([]Delivery, string, error) {
	var w db.Where
	if f.Receiver != "" {
		w.Add("receiver = ?", f.Receiver)
	}
	if f.Status != "" {
		w.Add("status = ?", string(f.Status))
	}
	if f.Before != "" {
		id, err := uuid.Parse(f.Before)
		if err != nil {
			return nil, "", errs.Invalidf("cursor", "is not a delivery id")
		}
		w.Add("id < ?", id)
	}
	query := `SELECT ` + deliveryColumns + ` FROM notify_deliveries` + w.SQL() + ` ORDER BY id DESC LIMIT ` + w.Next(f.Limit+1)
	args := w.Args
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, "", fmt.Errorf("list deliveries: %w", err)
	}
	defer rows.Close()
	out := []Delivery{}
	next := ""
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, "", fmt.Errorf("list deliveries: %w", err)
		}
		if len(out) == f.Limit {
			next = out[len(out)-1].ID.String()
			break
		}
		out = append(out, d)
	}
	return out, next, rows.Err()
}
