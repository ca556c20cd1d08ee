package notify

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"groundcrew.dev/groundcrew/internal/audit"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/secret"
)

// TeamResolver resolves the team that owns a receiver; identity.Service
// implements it.
type TeamResolver interface {
	// TeamID returns the id of the team called name, or an Invalid error
	// naming field.
	TeamID(ctx context.Context, q db.Querier, field, name string) (uuid.UUID, error)
}

var _ TeamResolver = (*identity.Service)(nil)

// Jobs enqueues background jobs in the caller's transaction; jobs.Runner
// implements it.
type Jobs interface {
	InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) error
}

// FailureSink hears of deliveries that failed for good (a permanent error,
// or the bounded retry time ran out), in the transaction that records the
// failure. The alert package implements it to raise an alert to the
// operators, so that a failure does not go unnoticed. An error rolls the
// record of the failure back: the job runs again later, making one more
// attempt, so that the failure is not recorded without being raised.
type FailureSink interface {
	DeliveryFailed(ctx context.Context, tx *sql.Tx, d Delivery) error
}

// ServiceOptions configure a Service. The zero value is a safe default.
type ServiceOptions struct {
	// Logger receives delivery failures and problems; nil discards.
	Logger *slog.Logger
	// Channel are the options the channels are built with (HTTP client,
	// root CAs, per-attempt HTTP timeout); its Clock defaults to the
	// Service's.
	Channel Options
	// Backoff is the retry policy; the zero value is the documented
	// default (1 s … 5 min, Retry-After up to 1 h, 6 h in total).
	Backoff Backoff
	// SendTimeout bounds one attempt, whatever the channel; default 2 min.
	SendTimeout time.Duration
	// Sink hears of failed deliveries; nil logs them as errors.
	Sink FailureSink
	// Rand is the backoff's jitter; nil: math/rand/v2.
	Rand Rand
}

// Service manages receivers and their deliveries. Safe for concurrent use.
//
// Who may do what: everyone who may read may list and read receivers
// (secrets always read as Redacted) and deliveries; operators and admins
// may write any receiver, members only receivers owned by one of their
// teams; a receiver without owner is for operators only.
type Service struct {
	db    *db.DB
	clock clock.Clock
	box   *secret.Box
	teams TeamResolver
	opts  ServiceOptions
	log   *slog.Logger
	jobs  Jobs
}

// NewService returns the notification service. box seals the receivers'
// secrets; jobs may be set later with SetJobs (the job runner needs the
// service's worker first).
func NewService(d *db.DB, c clock.Clock, box *secret.Box, teams TeamResolver, opts ServiceOptions) *Service {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Channel.Clock == nil {
		opts.Channel.Clock = c
	}
	if opts.SendTimeout <= 0 {
		opts.SendTimeout = 2 * time.Minute
	}
	return &Service{db: d, clock: c, box: box, teams: teams, opts: opts, log: log}
}

// SetJobs sets the job runner deliveries are enqueued with; call it before
// serving.
func (s *Service) SetJobs(j Jobs) { s.jobs = j }

// SetFailureSink sets what hears of failed deliveries; call it before
// serving.
func (s *Service) SetFailureSink(f FailureSink) { s.opts.Sink = f }

// Get returns the receiver called name, secrets redacted.
func (s *Service) Get(ctx context.Context, name string) (Receiver, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return Receiver{}, err
	}
	r, err := getReceiver(ctx, s.db.Reader(), name)
	return r.Receiver, err
}

// List returns receivers by name after the cursor after; next is the
// cursor of the next page or "". limit defaults to 100, at most 1000.
func (s *Service) List(ctx context.Context, after string, limit int) (out []Receiver, next string, err error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return nil, "", err
	}
	if limit <= 0 {
		limit = 100
	}
	return listReceivers(ctx, s.db.Reader(), after, min(limit, 1000))
}

// Create creates a receiver.
func (s *Service) Create(ctx context.Context, in Input) (Receiver, error) {
	return s.put(ctx, in, 0, true)
}

