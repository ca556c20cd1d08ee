package ui

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/oncall"
	"groundcrew.dev/groundcrew/internal/oncall/schedule"
)

const (
	// gapHorizon is how far ahead the on-call page looks for coverage gaps.
	gapHorizon = 14 * 24 * time.Hour
	// icalPath is where the server serves calendar feeds (api.ICalPath;
	// the UI does not import the API, server wires both).
	icalPath = "/ical/"
)

// requireOnCall reports a missing on-call service as a page that does not
// exist, for UIs built without it (as some tests do).
func (u *UI) requireOnCall() error {
	if u.cfg.OnCall == nil {
		return errs.NotFoundf("on-call is not enabled on this server")
	}
	return nil
}

// onCallTabs is the sub-navigation of the on-call pages.
func onCallTabs(current string) []alertTab {
	tabs := []alertTab{{Label: "On call now", URL: "/oncall"}, {Label: "Pages", URL: "/oncall/pages"}, {Label: "Escalation policies", URL: "/oncall/policies"}, {Label: "Load", URL: "/oncall/load"}}
	for i := range tabs {
		tabs[i].Current = tabs[i].URL == current
	}
	return tabs
}

// onCallRow is one schedule on the on-call page.
type onCallRow struct {
	oncall.OnCall
	Handoff *schedule.Handoff // the next change of who is on call, if any
	Gaps    int               // coverage gaps ahead within gapHorizon
}

type onCallData struct {
	Tabs     []alertTab
	Team     string
	Teams    []string
	Rows     []onCallRow
	Gaps     []oncall.Gap
	Horizon  int // days
	FeedURL  string
	FeedUser string
	FeedErr  string
}

// onCallPage shows every schedule (or a team's) with who is on call now
// and until when, the next handoff, and the coverage gaps ahead.
func (u *UI) onCallPage(w http.ResponseWriter, r *http.Request) error {
	return u.renderOnCall(w, r, http.StatusOK, onCallData{})
}

func (u *UI) renderOnCall(w http.ResponseWriter, r *http.Request, status int, d onCallData) error {
	if err := u.requireOnCall(); err != nil {
		return err
	}
	ctx := r.Context()
	svc := u.cfg.OnCall
	d.Tabs, d.Team, d.Horizon = onCallTabs("/oncall"), strings.TrimSpace(r.URL.Query().Get("team")), int(gapHorizon/(24*time.Hour))
	var list []oncall.OnCall
	var err error
	if d.Team != "" {
		list, err = svc.OnCallForTeam(ctx, d.Team, time.Time{})
	} else {
		list, err = svc.OnCallAll(ctx, time.Time{})
	}
	if errs.Is(err, errs.Invalid) {
		return errs.NotFoundf("there is no team called %q", truncate(d.Team, 60))
	} else if err != nil {
		return err
	}
	scheds, _, err := svc.ListSchedules(ctx, oncall.Filter{Owner: d.Team, Limit: 1000})
	if err != nil {
		return err
	}
	now := svc.Instant(time.Time{})
	handoffs := map[string]*schedule.Handoff{}
	teams := map[string]bool{}
	for _, sc := range scheds {
		teams[sc.Spec.Owner] = true
		c, err := schedule.New(sc.Spec.Spec)
		if err != nil {
			continue // the service logs schedules that no longer compile
		}
		if h := c.NextHandoffs(now, 1); len(h) > 0 {
			handoffs[sc.Name] = &h[0]
		}
	}
	gaps, err := svc.UpcomingGaps(ctx, gapHorizon)
	if err != nil {
		return err
	}
	count := map[string]int{}
	for _, g := range gaps {
		if d.Team == "" || g.Owner == d.Team {
			d.Gaps = append(d.Gaps, g)
			count[g.Schedule]++
		}
	}
	for _, oc := range list {
		d.Rows = append(d.Rows, onCallRow{OnCall: oc, Handoff: handoffs[oc.Schedule], Gaps: count[oc.Schedule]})
	}
	if d.Team == "" {
		for t := range teams {
			d.Teams = append(d.Teams, t)
		}
	} else {
		d.Teams = []string{d.Team}
	}
	sort.Strings(d.Teams)
	u.render(w, r, status, "oncall", "On call", d)
	return nil
}

// createFeed creates the actor's calendar feed and shows its URL, this
// once: the page is the response to the form, never a redirect, so the
// secret is in no URL the browser keeps and no cookie.
func (u *UI) createFeed(w http.ResponseWriter, r *http.Request) error {
	if err := u.requireOnCall(); err != nil {
		return err
	}
	t, secret, err := u.cfg.OnCall.CreateFeedToken(r.Context())
	switch code := errs.CodeOf(err); code {
	case "":
		return u.renderOnCall(w, r, http.StatusCreated, onCallData{FeedURL: u.baseURL(r) + icalPath + secret + ".ics", FeedUser: t.User})
	case errs.Invalid, errs.Forbidden:
		return u.renderOnCall(w, r, errs.HTTPStatus(code), onCallData{FeedErr: errs.MessageOf(err)})
	default:
		return err
	}
}

