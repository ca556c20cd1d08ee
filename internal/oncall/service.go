package oncall

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/audit"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
)

// Directory resolves the people and teams schedules and policies name;
// identity.Service implements it.
type Directory interface {
	// GetUserTx returns the user called name, NotFound when there is none.
	GetUserTx(ctx context.Context, q db.Querier, name string) (identity.User, error)
	// GetTeamTx returns the team called name with its members, NotFound
	// when there is none.
	GetTeamTx(ctx context.Context, q db.Querier, name string) (identity.Team, error)
	// TeamID returns a team's id, or an Invalid error naming field.
	TeamID(ctx context.Context, q db.Querier, field, name string) (uuid.UUID, error)
}

// Catalog resolves the owning team of a service; catalog.Catalog
// implements it.
type Catalog interface {
	// ServiceRef returns the id and owning team of a service and the
	// environments it runs in, or an Invalid error naming field.
	ServiceRef(ctx context.Context, q db.Querier, field, name string) (id, owner uuid.UUID, environments []string, err error)
}

var _ Directory = (*identity.Service)(nil)

// Options configure the Service. The zero value is a safe default.
type Options struct {
	// Logger receives the schedules that no longer compile (a time zone
	// left the zone database); default: discard.
	Logger *slog.Logger
}

// SwapNotifier tells one person about a swap, in the caller's transaction
// (the notice exists if and only if the change does).
type SwapNotifier interface {
	SwapNoticeTx(ctx context.Context, tx *sql.Tx, to string, sw Swap) error
}

// Service manages schedules, escalation policies and calendar feeds, and
// answers who is on call. Safe for concurrent use.
//
// Who may write: operators and admins anything; members the schedules and
// policies their teams own (as they are and as they will be). Everyone
// signed in may read.
type Service struct {
	db    *db.DB
	clock clock.Clock
	dir   Directory
	cat   Catalog
	log   *slog.Logger
	swaps SwapNotifier // tells people of swaps; nil: nobody is told
}

// SetSwapNotifier makes swaps tell the people they concern (the
// counterpart of a request, the requester of a decision); call it before
// serving.
func (s *Service) SetSwapNotifier(n SwapNotifier) { s.swaps = n }

// NewService returns an on-call service.
func NewService(d *db.DB, c clock.Clock, dir Directory, cat Catalog, opts Options) *Service {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{db: d, clock: c, dir: dir, cat: cat, log: log}
}

// Filter narrows a list of schedules or policies.
type Filter struct {
	Owner string // only those the team called Owner owns
	Query string // case-insensitive substring of the name
	After string // cursor: names after this one
	Limit int    // default 100, at most 1000
}

// ---- schedules ----

// GetSchedule returns the schedule called name, with its warnings.
func (s *Service) GetSchedule(ctx context.Context, name string) (Schedule, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return Schedule{}, err
	}
	r, err := getRow(ctx, s.db.Reader(), schedulesTable, "schedule", name)
	if err != nil {
		return Schedule{}, err
	}
	return s.scheduleOf(r)
}

func (s *Service) scheduleOf(r row) (Schedule, error) {
	sc := Schedule{ID: r.ID, Name: r.Name, Labels: r.Labels, Origin: r.Origin, Revision: r.Revision, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if err := json.Unmarshal([]byte(r.Spec), &sc.Spec); err != nil {
		return sc, fmt.Errorf("schedule %s spec: %w", r.Name, err)
	}
	if c, err := s.compile(sc); err == nil {
		sc.Warnings = c.Warnings()
	}
	return sc, nil
}

// ListSchedules returns schedules by name; next is the cursor of the next
// page or "".
func (s *Service) ListSchedules(ctx context.Context, f Filter) (out []Schedule, next string, err error) {
	f = f.normalized()
	err = s.list(ctx, schedulesTable, f, func(r row) (bool, error) {
		sc, err := s.scheduleOf(r)
		if err != nil {
			return false, err
		}
		if len(out) == f.Limit {
			next = out[len(out)-1].Name
			return false, nil
		}
		out = append(out, sc)
		return true, nil
	})
	if out == nil {
		out = []Schedule{}
	}
	return out, next, err
}

func (f Filter) normalized() Filter {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, 1000)
	return f
}

// list authorizes a read and scans table with f's filters.
func (s *Service) list(ctx context.Context, table string, f Filter, yield func(row) (bool, error)) error {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return err
	}
	owner := uuid.Nil
	if f.Owner != "" {
		var err error
		if owner, err = s.dir.TeamID(ctx, s.db.Reader(), "owner", f.Owner); err != nil {
			return err
		}
	}
	q := strings.ToLower(f.Query)
	return scanRows(ctx, s.db.Reader(), table, f.After, owner, func(r row) (bool, error) {
		if q != "" && !strings.Contains(r.Name, q) {
			return true, nil
		}
		return yield(r)
	})
}

