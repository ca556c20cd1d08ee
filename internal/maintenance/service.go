package maintenance

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/audit"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
)

// Catalog resolves the catalog objects a window names; catalog.Catalog
// implements it.
type Catalog interface {
	// ServiceRef returns the id and owning team of a service and the
	// environments it runs in, or an Invalid error naming field.
	ServiceRef(ctx context.Context, q db.Querier, field, name string) (id, owner uuid.UUID, environments []string, err error)
	// EnvironmentID returns an environment's id, or an Invalid error naming field.
	EnvironmentID(ctx context.Context, q db.Querier, field, name string) (uuid.UUID, error)
}

// MaxRange bounds the span Occurrences and Upcoming look at.
const MaxRange = 400 * 24 * time.Hour

// Options configure the Service. The zero value is a safe default.
type Options struct {
	Logger *slog.Logger
	// Changed is called after a transaction that created, changed or
	// deleted windows commits (the Cache reloads). It must not block.
	Changed func()
}

// Service manages maintenance windows. Safe for concurrent use.
//
// Who may write a window: operators and admins any; members a window that
// names only services their teams own (it may narrow them to some
// environments). A window naming no service mutes every service, so only
// operators and admins may write one. Changing or deleting a window needs
// the same right over the window as it is and as it will be.
type Service struct {
	db    *db.DB
	clock clock.Clock
	cat   Catalog
	opts  Options
	log   *slog.Logger
}

// NewService returns a maintenance window service.
func NewService(d *db.DB, c clock.Clock, cat Catalog, opts Options) *Service {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Changed == nil {
		opts.Changed = func() {}
	}
	return &Service{db: d, clock: c, cat: cat, opts: opts, log: log}
}

// SetChanged sets the function called after windows change (the Cache's
// Changed); call it before serving.
func (s *Service) SetChanged(f func()) { s.opts.Changed = f }

// Changed tells the Cache that windows changed; apply calls it after its
// transaction commits.
func (s *Service) Changed() { s.opts.Changed() }

// Get returns the window called name.
func (s *Service) Get(ctx context.Context, name string) (Window, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return Window{}, err
	}
	w, err := getWindow(ctx, s.db.Reader(), name)
	if err != nil {
		return w, err
	}
	return s.withStatus(w), nil
}

// Filter narrows a list of windows.
type Filter struct {
	Query       string // case-insensitive substring of the name or description
	Service     string // only windows that mute this service (naming it or every service)
	Environment string // only windows that mute this environment
	Active      bool   // only windows in effect now
	After       string // cursor: names after this one
	Limit       int    // default 100, at most 1000
}

// List returns windows by name; next is the cursor of the next page or "".
func (s *Service) List(ctx context.Context, f Filter) (out []Window, next string, err error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return nil, "", err
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, 1000)
	q := strings.ToLower(f.Query)
	now := s.clock.Now()
	err = scanWindows(ctx, s.db.Reader(), f.After, func(w Window) bool {
		if q != "" && !strings.Contains(w.Name, q) && !strings.Contains(strings.ToLower(w.Description), q) {
			return true
		}
		c, err := s.compiled(w)
		if err != nil {
			return true
		}
		if f.Service != "" && len(c.Services) > 0 && !slices.Contains(c.Services, f.Service) ||
			f.Environment != "" && len(c.Environments) > 0 && !slices.Contains(c.Environments, f.Environment) ||
			f.Active && !c.ActiveAt(now) {
			return true
		}
		if len(out) == f.Limit {
			next = out[len(out)-1].Name
			return false
		}
		out = append(out, withStatus(w, c, now))
		return true
	})
	if err != nil {
		return nil, "", err
	}
	if out == nil {
		out = []Window{}
	}
	return out, next, nil
}

// compiled compiles a stored window, logging one that no longer compiles
// (its time zone left the zone database).
func (s *Service) compiled(w Window) (Compiled, error) {
	c, err := w.Spec.compile(w.Name)
	if err != nil {
		s.log.Error("maintenance window does not compile; ignored", "window", w.Name, "err", err)
	}
	return c, err
}

// withStatus fills the read-only fields of w as of now.
func (s *Service) withStatus(w Window) Window {
	c, err := s.compiled(w)
	if err != nil {
		return w
	}
	return withStatus(w, c, s.clock.Now())
}

func withStatus(w Window, c Compiled, now time.Time) Window {
	w.Active, w.Next = c.ActiveAt(now), c.next(now)
	return w
}

