// Package apply turns declarative YAML documents into changes made through
// the domain services, and domain objects back into documents.
//
// One Registry lists every kind that `groundcrew apply` accepts and that
// `groundcrew get` prints. Apply is transactional: every document or none,
// checked and written in one transaction; a dry run does the same work and
// rolls it back, so it reports exactly what a real run would do.
package apply

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/names"
)

// APIVersion is the apiVersion of groundcrew's own documents.
const APIVersion = "groundcrew.dev/v1"

// Document is one YAML/JSON document.
type Document struct {
	APIVersion string          `json:"apiVersion" yaml:"apiVersion"`
	Kind       string          `json:"kind" yaml:"kind"`
	Metadata   Metadata        `json:"metadata" yaml:"metadata"`
	Spec       json.RawMessage `json:"spec,omitempty" yaml:"spec,omitempty"`
	Source     *Source         `json:"source,omitempty" yaml:"-"`
}

// Metadata names a document's object.
type Metadata struct {
	Name        string            `json:"name" yaml:"name"`
	Namespace   string            `json:"namespace,omitempty" yaml:"namespace,omitempty"` // accepted for Backstage; ignored
	Title       string            `json:"title,omitempty" yaml:"title,omitempty"`         // Backstage
	Description string            `json:"description,omitempty" yaml:"description,omitempty"`
	Labels      map[string]string `json:"labels,omitempty" yaml:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty" yaml:"annotations,omitempty"`
	Tags        []string          `json:"tags,omitempty" yaml:"tags,omitempty"`   // Backstage
	Links       []Link            `json:"links,omitempty" yaml:"links,omitempty"` // Backstage
}

// Link is a Backstage metadata link.
type Link struct {
	URL   string `json:"url" yaml:"url"`
	Title string `json:"title,omitempty" yaml:"title,omitempty"`
	Icon  string `json:"icon,omitempty" yaml:"icon,omitempty"`
	Type  string `json:"type,omitempty" yaml:"type,omitempty"`
}

// Source says where a document came from, for error messages.
type Source struct {
	File  string `json:"file,omitempty"`
	Index int    `json:"index"` // 1-based position in the file
}

func (d *Document) where() string {
	name := d.Kind + "/" + d.Metadata.Name
	if d.Source == nil {
		return name
	}
	if d.Source.File == "" {
		return fmt.Sprintf("document %d (%s)", d.Source.Index, name)
	}
	return fmt.Sprintf("%s: document %d (%s)", d.Source.File, d.Source.Index, name)
}

// Kind is one kind of document. Put and Delete run inside the apply
// transaction and must authorize and audit through their domain service.
type Kind struct {
	Name    string   // "Service"
	Plural  string   // "services"
	Aliases []string // other names `get` accepts: "service", "svc"
	Order   int      // lower kinds are applied first and pruned last
	Columns []Column // what `get -o table` shows after NAME
	// Put creates or updates the object the document describes and says
	// which it did ("created", "configured" or "unchanged"). origin is
	// recorded on the object.
	Put func(ctx context.Context, tx *sql.Tx, doc Document, origin string) (action string, err error)
	// Delete deletes the named object.
	Delete func(ctx context.Context, tx *sql.Tx, name string) error
	// Export returns every object of the kind as documents, by name.
	Export func(ctx context.Context) ([]Document, error)
	// Table is the table holding the kind's objects, with name and origin
	// columns; prune reads it inside the apply transaction.
	Table string
	// Committed, if set, is called after an apply that changed objects of
	// the kind committed (e.g. to reschedule checks).
	Committed func()
}

// Column is a column of `get -o table`: a header and a dotted path into the
// document ("spec.owner").
type Column struct {
	Header string `json:"header"`
	Path   string `json:"path"`
}

// Registry holds the kinds. Register at start-up, then read concurrently.
type Registry struct {
	db    *db.DB
	kinds map[string]*Kind
}

// NewRegistry returns an empty registry applying through d.
func NewRegistry(d *db.DB) *Registry { return &Registry{db: d, kinds: map[string]*Kind{}} }

// Register adds a kind.
func (r *Registry) Register(k *Kind) { r.kinds[k.Name] = k }

// Kinds returns the kinds in apply order.
func (r *Registry) Kinds() []*Kind {
	ks := slices.Collect(maps.Values(r.kinds))
	slices.SortFunc(ks, func(a, b *Kind) int {
		if a.Order != b.Order {
			return a.Order - b.Order
		}
		return strings.Compare(a.Name, b.Name)
	})
	return ks
}

// Lookup finds a kind by name, plural or alias, case-insensitively.
func (r *Registry) Lookup(name string) (*Kind, bool) {
	for _, k := range r.kinds {
		if strings.EqualFold(k.Name, name) || strings.EqualFold(k.Plural, name) || slices.ContainsFunc(k.Aliases, func(a string) bool { return strings.EqualFold(a, name) }) {
			return k, true
		}
	}
	return nil, false
}

