package ui

import (
	"cmp"
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"groundcrew.dev/groundcrew/internal/alert"
	"groundcrew.dev/groundcrew/internal/alert/matcher"
	"groundcrew.dev/groundcrew/internal/catalog"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/notify"
)

// severities are offered as suggestions in the severity filter; alerts may
// carry any severity their sender gives.
var severities = []string{"critical", "error", "warning", "info"}

const (
	searchBatch   = 500 // alerts read per query while searching text
	searchBatches = 10  // queries a text search makes at most per page
	serviceAlerts = 10  // firing alerts the service page lists
)

// alertTab is one entry of the alerting sub-navigation.
type alertTab struct {
	Label, URL string
	Current    bool
}

// alertTabs is the sub-navigation of the alerting pages; current is the
// URL of the page shown.
func alertTabs(current string) []alertTab {
	tabs := []alertTab{{Label: "Alerts", URL: "/alerts"}, {Label: "Silences", URL: "/silences"},
		{Label: "Routing", URL: "/alerts/routes"}, {Label: "Deliveries", URL: "/alerts/deliveries"}}
	for i := range tabs {
		tabs[i].Current = tabs[i].URL == current
	}
	return tabs
}

// requireAlerts reports a missing alert service as a page that does not
// exist, for UIs built without alerting (as some tests do).
func (u *UI) requireAlerts() error {
	if u.cfg.Alerts == nil {
		return errs.NotFoundf("alerting is not enabled on this server")
	}
	return nil
}

// alertQuery is the alert list's search and filters, all in the URL.
type alertQuery struct {
	Status, Service, Severity, Q, After string
}

func (q alertQuery) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"status": q.Status, "service": q.Service, "severity": q.Severity, "q": q.Q, "after": q.After} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// Filtered reports whether any filter narrows the list beyond the default
// (firing alerts).
func (q alertQuery) Filtered() bool {
	return q.Status != "" || q.Service != "" || q.Severity != "" || q.Q != ""
}

// filter turns the query into the alert service's filter: status "" is
// firing, "all" any status; a search "name=value" is a label matcher.
func (q alertQuery) filter() (alert.Filter, error) {
	f := alert.Filter{Service: q.Service, Severity: q.Severity, After: q.After}
	switch q.Status {
	case "":
		f.Status = alert.Firing
	case "all":
	case string(alert.Firing), string(alert.Resolved):
		f.Status = alert.Status(q.Status)
	default:
		return f, errs.Invalidf("status", "%q is not a status: want firing, resolved or all", q.Status)
	}
	if isLabelSearch(q.Q) {
		f.Label = q.Q
	}
	return f, nil
}

// isLabelSearch reports whether a search is a label matcher name=value
// rather than text.
func isLabelSearch(q string) bool {
	name, value, ok := strings.Cut(q, "=")
	return ok && alert.ValidLabelName(strings.TrimSpace(name)) && !strings.HasPrefix(value, "~")
}

// alertRow is an alert as the lists show it.
type alertRow struct {
	alert.Alert
	Name     string   // its alertname label, if any
	Silenced []string // ids of the silences muting it now
}

type alertsData struct {
	Tabs   []alertTab
	Query  alertQuery
	Alerts []alertRow
	pager
	Err        formErrors
	Services   []string
	Severities []string
}

