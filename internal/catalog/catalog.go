// Package catalog is groundcrew's shared picture of what an Ops team runs:
// environments, services (owned by teams, running in environments,
// depending on each other) and internal tools (CI, git hosting,
// monitoring, cloud accounts…) with the access roles they offer.
//
// Every alert, ticket, finding and grant elsewhere names a catalog object,
// which is what lets each page show the whole context.
package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/audit"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/names"
)

// Teams resolves team names; identity.Service implements it.
type Teams interface {
	TeamID(ctx context.Context, q db.Querier, field, name string) (uuid.UUID, error)
}

var _ Teams = (*identity.Service)(nil)

// Catalog performs catalog operations. Safe for concurrent use.
type Catalog struct {
	db    *db.DB
	clock clock.Clock
	teams Teams
	log   *slog.Logger
}

// New returns a Catalog.
func New(d *db.DB, c clock.Clock, teams Teams, log *slog.Logger) *Catalog {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Catalog{db: d, clock: c, teams: teams, log: log}
}

func (c *Catalog) record(ctx context.Context, tx *sql.Tx, action, kind string, id uuid.UUID, name string, before, after any) error {
	return audit.Append(ctx, tx, c.clock.Now(), audit.Entry{
		Actor: identity.ActorFrom(ctx).Audit(), Action: action, ObjectKind: kind,
		ObjectID: id.String(), ObjectName: name, Before: before, After: after,
	})
}

// ListOptions selects and pages a list; see identity.ListOptions.
type ListOptions = identity.ListOptions

// checkURL validates an optional http(s) URL field.
func checkURL(field, s string) error {
	if s == "" {
		return nil
	}
	if len(s) > 2048 || !(strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")) || strings.ContainsAny(s, " \t\r\n") {
		return errs.Invalidf(field, "%q is not an http(s) URL", s)
	}
	return nil
}

// checkNames validates a list of names and returns it sorted without
// duplicates.
func checkNames(field string, list []string) ([]string, error) {
	for i, n := range list {
		if err := names.Check(fmt.Sprintf("%s[%d]", field, i), n); err != nil {
			return nil, err
		}
	}
	out := slices.Clone(list)
	slices.Sort(out)
	return slices.Compact(out), nil
}

func checkText(field, s string, max int) error {
	if len(s) > max {
		return errs.Invalidf(field, "must be at most %d characters", max)
	}
	return nil
}

func marshalJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func emptyNil[M ~map[K]V, K comparable, V any](m M) M {
	if len(m) == 0 {
		return nil
	}
	return m
}

func orEmptyMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// idsByName resolves names of objects in table to ids, naming field[i] on
// the first unknown one.
func idsByName(ctx context.Context, q db.Querier, table, what, field string, list []string, orig []string) ([]uuid.UUID, error) {
	ids := make([]uuid.UUID, len(list))
	for i, n := range list {
		err := q.QueryRowContext(ctx, `SELECT id FROM `+table+` WHERE name = $1`, n).Scan(&ids[i])
		if db.IsNoRows(err) {
			return nil, errs.Invalidf(fmt.Sprintf("%s[%d]", field, slices.Index(orig, n)), "%s %q does not exist", what, n)
		}
		if err != nil {
			return nil, err
		}
	}
	return ids, nil
}

func namesOf(ctx context.Context, q db.Querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func precondition(kind, name string, have, want int64) error {
	if want != 0 && want != have {
		return errs.Preconditionf("%s %q was changed by someone else (revision %d, you have %d); reload and retry", kind, name, have, want)
	}
	return nil
}
