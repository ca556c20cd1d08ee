package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"go.yaml.in/yaml/v3"

	"groundcrew.dev/groundcrew/internal/alert"
	"groundcrew.dev/groundcrew/internal/alert/matcher"
	"groundcrew.dev/groundcrew/internal/alert/route"
	"groundcrew.dev/groundcrew/internal/catalog"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/oncall"
)

// routeInputs are the route form's inputs, named as an AlertRoute's spec
// names its fields so that the alert service's errors land next to them.
// The form covers the whole document (nested routes and time intervals as
// YAML): a setting it did not show would be lost on saving.
var routeInputs = []string{
	"name", "labels", "position", "matchers", "condition", "group_by", "group_wait", "group_interval", "repeat_interval",
	"receivers", "team", "service", "escalation_policy", "continue", "active_intervals", "mute_intervals",
	"routes", "time_intervals",
}

// yamlInputs hold YAML: indentation counts.
var yamlInputs = []string{"routes", "time_intervals"}

// multilineInputs are kept as typed, so that an error can name a line.
var multilineInputs = []string{"routes", "time_intervals", "matchers", "source_matchers", "target_matchers", "labels"}

// ruleInputs are the inhibition rule form's inputs.
var ruleInputs = []string{"name", "labels", "source_matchers", "target_matchers", "equal"}

// specRename places the service's errors about "spec.matchers[1]" next to
// the form's "matchers".
func specRename(inputs []string) map[string]string {
	m := map[string]string{}
	for _, k := range inputs {
		if k != "name" && k != "labels" {
			m["spec."+k] = k
		}
	}
	return m
}

var (
	routeRename = specRename(routeInputs)
	ruleRename  = specRename(ruleInputs)
)

// routeForm is the form of an alert route or an inhibition rule as the
// person typed it, kept as text so that a rejected form comes back as it
// was sent.
type routeForm struct {
	V         map[string]string
	Receivers []string // chosen receivers, in the order sent
	Revision  int64
}

func readRouteForm(r *http.Request, inputs []string) routeForm {
	pf := r.PostForm
	f := routeForm{V: map[string]string{}}
	for _, k := range inputs {
		v := pf.Get(k)
		if strings.TrimSpace(v) == "" {
			continue
		}
		if !slices.Contains(multilineInputs, k) {
			v = strings.TrimSpace(v)
		}
		f.V[k] = strings.ReplaceAll(v, "\r\n", "\n")
	}
	for _, v := range pf["receivers"] {
		for _, rc := range splitList(v) {
			if !slices.Contains(f.Receivers, rc) {
				f.Receivers = append(f.Receivers, rc)
			}
		}
	}
	f.V["receivers"] = strings.Join(f.Receivers, ", ")
	f.Revision, _ = strconv.ParseInt(pf.Get("revision"), 10, 64)
	return f
}

// formFromRoute fills the form with rt's document.
func formFromRoute(rt alert.Route) (routeForm, error) {
	s := rt.Spec
	v := map[string]string{"name": rt.Name, "labels": joinPairs(rt.Labels, "="), "position": strconv.Itoa(s.Position),
		"matchers": strings.Join(s.Matchers, "\n"), "condition": s.Condition, "group_by": strings.Join(s.GroupBy, ", "),
		"group_wait": s.GroupWait, "group_interval": s.GroupInterval, "repeat_interval": s.RepeatInterval,
		"receivers": strings.Join(s.Receivers, ", "), "team": s.Team, "service": s.Service, "escalation_policy": s.EscalationPolicy,
		"active_intervals": strings.Join(s.ActiveIntervals, ", "), "mute_intervals": strings.Join(s.MuteIntervals, ", ")}
	if s.Continue {
		v["continue"] = "true"
	}
	var err error
	if len(s.Routes) > 0 {
		if v["routes"], err = toYAML(s.Routes); err != nil {
			return routeForm{}, err
		}
	}
	if len(s.TimeIntervals) > 0 {
		if v["time_intervals"], err = toYAML(s.TimeIntervals); err != nil {
			return routeForm{}, err
		}
	}
	return routeForm{V: v, Receivers: slices.Clone(s.Receivers), Revision: rt.Revision}, nil
}

