package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/names"
)

// ToolRole is an access role an internal tool offers ("read", "deploy",
// "admin"…); the access capability grants them.
type ToolRole struct {
	Name        string `json:"name" yaml:"name"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
}

// ToolSpec is the writable part of a tool.
type ToolSpec struct {
	DisplayName  string     `json:"display_name,omitempty" yaml:"display_name,omitempty"`
	Description  string     `json:"description,omitempty" yaml:"description,omitempty"`
	Type         string     `json:"type" yaml:"type" doc:"ci, git, monitoring, cloud, secrets, … (a name)"`
	Owner        string     `json:"owner" yaml:"owner" doc:"name of the owning team"`
	URL          string     `json:"url,omitempty" yaml:"url,omitempty"`
	Environments []string   `json:"environments,omitempty" yaml:"environments,omitempty"`
	Roles        []ToolRole `json:"roles,omitempty" yaml:"roles,omitempty"`
}

// Tool is an internal tool: CI, git hosting, monitoring, a cloud account…
type Tool struct {
	ID     uuid.UUID         `json:"id"`
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
	ToolSpec
	Origin    string    `json:"origin,omitempty"`
	Revision  int64     `json:"revision"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ToolInput creates or replaces a tool.
type ToolInput struct {
	Name   string            `json:"name,omitempty" doc:"required on create; fixed afterwards"`
	Labels map[string]string `json:"labels,omitempty"`
	ToolSpec
}

// Validate reports the first invalid field and normalizes lists.
func (in *ToolInput) Validate() error {
	if err := names.Check("name", in.Name); err != nil {
		return err
	}
	if err := identity.CheckLabels("labels", in.Labels); err != nil {
		return err
	}
	if err := names.Check("type", in.Type); err != nil {
		return err
	}
	if err := names.Check("owner", in.Owner); err != nil {
		return err
	}
	if err := checkURL("url", in.URL); err != nil {
		return err
	}
	if err := checkText("display_name", in.DisplayName, 200); err != nil {
		return err
	}
	if err := checkText("description", in.Description, 4000); err != nil {
		return err
	}
	var err error
	if in.Environments, err = checkNames("environments", in.Environments); err != nil {
		return err
	}
	seen := map[string]bool{}
	for i, r := range in.Roles {
		if err := names.Check(fmt.Sprintf("roles[%d].name", i), r.Name); err != nil {
			return err
		}
		if seen[r.Name] {
			return errs.Invalidf(fmt.Sprintf("roles[%d].name", i), "role %q is listed twice", r.Name)
		}
		seen[r.Name] = true
		if err := checkText(fmt.Sprintf("roles[%d].description", i), r.Description, 1000); err != nil {
			return err
		}
	}
	in.Roles = slices.Clone(in.Roles)
	slices.SortFunc(in.Roles, func(a, b ToolRole) int { return strings.Compare(a.Name, b.Name) })
	if in.Roles == nil {
		in.Roles = []ToolRole{}
	}
	return nil
}

const toolColumns = `x.id, x.name, x.display_name, x.description, x.type, t.name, x.url, x.roles, x.labels, x.origin, x.revision, x.created_at, x.updated_at`

func scanTool(sc interface{ Scan(...any) error }) (Tool, error) {
	var x Tool
	var roles, labels string
	if err := sc.Scan(&x.ID, &x.Name, &x.DisplayName, &x.Description, &x.Type, &x.Owner, &x.URL, &roles, &labels,
		&x.Origin, &x.Revision, &x.CreatedAt, &x.UpdatedAt); err != nil {
		return x, err
	}
	x.CreatedAt, x.UpdatedAt = x.CreatedAt.UTC(), x.UpdatedAt.UTC()
	if err := json.Unmarshal([]byte(roles), &x.Roles); err != nil {
		return x, err
	}
	if err := json.Unmarshal([]byte(labels), &x.Labels); err != nil {
		return x, err
	}
	x.Labels = emptyNil(x.Labels)
	return x, nil
}

// GetToolTx returns the tool called name.
func (c *Catalog) GetToolTx(ctx context.Context, q db.Querier, name string) (Tool, error) {
	x, err := scanTool(q.QueryRowContext(ctx, `SELECT `+toolColumns+` FROM tools x JOIN teams t ON t.id = x.owner_team_id WHERE x.name = $1`, name))
	if db.IsNoRows(err) {
		return x, errs.NotFoundf("tool %q not found", name)
	}
	if err != nil {
		return x, fmt.Errorf("get tool %s: %w", name, err)
	}
	x.Environments, err = namesOf(ctx, q, `SELECT e.name FROM tool_environments te JOIN environments e ON e.id = te.environment_id WHERE te.tool_id = $1 ORDER BY e.name`, x.ID)
	return x, err
}

// GetTool returns the tool called name.
func (c *Catalog) GetTool(ctx context.Context, name string) (Tool, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return Tool{}, err
	}
	return c.GetToolTx(ctx, c.db.Reader(), name)
}

