package ui

import (
	"cmp"
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"groundcrew.dev/groundcrew/internal/catalog"
	"groundcrew.dev/groundcrew/internal/check"
	"groundcrew.dev/groundcrew/internal/check/probe"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
)

// checkTypes are the check types offered as a filter.
var checkTypes = append(slices.Clone(probe.Types), check.Heartbeat)

// checkQuery is the check list's search and filters, all in the URL.
type checkQuery struct {
	Q, Service, Environment, Type, Status, After string
}

func (q checkQuery) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"q": q.Q, "service": q.Service, "environment": q.Environment, "type": q.Type, "status": q.Status, "after": q.After} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// Filtered reports whether any filter narrows the list.
func (q checkQuery) Filtered() bool {
	return q.Q != "" || q.Service != "" || q.Environment != "" || q.Type != "" || q.Status != ""
}

// validate refuses a status or type that no check can have, so that a
// mistyped link says so instead of showing an empty list.
func (q checkQuery) validate() error {
	if q.Status != "" && !slices.Contains(check.Statuses, check.Status(q.Status)) {
		return errs.Invalidf("status", "%q is not a status", q.Status)
	}
	if q.Type != "" && !slices.Contains(checkTypes, probe.Type(q.Type)) {
		return errs.Invalidf("type", "%q is not a check type", q.Type)
	}
	return nil
}

// statusCount is one tile of a status summary: a count linking to the
// checks it counts.
type statusCount struct {
	Status  check.Status
	N       int
	URL     string
	Current bool
}

// statusSummary orders counts worst first, each linking to the check list
// filtered by base and that status; current is the status filtered on.
func statusSummary(counts map[check.Status]int, base url.Values, current string) (tiles []statusCount, total int) {
	for _, s := range check.Statuses {
		v := url.Values{}
		for k, vs := range base {
			v[k] = vs
		}
		v.Set("status", string(s))
		tiles = append(tiles, statusCount{Status: s, N: counts[s], URL: "/checks?" + v.Encode(), Current: current == string(s)})
		total += counts[s]
	}
	return tiles, total
}

type checksData struct {
	Query  checkQuery
	Checks []check.Check
	pager
	Err          formErrors
	Summary      []statusCount
	Total        int
	TotalURL     string
	Environments []catalog.Environment
	Services     []catalog.Service
	Types        []probe.Type
	Statuses     []check.Status
	CanCreate    bool
	NewURL       string // the new-check form, for the service filtered on
}

// listChecks shows one page of checks: a single List query whatever the
// number of checks, plus the counts by status for the summary.
func (u *UI) listChecks(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p := r.URL.Query()
	q := checkQuery{Q: p.Get("q"), Service: p.Get("service"), Environment: p.Get("environment"), Type: p.Get("type"),
		Status: p.Get("status"), After: p.Get("after")}
	d := checksData{Query: q, Types: checkTypes, Statuses: check.Statuses, CanCreate: canCreateOwned(identity.ActorFrom(ctx)), NewURL: "/checks/new"}
	if q.Service != "" {
		d.NewURL += "?" + url.Values{"service": {q.Service}}.Encode()
	}
	status := http.StatusOK
	if err := q.validate(); err != nil {
		d.Err, status = newFormErrors(err, []string{"status", "type"}, nil), http.StatusUnprocessableEntity
	} else {
		var next string
		var err error
		d.Checks, next, err = u.checks.List(ctx, check.Filter{Query: q.Q, Service: q.Service, Environment: q.Environment,
			Type: q.Type, Status: check.Status(q.Status), After: q.After, Limit: listLimit})
		if err != nil {
			return err
		}
		filters := q
		filters.After = ""
		d.pager = newPager("/checks", filters.values(), q.After, next)
	}
	counts, err := u.checks.Counts(ctx, q.Service)
	if err != nil {
		return err
	}
	base := url.Values{}
	d.TotalURL = "/checks"
	if q.Service != "" {
		base.Set("service", q.Service)
		d.TotalURL += "?" + base.Encode()
	}
	d.Summary, d.Total = statusSummary(counts, base, q.Status)
	if d.Environments, _, err = u.cat.ListEnvironments(ctx, catalog.ListOptions{Limit: choiceLimit}); err != nil {
		return err
	}
	if d.Services, _, err = u.cat.ListServices(ctx, catalog.ListOptions{Limit: choiceLimit}, catalog.ServiceFilter{}); err != nil {
		return err
	}
	u.render(w, r, status, "checks", "Checks", d)
	return nil
}

