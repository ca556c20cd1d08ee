package ui

import (
	"fmt"
	"maps"
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
	"groundcrew.dev/groundcrew/internal/expr"
	"groundcrew.dev/groundcrew/internal/identity"
)

// checkInputs are the check form's inputs besides its conditions, named as
// the check service names the fields ("http.url", "confirm.down") so that
// its errors land next to them. The form covers the whole definition: a
// setting it did not show would be lost on saving.
var checkInputs = []string{
	"name", "display_name", "service", "environment", "type", "parent", "labels",
	"interval", "timeout", "retries", "confirm.down", "confirm.up", "locations", "min_failing_locations", "paused",
	"http.url", "http.method", "http.headers", "http.body", "http.redirects", "http.tls_skip_verify",
	"http.max_redirects", "http.max_body_bytes", "http.ca_file", "http.client_cert_file", "http.client_key_file",
	"tcp.address", "tcp.send", "tcp.expect", "tcp.tls", "tcp.tls_skip_verify",
	"udp.address", "udp.send", "udp.expect",
	"dns.name", "dns.type", "dns.resolver", "dns.protocol",
	"tls.address", "tls.server_name", "tls.starttls", "tls.ca_file",
	"icmp.host", "icmp.count",
	"grpc.address", "grpc.service", "grpc.tls", "grpc.tls_skip_verify",
	"ssh.address",
	"heartbeat.grace",
}

// verbatimInputs are kept exactly as sent: what a probe sends or expects,
// where spaces and line breaks count.
var verbatimInputs = []string{"http.body", "tcp.send", "tcp.expect", "udp.send", "udp.expect"}

const (
	maxConditions    = 20 // as many as a check may have
	minConditionRows = 5  // rows the form offers at least
	spareConditions  = 2  // empty rows offered after a check's conditions
)

// checkForm is the check form as the person typed it: inputs by name,
// kept as text so that a rejected form comes back as it was sent. A
// checkbox is "true" when checked; an empty input is absent.
type checkForm struct {
	V          map[string]string
	Conditions []conditionInput
	Revision   int64
}

// conditionInput is one row of the form's conditions.
type conditionInput struct {
	Expr, Name string
	Degraded   bool
}

func (c conditionInput) empty() bool { return c.Expr == "" && c.Name == "" }

func conditionKey(i int, part string) string { return fmt.Sprintf("conditions[%d].%s", i, part) }

func readCheckForm(r *http.Request) checkForm {
	pf := r.PostForm
	f := checkForm{V: map[string]string{}}
	for _, k := range checkInputs {
		v := pf.Get(k)
		if !slices.Contains(verbatimInputs, k) {
			v = strings.TrimSpace(v)
		}
		if v != "" {
			f.V[k] = v
		}
	}
	f.Revision, _ = strconv.ParseInt(pf.Get("revision"), 10, 64)
	for i := range maxConditions {
		if !pf.Has(conditionKey(i, "expr")) && !pf.Has(conditionKey(i, "name")) {
			break
		}
		f.Conditions = append(f.Conditions, conditionInput{Expr: strings.TrimSpace(pf.Get(conditionKey(i, "expr"))),
			Name: strings.TrimSpace(pf.Get(conditionKey(i, "name"))), Degraded: pf.Get(conditionKey(i, "degraded")) != ""})
	}
	return f
}