// formFromRule fills the form with an inhibition rule.
func formFromRule(rule alert.InhibitRule) routeForm {
	lines := func(ms matcher.Matchers) string {
		var out []string
		for _, m := range ms {
			out = append(out, m.String())
		}
		return strings.Join(out, "\n")
	}
	return routeForm{V: map[string]string{"name": rule.Name, "labels": joinPairs(rule.Labels, "="),
		"source_matchers": lines(rule.Spec.SourceMatchers), "target_matchers": lines(rule.Spec.TargetMatchers),
		"equal": strings.Join(rule.Spec.Equal, ", ")}, Revision: rule.Revision}
}

// formLines are the matchers of each textarea of a form, by input, with
// the line each is on: an error about the second matcher names its line.
type formLines map[string][]int

// matchers reads the matchers of input k, one a line, as typed and
// parsed. The alert service checks them again; parsing here only makes the
// message about a bad one plainer.
func (fl formLines) matchers(p *formParser, k string) ([]string, matcher.Matchers) {
	lines, rows := matcherLines(p.v[k])
	fl[k] = rows
	if len(lines) > maxMatcherRows {
		p.fail(errs.Invalidf(k, "at most %d matchers", maxMatcherRows))
		return lines, nil
	}
	var ms matcher.Matchers
	for i, l := range lines {
		m, err := matcher.Parse(l)
		if err != nil {
			p.fail(errs.WithField(fmt.Sprintf("%s[%d]", k, i), err))
			return lines, nil
		}
		ms = append(ms, m)
	}
	return lines, ms
}

// input turns the form into a route.
func (f routeForm) input() (alert.RouteInput, formLines, error) {
	v := f.V
	p := &formParser{v: v}
	fl := formLines{}
	in := alert.RouteInput{Name: v["name"], Labels: p.pairs("labels", "=", "key=value")}
	s := &in.Spec
	s.Position = p.number("position")
	s.Matchers, _ = fl.matchers(p, "matchers")
	s.Condition, s.GroupBy = v["condition"], names(v["group_by"])
	s.GroupWait, s.GroupInterval, s.RepeatInterval = v["group_wait"], v["group_interval"], v["repeat_interval"]
	s.Receivers, s.Team, s.Service, s.EscalationPolicy = f.Receivers, v["team"], v["service"], v["escalation_policy"]
	s.Continue = p.flag("continue")
	s.ActiveIntervals, s.MuteIntervals = names(v["active_intervals"]), names(v["mute_intervals"])
	p.fail(fromYAML("routes", v["routes"], &s.Routes))
	p.fail(fromYAML("time_intervals", v["time_intervals"], &s.TimeIntervals))
	return in, fl, p.err
}

// ruleInput turns the form into an inhibition rule.
func (f routeForm) ruleInput() (alert.InhibitRuleInput, formLines, error) {
	p := &formParser{v: f.V}
	fl := formLines{}
	in := alert.InhibitRuleInput{Name: f.V["name"], Labels: p.pairs("labels", "=", "key=value")}
	parse := func(k string) matcher.Matchers {
		_, ms := fl.matchers(p, k)
		return ms
	}
	in.Spec = route.InhibitRule{SourceMatchers: parse("source_matchers"), TargetMatchers: parse("target_matchers"), Equal: names(f.V["equal"])}
	return in, fl, p.err
}

// names reads a list separated by commas or spaces; an empty one is nil,
// as a spec read from JSON has it, so that saving an unchanged form
// changes nothing.
func names(s string) []string {
	if l := splitList(s); len(l) > 0 {
		return l
	}
	return nil
}