// uptimeWindows are the windows the check page gives uptime for.
var uptimeWindows = []struct {
	Label string
	D     time.Duration
}{{"24 hours", 24 * time.Hour}, {"7 days", 7 * 24 * time.Hour}, {"30 days", 30 * 24 * time.Hour}, {"90 days", 90 * 24 * time.Hour}}

const (
	chartResults   = 1000 // runs drawn on the response-time chart
	recentResults  = 20   // runs listed in the results table
	recentEvents   = 20
	shownDowntimes = 20
	barDays        = 90
)

type uptimeRow struct {
	Label string
	U     check.Uptime
}

// downtimeRow is a downtime as the check page lists it.
type downtimeRow struct {
	check.Downtime
	Lasted string // how long it lasted, or has lasted so far
}

// conditionRow is a condition as the definition lists it.
type conditionRow struct {
	check.Condition
	Default bool // the type's default, since the check sets none
}

type checkData struct {
	C          check.Check
	Target     string
	Conditions []conditionRow
	Managed    string
	CanWrite   bool
	Uptimes    []uptimeRow
	Chart      template.HTML
	ChartNote  string // what the chart covers, when not the whole day
	Bar        template.HTML
	BarFrom    string
	Downtimes  []downtimeRow
	MoreDown   int // downtimes not listed
	Events     []check.Event
	Results    []check.Result
	Locations  bool // results come from several locations: say which
	Ping       pingNotice
}

// pingNotice is a heartbeat check's ping URL, shown only right after it
// was issued.
type pingNotice struct {
	URL string
	New bool // issued with the check, not in place of an old URL
}

func (u *UI) showCheck(w http.ResponseWriter, r *http.Request) error {
	return u.renderCheck(w, r, http.StatusOK, r.PathValue("name"), pingNotice{})
}

// renderCheck shows the check called name: its state, definition, uptime,
// charts, downtimes, state changes and latest runs, and ping's URL if any,
// this once.
func (u *UI) renderCheck(w http.ResponseWriter, r *http.Request, status int, name string, ping pingNotice) error {
	ctx := r.Context()
	c, err := u.checks.Get(ctx, name)
	if err != nil {
		return err
	}
	d := checkData{C: c, Target: checkTarget(c), Managed: managedBy(c.Origin), Ping: ping}
	if d.CanWrite, err = u.canWriteCheck(ctx, c); err != nil {
		return err
	}
	for _, cond := range c.Conditions {
		d.Conditions = append(d.Conditions, conditionRow{Condition: cond})
	}
	if len(c.Conditions) == 0 && c.Type != check.Heartbeat {
		for _, src := range probe.DefaultConditions(c.Type) {
			d.Conditions = append(d.Conditions, conditionRow{Condition: check.Condition{Expr: src}, Default: true})
		}
	}
	now := u.clock.Now()
	for _, win := range uptimeWindows {
		up, err := u.checks.Uptime(ctx, name, now.Add(-win.D), now)
		if err != nil {
			return err
		}
		d.Uptimes = append(d.Uptimes, uptimeRow{Label: win.Label, U: up})
	}
	for i, dt := range d.Uptimes[len(d.Uptimes)-1].U.Downtimes {
		if i == shownDowntimes {
			d.MoreDown = len(d.Uptimes[len(d.Uptimes)-1].U.Downtimes) - i
			break
		}
		end := now
		if dt.End != nil {
			end = *dt.End
		}
		d.Downtimes = append(d.Downtimes, downtimeRow{Downtime: dt, Lasted: fmtSpan(end.Sub(dt.Start))})
	}
	results, err := u.checks.Results(ctx, name, now.Add(-24*time.Hour), now.Add(time.Minute), check.ResultsCursor{}, chartResults)
	if err != nil {
		return err
	}
	d.Results = results[:min(len(results), recentResults)]
	for _, res := range results {
		if res.Location != results[0].Location {
			d.Locations = true
			break
		}
	}
	if c.Type != check.Heartbeat {
		d.Chart, d.ChartNote = responseChart(c, results, now)
	}
	days, err := u.checks.Days(ctx, name, barDays)
	if err != nil {
		return err
	}
	d.Bar = uptimeBarSVG("uptime-bar", fmt.Sprintf("Uptime by day, last %d days", len(days)), days)
	if len(days) > 0 {
		d.BarFrom = days[0].Date
	}
	if d.Events, err = u.checks.Events(ctx, name, recentEvents); err != nil {
		return err
	}
	u.render(w, r, status, "check", c.Name, d)
	return nil
}

