package ui

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/incident"
)

// requireIncidents reports a missing incident service as a page that does
// not exist.
func (u *UI) requireIncidents() error {
	if u.cfg.Incidents == nil {
		return errs.NotFoundf("incidents are not enabled on this server")
	}
	return nil
}

// sevClass maps a severity to the shared severity badge class (a shape and
// a colour).
func sevClass(s incident.Severity) string {
	switch s {
	case incident.SEV1:
		return "sev-critical"
	case incident.SEV2:
		return "sev-error"
	case incident.SEV3:
		return "sev-warning"
	}
	return "sev-info"
}

// incidentQuery is the list's filters, all in the URL.
type incidentQuery struct {
	Status, Severity, Service, Team, After string
}

func (q incidentQuery) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"status": q.Status, "severity": q.Severity, "service": q.Service, "team": q.Team} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// declareForm is what the declare form holds.
type declareForm struct {
	Title, Severity, Services, Lead, Message string
	AlertID                                  string // declaring from an alert
}

type incidentRow struct {
	incident.Incident
	SevClass string
}

type incidentsData struct {
	Query      incidentQuery
	Incidents  []incidentRow
	Severities []incident.SeverityDefinition
	Statuses   []incident.Status
	Services   []string
	CanDeclare bool
	Form       declareForm
	Err        formErrors
	pager
}

func incidentRows(list []incident.Incident) []incidentRow {
	out := make([]incidentRow, len(list))
	for i, in := range list {
		out[i] = incidentRow{Incident: in, SevClass: sevClass(in.Severity)}
	}
	return out
}

// listIncidents shows incidents, newest first, open ones unless the status
// filter says otherwise, with the declare form.
func (u *UI) listIncidents(w http.ResponseWriter, r *http.Request) error {
	p := r.URL.Query()
	q := incidentQuery{Status: p.Get("status"), Severity: p.Get("severity"), Service: p.Get("service"), Team: p.Get("team"), After: p.Get("after")}
	// An alert or a page links here to declare from it: the form comes
	// filled in.
	form := declareForm{Severity: cmp.Or(p.Get("severity"), string(incident.SEV2)), Title: p.Get("title"), Services: p.Get("services"),
		AlertID: p.Get("alert")}
	return u.renderIncidents(w, r, http.StatusOK, q, incidentsData{Form: form})
}

func (u *UI) renderIncidents(w http.ResponseWriter, r *http.Request, status int, q incidentQuery, d incidentsData) error {
	if err := u.requireIncidents(); err != nil {
		return err
	}
	ctx := r.Context()
	f := incident.Filter{Status: q.Status, Severity: incident.Severity(q.Severity), Service: q.Service, Team: q.Team, Limit: listLimit}
	if f.Status == "" {
		f.Status = "open"
	}
	if f.Status == "all" {
		f.Status = ""
	}
	if q.After != "" {
		n, err := strconv.ParseInt(q.After, 10, 64)
		if err != nil || n <= 0 {
			return errs.Invalidf("after", "is not a page of this list")
		}
		f.Before = n
	}
	list, next, err := u.cfg.Incidents.List(ctx, f)
	if errs.Is(err, errs.Invalid) {
		return errs.NotFoundf("%s", errs.MessageOf(err))
	} else if err != nil {
		return err
	}
	d.Query, d.Incidents = q, incidentRows(list)
	d.Severities, d.Statuses = incident.Severities, incident.Statuses
	d.CanDeclare = identity.AuthorizeWriter(ctx) == nil
	if d.Err.Field == nil {
		d.Err = newFormErrors(nil, nil, nil)
	}
	filters := q
	filters.After = ""
	nextStr := ""
	if next > 0 {
		nextStr = strconv.FormatInt(next, 10)
	}
	d.pager = newPager("/incidents", filters.values(), q.After, nextStr)
	if d.Services, err = u.serviceNames(ctx); err != nil {
		return err
	}
	u.render(w, r, status, "incidents", "Incidents", d)
	return nil
}

// declareIncident declares from the form and opens the new incident.
func (u *UI) declareIncident(w http.ResponseWriter, r *http.Request) error {
	if err := u.requireIncidents(); err != nil {
		return err
	}
	f := declareForm{Title: r.PostFormValue("title"), Severity: r.PostFormValue("severity"), Services: r.PostFormValue("services"),
		Lead: strings.TrimSpace(r.PostFormValue("lead")), Message: r.PostFormValue("message"), AlertID: strings.TrimSpace(r.PostFormValue("alert_id"))}
	in := incident.DeclareInput{Title: strings.TrimSpace(f.Title), Severity: incident.Severity(f.Severity), Lead: f.Lead, Message: strings.TrimSpace(f.Message),
		AlertID: f.AlertID}
	for s := range strings.FieldsFuncSeq(f.Services, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' }) {
		in.Services = append(in.Services, s)
	}
	inc, err := u.cfg.Incidents.Declare(r.Context(), in)
	if errs.Is(err, errs.Invalid) {
		d := incidentsData{Form: f, Err: newFormErrors(err, []string{"title", "severity", "services", "lead", "message"}, nil)}
		return u.renderIncidents(w, r, http.StatusUnprocessableEntity, incidentQuery{}, d)
	}
	if err != nil {
		return err
	}
	u.redirect(w, r, fmt.Sprintf("/incidents/%d", inc.Number), fmt.Sprintf("Declared %s (%s). You can post updates, notes and roles here.", inc.Key, inc.Severity))
	return nil
}

// incidentForm is what the forms of the incident page hold after a
// refused post.
type incidentForm struct {
	Status, Severity, Message, Summary string // the update form
	Note                               string
	Role, User                         string
}

