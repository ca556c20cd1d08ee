package statuspage

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/audit"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/maintenance"
)

// Catalog resolves the catalog services a page names; catalog.Catalog
// implements it.
type Catalog interface {
	// ServiceRef returns the id and owning team of a service and the
	// environments it runs in, or an Invalid error naming field.
	ServiceRef(ctx context.Context, q db.Querier, field, name string) (id, owner uuid.UUID, environments []string, err error)
}

// Options configure the Service. The zero value is a safe default.
type Options struct {
	Logger *slog.Logger
	// Schedule, if set, lists maintenance windows: those of a page's
	// services in critical environments appear on the page as scheduled
	// maintenance.
	Schedule Schedule
}

// Schedule lists the maintenance windows of services that overlap a time
// range; maintenance.Service implements it.
type Schedule interface {
	Upcoming(ctx context.Context, services []string, from, to time.Time) ([]maintenance.Occurrence, error)
}

// Service manages status pages and their notices, and computes what the
// public pages show. Safe for concurrent use.
type Service struct {
	db      *db.DB
	clock   clock.Clock
	cat     Catalog
	log     *slog.Logger
	changed atomic.Pointer[func(page string)]
	sched   Schedule
}

// NewService returns a status page service.
func NewService(d *db.DB, c clock.Clock, cat Catalog, opts Options) *Service {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{db: d, clock: c, cat: cat, log: log, sched: opts.Schedule}
}

// SetChanged sets the function called after a page or its notices changed
// (page "" means any page), so that the public side can drop what it
// cached. It must not block.
func (s *Service) SetChanged(f func(page string)) { s.changed.Store(&f) }

// Changed reports that page changed ("" for any); apply calls it after its
// transaction commits.
func (s *Service) Changed(page string) {
	if f := s.changed.Load(); f != nil {
		(*f)(page)
	}
}

// authorizeOperator lets operators and admins manage pages and notices:
// what the public reads is the Ops team's word, not one team's.
func authorizeOperator(ctx context.Context) error {
	if err := identity.AuthorizeWriter(ctx); err != nil {
		return err
	}
	return identity.Authorize(ctx, identity.PermWriteCatalog, uuid.Nil)
}

func (s *Service) record(ctx context.Context, tx *sql.Tx, action, kind string, id uuid.UUID, name string, before, after any) error {
	return audit.Append(ctx, tx, s.clock.Now(), audit.Entry{
		Actor: identity.ActorFrom(ctx).Audit(), Action: action, ObjectKind: kind,
		ObjectID: id.String(), ObjectName: name, Before: before, After: after,
	})
}

// GetPage returns the status page called name.
func (s *Service) GetPage(ctx context.Context, name string) (Page, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return Page{}, err
	}
	return getPage(ctx, s.db.Reader(), name)
}

// ListPages returns status pages by name; next is the cursor of the next
// page of results or "".
func (s *Service) ListPages(ctx context.Context, opts identity.ListOptions) (out []Page, next string, err error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return nil, "", err
	}
	opts = opts.Normalize()
	out, err = listPages(ctx, s.db.Reader(), opts.Query, opts.After, opts.Limit+1)
	if err != nil {
		return nil, "", err
	}
	if len(out) > opts.Limit {
		out = out[:opts.Limit]
		next = out[len(out)-1].Name
	}
	return out, next, nil
}

// CreatePage creates a status page. Operators and admins only.
func (s *Service) CreatePage(ctx context.Context, in PageInput) (Page, error) {
	return s.putPage(ctx, in, 0, true)
}

// UpdatePage replaces the status page called name; ifRevision, when not
// zero, must match.
func (s *Service) UpdatePage(ctx context.Context, name string, in PageInput, ifRevision int64) (Page, error) {
	if in.Name != "" && in.Name != name {
		return Page{}, errs.Invalidf("name", "cannot be changed (was %q)", name)
	}
	in.Name = name
	if _, err := s.GetPage(ctx, name); err != nil {
		return Page{}, err
	}
	return s.putPage(ctx, in, ifRevision, false)
}