// formFromCheck fills the form with c's definition.
func formFromCheck(c check.Check) checkForm {
	v := map[string]string{}
	set := func(k, s string) {
		if s != "" {
			v[k] = s
		}
	}
	num := func(k string, n int64) {
		if n != 0 {
			v[k] = strconv.FormatInt(n, 10)
		}
	}
	dur := func(k string, d probe.Duration) {
		if d != 0 {
			v[k] = fmtInterval(d)
		}
	}
	flag := func(k string, b bool) {
		if b {
			v[k] = "true"
		}
	}
	set("name", c.Name)
	set("display_name", c.DisplayName)
	set("service", c.Service)
	set("environment", c.Environment)
	set("type", string(c.Type))
	set("parent", c.Parent)
	set("labels", joinPairs(c.Labels, "="))
	dur("interval", c.Interval)
	dur("timeout", c.Timeout)
	v["retries"] = strconv.Itoa(c.Retries)
	v["confirm.down"], v["confirm.up"] = strconv.Itoa(c.Confirm.Down), strconv.Itoa(c.Confirm.Up)
	set("locations", strings.Join(c.Locations, ", "))
	if c.MinFailingLocations > 0 {
		v["min_failing_locations"] = strconv.Itoa(c.MinFailingLocations)
	}
	flag("paused", c.Paused)
	if h := c.HTTP; h != nil {
		set("http.url", h.URL)
		set("http.method", h.Method)
		set("http.headers", joinPairs(h.Headers, ": "))
		set("http.body", h.Body)
		set("http.redirects", h.Redirects)
		flag("http.tls_skip_verify", h.TLSSkipVerify)
		num("http.max_redirects", int64(h.MaxRedirects))
		num("http.max_body_bytes", h.MaxBodyBytes)
		set("http.ca_file", h.CAFile)
		set("http.client_cert_file", h.ClientCertFile)
		set("http.client_key_file", h.ClientKeyFile)
	}
	if t := c.TCP; t != nil {
		set("tcp.address", t.Address)
		set("tcp.send", t.Send)
		set("tcp.expect", t.Expect)
		flag("tcp.tls", t.TLS)
		flag("tcp.tls_skip_verify", t.TLSSkipVerify)
	}
	if u := c.UDP; u != nil {
		set("udp.address", u.Address)
		set("udp.send", u.Send)
		set("udp.expect", u.Expect)
	}
	if d := c.DNS; d != nil {
		set("dns.name", d.Name)
		set("dns.type", d.Type)
		set("dns.resolver", d.Resolver)
		set("dns.protocol", d.Protocol)
	}
	if t := c.TLS; t != nil {
		set("tls.address", t.Address)
		set("tls.server_name", t.ServerName)
		set("tls.starttls", t.StartTLS)
		set("tls.ca_file", t.CAFile)
	}
	if i := c.ICMP; i != nil {
		set("icmp.host", i.Host)
		num("icmp.count", int64(i.Count))
	}
	if g := c.GRPC; g != nil {
		set("grpc.address", g.Address)
		set("grpc.service", g.Service)
		flag("grpc.tls", g.TLS)
		flag("grpc.tls_skip_verify", g.TLSSkipVerify)
	}
	if s := c.SSH; s != nil {
		set("ssh.address", s.Address)
	}
	if hb := c.Heartbeat; hb != nil {
		dur("heartbeat.grace", hb.Grace)
	}
	f := checkForm{V: v, Revision: c.Revision}
	for _, cond := range c.Conditions {
		f.Conditions = append(f.Conditions, conditionInput{Expr: cond.Expr, Name: cond.Name, Degraded: cond.Degraded})
	}
	return f
}

// joinPairs writes m as sorted "key<sep>value" lines.
func joinPairs(m map[string]string, sep string) string {
	var lines []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		lines = append(lines, k+sep+m[k])
	}
	return strings.Join(lines, "\n")
}

// formParser reads typed values from the form's text, keeping the first
// error: an Invalid error naming the input.
type formParser struct {
	v   map[string]string
	err error
}

func (p *formParser) fail(err error) {
	if p.err == nil {
		p.err = err
	}
}

func (p *formParser) flag(k string) bool { return p.v[k] != "" }

func (p *formParser) number(k string) int {
	s := p.v[k]
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		p.fail(errs.Invalidf(k, "%q is not a whole number", s))
	}
	return n
}

func (p *formParser) duration(k string) probe.Duration {
	s := p.v[k]
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		p.fail(errs.Invalidf(k, "%q is not a duration such as 30s, 5m or 1h30m", s))
	}
	return probe.Duration(d)
}

func (p *formParser) pairs(k, sep, want string) map[string]string {
	m, err := parsePairs(k, p.v[k], sep, want)
	p.fail(err)
	return m
}