// Options controls Apply.
type Options struct {
	DryRun bool
	// Prune deletes objects that an earlier apply of the same Set created
	// and that the documents no longer name. Objects created any other way
	// are never pruned.
	Prune bool
	// Set names the group of objects this apply manages (default "default").
	Set string
}

// Change is what Apply did (or would do) to one object.
type Change struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Action string `json:"action" enum:"created,configured,unchanged,deleted"`
}

// Result is the outcome of Apply.
type Result struct {
	DryRun   bool     `json:"dry_run"`
	Changes  []Change `json:"changes"`
	Warnings []string `json:"warnings,omitempty"`
}

// Origin returns the origin recorded on objects applied in set.
func Origin(set string) string {
	if set == "" {
		set = "default"
	}
	return "apply:" + set
}

// Apply applies docs in one transaction: all of them or none. Errors name
// the file, the document and the field.
func (r *Registry) Apply(ctx context.Context, docs []Document, opts Options) (Result, error) {
	res := Result{DryRun: opts.DryRun, Changes: []Change{}}
	if opts.Set == "" {
		opts.Set = "default"
	}
	if err := names.Check("set", opts.Set); err != nil {
		return res, err
	}
	docs, warnings, err := convertBackstage(docs)
	if err != nil {
		return res, err
	}
	res.Warnings = warnings
	type item struct {
		kind *Kind
		doc  Document
	}
	var items []item
	seen := map[string]string{}
	for i := range docs {
		d := docs[i]
		if d.Source == nil {
			d.Source = &Source{Index: i + 1}
		}
		if d.APIVersion != APIVersion {
			return res, docError(d, errs.Invalidf("apiVersion", "%q is not supported: want %s (or backstage.io/v1alpha1 catalog kinds)", d.APIVersion, APIVersion))
		}
		k, ok := r.kinds[d.Kind]
		if !ok {
			return res, docError(d, errs.Invalidf("kind", "%q is not a kind groundcrew knows: want one of %s", d.Kind, strings.Join(r.kindNames(), ", ")))
		}
		if err := names.Check("metadata.name", d.Metadata.Name); err != nil {
			return res, docError(d, err)
		}
		key := k.Name + "/" + d.Metadata.Name
		if prev, dup := seen[key]; dup {
			return res, docError(d, errs.Invalidf("metadata.name", "%s is also defined in %s", key, prev))
		}
		seen[key] = d.where()
		items = append(items, item{k, d})
	}
	slices.SortStableFunc(items, func(a, b item) int { return a.kind.Order - b.kind.Order })
	origin := Origin(opts.Set)
	err = r.db.InTx(ctx, func(tx *sql.Tx) error {
		var deferred []item
		for _, it := range orderDependencies(items, func(it item) (string, string, []string) {
			return it.kind.Name, it.doc.Metadata.Name, dependsOn(it.doc)
		}) {
			doc := it.doc
			if missing := missingDeps(ctx, tx, it.kind, doc, seen); len(missing) > 0 {
				// A dependency cycle inside the batch: create without the
				// missing dependencies now, and put the whole spec afterwards.
				doc = withoutDeps(doc, missing)
				deferred = append(deferred, it)
			}
			var warned []string
			action, err := it.kind.Put(withWarnings(ctx, &warned), tx, doc, origin)
			if err != nil {
				return docError(it.doc, err)
			}
			for _, w := range warned {
				res.Warnings = append(res.Warnings, it.kind.Name+"/"+doc.Metadata.Name+": "+w)
			}
			res.Changes = append(res.Changes, Change{Kind: it.kind.Name, Name: doc.Metadata.Name, Action: action})
		}
		for _, it := range deferred {
			if _, err := it.kind.Put(ctx, tx, it.doc, origin); err != nil {
				return docError(it.doc, err)
			}
		}
		if opts.Prune {
			kinds := r.Kinds()
			slices.Reverse(kinds)
			for _, k := range kinds {
				owned, err := namesWithOrigin(ctx, tx, k.Table, origin)
				if err != nil {
					return fmt.Errorf("prune %s: %w", k.Plural, err)
				}
				for _, name := range owned {
					if seen[k.Name+"/"+name] != "" {
						continue
					}
					if err := k.Delete(ctx, tx, name); err != nil {
						return fmt.Errorf("prune %s/%s: %w", k.Name, name, err)
					}
					res.Changes = append(res.Changes, Change{Kind: k.Name, Name: name, Action: "deleted"})
				}
			}
		}
		if opts.DryRun {
			return errDryRun
		}
		return nil
	})
	if err == errDryRun {
		return res, nil
	}
	if err == nil {
		r.committed(res.Changes)
	}
	return res, err
}

// committed calls the Committed hook of each kind that changed.
func (r *Registry) committed(changes []Change) {
	called := map[string]bool{}
	for _, c := range changes {
		k := r.kinds[c.Kind]
		if c.Action == "unchanged" || k == nil || k.Committed == nil || called[c.Kind] {
			continue
		}
		called[c.Kind] = true
		k.Committed()
	}
}

