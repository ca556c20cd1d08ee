package pager

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/audit"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/names"
	"groundcrew.dev/groundcrew/internal/oncall/escalation"
)

// OpenTx opens a page for an alert group in the caller's transaction (the
// alert dispatcher's, so the page exists if and only if the notification
// that opened it does). When the group already has an open page, its new
// alerts join that page instead: escalation is not restarted. The first
// step notifies at the pager's next tick. It does not authorize: the
// dispatcher calls it for the system.
func (p *Pager) OpenTx(ctx context.Context, tx *sql.Tx, in OpenInput) (Page, bool, error) {
	now := p.opts.Clock.Now()
	if in.GroupKey != "" {
		pg, ok, err := openPageOf(ctx, tx, in.GroupKey)
		if err != nil {
			return Page{}, false, err
		}
		if ok {
			added := addAlerts(&pg, in.Alerts)
			if len(added) == 0 {
				return pg, false, nil
			}
			if err := updatePage(ctx, tx, &pg, now); err != nil {
				return pg, false, err
			}
			return pg, false, insertEvent(ctx, tx, pg.ID, Event{At: now, Kind: "alerts_added", Detail: map[string]any{"alerts": added}})
		}
	}
	pol, err := p.dir.PolicyTx(ctx, tx, in.Policy)
	if err != nil {
		return Page{}, false, errs.WithField("policy", err)
	}
	summary := strings.TrimSpace(in.Summary)
	if summary == "" {
		summary = "Page for " + in.Policy
	}
	summary = clip(summary, 500)
	pg := Page{ID: db.NewID(), GroupKey: in.GroupKey, Policy: pol.Name, Service: in.Service, Team: in.Team, Summary: summary,
		Labels: in.Labels, Status: Triggered, Step: -1, NextAt: &now, CreatedAt: now, UpdatedAt: now}
	addAlerts(&pg, in.Alerts)
	if err := insertPage(ctx, tx, pg, pol.ID); err != nil {
		return Page{}, false, err
	}
	pg.version = 1
	if err := insertEvent(ctx, tx, pg.ID, Event{At: now, Kind: "opened", Actor: actorName(ctx),
		Detail: map[string]any{"policy": pol.Name, "group": in.GroupKey, "alerts": len(pg.Alerts)}}); err != nil {
		return Page{}, false, err
	}
	if err := p.tellIncidents(ctx, tx, &pg, "page_opened", "Paged "+pol.Name+": "+pg.Summary, actorName(ctx), false); err != nil {
		return Page{}, false, err
	}
	p.Wake()
	return pg, true, nil
}

// addAlerts adds the alerts pg does not list yet (up to maxAlertsPerPage)
// and returns their summaries.
func addAlerts(pg *Page, alerts []AlertRef) []string {
	var added []string
	for _, a := range alerts {
		if len(pg.Alerts) >= maxAlertsPerPage {
			break
		}
		if slices.ContainsFunc(pg.Alerts, func(b AlertRef) bool { return b.Fingerprint == a.Fingerprint && b.ID == a.ID }) {
			continue
		}
		pg.Alerts = append(pg.Alerts, a)
		added = append(added, a.Summary)
	}
	return added
}

// ResolveGroupTx resolves the open page of an alert group, if any, in the
// caller's transaction: every alert of the group resolved.
func (p *Pager) ResolveGroupTx(ctx context.Context, tx *sql.Tx, groupKey, why string) error {
	pg, ok, err := openPageOf(ctx, tx, groupKey)
	if err != nil || !ok {
		return err
	}
	return p.resolve(ctx, tx, &pg, "system", why)
}

// Open opens a page by hand: page the policy's people about summary.
func (p *Pager) Open(ctx context.Context, in OpenInput) (Page, error) {
	if err := identity.AuthorizeWriter(ctx); err != nil {
		return Page{}, err
	}
	if err := names.Check("policy", in.Policy); err != nil {
		return Page{}, err
	}
	if strings.TrimSpace(in.Summary) == "" {
		return Page{}, errs.Invalidf("summary", "is required: say what is wrong")
	}
	if err := identity.CheckLabels("labels", in.Labels); err != nil {
		return Page{}, err
	}
	in.GroupKey = ""
	var out Page
	err := p.db.InTx(ctx, func(tx *sql.Tx) error {
		pg, _, err := p.OpenTx(ctx, tx, in)
		if err != nil {
			return err
		}
		out = pg
		return p.audit(ctx, tx, "open", pg)
	})
	return out, err
}

// Acknowledge acknowledges a page: escalation stops. Acknowledging an
// acknowledged page ends its snooze; a resolved page cannot be.
func (p *Pager) Acknowledge(ctx context.Context, id uuid.UUID) (Page, error) {
	return p.change(ctx, id, "acknowledge", func(tx *sql.Tx, pg *Page, now time.Time, who string) error {
		return p.acknowledge(ctx, tx, pg, now, who, nil)
	})
}

