package pager

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/notify"
	"groundcrew.dev/groundcrew/internal/oncall"
	"groundcrew.dev/groundcrew/internal/oncall/escalation"
)

// SetBaseURL sets groundcrew's address for links in messages (known once
// the server listens); call it before Start.
func (p *Pager) SetBaseURL(u string) { p.opts.BaseURL = u }

// Start runs the pager until Stop.
func (p *Pager) Start(ctx context.Context) {
	ctx, p.cancel = context.WithCancel(context.WithoutCancel(ctx))
	p.done = make(chan struct{})
	go p.loop(ctx)
}

// Stop stops the pager and gives up leadership.
func (p *Pager) Stop(ctx context.Context) {
	if p.cancel == nil {
		return
	}
	p.cancel()
	select {
	case <-p.done:
	case <-ctx.Done():
	}
	if p.opts.Leader != nil {
		p.opts.Leader.Release(ctx)
	}
}

// Wake asks the pager to look at due steps now. It never blocks.
func (p *Pager) Wake() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *Pager) loop(ctx context.Context) {
	defer close(p.done)
	t := time.NewTicker(p.opts.Tick)
	defer t.Stop()
	for {
		if err := p.Tick(ctx); err != nil && ctx.Err() == nil {
			p.log.Error("pager", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-p.wake:
		}
	}
}

// Tick notifies every due step and sends every due message, once. Tests
// call it directly.
func (p *Pager) Tick(ctx context.Context) error {
	if p.opts.Leader != nil && !p.opts.Leader.Held(ctx) {
		return nil
	}
	ctx = identity.WithActor(ctx, identity.System())
	now := p.opts.Clock.Now()
	return errors.Join(p.advanceDue(ctx, now), p.sendDue(ctx, now))
}

// advanceDue notifies the due step of every due page; a page that fell
// behind (the server was down) catches up step by step, each stamped with
// when it was due.
func (p *Pager) advanceDue(ctx context.Context, now time.Time) error {
	rows, err := p.db.Reader().QueryContext(ctx, `SELECT id FROM pages WHERE next_at IS NOT NULL AND next_at <= $1 AND status <> 'resolved'
		ORDER BY next_at LIMIT 1000`, now)
	if err != nil {
		return fmt.Errorf("due pages: %w", err)
	}
	ids, err := db.CollectRows(rows, func(sc *sql.Rows) (uuid.UUID, error) {
		var id uuid.UUID
		return id, sc.Scan(&id)
	})
	if err != nil {
		return fmt.Errorf("due pages: %w", err)
	}
	var failed []error
	for _, id := range ids {
		for range oncall.MaxSteps * (oncall.MaxRepeat + 1) {
			more, err := p.advance(ctx, id, now)
			if errors.Is(err, errConflict) {
				break // someone else moved it
			}
			if err != nil {
				failed = append(failed, fmt.Errorf("page %s: %w", id, err))
				break
			}
			if !more {
				break
			}
		}
	}
	return errors.Join(failed...)
}

// advance notifies page id's next step if it is due and reports whether
// another is due already.
func (p *Pager) advance(ctx context.Context, id uuid.UUID, now time.Time) (more bool, err error) {
	err = p.db.InTx(ctx, func(tx *sql.Tx) error {
		pg, err := getPage(ctx, tx, id)
		if err != nil {
			return err
		}
		if pg.Status == Resolved || pg.NextAt == nil || pg.NextAt.After(now) {
			return nil
		}
		pol, ep, err := p.policy(ctx, tx, &pg)
		if err != nil || pol == nil {
			return err
		}
		var next escalation.Page
		var n escalation.Notify
		ok := true
		if pg.Status == Acknowledged {
			// A snooze ended: the step it interrupted notifies again.
			next, n = escalation.Resume(ep, escalation.Page{Step: pg.Step, Round: pg.Round}, *pg.NextAt)
		} else {
			next, n, ok = escalation.Advance(ep, escalation.Page{Step: pg.Step, Round: pg.Round, Next: *pg.NextAt}, now)
		}
		if !ok {
			pg.Exhausted, pg.NextAt = true, nil
			if err := updatePage(ctx, tx, &pg, now); err != nil {
				return err
			}
			return insertEvent(ctx, tx, pg.ID, Event{At: now, Kind: "exhausted",
				Detail: map[string]any{"why": "every step notified; nobody acknowledged"}})
		}
		if pg.Status == Acknowledged {
			// A snooze ended.
			pg.Status = Triggered
			if err := insertEvent(ctx, tx, pg.ID, Event{At: n.At, Kind: "snooze_ended"}); err != nil {
				return err
			}
		}
		if err := p.notifyStep(ctx, tx, &pg, pol, next, n, now); err != nil {
			return err
		}
		more = next.Due(now)
		return nil
	})
	return more, err
}

// policy loads a page's policy. A policy that no longer exists ends the
// page's escalation (recorded) and returns nil.
func (p *Pager) policy(ctx context.Context, tx *sql.Tx, pg *Page) (*oncall.EscalationPolicy, escalation.Policy, error) {
	pol, err := p.dir.PolicyTx(ctx, tx, pg.Policy)
	if errs.Is(err, errs.NotFound) {
		pg.Exhausted, pg.NextAt = true, nil
		if err := updatePage(ctx, tx, pg, p.opts.Clock.Now()); err != nil {
			return nil, escalation.Policy{}, err
		}
		return nil, escalation.Policy{}, insertEvent(ctx, tx, pg.ID, Event{At: p.opts.Clock.Now(), Kind: "policy_missing",
			Detail: map[string]any{"policy": pg.Policy}})
	}
	if err != nil {
		return nil, escalation.Policy{}, err
	}
	ep := escalation.Policy{Repeat: pol.Spec.Repeat}
	for _, st := range pol.Spec.Steps {
		d, err := st.Wait()
		if err != nil {
			return nil, ep, err
		}
		ep.Delays = append(ep.Delays, d)
	}
	if pg.Step >= len(ep.Delays) { // the policy lost steps since
		pg.Step = len(ep.Delays) - 1
	}
	return &pol, ep, nil
}

// notifyStep records the notification n of pg's policy step — one send
// per recipient and contact method, due after the person's rule delay —
// and moves pg to next.
func (p *Pager) notifyStep(ctx context.Context, tx *sql.Tx, pg *Page, pol *oncall.EscalationPolicy, next escalation.Page, n escalation.Notify, now time.Time) error {
	st := pol.Spec.Steps[n.Step]
	users, err := p.dir.Recipients(ctx, st, n.At)
	if err != nil {
		return err
	}
	pg.seq++
	pg.Step, pg.Round, pg.Exhausted = next.Step, next.Round, next.Exhausted
	pg.NextAt = nil
	if !next.Next.IsZero() {
		t := next.Next
		pg.NextAt = &t
	}
	if err := updatePage(ctx, tx, pg, now); err != nil {
		return err
	}
	step := fmtStep(n.Step, n.Round)
	var reached, unreachable []string
	for _, u := range users {
		contacts, err := p.dir.ContactsTx(ctx, tx, u)
		if err != nil {
			return err
		}
		if len(contacts) == 0 {
			unreachable = append(unreachable, u)
			continue
		}
		reached = append(reached, u)
		for _, c := range contacts {
			if err := insertSend(ctx, tx, pg.ID, pg.seq, n.Step, n.Round, u, c.MethodID, n.At.Add(c.Delay), now); err != nil {
				return err
			}
		}
	}
	targets := make([]string, 0, len(st.Targets))
	for _, t := range st.Targets {
		kind, name := t.Kind()
		targets = append(targets, kind+" "+name)
	}
	if err := insertEvent(ctx, tx, pg.ID, Event{At: n.At, Kind: "notified",
		Detail: map[string]any{"step": step, "targets": targets, "users": reached}}); err != nil {
		return err
	}
	if len(users) == 0 {
		p.log.Warn("page: nobody to notify", "page", pg.ID, "policy", pg.Policy, "step", step)
		if err := insertEvent(ctx, tx, pg.ID, Event{At: n.At, Kind: "nobody_on_call",
			Detail: map[string]any{"step": step, "targets": targets}}); err != nil {
			return err
		}
	}
	if len(unreachable) > 0 {
		if err := insertEvent(ctx, tx, pg.ID, Event{At: n.At, Kind: "unreachable",
			Detail: map[string]any{"step": step, "users": unreachable, "why": "no contact methods"}}); err != nil {
			return err
		}
	}
	if pg.Exhausted {
		return insertEvent(ctx, tx, pg.ID, Event{At: n.At, Kind: "exhausted", Detail: map[string]any{"why": "the last step of the last round notified"}})
	}
	return nil
}

// dueSend is a pending send as the sender sees it.
type dueSend struct {
	id      uuid.UUID
	page    uuid.UUID
	step    int
	round   int
	user    string
	method  uuid.UUID
	name    string
	typ     string
	address string
	due     time.Time
	status  Status
}

// sendDue sends, per contact method, one message bundling its due sends —
// after BundleWait, within the Throttle — and cancels those of pages
// acknowledged or resolved meanwhile.
func (p *Pager) sendDue(ctx context.Context, now time.Time) error {
	// The contact methods with something due, oldest first — each then
	// read on its own, so that a method held by its throttle or its
	// bundling wait never keeps the others' sends out of a read.
	rows, err := p.db.Reader().QueryContext(ctx, `SELECT contact_method_id FROM page_sends WHERE status = 'pending' AND due_at <= $1
		GROUP BY contact_method_id ORDER BY MIN(due_at) LIMIT 1000`, now)
	if err != nil {
		return fmt.Errorf("due contacts: %w", err)
	}
	methods, err := db.CollectRows(rows, func(r *sql.Rows) (uuid.UUID, error) {
		var id uuid.UUID
		return id, r.Scan(&id)
	})
	if err != nil {
		return fmt.Errorf("due contacts: %w", err)
	}
	var failed []error
	for _, m := range methods {
		rows, err := p.db.Reader().QueryContext(ctx, `SELECT s.id, s.page_id, s.step, s.round, s.user_name, s.contact_method_id, m.name, m.type,
			m.address, s.due_at, pg.status
			FROM page_sends s JOIN pages pg ON pg.id = s.page_id JOIN oncall_contact_methods m ON m.id = s.contact_method_id
			WHERE s.contact_method_id = $1 AND s.status = 'pending' AND s.due_at <= $2 ORDER BY s.due_at LIMIT 1000`, m, now)
		if err != nil {
			return fmt.Errorf("due sends: %w", err)
		}
		sends, err := db.CollectRows(rows, func(sc *sql.Rows) (dueSend, error) {
			var s dueSend
			err := sc.Scan(&s.id, &s.page, &s.step, &s.round, &s.user, &s.method, &s.name, &s.typ, &s.address, &s.due, &s.status)
			s.due = s.due.UTC()
			return s, err
		})
		if err != nil {
			return fmt.Errorf("due sends: %w", err)
		}
		if len(sends) == 0 {
			continue
		}
		if err := p.sendTo(ctx, sends, now); err != nil && !errors.Is(err, errConflict) {
			failed = append(failed, fmt.Errorf("contact %s/%s: %w", sends[0].user, sends[0].name, err))
		}
	}
	return errors.Join(failed...)
}

// sendTo sends the due sends of one contact method.
func (p *Pager) sendTo(ctx context.Context, sends []dueSend, now time.Time) error {
	var live, dead []dueSend
	for _, s := range sends {
		if s.status == Triggered {
			live = append(live, s)
		} else {
			dead = append(dead, s)
		}
	}
	if len(live) > 0 && now.Before(live[0].due.Add(p.opts.BundleWait)) {
		live = nil // wait for others to join the message
	}
	if len(live) == 0 && len(dead) == 0 {
		return nil
	}
	c := sends[0]
	return p.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := markSends(ctx, tx, dead, "cancelled", nil); err != nil {
			return err
		}
		if len(live) == 0 {
			return nil
		}
		var sent int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM page_messages WHERE contact_method_id = $1 AND sent_at > $2`,
			c.method, now.Add(-p.opts.Throttle.Window)).Scan(&sent); err != nil {
			return fmt.Errorf("throttle: %w", err)
		}
		if sent >= p.opts.Throttle.Messages {
			return nil // the next message bundles these
		}
		pages, err := p.pagesOf(ctx, tx, live)
		if err != nil {
			return err
		}
		label := c.user + "/" + c.name
		d, err := p.notify.EnqueueDirect(ctx, tx, notify.Target{Label: label, Type: c.typ, Address: c.address, Mailer: p.opts.Mailer},
			p.message(pages, live, now))
		failure := ""
		if errs.Is(err, errs.Invalid) {
			// A contact that cannot be sent to (no mailer, a bad
			// address) must not hold the others up: its sends are
			// cancelled — never counted as reached — and the pages say
			// why.
			failure, err = errs.MessageOf(err), nil
			p.log.Warn("page message not sent", "user", c.user, "method", c.name, "err", failure)
		}
		if err != nil {
			return err
		}
		if failure != "" {
			if err := markSends(ctx, tx, live, "cancelled", nil); err != nil {
				return err
			}
		} else {
			msg := db.NewID()
			if err := markSends(ctx, tx, live, "sent", &msg); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO page_messages (id, contact_method_id, user_name, delivery_id, pages, sent_at)
				VALUES ($1, $2, $3, $4, $5, $6)`, msg, c.method, c.user, d.ID, len(pages), now); err != nil {
				return fmt.Errorf("record message: %w", err)
			}
		}
		for _, pg := range pages {
			detail := map[string]any{"user": c.user, "method": c.name, "type": c.typ, "pages_in_message": len(pages)}
			kind := "message"
			if failure != "" {
				kind, detail["error"] = "message_failed", failure
			} else {
				detail["delivery"] = d.ID
			}
			if err := insertEvent(ctx, tx, pg.ID, Event{At: now, Kind: kind, Detail: detail}); err != nil {
				return err
			}
		}
		return nil
	})
}

