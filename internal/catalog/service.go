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

// Lifecycles lists the stages a service can be in.
var Lifecycles = []string{"experimental", "production", "deprecated"}

// ServiceSpec is the writable part of a service.
type ServiceSpec struct {
	DisplayName  string   `json:"display_name,omitempty" yaml:"display_name,omitempty"`
	Description  string   `json:"description,omitempty" yaml:"description,omitempty"`
	Owner        string   `json:"owner" yaml:"owner" doc:"name of the owning team"`
	Tier         int      `json:"tier" yaml:"tier" minimum:"1" maximum:"4" doc:"1 is the most critical"`
	Lifecycle    string   `json:"lifecycle,omitempty" yaml:"lifecycle,omitempty" enum:"experimental,production,deprecated"`
	Type         string   `json:"type,omitempty" yaml:"type,omitempty" doc:"service, website, library, database, queue… (default service)"`
	System       string   `json:"system,omitempty" yaml:"system,omitempty" doc:"the larger system the service is part of"`
	Environments []string `json:"environments,omitempty" yaml:"environments,omitempty"`
	DependsOn    []string `json:"depends_on,omitempty" yaml:"depends_on,omitempty"`
	Runbook      string   `json:"runbook,omitempty" yaml:"runbook,omitempty"`
	Repository   string   `json:"repository,omitempty" yaml:"repository,omitempty"`
	Dashboard    string   `json:"dashboard,omitempty" yaml:"dashboard,omitempty"`
	Tags         []string `json:"tags,omitempty" yaml:"tags,omitempty"`
}