// ListTools returns tools by name; next is the cursor of the next page.
// owner, when set, keeps only the tools of that team.
func (c *Catalog) ListTools(ctx context.Context, opts ListOptions, owner string) (out []Tool, next string, err error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return nil, "", err
	}
	opts = opts.Normalize()
	q := c.db.Reader()
	rows, err := q.QueryContext(ctx, `SELECT `+toolColumns+` FROM tools x JOIN teams t ON t.id = x.owner_team_id
		WHERE x.name > $1 AND ($2 = '' OR lower(x.name) LIKE $3 ESCAPE '\' OR lower(x.display_name) LIKE $3 ESCAPE '\' OR lower(x.type) LIKE $3 ESCAPE '\')
		AND ($4 = '' OR t.name = $4)
		ORDER BY x.name LIMIT $5`, opts.After, opts.Query, db.Contains(opts.Query), owner, opts.Limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list tools: %w", err)
	}
	out, next, err = db.CollectPage(rows, opts.Limit, func(r *sql.Rows) (Tool, error) { return scanTool(r) }, func(x Tool) string { return x.Name })
	if err != nil {
		return nil, "", err
	}
	if len(out) == 0 {
		return out, next, nil
	}
	// One range query for the page's environments, not one per tool.
	byName := make(map[string]*Tool, len(out))
	for i := range out {
		out[i].Environments = []string{}
		byName[out[i].Name] = &out[i]
	}
	envRows, err := q.QueryContext(ctx, `SELECT x.name, e.name FROM tools x JOIN tool_environments te ON te.tool_id = x.id
		JOIN environments e ON e.id = te.environment_id WHERE x.name >= $1 AND x.name <= $2 ORDER BY x.name, e.name`,
		out[0].Name, out[len(out)-1].Name)
	if err != nil {
		return nil, "", fmt.Errorf("list tool environments: %w", err)
	}
	defer envRows.Close()
	for envRows.Next() {
		var tool, env string
		if err := envRows.Scan(&tool, &env); err != nil {
			return nil, "", err
		}
		if x := byName[tool]; x != nil {
			x.Environments = append(x.Environments, env)
		}
	}
	return out, next, envRows.Err()
}

// CreateTool creates a tool.
func (c *Catalog) CreateTool(ctx context.Context, in ToolInput) (Tool, error) {
	return c.putTool(ctx, in, 0, true)
}

// UpdateTool replaces the tool called name.
func (c *Catalog) UpdateTool(ctx context.Context, name string, in ToolInput, ifRevision int64) (Tool, error) {
	if in.Name != "" && in.Name != name {
		return Tool{}, errs.Invalidf("name", "cannot be changed (was %q)", name)
	}
	in.Name = name
	if _, err := c.GetTool(ctx, name); err != nil {
		return Tool{}, err
	}
	return c.putTool(ctx, in, ifRevision, false)
}

func (c *Catalog) putTool(ctx context.Context, in ToolInput, ifRevision int64, mustCreate bool) (out Tool, err error) {
	if err := identity.AuthorizeWriter(ctx); err != nil {
		return out, err
	}
	err = c.db.InTx(ctx, func(tx *sql.Tx) error {
		out, _, err = c.PutToolTx(ctx, tx, in, "", ifRevision, mustCreate)
		return err
	})
	return out, err
}

