package ui

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
	paging "groundcrew.dev/groundcrew/internal/oncall/pager"
)

// requirePager reports a missing pager as a page that does not exist, for
// UIs built without one (as some tests do).
func (u *UI) requirePager() error {
	if u.cfg.Pager == nil {
		return errs.NotFoundf("paging is not enabled on this server")
	}
	return nil
}

type pagesData struct {
	Tabs     []alertTab
	Statuses []string
	Status   string // open (default), resolved or all
	Mine     bool
	Pages    []paging.Page
	pager
}

// listPages lists pages: open ones by default, the person's own with
// mine=1.
func (u *UI) listPages(w http.ResponseWriter, r *http.Request) error {
	if err := u.requirePager(); err != nil {
		return err
	}
	q := r.URL.Query()
	d := pagesData{Tabs: onCallTabs("/oncall/pages"), Statuses: []string{"open", "triggered", "acknowledged", "resolved", "all"},
		Status: q.Get("status"), Mine: q.Get("mine") == "1"}
	f := paging.Filter{Status: d.Status, After: q.Get("after"), Limit: listLimit}
	switch d.Status {
	case "", "open":
		d.Status, f.Status = "open", "open"
	case "all":
		f.Status = ""
	case "resolved", "triggered", "acknowledged":
	default:
		return errs.Invalidf("status", "must be open, triggered, acknowledged, resolved or all")
	}
	if a := identity.ActorFrom(r.Context()); d.Mine && a != nil {
		f.User = a.Name
	}
	list, next, err := u.cfg.Pager.List(r.Context(), f)
	if err != nil {
		return err
	}
	d.Pages = list
	v := url.Values{"status": {d.Status}}
	if d.Mine {
		v.Set("mine", "1")
	}
	d.pager = newPager("/oncall/pages", v, q.Get("after"), next)
	u.render(w, r, http.StatusOK, "pages", "Pages", d)
	return nil
}

type pageData struct {
	P          paging.Page
	DeclareURL string // declare an incident from the page, the form filled in
	Snooze     []string
}

func (u *UI) pageID(r *http.Request) (uuid.UUID, error) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return id, errs.NotFoundf("no page %q", truncate(r.PathValue("id"), 40))
	}
	return id, nil
}

// showPage shows a page: its state, alerts, history and sends, with the
// actions.
func (u *UI) showPage(w http.ResponseWriter, r *http.Request) error {
	if err := u.requirePager(); err != nil {
		return err
	}
	id, err := u.pageID(r)
	if err != nil {
		return err
	}
	pg, err := u.cfg.Pager.Get(r.Context(), id)
	if err != nil {
		return err
	}
	d := pageData{P: pg, Snooze: []string{"15m", "30m", "1h", "2h", "4h"}}
	v := url.Values{"title": {pg.Summary}}
	if pg.Service != "" {
		v.Set("services", pg.Service)
	}
	if len(pg.Alerts) > 0 && pg.Alerts[0].ID != uuid.Nil {
		v.Set("alert", pg.Alerts[0].ID.String())
	}
	d.DeclareURL = "/incidents?" + v.Encode()
	u.render(w, r, http.StatusOK, "page", "Page: "+pg.Summary, d)
	return nil
}

// actOnPage acknowledges, resolves, escalates or snoozes a page.
func (u *UI) actOnPage(w http.ResponseWriter, r *http.Request) error {
	if err := u.requirePager(); err != nil {
		return err
	}
	id, err := u.pageID(r)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return errs.Invalidf("form", "unreadable form")
	}
	ctx := r.Context()
	var pg paging.Page
	var done string
	switch r.PathValue("action") {
	case "acknowledge":
		pg, err = u.cfg.Pager.Acknowledge(ctx, id)
		done = "Acknowledged: escalation stopped."
	case "resolve":
		pg, err = u.cfg.Pager.Resolve(ctx, id)
		done = "Resolved."
	case "escalate":
		pg, err = u.cfg.Pager.EscalateNow(ctx, id)
		done = "Escalated: the next step is being notified."
	case "snooze":
		d, perr := time.ParseDuration(strings.TrimSpace(r.PostForm.Get("duration")))
		if perr != nil {
			return errs.Invalidf("duration", "choose how long to snooze")
		}
		pg, err = u.cfg.Pager.Snooze(ctx, id, d)
		done = "Snoozed for " + d.String() + ": the current step notifies again then."
	default:
		return errs.NotFoundf("no such action")
	}
	if err != nil {
		return err
	}
	back := "/oncall/pages/" + pg.ID.String()
	if r.PostForm.Get("back") == "list" {
		back = "/oncall/pages"
	}
	u.redirect(w, r, back, done)
	return nil
}