// Service is something a team runs.
type Service struct {
	ID     uuid.UUID         `json:"id"`
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
	ServiceSpec
	Dependents []string  `json:"dependents,omitempty" doc:"services that depend on this one (read-only)"`
	Origin     string    `json:"origin,omitempty"`
	Revision   int64     `json:"revision"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// ServiceInput creates or replaces a service.
type ServiceInput struct {
	Name   string            `json:"name,omitempty" doc:"required on create; fixed afterwards"`
	Labels map[string]string `json:"labels,omitempty"`
	ServiceSpec
}

// Validate reports the first invalid field and normalizes lists (sorted,
// without duplicates) and defaults.
func (in *ServiceInput) Validate() error {
	if err := names.Check("name", in.Name); err != nil {
		return err
	}
	if err := identity.CheckLabels("labels", in.Labels); err != nil {
		return err
	}
	if err := names.Check("owner", in.Owner); err != nil {
		return err
	}
	if in.Tier < 1 || in.Tier > 4 {
		return errs.Invalidf("tier", "must be 1 (most critical) to 4, got %d", in.Tier)
	}
	if in.Lifecycle == "" {
		in.Lifecycle = "production"
	}
	if !slices.Contains(Lifecycles, in.Lifecycle) {
		return errs.Invalidf("lifecycle", "%q is not a lifecycle: want experimental, production or deprecated", in.Lifecycle)
	}
	if in.Type == "" {
		in.Type = "service"
	}
	if err := names.Check("type", in.Type); err != nil {
		return err
	}
	if in.System != "" {
		if err := names.Check("system", in.System); err != nil {
			return err
		}
	}
	for _, f := range []struct{ field, v string }{{"runbook", in.Runbook}, {"repository", in.Repository}, {"dashboard", in.Dashboard}} {
		if err := checkURL(f.field, f.v); err != nil {
			return err
		}
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
	orig := in.DependsOn
	if in.DependsOn, err = checkNames("depends_on", in.DependsOn); err != nil {
		return err
	}
	if slices.Contains(in.DependsOn, in.Name) {
		return errs.Invalidf(fmt.Sprintf("depends_on[%d]", slices.Index(orig, in.Name)), "a service cannot depend on itself")
	}
	for i, t := range in.Tags {
		if t == "" || len(t) > 63 || strings.ContainsAny(t, " \t\r\n,") {
			return errs.Invalidf(fmt.Sprintf("tags[%d]", i), "%q is not a tag: 1-63 characters without spaces or commas", t)
		}
	}
	in.Tags = slices.Compact(slices.Sorted(slices.Values(in.Tags)))
	if in.Tags == nil {
		in.Tags = []string{}
	}
	return nil
}

const serviceColumns = `s.id, s.name, s.display_name, s.description, t.name, s.tier, s.lifecycle, s.type, s.system,
	s.runbook_url, s.repository_url, s.dashboard_url, s.tags, s.labels, s.origin, s.revision, s.created_at, s.updated_at`

func scanService(sc interface{ Scan(...any) error }) (Service, error) {
	var s Service
	var tags, labels string
	if err := sc.Scan(&s.ID, &s.Name, &s.DisplayName, &s.Description, &s.Owner, &s.Tier, &s.Lifecycle, &s.Type, &s.System,
		&s.Runbook, &s.Repository, &s.Dashboard, &tags, &labels, &s.Origin, &s.Revision, &s.CreatedAt, &s.UpdatedAt); err != nil {
		return s, err
	}
	s.CreatedAt, s.UpdatedAt = s.CreatedAt.UTC(), s.UpdatedAt.UTC()
	if err := json.Unmarshal([]byte(tags), &s.Tags); err != nil {
		return s, err
	}
	if err := json.Unmarshal([]byte(labels), &s.Labels); err != nil {
		return s, err
	}
	s.Labels = emptyNil(s.Labels)
	return s, nil
}

// fillService loads the lists of s: environments, dependencies, dependents.
func fillService(ctx context.Context, q db.Querier, s *Service) error {
	var err error
	if s.Environments, err = namesOf(ctx, q, `SELECT e.name FROM service_environments se JOIN environments e ON e.id = se.environment_id WHERE se.service_id = $1 ORDER BY e.name`, s.ID); err != nil {
		return err
	}
	if s.DependsOn, err = namesOf(ctx, q, `SELECT d.name FROM service_dependencies sd JOIN services d ON d.id = sd.depends_on_id WHERE sd.service_id = $1 ORDER BY d.name`, s.ID); err != nil {
		return err
	}
	s.Dependents, err = namesOf(ctx, q, `SELECT d.name FROM service_dependencies sd JOIN services d ON d.id = sd.service_id WHERE sd.depends_on_id = $1 ORDER BY d.name`, s.ID)
	return err
}

// GetServiceTx returns the service called name with its lists.
func (c *Catalog) GetServiceTx(ctx context.Context, q db.Querier, name string) (Service, error) {
	s, err := scanService(q.QueryRowContext(ctx, `SELECT `+serviceColumns+` FROM services s JOIN teams t ON t.id = s.owner_team_id WHERE s.name = $1`, name))
	if db.IsNoRows(err) {
		return s, errs.NotFoundf("service %q not found", name)
	}
	if err != nil {
		return s, fmt.Errorf("get service %s: %w", name, err)
	}
	return s, fillService(ctx, q, &s)
}

// GetService returns the service called name.
func (c *Catalog) GetService(ctx context.Context, name string) (Service, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return Service{}, err
	}
	return c.GetServiceTx(ctx, c.db.Reader(), name)
}

// ServiceFilter narrows ListServices beyond the name search.
type ServiceFilter struct {
	Owner       string // team name
	Environment string
	Tag         string
	Lifecycle   string
	NoRunbook   bool // only production services without a runbook
	Unstaffed   bool // only services whose owning team has no members
}

// ListServices returns services by name; next is the cursor of the next
// page or "". Lists are loaded with one query each per page, not per row.
func (c *Catalog) ListServices(ctx context.Context, opts ListOptions, f ServiceFilter) (out []Service, next string, err error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return nil, "", err
	}
	opts = opts.Normalize()
	q := c.db.Reader()
	var w db.Where
	w.Add("s.name > ?", opts.After)
	if opts.Query != "" {
		w.Add(`(lower(s.name) LIKE ? ESCAPE '\' OR lower(s.display_name) LIKE ? ESCAPE '\' OR lower(s.description) LIKE ? ESCAPE '\')`, db.Contains(opts.Query))
	}
	if f.Owner != "" {
		w.Add("t.name = ?", f.Owner)
	}
	if f.Lifecycle != "" {
		w.Add("s.lifecycle = ?", f.Lifecycle)
	}
	if f.Tag != "" {
		w.Add("s.tags LIKE ?", "%"+marshalJSON(f.Tag)+"%")
	}
	if f.Environment != "" {
		w.Add(`EXISTS (SELECT 1 FROM service_environments se JOIN environments e ON e.id = se.environment_id WHERE se.service_id = s.id AND e.name = ?)`, f.Environment)
	}
	if f.NoRunbook {
		w.AddPlain("s.lifecycle = 'production' AND s.runbook_url = ''")
	}
	if f.Unstaffed {
		w.AddPlain("NOT EXISTS (SELECT 1 FROM team_members m WHERE m.team_id = s.owner_team_id)")
	}
	query := `SELECT ` + serviceColumns + ` FROM services s JOIN teams t ON t.id = s.owner_team_id` + w.SQL() + ` ORDER BY s.name LIMIT ` + w.Next(opts.Limit+1)
	rows, err := q.QueryContext(ctx, query, w.Args...)
	if err != nil {
		return nil, "", fmt.Errorf("list services: %w", err)
	}
	out, next, err = db.CollectPage(rows, opts.Limit, func(r *sql.Rows) (Service, error) { return scanService(r) }, func(s Service) string { return s.Name })
	if err != nil {
		return nil, "", err
	}
	if len(out) == 0 {
		return out, next, nil
	}
	if err := fillServices(ctx, q, out); err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// fillServices loads the lists of a page of services with three queries
// selecting by the page's ids (not three per service); the lists are
// sorted here, which keeps the database's plans simple on both engines.
func fillServices(ctx context.Context, q db.Querier, page []Service) error {
	byID := make(map[uuid.UUID]*Service, len(page))
	args := make([]any, len(page))
	marks := make([]string, len(page))
	for i := range page {
		s := &page[i]
		s.Environments, s.DependsOn, s.Dependents = []string{}, []string{}, []string{}
		byID[s.ID] = s
		args[i], marks[i] = s.ID, fmt.Sprintf("$%d", i+1)
	}
	in := strings.Join(marks, ", ")
	load := func(query string, set func(s *Service, v string)) error {
		rows, err := q.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id uuid.UUID
			var v string
			if err := rows.Scan(&id, &v); err != nil {
				return err
			}
			if s := byID[id]; s != nil {
				set(s, v)
			}
		}
		return rows.Err()
	}
	if err := load(`SELECT se.service_id, e.name FROM service_environments se JOIN environments e ON e.id = se.environment_id
		WHERE se.service_id IN (`+in+`)`, func(s *Service, v string) { s.Environments = append(s.Environments, v) }); err != nil {
		return fmt.Errorf("list service environments: %w", err)
	}
	if err := load(`SELECT sd.service_id, d.name FROM service_dependencies sd JOIN services d ON d.id = sd.depends_on_id
		WHERE sd.service_id IN (`+in+`)`, func(s *Service, v string) { s.DependsOn = append(s.DependsOn, v) }); err != nil {
		return fmt.Errorf("list service dependencies: %w", err)
	}
	if err := load(`SELECT sd.depends_on_id, d.name FROM service_dependencies sd JOIN services d ON d.id = sd.service_id
		WHERE sd.depends_on_id IN (`+in+`)`, func(s *Service, v string) { s.Dependents = append(s.Dependents, v) }); err != nil {
		return fmt.Errorf("list service dependents: %w", err)
	}
	for i := range page {
		slices.Sort(page[i].Environments)
		slices.Sort(page[i].DependsOn)
		slices.Sort(page[i].Dependents)
	}
	return nil
}

