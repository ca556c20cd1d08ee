package maintenance

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
)

const windowColumns = `id, name, spec, labels, origin, revision, created_at, updated_at`

func scanWindow(sc interface{ Scan(...any) error }) (Window, error) {
	var w Window
	var spec, labels string
	if err := sc.Scan(&w.ID, &w.Name, &spec, &labels, &w.Origin, &w.Revision, &w.CreatedAt, &w.UpdatedAt); err != nil {
		return w, err
	}
	if err := json.Unmarshal([]byte(spec), &w.Spec); err != nil {
		return w, fmt.Errorf("maintenance window %s spec: %w", w.Name, err)
	}
	if err := json.Unmarshal([]byte(labels), &w.Labels); err != nil {
		return w, fmt.Errorf("maintenance window %s labels: %w", w.Name, err)
	}
	if len(w.Labels) == 0 {
		w.Labels = nil
	}
	w.CreatedAt, w.UpdatedAt = w.CreatedAt.UTC(), w.UpdatedAt.UTC()
	return w, nil
}

func getWindow(ctx context.Context, q db.Querier, name string) (Window, error) {
	w, err := scanWindow(q.QueryRowContext(ctx, `SELECT `+windowColumns+` FROM maintenance_windows WHERE name = $1`, name))
	if db.IsNoRows(err) {
		return w, errs.NotFoundf("maintenance window %q not found", name)
	}
	if err != nil {
		return w, fmt.Errorf("get maintenance window %s: %w", name, err)
	}
	return w, nil
}

// scanWindows calls yield for each window named after `after`, by name,
// until yield returns false. Windows are few, so filters beyond the name
// are applied by the caller as rows stream by.
func scanWindows(ctx context.Context, q db.Querier, after string, yield func(Window) bool) error {
	rows, err := q.QueryContext(ctx, `SELECT `+windowColumns+` FROM maintenance_windows WHERE name > $1 ORDER BY name`, after)
	if err != nil {
		return fmt.Errorf("list maintenance windows: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		w, err := scanWindow(rows)
		if err != nil {
			return err
		}
		if !yield(w) {
			return nil
		}
	}
	return rows.Err()
}

func insertWindow(ctx context.Context, tx *sql.Tx, w Window) error {
	spec, _ := json.Marshal(w.Spec)
	_, err := tx.ExecContext(ctx, `INSERT INTO maintenance_windows (id, name, spec, labels, origin, revision, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`, w.ID, w.Name, string(spec), labelsJSON(w.Labels), w.Origin, w.Revision, w.CreatedAt)
	if err != nil {
		return fmt.Errorf("insert maintenance window: %w", err)
	}
	return nil
}

func updateWindow(ctx context.Context, tx *sql.Tx, w Window) error {
	spec, _ := json.Marshal(w.Spec)
	_, err := tx.ExecContext(ctx, `UPDATE maintenance_windows SET spec = $2, labels = $3, revision = $4, updated_at = $5 WHERE id = $1`,
		w.ID, string(spec), labelsJSON(w.Labels), w.Revision, w.UpdatedAt)
	if err != nil {
		return fmt.Errorf("update maintenance window: %w", err)
	}
	return nil
}

func deleteWindow(ctx context.Context, tx *sql.Tx, id uuid.UUID) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM maintenance_windows WHERE id = $1`, id); err != nil {
		return fmt.Errorf("delete maintenance window: %w", err)
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

// sameSpec reports whether two normalized specs say the same thing; times
// are compared as instants.
func sameSpec(a, b Spec) bool {
	return a.Description == b.Description && slices.Equal(a.Services, b.Services) && slices.Equal(a.Environments, b.Environments) &&
		sameTime(a.Start, b.Start) && sameTime(a.End, b.End) && sameRecurrence(a.Recurrence, b.Recurrence)
}

func sameRecurrence(a, b *RecurrenceSpec) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.TimeZone == b.TimeZone && slices.Equal(a.Days, b.Days) && a.At == b.At && a.Duration == b.Duration && sameTime(a.Until, b.Until)
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}