// CreateSchedule creates a schedule.
func (s *Service) CreateSchedule(ctx context.Context, in ScheduleInput) (Schedule, error) {
	return s.putSchedule(ctx, in, 0, true)
}

// UpdateSchedule replaces the schedule called name; ifRevision, when not
// zero, must match.
func (s *Service) UpdateSchedule(ctx context.Context, name string, in ScheduleInput, ifRevision int64) (Schedule, error) {
	if in.Name != "" && in.Name != name {
		return Schedule{}, errs.Invalidf("name", "cannot be changed (was %q)", name)
	}
	in.Name = name
	if _, err := s.GetSchedule(ctx, name); err != nil {
		return Schedule{}, err
	}
	return s.putSchedule(ctx, in, ifRevision, false)
}

func (s *Service) putSchedule(ctx context.Context, in ScheduleInput, ifRevision int64, mustCreate bool) (out Schedule, err error) {
	if err := identity.AuthorizeWriter(ctx); err != nil {
		return out, err
	}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		out, _, err = s.PutScheduleTx(ctx, tx, in, "", ifRevision, mustCreate)
		return err
	})
	return out, err
}

// PutScheduleTx creates or updates a schedule in tx, authorizing the actor
// against its owner as it is and as it will be, and records the change;
// changed is false when nothing differed. The owner and every person the
// spec names must exist. The returned schedule carries the core's
// warnings (overlapping overrides): they are not errors.
func (s *Service) PutScheduleTx(ctx context.Context, tx *sql.Tx, in ScheduleInput, origin string, ifRevision int64, mustCreate bool) (out Schedule, changed bool, err error) {
	c, err := in.Validate()
	if err != nil {
		return out, false, err
	}
	owner, err := s.dir.TeamID(ctx, tx, "spec.owner", in.Spec.Owner)
	if err != nil {
		return out, false, err
	}
	if err := identity.Authorize(ctx, identity.PermWriteOwned, owner); err != nil {
		return out, false, err
	}
	fields, users := in.Spec.people()
	checked := map[string]bool{}
	for i, u := range users {
		if checked[u] {
			continue
		}
		checked[u] = true
		if _, err := s.dir.GetUserTx(ctx, tx, u); errs.Is(err, errs.NotFound) {
			return out, false, errs.Invalidf(fields[i], "user %q does not exist", u)
		} else if err != nil {
			return out, false, err
		}
	}
	// A spec replaced from YAML or the API does not know the swaps people
	// accepted since: their overrides are kept (so a re-apply of the same
	// file changes nothing and drops nobody's agreed cover).
	if in.Spec.Overrides, err = s.keepSwapOverrides(ctx, tx, in.Name, in.Spec.Overrides); err != nil {
		return out, false, err
	}
	spec, err := json.Marshal(in.Spec)
	if err != nil {
		return out, false, fmt.Errorf("encode schedule %s: %w", in.Name, err)
	}
	r, changed, err := s.putRow(ctx, tx, schedulesTable, "schedule", row{Name: in.Name, Owner: owner, Spec: string(spec), Labels: emptyNil(in.Labels)}, origin, ifRevision, mustCreate)
	if err != nil {
		return out, false, err
	}
	out, err = s.scheduleOf(r)
	out.Warnings = c.Warnings()
	return out, changed, err
}

// putRow creates or updates r in table (what names the kind), authorizing
// the actor against the row's owner as it was, and audits the change.
func (s *Service) putRow(ctx context.Context, tx *sql.Tx, table, what string, r row, origin string, ifRevision int64, mustCreate bool) (row, bool, error) {
	now := s.clock.Now()
	before, err := getRow(ctx, tx, table, what, r.Name)
	switch {
	case errs.Is(err, errs.NotFound):
		r.ID, r.Revision, r.CreatedAt, r.UpdatedAt, r.Origin = db.NewID(), 1, now, now, origin
		if err := insertRow(ctx, tx, table, r); err != nil {
			return r, false, err
		}
		return r, true, s.record(ctx, tx, "create", what, r.ID, r.Name, nil, auditView(r))
	case err != nil:
		return r, false, err
	case mustCreate:
		return r, false, errs.Conflictf("%s %q already exists", what, r.Name)
	}
	if ifRevision != 0 && ifRevision != before.Revision {
		return r, false, errs.Preconditionf("%s %q was changed by someone else (revision %d, you have %d); reload and retry", what, r.Name, before.Revision, ifRevision)
	}
	if err := identity.Authorize(ctx, identity.PermWriteOwned, before.Owner); err != nil {
		return r, false, err
	}
	// The origin says who created the object; an update never takes it
	// over, so prune only ever deletes what its own apply set created.
	r.ID, r.CreatedAt, r.Origin = before.ID, before.CreatedAt, before.Origin
	if before.Spec == r.Spec && before.Owner == r.Owner && maps.Equal(before.Labels, r.Labels) {
		return before, false, nil
	}
	r.Revision, r.UpdatedAt = before.Revision+1, now
	if err := updateRow(ctx, tx, table, r); err != nil {
		return r, false, err
	}
	return r, true, s.record(ctx, tx, "update", what, r.ID, r.Name, auditView(before), auditView(r))
}

