package check

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/audit"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
)

// Catalog resolves the catalog objects a check names; catalog.Catalog
// implements it.
type Catalog interface {
	// ServiceRef returns the id and owning team of a service and the
	// environments it runs in, or an Invalid error naming field.
	ServiceRef(ctx context.Context, q db.Querier, field, name string) (id, owner uuid.UUID, environments []string, err error)
	// EnvironmentID returns an environment's id, or an Invalid error naming field.
	EnvironmentID(ctx context.Context, q db.Querier, field, name string) (uuid.UUID, error)
}

// Options configure the Service. The zero value is a safe default.
type Options struct {
	Limits Limits
	Logger *slog.Logger
	// Changed is called after a transaction that created, changed or
	// deleted checks commits (the runner reloads). It must not block.
	Changed func()
}

// Service manages check definitions and reads their results. Safe for
// concurrent use.
type Service struct {
	db    *db.DB
	clock clock.Clock
	cat   Catalog
	opts  Options
	log   *slog.Logger
}

// NewService returns a check service.
func NewService(d *db.DB, c clock.Clock, cat Catalog, opts Options) *Service {
	opts.Limits = opts.Limits.withDefaults()
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Changed == nil {
		opts.Changed = func() {}
	}
	return &Service{db: d, clock: c, cat: cat, opts: opts, log: log}
}

// SetChanged sets the function called after checks change (the runner's
// reload); call it before serving.
func (s *Service) SetChanged(f func()) { s.opts.Changed = f }

// Get returns the check called name with its state.
func (s *Service) Get(ctx context.Context, name string) (Check, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return Check{}, err
	}
	return getCheck(ctx, s.db.Reader(), name)
}

// List returns checks by name; next is the cursor of the next page.
func (s *Service) List(ctx context.Context, f Filter) ([]Check, string, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return nil, "", err
	}
	return listChecks(ctx, s.db.Reader(), f)
}

// Counts returns how many checks are in each status, for one service or
// (service "") all.
func (s *Service) Counts(ctx context.Context, service string) (map[Status]int, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return nil, err
	}
	return statusCounts(ctx, s.db.Reader(), service)
}

// Create creates a check. Members may create checks of their teams'
// services. For a heartbeat check the result carries its ping secret,
// shown only this once.
func (s *Service) Create(ctx context.Context, in Input) (Check, string, error) {
	return s.put(ctx, in, 0, true)
}

// Update replaces the check called name; ifRevision, when not zero, must
// match.
func (s *Service) Update(ctx context.Context, name string, in Input, ifRevision int64) (Check, error) {
	if in.Name != "" && in.Name != name {
		return Check{}, errs.Invalidf("name", "cannot be changed (was %q)", name)
	}
	in.Name = name
	if _, err := s.Get(ctx, name); err != nil {
		return Check{}, err
	}
	c, _, err := s.put(ctx, in, ifRevision, false)
	return c, err
}

func (s *Service) put(ctx context.Context, in Input, ifRevision int64, mustCreate bool) (out Check, secret string, err error) {
	if err := identity.AuthorizeWriter(ctx); err != nil {
		return out, "", err
	}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		out, _, secret, err = s.PutTx(ctx, tx, in, "", ifRevision, mustCreate)
		return err
	})
	if err == nil {
		s.opts.Changed()
	}
	return out, secret, err
}

