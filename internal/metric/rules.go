package metric

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/audit"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
)

const ruleColumns = `id, name, spec, labels, origin, revision, created_at, updated_at`

func scanRule(sc interface{ Scan(...any) error }) (Rule, error) {
	var r Rule
	var spec, labels string
	if err := sc.Scan(&r.ID, &r.Name, &spec, &labels, &r.Origin, &r.Revision, &r.CreatedAt, &r.UpdatedAt); err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(spec), &r.Spec); err != nil {
		return r, fmt.Errorf("forecast rule %s spec: %w", r.Name, err)
	}
	if err := json.Unmarshal([]byte(labels), &r.Labels); err != nil {
		return r, fmt.Errorf("forecast rule %s labels: %w", r.Name, err)
	}
	if len(r.Labels) == 0 {
		r.Labels = nil
	}
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return r, nil
}

func getRule(ctx context.Context, q db.Querier, name string) (Rule, error) {
	r, err := scanRule(q.QueryRowContext(ctx, `SELECT `+ruleColumns+` FROM forecast_rules WHERE name = $1`, name))
	if db.IsNoRows(err) {
		return r, errs.NotFoundf("forecast rule %q not found", name)
	}
	if err != nil {
		return r, fmt.Errorf("get forecast rule %s: %w", name, err)
	}
	return r, nil
}

func listRules(ctx context.Context, q db.Querier) ([]Rule, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+ruleColumns+` FROM forecast_rules ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list forecast rules: %w", err)
	}
	defer rows.Close()
	var out []Rule
	for rows.Next() {
		r, err := scanRule(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// GetRule returns the rule called name.
func (s *Service) GetRule(ctx context.Context, name string) (Rule, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return Rule{}, err
	}
	return getRule(ctx, s.db.Reader(), name)
}

// ListRules returns every rule by name (rules are few).
func (s *Service) ListRules(ctx context.Context) ([]Rule, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return nil, err
	}
	out, err := listRules(ctx, s.db.Reader())
	if out == nil {
		out = []Rule{}
	}
	return out, err
}

// PutRuleTx creates or updates a rule in tx (operators and admins) and
// records the change in the audit log; changed is false when nothing
// differed. origin is recorded on a new rule and kept on updates.
func (s *Service) PutRuleTx(ctx context.Context, tx *sql.Tx, in RuleInput, origin string) (r Rule, changed bool, err error) {
	if err := identity.AuthorizeWriter(ctx); err != nil {
		return r, false, err
	}
	if err := identity.Authorize(ctx, identity.PermWriteCatalog, uuid.Nil); err != nil {
		return r, false, err
	}
	if _, err := in.Validate(); err != nil {
		return r, false, err
	}
	now := s.clock.Now()
	r = Rule{Name: in.Name, Labels: emptyNil(in.Labels), Spec: in.Spec}
	spec, _ := json.Marshal(r.Spec)
	before, err := getRule(ctx, tx, in.Name)
	switch {
	case errs.Is(err, errs.NotFound):
		r.ID, r.Revision, r.CreatedAt, r.UpdatedAt, r.Origin = db.NewID(), 1, now, now, origin
		_, err := tx.ExecContext(ctx, `INSERT INTO forecast_rules (id, name, spec, labels, origin, revision, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`, r.ID, r.Name, string(spec), labelsJSON(r.Labels), r.Origin, r.Revision, now)
		if err != nil {
			return r, false, fmt.Errorf("insert forecast rule: %w", err)
		}
		return r, true, s.record(ctx, tx, "create", r.ID, r.Name, nil, r)
	case err != nil:
		return r, false, err
	}
	r.ID, r.CreatedAt, r.Origin = before.ID, before.CreatedAt, before.Origin
	if reflect.DeepEqual(normalized(before.Spec), normalized(r.Spec)) && maps.Equal(before.Labels, r.Labels) {
		return before, false, nil
	}
	r.Revision, r.UpdatedAt = before.Revision+1, now
	_, err = tx.ExecContext(ctx, `UPDATE forecast_rules SET spec = $2, labels = $3, revision = $4, updated_at = $5 WHERE id = $1`,
		r.ID, string(spec), labelsJSON(r.Labels), r.Revision, now)
	if err != nil {
		return r, false, fmt.Errorf("update forecast rule: %w", err)
	}
	return r, true, s.record(ctx, tx, "update", r.ID, r.Name, before, r)
}

// normalized returns the spec as JSON sees it, so that an empty map and a
// missing one compare equal.
func normalized(s RuleSpec) RuleSpec {
	b, _ := json.Marshal(s)
	var out RuleSpec
	_ = json.Unmarshal(b, &out)
	return out
}

// DeleteRuleTx deletes a rule in tx (operators and admins). The evaluator
// resolves its alerts on its next round.
func (s *Service) DeleteRuleTx(ctx context.Context, tx *sql.Tx, name string) error {
	if err := identity.Authorize(ctx, identity.PermWriteCatalog, uuid.Nil); err != nil {
		return err
	}
	before, err := getRule(ctx, tx, name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM forecast_rules WHERE id = $1`, before.ID); err != nil {
		return fmt.Errorf("delete forecast rule: %w", err)
	}
	return s.record(ctx, tx, "delete", before.ID, name, before, nil)
}

func (s *Service) record(ctx context.Context, tx *sql.Tx, action string, id uuid.UUID, name string, before, after any) error {
	return audit.Append(ctx, tx, s.clock.Now(), audit.Entry{
		Actor: identity.ActorFrom(ctx).Audit(), Action: action, ObjectKind: "forecast-rule",
		ObjectID: id.String(), ObjectName: name, Before: before, After: after,
	})
}

func emptyNil(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// state is the evaluator's memory of one (rule, series).
type state struct {
	rule         string
	series       uuid.UUID
	pendingSince *time.Time
	firing       bool
	updatedAt    time.Time // when last written (a firing alert is refreshed from it)
}

func loadStates(ctx context.Context, q db.Querier) (map[stateKey]state, error) {
	rows, err := q.QueryContext(ctx, `SELECT rule, series_id, pending_since, firing, updated_at FROM forecast_state`)
	if err != nil {
		return nil, fmt.Errorf("load forecast state: %w", err)
	}
	defer rows.Close()
	out := map[stateKey]state{}
	for rows.Next() {
		var st state
		var since sql.NullTime
		if err := rows.Scan(&st.rule, &st.series, &since, &st.firing, &st.updatedAt); err != nil {
			return nil, fmt.Errorf("load forecast state: %w", err)
		}
		if since.Valid {
			t := since.Time.UTC()
			st.pendingSince = &t
		}
		out[stateKey{st.rule, st.series}] = st
	}
	return out, rows.Err()
}

type stateKey struct {
	rule   string
	series uuid.UUID
}

func saveState(ctx context.Context, tx *sql.Tx, st state, now time.Time) error {
	var since any
	if st.pendingSince != nil {
		since = *st.pendingSince
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO forecast_state (rule, series_id, pending_since, firing, updated_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (rule, series_id) DO UPDATE SET pending_since = excluded.pending_since, firing = excluded.firing, updated_at = excluded.updated_at`,
		st.rule, st.series, since, st.firing, now)
	if err != nil {
		return fmt.Errorf("save forecast state: %w", err)
	}
	return nil
}

func deleteState(ctx context.Context, tx *sql.Tx, k stateKey) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM forecast_state WHERE rule = $1 AND series_id = $2`, k.rule, k.series); err != nil {
		return fmt.Errorf("delete forecast state: %w", err)
	}
	return nil
}