type incidentData struct {
	incidentRow
	Timeline   []incident.Entry
	Severities []incident.SeverityDefinition
	Statuses   []incident.Status
	RoleNames  []string
	CanNote    bool
	Form       incidentForm
	// The errors of each form; only the form that was posted has any.
	UpdateErr, NoteErr, RoleErr formErrors
}

func (u *UI) incidentNumber(r *http.Request) (int64, error) {
	n, err := incident.ParseKey(r.PathValue("number"))
	if err != nil {
		return 0, errs.NotFoundf("there is no incident %q", truncate(r.PathValue("number"), 40))
	}
	return n, nil
}

// showIncident shows an incident, its timeline and the forms to run it.
func (u *UI) showIncident(w http.ResponseWriter, r *http.Request) error {
	return u.renderIncident(w, r, http.StatusOK, incidentData{})
}

func (u *UI) renderIncident(w http.ResponseWriter, r *http.Request, status int, d incidentData) error {
	if err := u.requireIncidents(); err != nil {
		return err
	}
	n, err := u.incidentNumber(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	inc, err := u.cfg.Incidents.Get(ctx, n)
	if err != nil {
		return err
	}
	if d.Timeline, err = u.cfg.Incidents.Timeline(ctx, n); err != nil {
		return err
	}
	d.incidentRow = incidentRow{Incident: inc, SevClass: sevClass(inc.Severity)}
	d.Severities, d.Statuses = incident.Severities, incident.Statuses
	d.RoleNames = []string{incident.RoleLead, incident.RoleCommunications, incident.RoleScribe}
	d.CanNote = identity.AuthorizeWriter(ctx) == nil
	for _, fe := range []*formErrors{&d.UpdateErr, &d.NoteErr, &d.RoleErr} {
		if fe.Field == nil {
			*fe = newFormErrors(nil, nil, nil)
		}
	}
	if d.Form.Status == "" {
		d.Form.Status = string(inc.Status)
	}
	if d.Form.Severity == "" {
		d.Form.Severity = string(inc.Severity)
	}
	u.render(w, r, status, "incident", inc.Key+": "+inc.Title, d)
	return nil
}

// updateIncident changes status, severity and summary from the form.
func (u *UI) updateIncident(w http.ResponseWriter, r *http.Request) error {
	if err := u.requireIncidents(); err != nil {
		return err
	}
	n, err := u.incidentNumber(r)
	if err != nil {
		return err
	}
	f := incidentForm{Status: r.PostFormValue("status"), Severity: r.PostFormValue("severity"), Message: r.PostFormValue("message"), Summary: r.PostFormValue("summary")}
	ctx := r.Context()
	before, err := u.cfg.Incidents.Get(ctx, n)
	if err != nil {
		return err
	}
	in := incident.UpdateInput{Message: strings.TrimSpace(f.Message), Summary: strings.TrimSpace(f.Summary)}
	if incident.Status(f.Status) != before.Status {
		in.Status = incident.Status(f.Status)
	}
	if incident.Severity(f.Severity) != before.Severity {
		in.Severity = incident.Severity(f.Severity)
	}
	if in.Status == "" && in.Severity == "" && in.Summary == "" && in.Message != "" {
		// A message alone is a note.
		_, err = u.cfg.Incidents.AddNote(ctx, n, incident.NoteInput{Text: in.Message})
	} else {
		_, err = u.cfg.Incidents.Update(ctx, n, in, 0)
	}
	if errs.Is(err, errs.Invalid) {
		return u.renderIncident(w, r, http.StatusUnprocessableEntity, incidentData{Form: f,
			UpdateErr: newFormErrors(err, []string{"status", "severity", "message", "summary"}, nil)})
	}
	if err != nil {
		return err
	}
	u.redirect(w, r, fmt.Sprintf("/incidents/%d", n), "Incident updated.")
	return nil
}

// addIncidentNote adds a note from the form.
func (u *UI) addIncidentNote(w http.ResponseWriter, r *http.Request) error {
	if err := u.requireIncidents(); err != nil {
		return err
	}
	n, err := u.incidentNumber(r)
	if err != nil {
		return err
	}
	f := incidentForm{Note: r.PostFormValue("text")}
	_, err = u.cfg.Incidents.AddNote(r.Context(), n, incident.NoteInput{Text: f.Note})
	if errs.Is(err, errs.Invalid) {
		return u.renderIncident(w, r, http.StatusUnprocessableEntity, incidentData{Form: f,
			NoteErr: newFormErrors(err, []string{"text"}, nil)})
	}
	if err != nil {
		return err
	}
	u.redirect(w, r, fmt.Sprintf("/incidents/%d#timeline", n), "Note added.")
	return nil
}

// assignIncidentRole gives a role from the form.
func (u *UI) assignIncidentRole(w http.ResponseWriter, r *http.Request) error {
	if err := u.requireIncidents(); err != nil {
		return err
	}
	n, err := u.incidentNumber(r)
	if err != nil {
		return err
	}
	f := incidentForm{Role: strings.TrimSpace(r.PostFormValue("role")), User: strings.TrimSpace(r.PostFormValue("user"))}
	_, err = u.cfg.Incidents.AssignRole(r.Context(), n, f.Role, f.User)
	if errs.Is(err, errs.Invalid) {
		return u.renderIncident(w, r, http.StatusUnprocessableEntity, incidentData{Form: f,
			RoleErr: newFormErrors(err, []string{"role", "user"}, nil)})
	}
	if err != nil {
		return err
	}
	u.redirect(w, r, fmt.Sprintf("/incidents/%d", n), fmt.Sprintf("%s is now %s.", f.User, f.Role))
	return nil
}