// Update replaces the receiver called name; ifRevision, when not zero,
// must match. Secrets given as Redacted keep their stored values.
func (s *Service) Update(ctx context.Context, name string, in Input, ifRevision int64) (Receiver, error) {
	if in.Name != "" && in.Name != name {
		return Receiver{}, errs.Invalidf("name", "cannot be changed (was %q)", name)
	}
	in.Name = name
	if _, err := s.Get(ctx, name); err != nil {
		return Receiver{}, err
	}
	return s.put(ctx, in, ifRevision, false)
}

func (s *Service) put(ctx context.Context, in Input, ifRevision int64, mustCreate bool) (out Receiver, err error) {
	if err := identity.AuthorizeWriter(ctx); err != nil {
		return out, err
	}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		out, _, err = s.PutTx(ctx, tx, in, "", ifRevision, mustCreate)
		return err
	})
	return out, err
}

// PutTx creates or updates a receiver in tx, authorizing the actor
// against the receiver as it is and as it will be, and records the change
// in the audit log with secrets redacted; changed is false when nothing
// differed. The returned receiver has its secrets redacted.
func (s *Service) PutTx(ctx context.Context, tx *sql.Tx, in Input, origin string, ifRevision int64, mustCreate bool) (r Receiver, changed bool, err error) {
	if s.box == nil {
		return r, false, errors.New("notify: no secret box configured")
	}
	before, err := getReceiver(ctx, tx, in.Name)
	exists := err == nil
	if err != nil && !errs.Is(err, errs.NotFound) {
		return r, false, err
	}
	var stored []ChannelSpec
	if exists {
		if stored, err = s.channels(before); err != nil {
			return r, false, err
		}
	}
	full := in
	if full.Channels, err = resolve(in.Channels, stored); err != nil {
		return r, false, err
	}
	if err := full.Validate(); err != nil {
		return r, false, err
	}
	owner, err := s.authorize(ctx, tx, full.Owner, true)
	if err != nil {
		return r, false, err
	}
	pub, sec := split(full.Channels)
	r = Receiver{Name: full.Name, Labels: emptyNil(full.Labels), Spec: full.Spec}
	r.Channels = pub
	now := s.clock.Now()
	if !exists {
		sealed, err := s.seal(sec)
		if err != nil {
			return r, false, err
		}
		r.ID, r.Revision, r.CreatedAt, r.UpdatedAt, r.Origin = db.NewID(), 1, now, now, origin
		if err := insertReceiver(ctx, tx, r, owner, sealed); err != nil {
			return r, false, err
		}
		return r, true, s.record(ctx, tx, "create", r.ID, r.Name, nil, r)
	}
	if mustCreate {
		return r, false, errs.Conflictf("receiver %q already exists", in.Name)
	}
	if ifRevision != 0 && ifRevision != before.Revision {
		return r, false, errs.Preconditionf("receiver %q was changed by someone else (revision %d, you have %d); reload and retry", in.Name, before.Revision, ifRevision)
	}
	if _, err := s.authorize(ctx, tx, before.Owner, false); err != nil {
		return r, false, err
	}
	r.ID, r.CreatedAt, r.Origin = before.ID, before.CreatedAt, before.Origin
	oldFull := before.Spec
	oldFull.Channels = stored
	if sameJSON(oldFull, full.Spec) && maps.Equal(before.Labels, r.Labels) {
		return before.Receiver, false, nil
	}
	sealed, err := s.seal(sec)
	if err != nil {
		return r, false, err
	}
	r.Revision, r.UpdatedAt = before.Revision+1, now
	if err := updateReceiver(ctx, tx, r, owner, sealed); err != nil {
		return r, false, err
	}
	return r, true, s.record(ctx, tx, "update", r.ID, r.Name, before.Receiver, r)
}

