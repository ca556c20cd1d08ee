package db

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
)

// NewID returns a new time-ordered UUIDv7.
func NewID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

// IsUniqueViolation reports whether err is a unique-constraint violation on
// either engine.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "UNIQUE constraint failed") || strings.Contains(s, "SQLSTATE 23505")
}

// IsDeadlock reports whether err is PostgreSQL's deadlock detector (or a
// serialization failure) ending the transaction: trying it again is the
// remedy. SQLite has one writer and none.
func IsDeadlock(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "SQLSTATE 40P01") || strings.Contains(s, "SQLSTATE 40001")
}

// IsForeignKeyViolation reports whether err is a foreign-key violation on
// either engine.
func IsForeignKeyViolation(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "FOREIGN KEY constraint failed") || strings.Contains(s, "SQLSTATE 23503")
}

// IsNoRows reports whether err is sql.ErrNoRows.
func IsNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// CollectPage reads the rows of a page query that asked for limit+1 rows
// (the extra one tells whether another page follows), scanning each with
// scan. It returns at most limit items and the cursor of the next page —
// the key of the last item returned — or "" on the last page. It closes
// rows.
func CollectPage[T any](rows *sql.Rows, limit int, scan func(*sql.Rows) (T, error), key func(T) string) ([]T, string, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	if len(out) <= limit {
		return out, "", nil
	}
	out = out[:limit]
	return out, key(out[len(out)-1]), nil
}

// CollectRows reads every row of rows, scanning each with scan, and
// closes rows.
func CollectRows[T any](rows *sql.Rows, scan func(*sql.Rows) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Contains returns a LIKE pattern matching s anywhere, lower-cased, with
// LIKE's wildcards in s escaped; use it with ESCAPE '\'.
func Contains(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(s)) + "%"
}

// Where builds a WHERE clause from only the conditions in use: catch-all
// conditions such as "$2 = ” OR …" make PostgreSQL's generic plans scan
// whole tables. The zero value is empty.
type Where struct {
	conds []string
	// Args are the placeholder values, in order.
	Args []any
}

// Add adds a condition on one value; every "?" in cond stands for it.
func (w *Where) Add(cond string, v any) {
	w.Args = append(w.Args, v)
	w.conds = append(w.conds, strings.ReplaceAll(cond, "?", fmt.Sprintf("$%d", len(w.Args))))
}

// AddPlain adds a condition without a value.
func (w *Where) AddPlain(cond string) { w.conds = append(w.conds, cond) }

// SQL returns "WHERE a AND b …" ("" without conditions).
func (w *Where) SQL() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// Next returns the placeholder of the next argument, for LIMIT.
func (w *Where) Next(v any) string {
	w.Args = append(w.Args, v)
	return fmt.Sprintf("$%d", len(w.Args))
}