// DeleteSchedule deletes the schedule called name.
func (s *Service) DeleteSchedule(ctx context.Context, name string, ifRevision int64) error {
	if err := identity.AuthorizeWriter(ctx); err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *sql.Tx) error { return s.DeleteScheduleTx(ctx, tx, name, ifRevision) })
}

// DeleteScheduleTx deletes a schedule in tx after authorizing the actor
// against it. A schedule an escalation policy pages is not deleted
// (Conflict): that would leave a silent hole in the escalation.
func (s *Service) DeleteScheduleTx(ctx context.Context, tx *sql.Tx, name string, ifRevision int64) error {
	before, err := s.deletable(ctx, tx, schedulesTable, "schedule", name, ifRevision)
	if err != nil {
		return err
	}
	var users []string
	err = scanRows(ctx, tx, policiesTable, "", uuid.Nil, func(r row) (bool, error) {
		p, err := policyOf(r)
		if err != nil {
			return false, err
		}
		for _, st := range p.Spec.Steps {
			for _, t := range st.Targets {
				if t.Schedule == name {
					users = append(users, p.Name)
					return true, nil
				}
			}
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return errs.Conflictf("schedule %q is paged by escalation policy %s; change the policy first", name, strings.Join(users, ", "))
	}
	if err := deleteRow(ctx, tx, schedulesTable, before.ID); err != nil {
		return err
	}
	return s.record(ctx, tx, "delete", "schedule", before.ID, name, auditView(before), nil)
}

// deletable returns the row about to be deleted after checking the
// actor's right and the revision.
func (s *Service) deletable(ctx context.Context, tx *sql.Tx, table, what, name string, ifRevision int64) (row, error) {
	before, err := getRow(ctx, tx, table, what, name)
	if err != nil {
		return before, err
	}
	if err := identity.Authorize(ctx, identity.PermWriteOwned, before.Owner); err != nil {
		return before, err
	}
	if ifRevision != 0 && ifRevision != before.Revision {
		return before, errs.Preconditionf("%s %q was changed by someone else (revision %d, you have %d); reload and retry", what, name, before.Revision, ifRevision)
	}
	return before, nil
}

// ---- escalation policies ----

// GetPolicy returns the escalation policy called name.
func (s *Service) GetPolicy(ctx context.Context, name string) (EscalationPolicy, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return EscalationPolicy{}, err
	}
	r, err := getRow(ctx, s.db.Reader(), policiesTable, "escalation policy", name)
	if err != nil {
		return EscalationPolicy{}, err
	}
	return policyOf(r)
}

func policyOf(r row) (EscalationPolicy, error) {
	p := EscalationPolicy{ID: r.ID, Name: r.Name, Labels: r.Labels, Origin: r.Origin, Revision: r.Revision, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if err := json.Unmarshal([]byte(r.Spec), &p.Spec); err != nil {
		return p, fmt.Errorf("escalation policy %s spec: %w", r.Name, err)
	}
	return p, nil
}

// ListPolicies returns escalation policies by name; next is the cursor of
// the next page or "".
func (s *Service) ListPolicies(ctx context.Context, f Filter) (out []EscalationPolicy, next string, err error) {
	f = f.normalized()
	err = s.list(ctx, policiesTable, f, func(r row) (bool, error) {
		p, err := policyOf(r)
		if err != nil {
			return false, err
		}
		if len(out) == f.Limit {
			next = out[len(out)-1].Name
			return false, nil
		}
		out = append(out, p)
		return true, nil
	})
	if out == nil {
		out = []EscalationPolicy{}
	}
	return out, next, err
}

// CreatePolicy creates an escalation policy.
func (s *Service) CreatePolicy(ctx context.Context, in PolicyInput) (EscalationPolicy, error) {
	return s.putPolicy(ctx, in, 0, true)
}

// UpdatePolicy replaces the escalation policy called name; ifRevision,
// when not zero, must match.
func (s *Service) UpdatePolicy(ctx context.Context, name string, in PolicyInput, ifRevision int64) (EscalationPolicy, error) {
	if in.Name != "" && in.Name != name {
		return EscalationPolicy{}, errs.Invalidf("name", "cannot be changed (was %q)", name)
	}
	in.Name = name
	if _, err := s.GetPolicy(ctx, name); err != nil {
		return EscalationPolicy{}, err
	}
	return s.putPolicy(ctx, in, ifRevision, false)
}

func (s *Service) putPolicy(ctx context.Context, in PolicyInput, ifRevision int64, mustCreate bool) (out EscalationPolicy, err error) {
	if err := identity.AuthorizeWriter(ctx); err != nil {
		return out, err
	}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		out, _, err = s.PutPolicyTx(ctx, tx, in, "", ifRevision, mustCreate)
		return err
	})
	return out, err
}