// markSends moves pending sends to status; errConflict when one was no
// longer pending (another replica sent it).
func markSends(ctx context.Context, tx *sql.Tx, sends []dueSend, status string, msg *uuid.UUID) error {
	for _, s := range sends {
		res, err := tx.ExecContext(ctx, `UPDATE page_sends SET status = $1, message_id = $2 WHERE id = $3 AND status = 'pending'`, status, msg, s.id)
		if err != nil {
			return fmt.Errorf("mark send: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return errConflict
		}
	}
	return nil
}

// pagesOf loads the pages of sends, in the order they appear.
func (p *Pager) pagesOf(ctx context.Context, tx *sql.Tx, sends []dueSend) ([]Page, error) {
	var out []Page
	for _, s := range sends {
		if slices.ContainsFunc(out, func(pg Page) bool { return pg.ID == s.page }) {
			continue
		}
		pg, err := getPage(ctx, tx, s.page)
		if err != nil {
			return nil, err
		}
		out = append(out, pg)
	}
	return out, nil
}

// message renders the pages of one message as a notification: one
// "alert" per page, with its own acknowledge and resolve links.
func (p *Pager) message(pages []Page, sends []dueSend, now time.Time) *notify.Notification {
	n := &notify.Notification{Reason: notify.ReasonFirst, ExternalURL: p.opts.BaseURL, CommonLabels: map[string]string{},
		CommonAnnotations: map[string]string{}}
	for _, pg := range pages {
		var s dueSend
		for _, x := range sends {
			if x.page == pg.ID {
				s = x
				break
			}
		}
		labels := map[string]string{"page": pg.ID.String(), "policy": pg.Policy}
		for k, v := range pg.Labels {
			if _, set := labels[k]; !set {
				labels[k] = v
			}
		}
		desc := fmt.Sprintf("Paged by escalation policy %s, %s.", pg.Policy, fmtStep(s.step, s.round))
		if len(pg.Alerts) > 0 {
			desc += fmt.Sprintf(" %d alert(s).", len(pg.Alerts))
		}
		n.Alerts = append(n.Alerts, notify.Alert{Status: notify.Firing, Labels: labels, StartsAt: pg.CreatedAt, Fingerprint: pg.ID.String(),
			Annotations: map[string]string{"summary": pg.Summary, "description": desc}, GeneratorURL: p.pageURL(pg.ID),
			Links: p.links(pg.ID, now)})
	}
	if len(pages) == 1 {
		n.GroupKey = "page:" + pages[0].ID.String()
		n.GroupLabels = map[string]string{"page": pages[0].Summary}
		n.Links = n.Alerts[0].Links
		n.CommonAnnotations["summary"] = pages[0].Summary
	} else {
		n.GroupKey = "pages"
		var titles []string
		for _, pg := range pages[:min(3, len(pages))] {
			titles = append(titles, pg.Summary)
		}
		more := ""
		if len(pages) > 3 {
			more = fmt.Sprintf(" and %d more", len(pages)-3)
		}
		n.GroupLabels = map[string]string{"pages": fmt.Sprintf("%d pages: %s%s", len(pages), strings.Join(titles, "; "), more)}
	}
	return n
}

func (p *Pager) pageURL(id uuid.UUID) string {
	if p.opts.BaseURL == "" {
		return ""
	}
	return strings.TrimRight(p.opts.BaseURL, "/") + "/pages/" + id.String()
}
