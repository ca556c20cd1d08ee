package ui

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/audit"
	"groundcrew.dev/groundcrew/internal/catalog"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
)

// serviceQuery is the service list's search and filters, all in the URL
// so that a view can be shared as a link.
type serviceQuery struct {
	Q, Owner, Environment, Lifecycle, Tag, After string
}

func (q serviceQuery) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"q": q.Q, "owner": q.Owner, "environment": q.Environment, "lifecycle": q.Lifecycle, "tag": q.Tag, "after": q.After} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// Filtered reports whether any filter narrows the list.
func (q serviceQuery) Filtered() bool {
	return q.Q != "" || q.Owner != "" || q.Environment != "" || q.Lifecycle != "" || q.Tag != ""
}

type servicesData struct {
	Query    serviceQuery
	Services []catalog.Service
	pager
	Teams        []identity.Team
	Environments []catalog.Environment
	Lifecycles   []string
	CanCreate    bool
}

func (u *UI) listServices(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p := r.URL.Query()
	q := serviceQuery{Q: p.Get("q"), Owner: p.Get("owner"), Environment: p.Get("environment"),
		Lifecycle: p.Get("lifecycle"), Tag: p.Get("tag"), After: p.Get("after")}
	svcs, next, err := u.cat.ListServices(ctx, catalog.ListOptions{Query: q.Q, After: q.After, Limit: listLimit},
		catalog.ServiceFilter{Owner: q.Owner, Environment: q.Environment, Lifecycle: q.Lifecycle, Tag: q.Tag})
	if err != nil {
		return err
	}
	filters := q
	filters.After = ""
	d := servicesData{Query: q, Services: svcs, Lifecycles: catalog.Lifecycles, CanCreate: canCreateOwned(identity.ActorFrom(ctx)),
		pager: newPager("/services", filters.values(), q.After, next)}
	if d.Teams, _, err = u.ids.ListTeams(ctx, identity.ListOptions{Limit: choiceLimit}); err != nil {
		return err
	}
	if d.Environments, _, err = u.cat.ListEnvironments(ctx, catalog.ListOptions{Limit: choiceLimit}); err != nil {
		return err
	}
	u.render(w, r, http.StatusOK, "services", "Services", d)
	return nil
}

// canCreateOwned reports whether the actor may create objects owned by at
// least one team.
func canCreateOwned(a *identity.Actor) bool {
	if a.Can(identity.PermWriteOwned, uuid.Nil) {
		return true
	}
	return slices.ContainsFunc(a.TeamIDs, func(t uuid.UUID) bool { return a.Can(identity.PermWriteOwned, t) })
}

// canWriteOwned reports whether the actor may change objects owned by
// the team called owner, to hide what they cannot use.
func (u *UI) canWriteOwned(ctx context.Context, owner string) bool {
	team, err := u.ids.GetTeam(ctx, owner)
	return err == nil && identity.ActorFrom(ctx).Can(identity.PermWriteOwned, team.ID)
}

type serviceData struct {
	S         catalog.Service
	Managed   string // the apply set that manages it, if any
	CanEdit   bool
	CanAudit  bool
	Audit     []auditRow
	AuditMore string // link to the full history
	Health    serviceChecks
	Alerts    serviceAlertList
	OnCall    serviceOnCall
}

func (u *UI) showService(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	s, err := u.cat.GetService(ctx, r.PathValue("name"))
	if err != nil {
		return err
	}
	a := identity.ActorFrom(ctx)
	d := serviceData{S: s, Managed: managedBy(s.Origin)}
	d.CanEdit = u.canWriteOwned(ctx, s.Owner)
	if d.Health, err = u.healthOf(ctx, s.Name); err != nil {
		return err
	}
	if d.Alerts, err = u.firingAlertsOf(ctx, s.Name); err != nil {
		return err
	}
	if d.OnCall, err = u.onCallOf(ctx, s.Name); err != nil {
		return err
	}
	if a.Can(identity.PermReadAudit, uuid.Nil) {
		d.CanAudit = true
		recs, err := audit.List(ctx, u.cfg.DB.Reader(), audit.Filter{ObjectKind: "service", ObjectName: s.Name, Limit: 10})
		if err != nil {
			return err
		}
		d.Audit = auditRows(recs)
		d.AuditMore = "/audit?" + url.Values{"kind": {"service"}, "object": {s.Name}}.Encode()
	}
	u.render(w, r, http.StatusOK, "service", s.Name, d)
	return nil
}

