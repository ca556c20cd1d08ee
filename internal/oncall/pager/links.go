package pager

import (
	"context"
	"database/sql"
	"net/http"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/audit"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/notify"
	"groundcrew.dev/groundcrew/internal/signedlink"
)

// LinkTTL is how long the action links in a page's message work.
const LinkTTL = 24 * time.Hour

// Link actions.
const (
	ActionAcknowledge = "ack"
	ActionResolve     = "resolve"
)

// LinkPrefix is where the signed page links are served.
const LinkPrefix = "/p/"

// links returns the signed, expiring acknowledge and resolve links of a
// page (they work without an account: the signature is the credential).
func (p *Pager) links(id uuid.UUID, now time.Time) notify.Links {
	if p.opts.Signer == nil || p.opts.BaseURL == "" {
		return notify.Links{}
	}
	l, exp := p.signed(), now.Add(LinkTTL)
	return notify.Links{Acknowledge: l.URL(p.opts.BaseURL, LinkPrefix, ActionAcknowledge, id, exp), Resolve: l.URL(p.opts.BaseURL, LinkPrefix, ActionResolve, id, exp)}
}

// errBadLink is returned for a link that is forged, altered or expired.
var errBadLink = errs.Forbiddenf("this link is not valid or has expired; open the page in groundcrew instead")

func (p *Pager) signed() signedlink.Links {
	return signedlink.Links{Signer: p.opts.Signer, Kind: "page/", Actions: []string{ActionAcknowledge, ActionResolve}, Bad: errBadLink}
}

// CheckLink verifies a signed link's parts and returns the page's id.
func (p *Pager) CheckLink(action, id, exp, sig string) (uuid.UUID, error) {
	return p.signed().Check(p.opts.Clock.Now(), action, id, exp, sig)
}

// ActByLink acknowledges or resolves a page through a signed link; its
// history and the audit log say so. Acknowledging an acknowledged page or
// resolving a resolved one changes nothing.
func (p *Pager) ActByLink(ctx context.Context, action, id, exp, sig, addr string) (Page, error) {
	pid, err := p.CheckLink(action, id, exp, sig)
	if err != nil {
		return Page{}, err
	}
	var out Page
	err = p.db.InTx(ctx, func(tx *sql.Tx) error {
		pg, err := getPage(ctx, tx, pid)
		if err != nil {
			return err
		}
		now := p.opts.Clock.Now()
		detail := map[string]any{"via": "link in a message"}
		switch {
		case action == ActionResolve:
			err = p.resolve(ctx, tx, &pg, "signed link", "")
		case pg.Status == Resolved:
			err = nil // nothing left to acknowledge
		default:
			err = p.acknowledge(ctx, tx, &pg, now, "signed link", detail)
		}
		if err != nil {
			return err
		}
		out = pg
		return audit.Append(ctx, tx, now, audit.Entry{Actor: audit.Actor{Name: "signed-link", Addr: addr}, Action: action,
			ObjectKind: "page", ObjectID: pg.ID.String(), ObjectName: pg.Summary})
	})
	if err == errConflict {
		err = errs.Conflictf("the page changed meanwhile; try again")
	}
	p.Wake()
	return out, err
}

// LinkHandler serves the signed page links at LinkPrefix: GET asks to
// confirm, POST acts.
func (p *Pager) LinkHandler() http.Handler {
	return signedlink.Handler(signedlink.Spec{
		Prefix: LinkPrefix, Where: "the page",
		Actions: map[string]signedlink.Action{
			ActionAcknowledge: {Title: "Acknowledge page", Question: "Acknowledge this page? Escalation stops: you are on it.", Button: "Acknowledge", Done: "Acknowledged"},
			ActionResolve:     {Title: "Resolve page", Question: "Resolve this page?", Button: "Resolve", Done: "Resolved"},
		},
		Describe: func(ctx context.Context, action, id, exp, sig string) (string, error) {
			pid, err := p.CheckLink(action, id, exp, sig)
			if err != nil {
				return "", err
			}
			pg, err := getPage(ctx, p.db.Reader(), pid)
			return pg.Summary, err
		},
		Act: func(ctx context.Context, action, id, exp, sig, addr string) (string, error) {
			pg, err := p.ActByLink(ctx, action, id, exp, sig, addr)
			return pg.Summary, err
		},
	})
}
