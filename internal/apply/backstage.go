package apply

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"groundcrew.dev/groundcrew/internal/catalog"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
)

// Backstage catalog-info.yaml documents are read as they are written for
// Backstage (https://backstage.io/docs/features/software-catalog/descriptor-format)
// and turned into groundcrew documents before anything else looks at them:
//
//	Group     → Team      User → User
//	Component → Service   Resource → Service
//	System    → nothing yet: recorded on its members' system field
//	API, Domain, Location, Template → not imported (warning)
//
// The conversion is pure: it sees only the batch, never the database, so a
// reference to something outside the batch is passed on by name (owners,
// dependencies, members) or, where only the other side could record it
// (memberOf, dependencyOf), skipped with a warning.

const (
	backstageGroup  = "backstage.io/"
	scaffolderGroup = "scaffolder.backstage.io/"
)

// backstageVersions are the catalog versions groundcrew reads; Backstage
// gives both the same schema.
var backstageVersions = []string{"backstage.io/v1alpha1", "backstage.io/v1beta1"}

// Annotations groundcrew reads on Backstage entities. Any other
// groundcrew.dev/ annotation is an error, so a typo does not pass silently.
const (
	annotationTier           = "groundcrew.dev/tier"
	annotationEnvironments   = "groundcrew.dev/environments"
	annotationRole           = "groundcrew.dev/role"
	annotationChat           = "groundcrew.dev/chat"
	annotationSourceLocation = "backstage.io/source-location"
)

// Spec schemas of the Backstage kinds (catalog-model, v1alpha1). Every field
// is listed, read or not, so that an unknown one is an error naming it.
type (
	backstageProfile struct {
		DisplayName string `json:"displayName"`
		Email       string `json:"email"`
		Picture     string `json:"picture"`
	}
	backstageGroupSpec struct {
		Type     string          `json:"type"`
		Profile  json.RawMessage `json:"profile"` // decoded on its own so errors name spec.profile.x
		Parent   string          `json:"parent"`
		Children []string        `json:"children"`
		Members  []string        `json:"members"`
	}
	backstageUserSpec struct {
		Profile  json.RawMessage `json:"profile"`
		MemberOf []string        `json:"memberOf"`
	}
	backstageComponentSpec struct {
		Type           string   `json:"type"`
		Lifecycle      string   `json:"lifecycle"`
		Owner          string   `json:"owner"`
		System         string   `json:"system"`
		SubcomponentOf string   `json:"subcomponentOf"`
		ProvidesAPIs   []string `json:"providesApis"`
		ConsumesAPIs   []string `json:"consumesApis"`
		DependsOn      []string `json:"dependsOn"`
		DependencyOf   []string `json:"dependencyOf"`
	}
	backstageResourceSpec struct {
		Type         string   `json:"type"`
		Owner        string   `json:"owner"`
		System       string   `json:"system"`
		DependsOn    []string `json:"dependsOn"`
		DependencyOf []string `json:"dependencyOf"`
	}
	backstageSystemSpec struct {
		Owner  string `json:"owner"`
		Domain string `json:"domain"`
		Type   string `json:"type"`
	}
	backstageAPISpec struct {
		Type       string          `json:"type"`
		Lifecycle  string          `json:"lifecycle"`
		Owner      string          `json:"owner"`
		System     string          `json:"system"`
		Definition json.RawMessage `json:"definition"` // a string, or a {$text: …} placeholder
	}
	backstageDomainSpec struct {
		Owner       string `json:"owner"`
		SubdomainOf string `json:"subdomainOf"`
		Type        string `json:"type"`
	}
	backstageLocationSpec struct {
		Type     string   `json:"type"`
		Target   string   `json:"target"`
		Targets  []string `json:"targets"`
		Presence string   `json:"presence"`
	}
)

// isBackstage reports whether d is a Backstage document (catalog or
// scaffolder).
func isBackstage(d Document) bool {
	return strings.HasPrefix(d.APIVersion, backstageGroup) || strings.HasPrefix(d.APIVersion, scaffolderGroup)
}

// convertBackstage turns Backstage catalog-info documents into groundcrew
// documents and passes groundcrew documents through unchanged, in the
// order given (kinds with no groundcrew object are dropped). It returns
// warnings for what it did not import, and an error naming the document and
// field for what it cannot import. Converted documents keep their Source.
//
// A batch without Backstage documents is returned as is. Otherwise every
// document without a Source gets its position in docs, so positions in
// later errors do not shift when documents are dropped.
func convertBackstage(docs []Document) ([]Document, []string, error) {
	if !slices.ContainsFunc(docs, isBackstage) {
		return docs, nil, nil
	}
	c := &backstage{teams: map[string]*TeamSpec{}, services: map[string]*catalog.ServiceSpec{}}
	for i, d := range docs {
		if d.Source == nil {
			d.Source = &Source{Index: i + 1}
		}
		if !isBackstage(d) {
			c.out = append(c.out, converted{doc: d})
			continue
		}
		e := &entity{c: c, index: i, doc: d}
		if err := e.convert(); err != nil {
			return nil, nil, docError(d, err)
		}
		e.warnNamespaces()
	}
	c.resolve()
	out, warnings := c.result()
	return out, warnings, nil
}