// Occurrences returns the occurrences of the window called name that
// overlap [from, to): by default from now for 30 days, at most 400 days.
func (s *Service) Occurrences(ctx context.Context, name string, from, to time.Time) ([]Interval, error) {
	w, err := s.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	if from, to, err = s.span(from, to); err != nil {
		return nil, err
	}
	c, err := s.compiled(w)
	if err != nil {
		return nil, err
	}
	out := c.Occurrences(from, to)
	if out == nil {
		out = []Interval{}
	}
	return out, nil
}

// span applies the defaults and bounds of a [from, to) query.
func (s *Service) span(from, to time.Time) (time.Time, time.Time, error) {
	if from.IsZero() {
		from = s.clock.Now()
	}
	if to.IsZero() {
		to = from.Add(30 * 24 * time.Hour)
	}
	switch {
	case !to.After(from):
		return from, to, errs.Invalidf("to", "must be after from")
	case to.Sub(from) > MaxRange:
		return from, to, errs.Invalidf("to", "must be at most 400 days after from")
	}
	return from, to, nil
}

// Upcoming returns the occurrences overlapping [from, to) — those in
// effect at from included — of the windows that mute any of services
// (windows naming every service included; no services: every window), by
// start and then window name. Public status pages call it as
// identity.System(): it reveals only what a page announces anyway.
func (s *Service) Upcoming(ctx context.Context, services []string, from, to time.Time) ([]Occurrence, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return nil, err
	}
	from, to, err := s.span(from, to)
	if err != nil {
		return nil, err
	}
	out := []Occurrence{}
	err = scanWindows(ctx, s.db.Reader(), "", func(w Window) bool {
		c, err := s.compiled(w)
		if err != nil {
			return true
		}
		if len(services) > 0 && len(c.Services) > 0 && !slices.ContainsFunc(services, func(name string) bool { return slices.Contains(c.Services, name) }) {
			return true
		}
		for _, iv := range c.Occurrences(from, to) {
			out = append(out, Occurrence{Window: c.Name, Description: c.Description, Services: c.Services, Environments: c.Environments,
				Start: iv.Start, End: iv.End})
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b Occurrence) int { return a.Start.Compare(b.Start) })
	return out, nil
}

// Create creates a window.
func (s *Service) Create(ctx context.Context, in Input) (Window, error) {
	return s.put(ctx, in, 0, true)
}

// Update replaces the window called name; ifRevision, when not zero, must
// match.
func (s *Service) Update(ctx context.Context, name string, in Input, ifRevision int64) (Window, error) {
	if in.Name != "" && in.Name != name {
		return Window{}, errs.Invalidf("name", "cannot be changed (was %q)", name)
	}
	in.Name = name
	if _, err := s.Get(ctx, name); err != nil {
		return Window{}, err
	}
	return s.put(ctx, in, ifRevision, false)
}

func (s *Service) put(ctx context.Context, in Input, ifRevision int64, mustCreate bool) (out Window, err error) {
	if err := identity.AuthorizeWriter(ctx); err != nil {
		return out, err
	}
	var changed bool
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		out, changed, err = s.PutTx(ctx, tx, in, "", ifRevision, mustCreate)
		return err
	})
	if err != nil {
		return out, err
	}
	if changed {
		s.opts.Changed()
	}
	return s.withStatus(out), nil
}

// PutTx creates or updates a window in tx, authorizing the actor against
// the window as it is and as it will be, and records the change; changed
// is false when nothing differed. Every service and environment it names
// must exist. The caller must call Changed after commit (apply does).
func (s *Service) PutTx(ctx context.Context, tx *sql.Tx, in Input, origin string, ifRevision int64, mustCreate bool) (w Window, changed bool, err error) {
	orig := in.Spec
	if _, err := in.Validate(); err != nil {
		return w, false, err
	}
	if err := s.authorize(ctx, tx, in.Services, orig.Services, true); err != nil {
		return w, false, err
	}
	for _, e := range in.Environments {
		if _, err := s.cat.EnvironmentID(ctx, tx, fmt.Sprintf("environments[%d]", slices.Index(orig.Environments, e)), e); err != nil {
			return w, false, err
		}
	}
	w = Window{Name: in.Name, Labels: emptyNil(in.Labels), Spec: in.Spec}
	now := s.clock.Now()
	before, err := getWindow(ctx, tx, in.Name)
	switch {
	case errs.Is(err, errs.NotFound):
		w.ID, w.Revision, w.CreatedAt, w.UpdatedAt, w.Origin = db.NewID(), 1, now, now, origin
		if err := insertWindow(ctx, tx, w); err != nil {
			return w, false, err
		}
		return w, true, s.record(ctx, tx, "create", w.ID, w.Name, nil, auditView(w))
	case err != nil:
		return w, false, err
	case mustCreate:
		return w, false, errs.Conflictf("maintenance window %q already exists", in.Name)
	}
	if ifRevision != 0 && ifRevision != before.Revision {
		return w, false, errs.Preconditionf("maintenance window %q was changed by someone else (revision %d, you have %d); reload and retry", in.Name, before.Revision, ifRevision)
	}
	if err := s.authorize(ctx, tx, before.Services, before.Services, false); err != nil {
		return w, false, err
	}
	// The origin says who created the object; an update never takes it
	// over, so prune only ever deletes what its own apply set created.
	w.ID, w.CreatedAt, w.Origin = before.ID, before.CreatedAt, before.Origin
	if sameSpec(before.Spec, w.Spec) && maps.Equal(before.Labels, w.Labels) {
		return before, false, nil
	}
	w.Revision, w.UpdatedAt = before.Revision+1, now
	if err := updateWindow(ctx, tx, w); err != nil {
		return w, false, err
	}
	return w, true, s.record(ctx, tx, "update", w.ID, w.Name, auditView(before), auditView(w))
}

