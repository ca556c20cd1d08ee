package alert

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
)

// List returns alerts newest first; next is the cursor of the next page,
// or "" on the last. A page may hold fewer than Limit alerts when a label
// matcher is used.
func (s *Service) List(ctx context.Context, f Filter) ([]Alert, string, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return nil, "", err
	}
	switch f.Status {
	case "", Firing, Resolved:
	default:
		return nil, "", errs.Invalidf("status", "%q is not a status: want firing or resolved", f.Status)
	}
	s.flushBeforeRead(ctx)
	return listAlerts(ctx, s.db.Reader(), f)
}

// flushBeforeRead writes pending leases, so that this replica reads its
// own refreshes; if it cannot, the read goes on, at most LeaseFlush behind.
func (s *Service) flushBeforeRead(ctx context.Context) {
	if err := s.FlushLeases(ctx); err != nil && ctx.Err() == nil {
		s.log.Warn("write refreshed alerts before reading", "err", err)
	}
}

// Detail is an alert with its history.
type Detail struct {
	Alert
	History []Event `json:"history"`
}

// Get returns an alert with its history. ref is the alert's id, or a
// fingerprint or dedup key (then the newest alert with it).
func (s *Service) Get(ctx context.Context, ref string) (Detail, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return Detail{}, err
	}
	s.flushBeforeRead(ctx)
	q := s.db.Reader()
	var a Alert
	var err error
	if id, perr := uuid.Parse(ref); perr == nil && len(ref) == 36 {
		a, err = scanAlert(q.QueryRowContext(ctx, `SELECT `+alertColumns+` WHERE a.id = $1`, id))
	} else {
		a, err = scanAlert(q.QueryRowContext(ctx, `SELECT `+alertColumns+` WHERE a.fingerprint = $1 OR a.dedup_key = $1
			ORDER BY a.starts_at DESC, a.id DESC LIMIT 1`, ref))
	}
	if db.IsNoRows(err) {
		return Detail{}, errs.NotFoundf("no alert %q", truncate(ref, 100))
	}
	if err != nil {
		return Detail{}, fmt.Errorf("get alert: %w", err)
	}
	h, err := listEvents(ctx, q, a.ID)
	if err != nil {
		return Detail{}, err
	}
	return Detail{Alert: a, History: h}, nil
}

// RaiseInput is an alert a person raises (or resolves) through the API.
type RaiseInput struct {
	Labels      map[string]string `json:"labels" doc:"identify the alert (its fingerprint) unless dedup_key is given"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Summary     string            `json:"summary,omitempty"`
	Severity    string            `json:"severity,omitempty"`
	Service     string            `json:"service,omitempty" doc:"the catalog service it concerns; members may raise alerts only for their teams' services"`
	DedupKey    string            `json:"dedup_key,omitempty"`
	Status      Status            `json:"status,omitempty" enum:"firing,resolved," doc:"default firing"`
}

// Raise fires (or, with status resolved, resolves) an alert on behalf of
// the person in ctx. Operators and admins may raise any alert; members
// only for a service their team owns. The change is audited.
func (s *Service) Raise(ctx context.Context, in RaiseInput) (Alert, error) {
	if err := identity.AuthorizeWriter(ctx); err != nil {
		return Alert{}, err
	}
	a := identity.ActorFrom(ctx)
	inc := Incoming{Labels: in.Labels, Annotations: in.Annotations, Summary: strings.TrimSpace(in.Summary), Severity: in.Severity,
		DedupKey: in.DedupKey, Service: in.Service, Resolve: in.Status == Resolved}
	if in.Status != "" && in.Status != Firing && in.Status != Resolved {
		return Alert{}, errs.Invalidf("status", "%q is not a status: want firing or resolved", in.Status)
	}
	now := s.clock.Now()
	if err := inc.Validate(now, s.opts.MaxFuture); err != nil {
		return Alert{}, err
	}
	var out Alert
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		o := origin{source: SourceAPI, scope: "api", actor: "user/" + a.Name}
		owner := uuid.Nil
		if in.Service != "" {
			id, ow, _, err := s.cat.ServiceRef(ctx, tx, "service", in.Service)
			if err != nil {
				return err
			}
			o.service, owner = id, ow
		}
		if err := identity.Authorize(ctx, identity.PermWriteOwned, owner); err != nil {
			return err
		}
		got, err := s.ingestTx(ctx, tx, o, []Incoming{inc}, now)
		if err != nil {
			return err
		}
		if got[0].ID == uuid.Nil {
			return errs.NotFoundf("no firing alert to resolve")
		}
		out, err = scanAlert(tx.QueryRowContext(ctx, `SELECT `+alertColumns+` WHERE a.id = $1`, got[0].ID))
		if err != nil {
			return fmt.Errorf("read alert: %w", err)
		}
		action := "raise"
		if inc.Resolve {
			action = "resolve"
		}
		return s.record(ctx, tx, action, "alert", out.ID.String(), out.Summary, nil, out)
	})
	return out, err
}
