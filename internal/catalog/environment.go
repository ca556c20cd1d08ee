package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/names"
)

// Criticality says how much an environment matters; access and alerting
// policies key off it.
type Criticality string

// The criticalities, most critical first.
const (
	CriticalityCritical Criticality = "critical"
	CriticalityHigh     Criticality = "high"
	CriticalityMedium   Criticality = "medium"
	CriticalityLow      Criticality = "low"
)

// Criticalities lists the valid criticalities.
var Criticalities = []Criticality{CriticalityCritical, CriticalityHigh, CriticalityMedium, CriticalityLow}

// EnvironmentSpec is the writable part of an environment.
type EnvironmentSpec struct {
	DisplayName string      `json:"display_name,omitempty" yaml:"display_name,omitempty"`
	Description string      `json:"description,omitempty" yaml:"description,omitempty"`
	Criticality Criticality `json:"criticality" yaml:"criticality" enum:"critical,high,medium,low"`
}

// Environment is a place services run: prod, staging, a region…
type Environment struct {
	ID     uuid.UUID         `json:"id"`
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
	EnvironmentSpec
	Origin    string    `json:"origin,omitempty"`
	Revision  int64     `json:"revision"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// EnvironmentInput creates or replaces an environment.
type EnvironmentInput struct {
	Name   string            `json:"name,omitempty" doc:"required on create; fixed afterwards"`
	Labels map[string]string `json:"labels,omitempty"`
	EnvironmentSpec
}

// Validate reports the first invalid field.
func (in *EnvironmentInput) Validate() error {
	if err := names.Check("name", in.Name); err != nil {
		return err
	}
	if err := identity.CheckLabels("labels", in.Labels); err != nil {
		return err
	}
	if !slices.Contains(Criticalities, in.Criticality) {
		return errs.Invalidf("criticality", "%q is not a criticality: want critical, high, medium or low", in.Criticality)
	}
	if err := checkText("display_name", in.DisplayName, 200); err != nil {
		return err
	}
	return checkText("description", in.Description, 4000)
}

const envColumns = `id, name, display_name, description, criticality, labels, origin, revision, created_at, updated_at`

func scanEnv(sc interface{ Scan(...any) error }) (Environment, error) {
	var e Environment
	var labels string
	if err := sc.Scan(&e.ID, &e.Name, &e.DisplayName, &e.Description, &e.Criticality, &labels, &e.Origin, &e.Revision, &e.CreatedAt, &e.UpdatedAt); err != nil {
		return e, err
	}
	e.CreatedAt, e.UpdatedAt = e.CreatedAt.UTC(), e.UpdatedAt.UTC()
	if err := json.Unmarshal([]byte(labels), &e.Labels); err != nil {
		return e, err
	}
	e.Labels = emptyNil(e.Labels)
	return e, nil
}

// GetEnvironmentTx returns the environment called name.
func (c *Catalog) GetEnvironmentTx(ctx context.Context, q db.Querier, name string) (Environment, error) {
	e, err := scanEnv(q.QueryRowContext(ctx, `SELECT `+envColumns+` FROM environments WHERE name = $1`, name))
	if db.IsNoRows(err) {
		return e, errs.NotFoundf("environment %q not found", name)
	}
	if err != nil {
		return e, fmt.Errorf("get environment %s: %w", name, err)
	}
	return e, nil
}

// GetEnvironment returns the environment called name.
func (c *Catalog) GetEnvironment(ctx context.Context, name string) (Environment, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return Environment{}, err
	}
	return c.GetEnvironmentTx(ctx, c.db.Reader(), name)
}

// ListEnvironments returns environments by name; next is the cursor of the
// next page or "".
func (c *Catalog) ListEnvironments(ctx context.Context, opts ListOptions) (out []Environment, next string, err error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return nil, "", err
	}
	opts = opts.Normalize()
	rows, err := c.db.Reader().QueryContext(ctx, `SELECT `+envColumns+` FROM environments
		WHERE name > $1 AND ($2 = '' OR lower(name) LIKE $3 ESCAPE '\' OR lower(display_name) LIKE $3 ESCAPE '\')
		ORDER BY name LIMIT $4`, opts.After, opts.Query, db.Contains(opts.Query), opts.Limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list environments: %w", err)
	}
	return db.CollectPage(rows, opts.Limit, func(r *sql.Rows) (Environment, error) { return scanEnv(r) }, func(e Environment) string { return e.Name })
}

// CreateEnvironment creates an environment (operators and admins).
func (c *Catalog) CreateEnvironment(ctx context.Context, in EnvironmentInput) (Environment, error) {
	return c.putEnvironment(ctx, in, 0, true)
}

// UpdateEnvironment replaces an environment; ifRevision, when not zero,
// must match the stored revision.
func (c *Catalog) UpdateEnvironment(ctx context.Context, name string, in EnvironmentInput, ifRevision int64) (Environment, error) {
	if in.Name != "" && in.Name != name {
		return Environment{}, errs.Invalidf("name", "cannot be changed (was %q)", name)
	}
	in.Name = name
	if _, err := c.GetEnvironment(ctx, name); err != nil {
		return Environment{}, err
	}
	return c.putEnvironment(ctx, in, ifRevision, false)
}

func (c *Catalog) putEnvironment(ctx context.Context, in EnvironmentInput, ifRevision int64, mustCreate bool) (out Environment, err error) {
	if err := identity.Authorize(ctx, identity.PermWriteCatalog, uuid.Nil); err != nil {
		return out, err
	}
	err = c.db.InTx(ctx, func(tx *sql.Tx) error {
		out, _, err = c.PutEnvironmentTx(ctx, tx, in, "", ifRevision, mustCreate)
		return err
	})
	return out, err
}

// PutEnvironmentTx creates or updates an environment in tx and records the
// change; changed is false when nothing differed. The caller authorizes.
func (c *Catalog) PutEnvironmentTx(ctx context.Context, tx *sql.Tx, in EnvironmentInput, origin string, ifRevision int64, mustCreate bool) (e Environment, changed bool, err error) {
	if err := in.Validate(); err != nil {
		return e, false, err
	}
	e = Environment{Name: in.Name, Labels: emptyNil(in.Labels), EnvironmentSpec: in.EnvironmentSpec, Origin: origin}
	now := c.clock.Now()
	before, err := c.GetEnvironmentTx(ctx, tx, in.Name)
	switch {
	case errs.Is(err, errs.NotFound):
		e.ID, e.Revision, e.CreatedAt, e.UpdatedAt = db.NewID(), 1, now, now
		if _, err := tx.ExecContext(ctx, `INSERT INTO environments (id, name, display_name, description, criticality, labels, origin, revision, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8)`,
			e.ID, e.Name, e.DisplayName, e.Description, e.Criticality, marshalJSON(orEmptyMap(e.Labels)), e.Origin, now); err != nil {
			return e, false, fmt.Errorf("insert environment: %w", err)
		}
		return e, true, c.record(ctx, tx, "create", "environment", e.ID, e.Name, nil, e)
	case err != nil:
		return e, false, err
	case mustCreate:
		return e, false, errs.Conflictf("environment %q already exists", in.Name)
	}
	if err := precondition("environment", in.Name, before.Revision, ifRevision); err != nil {
		return e, false, err
	}
	// The origin says who created the object; an update never takes it
	// over, so prune only ever deletes what its own apply set created.
	e.Origin = before.Origin
	e.ID, e.CreatedAt = before.ID, before.CreatedAt
	if e.EnvironmentSpec == before.EnvironmentSpec && maps.Equal(e.Labels, before.Labels) && e.Origin == before.Origin {
		return before, false, nil
	}
	e.Revision, e.UpdatedAt = before.Revision+1, now
	if _, err := tx.ExecContext(ctx, `UPDATE environments SET display_name = $2, description = $3, criticality = $4, labels = $5,
		origin = $6, revision = $7, updated_at = $8 WHERE id = $1`,
		e.ID, e.DisplayName, e.Description, e.Criticality, marshalJSON(orEmptyMap(e.Labels)), e.Origin, e.Revision, now); err != nil {
		return e, false, fmt.Errorf("update environment: %w", err)
	}
	return e, true, c.record(ctx, tx, "update", "environment", e.ID, e.Name, before, e)
}

// DeleteEnvironment deletes an environment that no service or tool uses.
func (c *Catalog) DeleteEnvironment(ctx context.Context, name string, ifRevision int64) error {
	if err := identity.Authorize(ctx, identity.PermWriteCatalog, uuid.Nil); err != nil {
		return err
	}
	return c.db.InTx(ctx, func(tx *sql.Tx) error { return c.DeleteEnvironmentTx(ctx, tx, name, ifRevision) })
}

// DeleteEnvironmentTx deletes an environment in tx. The caller authorizes.
func (c *Catalog) DeleteEnvironmentTx(ctx context.Context, tx *sql.Tx, name string, ifRevision int64) error {
	before, err := c.GetEnvironmentTx(ctx, tx, name)
	if err != nil {
		return err
	}
	if err := precondition("environment", name, before.Revision, ifRevision); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM environments WHERE id = $1`, before.ID); err != nil {
		if db.IsForeignKeyViolation(err) {
			return errs.Conflictf("environment %q is still used by services, tools or checks", name)
		}
		return fmt.Errorf("delete environment: %w", err)
	}
	return c.record(ctx, tx, "delete", "environment", before.ID, name, before, nil)
}

// EnvironmentID returns the id of the environment called name, or an
// Invalid error naming field when it does not exist.
func (c *Catalog) EnvironmentID(ctx context.Context, q db.Querier, field, name string) (uuid.UUID, error) {
	var id uuid.UUID
	err := q.QueryRowContext(ctx, `SELECT id FROM environments WHERE name = $1`, name).Scan(&id)
	if db.IsNoRows(err) {
		return id, errs.Invalidf(field, "environment %q does not exist", name)
	}
	return id, err
}