// input turns the form into a check input, reading only the settings of
// the chosen type (a heartbeat has no timeout, retries, locations or
// conditions either). rename maps the service's names of the conditions
// (numbered without the empty rows) to the rows of the form. The error is
// Invalid for an input that is not even well-formed text.
func (f checkForm) input() (in check.Input, rename map[string]string, err error) {
	v := f.V
	p := &formParser{v: v}
	in = check.Input{Name: v["name"], Labels: p.pairs("labels", "=", "key=value"), Spec: check.Spec{
		DisplayName: v["display_name"], Service: v["service"], Environment: v["environment"], Parent: v["parent"],
		Interval: p.duration("interval"), Confirm: check.Confirm{Down: p.number("confirm.down"), Up: p.number("confirm.up")},
		Paused: p.flag("paused")}}
	in.Type = probe.Type(v["type"])
	if in.Type == check.Heartbeat {
		in.Heartbeat = &check.HeartbeatSpec{Grace: p.duration("heartbeat.grace")}
		return in, nil, p.err
	}
	in.Timeout, in.Retries, in.Locations = p.duration("timeout"), p.number("retries"), splitList(v["locations"])
	in.MinFailingLocations = p.number("min_failing_locations")
	switch in.Type {
	case probe.HTTP:
		in.HTTP = &probe.HTTPSpec{URL: v["http.url"], Method: v["http.method"], Headers: p.pairs("http.headers", ":", "Name: value"),
			Body: v["http.body"], Redirects: v["http.redirects"], TLSSkipVerify: p.flag("http.tls_skip_verify"),
			MaxRedirects: p.number("http.max_redirects"), MaxBodyBytes: int64(p.number("http.max_body_bytes")),
			CAFile: v["http.ca_file"], ClientCertFile: v["http.client_cert_file"], ClientKeyFile: v["http.client_key_file"]}
	case probe.TCP:
		in.TCP = &probe.TCPSpec{Address: v["tcp.address"], Send: v["tcp.send"], Expect: v["tcp.expect"],
			TLS: p.flag("tcp.tls"), TLSSkipVerify: p.flag("tcp.tls_skip_verify")}
	case probe.UDP:
		in.UDP = &probe.UDPSpec{Address: v["udp.address"], Send: v["udp.send"], Expect: v["udp.expect"]}
	case probe.DNS:
		in.DNS = &probe.DNSSpec{Name: v["dns.name"], Type: v["dns.type"], Resolver: v["dns.resolver"], Protocol: v["dns.protocol"]}
	case probe.TLS:
		in.TLS = &probe.TLSSpec{Address: v["tls.address"], ServerName: v["tls.server_name"], StartTLS: v["tls.starttls"], CAFile: v["tls.ca_file"]}
	case probe.ICMP:
		in.ICMP = &probe.ICMPSpec{Host: v["icmp.host"], Count: p.number("icmp.count")}
	case probe.GRPC:
		in.GRPC = &probe.GRPCSpec{Address: v["grpc.address"], Service: v["grpc.service"], TLS: p.flag("grpc.tls"),
			TLSSkipVerify: p.flag("grpc.tls_skip_verify")}
	case probe.SSH:
		in.SSH = &probe.SSHSpec{Address: v["ssh.address"]}
	}
	rename = map[string]string{}
	for row, c := range f.Conditions {
		if c.empty() {
			continue
		}
		if i := len(in.Conditions); i != row {
			rename[conditionKey(i, "expr")], rename[conditionKey(i, "name")] = conditionKey(row, "expr"), conditionKey(row, "name")
		}
		in.Conditions = append(in.Conditions, check.Condition{Expr: c.Expr, Name: c.Name, Degraded: c.Degraded})
	}
	return in, rename, p.err
}

// fields are the names errors may be placed next to.
func (f checkForm) fields() []string {
	out := append(slices.Clone(checkInputs), "conditions")
	for i := range f.Conditions {
		out = append(out, conditionKey(i, "expr"), conditionKey(i, "name"))
	}
	return out
}

// choice is one option of a select.
type choice struct{ Value, Label string }

// conditionField is one row of conditions as the form shows it.
type conditionField struct {
	conditionInput
	Key string // "conditions[0]"
	N   int    // from 1
}

// typeHelp says what the conditions of a probe type can use.
type typeHelp struct {
	Vars     []expr.Var
	Defaults []string
}

// checkTypeChoices are the types offered, each with what it probes.
var checkTypeChoices = func() []choice {
	says := map[probe.Type]string{
		probe.HTTP: "an HTTP(S) request", probe.TCP: "a TCP connection", probe.UDP: "a UDP datagram and its reply",
		probe.DNS: "a DNS query", probe.TLS: "a server's TLS certificate", probe.ICMP: "ping", probe.GRPC: "gRPC health",
		probe.SSH: "an SSH server's banner", check.Heartbeat: "pings from a job, e.g. a backup",
	}
	var out []choice
	for _, t := range checkTypes {
		label := string(t)
		if s, ok := says[t]; ok {
			label += " — " + s
		}
		out = append(out, choice{string(t), label})
	}
	return out
}()