var errDryRun = errs.E(errs.Internal, "dry run")

// Action returns the action a Put took from whether it changed anything
// and the object's revision afterwards (1 only right after a create).
func Action(changed bool, revision int64) string {
	switch {
	case !changed:
		return "unchanged"
	case revision == 1:
		return "created"
	default:
		return "configured"
	}
}

func (r *Registry) kindNames() []string {
	var out []string
	for _, k := range r.Kinds() {
		out = append(out, k.Name)
	}
	return out
}

// docError prefixes err with the document's place and keeps its code and
// field, so the API can name both.
func docError(d Document, err error) error {
	e, ok := err.(*errs.Error)
	if !ok {
		var ce *errs.Error
		if !errorsAs(err, &ce) {
			return fmt.Errorf("%s: %w", d.where(), err)
		}
		e = ce
	}
	c := *e
	field := c.Field
	if field != "" && !strings.HasPrefix(field, "metadata.") && !strings.HasPrefix(field, "spec.") &&
		field != "apiVersion" && field != "kind" {
		switch field {
		case "name":
			field = "metadata.name"
		case "labels":
			field = "metadata.labels"
		default:
			if strings.HasPrefix(field, "labels.") {
				field = "metadata." + field
			} else {
				field = "spec." + field
			}
		}
	}
	c.Field = field
	c.Where = d.where()
	return &c
}

// DecodeStrict decodes JSON into v, rejecting unknown fields (matched
// case-sensitively, unlike encoding/json) and naming any bad field by its
// full path relative to v ("roles[0].bogus").
func DecodeStrict(data []byte, v any) error {
	if err := jsonv2.Unmarshal(data, v, jsonv2.RejectUnknownMembers(true)); err != nil {
		return fieldError("", err)
	}
	return nil
}

// DecodeSpec decodes a document's spec into v, rejecting unknown fields
// with the field named ("spec.roles[0].bogus").
func DecodeSpec(doc Document, v any) error {
	spec := doc.Spec
	if len(bytes.TrimSpace(spec)) == 0 || string(spec) == "null" {
		spec = []byte("{}")
	}
	if err := jsonv2.Unmarshal(spec, v, jsonv2.RejectUnknownMembers(true)); err != nil {
		return fieldError("spec", err)
	}
	return nil
}

// fieldError turns a decoding error into an Invalid error naming the field
// under prefix.
func fieldError(prefix string, err error) error {
	var se *jsonv2.SemanticError
	if !errorsAs(err, &se) {
		var syn *jsontext.SyntacticError
		if errorsAs(err, &syn) {
			return errs.Invalidf(joinField(prefix, pointerPath(syn.JSONPointer)), "%v", syn.Err)
		}
		return errs.Invalidf(prefix, "%v", err)
	}
	path := pointerPath(se.JSONPointer)
	if errors.Is(se.Err, jsonv2.ErrUnknownName) {
		return errs.Invalidf(joinField(prefix, path), "unknown field %q", se.JSONPointer.LastToken())
	}
	want := "a different type"
	if se.GoType != nil {
		want = goTypeName(se.GoType.String())
	}
	got := se.JSONKind.String()
	if se.JSONKind == 0 {
		got = "that value"
	}
	return errs.Invalidf(joinField(prefix, path), "must be %s, not %s", want, got)
}

// pointerPath turns a JSON pointer ("/roles/0/name") into a field path
// ("roles[0].name").
func pointerPath(p jsontext.Pointer) string {
	var b strings.Builder
	for tok := range p.Tokens() {
		if _, err := strconv.Atoi(tok); err == nil {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

func joinField(prefix, path string) string {
	switch {
	case prefix == "":
		return path
	case path == "":
		return prefix
	case strings.HasPrefix(path, "["):
		return prefix + path
	default:
		return prefix + "." + path
	}
}

func goTypeName(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["), strings.Contains(t, "."):
		return "an object"
	case t == "string":
		return "a string"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"), strings.HasPrefix(t, "float"):
		return "a number"
	}
	return t
}

// EncodeSpec turns v into a document spec.
func EncodeSpec(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // specs are plain structs
	}
	return b
}

func namesWithOrigin(ctx context.Context, tx *sql.Tx, table, origin string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name FROM `+table+` WHERE origin = $1 ORDER BY name`, origin)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

type warningsKey struct{}

func withWarnings(ctx context.Context, to *[]string) context.Context {
	return context.WithValue(ctx, warningsKey{}, to)
}

// Warn records a warning about the document a kind's Put is applying: it
// is applied, but people should look (an overlap that a rule resolves, a
// deprecated field). Apply reports it with the document's kind and name.
// Outside Apply it does nothing.
func Warn(ctx context.Context, format string, args ...any) {
	if to, ok := ctx.Value(warningsKey{}).(*[]string); ok {
		*to = append(*to, fmt.Sprintf(format, args...))
	}
}
