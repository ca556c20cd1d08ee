package alert

import (
	"context"
	"database/sql"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/alert/route"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
)

// ReplaceRoute replaces the existing route in.Name, guarded by ifRevision
// (required): unlike PutRoute it refuses, with a Precondition error, to
// bring back a route that someone deleted since the caller read it. Forms
// that edit a route use it.
func (s *Service) ReplaceRoute(ctx context.Context, in RouteInput, ifRevision int64) (r Route, err error) {
	if err := identity.Authorize(ctx, identity.PermWriteCatalog, uuid.Nil); err != nil {
		return Route{}, err
	}
	if ifRevision <= 0 {
		return Route{}, errs.Preconditionf("say which revision of alert route %q you change; reload and retry", in.Name)
	}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		var rev int64
		err := tx.QueryRowContext(ctx, `SELECT revision FROM alert_routes WHERE name = $1`, in.Name).Scan(&rev)
		if db.IsNoRows(err) {
			return errs.Preconditionf("alert route %q was deleted by someone else; reload and retry", in.Name)
		}
		if err != nil {
			return err
		}
		r, _, err = s.PutRouteTx(ctx, tx, in, "", ifRevision, false)
		return err
	})
	return r, err
}

// InhibitRuleInput creates or replaces an inhibition rule.
type InhibitRuleInput struct {
	Name   string
	Labels map[string]string
	Spec   route.InhibitRule
}

// PutInhibitRule is PutInhibitRuleTx in a transaction of its own, guarded
// like PutRoute: mustCreate refuses to replace (Conflict); otherwise the
// rule must exist and ifRevision, if not zero, be its revision
// (Precondition). Objects applied from files keep their origin.
func (s *Service) PutInhibitRule(ctx context.Context, in InhibitRuleInput, ifRevision int64, mustCreate bool) (r InhibitRule, err error) {
	if err := identity.Authorize(ctx, identity.PermWriteCatalog, uuid.Nil); err != nil {
		return InhibitRule{}, err
	}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		var rev int64
		err := tx.QueryRowContext(ctx, `SELECT revision FROM alert_inhibit_rules WHERE name = $1`, in.Name).Scan(&rev)
		switch {
		case db.IsNoRows(err):
			if !mustCreate {
				return errs.Preconditionf("inhibit rule %q was deleted by someone else; reload and retry", in.Name)
			}
		case err != nil:
			return err
		case mustCreate:
			return errs.Conflictf("inhibit rule %q already exists", in.Name)
		case ifRevision != 0 && ifRevision != rev:
			return errs.Preconditionf("inhibit rule %q was changed by someone else (revision %d, you have %d); reload and retry", in.Name, rev, ifRevision)
		}
		r, _, err = s.PutInhibitRuleTx(ctx, tx, in.Name, in.Labels, in.Spec, "")
		return err
	})
	return r, err
}

// GetInhibitRule returns one inhibition rule.
func (s *Service) GetInhibitRule(ctx context.Context, name string) (InhibitRule, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return InhibitRule{}, err
	}
	r, err := scanRule(s.db.Reader().QueryRowContext(ctx, `SELECT `+ruleColumns+` FROM alert_inhibit_rules WHERE name = $1`, name))
	if db.IsNoRows(err) {
		return r, errs.NotFoundf("no inhibit rule %q", name)
	}
	return r, err
}

// DeleteInhibitRule deletes an inhibition rule in a transaction of its
// own; ifRevision, if not zero, must be its revision.
func (s *Service) DeleteInhibitRule(ctx context.Context, name string, ifRevision int64) error {
	if err := identity.Authorize(ctx, identity.PermWriteCatalog, uuid.Nil); err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		if ifRevision != 0 {
			var rev int64
			err := tx.QueryRowContext(ctx, `SELECT revision FROM alert_inhibit_rules WHERE name = $1`, name).Scan(&rev)
			if db.IsNoRows(err) {
				return errs.NotFoundf("no inhibit rule %q", name)
			}
			if err != nil {
				return err
			}
			if rev != ifRevision {
				return errs.Preconditionf("inhibit rule %q was changed by someone else (revision %d, you have %d)", name, rev, ifRevision)
			}
		}
		return s.DeleteInhibitRuleTx(ctx, tx, name)
	})
}