// listAlerts shows one page of alerts, firing ones unless the status
// filter says otherwise.
func (u *UI) listAlerts(w http.ResponseWriter, r *http.Request) error {
	if err := u.requireAlerts(); err != nil {
		return err
	}
	ctx := r.Context()
	p := r.URL.Query()
	q := alertQuery{Status: p.Get("status"), Service: p.Get("service"), Severity: p.Get("severity"),
		Q: strings.TrimSpace(p.Get("q")), After: p.Get("after")}
	d := alertsData{Tabs: alertTabs("/alerts"), Query: q, Severities: severities}
	status := http.StatusOK
	f, err := q.filter()
	var list []alert.Alert
	var next string
	if err == nil {
		list, next, err = u.searchAlerts(ctx, f, q.Q)
	}
	if errs.Is(err, errs.Invalid) {
		d.Err, status = newFormErrors(err, []string{"status", "service", "severity"}, map[string]string{"label": "q", "cursor": "q"}), http.StatusUnprocessableEntity
	} else if err != nil {
		return err
	} else {
		filters := q
		filters.After = ""
		d.pager = newPager("/alerts", filters.values(), q.After, next)
	}
	if d.Alerts, err = u.alertRows(ctx, list); err != nil {
		return err
	}
	services, err := u.serviceNames(ctx)
	if err != nil {
		return err
	}
	d.Services = services
	u.render(w, r, status, "alerts", "Alerts", d)
	return nil
}

// searchAlerts returns a page of alerts matching f and, unless text is
// empty or a label matcher, containing text in their summary or a label
// value. The alert service has no text search, so text is searched over a
// bounded number of batches; next then continues after the last alert
// looked at.
func (u *UI) searchAlerts(ctx context.Context, f alert.Filter, text string) ([]alert.Alert, string, error) {
	if text == "" || isLabelSearch(text) {
		f.Limit = listLimit
		return u.cfg.Alerts.List(ctx, f)
	}
	needle := strings.ToLower(text)
	var out []alert.Alert
	f.Limit = searchBatch
	for range searchBatches {
		page, next, err := u.cfg.Alerts.List(ctx, f)
		if err != nil {
			return nil, "", err
		}
		for _, a := range page {
			if alertContains(a, needle) {
				out = append(out, a)
				if len(out) == listLimit {
					return out, a.ID.String(), nil
				}
			}
		}
		if next == "" {
			return out, "", nil
		}
		f.After = next
	}
	return out, f.After, nil
}

// alertContains reports whether lowered text is in an alert's summary,
// service or label values.
func alertContains(a alert.Alert, text string) bool {
	if strings.Contains(strings.ToLower(a.Summary), text) || strings.Contains(strings.ToLower(a.Service), text) {
		return true
	}
	for _, v := range a.Labels {
		if strings.Contains(strings.ToLower(v), text) {
			return true
		}
	}
	return false
}

