package alert

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/alert/matcher"
	"groundcrew.dev/groundcrew/internal/alert/route"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/names"
)

// RouteSpec is one route of the routing tree as people write it (YAML,
// API): Alertmanager-syntax matchers, an optional CEL condition, group
// settings as Go durations ("30s", "5m", "4h"), and where alerts go.
// Unset settings are inherited from the parent route.
type RouteSpec struct {
	Matchers         []string    `json:"matchers,omitempty" doc:"Alertmanager syntax, one each: severity=\"critical\", service=~\"pay.*\""`
	Condition        string      `json:"condition,omitempty" doc:"optional CEL over labels, severity and service"`
	Continue         bool        `json:"continue,omitempty" doc:"keep looking at the next routes after this one matched"`
	GroupBy          []string    `json:"group_by,omitempty" doc:"labels that split alerts into groups; [\"...\"] for every label"`
	GroupWait        string      `json:"group_wait,omitempty" doc:"wait before a new group's first notification (default 30s)"`
	GroupInterval    string      `json:"group_interval,omitempty" doc:"wait between notifications of a changing group (default 5m)"`
	RepeatInterval   string      `json:"repeat_interval,omitempty" doc:"repeat an unchanged firing group after (default 4h)"`
	ActiveIntervals  []string    `json:"active_intervals,omitempty" doc:"time intervals (by name) outside which notifications wait"`
	MuteIntervals    []string    `json:"mute_intervals,omitempty" doc:"time intervals (by name) during which notifications wait"`
	Receivers        []string    `json:"receivers,omitempty" doc:"notification receivers (kind Receiver)"`
	Team             string      `json:"team,omitempty"`
	Service          string      `json:"service,omitempty"`
	EscalationPolicy string      `json:"escalation_policy,omitempty"`
	Routes           []RouteSpec `json:"routes,omitempty"`
}

// RouteDocSpec is the spec of an AlertRoute document: a top-level route of
// the tree, its position among the others, and time intervals its routes
// may name.
type RouteDocSpec struct {
	// Position orders the top-level routes (then their names): the first
	// that matches ends the search unless it has continue.
	Position int `json:"position,omitempty"`
	RouteSpec
	TimeIntervals []route.Interval `json:"time_intervals,omitempty"`
}