func (p *Pager) acknowledge(ctx context.Context, tx *sql.Tx, pg *Page, now time.Time, who string, detail map[string]any) error {
	if pg.Status == Resolved {
		return errs.Conflictf("page %s is resolved", pg.ID)
	}
	if pg.Status == Acknowledged && pg.NextAt == nil {
		return nil // nothing to do
	}
	if pg.Status == Triggered {
		pg.AcknowledgedBy, pg.AcknowledgedAt = who, &now
	}
	// Anyone may take a page, but taking one you were not paged for is
	// said in its history.
	if detail == nil && who != "system" {
		var paged bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM page_sends WHERE page_id = $1 AND user_name = $2)`, pg.ID, who).Scan(&paged); err != nil {
			return fmt.Errorf("acknowledge: %w", err)
		}
		if !paged {
			detail = map[string]any{"not_paged": true}
		}
	}
	pg.Status, pg.NextAt = Acknowledged, nil
	if err := updatePage(ctx, tx, pg, now); err != nil {
		return err
	}
	if err := cancelSends(ctx, tx, pg.ID); err != nil {
		return err
	}
	if err := insertEvent(ctx, tx, pg.ID, Event{At: now, Kind: "acknowledged", Actor: who, Detail: detail}); err != nil {
		return err
	}
	return p.tellIncidents(ctx, tx, pg, "page_acknowledged", "Page acknowledged by "+who+": "+pg.Summary, who, true)
}

// Resolve resolves a page.
func (p *Pager) Resolve(ctx context.Context, id uuid.UUID) (Page, error) {
	return p.change(ctx, id, "resolve", func(tx *sql.Tx, pg *Page, now time.Time, who string) error {
		return p.resolve(ctx, tx, pg, who, "")
	})
}

func (p *Pager) resolve(ctx context.Context, tx *sql.Tx, pg *Page, who, why string) error {
	if pg.Status == Resolved {
		return nil
	}
	now := p.opts.Clock.Now()
	pg.Status, pg.NextAt, pg.ResolvedBy, pg.ResolvedAt = Resolved, nil, who, &now
	if err := updatePage(ctx, tx, pg, now); err != nil {
		return err
	}
	if err := cancelSends(ctx, tx, pg.ID); err != nil {
		return err
	}
	var detail map[string]any
	if why != "" {
		detail = map[string]any{"why": why}
	}
	if err := insertEvent(ctx, tx, pg.ID, Event{At: now, Kind: "resolved", Actor: who, Detail: detail}); err != nil {
		return err
	}
	return p.tellIncidents(ctx, tx, pg, "page_resolved", "Page resolved: "+pg.Summary, who, false)
}

// EscalateNow notifies the page's next step at once, whatever its delay
// left; an acknowledged page becomes triggered again.
func (p *Pager) EscalateNow(ctx context.Context, id uuid.UUID) (Page, error) {
	return p.change(ctx, id, "escalate", func(tx *sql.Tx, pg *Page, now time.Time, who string) error {
		if pg.Status == Resolved {
			return errs.Conflictf("page %s is resolved", pg.ID)
		}
		pol, delays, err := p.policy(ctx, tx, pg)
		if err != nil {
			return err
		}
		if pol == nil {
			return errs.Conflictf("the escalation policy %q no longer exists", pg.Policy)
		}
		next, n, _ := escalation.EscalateNow(delays, escalation.Page{Step: pg.Step, Round: pg.Round}, now)
		if next.Exhausted {
			return errs.Conflictf("page %s has no step left to escalate to (the policy is exhausted)", pg.ID)
		}
		if err := insertEvent(ctx, tx, pg.ID, Event{At: now, Kind: "escalated", Actor: who, Detail: map[string]any{"to": fmtStep(n.Step, n.Round)}}); err != nil {
			return err
		}
		if err := p.tellIncidents(ctx, tx, pg, "page_escalated", "Page escalated by "+who+" to "+fmtStep(n.Step, n.Round)+": "+pg.Summary, who, false); err != nil {
			return err
		}
		pg.Status = Triggered
		return p.notifyStep(ctx, tx, pg, pol, next, n, now)
	})
}

// MaxSnooze is the longest snooze.
const MaxSnooze = 24 * time.Hour

// Snooze acknowledges the page for d: when d ends, its current step
// notifies again and escalation goes on from there.
func (p *Pager) Snooze(ctx context.Context, id uuid.UUID, d time.Duration) (Page, error) {
	if d < time.Minute || d > MaxSnooze {
		return Page{}, errs.Invalidf("duration", "must be between 1m and %s, not %s", MaxSnooze, d)
	}
	return p.change(ctx, id, "snooze", func(tx *sql.Tx, pg *Page, now time.Time, who string) error {
		if pg.Status == Resolved {
			return errs.Conflictf("page %s is resolved", pg.ID)
		}
		// The page keeps its step: when the snooze ends, that step
		// notifies again (the pager's advance), and escalation goes on.
		until := now.Add(d)
		wasTriggered := pg.Status == Triggered
		if wasTriggered {
			pg.AcknowledgedBy, pg.AcknowledgedAt = who, &now
		}
		pg.Status, pg.NextAt, pg.Exhausted = Acknowledged, &until, false
		if err := updatePage(ctx, tx, pg, now); err != nil {
			return err
		}
		if err := cancelSends(ctx, tx, pg.ID); err != nil {
			return err
		}
		if err := insertEvent(ctx, tx, pg.ID, Event{At: now, Kind: "snoozed", Actor: who, Detail: map[string]any{"until": until}}); err != nil {
			return err
		}
		if !wasTriggered {
			return nil
		}
		return p.tellIncidents(ctx, tx, pg, "page_acknowledged", "Page snoozed by "+who+" until "+until.Format(time.RFC3339)+": "+pg.Summary, who, true)
	})
}

// change runs one person's change of a page in a transaction, with audit.
func (p *Pager) change(ctx context.Context, id uuid.UUID, action string, fn func(tx *sql.Tx, pg *Page, now time.Time, who string) error) (Page, error) {
	if err := identity.AuthorizeWriter(ctx); err != nil {
		return Page{}, err
	}
	var out Page
	err := p.db.InTx(ctx, func(tx *sql.Tx) error {
		pg, err := getPage(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := fn(tx, &pg, p.opts.Clock.Now(), actorName(ctx)); err != nil {
			return err
		}
		out = pg
		return p.audit(ctx, tx, action, pg)
	})
	if err == errConflict {
		err = errs.Conflictf("page %s changed meanwhile; reload and retry", id)
	}
	p.Wake()
	return out, err
}

func (p *Pager) audit(ctx context.Context, tx *sql.Tx, action string, pg Page) error {
	a := identity.ActorFrom(ctx)
	var who audit.Actor
	if a != nil {
		who = a.Audit()
	}
	return audit.Append(ctx, tx, p.opts.Clock.Now(), audit.Entry{Actor: who, Action: action, ObjectKind: "page",
		ObjectID: pg.ID.String(), ObjectName: pg.Summary})
}

func actorName(ctx context.Context) string {
	if a := identity.ActorFrom(ctx); a != nil {
		return a.Name
	}
	return "system"
}

// Get returns a page with its history and sends.
func (p *Pager) Get(ctx context.Context, id uuid.UUID) (Page, error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return Page{}, err
	}
	q := p.db.Reader()
	pg, err := getPage(ctx, q, id)
	if err != nil {
		return pg, err
	}
	if pg.Events, err = listEvents(ctx, q, id); err != nil {
		return pg, err
	}
	pg.Sends, err = listSends(ctx, q, id)
	return pg, err
}

// Filter selects pages.
type Filter struct {
	// Status is triggered, acknowledged, resolved, or open (either of
	// the first two); empty: all.
	Status string
	// User keeps the pages that notified this person.
	User string
	// Policy, Service, Team keep the pages of one.
	Policy, Service, Team string
	After                 string // cursor: the id of the last page seen
	Limit                 int
}

// List returns pages, newest first; next is the cursor of the next page
// of results or "".
func (p *Pager) List(ctx context.Context, f Filter) (out []Page, next string, err error) {
	if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
		return nil, "", err
	}
	var w db.Where
	switch f.Status {
	case "":
	case "open":
		w.AddPlain("status <> 'resolved'")
	case string(Triggered), string(Acknowledged), string(Resolved):
		w.Add("status = ?", f.Status)
	default:
		return nil, "", errs.Invalidf("status", "must be open, triggered, acknowledged or resolved, not %q", f.Status)
	}
	if f.Policy != "" {
		w.Add("policy = ?", f.Policy)
	}
	if f.Service != "" {
		w.Add("service = ?", f.Service)
	}
	if f.Team != "" {
		w.Add("team = ?", f.Team)
	}
	if f.User != "" {
		w.Add("id IN (SELECT page_id FROM page_sends WHERE user_name = ?)", f.User)
	}
	if f.After != "" {
		after, err := uuid.Parse(f.After)
		if err != nil {
			return nil, "", errs.Invalidf("after", "not a cursor from this API")
		}
		w.Add("id < ?", after)
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	rows, err := p.db.Reader().QueryContext(ctx, `SELECT `+pageColumns+` FROM pages`+w.SQL()+` ORDER BY id DESC LIMIT `+w.Next(f.Limit+1), w.Args...)
	if err != nil {
		return nil, "", fmt.Errorf("list pages: %w", err)
	}
	out, next, err = db.CollectPage(rows, f.Limit, func(r *sql.Rows) (Page, error) { return scanPage(r) }, func(pg Page) string { return pg.ID.String() })
	if out == nil {
		out = []Page{}
	}
	return out, next, err
}

// clip cuts s to at most n bytes on a character boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// cancelSends cancels what a page still owed people: it was acknowledged,
// snoozed or resolved. A sender that read those sends before finds them
// no longer pending and sends nothing.
func cancelSends(ctx context.Context, tx *sql.Tx, page uuid.UUID) error {
	if _, err := tx.ExecContext(ctx, `UPDATE page_sends SET status = 'cancelled' WHERE page_id = $1 AND status = 'pending'`, page); err != nil {
		return fmt.Errorf("cancel sends of page %s: %w", page, err)
	}
	return nil
}