// CreateService creates a service. Members may create services owned by
// their own teams; operators and admins any.
func (c *Catalog) CreateService(ctx context.Context, in ServiceInput) (Service, error) {
	return c.putService(ctx, in, 0, true)
}

// UpdateService replaces the service called name. The actor must be
// allowed to write both the current and the new owner's objects.
func (c *Catalog) UpdateService(ctx context.Context, name string, in ServiceInput, ifRevision int64) (Service, error) {
	if in.Name != "" && in.Name != name {
		return Service{}, errs.Invalidf("name", "cannot be changed (was %q)", name)
	}
	in.Name = name
	if _, err := c.GetService(ctx, name); err != nil {
		return Service{}, err
	}
	return c.putService(ctx, in, ifRevision, false)
}

func (c *Catalog) putService(ctx context.Context, in ServiceInput, ifRevision int64, mustCreate bool) (out Service, err error) {
	if err := identity.AuthorizeWriter(ctx); err != nil {
		return out, err
	}
	err = c.db.InTx(ctx, func(tx *sql.Tx) error {
		out, _, err = c.PutServiceTx(ctx, tx, in, "", ifRevision, mustCreate)
		return err
	})
	return out, err
}

// PutServiceTx creates or updates a service in tx, authorizing the actor
// against the owning team (old and new), and records the change; changed
// is false when nothing differed. Every name it references must exist.
func (c *Catalog) PutServiceTx(ctx context.Context, tx *sql.Tx, in ServiceInput, origin string, ifRevision int64, mustCreate bool) (s Service, changed bool, err error) {
	if err := in.Validate(); err != nil {
		return s, false, err
	}
	owner, err := c.teams.TeamID(ctx, tx, "owner", in.Owner)
	if err != nil {
		return s, false, err
	}
	if err := identity.Authorize(ctx, identity.PermWriteOwned, owner); err != nil {
		return s, false, err
	}
	envIDs, err := idsByName(ctx, tx, "environments", "environment", "environments", in.Environments, in.Environments)
	if err != nil {
		return s, false, err
	}
	depIDs, err := idsByName(ctx, tx, "services", "service", "depends_on", in.DependsOn, in.DependsOn)
	if err != nil {
		return s, false, err
	}
	s = Service{Name: in.Name, Labels: emptyNil(in.Labels), ServiceSpec: in.ServiceSpec, Origin: origin}
	now := c.clock.Now()
	before, err := c.GetServiceTx(ctx, tx, in.Name)
	action := "update"
	switch {
	case errs.Is(err, errs.NotFound):
		action = "create"
		s.ID, s.Revision, s.CreatedAt, s.UpdatedAt, s.Dependents = db.NewID(), 1, now, now, []string{}
		if _, err := tx.ExecContext(ctx, `INSERT INTO services (id, name, display_name, description, owner_team_id, tier, lifecycle, type, system,
			runbook_url, repository_url, dashboard_url, tags, labels, origin, revision, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 1, $16, $16)`,
			s.ID, s.Name, s.DisplayName, s.Description, owner, s.Tier, s.Lifecycle, s.Type, s.System,
			s.Runbook, s.Repository, s.Dashboard, marshalJSON(s.Tags), marshalJSON(orEmptyMap(s.Labels)), s.Origin, now); err != nil {
			return s, false, fmt.Errorf("insert service: %w", err)
		}
	case err != nil:
		return s, false, err
	case mustCreate:
		return s, false, errs.Conflictf("service %q already exists", in.Name)
	default:
		if err := precondition("service", in.Name, before.Revision, ifRevision); err != nil {
			return s, false, err
		}
		if before.Owner != in.Owner {
			oldOwner, err := c.teams.TeamID(ctx, tx, "owner", before.Owner)
			if err != nil {
				return s, false, err
			}
			if err := identity.Authorize(ctx, identity.PermWriteOwned, oldOwner); err != nil {
				return s, false, err
			}
		}
		// The origin says who created the object; an update never takes it
		// over, so prune only ever deletes what its own apply set created.
		s.Origin = before.Origin
		s.ID, s.CreatedAt, s.Dependents = before.ID, before.CreatedAt, before.Dependents
		if sameService(before, s) {
			return before, false, nil
		}
		s.Revision, s.UpdatedAt = before.Revision+1, now
		if _, err := tx.ExecContext(ctx, `UPDATE services SET display_name = $2, description = $3, owner_team_id = $4, tier = $5, lifecycle = $6,
			type = $7, system = $8, runbook_url = $9, repository_url = $10, dashboard_url = $11, tags = $12, labels = $13, origin = $14,
			revision = $15, updated_at = $16 WHERE id = $1`,
			s.ID, s.DisplayName, s.Description, owner, s.Tier, s.Lifecycle, s.Type, s.System, s.Runbook, s.Repository, s.Dashboard,
			marshalJSON(s.Tags), marshalJSON(orEmptyMap(s.Labels)), s.Origin, s.Revision, now); err != nil {
			return s, false, fmt.Errorf("update service: %w", err)
		}
		for _, q := range []string{`DELETE FROM service_environments WHERE service_id = $1`, `DELETE FROM service_dependencies WHERE service_id = $1`} {
			if _, err := tx.ExecContext(ctx, q, s.ID); err != nil {
				return s, false, fmt.Errorf("update service lists: %w", err)
			}
		}
	}
	for _, id := range envIDs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO service_environments (service_id, environment_id) VALUES ($1, $2)`, s.ID, id); err != nil {
			return s, false, fmt.Errorf("add service environment: %w", err)
		}
	}
	for _, id := range depIDs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO service_dependencies (service_id, depends_on_id) VALUES ($1, $2)`, s.ID, id); err != nil {
			return s, false, fmt.Errorf("add service dependency: %w", err)
		}
	}
	var b any
	if action == "update" {
		b = auditView(before)
	}
	return s, true, c.record(ctx, tx, action, "service", s.ID, s.Name, b, auditView(s))
}