// responseChart draws the response times of results (newest first) over
// the day before now, or since the first of them when the check is younger
// or the results hit the limit; the note says which period it shows.
func responseChart(c check.Check, results []check.Result, now time.Time) (template.HTML, string) {
	lc := lineChart{ID: "response-time", Title: "Response time, last 24 hours", From: now.Add(-24 * time.Hour), To: now,
		Gap: 3 * c.Interval.Std()}
	note := "Last 24 hours."
	if n := len(results); n > 0 && results[n-1].At.After(lc.From) {
		lc.From = results[n-1].At
		lc.Title = "Response time since " + lc.From.UTC().Format("Jan 2 15:04:05") + " UTC"
		note = fmt.Sprintf("Since %s UTC, the first run of the last 24 hours.", lc.From.UTC().Format("Jan 2 15:04:05"))
		if n == chartResults {
			lc.Title = fmt.Sprintf("Response time, latest %d runs", n)
			note = fmt.Sprintf("The latest %d runs, since %s UTC.", n, lc.From.UTC().Format("Jan 2 15:04"))
		}
	}
	for i := len(results) - 1; i >= 0; i-- {
		res := results[i]
		p := chartPoint{At: res.At, Value: res.Duration}
		switch res.Status {
		case check.Down:
			p.Mark = markFail
		case check.Degraded:
			p.Mark = markWarn
		}
		lc.Points = append(lc.Points, p)
	}
	return responseTimeSVG(lc), note
}

// checkTarget says in a few words what a check probes.
func checkTarget(c check.Check) string {
	s := c.Spec.Spec
	switch {
	case c.Type == check.Heartbeat:
		return "pings to its secret URL"
	case s.HTTP != nil:
		return cmp.Or(s.HTTP.Method, "GET") + " " + s.HTTP.URL
	case s.TCP != nil:
		if s.TCP.TLS {
			return s.TCP.Address + " (TLS)"
		}
		return s.TCP.Address
	case s.UDP != nil:
		return s.UDP.Address
	case s.DNS != nil:
		out := cmp.Or(s.DNS.Type, "A") + " " + s.DNS.Name
		if s.DNS.Resolver != "" {
			out += " via " + s.DNS.Resolver
		}
		return out
	case s.TLS != nil:
		out := s.TLS.Address
		if s.TLS.ServerName != "" {
			out += " (name " + s.TLS.ServerName + ")"
		}
		if s.TLS.StartTLS != "" {
			out += " with STARTTLS " + s.TLS.StartTLS
		}
		return out
	case s.ICMP != nil:
		return s.ICMP.Host
	case s.GRPC != nil:
		if s.GRPC.Service != "" {
			return s.GRPC.Address + " service " + s.GRPC.Service
		}
		return s.GRPC.Address
	case s.SSH != nil:
		return s.SSH.Address
	}
	return ""
}

// pauseCheck pauses or resumes a check, guarded by the revision the page
// was loaded with.
func (u *UI) pauseCheck(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	name := r.PathValue("name")
	rev, _ := strconv.ParseInt(r.PostFormValue("revision"), 10, 64)
	if rev <= 0 {
		return errs.Preconditionf("the form does not say which version of %s it changes; reload and retry", name)
	}
	c, err := u.checks.Get(ctx, name)
	if err != nil {
		return err
	}
	in := check.Input{Name: c.Name, Labels: c.Labels, Spec: c.Spec}
	in.Paused = r.PostFormValue("paused") == "true"
	if _, err := u.checks.Update(ctx, name, in, rev); err != nil {
		return err
	}
	msg := fmt.Sprintf("Check %s resumed.", name)
	if in.Paused {
		msg = fmt.Sprintf("Check %s paused: it does not run until resumed.", name)
	}
	u.redirect(w, r, "/checks/"+url.PathEscape(name), msg)
	return nil
}

// rotatePing gives a heartbeat check a new ping URL and shows it this
// once: the page is the response to the form, never a redirect, so the
// secret is in no URL and no cookie.
func (u *UI) rotatePing(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	secret, err := u.checks.RotatePingSecret(r.Context(), name)
	if err != nil {
		return err
	}
	return u.renderCheck(w, r, http.StatusCreated, name, pingNotice{URL: u.pingURL(r, secret)})
}

// pingURL is the URL a heartbeat job calls with secret.
func (u *UI) pingURL(r *http.Request, secret string) string {
	return u.baseURL(r) + "/api/v1/ping/" + secret
}