// backstage is one conversion.
type backstage struct {
	out      []converted
	warnings []warning
	teams    map[string]*TeamSpec            // converted Groups by name
	services map[string]*catalog.ServiceSpec // converted Components and Resources by name
	pending  []crossRef
}

type converted struct {
	doc  Document
	spec any // *TeamSpec, *UserSpec or *catalog.ServiceSpec; nil: passed through
}

type warning struct {
	index int // of the document, to keep warnings in document order
	text  string
}

// crossRef is something one document says about another that only the
// other's groundcrew object can record: a User's memberOf (a Team member)
// or a dependencyOf (the other Service's depends_on).
type crossRef struct {
	from     *entity
	field    string // "spec.memberOf[1]"
	target   string // the Team or Service to record it on
	value    string // the member or dependency to add
	memberOf bool
}

// resolve records the cross references on the documents of the batch.
func (c *backstage) resolve() {
	for _, x := range c.pending {
		if x.memberOf {
			if t, ok := c.teams[x.target]; ok {
				t.Members = append(t.Members, x.value)
				continue
			}
			x.from.warnf("%s: group %q is not a Backstage Group in this batch; membership not imported (add %s to that team's members)", x.field, x.target, x.value)
			continue
		}
		if s, ok := c.services[x.target]; ok {
			s.DependsOn = append(s.DependsOn, x.value)
			continue
		}
		x.from.warnf("%s: %q is not a Component or Resource in this batch; dependency not imported (add %s to that service's depends_on)", x.field, x.target, x.value)
	}
}

// result encodes the converted specs and orders the warnings.
func (c *backstage) result() ([]Document, []string) {
	out := make([]Document, len(c.out))
	for i, x := range c.out {
		switch s := x.spec.(type) {
		case *TeamSpec:
			s.Members = sortedSet(s.Members)
		case *catalog.ServiceSpec:
			s.DependsOn = sortedSet(s.DependsOn)
		}
		out[i] = x.doc
		if x.spec != nil {
			out[i].Spec = EncodeSpec(x.spec)
		}
	}
	slices.SortStableFunc(c.warnings, func(a, b warning) int { return a.index - b.index })
	var warnings []string
	for _, w := range c.warnings {
		warnings = append(warnings, w.text)
	}
	return out, warnings
}

// entity is one Backstage document being converted.
type entity struct {
	c          *backstage
	index      int
	doc        Document
	namespaces []string // non-default namespaces its name and references use
}

func (e *entity) warnf(format string, args ...any) {
	e.c.warnings = append(e.c.warnings, warning{e.index, e.doc.where() + ": " + fmt.Sprintf(format, args...)})
}

// emit adds the converted document.
func (e *entity) emit(kind, name string, labels map[string]string, spec any) {
	md := Metadata{Name: name, Labels: maps.Clone(labels)}
	e.c.out = append(e.c.out, converted{Document{APIVersion: APIVersion, Kind: kind, Metadata: md, Source: e.doc.Source}, spec})
}

func (e *entity) convert() error {
	d := e.doc
	if d.Kind == "Template" || strings.HasPrefix(d.APIVersion, scaffolderGroup) {
		e.warnf("not imported: groundcrew has no software templates")
		return nil
	}
	if !slices.Contains(backstageVersions, d.APIVersion) {
		return errs.Invalidf("apiVersion", "%q is not a Backstage catalog version groundcrew reads: want %s", d.APIVersion, strings.Join(backstageVersions, " or "))
	}
	if ns := d.Metadata.Namespace; ns != "" && ns != "default" {
		e.namespace(ns)
	}
	switch d.Kind {
	case "Group":
		return e.group()
	case "User":
		return e.user()
	case "Component":
		return e.component()
	case "Resource":
		return e.resource()
	case "System":
		return e.system()
	case "API":
		return e.notImported(&backstageAPISpec{}, "groundcrew has no API object; the components that provide it are imported")
	case "Domain":
		return e.notImported(&backstageDomainSpec{}, "groundcrew has no Domain object")
	case "Location":
		return e.notImported(&backstageLocationSpec{}, "groundcrew apply reads files and directories, not Backstage locations: pass the targets to apply -f")
	default:
		return errs.Invalidf("kind", "%q is not a Backstage catalog kind groundcrew reads: want Component, Resource, System, Group, User, API, Domain, Location or Template", d.Kind)
	}
}