func sameService(a, b Service) bool {
	x, y := a.ServiceSpec, b.ServiceSpec
	return x.DisplayName == y.DisplayName && x.Description == y.Description && x.Owner == y.Owner && x.Tier == y.Tier &&
		x.Lifecycle == y.Lifecycle && x.Type == y.Type && x.System == y.System && x.Runbook == y.Runbook &&
		x.Repository == y.Repository && x.Dashboard == y.Dashboard && slices.Equal(x.Environments, y.Environments) &&
		slices.Equal(x.DependsOn, y.DependsOn) && slices.Equal(x.Tags, y.Tags) && maps.Equal(a.Labels, b.Labels) && a.Origin == b.Origin
}

// DeleteService deletes a service nothing depends on.
func (c *Catalog) DeleteService(ctx context.Context, name string, ifRevision int64) error {
	if err := identity.AuthorizeWriter(ctx); err != nil {
		return err
	}
	return c.db.InTx(ctx, func(tx *sql.Tx) error { return c.DeleteServiceTx(ctx, tx, name, ifRevision) })
}

// DeleteServiceTx deletes a service in tx after authorizing the actor
// against its owner.
func (c *Catalog) DeleteServiceTx(ctx context.Context, tx *sql.Tx, name string, ifRevision int64) error {
	before, err := c.GetServiceTx(ctx, tx, name)
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
	if err := precondition("service", name, before.Revision, ifRevision); err != nil {
		return err
	}
	if len(before.Dependents) > 0 {
		return errs.Conflictf("service %q is a dependency of %s; remove those dependencies first", name, strings.Join(before.Dependents, ", "))
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM services WHERE id = $1`, before.ID); err != nil {
		if db.IsForeignKeyViolation(err) {
			return errs.Conflictf("service %q still has health checks; delete them first", name)
		}
		return fmt.Errorf("delete service: %w", err)
	}
	return c.record(ctx, tx, "delete", "service", before.ID, name, auditView(before), nil)
}

// auditView is what the audit log keeps of a service: without the
// dependents, which change when other services change, not this one.
func auditView(s Service) Service {
	s.Dependents = nil
	return s
}

// Summary counts what the catalog holds, for the home page.
type Summary struct {
	Teams, Users, Environments, Services, Tools int
	ByLifecycle                                 map[string]int
	Unowned                                     int // services whose team has no members
	NoRunbook                                   int // production services without a runbook
}

// Summarize returns the catalog's counts.
func (c *Catalog) Summarize(ctx context.Context) (Summary, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return Summary{}, err
	}
	q := c.db.Reader()
	sum := Summary{ByLifecycle: map[string]int{}}
	for _, x := range []struct {
		dst   *int
		query string
	}{
		{&sum.Teams, `SELECT count(*) FROM teams`},
		{&sum.Users, `SELECT count(*) FROM users`},
		{&sum.Environments, `SELECT count(*) FROM environments`},
		{&sum.Services, `SELECT count(*) FROM services`},
		{&sum.Tools, `SELECT count(*) FROM tools`},
		{&sum.Unowned, `SELECT count(*) FROM services s WHERE NOT EXISTS (SELECT 1 FROM team_members m WHERE m.team_id = s.owner_team_id)`},
		{&sum.NoRunbook, `SELECT count(*) FROM services WHERE lifecycle = 'production' AND runbook_url = ''`},
	} {
		if err := q.QueryRowContext(ctx, x.query).Scan(x.dst); err != nil {
			return sum, fmt.Errorf("summarize: %w", err)
		}
	}
	rows, err := q.QueryContext(ctx, `SELECT lifecycle, count(*) FROM services GROUP BY lifecycle`)
	if err != nil {
		return sum, fmt.Errorf("summarize: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var l string
		var n int
		if err := rows.Scan(&l, &n); err != nil {
			return sum, err
		}
		sum.ByLifecycle[l] = n
	}
	return sum, rows.Err()
}

// ServiceRef returns the id and owning team of the service called name and
// the environments it runs in, or an Invalid error naming field when it
// does not exist. Other domains use it to attach their objects to services.
func (c *Catalog) ServiceRef(ctx context.Context, q db.Querier, field, name string) (id, owner uuid.UUID, environments []string, err error) {
	err = q.QueryRowContext(ctx, `SELECT id, owner_team_id FROM services WHERE name = $1`, name).Scan(&id, &owner)
	if db.IsNoRows(err) {
		return id, owner, nil, errs.Invalidf(field, "service %q does not exist", name)
	}
	if err != nil {
		return id, owner, nil, fmt.Errorf("service %s: %w", name, err)
	}
	environments, err = namesOf(ctx, q, `SELECT e.name FROM service_environments se JOIN environments e ON e.id = se.environment_id WHERE se.service_id = $1 ORDER BY e.name`, id)
	return id, owner, environments, err
}