// alertRows marks which alerts the silences in force now mute.
func (u *UI) alertRows(ctx context.Context, list []alert.Alert) ([]alertRow, error) {
	sil, err := u.activeSilences(ctx)
	if err != nil {
		return nil, err
	}
	rows := make([]alertRow, 0, len(list))
	for _, a := range list {
		row := alertRow{Alert: a, Name: a.Labels["alertname"]}
		if a.Status == alert.Firing {
			row.Silenced = sil.muting(a.Labels)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// silenceSet is the silences in force now, parsed.
type silenceSet []struct {
	id string
	ms matcher.Matchers
}

// muting returns the ids of the silences that mute labels.
func (s silenceSet) muting(labels map[string]string) []string {
	var ids []string
	for _, sil := range s {
		if sil.ms.Matches(labels) {
			ids = append(ids, sil.id)
		}
	}
	return ids
}

func (u *UI) activeSilences(ctx context.Context) (silenceSet, error) {
	list, err := u.cfg.Alerts.ListSilences(ctx, false)
	if err != nil {
		return nil, err
	}
	var out silenceSet
	for _, s := range list {
		if s.Status != "active" {
			continue
		}
		ms, err := parseMatchers(s.Matchers)
		if err != nil {
			continue // stored silences were valid when created
		}
		out = append(out, struct {
			id string
			ms matcher.Matchers
		}{s.ID.String(), ms})
	}
	return out, nil
}

func parseMatchers(lines []string) (matcher.Matchers, error) {
	var ms matcher.Matchers
	for _, l := range lines {
		m, err := matcher.Parse(l)
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	return ms, nil
}

// serviceNames lists the catalog's service names, for filter suggestions.
func (u *UI) serviceNames(ctx context.Context) ([]string, error) {
	svcs, _, err := u.cat.ListServices(ctx, catalog.ListOptions{Limit: choiceLimit}, catalog.ServiceFilter{})
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(svcs))
	for _, s := range svcs {
		names = append(names, s.Name)
	}
	return names, nil
}

// timelineEntry is one step of an alert's life as its page tells it.
type timelineEntry struct {
	alert.Event
	What     string // the step in words
	Detail   string // more about it, if anything
	Link     string // a page about it (the deliveries to its receiver), if any
	LinkText string
	Flapping bool
}

type alertData struct {
	Tabs       []alertTab
	A          alert.Alert
	Name       string
	Timeline   []timelineEntry
	Route      alert.RouteTest
	RouteErr   string
	Silenced   []string
	SilenceURL string
	DeclareURL string // declare an incident from the alert, the form filled in
}

// showAlert shows an alert: its labels and annotations, where it came
// from, its history and where it goes.
func (u *UI) showAlert(w http.ResponseWriter, r *http.Request) error {
	if err := u.requireAlerts(); err != nil {
		return err
	}
	ctx := r.Context()
	det, err := u.cfg.Alerts.Get(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	d := alertData{Tabs: alertTabs(""), A: det.Alert, Name: det.Labels["alertname"], SilenceURL: silenceURLFor(det.Alert)}
	if u.cfg.Incidents != nil {
		v := url.Values{"title": {cmp.Or(det.Summary, det.Labels["alertname"], det.Fingerprint)}, "alert": {det.ID.String()}}
		if det.Service != "" {
			v.Set("services", det.Service)
		}
		d.DeclareURL = "/incidents?" + v.Encode()
	}
	for _, ev := range det.History {
		d.Timeline = append(d.Timeline, timelineOf(ev))
	}
	if len(det.Labels) > 0 {
		d.Route, err = u.cfg.Alerts.TestRoute(ctx, det.Labels)
		if errs.Is(err, errs.Invalid) {
			d.RouteErr = errs.MessageOf(err)
		} else if err != nil {
			return err
		}
	}
	if det.Status == alert.Firing {
		sil, err := u.activeSilences(ctx)
		if err != nil {
			return err
		}
		d.Silenced = sil.muting(det.Labels)
	}
	title := det.Summary
	if title == "" {
		title = "Alert " + det.Fingerprint
	}
	u.render(w, r, http.StatusOK, "alert", title, d)
	return nil
}

// silenceURLFor is the silence form prefilled to mute exactly this alert:
// an equality matcher on each of its labels.
func silenceURLFor(a alert.Alert) string {
	names := make([]string, 0, len(a.Labels))
	for k := range a.Labels {
		names = append(names, k)
	}
	sort.Strings(names)
	var lines []string
	for _, k := range names {
		m, err := matcher.New(matcher.Equal, k, a.Labels[k])
		if err != nil {
			continue
		}
		lines = append(lines, m.String())
	}
	v := url.Values{"matchers": {strings.Join(lines, "\n")}}
	if a.Summary != "" {
		v.Set("comment", "Silencing: "+truncate(a.Summary, 200))
	}
	return "/silences?" + v.Encode() + "#new-silence"
}

// timelineOf says what an event of an alert's history means.
func timelineOf(ev alert.Event) timelineEntry {
	e := timelineEntry{Event: ev, What: string(ev.Kind)}
	str := func(k string) string { s, _ := ev.Detail[k].(string); return s }
	switch ev.Kind {
	case alert.EventFired:
		e.What = "fired"
	case alert.EventRefired:
		e.What = "fired again"
		if f, _ := ev.Detail["flapping"].(bool); f {
			e.Flapping = true
			e.Detail = "flapping: it had been resolved for " + str("resolved_for")
		}
		if prev := str("previous"); prev != "" {
			e.Link, e.LinkText = "/alerts/"+prev, "previous occurrence"
		}
	case alert.EventRefreshed:
		e.What = "refreshed"
		if ch, ok := ev.Detail["changed"].([]any); ok {
			var names []string
			for _, c := range ch {
				names = append(names, fmt.Sprint(c))
			}
			e.Detail = "changed: " + strings.Join(names, ", ")
		}
	case alert.EventResolved:
		e.What = "resolved"
	case alert.EventExpired:
		e.What = "resolved (not refreshed)"
		if end := str("ends_at"); end != "" {
			e.Detail = "its end time " + end + " passed without a refresh"
		}
	case alert.EventAcknowledged:
		e.What = "acknowledged"
	case "notified":
		rcv := str("receiver")
		e.What = "notified " + rcv
		e.Detail = strings.TrimSpace("reason: " + reasonText(str("reason")) + "; route " + str("route"))
		if rcv != "" {
			e.Link, e.LinkText = "/alerts/deliveries?"+url.Values{"receiver": {rcv}}.Encode(), "deliveries to "+rcv
		}
	case "unrouted":
		e.What = "no receiver"
		e.Detail = "no route sends it anywhere (route " + str("route") + ")"
	}
	return e
}

// reasonText says why a notification was sent.
func reasonText(reason string) string {
	switch notify.Reason(reason) {
	case notify.ReasonFirst:
		return "first notification of its group"
	case notify.ReasonNewAlerts:
		return "new alerts in its group"
	case notify.ReasonSomeResolved:
		return "some alerts of its group resolved"
	case notify.ReasonAllResolved:
		return "all alerts of its group resolved"
	case notify.ReasonRepeat:
		return "repeat: still firing"
	}
	return reason
}

// routeTestData is the route-test form and its answer.
type routeTestData struct {
	Labels string
	Result *alert.RouteTest
	Err    formErrors
}

// routeRow is a route as the routing page shows it.
type routeRow struct {
	alert.Route
	Managed string
}

type routesData struct {
	Tabs    []alertTab
	Routes  []routeRow
	Inhibit []alert.InhibitRule
	Test    routeTestData
}

// showRoutes shows the routing tree, the inhibition rules, and where an
// alert with the labels of the test form would go.
func (u *UI) showRoutes(w http.ResponseWriter, r *http.Request) error {
	if err := u.requireAlerts(); err != nil {
		return err
	}
	ctx := r.Context()
	d := routesData{Tabs: alertTabs("/alerts/routes")}
	routes, err := u.cfg.Alerts.ListRoutes(ctx)
	if err != nil {
		return err
	}
	for _, rt := range routes {
		d.Routes = append(d.Routes, routeRow{Route: rt, Managed: managedBy(rt.Origin)})
	}
	if d.Inhibit, err = u.cfg.Alerts.ListInhibitRules(ctx); err != nil {
		return err
	}
	status := http.StatusOK
	if text, ok := r.URL.Query()["labels"]; ok {
		d.Test.Labels = text[0]
		labels, err := parseLabelLines("labels", labelListLines(text[0]))
		if err == nil {
			var res alert.RouteTest
			if res, err = u.cfg.Alerts.TestRoute(ctx, labels); err == nil {
				d.Test.Result = &res
			}
		}
		if errs.Is(err, errs.Invalid) {
			d.Test.Err, status = newFormErrors(err, []string{"labels"}, nil), http.StatusUnprocessableEntity
		} else if err != nil {
			return err
		}
	}
	u.render(w, r, status, "alert_routes", "Alert routing", d)
	return nil
}

// maxLabelLines bounds the labels of the route-test form.
const maxLabelLines = 64

// parseLabelLines reads labels written name=value, one a line; a value may
// be quoted. An error names field and the line.
func parseLabelLines(field, text string) (map[string]string, error) {
	out := map[string]string{}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if len(out) == maxLabelLines {
			return nil, errs.Invalidf(field, "at most %d labels", maxLabelLines)
		}
		k, v, ok := strings.Cut(line, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || !alert.ValidLabelName(k) {
			return nil, errs.Invalidf(field, "line %d: %q is not name=value (names are letters, digits and _)", i+1, truncate(line, 60))
		}
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		out[k] = v
	}
	if len(out) == 0 {
		return nil, errs.Invalidf(field, "give at least one label name=value")
	}
	return out, nil
}

// deliveryQuery is the delivery list's filters, all in the URL.
type deliveryQuery struct {
	Receiver, Status, After string
}

func (q deliveryQuery) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"receiver": q.Receiver, "status": q.Status, "after": q.After} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// Filtered reports whether any filter narrows the list.
func (q deliveryQuery) Filtered() bool { return q.Receiver != "" || q.Status != "" }

type deliveriesData struct {
	Tabs       []alertTab
	Query      deliveryQuery
	Deliveries []notify.Delivery
	pager
	Err       formErrors
	Statuses  []notify.DeliveryStatus
	Receivers []string
	Enabled   bool
}

// listDeliveries shows recent notification deliveries, newest first.
func (u *UI) listDeliveries(w http.ResponseWriter, r *http.Request) error {
	if err := u.requireAlerts(); err != nil {
		return err
	}
	ctx := r.Context()
	p := r.URL.Query()
	q := deliveryQuery{Receiver: p.Get("receiver"), Status: p.Get("status"), After: p.Get("after")}
	d := deliveriesData{Tabs: alertTabs("/alerts/deliveries"), Query: q, Enabled: u.cfg.Notify != nil,
		Statuses: []notify.DeliveryStatus{notify.DeliveryPending, notify.DeliveryDelivered, notify.DeliveryFailed}}
	status := http.StatusOK
	if d.Enabled {
		list, next, err := u.cfg.Notify.Deliveries(ctx, notify.DeliveryFilter{Receiver: q.Receiver,
			Status: notify.DeliveryStatus(q.Status), Before: q.After, Limit: listLimit})
		if errs.Is(err, errs.Invalid) {
			d.Err, status = newFormErrors(err, []string{"status"}, map[string]string{"cursor": "status"}), http.StatusUnprocessableEntity
		} else if err != nil {
			return err
		} else {
			d.Deliveries = list
			filters := q
			filters.After = ""
			d.pager = newPager("/alerts/deliveries", filters.values(), q.After, next)
		}
		rcvs, _, err := u.cfg.Notify.List(ctx, "", choiceLimit)
		if err != nil {
			return err
		}
		for _, rc := range rcvs {
			d.Receivers = append(d.Receivers, rc.Name)
		}
	}
	u.render(w, r, status, "deliveries", "Deliveries", d)
	return nil
}

// serviceAlertList is the firing alerts of a service, for its page.
type serviceAlertList struct {
	Enabled bool
	Alerts  []alertRow
	More    string // link to the full list when there are more
	AllURL  string
}

// firingAlertsOf reads the firing alerts of the service called name.
func (u *UI) firingAlertsOf(ctx context.Context, name string) (serviceAlertList, error) {
	out := serviceAlertList{Enabled: u.cfg.Alerts != nil}
	if !out.Enabled {
		return out, nil
	}
	out.AllURL = "/alerts?" + url.Values{"service": {name}}.Encode()
	list, next, err := u.cfg.Alerts.List(ctx, alert.Filter{Status: alert.Firing, Service: name, Limit: serviceAlerts})
	if err != nil {
		return out, err
	}
	if next != "" {
		out.More = out.AllURL
	}
	out.Alerts, err = u.alertRows(ctx, list)
	return out, err
}

// alertPages are the page templates that use the alerting partials.
var alertPages = []string{"alerts", "alert", "silences", "alert_routes", "deliveries", "service"}

// addAlertPartials adds the alerting partials (alert tables, the
// sub-navigation) to the pages that use them. It panics when they do not
// parse, which tests catch.
func addAlertPartials(pages map[string]*template.Template) {
	for _, name := range alertPages {
		if t, ok := pages[name]; ok {
			template.Must(t.ParseFS(files, "templates/alerting.tmpl"))
		}
	}
}