func (s *Service) putPage(ctx context.Context, in PageInput, ifRevision int64, mustCreate bool) (out Page, err error) {
	if err := authorizeOperator(ctx); err != nil {
		return out, err
	}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		out, _, err = s.PutPageTx(ctx, tx, in, "", ifRevision, mustCreate)
		return err
	})
	if err == nil {
		s.Changed(in.Name)
	}
	return out, err
}

// PutPageTx creates or updates a status page in tx after authorizing the
// actor, and records the change; changed is false when nothing differed.
// Every service and check it names must exist, and each check must watch
// one of its component's services. The caller calls Changed after commit.
func (s *Service) PutPageTx(ctx context.Context, tx *sql.Tx, in PageInput, origin string, ifRevision int64, mustCreate bool) (p Page, changed bool, err error) {
	if err := authorizeOperator(ctx); err != nil {
		return p, false, err
	}
	orig := make([]Component, len(in.Components))
	for i, c := range in.Components {
		orig[i] = Component{Services: slices.Clone(c.Services), Checks: slices.Clone(c.Checks)}
	}
	if err := in.Validate(); err != nil {
		return p, false, err
	}
	if err := s.checkRefs(ctx, tx, in.Components, orig); err != nil {
		return p, false, err
	}
	now := s.clock.Now()
	p = Page{Name: in.Name, Labels: in.Labels, Spec: in.Spec}
	if len(p.Labels) == 0 {
		p.Labels = nil
	}
	before, err := getPage(ctx, tx, in.Name)
	switch {
	case errs.Is(err, errs.NotFound):
		p.ID, p.Revision, p.CreatedAt, p.UpdatedAt, p.Origin = db.NewID(), 1, now, now, origin
		if err := insertPage(ctx, tx, p); err != nil {
			return p, false, err
		}
		return p, true, s.record(ctx, tx, "create", "status-page", p.ID, p.Name, nil, p)
	case err != nil:
		return p, false, err
	case mustCreate:
		return p, false, errs.Conflictf("status page %q already exists", in.Name)
	}
	if ifRevision != 0 && ifRevision != before.Revision {
		return p, false, errs.Preconditionf("status page %q was changed by someone else (revision %d, you have %d); reload and retry", in.Name, before.Revision, ifRevision)
	}
	// The origin says who created the page; an update never takes it over,
	// so that prune only deletes what its own apply set created.
	p.ID, p.CreatedAt, p.Origin = before.ID, before.CreatedAt, before.Origin
	if sameSpec(before.Spec, p.Spec) && maps.Equal(before.Labels, p.Labels) {
		return before, false, nil
	}
	p.Revision, p.UpdatedAt = before.Revision+1, now
	if err := updatePage(ctx, tx, p); err != nil {
		return p, false, err
	}
	return p, true, s.record(ctx, tx, "update", "status-page", p.ID, p.Name, before, p)
}

// checkRefs checks that the services and checks of the (normalized)
// components exist, naming the field by its position in orig.
func (s *Service) checkRefs(ctx context.Context, q db.Querier, comps, orig []Component) error {
	for i, c := range comps {
		for _, name := range c.Services {
			field := fmt.Sprintf("components[%d].services[%d]", i, slices.Index(orig[i].Services, name))
			if _, _, _, err := s.cat.ServiceRef(ctx, q, field, name); err != nil {
				return err
			}
		}
		for _, name := range c.Checks {
			field := fmt.Sprintf("components[%d].checks[%d]", i, slices.Index(orig[i].Checks, name))
			svc, err := checkService(ctx, q, name)
			if err != nil {
				return err
			}
			if svc == "" {
				return errs.Invalidf(field, "check %q does not exist", name)
			}
			if !slices.Contains(c.Services, svc) {
				return errs.Invalidf(field, "check %q watches service %q, which is not among the component's services (%s)", name, svc, strings.Join(c.Services, ", "))
			}
		}
	}
	return nil
}

// DeletePage deletes the status page called name with its notices.
func (s *Service) DeletePage(ctx context.Context, name string, ifRevision int64) error {
	if err := authorizeOperator(ctx); err != nil {
		return err
	}
	err := s.db.InTx(ctx, func(tx *sql.Tx) error { return s.DeletePageTx(ctx, tx, name, ifRevision) })
	if err == nil {
		s.Changed(name)
	}
	return err
}