// toYAML writes v (a spec part) as YAML with the names its JSON has, as
// people write it in files.
func toYAML(v any) (string, error) {
	js, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	var generic any
	if err := json.Unmarshal(js, &generic); err != nil {
		return "", err
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(generic); err != nil {
		return "", err
	}
	return buf.String(), enc.Close()
}

// fromYAML reads YAML text into v as apply would read it: unknown fields
// are an error. Empty text leaves v alone. An error is Invalid, naming
// field.
func fromYAML(field, text string, v any) error {
	if strings.TrimSpace(text) == "" {
		return nil
	}
	var generic any
	if err := yaml.Unmarshal([]byte(text), &generic); err != nil {
		return errs.Invalidf(field, "not valid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	js, err := json.Marshal(generic)
	if err != nil {
		return errs.Invalidf(field, "not valid YAML: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errs.Invalidf(field, "%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// labelListLines lets the route test take labels separated by commas as
// well as by lines: commas outside double quotes start a new line.
func labelListLines(text string) string {
	var b strings.Builder
	quoted, escaped := false, false
	for _, r := range text {
		switch {
		case escaped:
			escaped = false
		case r == '\\' && quoted:
			escaped = true
		case r == '"':
			quoted = !quoted
		case r == ',' && !quoted:
			r = '\n'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// routeFormData is what the form of a route or an inhibition rule
// receives.
type routeFormData struct {
	Rule      bool // an inhibition rule's form, not a route's
	Edit      bool
	Form      routeForm
	Err       formErrors
	Stale     bool   // someone else changed or deleted it: reload
	Managed   string // the apply set the document came from, if any
	Receivers []choice
	Teams     []choice
	Services  []choice
	Policies  []choice
	OnCall    bool // escalation policies exist on this server
}

// ConfigDir reports whether the document is re-applied from the server's
// configuration directory at each start.
func (d routeFormData) ConfigDir() bool { return d.Managed == configDirSet }

// Shows reports whether any of the inputs called keys has a value or an
// error: a folded part of the form that does is shown open.
func (d routeFormData) Shows(keys ...string) bool {
	return slices.ContainsFunc(keys, func(k string) bool { return d.Form.V[k] != "" || d.Err.Field[k] != "" })
}

// Action is where the form posts.
func (d routeFormData) Action() string {
	base := "/alerts/routes/"
	if d.Rule {
		base = "/alerts/inhibit-rules/"
	}
	if d.Edit {
		return base + url.PathEscape(d.Form.V["name"]) + "/edit"
	}
	return base + "new"
}

// configDirSet is the apply set of the documents `serve` applies from its
// configuration directory at start.
const configDirSet = "config-dir"

// requireRouteWriter refuses, before reading any input, those who may not
// change the routing (operators and admins may); the alert service
// decides again.
func (u *UI) requireRouteWriter(r *http.Request) error {
	if err := u.requireAlerts(); err != nil {
		return err
	}
	if a := identity.ActorFrom(r.Context()); !a.Can(identity.PermWriteCatalog, uuid.Nil) {
		return errs.Forbiddenf("role %s may not change alert routing (operators and admins may)", a.Role)
	}
	return nil
}

// renderRouteForm shows the form, loading the choices it offers.
func (u *UI) renderRouteForm(w http.ResponseWriter, r *http.Request, status int, d routeFormData) error {
	ctx := r.Context()
	if !d.Rule {
		if u.cfg.Notify != nil {
			rcvs, _, err := u.cfg.Notify.List(ctx, "", choiceLimit)
			if err != nil {
				return err
			}
			for _, rc := range rcvs {
				d.Receivers = append(d.Receivers, choice{rc.Name, rc.Name})
			}
			for _, name := range d.Form.Receivers { // keep what no receiver is called (yet)
				if !slices.ContainsFunc(d.Receivers, func(c choice) bool { return c.Value == name }) {
					d.Receivers = append(d.Receivers, choice{name, name + " (no such receiver)"})
				}
			}
		}
		teams, _, err := u.ids.ListTeams(ctx, identity.ListOptions{Limit: choiceLimit})
		if err != nil {
			return err
		}
		for _, t := range teams {
			d.Teams = append(d.Teams, choice{t.Name, t.Name})
		}
		svcs, _, err := u.cat.ListServices(ctx, catalog.ListOptions{Limit: choiceLimit}, catalog.ServiceFilter{})
		if err != nil {
			return err
		}
		for _, s := range svcs {
			d.Services = append(d.Services, choice{s.Name, s.Name})
		}
		if u.cfg.OnCall != nil {
			d.OnCall = true
			pols, _, err := u.cfg.OnCall.ListPolicies(ctx, oncall.Filter{Limit: choiceLimit})
			if err != nil {
				return err
			}
			for _, p := range pols {
				d.Policies = append(d.Policies, choice{p.Name, p.Name})
			}
		}
	}
	title := "New alert route"
	switch name := d.Form.V["name"]; {
	case d.Rule && d.Edit:
		title = "Edit inhibition rule " + name
	case d.Rule:
		title = "New inhibition rule"
	case d.Edit:
		title = "Edit route " + name
	}
	u.render(w, r, status, "alert_route_form", title, d)
	return nil
}

// routeFormFailed shows the form again with the person's input and the
// error next to its field; errors that are not about the input become
// their own page.
func (u *UI) routeFormFailed(w http.ResponseWriter, r *http.Request, d routeFormData, fl formLines, err error) error {
	code := errs.CodeOf(err)
	switch code {
	case errs.Invalid, errs.Conflict, errs.Precondition, errs.Forbidden:
	default:
		return err
	}
	inputs, rename := routeInputs, routeRename
	if d.Rule {
		inputs, rename = ruleInputs, ruleRename
	}
	d.Err = newFormErrors(err, inputs, rename)
	d.Stale = code == errs.Precondition
	path := strings.TrimPrefix(errs.FieldOf(err), "spec.")
	for field, msg := range d.Err.Field {
		switch {
		case fl[field] != nil:
			if i, ok := indexIn(path, field); ok && i < len(fl[field]) {
				d.Err.Field[field] = fmt.Sprintf("line %d: %s", fl[field][i], msg)
			}
		case slices.Contains(yamlInputs, field) && path != field && strings.HasPrefix(path, field):
			d.Err.Field[field] = path + ": " + msg // which nested route or interval
		}
	}
	return u.renderRouteForm(w, r, errs.HTTPStatus(code), d)
}

// indexIn returns i of a path "field[i]…".
func indexIn(path, field string) (int, bool) {
	rest, ok := strings.CutPrefix(path, field+"[")
	if !ok {
		return 0, false
	}
	n, _, ok := strings.Cut(rest, "]")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(n)
	return i, err == nil
}

// ---- routes ----

func (u *UI) newRoute(w http.ResponseWriter, r *http.Request) error {
	if err := u.requireRouteWriter(r); err != nil {
		return err
	}
	return u.renderRouteForm(w, r, http.StatusOK, routeFormData{Form: routeForm{V: map[string]string{}}})
}

// createRoute creates a route; a rejected form comes back as typed with
// the error next to its field, and nothing is stored.
func (u *UI) createRoute(w http.ResponseWriter, r *http.Request) error {
	if err := u.requireRouteWriter(r); err != nil {
		return err
	}
	f := readRouteForm(r, routeInputs)
	in, fl, err := f.input()
	if err == nil {
		_, err = u.cfg.Alerts.PutRoute(r.Context(), in, 0, true)
	}
	if err != nil {
		return u.routeFormFailed(w, r, routeFormData{Form: f}, fl, err)
	}
	u.redirect(w, r, "/alerts/routes#route-"+in.Name, fmt.Sprintf("Route %s created.", in.Name))
	return nil
}

func (u *UI) editRoute(w http.ResponseWriter, r *http.Request) error {
	if err := u.requireRouteWriter(r); err != nil {
		return err
	}
	rt, err := u.cfg.Alerts.GetRoute(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	f, err := formFromRoute(rt)
	if err != nil {
		return err
	}
	return u.renderRouteForm(w, r, http.StatusOK, routeFormData{Edit: true, Form: f, Managed: managedBy(rt.Origin)})
}

// updateRoute replaces the route, guarded by the revision the form was
// loaded with, so that a stale form cannot undo someone else's change.
func (u *UI) updateRoute(w http.ResponseWriter, r *http.Request) error {
	if err := u.requireRouteWriter(r); err != nil {
		return err
	}
	ctx := r.Context()
	name := r.PathValue("name")
	f := readRouteForm(r, routeInputs)
	f.V["name"] = name
	d := routeFormData{Edit: true, Form: f}
	if rt, err := u.cfg.Alerts.GetRoute(ctx, name); err == nil {
		d.Managed = managedBy(rt.Origin)
	}
	in, fl, err := f.input()
	if err == nil {
		_, err = u.cfg.Alerts.ReplaceRoute(ctx, in, f.Revision)
	}
	if err != nil {
		return u.routeFormFailed(w, r, d, fl, err)
	}
	u.redirect(w, r, "/alerts/routes#route-"+name, fmt.Sprintf("Route %s saved.", name))
	return nil
}

func (u *UI) deleteRoute(w http.ResponseWriter, r *http.Request) error {
	if err := u.requireRouteWriter(r); err != nil {
		return err
	}
	name := r.PathValue("name")
	rev, _ := strconv.ParseInt(r.PostFormValue("revision"), 10, 64)
	if err := u.cfg.Alerts.DeleteRoute(r.Context(), name, rev); err != nil {
		return err
	}
	u.redirect(w, r, "/alerts/routes", fmt.Sprintf("Route %s deleted.", name))
	return nil
}

// ---- inhibition rules ----

func (u *UI) newInhibitRule(w http.ResponseWriter, r *http.Request) error {
	if err := u.requireRouteWriter(r); err != nil {
		return err
	}
	return u.renderRouteForm(w, r, http.StatusOK, routeFormData{Rule: true, Form: routeForm{V: map[string]string{}}})
}

func (u *UI) createInhibitRule(w http.ResponseWriter, r *http.Request) error {
	if err := u.requireRouteWriter(r); err != nil {
		return err
	}
	f := readRouteForm(r, ruleInputs)
	in, fl, err := f.ruleInput()
	if err == nil {
		_, err = u.cfg.Alerts.PutInhibitRule(r.Context(), in, 0, true)
	}
	if err != nil {
		return u.routeFormFailed(w, r, routeFormData{Rule: true, Form: f}, fl, err)
	}
	u.redirect(w, r, "/alerts/routes#inhibit", fmt.Sprintf("Inhibition rule %s created.", in.Name))
	return nil
}

func (u *UI) editInhibitRule(w http.ResponseWriter, r *http.Request) error {
	if err := u.requireRouteWriter(r); err != nil {
		return err
	}
	rule, err := u.cfg.Alerts.GetInhibitRule(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return u.renderRouteForm(w, r, http.StatusOK, routeFormData{Rule: true, Edit: true, Form: formFromRule(rule), Managed: managedBy(rule.Origin)})
}

func (u *UI) updateInhibitRule(w http.ResponseWriter, r *http.Request) error {
	if err := u.requireRouteWriter(r); err != nil {
		return err
	}
	ctx := r.Context()
	name := r.PathValue("name")
	f := readRouteForm(r, ruleInputs)
	f.V["name"] = name
	d := routeFormData{Rule: true, Edit: true, Form: f}
	if rule, err := u.cfg.Alerts.GetInhibitRule(ctx, name); err == nil {
		d.Managed = managedBy(rule.Origin)
	}
	in, fl, err := f.ruleInput()
	if err == nil && f.Revision <= 0 {
		err = errs.Preconditionf("the form does not say which version of %s it edits; reload and retry", name)
	}
	if err == nil {
		_, err = u.cfg.Alerts.PutInhibitRule(ctx, in, f.Revision, false)
	}
	if err != nil {
		return u.routeFormFailed(w, r, d, fl, err)
	}
	u.redirect(w, r, "/alerts/routes#inhibit", fmt.Sprintf("Inhibition rule %s saved.", name))
	return nil
}

func (u *UI) deleteInhibitRule(w http.ResponseWriter, r *http.Request) error {
	if err := u.requireRouteWriter(r); err != nil {
		return err
	}
	name := r.PathValue("name")
	rev, _ := strconv.ParseInt(r.PostFormValue("revision"), 10, 64)
	if err := u.cfg.Alerts.DeleteInhibitRule(r.Context(), name, rev); err != nil {
		return err
	}
	u.redirect(w, r, "/alerts/routes#inhibit", fmt.Sprintf("Inhibition rule %s deleted.", name))
	return nil
}
