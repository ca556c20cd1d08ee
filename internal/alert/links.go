package alert

import (
	"context"
	"database/sql"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/audit"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/notify"
	"groundcrew.dev/groundcrew/internal/signedlink"
)

// Signer signs and verifies action links; secret.Box implements it.
type Signer = signedlink.Signer

// LinkTTL is how long the action links in a notification work.
const LinkTTL = 7 * 24 * time.Hour

// Link actions.
const (
	ActionAcknowledge = "ack"
	ActionResolve     = "resolve"
)

// SetLinks makes notifications carry signed acknowledge and resolve links
// under baseURL (groundcrew's address as people reach it), valid for
// LinkTTL. Call it before serving.
func (s *Service) SetLinks(signer Signer, baseURL string) {
	s.signer, s.baseURL = signer, strings.TrimRight(baseURL, "/")
}

// ActionLinks returns the links of an alert's notification: signed,
// expiring acknowledge and resolve links (they work without an account:
// the signature is the credential) and a link to its page for silencing.
// Empty without SetLinks.
func (s *Service) ActionLinks(id uuid.UUID, now time.Time) notify.Links {
	if s.signer == nil || s.baseURL == "" || id == uuid.Nil {
		return notify.Links{}
	}
	l, exp := s.links(), now.Add(LinkTTL)
	return notify.Links{Acknowledge: l.URL(s.baseURL, "/a/", ActionAcknowledge, id, exp), Resolve: l.URL(s.baseURL, "/a/", ActionResolve, id, exp),
		Silence: s.baseURL + "/alerts/" + id.String()}
}

// errBadLink is returned for a link that is forged, altered or expired.
var errBadLink = errs.Forbiddenf("this link is not valid or has expired; open the alert in groundcrew instead")

func (s *Service) links() signedlink.Links {
	return signedlink.Links{Signer: s.signer, Actions: []string{ActionAcknowledge, ActionResolve}, Bad: errBadLink}
}

// CheckLink verifies a signed link's parts.
func (s *Service) CheckLink(action, id, exp, sig string) (uuid.UUID, error) {
	return s.links().Check(s.clock.Now(), action, id, exp, sig)
}

// ActByLink acknowledges or resolves an alert through a signed link; the
// history and the audit log say so. Acknowledging an acknowledged alert
// or resolving a resolved one changes nothing.
func (s *Service) ActByLink(ctx context.Context, action, id, exp, sig, addr string) (Alert, error) {
	aid, err := s.CheckLink(action, id, exp, sig)
	if err != nil {
		return Alert{}, err
	}
	now := s.clock.Now()
	var out Alert
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		a, err := scanAlert(tx.QueryRowContext(ctx, `SELECT `+alertColumns+` WHERE a.id = $1`, aid))
		if db.IsNoRows(err) {
			return errs.NotFoundf("no such alert")
		}
		if err != nil {
			return err
		}
		out = a
		if a.Status != Firing || (action == ActionAcknowledge && a.AcknowledgedAt != nil) {
			return nil
		}
		kind := EventAcknowledged
		switch action {
		case ActionAcknowledge:
			err = acknowledgeAlert(ctx, tx, aid, now)
			out.AcknowledgedAt = &now
		default:
			kind = EventResolved
			err = resolveAlert(ctx, tx, aid, now, now)
			out.Status, out.EndsAt = Resolved, &now
		}
		if err != nil {
			return err
		}
		if err := insertEvent(ctx, tx, aid, now, kind, "signed link", uuid.Nil, map[string]any{"via": "link in a notification"}); err != nil {
			return err
		}
		return audit.Append(ctx, tx, now, audit.Entry{Actor: audit.Actor{Name: "signed-link", Addr: addr}, Action: string(kind),
			ObjectKind: "alert", ObjectID: aid.String(), ObjectName: a.Summary})
	})
	return out, err
}

// LinkHandler serves the signed action links: GET shows what the link
// will do and asks to confirm (mail scanners follow links; they must not
// acknowledge), POST does it. Mount it at /a/.
func (s *Service) LinkHandler() http.Handler {
	return signedlink.Handler(signedlink.Spec{
		Prefix: "/a/", Where: "the alert",
		Actions: map[string]signedlink.Action{
			ActionAcknowledge: {Title: "Acknowledge alert", Question: "Acknowledge this alert? Escalation for it stops.", Button: "Acknowledge", Done: "Acknowledged"},
			ActionResolve:     {Title: "Resolve alert", Question: "Resolve this alert?", Button: "Resolve", Done: "Resolved"},
		},
		Describe: func(ctx context.Context, action, id, exp, sig string) (string, error) {
			aid, err := s.CheckLink(action, id, exp, sig)
			if err != nil {
				return "", err
			}
			var summary string
			_ = s.db.Reader().QueryRowContext(ctx, `SELECT summary FROM alerts WHERE id = $1`, aid).Scan(&summary)
			return summary, nil
		},
		Act: func(ctx context.Context, action, id, exp, sig, addr string) (string, error) {
			a, err := s.ActByLink(ctx, action, id, exp, sig, addr)
			return a.Summary, err
		},
	})
}