// canWriteCheck reports whether the actor may change c: whether they may
// write the services of its service's owner.
func (u *UI) canWriteCheck(ctx context.Context, c check.Check) (bool, error) {
	svc, err := u.cat.GetService(ctx, c.Service)
	if errs.Is(err, errs.NotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return u.canWriteOwned(ctx, svc.Owner), nil
}

// baseURL is the server's public URL: the configured one, else as the
// request reached the server.
func (u *UI) baseURL(r *http.Request) string {
	if b := strings.TrimRight(u.cfg.BaseURL, "/"); b != "" && !strings.HasSuffix(b, ":0") {
		return b
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// serviceChecks is the health of one service for its page.
type serviceChecks struct {
	Checks  []check.Check
	More    string // link to the full list when there are more
	Summary []statusCount
	Total   int
	Events  []check.Event // latest state changes of its checks, newest first
}

const (
	serviceCheckLimit   = 50
	serviceEventChecks  = 20 // checks whose state changes the service page reads
	serviceEventsPerChk = 5
	serviceEvents       = 10
)

// healthOf reads the checks of the service called name, their counts by
// status and their latest state changes. The check package has no query
// for a service's events, so it reads those of the first few checks, worst
// first: a bounded number of small queries.
func (u *UI) healthOf(ctx context.Context, name string) (serviceChecks, error) {
	var h serviceChecks
	var next string
	var err error
	if h.Checks, next, err = u.checks.List(ctx, check.Filter{Service: name, Limit: serviceCheckLimit}); err != nil {
		return h, err
	}
	base := url.Values{"service": {name}}
	if next != "" {
		h.More = "/checks?" + base.Encode()
	}
	counts, err := u.checks.Counts(ctx, name)
	if err != nil {
		return h, err
	}
	h.Summary, h.Total = statusSummary(counts, base, "")
	worstFirst := slices.Clone(h.Checks)
	slices.SortStableFunc(worstFirst, func(a, b check.Check) int {
		return cmp.Compare(slices.Index(check.Statuses, a.State.Status), slices.Index(check.Statuses, b.State.Status))
	})
	for _, c := range worstFirst[:min(len(worstFirst), serviceEventChecks)] {
		evs, err := u.checks.Events(ctx, c.Name, serviceEventsPerChk)
		if err != nil {
			return h, err
		}
		h.Events = append(h.Events, evs...)
	}
	slices.SortFunc(h.Events, func(a, b check.Event) int { return b.At.Compare(a.At) })
	h.Events = h.Events[:min(len(h.Events), serviceEvents)]
	return h, nil
}

// attentionChecks are the checks the home page puts first.
type attentionChecks struct {
	Down, Degraded         []check.Check
	DownMore, DegradedMore string
	DownN, DegradedN       int
	Summary                []statusCount
	Total                  int
}

func (u *UI) checksNeedingAttention(ctx context.Context) (attentionChecks, error) {
	var a attentionChecks
	for _, st := range []struct {
		status check.Status
		list   *[]check.Check
		more   *string
	}{{check.Down, &a.Down, &a.DownMore}, {check.Degraded, &a.Degraded, &a.DegradedMore}} {
		list, next, err := u.checks.List(ctx, check.Filter{Status: st.status, Limit: attentionLimit})
		if err != nil {
			return a, err
		}
		*st.list = list
		if next != "" {
			*st.more = "/checks?status=" + string(st.status)
		}
	}
	counts, err := u.checks.Counts(ctx, "")
	if err != nil {
		return a, err
	}
	a.Summary, a.Total = statusSummary(counts, nil, "")
	a.DownN, a.DegradedN = counts[check.Down], counts[check.Degraded]
	return a, nil
}

// fmtInterval formats an interval compactly: "30s", "5m", "1h30m".
func fmtInterval(v any) string {
	var d time.Duration
	switch x := v.(type) {
	case probe.Duration:
		d = x.Std()
	case time.Duration:
		d = x
	default:
		return ""
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// fmtSpan says how long something lasted: "45 s", "12 min", "3 h 5 min",
// "2 d 4 h".
func fmtSpan(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 24*time.Hour:
		return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%d d %d h", int(d.Hours())/24, int(d.Hours())%24)
	}
}

// truncate shortens s to at most n characters, ending in "…".
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return strings.TrimSpace(string(r[:n-1])) + "…"
}

// percentOf formats an optional share in percent.
func percentOf(p *float64) string {
	if p == nil {
		return ""
	}
	return fmtPercent(*p) + " %"
}