// authorize checks that the actor may write a receiver owned by the team
// called owner and returns the team's id (nil without owner). Without
// owner only operators may. With mustExist a team that does not exist is
// an Invalid error; otherwise (a stored receiver whose team was deleted
// since) only operators may touch it.
func (s *Service) authorize(ctx context.Context, q db.Querier, owner string, mustExist bool) (*uuid.UUID, error) {
	if owner == "" {
		err := identity.Authorize(ctx, identity.PermWriteCatalog, uuid.Nil)
		if a := identity.ActorFrom(ctx); errs.Is(err, errs.Forbidden) && a != nil && a.Role == identity.RoleMember {
			return nil, errs.Forbiddenf("a receiver without owner is for operators only; set owner to your team")
		}
		return nil, err
	}
	id, err := s.teams.TeamID(ctx, q, "owner", owner)
	switch {
	case errs.Is(err, errs.Invalid) && !mustExist:
		return nil, identity.Authorize(ctx, identity.PermWriteCatalog, uuid.Nil)
	case err != nil:
		return nil, err
	}
	return &id, identity.Authorize(ctx, identity.PermWriteOwned, id)
}

// Delete deletes the receiver called name. Its deliveries stay, for the
// record; pending ones fail.
func (s *Service) Delete(ctx context.Context, name string, ifRevision int64) error {
	if err := identity.AuthorizeWriter(ctx); err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *sql.Tx) error { return s.DeleteTx(ctx, tx, name, ifRevision) })
}

// DeleteTx deletes a receiver in tx after authorizing the actor against it.
func (s *Service) DeleteTx(ctx context.Context, tx *sql.Tx, name string, ifRevision int64) error {
	before, err := getReceiver(ctx, tx, name)
	if err != nil {
		return err
	}
	if _, err := s.authorize(ctx, tx, before.Owner, false); err != nil {
		return err
	}
	if ifRevision != 0 && ifRevision != before.Revision {
		return errs.Preconditionf("receiver %q was changed by someone else (revision %d, you have %d); reload and retry", name, before.Revision, ifRevision)
	}
	if err := deleteReceiver(ctx, tx, before.ID); err != nil {
		return err
	}
	return s.record(ctx, tx, "delete", before.ID, name, before.Receiver, nil)
}

// record appends to the audit log; before and after are receivers as
// shown, their secrets redacted.
func (s *Service) record(ctx context.Context, tx *sql.Tx, action string, id uuid.UUID, name string, before, after any) error {
	if r, ok := before.(Receiver); ok {
		before = auditView(r)
	}
	if r, ok := after.(Receiver); ok {
		after = auditView(r)
	}
	return audit.Append(ctx, tx, s.clock.Now(), audit.Entry{
		Actor: identity.ActorFrom(ctx).Audit(), Action: action, ObjectKind: "receiver",
		ObjectID: id.String(), ObjectName: name, Before: before, After: after,
	})
}

func auditView(r Receiver) any {
	return struct {
		ID     uuid.UUID         `json:"id"`
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels,omitempty"`
		Spec
		Origin   string `json:"origin,omitempty"`
		Revision int64  `json:"revision"`
	}{r.ID, r.Name, r.Labels, r.Spec, r.Origin, r.Revision}
}

// seal seals a receiver's secrets.
func (s *Service) seal(sec []channelSecrets) (string, error) {
	b, err := json.Marshal(sec)
	if err != nil {
		return "", fmt.Errorf("seal receiver secrets: %w", err)
	}
	return s.box.Seal(b)
}

// channels returns a stored receiver's channels with their secrets.
func (s *Service) channels(r storedReceiver) ([]ChannelSpec, error) {
	var sec []channelSecrets
	if r.sealed != "" {
		if s.box == nil {
			return nil, errors.New("notify: no secret box configured")
		}
		b, err := s.box.Open(r.sealed)
		if err != nil {
			return nil, fmt.Errorf("receiver %s secrets: %w", r.Name, err)
		}
		if err := json.Unmarshal(b, &sec); err != nil {
			return nil, fmt.Errorf("receiver %s secrets: %w", r.Name, err)
		}
	}
	return join(r.Channels, sec), nil
}

func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

func emptyNil(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}
