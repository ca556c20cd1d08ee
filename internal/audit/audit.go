// Package audit keeps groundcrew's append-only, hash-chained audit log.
//
// Every change is recorded by Record in the same transaction as the change
// itself, so an audit row exists exactly when the change does. Each row
// carries the hash of the previous row and a hash of its own content;
// Verify walks the chain and reports the first row that was edited,
// inserted or deleted out of order.
package audit

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
)

// Actor is who made a change, as the audit log remembers it.
type Actor struct {
	ID   string // user id; empty for the system
	Name string // user name, or "system"
	Addr string // source address of the request; empty for background work
}

// Entry is one change to record.
type Entry struct {
	Actor      Actor
	Action     string // verb in the past tense's stem: "create", "update", "delete", "login", …
	ObjectKind string // "service", "team", "user", "token", …
	ObjectID   string
	ObjectName string
	Before     any // the object before the change; nil for a create
	After      any // the object after the change; nil for a delete
}

// Record is one row of the audit log.
type Record struct {
	Seq        int64           `json:"seq"`
	ID         uuid.UUID       `json:"id"`
	At         time.Time       `json:"at"`
	ActorID    string          `json:"actor_id,omitempty"`
	ActorName  string          `json:"actor"`
	Action     string          `json:"action"`
	ObjectKind string          `json:"object_kind"`
	ObjectID   string          `json:"object_id,omitempty"`
	ObjectName string          `json:"object_name,omitempty"`
	Before     json.RawMessage `json:"before,omitempty"`
	After      json.RawMessage `json:"after,omitempty"`
	SourceAddr string          `json:"source_addr,omitempty"`
	PrevHash   string          `json:"prev_hash"`
	Hash       string          `json:"hash"`
}