// serviceForm is the service form as the person typed it, kept as text so
// that a rejected form comes back exactly as it was sent.
type serviceForm struct {
	Name, DisplayName, Description, Owner, Tier, Lifecycle, Type, System string
	Environments                                                         []string
	DependsOn, Runbook, Repository, Dashboard, Tags, Labels              string
	Revision                                                             int64
}

// serviceFields are the form's fields, named as the service names them.
var serviceFields = []string{"name", "display_name", "description", "owner", "tier", "lifecycle", "type", "system",
	"environments", "depends_on", "runbook", "repository", "dashboard", "tags", "labels"}

type serviceFormData struct {
	Edit         bool
	Form         serviceForm
	Err          formErrors
	Teams        []identity.Team
	Environments []catalog.Environment
	Lifecycles   []string
	Managed      string
}

func formFromService(s catalog.Service) serviceForm {
	return serviceForm{Name: s.Name, DisplayName: s.DisplayName, Description: s.Description, Owner: s.Owner,
		Tier: strconv.Itoa(s.Tier), Lifecycle: s.Lifecycle, Type: s.Type, System: s.System, Environments: s.Environments,
		DependsOn: strings.Join(s.DependsOn, ", "), Runbook: s.Runbook, Repository: s.Repository, Dashboard: s.Dashboard,
		Tags: strings.Join(s.Tags, ", "), Labels: joinPairs(s.Labels, "="), Revision: s.Revision}
}

func readServiceForm(r *http.Request) serviceForm {
	f := r.PostForm
	rev, _ := strconv.ParseInt(f.Get("revision"), 10, 64)
	return serviceForm{Name: strings.TrimSpace(f.Get("name")), DisplayName: strings.TrimSpace(f.Get("display_name")),
		Description: strings.TrimSpace(f.Get("description")), Owner: f.Get("owner"), Tier: f.Get("tier"),
		Lifecycle: f.Get("lifecycle"), Type: strings.TrimSpace(f.Get("type")), System: strings.TrimSpace(f.Get("system")),
		Environments: f["environments"], DependsOn: f.Get("depends_on"), Runbook: strings.TrimSpace(f.Get("runbook")),
		Repository: strings.TrimSpace(f.Get("repository")), Dashboard: strings.TrimSpace(f.Get("dashboard")),
		Tags: f.Get("tags"), Labels: f.Get("labels"), Revision: rev}
}

// input turns the form into a service input, or an Invalid error for a
// field that is not even well-formed text (a tier that is not a number).
func (f serviceForm) input() (catalog.ServiceInput, error) {
	in := catalog.ServiceInput{Name: f.Name, ServiceSpec: catalog.ServiceSpec{
		DisplayName: f.DisplayName, Description: f.Description, Owner: f.Owner, Lifecycle: f.Lifecycle,
		Type: f.Type, System: f.System, Environments: f.Environments, DependsOn: splitList(f.DependsOn),
		Runbook: f.Runbook, Repository: f.Repository, Dashboard: f.Dashboard, Tags: splitList(f.Tags)}}
	tier, err := strconv.Atoi(strings.TrimSpace(f.Tier))
	if err != nil {
		return in, errs.Invalidf("tier", "must be a number from 1 (most critical) to 4")
	}
	in.Tier = tier
	in.Labels, err = parsePairs("labels", f.Labels, "=", "key=value")
	return in, err
}

// parsePairs reads the lines of text, each a key and a value separated
// by sep ("key=value" labels, "Name: value" headers), blank lines skipped;
// a line without sep is an Invalid error naming field. want shows the form
// of a line in that error.
func parsePairs(field, text, sep, want string) (map[string]string, error) {
	var out map[string]string
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, sep)
		if !ok || strings.TrimSpace(k) == "" {
			return nil, errs.Invalidf(field, "line %d: want %s, got %q", i+1, want, line)
		}
		if out == nil {
			out = map[string]string{}
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out, nil
}