// notImported checks the spec of a kind groundcrew does not import and
// warns that it is skipped.
func (e *entity) notImported(spec any, why string) error {
	if err := DecodeSpec(e.doc, spec); err != nil {
		return err
	}
	e.namespaces = nil // nothing of it is imported, namespaced or not
	e.warnf("not imported: %s", why)
	return nil
}

func (e *entity) group() error {
	var spec backstageGroupSpec
	if err := DecodeSpec(e.doc, &spec); err != nil {
		return err
	}
	profile, err := decodeProfile(spec.Profile)
	if err != nil {
		return err
	}
	if err := checkAnnotations(e.doc, annotationChat); err != nil {
		return err
	}
	name, err := backstageName("metadata.name", e.doc.Metadata.Name)
	if err != nil {
		return err
	}
	md := e.doc.Metadata
	team := &TeamSpec{DisplayName: cmp.Or(profile.DisplayName, md.Title), Description: md.Description, Email: profile.Email,
		Chat: md.Annotations[annotationChat]}
	for i, m := range spec.Members {
		member, err := e.refName(fmt.Sprintf("spec.members[%d]", i), m, "user", "a group's members are users")
		if err != nil {
			return err
		}
		team.Members = append(team.Members, member)
	}
	// The hierarchy is checked but not kept: groundcrew teams are flat.
	hierarchy := spec.Parent != ""
	if spec.Parent != "" {
		if _, err := e.refOfKind("spec.parent", spec.Parent, "group", "a group's parent is a group"); err != nil {
			return err
		}
	}
	for i, ch := range spec.Children {
		if _, err := e.refOfKind(fmt.Sprintf("spec.children[%d]", i), ch, "group", "a group's children are groups"); err != nil {
			return err
		}
		hierarchy = true
	}
	if hierarchy {
		e.warnf("spec.parent/spec.children: group hierarchy is not modelled in groundcrew yet; the team is imported without it")
	}
	if _, dup := e.c.teams[name]; !dup {
		e.c.teams[name] = team
	}
	e.emit("Team", name, md.Labels, team)
	return nil
}

func (e *entity) user() error {
	var spec backstageUserSpec
	if err := DecodeSpec(e.doc, &spec); err != nil {
		return err
	}
	profile, err := decodeProfile(spec.Profile)
	if err != nil {
		return err
	}
	if err := checkAnnotations(e.doc, annotationRole); err != nil {
		return err
	}
	name, err := backstageName("metadata.name", e.doc.Metadata.Name)
	if err != nil {
		return err
	}
	role := identity.RoleMember
	if v, ok := e.doc.Metadata.Annotations[annotationRole]; ok {
		role = identity.Role(v)
		if !role.Valid() {
			return errs.Invalidf("metadata.annotations."+annotationRole, "%q is not a role: want admin, operator, member or viewer", v)
		}
	}
	for i, g := range spec.MemberOf {
		team, err := e.refName(fmt.Sprintf("spec.memberOf[%d]", i), g, "group", "a user is a member of groups")
		if err != nil {
			return err
		}
		e.c.pending = append(e.c.pending, crossRef{from: e, field: fmt.Sprintf("spec.memberOf[%d]", i), target: team, value: name, memberOf: true})
	}
	e.emit("User", name, nil, &UserSpec{DisplayName: cmp.Or(profile.DisplayName, e.doc.Metadata.Title), Email: profile.Email, Role: role})
	return nil
}

func (e *entity) component() error {
	var spec backstageComponentSpec
	if err := DecodeSpec(e.doc, &spec); err != nil {
		return err
	}
	lifecycle := asciiLower(spec.Lifecycle)
	switch {
	case spec.Lifecycle == "":
		return errs.Invalidf("spec.lifecycle", "is required: production, experimental or deprecated")
	case !slices.Contains(catalog.Lifecycles, lifecycle):
		return errs.Invalidf("spec.lifecycle", "%q is not a lifecycle groundcrew knows: want production, experimental or deprecated", spec.Lifecycle)
	}
	// subcomponentOf, providesApis and consumesApis have no groundcrew
	// counterpart yet; they are accepted and ignored.
	return e.service(serviceRefs{typ: spec.Type, owner: spec.Owner, system: spec.System, dependsOn: spec.DependsOn, dependencyOf: spec.DependencyOf},
		catalog.ServiceSpec{Lifecycle: lifecycle, Tier: 3})
}

func (e *entity) resource() error {
	var spec backstageResourceSpec
	if err := DecodeSpec(e.doc, &spec); err != nil {
		return err
	}
	return e.service(serviceRefs{typ: spec.Type, owner: spec.Owner, system: spec.System, dependsOn: spec.DependsOn, dependencyOf: spec.DependencyOf},
		catalog.ServiceSpec{Lifecycle: "production", Tier: 2})
}