// Append records e in tx at time now. It serializes all audited writes on
// the chain head row (an UPDATE takes its lock on both engines), which keeps
// the chain linear even with several replicas.
func Append(ctx context.Context, tx *sql.Tx, now time.Time, e Entry) error {
	before, err := marshal(e.Before)
	if err != nil {
		return fmt.Errorf("audit: marshal before: %w", err)
	}
	after, err := marshal(e.After)
	if err != nil {
		return fmt.Errorf("audit: marshal after: %w", err)
	}
	var seq int64
	var prev string
	if err := tx.QueryRowContext(ctx, `UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash`).Scan(&seq, &prev); err != nil {
		return fmt.Errorf("audit: advance head: %w", err)
	}
	r := Record{
		Seq: seq, ID: db.NewID(), At: now.UTC().Truncate(time.Microsecond),
		ActorID: e.Actor.ID, ActorName: e.Actor.Name, Action: e.Action,
		ObjectKind: e.ObjectKind, ObjectID: e.ObjectID, ObjectName: e.ObjectName,
		Before: before, After: after, SourceAddr: e.Actor.Addr, PrevHash: prev,
	}
	r.Hash = r.computeHash()
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log
		(seq, id, at, actor_id, actor_name, action, object_kind, object_id, object_name, before_json, after_json, source_addr, prev_hash, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		r.Seq, r.ID, r.At, r.ActorID, r.ActorName, r.Action, r.ObjectKind, r.ObjectID, r.ObjectName,
		string(r.Before), string(r.After), r.SourceAddr, r.PrevHash, r.Hash); err != nil {
		return fmt.Errorf("audit: insert: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE audit_head SET hash = $1 WHERE id = 1`, r.Hash); err != nil {
		return fmt.Errorf("audit: update head: %w", err)
	}
	return nil
}

func marshal(v any) (json.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	if raw, ok := v.(json.RawMessage); ok {
		return raw, nil
	}
	return json.Marshal(v)
}

// computeHash hashes the previous hash and every field of the row, each
// length-prefixed so that no two different rows serialize alike.
func (r *Record) computeHash() string {
	h := sha256.New()
	for _, f := range []string{
		r.PrevHash, strconv.FormatInt(r.Seq, 10), r.ID.String(), r.At.UTC().Format(time.RFC3339Nano),
		r.ActorID, r.ActorName, r.Action, r.ObjectKind, r.ObjectID, r.ObjectName,
		string(r.Before), string(r.After), r.SourceAddr,
	} {
		fmt.Fprintf(h, "%d:%s;", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Filter selects audit records. The zero value selects everything.
type Filter struct {
	Actor      string
	Action     string
	ObjectKind string
	ObjectName string
	Since      time.Time
	Until      time.Time
	BeforeSeq  int64 // cursor: only records with a smaller seq
	Limit      int   // default 50, at most 500
}

// List returns records matching f, newest first.
func List(ctx context.Context, q db.Querier, f Filter) ([]Record, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if f.Actor != "" {
		add("actor_name = ?", f.Actor)
	}
	if f.Action != "" {
		add("action = ?", f.Action)
	}
	if f.ObjectKind != "" {
		add("object_kind = ?", f.ObjectKind)
	}
	if f.ObjectName != "" {
		add("object_name = ?", f.ObjectName)
	}
	if !f.Since.IsZero() {
		add("at >= ?", f.Since.UTC())
	}
	if !f.Until.IsZero() {
		add("at < ?", f.Until.UTC())
	}
	if f.BeforeSeq > 0 {
		add("seq < ?", f.BeforeSeq)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	query := `SELECT ` + columns + ` FROM audit_log`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY seq DESC LIMIT " + strconv.Itoa(limit)
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("audit: list: %w", err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

const columns = `seq, id, at, actor_id, actor_name, action, object_kind, object_id, object_name, before_json, after_json, source_addr, prev_hash, hash`

func scan(rows *sql.Rows) (Record, error) {
	var r Record
	var before, after string
	if err := rows.Scan(&r.Seq, &r.ID, &r.At, &r.ActorID, &r.ActorName, &r.Action, &r.ObjectKind, &r.ObjectID,
		&r.ObjectName, &before, &after, &r.SourceAddr, &r.PrevHash, &r.Hash); err != nil {
		return r, fmt.Errorf("audit: scan: %w", err)
	}
	r.At = r.At.UTC()
	if before != "" {
		r.Before = json.RawMessage(before)
	}
	if after != "" {
		r.After = json.RawMessage(after)
	}
	return r, nil
}

// Problem describes where the chain breaks.
type Problem struct {
	Seq    int64  `json:"seq"`    // the first bad row (or, for a deleted tail, the head's seq)
	Reason string `json:"reason"` // what is wrong, for people
}

// Report is the outcome of Verify.
type Report struct {
	Checked int64    `json:"checked"` // rows checked
	OK      bool     `json:"ok"`
	Problem *Problem `json:"problem,omitempty"`
}

// Verify walks the whole chain in order and reports the first row that was
// edited (its hash no longer matches its content), deleted (a gap in seq, or
// the head pointing past the last row), or inserted out of order (its
// previous hash is not the hash of the row before it).
func Verify(ctx context.Context, q db.Querier) (Report, error) {
	var rep Report
	rows, err := q.QueryContext(ctx, `SELECT `+columns+` FROM audit_log ORDER BY seq`)
	if err != nil {
		return rep, fmt.Errorf("audit: verify: %w", err)
	}
	defer rows.Close()
	var prevHash string
	var prevSeq int64
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			return rep, err
		}
		switch {
		case r.Seq != prevSeq+1:
			rep.Problem = &Problem{Seq: r.Seq, Reason: fmt.Sprintf("row %d follows row %d: rows %d to %d were deleted", r.Seq, prevSeq, prevSeq+1, r.Seq-1)}
		case r.PrevHash != prevHash:
			rep.Problem = &Problem{Seq: r.Seq, Reason: fmt.Sprintf("row %d does not link to row %d: a row was inserted or replaced out of order", r.Seq, prevSeq)}
		case r.computeHash() != r.Hash:
			rep.Problem = &Problem{Seq: r.Seq, Reason: fmt.Sprintf("row %d was edited: its content no longer matches its hash", r.Seq)}
		}
		if rep.Problem != nil {
			return rep, nil
		}
		rep.Checked++
		prevHash, prevSeq = r.Hash, r.Seq
	}
	if err := rows.Err(); err != nil {
		return rep, fmt.Errorf("audit: verify: %w", err)
	}
	var headSeq int64
	var headHash string
	if err := q.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&headSeq, &headHash); err != nil {
		return rep, fmt.Errorf("audit: verify head: %w", err)
	}
	if headSeq != prevSeq || headHash != prevHash {
		rep.Problem = &Problem{Seq: prevSeq + 1, Reason: fmt.Sprintf("the chain ends at row %d but %d rows were written: the newest rows were deleted", prevSeq, headSeq)}
		return rep, nil
	}
	rep.OK = true
	return rep, nil
}

// ErrNoRecord is returned by Get for an unknown seq.
var ErrNoRecord = errs.NotFoundf("audit record not found")