// DeletePageTx deletes a status page and its notices in tx after
// authorizing the actor.
func (s *Service) DeletePageTx(ctx context.Context, tx *sql.Tx, name string, ifRevision int64) error {
	if err := authorizeOperator(ctx); err != nil {
		return err
	}
	before, err := getPage(ctx, tx, name)
	if err != nil {
		return err
	}
	if ifRevision != 0 && ifRevision != before.Revision {
		return errs.Preconditionf("status page %q was changed by someone else (revision %d, you have %d); reload and retry", name, before.Revision, ifRevision)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM status_pages WHERE id = $1`, before.ID); err != nil {
		return fmt.Errorf("delete status page: %w", err)
	}
	return s.record(ctx, tx, "delete", "status-page", before.ID, name, before, nil)
}

// Notices.

// GetNotice returns notice number of page with its updates.
func (s *Service) GetNotice(ctx context.Context, page string, number int64) (Notice, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return Notice{}, err
	}
	return getNotice(ctx, s.db.Reader(), page, number)
}

// ListNotices returns notices of page, newest first, with their updates.
func (s *Service) ListNotices(ctx context.Context, page string, f NoticeFilter) ([]Notice, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return nil, err
	}
	q := s.db.Reader()
	if _, err := getPage(ctx, q, page); err != nil {
		return nil, err
	}
	return listNotices(ctx, q, page, f)
}

// CreateNotice posts a new incident or maintenance notice on page, with
// in.Message as its first update. Operators and admins only.
func (s *Service) CreateNotice(ctx context.Context, page string, in NoticeInput) (n Notice, err error) {
	if err := authorizeOperator(ctx); err != nil {
		return n, err
	}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		n, err = s.CreateNoticeTx(ctx, tx, page, in)
		return err
	})
	if err == nil {
		s.Changed(page)
	}
	return n, err
}

// CreateNoticeTx posts a notice in tx after authorizing the actor, and
// records it; other domains (incidents) post through it inside their own
// transaction, then call Changed(page) after commit. Components must be
// components of the page.
func (s *Service) CreateNoticeTx(ctx context.Context, tx *sql.Tx, page string, in NoticeInput) (Notice, error) {
	if err := authorizeOperator(ctx); err != nil {
		return Notice{}, err
	}
	now := s.clock.Now()
	orig := slices.Clone(in.Components)
	if err := in.Validate(now); err != nil {
		return Notice{}, err
	}
	p, err := getPage(ctx, tx, page)
	if err != nil {
		return Notice{}, err
	}
	if err := hasComponents(p, in.Components, orig); err != nil {
		return Notice{}, err
	}
	num, err := nextNoticeNumber(ctx, tx, p.ID)
	if err != nil {
		return Notice{}, err
	}
	n := Notice{
		ID: db.NewID(), Page: p.Name, Number: num, Kind: in.Kind, Title: in.Title, Status: in.Status,
		Components: in.Components, StartsAt: in.StartsAt.UTC(), Ref: in.Ref, Revision: 1, CreatedAt: now, UpdatedAt: now,
	}
	if in.EndsAt != nil {
		end := in.EndsAt.UTC()
		n.EndsAt = &end
	}
	if n.Status == n.Kind.Closed() {
		n.ClosedAt = &now
	}
	if err := insertNotice(ctx, tx, p.ID, n); err != nil {
		return n, err
	}
	u := Update{ID: db.NewID(), At: now, Status: n.Status, Message: strings.TrimSpace(in.Message), Author: actorName(ctx)}
	if err := insertUpdate(ctx, tx, n.ID, u); err != nil {
		return n, err
	}
	n.Updates = []Update{u}
	return n, s.record(ctx, tx, "create", "status-notice", n.ID, noticeName(n), nil, n)
}

// PostUpdate posts an update to notice number of page. Operators and
// admins only.
func (s *Service) PostUpdate(ctx context.Context, page string, number int64, in UpdateInput) (n Notice, err error) {
	if err := authorizeOperator(ctx); err != nil {
		return n, err
	}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		n, err = s.PostUpdateTx(ctx, tx, page, number, in)
		return err
	})
	if err == nil {
		s.Changed(page)
	}
	return n, err
}

// PostUpdateTx posts an update in tx after authorizing the actor, and
// records it. Moving to the closing status (resolved, completed) closes the
// notice; moving away from it reopens it.
func (s *Service) PostUpdateTx(ctx context.Context, tx *sql.Tx, page string, number int64, in UpdateInput) (Notice, error) {
	if err := authorizeOperator(ctx); err != nil {
		return Notice{}, err
	}
	before, err := getNotice(ctx, tx, page, number)
	if err != nil {
		return Notice{}, err
	}
	n, entry, err := in.apply(before)
	if err != nil {
		return Notice{}, err
	}
	if in.Components != nil {
		p, err := getPage(ctx, tx, page)
		if err != nil {
			return Notice{}, err
		}
		if err := hasComponents(p, n.Components, in.Components); err != nil {
			return Notice{}, err
		}
	}
	now := s.clock.Now()
	switch {
	case n.Status == n.Kind.Closed() && n.ClosedAt == nil:
		n.ClosedAt = &now
	case n.Status != n.Kind.Closed():
		n.ClosedAt = nil
	}
	n.Revision, n.UpdatedAt = before.Revision+1, now
	if err := updateNotice(ctx, tx, n); err != nil {
		return n, err
	}
	action := "edit"
	if entry {
		action = "post-update"
		u := Update{ID: db.NewID(), At: now, Status: n.Status, Message: strings.TrimSpace(in.Message), Author: actorName(ctx)}
		if err := insertUpdate(ctx, tx, n.ID, u); err != nil {
			return n, err
		}
		n.Updates = append([]Update{u}, n.Updates...)
	}
	if n.ClosedAt != nil && before.ClosedAt == nil {
		action = "close"
	}
	return n, s.record(ctx, tx, action, "status-notice", n.ID, noticeName(n), before, n)
}

// Resolve closes notice number of page — an incident as resolved, a
// maintenance as completed — with message as the last update (a default
// one when empty). Closing a closed notice is a Conflict.
func (s *Service) Resolve(ctx context.Context, page string, number int64, message string) (n Notice, err error) {
	if err := authorizeOperator(ctx); err != nil {
		return n, err
	}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		cur, err := getNotice(ctx, tx, page, number)
		if err != nil {
			return err
		}
		if !cur.Open() {
			return errs.Conflictf("notice %d of status page %q is already %s", number, page, cur.Status)
		}
		if strings.TrimSpace(message) == "" {
			message = "This incident has been resolved."
			if cur.Kind == Maintenance {
				message = "The maintenance is complete."
			}
		}
		n, err = s.PostUpdateTx(ctx, tx, page, number, UpdateInput{Status: cur.Kind.Closed(), Message: message})
		return err
	})
	if err == nil {
		s.Changed(page)
	}
	return n, err
}

// DeleteNotice deletes notice number of page, e.g. one posted by mistake.
// The audit log keeps what it said.
func (s *Service) DeleteNotice(ctx context.Context, page string, number int64) error {
	if err := authorizeOperator(ctx); err != nil {
		return err
	}
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		before, err := getNotice(ctx, tx, page, number)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM status_notices WHERE id = $1`, before.ID); err != nil {
			return fmt.Errorf("delete notice: %w", err)
		}
		return s.record(ctx, tx, "delete", "status-notice", before.ID, noticeName(before), before, nil)
	})
	if err == nil {
		s.Changed(page)
	}
	return err
}

// hasComponents checks that the page has every component in list, naming
// the field by the position in orig.
func hasComponents(p Page, list, orig []string) error {
	for _, name := range list {
		if !slices.ContainsFunc(p.Components, func(c Component) bool { return c.Name == name }) {
			i := slices.Index(orig, name)
			var have []string
			for _, c := range p.Components {
				have = append(have, c.Name)
			}
			return errs.Invalidf(fmt.Sprintf("components[%d]", i), "status page %q has no component %q (it has %s)", p.Name, name, strings.Join(have, ", "))
		}
	}
	return nil
}

func actorName(ctx context.Context) string {
	if a := identity.ActorFrom(ctx); a != nil {
		return a.Name
	}
	return ""
}

// noticeName is how the audit log names a notice: page#number.
func noticeName(n Notice) string { return fmt.Sprintf("%s#%d", n.Page, n.Number) }

// now returns the service's time; the public side uses it too.
func (s *Service) now() time.Time { return s.clock.Now() }