// PutTx creates or updates a check in tx, authorizing the actor against the
// owner of the check's service (old and new), and records the change. It
// returns whether anything changed and, for a new heartbeat check, its ping
// secret. The caller must call Changed after commit (apply does).
func (s *Service) PutTx(ctx context.Context, tx *sql.Tx, in Input, origin string, ifRevision int64, mustCreate bool) (c Check, changed bool, secret string, err error) {
	in.Spec.Normalize()
	if _, err := in.Validate(s.opts.Limits); err != nil {
		return c, false, "", err
	}
	svcID, owner, envs, err := s.cat.ServiceRef(ctx, tx, "service", in.Service)
	if err != nil {
		return c, false, "", err
	}
	if err := identity.Authorize(ctx, identity.PermWriteOwned, owner); err != nil {
		return c, false, "", err
	}
	envID, err := s.cat.EnvironmentID(ctx, tx, "environment", in.Environment)
	if err != nil {
		return c, false, "", err
	}
	if !slices.Contains(envs, in.Environment) {
		return c, false, "", errs.Invalidf("environment", "service %q does not run in %q (it runs in %v)", in.Service, in.Environment, envs)
	}
	var parentID *uuid.UUID
	if in.Parent != "" {
		p, err := getCheck(ctx, tx, in.Parent)
		if errs.Is(err, errs.NotFound) {
			return c, false, "", errs.Invalidf("parent", "check %q does not exist", in.Parent)
		} else if err != nil {
			return c, false, "", err
		}
		if err := noParentCycle(ctx, tx, in.Name, p); err != nil {
			return c, false, "", err
		}
		parentID = &p.ID
	}
	spec, _ := json.Marshal(in.Spec)
	labels, _ := json.Marshal(orEmpty(in.Labels))
	c = Check{Name: in.Name, Labels: emptyNil(in.Labels), Spec: in.Spec}
	now := s.clock.Now()
	before, err := getCheck(ctx, tx, in.Name)
	switch {
	case errs.Is(err, errs.NotFound):
		c.ID, c.Revision, c.CreatedAt, c.UpdatedAt, c.Origin = db.NewID(), 1, now, now, origin
		var hbHash *string
		if in.Type == Heartbeat {
			var h string
			secret, h = newPingSecret()
			hbHash = &h
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO checks (id, name, service_id, environment_id, type, interval_ms, parent_id, paused, spec, labels,
			heartbeat_hash, origin, revision, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1, $13, $13)`,
			c.ID, c.Name, svcID, envID, c.Type, c.Interval.Std().Milliseconds(), parentID, c.Paused, string(spec), string(labels),
			hbHash, c.Origin, now); err != nil {
			return c, false, "", fmt.Errorf("insert check: %w", err)
		}
		c.State = &State{Status: Unknown, Since: now}
		return c, true, secret, s.record(ctx, tx, "create", c.ID, c.Name, nil, auditView(c))
	case err != nil:
		return c, false, "", err
	case mustCreate:
		return c, false, "", errs.Conflictf("check %q already exists", in.Name)
	}
	if ifRevision != 0 && ifRevision != before.Revision {
		return c, false, "", errs.Preconditionf("check %q was changed by someone else (revision %d, you have %d); reload and retry", in.Name, before.Revision, ifRevision)
	}
	if before.Service != in.Service {
		_, oldOwner, _, err := s.cat.ServiceRef(ctx, tx, "service", before.Service)
		if err != nil {
			return c, false, "", err
		}
		if err := identity.Authorize(ctx, identity.PermWriteOwned, oldOwner); err != nil {
			return c, false, "", err
		}
	}
	if before.Type == Heartbeat && in.Type != Heartbeat || before.Type != Heartbeat && in.Type == Heartbeat {
		return c, false, "", errs.Invalidf("type", "cannot change between heartbeat and probe checks; create a new check")
	}
	c.ID, c.CreatedAt, c.Origin, c.State = before.ID, before.CreatedAt, before.Origin, before.State
	if reflect.DeepEqual(before.Spec, c.Spec) && maps.Equal(before.Labels, c.Labels) {
		return before, false, "", nil
	}
	c.Revision, c.UpdatedAt = before.Revision+1, now
	if _, err := tx.ExecContext(ctx, `UPDATE checks SET service_id = $2, environment_id = $3, type = $4, interval_ms = $5, parent_id = $6,
		paused = $7, spec = $8, labels = $9, revision = $10, updated_at = $11 WHERE id = $1`,
		c.ID, svcID, envID, c.Type, c.Interval.Std().Milliseconds(), parentID, c.Paused, string(spec), string(labels), c.Revision, now); err != nil {
		return c, false, "", fmt.Errorf("update check: %w", err)
	}
	return c, true, "", s.record(ctx, tx, "update", c.ID, c.Name, auditView(before), auditView(c))
}

// noParentCycle refuses a parent chain that leads back to name.
func noParentCycle(ctx context.Context, q db.Querier, name string, parent Check) error {
	seen := map[string]bool{name: true}
	for p := parent; ; {
		if seen[p.Name] {
			return errs.Invalidf("parent", "check %q would be its own ancestor (through %s)", name, p.Name)
		}
		seen[p.Name] = true
		if p.Parent == "" || len(seen) > 100 {
			return nil
		}
		next, err := getCheck(ctx, q, p.Parent)
		if err != nil {
			return nil
		}
		p = next
	}
}

// Delete deletes the check called name.
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

// DeleteTx deletes a check in tx after authorizing the actor against its
// service's owner. Children of the check lose their parent.
func (s *Service) DeleteTx(ctx context.Context, tx *sql.Tx, name string, ifRevision int64) error {
	before, err := getCheck(ctx, tx, name)
	if err != nil {
		return err
	}
	_, owner, _, err := s.cat.ServiceRef(ctx, tx, "service", before.Service)
	if err != nil {
		return err
	}
	if err := identity.Authorize(ctx, identity.PermWriteOwned, owner); err != nil {
		return err
	}
	if ifRevision != 0 && ifRevision != before.Revision {
		return errs.Preconditionf("check %q was changed by someone else (revision %d, you have %d); reload and retry", name, before.Revision, ifRevision)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM checks WHERE id = $1`, before.ID); err != nil {
		return fmt.Errorf("delete check: %w", err)
	}
	return s.record(ctx, tx, "delete", before.ID, name, auditView(before), nil)
}

// Changed tells the runner that checks changed; apply calls it after its
// transaction commits.
func (s *Service) Changed() { s.opts.Changed() }

// RotatePingSecret gives a heartbeat check a new ping secret and returns
// it; the old one stops working.
func (s *Service) RotatePingSecret(ctx context.Context, name string) (string, error) {
	if err := identity.AuthorizeWriter(ctx); err != nil {
		return "", err
	}
	var secret string
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		c, err := getCheck(ctx, tx, name)
		if err != nil {
			return err
		}
		_, owner, _, err := s.cat.ServiceRef(ctx, tx, "service", c.Service)
		if err != nil {
			return err
		}
		if err := identity.Authorize(ctx, identity.PermWriteOwned, owner); err != nil {
			return err
		}
		if c.Type != Heartbeat {
			return errs.Invalidf("type", "check %q is not a heartbeat check", name)
		}
		var hash string
		secret, hash = newPingSecret()
		if _, err := tx.ExecContext(ctx, `UPDATE checks SET heartbeat_hash = $2 WHERE id = $1`, c.ID, hash); err != nil {
			return fmt.Errorf("rotate ping secret: %w", err)
		}
		return s.record(ctx, tx, "rotate-ping-secret", c.ID, c.Name, nil, nil)
	})
	return secret, err
}