// layerRow is a schedule layer as its page describes it.
type layerRow struct {
	Number int // from 1
	schedule.LayerSpec
	Handoff string // in words: "daily at 09:00", "every 12 hours"
}

// overrideRow is an override as the schedule page lists it.
type overrideRow struct {
	Number int // from 1
	schedule.OverrideSpec
	Kind string
	Past bool
}

type scheduleData struct {
	S         oncall.Schedule
	Now       oncall.OnCall
	Layers    []layerRow
	Overrides []overrideRow
	Cal       calendar
	SVG       template.HTML
	Shifts    []calShift
	Gaps      []calGap
	View      string
	Views     []viewLink
	PrevURL   string
	NextURL   string
	TodayURL  string
	FromDate  string
	Err       string
	Policies  []string
}

// viewLink is one choice of calendar view.
type viewLink struct {
	Label, URL string
	Current    bool
}

// showSchedule shows a schedule: owner, zone, layers, overrides, warnings,
// who is on call now, and the final calendar of a week or a month.
func (u *UI) showSchedule(w http.ResponseWriter, r *http.Request) error {
	if err := u.requireOnCall(); err != nil {
		return err
	}
	ctx := r.Context()
	svc := u.cfg.OnCall
	sc, err := svc.GetSchedule(ctx, r.PathValue("name"))
	if err != nil {
		return err
	}
	d := scheduleData{S: sc}
	if d.Now, err = svc.OnCall(ctx, sc.Name, time.Time{}); err != nil {
		return err
	}
	loc, err := time.LoadLocation(sc.Spec.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	now := svc.Instant(time.Time{})
	for i, l := range sc.Spec.Layers {
		d.Layers = append(d.Layers, layerRow{Number: i + 1, LayerSpec: l, Handoff: describeHandoff(l.Rotation)})
	}
	for i, o := range sc.Spec.Overrides {
		kind := o.Kind
		if kind == "" {
			kind = schedule.Replace
		}
		d.Overrides = append(d.Overrides, overrideRow{Number: i + 1, OverrideSpec: o, Kind: kind, Past: !o.End.After(now)})
	}
	p := r.URL.Query()
	status := http.StatusOK
	cr, perr := parseCalRange(p.Get("view"), p.Get("from"), now, loc)
	if perr != nil {
		status, d.Err = http.StatusUnprocessableEntity, errs.MessageOf(perr)
		cr, _ = parseCalRange(p.Get("view"), "", now, loc)
	}
	d.View, d.FromDate = cr.View, cr.From.Format(time.DateOnly)
	shifts, err := svc.Shifts(ctx, sc.Name, cr.From, cr.To)
	if err != nil {
		return err
	}
	gaps, err := svc.Gaps(ctx, sc.Name, cr.From, cr.To)
	if err != nil {
		return err
	}
	d.Cal = newCalendar(sc.Name, cr, now, shifts, gaps)
	d.SVG = calendarSVG(d.Cal)
	d.Shifts, d.Gaps = d.Cal.Shifts, d.Cal.Gaps
	base := "/oncall/schedules/" + url.PathEscape(sc.Name)
	link := func(view string, from time.Time) string {
		return base + "?" + url.Values{"view": {view}, "from": {from.Format(time.DateOnly)}}.Encode() + "#calendar"
	}
	d.PrevURL, d.NextURL = link(cr.View, cr.Prev), link(cr.View, cr.Next)
	today, _ := parseCalRange(cr.View, "", now, loc)
	d.TodayURL = link(cr.View, today.From)
	for _, v := range []string{"week", "month"} {
		d.Views = append(d.Views, viewLink{Label: v, URL: link(v, cr.From), Current: v == cr.View})
	}
	policies, _, err := svc.ListPolicies(ctx, oncall.Filter{Limit: 1000})
	if err != nil {
		return err
	}
	for _, pol := range policies {
		if policyPages(pol, sc.Name) {
			d.Policies = append(d.Policies, pol.Name)
		}
	}
	u.render(w, r, status, "oncall_schedule", "Schedule "+sc.Name, d)
	return nil
}

// policyPages reports whether a policy pages the schedule called name.
func policyPages(p oncall.EscalationPolicy, name string) bool {
	for _, st := range p.Spec.Steps {
		for _, t := range st.Targets {
			if t.Schedule == name {
				return true
			}
		}
	}
	return false
}

// describeHandoff says when a rotation hands off, for people.
func describeHandoff(r schedule.RotationSpec) string {
	every := r.Every
	if every <= 0 {
		every = 1
	}
	at := ""
	if r.HandoffTime != "" {
		at = " at " + r.HandoffTime
	}
	unit := func(one, many string) string {
		if every == 1 {
			return one
		}
		return "every " + strconv.Itoa(every) + " " + many
	}
	switch r.Kind {
	case schedule.Hourly:
		return unit("every hour", "hours")
	case schedule.Daily:
		return unit("daily", "days") + at
	case schedule.Weekly:
		s := unit("weekly", "weeks")
		if r.HandoffDay != "" {
			s += " on " + r.HandoffDay
		}
		return s + at
	case schedule.Custom:
		return "every " + r.Length + at
	}
	return r.Kind
}

// policyStep is a step of an escalation policy with who it would notify
// now.
type policyStep struct {
	Index   int
	Delay   string
	Targets []policyTarget
	Now     []string
	Err     string
}

// policyTarget is one target of a step.
type policyTarget struct {
	Kind, Name, URL string
}

type policiesData struct {
	Tabs     []alertTab
	Q        string
	Policies []oncall.EscalationPolicy
	pager
}

// listPolicies lists escalation policies, searchable by name.
func (u *UI) listPolicies(w http.ResponseWriter, r *http.Request) error {
	if err := u.requireOnCall(); err != nil {
		return err
	}
	p := r.URL.Query()
	d := policiesData{Tabs: onCallTabs("/oncall/policies"), Q: strings.TrimSpace(p.Get("q"))}
	list, next, err := u.cfg.OnCall.ListPolicies(r.Context(), oncall.Filter{Query: d.Q, After: p.Get("after"), Limit: listLimit})
	if err != nil {
		return err
	}
	d.Policies = list
	v := url.Values{}
	if d.Q != "" {
		v.Set("q", d.Q)
	}
	d.pager = newPager("/oncall/policies", v, p.Get("after"), next)
	u.render(w, r, http.StatusOK, "oncall_policies", "Escalation policies", d)
	return nil
}

type policyData struct {
	P     oncall.EscalationPolicy
	Steps []policyStep
}

// showPolicy shows an escalation policy's steps, each with its targets
// resolved to who would be paged now.
func (u *UI) showPolicy(w http.ResponseWriter, r *http.Request) error {
	if err := u.requireOnCall(); err != nil {
		return err
	}
	ctx := r.Context()
	p, err := u.cfg.OnCall.GetPolicy(ctx, r.PathValue("name"))
	if err != nil {
		return err
	}
	d := policyData{P: p}
	for i, st := range p.Spec.Steps {
		ps := policyStep{Index: i + 1, Delay: st.Delay}
		for _, t := range st.Targets {
			kind, name := t.Kind()
			ps.Targets = append(ps.Targets, policyTarget{Kind: kind, Name: name, URL: targetURL(kind, name)})
		}
		// A target that no longer exists is said, not hidden.
		ps.Now, err = u.cfg.OnCall.Recipients(ctx, st, time.Time{})
		if errs.Is(err, errs.Internal) {
			return err
		} else if err != nil {
			ps.Err = errs.MessageOf(err)
		}
		d.Steps = append(d.Steps, ps)
	}
	u.render(w, r, http.StatusOK, "oncall_policy", "Escalation policy "+p.Name, d)
	return nil
}

func targetURL(kind, name string) string {
	switch kind {
	case "schedule":
		return "/oncall/schedules/" + url.PathEscape(name)
	case "user":
		return "/users/" + url.PathEscape(name)
	case "team":
		return "/teams/" + url.PathEscape(name)
	}
	return ""
}

// serviceOnCall is who is on call for a service, for its page.
type serviceOnCall struct {
	Enabled bool
	List    []oncall.OnCall
}

// onCallOf reads who is on call now for the service called name.
func (u *UI) onCallOf(ctx context.Context, name string) (serviceOnCall, error) {
	out := serviceOnCall{Enabled: u.cfg.OnCall != nil}
	if !out.Enabled {
		return out, nil
	}
	var err error
	out.List, err = u.cfg.OnCall.OnCallForService(ctx, name, time.Time{})
	return out, err
}

// onCallPages are the page templates that use the on-call partials.
var onCallPages = []string{"oncall", "oncall_policies", "service", "pages", "page", "oncall_load"}

// addOnCallPartials adds the on-call partials to the pages that use them.
// It panics when they do not parse, which tests catch.
func addOnCallPartials(pages map[string]*template.Template) {
	for _, name := range onCallPages {
		if t, ok := pages[name]; ok {
			template.Must(t.ParseFS(files, "templates/oncall.tmpl"))
		}
	}
}