// PutPolicyTx creates or updates an escalation policy in tx, authorizing
// the actor against its owner as it is and as it will be, and records the
// change; changed is false when nothing differed. Every schedule, user and
// team it targets must exist.
func (s *Service) PutPolicyTx(ctx context.Context, tx *sql.Tx, in PolicyInput, origin string, ifRevision int64, mustCreate bool) (out EscalationPolicy, changed bool, err error) {
	if err := in.Validate(); err != nil {
		return out, false, err
	}
	owner, err := s.dir.TeamID(ctx, tx, "spec.owner", in.Spec.Owner)
	if err != nil {
		return out, false, err
	}
	if err := identity.Authorize(ctx, identity.PermWriteOwned, owner); err != nil {
		return out, false, err
	}
	for i, st := range in.Spec.Steps {
		for j, t := range st.Targets {
			field := fmt.Sprintf("spec.steps[%d].targets[%d].", i, j)
			kind, name := t.Kind()
			switch kind {
			case "schedule":
				_, err = getRow(ctx, tx, schedulesTable, "schedule", name)
			case "user":
				_, err = s.dir.GetUserTx(ctx, tx, name)
			default:
				_, err = s.dir.GetTeamTx(ctx, tx, name)
			}
			if errs.Is(err, errs.NotFound) {
				return out, false, errs.Invalidf(field+kind, "%s %q does not exist", kind, name)
			}
			if err != nil {
				return out, false, err
			}
		}
	}
	spec, err := json.Marshal(in.Spec)
	if err != nil {
		return out, false, fmt.Errorf("encode escalation policy %s: %w", in.Name, err)
	}
	r, changed, err := s.putRow(ctx, tx, policiesTable, "escalation policy", row{Name: in.Name, Owner: owner, Spec: string(spec), Labels: emptyNil(in.Labels)}, origin, ifRevision, mustCreate)
	if err != nil {
		return out, false, err
	}
	out, err = policyOf(r)
	return out, changed, err
}

// DeletePolicy deletes the escalation policy called name.
func (s *Service) DeletePolicy(ctx context.Context, name string, ifRevision int64) error {
	if err := identity.AuthorizeWriter(ctx); err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *sql.Tx) error { return s.DeletePolicyTx(ctx, tx, name, ifRevision) })
}

// DeletePolicyTx deletes an escalation policy in tx after authorizing the
// actor against it.
func (s *Service) DeletePolicyTx(ctx context.Context, tx *sql.Tx, name string, ifRevision int64) error {
	before, err := s.deletable(ctx, tx, policiesTable, "escalation policy", name, ifRevision)
	if err != nil {
		return err
	}
	if err := deleteRow(ctx, tx, policiesTable, before.ID); err != nil {
		return err
	}
	return s.record(ctx, tx, "delete", "escalation policy", before.ID, name, auditView(before), nil)
}

func (s *Service) record(ctx context.Context, tx *sql.Tx, action, what string, id uuid.UUID, name string, before, after any) error {
	return audit.Append(ctx, tx, s.clock.Now(), audit.Entry{
		Actor: identity.ActorFrom(ctx).Audit(), Action: action, ObjectKind: strings.ReplaceAll(what, " ", "-"),
		ObjectID: id.String(), ObjectName: name, Before: before, After: after,
	})
}

// auditView is what the audit log keeps of a schedule or policy.
func auditView(r row) any {
	return struct {
		ID        uuid.UUID         `json:"id"`
		Name      string            `json:"name"`
		Labels    map[string]string `json:"labels,omitempty"`
		Spec      json.RawMessage   `json:"spec"`
		Origin    string            `json:"origin,omitempty"`
		Revision  int64             `json:"revision"`
		CreatedAt time.Time         `json:"created_at"`
		UpdatedAt time.Time         `json:"updated_at"`
	}{r.ID, r.Name, r.Labels, json.RawMessage(r.Spec), r.Origin, r.Revision, r.CreatedAt, r.UpdatedAt}
}

func emptyNil(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}