// probeTypes are the probe types, space-separated as data-types wants
// them: the parts of the form that heartbeat checks do not use.
var probeTypes = func() string {
	var s []string
	for _, t := range probe.Types {
		s = append(s, string(t))
	}
	return strings.Join(s, " ")
}()

// probeChoices are the options of the probe settings' selects, by input;
// each select also offers the default, as no value.
var probeChoices = map[string][]choice{
	"http.redirects": {{probe.RedirectsNone, "none: the redirect is the result"}, {probe.RedirectsSameHost, "same-host: follow on the same host"}},
	"dns.type":       choices("AAAA", "CNAME", "MX", "TXT", "NS", "SOA", "SRV", "PTR", "CAA"),
	"dns.protocol":   choices("tcp"),
	"tls.starttls":   choices("smtp"),
}

// choices offers each value as itself.
func choices(values ...string) []choice {
	out := make([]choice, len(values))
	for i, v := range values {
		out[i] = choice{v, v}
	}
	return out
}

// typeHelps are the typeHelp of each probe type, by type.
var typeHelps = func() map[string]typeHelp {
	m := map[string]typeHelp{}
	for _, t := range probe.Types {
		m[string(t)] = typeHelp{Vars: probe.Vars(t), Defaults: probe.DefaultConditions(t)}
	}
	return m
}()

// checkFormData is what the check form's template receives.
type checkFormData struct {
	Edit         bool
	Form         checkForm
	Rows         []conditionField
	Err          formErrors
	Services     []choice
	Environments []choice
	Parents      []choice
	Types        []choice
	ProbeTypes   string
	Help         map[string]typeHelp
	Choices      map[string][]choice // of the probe settings' selects, by input
	Managed      string
}

// Shows reports whether any of the inputs called keys has a value or an
// error: a folded part of the form that does is shown open.
func (d checkFormData) Shows(keys ...string) bool {
	return slices.ContainsFunc(keys, func(k string) bool { return d.Form.V[k] != "" || d.Err.Field[k] != "" })
}

// conditionRows are the form's rows of conditions: those typed (up to the
// last one not empty, so that rows keep their numbers) and a few empty ones.
func conditionRows(conds []conditionInput) []conditionField {
	n := len(conds)
	for n > 0 && conds[n-1].empty() && !conds[n-1].Degraded {
		n--
	}
	rows := make([]conditionField, max(minConditionRows, min(n+spareConditions, maxConditions), n))
	for i := range rows {
		if i < n {
			rows[i].conditionInput = conds[i]
		}
		rows[i].Key, rows[i].N = fmt.Sprintf("conditions[%d]", i), i+1
	}
	return rows
}

// renderCheckForm shows the form, loading the choices it offers. Services
// of teams the actor cannot write are left out (the check service decides
// anyway).
func (u *UI) renderCheckForm(w http.ResponseWriter, r *http.Request, status int, d checkFormData) error {
	ctx := r.Context()
	a := identity.ActorFrom(ctx)
	teams, _, err := u.ids.ListTeams(ctx, identity.ListOptions{Limit: choiceLimit})
	if err != nil {
		return err
	}
	writable := map[string]bool{}
	for _, t := range teams {
		writable[t.Name] = a.Can(identity.PermWriteOwned, t.ID)
	}
	svcs, _, err := u.cat.ListServices(ctx, catalog.ListOptions{Limit: choiceLimit}, catalog.ServiceFilter{})
	if err != nil {
		return err
	}
	for _, s := range svcs {
		if writable[s.Owner] || s.Name == d.Form.V["service"] {
			label := s.Name
			if len(s.Environments) > 0 {
				label += " (" + strings.Join(s.Environments, ", ") + ")"
			}
			d.Services = append(d.Services, choice{s.Name, label})
		}
	}
	envs, _, err := u.cat.ListEnvironments(ctx, catalog.ListOptions{Limit: choiceLimit})
	if err != nil {
		return err
	}
	for _, e := range envs {
		d.Environments = append(d.Environments, choice{e.Name, e.Name})
	}
	checks, _, err := u.checks.List(ctx, check.Filter{Limit: choiceLimit})
	if err != nil {
		return err
	}
	for _, c := range checks {
		if !d.Edit || c.Name != d.Form.V["name"] {
			d.Parents = append(d.Parents, choice{c.Name, c.Name + " — " + c.Service + " in " + c.Environment})
		}
	}
	d.Types, d.ProbeTypes, d.Help, d.Choices = checkTypeChoices, probeTypes, typeHelps, probeChoices
	d.Rows = conditionRows(d.Form.Conditions)
	title := "New check"
	if d.Edit {
		title = "Edit " + d.Form.V["name"]
	}
	u.render(w, r, status, "check_form", title, d)
	return nil
}

