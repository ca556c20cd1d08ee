package apply

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"groundcrew.dev/groundcrew/internal/catalog"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/names"
)

// Entity references, names, links and annotations of Backstage documents.

// entityRef is a parsed Backstage entity reference.
type entityRef struct{ kind, namespace, name string }

// ref parses a Backstage entity reference, [kind:][namespace/]name; kind
// is lowercased, defaultKind applies when the reference names none.
func (e *entity) ref(field, ref, defaultKind string) (entityRef, error) {
	r := entityRef{kind: defaultKind, namespace: "default"}
	rest := ref
	if k, after, ok := strings.Cut(rest, ":"); ok {
		r.kind, rest = asciiLower(k), after
	}
	if ns, after, ok := strings.Cut(rest, "/"); ok {
		r.namespace, rest = ns, after
	}
	if r.kind == "" || r.namespace == "" || rest == "" || strings.ContainsAny(rest, ":/") {
		return r, errs.Invalidf(field, "%q is not an entity reference: want [kind:][namespace/]name, e.g. group:default/team-a", ref)
	}
	r.name = rest
	if r.namespace != "default" {
		e.namespace(r.namespace)
	}
	return r, nil
}

// refOfKind parses a reference that must be of kind.
func (e *entity) refOfKind(field, ref, kind, why string) (entityRef, error) {
	r, err := e.ref(field, ref, kind)
	if err == nil && r.kind != kind {
		err = errs.Invalidf(field, "%q is a %s: %s", ref, r.kind, why)
	}
	return r, err
}

// refName returns the groundcrew name of a reference that must be of kind.
func (e *entity) refName(field, ref, kind, why string) (string, error) {
	r, err := e.refOfKind(field, ref, kind, why)
	if err != nil {
		return "", err
	}
	return backstageName(field, r.name)
}

func (e *entity) namespace(ns string) {
	if !slices.Contains(e.namespaces, ns) {
		e.namespaces = append(e.namespaces, ns)
	}
}

// warnNamespaces says once per document that namespaces were dropped:
// groundcrew has one namespace, so equal names in two namespaces collide
// (and apply reports the duplicate).
func (e *entity) warnNamespaces() {
	if len(e.namespaces) == 0 {
		return
	}
	slices.Sort(e.namespaces)
	e.warnf("Backstage namespaces are not modelled: names in namespace %s are imported without it", strings.Join(e.namespaces, ", "))
}

// links fills the runbook, dashboard and repository from metadata.links
// (by type, else title) and the backstage.io/source-location annotation.
// The first matching link wins; a link wins over the annotation.
func (e *entity) links(s *catalog.ServiceSpec) {
	for i, l := range e.doc.Metadata.Links {
		var dst *string
		switch linkPurpose(l) {
		case "runbook":
			dst = &s.Runbook
		case "dashboard":
			dst = &s.Dashboard
		case "repository":
			dst = &s.Repository
		default:
			continue
		}
		if !isHTTP(l.URL) {
			e.warnf("metadata.links[%d].url: %q is not an http(s) URL; not used", i, l.URL)
			continue
		}
		if *dst == "" {
			*dst = l.URL
		}
	}
	if loc, ok := strings.CutPrefix(e.doc.Metadata.Annotations[annotationSourceLocation], "url:"); ok && s.Repository == "" && isHTTP(loc) {
		s.Repository = loc
	}
}

// linkPurpose classifies a link as "runbook", "dashboard" or "repository"
// by its type, else its title; "" if neither says. Words, not substrings,
// decide the repository, so "Weekly report" and "Resources" do not count.
func linkPurpose(l Link) string {
	for _, s := range []string{l.Type, l.Title} {
		s = asciiLower(s)
		switch {
		case strings.Contains(s, "runbook"):
			return "runbook"
		case strings.Contains(s, "dashboard"):
			return "dashboard"
		}
		words := strings.FieldsFunc(s, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') })
		if slices.ContainsFunc(words, func(w string) bool {
			return slices.Contains([]string{"repo", "repos", "repository", "repositories", "source", "sources"}, w)
		}) {
			return "repository"
		}
	}
	return ""
}

func isHTTP(s string) bool {
	return (strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")) && !strings.ContainsAny(s, " \t\r\n")
}

// environments reads the groundcrew.dev/environments annotation: a
// comma-separated list of environment names.
func environments(annotations map[string]string) ([]string, error) {
	v, ok := annotations[annotationEnvironments]
	if !ok {
		return nil, nil
	}
	var out []string
	for part := range strings.SplitSeq(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		env, err := backstageName("metadata.annotations."+annotationEnvironments, part)
		if err != nil {
			return nil, err
		}
		out = append(out, env)
	}
	return sortedSet(out), nil
}

// checkAnnotations rejects groundcrew.dev/ annotations other than known.
func checkAnnotations(d Document, known ...string) error {
	for _, k := range slices.Sorted(maps.Keys(d.Metadata.Annotations)) {
		if strings.HasPrefix(k, "groundcrew.dev/") && !slices.Contains(known, k) {
			want := "none"
			if len(known) > 0 {
				want = strings.Join(known, ", ")
			}
			return errs.Invalidf("metadata.annotations."+k, "unknown groundcrew annotation on a Backstage %s (known: %s)", d.Kind, want)
		}
	}
	return nil
}

// decodeProfile decodes a Group's or User's spec.profile strictly.
func decodeProfile(raw json.RawMessage) (backstageProfile, error) {
	var p backstageProfile
	if len(raw) == 0 || string(raw) == "null" {
		return p, nil
	}
	if err := DecodeStrict(raw, &p); err != nil {
		return p, errs.WithField("spec.profile", err)
	}
	return p, nil
}

// backstageName turns a Backstage name into a groundcrew name. Backstage
// allows upper case, '_' and '.'; groundcrew names are DNS labels, so upper
// case is lowered and the rest is an error naming field.
func backstageName(field, s string) (string, error) {
	if s == "" {
		return "", errs.Invalidf(field, "is required")
	}
	n := asciiLower(s)
	if !names.Valid(n) {
		return "", errs.Invalidf(field, "%q cannot be a groundcrew name: use lowercase letters, digits and '-' (1-63 characters, starting and ending with a letter or digit); Backstage's '_' and '.' are not allowed", s)
	}
	return n, nil
}

// dnsLabel turns free text ("gRPC Service") into a DNS label
// ("grpc-service"): runs of anything but ASCII letters and digits become
// one '-', at most 63 characters. It returns "" if nothing is left.
func dnsLabel(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range asciiLower(s) {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			dash = true
			continue
		}
		if dash && b.Len() > 0 {
			b.WriteByte('-')
		}
		dash = false
		b.WriteRune(r)
	}
	out := b.String()
	if len(out) > 63 {
		out = strings.TrimRight(out[:63], "-")
	}
	return out
}

// asciiLower lowers ASCII letters only, so that no other character turns
// into one ("K", the Kelvin sign, would otherwise become "k").
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}

func sortedSet(list []string) []string {
	if len(list) == 0 {
		return nil
	}
	return slices.Compact(slices.Sorted(slices.Values(list)))
}