// serviceRefs are the spec fields Components and Resources share.
type serviceRefs struct {
	typ, owner, system      string
	dependsOn, dependencyOf []string
}

// service emits a Service for a Component or Resource; s carries the
// kind's lifecycle and default tier.
func (e *entity) service(f serviceRefs, s catalog.ServiceSpec) error {
	if err := checkAnnotations(e.doc, annotationTier, annotationEnvironments); err != nil {
		return err
	}
	name, err := backstageName("metadata.name", e.doc.Metadata.Name)
	if err != nil {
		return err
	}
	if f.typ == "" {
		return errs.Invalidf("spec.type", "is required (service, website, library, database…)")
	}
	if s.Type = dnsLabel(f.typ); s.Type == "" {
		return errs.Invalidf("spec.type", "%q has no letters or digits to make a groundcrew type of", f.typ)
	}
	if s.Owner, err = e.owner("spec.owner", f.owner, false); err != nil {
		return err
	}
	if f.system != "" {
		if s.System, err = e.refName("spec.system", f.system, "system", "a system reference names a System"); err != nil {
			return err
		}
	}
	for i, ref := range f.dependsOn {
		field := fmt.Sprintf("spec.dependsOn[%d]", i)
		dep, ok, err := e.dependency(field, ref)
		if err != nil {
			return err
		}
		if ok {
			s.DependsOn = append(s.DependsOn, dep)
		}
	}
	for i, ref := range f.dependencyOf {
		field := fmt.Sprintf("spec.dependencyOf[%d]", i)
		dependent, ok, err := e.dependency(field, ref)
		if err != nil {
			return err
		}
		if ok {
			e.c.pending = append(e.c.pending, crossRef{from: e, field: field, target: dependent, value: name})
		}
	}
	md := e.doc.Metadata
	s.DisplayName, s.Description, s.Tags = md.Title, md.Description, slices.Clone(md.Tags)
	if v, ok := md.Annotations[annotationTier]; ok {
		if s.Tier, err = strconv.Atoi(v); err != nil || s.Tier < 1 || s.Tier > 4 || len(v) != 1 {
			return errs.Invalidf("metadata.annotations."+annotationTier, "%q is not a tier: want 1 (most critical) to 4", v)
		}
	}
	if s.Environments, err = environments(md.Annotations); err != nil {
		return err
	}
	e.links(&s)
	svc := &s
	if _, dup := e.c.services[name]; !dup {
		e.c.services[name] = svc
	}
	e.emit("Service", name, md.Labels, svc)
	return nil
}

// dependency resolves a dependsOn/dependencyOf reference to a service name.
// References to other kinds (APIs, systems…) are skipped with a warning.
func (e *entity) dependency(field, ref string) (string, bool, error) {
	r, err := e.ref(field, ref, "component")
	if err != nil {
		return "", false, err
	}
	if r.kind != "component" && r.kind != "resource" {
		e.warnf("%s: %q is not a component or resource; dependency not imported", field, ref)
		return "", false, nil
	}
	name, err := backstageName(field, r.name)
	return name, err == nil, err
}

func (e *entity) system() error {
	var spec backstageSystemSpec
	if err := DecodeSpec(e.doc, &spec); err != nil {
		return err
	}
	if err := checkAnnotations(e.doc); err != nil {
		return err
	}
	if _, err := backstageName("metadata.name", e.doc.Metadata.Name); err != nil {
		return err
	}
	if _, err := e.owner("spec.owner", spec.Owner, true); err != nil {
		return err
	}
	if spec.Domain != "" {
		if _, err := e.refOfKind("spec.domain", spec.Domain, "domain", "a system's domain is a Domain"); err != nil {
			return err
		}
	}
	e.warnf("recorded on its components' system field; groundcrew has no System object yet")
	return nil
}

// owner returns the team named by an owner reference. Only Systems, which
// groundcrew does not store, may be owned by a user: groundcrew services
// are owned by teams.
func (e *entity) owner(field, ref string, userOK bool) (string, error) {
	if ref == "" {
		return "", errs.Invalidf(field, "is required: the owning group, e.g. group:default/team-a")
	}
	r, err := e.ref(field, ref, "group")
	if err != nil {
		return "", err
	}
	switch {
	case r.kind == "group", r.kind == "user" && userOK:
	case r.kind == "user":
		return "", errs.Invalidf(field, "%q is a user: groundcrew services are owned by teams, so name a group", ref)
	default:
		return "", errs.Invalidf(field, "%q is a %s: an owner is a group", ref, r.kind)
	}
	return backstageName(field, r.name)
}