// Route is an AlertRoute: one top-level route of the routing tree.
type Route struct {
	ID        uuid.UUID         `json:"id"`
	Name      string            `json:"name"`
	Labels    map[string]string `json:"labels,omitempty"`
	Spec      RouteDocSpec      `json:"spec"`
	Origin    string            `json:"origin,omitempty"`
	Revision  int64             `json:"revision"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// RouteInput creates or replaces a route.
type RouteInput struct {
	Name   string            `json:"name,omitempty" doc:"required on create; fixed afterwards"`
	Labels map[string]string `json:"labels,omitempty"`
	Spec   RouteDocSpec      `json:"spec"`
}

// InhibitRule is an inhibition rule: while an alert matching the source
// matchers fires, alerts matching the target matchers that have the same
// values of the equal labels are not notified.
type InhibitRule struct {
	ID        uuid.UUID         `json:"id"`
	Name      string            `json:"name"`
	Labels    map[string]string `json:"labels,omitempty"`
	Spec      route.InhibitRule `json:"spec"`
	Origin    string            `json:"origin,omitempty"`
	Revision  int64             `json:"revision"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// DefaultGroupBy is what the root route groups by.
var DefaultGroupBy = []string{"alertname", "service"}

// toRoute converts a spec to the routing core's route, naming bad fields.
func (s *RouteSpec) toRoute(name, path string) (*route.Route, error) {
	r := &route.Route{Name: name, Matchers: s.Matchers, Condition: s.Condition, Continue: s.Continue, GroupBy: s.GroupBy,
		ActiveIntervals: s.ActiveIntervals, MuteIntervals: s.MuteIntervals, Receivers: s.Receivers, Team: s.Team,
		Service: s.Service, EscalationPolicy: s.EscalationPolicy}
	for _, d := range []struct {
		field string
		s     string
		to    *time.Duration
	}{{"group_wait", s.GroupWait, &r.GroupWait}, {"group_interval", s.GroupInterval, &r.GroupInterval}, {"repeat_interval", s.RepeatInterval, &r.RepeatInterval}} {
		if d.s == "" {
			continue
		}
		v, err := time.ParseDuration(d.s)
		if err != nil || v <= 0 || v > 7*24*time.Hour {
			return nil, errs.Invalidf(joinField(path, d.field), "%q is not a duration between 1s and 168h (e.g. 30s, 5m)", d.s)
		}
		*d.to = v
	}
	for i, rcv := range s.Receivers {
		if err := names.Check(joinField(path, fmt.Sprintf("receivers[%d]", i)), rcv); err != nil {
			return nil, err
		}
	}
	for i := range s.Routes {
		child, err := s.Routes[i].toRoute("", joinField(path, fmt.Sprintf("routes[%d]", i)))
		if err != nil {
			return nil, err
		}
		r.Routes = append(r.Routes, child)
	}
	return r, nil
}

func joinField(path, f string) string {
	if path == "" {
		return f
	}
	return path + "." + f
}

// buildTree compiles the routing tree of routes (in order): an implicit
// root grouping by DefaultGroupBy, with each route a child of it.
func buildTree(routes []Route) (*route.Tree, error) {
	root := &route.Route{GroupBy: DefaultGroupBy}
	var intervals []route.Interval
	for i := range routes {
		r, err := routes[i].Spec.RouteSpec.toRoute(routes[i].Name, "")
		if err != nil {
			return nil, fmt.Errorf("route %s: %w", routes[i].Name, err)
		}
		root.Routes = append(root.Routes, r)
		intervals = append(intervals, routes[i].Spec.TimeIntervals...)
	}
	t, err := route.New(root, intervals)
	if err != nil {
		// Field paths are the root's ("routes[2].matchers[0]"): say which
		// document that is.
		f := errs.FieldOf(err)
		var i int
		if _, scanErr := fmt.Sscanf(f, "routes[%d]", &i); scanErr == nil && i < len(routes) {
			rest := strings.TrimPrefix(f[strings.Index(f, "]")+1:], ".")
			return nil, errs.Invalidf(joinField("spec", rest), "route %s: %s", routes[i].Name, errs.MessageOf(err))
		}
		return nil, err
	}
	return t, nil
}

// Tree returns the routing tree compiled from the stored routes.
func (s *Service) Tree(ctx context.Context) (*route.Tree, error) {
	routes, err := listRoutes(ctx, s.db.Reader())
	if err != nil {
		return nil, err
	}
	return buildTree(routes)
}

// RouteTest is the answer to "where would an alert with these labels go".
type RouteTest struct {
	Matches []RouteMatch `json:"matches"`
	Trace   string       `json:"trace" doc:"every route looked at, and why it matched or not"`
}

// RouteMatch is one route an alert ends at.
type RouteMatch struct {
	Route          string   `json:"route"`
	Receivers      []string `json:"receivers"`
	GroupKey       string   `json:"group_key"`
	GroupBy        []string `json:"group_by"`
	GroupWait      string   `json:"group_wait"`
	GroupInterval  string   `json:"group_interval"`
	RepeatInterval string   `json:"repeat_interval"`
	Muted          string   `json:"muted,omitempty" doc:"why notifications wait now (a time interval)"`
	Silenced       []string `json:"silenced_by,omitempty" doc:"silences that mute the alert now"`
	Explanation    string   `json:"explanation"`
}

// TestRoute says which routes an alert with labels ends at now and why,
// and which silences would mute it.
func (s *Service) TestRoute(ctx context.Context, labels map[string]string) (RouteTest, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return RouteTest{}, err
	}
	if err := checkLabelSet("labels", labels, 4096); err != nil {
		return RouteTest{}, err
	}
	if len(labels) == 0 {
		return RouteTest{}, errs.Invalidf("labels", "at least one label is required")
	}
	tree, err := s.Tree(ctx)
	if err != nil {
		return RouteTest{}, err
	}
	now := s.clock.Now()
	sil, err := loadSilences(ctx, s.db.Reader(), now)
	if err != nil {
		return RouteTest{}, err
	}
	ms, trail := tree.Trace(labels, now)
	out := RouteTest{Trace: route.ExplainSteps(trail)}
	for _, m := range ms {
		rm := RouteMatch{Route: m.Node.Label(), Receivers: m.Node.Receivers, GroupKey: route.GroupKey(m.Node, labels),
			GroupBy: m.Node.GroupBy, GroupWait: m.Node.GroupWait.String(), GroupInterval: m.Node.GroupInterval.String(),
			RepeatInterval: m.Node.RepeatInterval.String(), Silenced: sil.MutedBy(labels, now), Explanation: m.Explain()}
		if m.Node.GroupByAll {
			rm.GroupBy = []string{route.GroupByAll}
		}
		if m.Muted {
			rm.Muted = m.MutedBy
		}
		out.Matches = append(out.Matches, rm)
	}
	return out, nil
}