// authorize checks that the actor may write a window muting services
// (sorted; orig in the order written, for error fields): operators any,
// members only their own teams' services, and only operators a window
// muting every service. With mustExist a service that does not exist is
// an Invalid error; otherwise (a stored window naming a service deleted
// since) only operators may touch the window.
func (s *Service) authorize(ctx context.Context, q db.Querier, services, orig []string, mustExist bool) error {
	if len(services) == 0 {
		err := identity.Authorize(ctx, identity.PermWriteCatalog, uuid.Nil)
		if a := identity.ActorFrom(ctx); errs.Is(err, errs.Forbidden) && a.Role == identity.RoleMember && a.Scope == identity.ScopeWrite {
			return errs.Forbiddenf("a window naming no services mutes every team's alerts, so only operators may write it; name your team's services instead")
		}
		return err
	}
	for _, name := range services {
		_, owner, _, err := s.cat.ServiceRef(ctx, q, fmt.Sprintf("services[%d]", slices.Index(orig, name)), name)
		switch {
		case errs.Is(err, errs.Invalid) && !mustExist:
			err = identity.Authorize(ctx, identity.PermWriteCatalog, uuid.Nil)
		case err == nil:
			err = identity.Authorize(ctx, identity.PermWriteOwned, owner)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Delete deletes the window called name.
func (s *Service) Delete(ctx context.Context, name string, ifRevision int64) error {
	if err := identity.AuthorizeWriter(ctx); err != nil {
		return err
	}
	err := s.db.InTx(ctx, func(tx *sql.Tx) error { return s.DeleteTx(ctx, tx, name, ifRevision) })
	if err == nil {
		s.opts.Changed()
	}
	return err
}

// DeleteTx deletes a window in tx after authorizing the actor against it.
func (s *Service) DeleteTx(ctx context.Context, tx *sql.Tx, name string, ifRevision int64) error {
	before, err := getWindow(ctx, tx, name)
	if err != nil {
		return err
	}
	if err := s.authorize(ctx, tx, before.Services, before.Services, false); err != nil {
		return err
	}
	if ifRevision != 0 && ifRevision != before.Revision {
		return errs.Preconditionf("maintenance window %q was changed by someone else (revision %d, you have %d); reload and retry", name, before.Revision, ifRevision)
	}
	if err := deleteWindow(ctx, tx, before.ID); err != nil {
		return err
	}
	return s.record(ctx, tx, "delete", before.ID, name, auditView(before), nil)
}

func (s *Service) record(ctx context.Context, tx *sql.Tx, action string, id uuid.UUID, name string, before, after any) error {
	return audit.Append(ctx, tx, s.clock.Now(), audit.Entry{
		Actor: identity.ActorFrom(ctx).Audit(), Action: action, ObjectKind: "maintenance-window",
		ObjectID: id.String(), ObjectName: name, Before: before, After: after,
	})
}

// auditView is what the audit log keeps of a window: its definition, not
// whether it happened to be in effect.
func auditView(w Window) any {
	return struct {
		ID     uuid.UUID         `json:"id"`
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels,omitempty"`
		Spec
		Origin    string    `json:"origin,omitempty"`
		Revision  int64     `json:"revision"`
		CreatedAt time.Time `json:"created_at"`
		UpdatedAt time.Time `json:"updated_at"`
	}{w.ID, w.Name, w.Labels, w.Spec, w.Origin, w.Revision, w.CreatedAt, w.UpdatedAt}
}

func emptyNil(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}