// newCheck shows the empty form, for the service named in the query if
// any. Those who may create no check see why instead of a form they cannot
// save (the service decides either way).
func (u *UI) newCheck(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if a := identity.ActorFrom(ctx); !canCreateOwned(a) {
		return errs.Forbiddenf("role %s may not create checks (members may, for their own teams' services)", a.Role)
	}
	f := checkForm{V: map[string]string{"type": string(probe.HTTP), "interval": "1m", "retries": "0", "confirm.down": "2", "confirm.up": "1"}}
	if name := r.URL.Query().Get("service"); name != "" {
		f.V["service"] = name
		if s, err := u.cat.GetService(ctx, name); err == nil && len(s.Environments) == 1 {
			f.V["environment"] = s.Environments[0]
		}
	}
	return u.renderCheckForm(w, r, http.StatusOK, checkFormData{Form: f})
}

// createCheck creates the check. A heartbeat check's ping URL is shown
// this once, on the page that answers the form: never a redirect, so that
// the secret is in no URL and no cookie.
func (u *UI) createCheck(w http.ResponseWriter, r *http.Request) error {
	f := readCheckForm(r)
	in, rename, err := f.input()
	var secret string
	if err == nil {
		_, secret, err = u.checks.Create(r.Context(), in)
	}
	if err != nil {
		return u.checkFormFailed(w, r, checkFormData{Form: f}, rename, err)
	}
	if secret != "" {
		return u.renderCheck(w, r, http.StatusCreated, in.Name, pingNotice{URL: u.pingURL(r, secret), New: true})
	}
	u.redirect(w, r, "/checks/"+url.PathEscape(in.Name), fmt.Sprintf("Check %s created.", in.Name))
	return nil
}

func (u *UI) editCheck(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	c, err := u.checks.Get(ctx, r.PathValue("name"))
	if err != nil {
		return err
	}
	if ok, err := u.canWriteCheck(ctx, c); err != nil {
		return err
	} else if !ok {
		return errs.Forbiddenf("you may not change the checks of %s", c.Service)
	}
	return u.renderCheckForm(w, r, http.StatusOK, checkFormData{Edit: true, Form: formFromCheck(c), Managed: managedBy(c.Origin)})
}

// updateCheck replaces the check, guarded by the revision the form was
// loaded with, so that a stale form cannot undo someone else's change.
func (u *UI) updateCheck(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	f := readCheckForm(r)
	f.V["name"] = name
	in, rename, err := f.input()
	if err == nil {
		if f.Revision <= 0 {
			err = errs.Preconditionf("the form does not say which version of %s it edits; reload and retry", name)
		} else {
			_, err = u.checks.Update(r.Context(), name, in, f.Revision)
		}
	}
	if err != nil {
		return u.checkFormFailed(w, r, checkFormData{Edit: true, Form: f}, rename, err)
	}
	u.redirect(w, r, "/checks/"+url.PathEscape(name), fmt.Sprintf("Check %s saved.", name))
	return nil
}

// checkFormFailed re-renders the form with the person's input and the
// error next to its field (a condition's error next to its row); errors
// that are not about the input become their own page.
func (u *UI) checkFormFailed(w http.ResponseWriter, r *http.Request, d checkFormData, rename map[string]string, err error) error {
	switch code := errs.CodeOf(err); code {
	case errs.Invalid, errs.Conflict, errs.Precondition, errs.Forbidden:
		d.Err = newFormErrors(err, d.Form.fields(), rename)
		return u.renderCheckForm(w, r, errs.HTTPStatus(code), d)
	}
	return err
}