// ---- routes: storage and operations ----

const routeColumns = `id, name, position, spec, labels, origin, revision, created_at, updated_at`

func scanRoute(sc interface{ Scan(...any) error }) (Route, error) {
	var r Route
	var pos int
	var spec, labels string
	if err := sc.Scan(&r.ID, &r.Name, &pos, &spec, &labels, &r.Origin, &r.Revision, &r.CreatedAt, &r.UpdatedAt); err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(spec), &r.Spec); err != nil {
		return r, fmt.Errorf("route %s: %w", r.Name, err)
	}
	if err := json.Unmarshal([]byte(labels), &r.Labels); err != nil {
		return r, fmt.Errorf("route %s labels: %w", r.Name, err)
	}
	if len(r.Labels) == 0 {
		r.Labels = nil
	}
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return r, nil
}

func listRoutes(ctx context.Context, q db.Querier) ([]Route, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+routeColumns+` FROM alert_routes ORDER BY position, name`)
	if err != nil {
		return nil, fmt.Errorf("list alert routes: %w", err)
	}
	defer rows.Close()
	var out []Route
	for rows.Next() {
		r, err := scanRoute(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ListRoutes returns the routes in tree order.
func (s *Service) ListRoutes(ctx context.Context) ([]Route, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return nil, err
	}
	return listRoutes(ctx, s.db.Reader())
}

// GetRoute returns one route.
func (s *Service) GetRoute(ctx context.Context, name string) (Route, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return Route{}, err
	}
	r, err := scanRoute(s.db.Reader().QueryRowContext(ctx, `SELECT `+routeColumns+` FROM alert_routes WHERE name = $1`, name))
	if db.IsNoRows(err) {
		return r, errs.NotFoundf("no alert route %q", name)
	}
	return r, err
}

// PutRouteTx creates or replaces a route in tx (operators and admins: a
// route decides where every team's alerts go). The whole tree with the
// change must compile. ifRevision, if not zero, must be the stored
// revision; mustCreate refuses to replace.
func (s *Service) PutRouteTx(ctx context.Context, tx *sql.Tx, in RouteInput, origin string, ifRevision int64, mustCreate bool) (Route, bool, error) {
	if err := identity.Authorize(ctx, identity.PermWriteCatalog, uuid.Nil); err != nil {
		return Route{}, false, err
	}
	if err := names.Check("name", in.Name); err != nil {
		return Route{}, false, err
	}
	if err := identity.CheckLabels("labels", in.Labels); err != nil {
		return Route{}, false, err
	}
	routes, err := listRoutes(ctx, tx)
	if err != nil {
		return Route{}, false, err
	}
	now := s.clock.Now()
	r := Route{Name: in.Name, Labels: emptyNilMap(in.Labels), Spec: in.Spec}
	i := slices.IndexFunc(routes, func(x Route) bool { return x.Name == in.Name })
	var before *Route
	if i >= 0 {
		b := routes[i]
		before = &b
		routes = slices.Delete(routes, i, i+1)
	}
	routes = append(routes, r)
	slices.SortStableFunc(routes, func(a, b Route) int {
		if a.Spec.Position != b.Spec.Position {
			return a.Spec.Position - b.Spec.Position
		}
		return strings.Compare(a.Name, b.Name)
	})
	if _, err := buildTree(routes); err != nil {
		return Route{}, false, err
	}
	spec, _ := json.Marshal(r.Spec)
	labels, _ := json.Marshal(r.Labels)
	switch {
	case before == nil:
		r.ID, r.Revision, r.CreatedAt, r.UpdatedAt, r.Origin = db.NewID(), 1, now, now, origin
		if _, err := tx.ExecContext(ctx, `INSERT INTO alert_routes (`+routeColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			r.ID, r.Name, r.Spec.Position, string(spec), string(labels), r.Origin, r.Revision, now, now); err != nil {
			return r, false, fmt.Errorf("create alert route: %w", err)
		}
		return r, true, s.record(ctx, tx, "create", "alert-route", r.ID.String(), r.Name, nil, r)
	case mustCreate:
		return r, false, errs.Conflictf("alert route %q already exists", in.Name)
	case ifRevision != 0 && ifRevision != before.Revision:
		return r, false, errs.Preconditionf("alert route %q was changed by someone else (revision %d, you have %d); reload and retry", in.Name, before.Revision, ifRevision)
	}
	r.ID, r.CreatedAt, r.Origin = before.ID, before.CreatedAt, before.Origin
	if reflect.DeepEqual(before.Spec, r.Spec) && maps.Equal(before.Labels, r.Labels) {
		return *before, false, nil
	}
	r.Revision, r.UpdatedAt = before.Revision+1, now
	if _, err := tx.ExecContext(ctx, `UPDATE alert_routes SET position = $2, spec = $3, labels = $4, revision = $5, updated_at = $6 WHERE id = $1`,
		r.ID, r.Spec.Position, string(spec), string(labels), r.Revision, now); err != nil {
		return r, false, fmt.Errorf("update alert route: %w", err)
	}
	return r, true, s.record(ctx, tx, "update", "alert-route", r.ID.String(), r.Name, *before, r)
}

