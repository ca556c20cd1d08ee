package oncall

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

// Schedules and policies are stored alike: a name, the owning team, the
// spec as JSON, labels, origin and revision. row is that shape; the
// tables are oncall_schedules and oncall_escalation_policies.
type row struct {
	ID                   uuid.UUID
	Name                 string
	Owner                uuid.UUID
	Spec                 string
	Labels               map[string]string
	Origin               string
	Revision             int64
	CreatedAt, UpdatedAt time.Time
}

const (
	schedulesTable = "oncall_schedules"
	policiesTable  = "oncall_escalation_policies"
	rowColumns     = `id, name, owner_team_id, spec, labels, origin, revision, created_at, updated_at`
)

func scanRow(sc interface{ Scan(...any) error }) (row, error) {
	var r row
	var labels string
	if err := sc.Scan(&r.ID, &r.Name, &r.Owner, &r.Spec, &labels, &r.Origin, &r.Revision, &r.CreatedAt, &r.UpdatedAt); err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(labels), &r.Labels); err != nil {
		return r, fmt.Errorf("%s labels: %w", r.Name, err)
	}
	if len(r.Labels) == 0 {
		r.Labels = nil
	}
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return r, nil
}

// getRow returns the row called name of table; what names the kind in a
// NotFound error ("schedule").
func getRow(ctx context.Context, q db.Querier, table, what, name string) (row, error) {
	r, err := scanRow(q.QueryRowContext(ctx, `SELECT `+rowColumns+` FROM `+table+` WHERE name = $1`, name))
	if db.IsNoRows(err) {
		return r, errs.NotFoundf("%s %q not found", what, name)
	}
	if err != nil {
		return r, fmt.Errorf("get %s %s: %w", what, name, err)
	}
	return r, nil
}

// scanRows calls yield for each row of table named after `after` (and, if
// owner is not Nil, owned by it), by name, until yield returns false.
func scanRows(ctx context.Context, q db.Querier, table, after string, owner uuid.UUID, yield func(row) (bool, error)) error {
	query, args := `SELECT `+rowColumns+` FROM `+table+` WHERE name > $1`, []any{after}
	if owner != uuid.Nil {
		query, args = query+` AND owner_team_id = $2`, append(args, owner)
	}
	rows, err := q.QueryContext(ctx, query+` ORDER BY name`, args...)
	if err != nil {
		return fmt.Errorf("list %s: %w", table, err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRow(rows)
		if err != nil {
			return err
		}
		more, err := yield(r)
		if err != nil || !more {
			return err
		}
	}
	return rows.Err()
}

func insertRow(ctx context.Context, tx *sql.Tx, table string, r row) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO `+table+` (`+rowColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`,
		r.ID, r.Name, r.Owner, r.Spec, labelsJSON(r.Labels), r.Origin, r.Revision, r.CreatedAt)
	if err != nil {
		return fmt.Errorf("insert into %s: %w", table, err)
	}
	return nil
}

func updateRow(ctx context.Context, tx *sql.Tx, table string, r row) error {
	_, err := tx.ExecContext(ctx, `UPDATE `+table+` SET owner_team_id = $2, spec = $3, labels = $4, revision = $5, updated_at = $6 WHERE id = $1`,
		r.ID, r.Owner, r.Spec, labelsJSON(r.Labels), r.Revision, r.UpdatedAt)
	if err != nil {
		return fmt.Errorf("update %s: %w", table, err)
	}
	return nil
}

func deleteRow(ctx context.Context, tx *sql.Tx, table string, id uuid.UUID) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE id = $1`, id); err != nil {
		return fmt.Errorf("delete from %s: %w", table, err)
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

// ---- iCalendar feed tokens ----

// putICalToken replaces user's feed token by one with hash.
func putICalToken(ctx context.Context, tx *sql.Tx, user uuid.UUID, hash, prefix string, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM oncall_ical_tokens WHERE user_id = $1`, user); err != nil {
		return fmt.Errorf("replace calendar feed: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO oncall_ical_tokens (id, user_id, token_hash, prefix, created_at) VALUES ($1, $2, $3, $4, $5)`,
		db.NewID(), user, hash, prefix, now); err != nil {
		return fmt.Errorf("create calendar feed: %w", err)
	}
	return nil
}

// icalUser returns the name of the user whose feed token hashes to hash;
// NotFound when there is none.
func icalUser(ctx context.Context, q db.Querier, hash string) (string, error) {
	var name string
	err := q.QueryRowContext(ctx, `SELECT u.name FROM oncall_ical_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1 AND NOT u.disabled`, hash).Scan(&name)
	if db.IsNoRows(err) {
		return "", errs.NotFoundf("no such calendar feed")
	}
	if err != nil {
		return "", fmt.Errorf("calendar feed: %w", err)
	}
	return name, nil
}