// renderServiceForm shows the form, loading the choices it offers. Teams
// the actor cannot write are left out of the owner choices (the service
// decides anyway).
func (u *UI) renderServiceForm(w http.ResponseWriter, r *http.Request, status int, d serviceFormData) error {
	ctx := r.Context()
	a := identity.ActorFrom(ctx)
	teams, _, err := u.ids.ListTeams(ctx, identity.ListOptions{Limit: choiceLimit})
	if err != nil {
		return err
	}
	for _, t := range teams {
		if a.Can(identity.PermWriteOwned, t.ID) || t.Name == d.Form.Owner {
			d.Teams = append(d.Teams, t)
		}
	}
	if d.Environments, _, err = u.cat.ListEnvironments(ctx, catalog.ListOptions{Limit: choiceLimit}); err != nil {
		return err
	}
	d.Lifecycles = catalog.Lifecycles
	title := "New service"
	if d.Edit {
		title = "Edit " + d.Form.Name
	}
	u.render(w, r, status, "service_form", title, d)
	return nil
}

// newService shows the empty form. Those who may create no service see
// why instead of a form they cannot save (the service decides either way).
func (u *UI) newService(w http.ResponseWriter, r *http.Request) error {
	if a := identity.ActorFrom(r.Context()); !canCreateOwned(a) {
		return errs.Forbiddenf("role %s may not create services (members may, for their own teams)", a.Role)
	}
	return u.renderServiceForm(w, r, http.StatusOK, serviceFormData{
		Form: serviceForm{Tier: "3", Lifecycle: "production", Type: "service", Owner: r.URL.Query().Get("owner")}})
}

func (u *UI) createService(w http.ResponseWriter, r *http.Request) error {
	f := readServiceForm(r)
	in, err := f.input()
	if err == nil {
		_, err = u.cat.CreateService(r.Context(), in)
	}
	if err != nil {
		return u.serviceFormFailed(w, r, serviceFormData{Form: f}, err)
	}
	u.redirect(w, r, "/services/"+url.PathEscape(in.Name), fmt.Sprintf("Service %s created.", in.Name))
	return nil
}

func (u *UI) editService(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	s, err := u.cat.GetService(ctx, r.PathValue("name"))
	if err != nil {
		return err
	}
	if !u.canWriteOwned(ctx, s.Owner) {
		return errs.Forbiddenf("you may not change services owned by %s", s.Owner)
	}
	return u.renderServiceForm(w, r, http.StatusOK, serviceFormData{Edit: true, Form: formFromService(s), Managed: managedBy(s.Origin)})
}

// updateService replaces the service, guarded by the revision the form
// was loaded with, so that a stale form cannot undo someone else's change.
func (u *UI) updateService(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	f := readServiceForm(r)
	f.Name = name
	in, err := f.input()
	if err == nil {
		if f.Revision <= 0 {
			err = errs.Preconditionf("the form does not say which version of %s it edits; reload and retry", name)
		} else {
			_, err = u.cat.UpdateService(r.Context(), name, in, f.Revision)
		}
	}
	if err != nil {
		return u.serviceFormFailed(w, r, serviceFormData{Edit: true, Form: f}, err)
	}
	u.redirect(w, r, "/services/"+url.PathEscape(name), fmt.Sprintf("Service %s saved.", name))
	return nil
}

// serviceFormFailed re-renders the form with the person's input and the
// error next to its field; errors that are not about the input (a missing
// service, an internal error) become their own page.
func (u *UI) serviceFormFailed(w http.ResponseWriter, r *http.Request, d serviceFormData, err error) error {
	switch code := errs.CodeOf(err); code {
	case errs.Invalid, errs.Conflict, errs.Precondition, errs.Forbidden:
		d.Err = newFormErrors(err, serviceFields, nil)
		return u.renderServiceForm(w, r, errs.HTTPStatus(code), d)
	}
	return err
}

func managedBy(origin string) string {
	if s, ok := strings.CutPrefix(origin, "apply:"); ok {
		return s
	}
	return ""
}