// PutRoute is PutRouteTx in a transaction of its own.
func (s *Service) PutRoute(ctx context.Context, in RouteInput, ifRevision int64, mustCreate bool) (r Route, err error) {
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		r, _, err = s.PutRouteTx(ctx, tx, in, "", ifRevision, mustCreate)
		return err
	})
	return r, err
}

// DeleteRouteTx deletes a route in tx.
func (s *Service) DeleteRouteTx(ctx context.Context, tx *sql.Tx, name string, ifRevision int64) error {
	if err := identity.Authorize(ctx, identity.PermWriteCatalog, uuid.Nil); err != nil {
		return err
	}
	r, err := scanRoute(tx.QueryRowContext(ctx, `SELECT `+routeColumns+` FROM alert_routes WHERE name = $1`, name))
	if db.IsNoRows(err) {
		return errs.NotFoundf("no alert route %q", name)
	}
	if err != nil {
		return err
	}
	if ifRevision != 0 && ifRevision != r.Revision {
		return errs.Preconditionf("alert route %q was changed by someone else (revision %d, you have %d)", name, r.Revision, ifRevision)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM alert_routes WHERE id = $1`, r.ID); err != nil {
		return fmt.Errorf("delete alert route: %w", err)
	}
	return s.record(ctx, tx, "delete", "alert-route", r.ID.String(), r.Name, r, nil)
}

// DeleteRoute is DeleteRouteTx in a transaction of its own.
func (s *Service) DeleteRoute(ctx context.Context, name string, ifRevision int64) error {
	return s.db.InTx(ctx, func(tx *sql.Tx) error { return s.DeleteRouteTx(ctx, tx, name, ifRevision) })
}

// ---- inhibition rules ----

const ruleColumns = `id, name, spec, labels, origin, revision, created_at, updated_at`

func scanRule(sc interface{ Scan(...any) error }) (InhibitRule, error) {
	var r InhibitRule
	var spec, labels string
	if err := sc.Scan(&r.ID, &r.Name, &spec, &labels, &r.Origin, &r.Revision, &r.CreatedAt, &r.UpdatedAt); err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(spec), &r.Spec); err != nil {
		return r, fmt.Errorf("inhibit rule %s: %w", r.Name, err)
	}
	_ = json.Unmarshal([]byte(labels), &r.Labels)
	if len(r.Labels) == 0 {
		r.Labels = nil
	}
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return r, nil
}

func listInhibitRules(ctx context.Context, q db.Querier) ([]InhibitRule, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+ruleColumns+` FROM alert_inhibit_rules ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list inhibit rules: %w", err)
	}
	defer rows.Close()
	var out []InhibitRule
	for rows.Next() {
		r, err := scanRule(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func loadInhibitRules(ctx context.Context, q db.Querier) ([]route.InhibitRule, error) {
	all, err := listInhibitRules(ctx, q)
	out := make([]route.InhibitRule, len(all))
	for i, r := range all {
		out[i] = r.Spec
	}
	return out, err
}

// ListInhibitRules returns the inhibition rules by name.
func (s *Service) ListInhibitRules(ctx context.Context) ([]InhibitRule, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return nil, err
	}
	return listInhibitRules(ctx, s.db.Reader())
}

// PutInhibitRuleTx creates or replaces an inhibition rule in tx
// (operators and admins).
func (s *Service) PutInhibitRuleTx(ctx context.Context, tx *sql.Tx, name string, labels map[string]string, spec route.InhibitRule, origin string) (InhibitRule, bool, error) {
	if err := identity.Authorize(ctx, identity.PermWriteCatalog, uuid.Nil); err != nil {
		return InhibitRule{}, false, err
	}
	if err := names.Check("name", name); err != nil {
		return InhibitRule{}, false, err
	}
	if err := spec.Validate(); err != nil {
		return InhibitRule{}, false, errs.WithField("spec", err)
	}
	now := s.clock.Now()
	r := InhibitRule{Name: name, Labels: emptyNilMap(labels), Spec: spec}
	before, err := scanRule(tx.QueryRowContext(ctx, `SELECT `+ruleColumns+` FROM alert_inhibit_rules WHERE name = $1`, name))
	js, _ := json.Marshal(spec)
	lb, _ := json.Marshal(r.Labels)
	switch {
	case db.IsNoRows(err):
		r.ID, r.Revision, r.CreatedAt, r.UpdatedAt, r.Origin = db.NewID(), 1, now, now, origin
		if _, err := tx.ExecContext(ctx, `INSERT INTO alert_inhibit_rules (`+ruleColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			r.ID, r.Name, string(js), string(lb), r.Origin, 1, now, now); err != nil {
			return r, false, fmt.Errorf("create inhibit rule: %w", err)
		}
		return r, true, s.record(ctx, tx, "create", "inhibit-rule", r.ID.String(), name, nil, r)
	case err != nil:
		return r, false, err
	}
	r.ID, r.CreatedAt, r.Origin = before.ID, before.CreatedAt, before.Origin
	if reflect.DeepEqual(matchersText(before.Spec), matchersText(spec)) && maps.Equal(before.Labels, r.Labels) {
		return before, false, nil
	}
	r.Revision, r.UpdatedAt = before.Revision+1, now
	if _, err := tx.ExecContext(ctx, `UPDATE alert_inhibit_rules SET spec = $2, labels = $3, revision = $4, updated_at = $5 WHERE id = $1`,
		r.ID, string(js), string(lb), r.Revision, now); err != nil {
		return r, false, fmt.Errorf("update inhibit rule: %w", err)
	}
	return r, true, s.record(ctx, tx, "update", "inhibit-rule", r.ID.String(), name, before, r)
}

func matchersText(r route.InhibitRule) string {
	b, _ := json.Marshal(r)
	return string(b)
}

// DeleteInhibitRuleTx deletes an inhibition rule in tx.
func (s *Service) DeleteInhibitRuleTx(ctx context.Context, tx *sql.Tx, name string) error {
	if err := identity.Authorize(ctx, identity.PermWriteCatalog, uuid.Nil); err != nil {
		return err
	}
	var id uuid.UUID
	err := tx.QueryRowContext(ctx, `DELETE FROM alert_inhibit_rules WHERE name = $1 RETURNING id`, name).Scan(&id)
	if db.IsNoRows(err) {
		return errs.NotFoundf("no inhibit rule %q", name)
	}
	if err != nil {
		return fmt.Errorf("delete inhibit rule: %w", err)
	}
	return s.record(ctx, tx, "delete", "inhibit-rule", id.String(), name, nil, nil)
}

// ---- silences ----

// Silence mutes matching alerts for a while.
type Silence struct {
	ID        uuid.UUID `json:"id"`
	Matchers  []string  `json:"matchers"`
	StartsAt  time.Time `json:"starts_at"`
	EndsAt    time.Time `json:"ends_at"`
	CreatedBy string    `json:"created_by"`
	Comment   string    `json:"comment"`
	Status    string    `json:"status" enum:"pending,active,expired"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// SilenceInput creates a silence. StartsAt zero means now.
type SilenceInput struct {
	Matchers []string  `json:"matchers" doc:"Alertmanager syntax, one each; all must match"`
	StartsAt time.Time `json:"starts_at,omitzero"`
	EndsAt   time.Time `json:"ends_at"`
	Comment  string    `json:"comment" doc:"why: required"`
}

// MaxSilence bounds how long a silence may last.
const MaxSilence = 90 * 24 * time.Hour

func (in SilenceInput) toCore(createdBy string, now time.Time) (route.Silence, error) {
	s := route.Silence{StartsAt: in.StartsAt, EndsAt: in.EndsAt, CreatedBy: createdBy, Comment: strings.TrimSpace(in.Comment)}
	if s.StartsAt.IsZero() {
		s.StartsAt = now
	}
	for i, m := range in.Matchers {
		pm, err := matcher.Parse(m)
		if err != nil {
			return s, errs.WithField(fmt.Sprintf("matchers[%d]", i), err)
		}
		s.Matchers = append(s.Matchers, pm)
	}
	if err := s.Validate(); err != nil {
		return s, err
	}
	if !s.EndsAt.After(now) {
		return s, errs.Invalidf("ends_at", "must be in the future")
	}
	if s.EndsAt.Sub(s.StartsAt) > MaxSilence {
		return s, errs.Invalidf("ends_at", "a silence lasts at most %s", MaxSilence)
	}
	if len(s.Comment) > 1000 {
		return s, errs.Invalidf("comment", "at most 1000 characters")
	}
	return s, nil
}

// CreateSilence creates a silence. Operators and admins may silence
// anything; members only alerts of services their teams own, pinned with
// an equality matcher on service (service="payments-api").
func (s *Service) CreateSilence(ctx context.Context, in SilenceInput) (Silence, error) {
	if err := identity.AuthorizeWriter(ctx); err != nil {
		return Silence{}, err
	}
	a := identity.ActorFrom(ctx)
	now := s.clock.Now()
	core, err := in.toCore(a.Name, now)
	if err != nil {
		return Silence{}, err
	}
	out := Silence{ID: db.NewID(), StartsAt: core.StartsAt.UTC(), EndsAt: core.EndsAt.UTC(), CreatedBy: a.Name, Comment: core.Comment, CreatedAt: now, UpdatedAt: now}
	for _, m := range core.Matchers {
		out.Matchers = append(out.Matchers, m.String())
	}
	out.Status = silenceStatus(out, now)
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := s.authorizeSilence(ctx, tx, core.Matchers); err != nil {
			return err
		}
		ms, _ := json.Marshal(out.Matchers)
		if _, err := tx.ExecContext(ctx, `INSERT INTO alert_silences (id, matchers, starts_at, ends_at, created_by, comment, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`, out.ID, string(ms), out.StartsAt, out.EndsAt, out.CreatedBy, out.Comment, now); err != nil {
			return fmt.Errorf("create silence: %w", err)
		}
		return s.record(ctx, tx, "create", "silence", out.ID.String(), strings.Join(out.Matchers, ","), nil, out)
	})
	return out, err
}

func (s *Service) authorizeSilence(ctx context.Context, tx *sql.Tx, ms matcher.Matchers) error {
	if identity.Authorize(ctx, identity.PermWriteCatalog, uuid.Nil) == nil {
		return nil
	}
	for _, m := range ms {
		if m.Name == "service" && m.Type == matcher.Equal {
			_, owner, _, err := s.cat.ServiceRef(ctx, tx, "matchers", m.Value)
			if err != nil {
				return err
			}
			return identity.Authorize(ctx, identity.PermWriteOwned, owner)
		}
	}
	return errs.Forbiddenf(`members may silence only their teams' services: add a matcher service="<your service>"`)
}

// ExpireSilence ends a silence now.
func (s *Service) ExpireSilence(ctx context.Context, id uuid.UUID) error {
	if err := identity.AuthorizeWriter(ctx); err != nil {
		return err
	}
	now := s.clock.Now()
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		sil, err := scanSilence(tx.QueryRowContext(ctx, `SELECT `+silenceColumns+` FROM alert_silences WHERE id = $1`, id), now)
		if db.IsNoRows(err) {
			return errs.NotFoundf("no silence %s", id)
		}
		if err != nil {
			return err
		}
		if sil.Status == "expired" {
			return errs.Conflictf("silence %s has already ended", id)
		}
		var ms matcher.Matchers
		for _, m := range sil.Matchers {
			pm, err := matcher.Parse(m)
			if err != nil {
				return err
			}
			ms = append(ms, pm)
		}
		if err := s.authorizeSilence(ctx, tx, ms); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE alert_silences SET ends_at = $2, updated_at = $2 WHERE id = $1`, id, now); err != nil {
			return fmt.Errorf("expire silence: %w", err)
		}
		return s.record(ctx, tx, "expire", "silence", id.String(), strings.Join(sil.Matchers, ","), sil, nil)
	})
}

const silenceColumns = `id, matchers, starts_at, ends_at, created_by, comment, created_at, updated_at`

func scanSilence(sc interface{ Scan(...any) error }, now time.Time) (Silence, error) {
	var s Silence
	var ms string
	if err := sc.Scan(&s.ID, &ms, &s.StartsAt, &s.EndsAt, &s.CreatedBy, &s.Comment, &s.CreatedAt, &s.UpdatedAt); err != nil {
		return s, err
	}
	if err := json.Unmarshal([]byte(ms), &s.Matchers); err != nil {
		return s, fmt.Errorf("silence %s: %w", s.ID, err)
	}
	s.StartsAt, s.EndsAt, s.CreatedAt, s.UpdatedAt = s.StartsAt.UTC(), s.EndsAt.UTC(), s.CreatedAt.UTC(), s.UpdatedAt.UTC()
	s.Status = silenceStatus(s, now)
	return s, nil
}

func silenceStatus(s Silence, now time.Time) string {
	switch {
	case now.Before(s.StartsAt):
		return "pending"
	case now.Before(s.EndsAt):
		return "active"
	}
	return "expired"
}

// ListSilences returns the silences, newest first: with all, the expired
// ones too (of the last 30 days).
func (s *Service) ListSilences(ctx context.Context, all bool) ([]Silence, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	since := now
	if all {
		since = now.Add(-30 * 24 * time.Hour)
	}
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT `+silenceColumns+` FROM alert_silences WHERE ends_at > $1 ORDER BY created_at DESC, id DESC LIMIT 1000`, since)
	if err != nil {
		return nil, fmt.Errorf("list silences: %w", err)
	}
	defer rows.Close()
	var out []Silence
	for rows.Next() {
		sil, err := scanSilence(rows, now)
		if err != nil {
			return nil, err
		}
		out = append(out, sil)
	}
	return out, rows.Err()
}

// loadSilences returns the silences in force now or later.
func loadSilences(ctx context.Context, q db.Querier, now time.Time) (route.Silences, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+silenceColumns+` FROM alert_silences WHERE ends_at > $1`, now)
	if err != nil {
		return nil, fmt.Errorf("load silences: %w", err)
	}
	defer rows.Close()
	var out route.Silences
	for rows.Next() {
		sil, err := scanSilence(rows, now)
		if err != nil {
			return nil, err
		}
		core := route.Silence{ID: sil.ID.String(), StartsAt: sil.StartsAt, EndsAt: sil.EndsAt, CreatedBy: sil.CreatedBy, Comment: sil.Comment}
		for _, m := range sil.Matchers {
			pm, err := matcher.Parse(m)
			if err != nil {
				return nil, fmt.Errorf("silence %s: %w", sil.ID, err)
			}
			core.Matchers = append(core.Matchers, pm)
		}
		out = append(out, core)
	}
	return out, rows.Err()
}

// PreviewSilence returns the firing alerts a silence with these matchers
// would mute.
func (s *Service) PreviewSilence(ctx context.Context, matchers []string) ([]Alert, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return nil, err
	}
	var ms matcher.Matchers
	for i, m := range matchers {
		pm, err := matcher.Parse(m)
		if err != nil {
			return nil, errs.WithField(fmt.Sprintf("matchers[%d]", i), err)
		}
		ms = append(ms, pm)
	}
	if len(ms) == 0 {
		return nil, errs.Invalidf("matchers", "at least one matcher is required")
	}
	var out []Alert
	after := ""
	for range 100 {
		page, next, err := listAlerts(ctx, s.db.Reader(), Filter{Status: Firing, After: after, Limit: 500})
		if err != nil {
			return nil, err
		}
		for _, a := range page {
			if ms.Matches(a.Labels) {
				out = append(out, a)
			}
		}
		if next == "" {
			break
		}
		after = next
	}
	return out, nil
}

// configSignature changes whenever routes, rules or silences change.
func configSignature(ctx context.Context, q db.Querier) (string, error) {
	var sig string
	for _, t := range []string{"alert_routes", "alert_inhibit_rules", "alert_silences"} {
		var n int
		var latest any
		if err := q.QueryRowContext(ctx, `SELECT count(*), max(updated_at) FROM `+t).Scan(&n, &latest); err != nil {
			return "", fmt.Errorf("alert configuration signature: %w", err)
		}
		sig += fmt.Sprintf("%d/%v;", n, latest)
	}
	return sig, nil
}

func emptyNilMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}
