package ui

import (
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
)

// parsePages parses each page template together with the layout and the
// partials, so that every page defines its own "content".
func (u *UI) parsePages() map[string]*template.Template {
	funcs := template.FuncMap{
		"when":      u.timeTag,
		"static":    u.staticURL,
		"join":      strings.Join,
		"contains":  slices.Contains[[]string],
		"can":       can,
		"objectURL": objectURL,
		"dict":      dict,
		"human":     human,
		"fid":       fieldID,
		"firstLine": func(s string) string { line, _, _ := strings.Cut(s, "\n"); return line },
		"millis":    fmtMillis,
		"interval":  fmtInterval,
		"percent":   percentOf,
		"truncate":  truncate,
		"plural":    plural,
	}
	entries, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*template.Template{}
	for _, e := range entries {
		name := strings.TrimSuffix(strings.TrimPrefix(e, "templates/"), ".html")
		if name == "layout" || name == "partials" {
			continue
		}
		pages[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(files,
			"templates/layout.html", "templates/partials.html", e))
	}
	return pages
}

// staticURL returns the URL of a static file with its content hash, so
// that browsers may cache it for good.
func (u *UI) staticURL(name string) string {
	return "/static/" + name + "?v=" + u.statics[name]
}

// can reports whether the actor may exercise perm on objects without an
// owner; templates use it to hide what the actor cannot use.
func can(a *identity.Actor, perm string) bool {
	return a.Can(identity.Permission(perm), uuid.Nil)
}

// objectURL returns the page of an audited object, or "" when it has none.
func objectURL(kind, name string) string {
	switch kind {
	case "service", "team", "user", "environment", "tool", "check":
		return "/" + kind + "s/" + name
	}
	return ""
}

// dict builds a map from key-value pairs, to pass several values to a
// partial template.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("dict: odd number of arguments")
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

// timeTag renders t (a time.Time or *time.Time) relative to now, with the
// exact UTC time in the datetime and title attributes.
func (u *UI) timeTag(v any) template.HTML {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case *time.Time:
		if x == nil {
			return "never"
		}
		t = *x
	default:
		return ""
	}
	if t.IsZero() {
		return "never"
	}
	t = t.UTC()
	// Only digits, letters, '-', ':' and spaces: nothing to escape.
	return template.HTML(fmt.Sprintf(`<time datetime="%s" title="%s">%s</time>`,
		t.Format(time.RFC3339), t.Format("2006-01-02 15:04:05 UTC"), relTime(u.clock.Now(), t)))
}

// relTime says how long ago (or how far ahead) t is, as people say it:
// "just now", "3 min ago", "in 2 days".
func relTime(now, t time.Time) string {
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	if d < 45*time.Second {
		return "just now"
	}
	n := func(unit time.Duration) int { return int(math.Round(float64(d) / float64(unit))) }
	day := 24 * time.Hour
	var s string
	switch {
	case d < 45*time.Minute:
		s = fmt.Sprintf("%d min", max(1, n(time.Minute)))
	case d < 90*time.Minute:
		s = "1 hour"
	case d < 22*time.Hour:
		s = fmt.Sprintf("%d hours", n(time.Hour))
	case d < 36*time.Hour:
		s = "1 day"
	case d < 45*day:
		s = fmt.Sprintf("%d days", n(day))
	case d < 345*day:
		s = fmt.Sprintf("%d months", n(30*day))
	case d < 545*day:
		s = "1 year"
	default:
		s = fmt.Sprintf("%d years", n(365*day))
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

// formErrors is the error state of a form: messages next to fields and one
// for the form as a whole.
type formErrors struct {
	Field map[string]string // form field name → message
	Form  string            // an error that names no field of the form
}

// newFormErrors places err next to the form field it names (errs.FieldOf),
// or the one rename gives when the service's name differs from the form's;
// errors naming no field of the form go to the top. A field may itself be
// a path ("http.url"): the longest field the error's path starts with wins,
// so "tags[2]" is the "tags" field and "labels.team" the "labels" field,
// with the key said in the message.
func newFormErrors(err error, fields []string, rename map[string]string) formErrors {
	fe := formErrors{Field: map[string]string{}}
	if err == nil {
		return fe
	}
	path := errs.FieldOf(err)
	var field string
	for _, f := range slices.Concat(fields, slices.Collect(maps.Keys(rename))) {
		if len(f) > len(field) && (path == f || strings.HasPrefix(path, f+".") || strings.HasPrefix(path, f+"[")) {
			field = f
		}
	}
	rest := strings.TrimPrefix(path, field)
	if to, ok := rename[field]; ok {
		field = to
	}
	var e *errs.Error
	if field != "" && errors.As(err, &e) {
		msg := e.Message
		if key, ok := strings.CutPrefix(rest, "."); ok {
			msg = key + ": " + msg // "labels.team": say which key
		}
		fe.Field[field] = msg
		return fe
	}
	fe.Form = errs.MessageOf(err)
	return fe
}

// fieldID turns a form field's name into the id of its input: "http.url"
// is "http-url", "conditions[0].expr" is "conditions-0-expr"; names
// without dots or brackets are their own id.
func fieldID(name string) string {
	return idReplacer.Replace(name)
}

var idReplacer = strings.NewReplacer("].", "-", "[", "-", "]", "", ".", "-")

// human names a form field for people: "display_name" is "display name",
// "conditions[0].expr" is "condition 1 expr".
func human(field string) string {
	parts := strings.Split(field, ".")
	for i, p := range parts {
		if base, index, ok := strings.Cut(strings.TrimSuffix(p, "]"), "["); ok {
			if n, err := strconv.Atoi(index); err == nil {
				p = strings.TrimSuffix(base, "s") + " " + strconv.Itoa(n+1)
			}
		}
		parts[i] = strings.ReplaceAll(p, "_", " ")
	}
	return strings.Join(parts, " ")
}

// splitList splits a comma- or space-separated list, dropping empty items.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}