// PutToolTx creates or updates a tool in tx, authorizing the actor against
// the owning team (old and new), and records the change.
func (c *Catalog) PutToolTx(ctx context.Context, tx *sql.Tx, in ToolInput, origin string, ifRevision int64, mustCreate bool) (x Tool, changed bool, err error) {
	if err := in.Validate(); err != nil {
		return x, false, err
	}
	owner, err := c.teams.TeamID(ctx, tx, "owner", in.Owner)
	if err != nil {
		return x, false, err
	}
	if err := identity.Authorize(ctx, identity.PermWriteOwned, owner); err != nil {
		return x, false, err
	}
	envIDs, err := idsByName(ctx, tx, "environments", "environment", "environments", in.Environments, in.Environments)
	if err != nil {
		return x, false, err
	}
	x = Tool{Name: in.Name, Labels: emptyNil(in.Labels), ToolSpec: in.ToolSpec, Origin: origin}
	now := c.clock.Now()
	before, err := c.GetToolTx(ctx, tx, in.Name)
	action := "update"
	switch {
	case errs.Is(err, errs.NotFound):
		action = "create"
		x.ID, x.Revision, x.CreatedAt, x.UpdatedAt = db.NewID(), 1, now, now
		if _, err := tx.ExecContext(ctx, `INSERT INTO tools (id, name, display_name, description, type, owner_team_id, url, roles, labels, origin, revision, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $11)`,
			x.ID, x.Name, x.DisplayName, x.Description, x.Type, owner, x.URL, marshalJSON(x.Roles), marshalJSON(orEmptyMap(x.Labels)), x.Origin, now); err != nil {
			return x, false, fmt.Errorf("insert tool: %w", err)
		}
	case err != nil:
		return x, false, err
	case mustCreate:
		return x, false, errs.Conflictf("tool %q already exists", in.Name)
	default:
		if err := precondition("tool", in.Name, before.Revision, ifRevision); err != nil {
			return x, false, err
		}
		if before.Owner != in.Owner {
			oldOwner, err := c.teams.TeamID(ctx, tx, "owner", before.Owner)
			if err != nil {
				return x, false, err
			}
			if err := identity.Authorize(ctx, identity.PermWriteOwned, oldOwner); err != nil {
				return x, false, err
			}
		}
		// The origin says who created the object; an update never takes it
		// over, so prune only ever deletes what its own apply set created.
		x.Origin = before.Origin
		x.ID, x.CreatedAt = before.ID, before.CreatedAt
		if sameTool(before, x) {
			return before, false, nil
		}
		x.Revision, x.UpdatedAt = before.Revision+1, now
		if _, err := tx.ExecContext(ctx, `UPDATE tools SET display_name = $2, description = $3, type = $4, owner_team_id = $5, url = $6,
			roles = $7, labels = $8, origin = $9, revision = $10, updated_at = $11 WHERE id = $1`,
			x.ID, x.DisplayName, x.Description, x.Type, owner, x.URL, marshalJSON(x.Roles), marshalJSON(orEmptyMap(x.Labels)), x.Origin, x.Revision, now); err != nil {
			return x, false, fmt.Errorf("update tool: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM tool_environments WHERE tool_id = $1`, x.ID); err != nil {
			return x, false, fmt.Errorf("update tool environments: %w", err)
		}
	}
	for _, id := range envIDs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO tool_environments (tool_id, environment_id) VALUES ($1, $2)`, x.ID, id); err != nil {
			return x, false, fmt.Errorf("add tool environment: %w", err)
		}
	}
	var b any
	if action == "update" {
		b = before
	}
	return x, true, c.record(ctx, tx, action, "tool", x.ID, x.Name, b, x)
}

func sameTool(a, b Tool) bool {
	x, y := a.ToolSpec, b.ToolSpec
	return x.DisplayName == y.DisplayName && x.Description == y.Description && x.Type == y.Type && x.Owner == y.Owner &&
		x.URL == y.URL && slices.Equal(x.Environments, y.Environments) && slices.Equal(x.Roles, y.Roles) &&
		maps.Equal(a.Labels, b.Labels) && a.Origin == b.Origin
}

// DeleteTool deletes a tool.
func (c *Catalog) DeleteTool(ctx context.Context, name string, ifRevision int64) error {
	if err := identity.AuthorizeWriter(ctx); err != nil {
		return err
	}
	return c.db.InTx(ctx, func(tx *sql.Tx) error { return c.DeleteToolTx(ctx, tx, name, ifRevision) })
}

// DeleteToolTx deletes a tool in tx after authorizing the actor against its
// owner.
func (c *Catalog) DeleteToolTx(ctx context.Context, tx *sql.Tx, name string, ifRevision int64) error {
	before, err := c.GetToolTx(ctx, tx, name)
	if err != nil {
		return err
	}
	owner, err := c.teams.TeamID(ctx, tx, "owner", before.Owner)
	if err != nil {
		return err
	}
	if err := identity.Authorize(ctx, identity.PermWriteOwned, owner); err != nil {
		return err
	}
	if err := precondition("tool", name, before.Revision, ifRevision); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM tools WHERE id = $1`, before.ID); err != nil {
		return fmt.Errorf("delete tool: %w", err)
	}
	return c.record(ctx, tx, "delete", "tool", before.ID, name, before, nil)
}