func (s *Service) record(ctx context.Context, tx *sql.Tx, action string, id uuid.UUID, name string, before, after any) error {
	return audit.Append(ctx, tx, s.clock.Now(), audit.Entry{
		Actor: identity.ActorFrom(ctx).Audit(), Action: action, ObjectKind: "check",
		ObjectID: id.String(), ObjectName: name, Before: before, After: after,
	})
}

// auditView is what the audit log keeps of a check: its definition, not
// its ever-changing state.
func auditView(c Check) any {
	c.State = nil
	return c
}

// pingPrefix marks heartbeat ping secrets.
const pingPrefix = "gchb_"

func newPingSecret() (secret, hash string) {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	secret = pingPrefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, hashPing(secret)
}

func hashPing(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func emptyNil(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// Results returns the runs of the check called name between since and
// until, newest first (by time, then id), continuing after the cursor.
func (s *Service) Results(ctx context.Context, name string, since, until time.Time, after ResultsCursor, limit int) ([]Result, error) {
	c, err := s.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	// Times are compared as stored, in UTC (SQLite compares them as text).
	return listResults(ctx, s.db.Reader(), c.ID, since.UTC(), until.UTC(), after, limit)
}

// Events returns the latest state changes of the check called name.
func (s *Service) Events(ctx context.Context, name string, limit int) ([]Event, error) {
	c, err := s.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 1000 {
		limit = 50
	}
	return listEvents(ctx, s.db.Reader(), c.ID, name, limit)
}
